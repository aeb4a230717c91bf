"""LayerNorm, RMSNorm and the second moment through a deep random stack (chapter 6, sections 2 and 3).

:func:`propagate_second_moment` pushes random inputs through ``depth`` random layers and measures
how the second moment and the differences between inputs evolve; :func:`mean_field_second_moment`
is its infinite-width prediction.
Chapter 6, after Su Jianlin, kexue.fm/archives/8620.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lib import checks

from .activations import ACTIVATIONS, activation_moment
from .sampling import INIT_SCHEMES, init_variance


def _activation(name: str) -> Callable:
    return ACTIVATIONS[checks.choice("activation", name, ACTIVATIONS)]


def _check_norm_args(x, eps, axis):
    x = np.asarray(x, dtype=float) if not isinstance(x, np.ndarray) else x
    eps = checks.real("eps", eps, at_least=0)
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis!r} is not an axis of x with shape {x.shape}")
    if x.shape[axis] == 0:
        raise ValueError(f"x has shape {x.shape}: the normalized axis {axis} must be non-empty")
    return x, eps


def _along(v, x: np.ndarray, axis: int) -> np.ndarray:
    """Reshape a per-feature vector so that it broadcasts along ``axis`` of ``x``."""
    v = np.asarray(v, dtype=float)
    if v.shape != (x.shape[axis],):
        raise ValueError(f"gamma/beta has shape {v.shape}; expected ({x.shape[axis]},) for axis {axis}")
    shape = [1] * x.ndim
    shape[axis] = -1
    return v.reshape(shape)


def layer_norm(x, gamma=None, beta=None, eps: float = 1e-6, axis: int = -1) -> np.ndarray:
    r"""LayerNorm along ``axis``: :math:`(x-\mu)/\sqrt{\sigma^2+\epsilon}\cdot\gamma+\beta` with the
    biased variance (chapter 6, section 3)."""
    x, eps = _check_norm_args(x, eps, axis)
    xc = x - x.mean(axis=axis, keepdims=True)
    y = xc / np.sqrt((xc * xc).mean(axis=axis, keepdims=True) + eps)
    if gamma is not None:
        y = y * _along(gamma, x, axis)
    if beta is not None:
        y = y + _along(beta, x, axis)
    return y


def rms_norm(x, gamma=None, eps: float = 1e-6, axis: int = -1) -> np.ndarray:
    r"""RMSNorm along ``axis``: :math:`x/\sqrt{\overline{x^2}+\epsilon}\cdot\gamma`, LayerNorm
    without the centering (Zhang & Sennrich 2019; used by T5; chapter 6, section 3)."""
    x, eps = _check_norm_args(x, eps, axis)
    y = x / np.sqrt((x * x).mean(axis=axis, keepdims=True) + eps)
    if gamma is not None:
        y = y * _along(gamma, x, axis)
    return y


NORMS: dict[str | None, Callable | None] = {None: None, "layer": layer_norm, "rms": rms_norm}


def propagate_second_moment(
    depth: int,
    width: int,
    activation: str = "relu",
    scheme: str = "lecun",
    init_scale: float = 1.0,
    norm: str | None = None,
    batch: int = 256,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Push a batch of standard-normal inputs through ``depth`` random square layers.

    Layer l computes the pre-activation ``h_l = x_{l-1} @ W_l`` (no bias), then
    ``x_l = f(h_l)`` and, if ``norm`` is ``"layer"`` or ``"rms"``, normalizes ``x_l`` over its
    features before the next layer. ``W_l`` has variance ``init_scale * init_variance(width,
    width, scheme)``; for ``scheme="ntk"`` it has variance ``init_scale`` and the product is
    divided by sqrt(width). Returns, per layer (length ``depth``), ``second_moment`` = mean of
    h² over inputs and units, and ``across_input_variance`` = variance of each unit over the
    batch, averaged over units (the "signal collapse" diagnostic). Chapter 6, section 2,
    "Through a deep stack". Float64 throughout, so that a collapse of the across-input variance is
    not hidden by rounding.
    """
    depth = checks.integer("depth", depth, at_least=1)
    width = checks.integer("width", width, at_least=1)
    batch = checks.integer("batch", batch, at_least=2)
    f = _activation(activation)
    checks.choice("norm", norm, NORMS)
    init_scale = checks.real("init_scale", init_scale, above=0)
    var = init_scale * init_variance(width, width, scheme)
    post = 1.0 / math.sqrt(width) if scheme == "ntk" else 1.0
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))  # (batch, width)
    second, across = np.empty(depth), np.empty(depth)
    for layer in range(depth):
        w = rng.standard_normal((width, width)) * (math.sqrt(var) * post)  # (width, width)
        h = x @ w  # (batch, width)
        second[layer] = float(np.mean(h * h))
        across[layer] = float(np.mean(h.var(axis=0)))
        x = f(h)
        if norm is not None:
            x = NORMS[norm](x)
    return {"second_moment": second, "across_input_variance": across}


def mean_field_second_moment(depth: int, activation: str = "relu", init_scale: float = 1.0,
                             scheme: str = "lecun", norm: str | None = None) -> np.ndarray:
    r"""The infinite-width prediction for :func:`propagate_second_moment`'s ``second_moment``.

    At large width the pre-activations of one input are i.i.d. :math:`\mathcal N(0,q_l)` over
    units, so :math:`q_1=g`, :math:`q_{l+1}=g\,E[f(\sqrt{q_l}\,z)^2]` with the variance gain
    :math:`g` = ``init_scale`` × (2 for He, 1 for LeCun, NTK and Xavier on square layers). With a
    normalization the normalized activations have mean square 1, so :math:`q_l=g`.
    """
    depth = checks.integer("depth", depth, at_least=1)
    f = _activation(activation)
    checks.choice("norm", norm, NORMS)
    checks.choice("scheme", scheme, set(INIT_SCHEMES))
    gain = checks.real("init_scale", init_scale, above=0) * (2.0 if scheme == "he" else 1.0)
    q = np.empty(depth)
    q[0] = gain
    for layer in range(1, depth):
        q[layer] = gain if norm else gain * activation_moment(lambda z: f(math.sqrt(q[layer - 1]) * z), 2)
    return q
