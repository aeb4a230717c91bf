"""Activations and their second moment on a standard normal input (chapter 6, section 2).

A LeCun layer keeps the second moment of its input; the activation after it multiplies that moment
by E[f(z)²], z ~ N(0, 1): 1/2 for ReLU (hence He's factor 2), 0.2934 for the sigmoid (hence the
article's rescaled sigmoid), exactly 1 for SELU by construction.
Chapter 6, after Su Jianlin, kexue.fm/archives/8620.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy.special import erf, expit, ndtr

from lib import checks


def relu(x):
    return np.maximum(x, 0.0)


def gelu(x):
    """Exact GELU, x·Phi(x)."""
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


@lru_cache(maxsize=1)
def selu_constants() -> tuple[float, float]:
    r"""``(lambda, alpha)`` of SELU: the output of a standard-normal input has mean 0, variance 1.

    For :math:`z\sim\mathcal N(0,1)`, :math:`E[e^{kz};z\le0]=e^{k^2/2}\Phi(-k)`, so the two
    moment conditions are solvable in closed form: the mean condition fixes
    :math:`\alpha=\varphi(0)/(\tfrac12-e^{1/2}\Phi(-1))` (it does not involve λ) and the second
    moment then fixes :math:`\lambda=(\tfrac12+\alpha^2(e^2\Phi(-2)-2e^{1/2}\Phi(-1)+\tfrac12))^{-1/2}`
    (chapter 6, section 2, "Activations"; Klambauer et al. 2017).
    """
    e_half = math.exp(0.5) * float(ndtr(-1.0))  # E[e^z; z <= 0]
    e_two = math.exp(2.0) * float(ndtr(-2.0))  # E[e^{2z}; z <= 0]
    alpha = (1.0 / math.sqrt(2 * math.pi)) / (0.5 - e_half)
    lam = 1.0 / math.sqrt(0.5 + alpha**2 * (e_two - 2 * e_half + 0.5))
    return lam, alpha


def selu(x):
    lam, alpha = selu_constants()
    x = np.asarray(x, dtype=float) if not isinstance(x, np.ndarray) else x
    return lam * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


@lru_cache(maxsize=1)
def _gaussian_rule(n_half: int = 96, cut: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E[g(z)], z ~ N(0, 1): Gauss–Legendre on [-cut, 0] and [0, cut]."""
    x, w = np.polynomial.legendre.leggauss(n_half)
    x, w = (x + 1.0) * cut / 2.0, w * cut / 2.0  # on [0, cut]
    nodes = np.concatenate([-x[::-1], x])
    weights = np.concatenate([w[::-1], w]) * np.exp(-0.5 * nodes**2) / math.sqrt(2 * math.pi)
    return nodes, weights


def activation_moment(f: Callable, order: int = 2) -> float:
    r""":math:`E[f(z)^{order}]` for :math:`z\sim\mathcal N(0,1)`; ``f`` must accept numpy arrays.

    Gauss–Legendre quadrature on each half-line (cut at ±12, where the density is below
    1e-31): splitting at 0, where ReLU and SELU have their kink, keeps each half smooth, so
    the rule is accurate to ~1e-12 for them too (chapter 6, section 2). ReLU gives 1/2,
    sigmoid 0.2933790, tanh 0.394294.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    order = checks.integer("order", order, at_least=1)
    nodes, weights = _gaussian_rule()
    return float(np.sum(weights * np.asarray(f(nodes), dtype=float) ** order))


def rescaled_activation(f: Callable, center: bool = False) -> Callable:
    r"""Return :math:`g(x)=(f(x)-c)/s` with :math:`E[g(z)^2]=1` (and :math:`E[g(z)]=0` if
    ``center``) for standard-normal z: the article's "rescaled activation", e.g.
    :math:`\mathrm{sigmoid}(x)/\sqrt{0.293379}`. ``g.shift`` and ``g.scale`` hold c and s.
    """
    m1 = activation_moment(f, 1)
    m2 = activation_moment(f, 2)
    shift = m1 if center else 0.0
    spread = m2 - m1 * m1 if center else m2
    if not spread > 1e-12 * max(1.0, m2):
        raise ValueError(f"f is constant on the standard normal (center={center}); it cannot be rescaled")
    scale = math.sqrt(spread)

    def g(x):
        return (f(x) - shift) / scale

    g.shift, g.scale = shift, scale
    return g


@lru_cache(maxsize=1)
def _sigmoid_rms() -> float:
    return math.sqrt(activation_moment(expit, 2))


def sigmoid_rescaled(x):
    """sigmoid(x)/sqrt(E[sigmoid(z)²]) = sigmoid(x)/sqrt(0.293379)."""
    return expit(x) / _sigmoid_rms()


ACTIVATIONS: dict[str, Callable] = {
    "linear": lambda x: x,
    "relu": relu,
    "tanh": np.tanh,
    "sigmoid": expit,
    "sigmoid_rescaled": sigmoid_rescaled,
    "gelu": gelu,
    "selu": selu,
}
