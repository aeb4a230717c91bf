"""Residual connections at initialization: Post-Norm, Pre-Norm and the alpha residual (chapter 6, section 6).

Unrolling x_{t+1} = Norm(x_t + F_t(x_t)) shows how little of x_0 survives many Post-Norm layers;
Pre-Norm keeps every path with weight 1 and the alpha residual (SkipInit/ReZero) starts as the
identity.
Chapter 6, after Su Jianlin, kexue.fm/archives/8620.
"""
from __future__ import annotations

import math

import numpy as np

from lib import checks

from .activations import relu
from .propagation import NORMS


def post_norm_coefficients(depth: int) -> np.ndarray:
    r"""Weights of :math:`[x_0, F_0, \dots, F_{l-1}]` in :math:`x_l` for Post-Norm at
    initialization, :math:`x_{t+1}=(x_t+F_t)/\sqrt2`: :math:`[2^{-l/2}, 2^{-l/2}, 2^{-(l-1)/2},
    \dots, 2^{-1/2}]` (chapter 6, section 6); their squares sum to 1."""
    depth = checks.integer("depth", depth, at_least=1)
    branch = 2.0 ** (-(depth - np.arange(depth)) / 2)  # F_0 ... F_{l-1}
    return np.concatenate([[2.0 ** (-depth / 2)], branch])


def pre_norm_input_scales(depth: int) -> np.ndarray:
    r"""Scales of the inputs of :math:`F_0,\dots,F_{l-1}` in Pre-Norm at initialization,
    :math:`x_l=x_0+F_0(x_0)+F_1(x_1/\sqrt2)+\dots+F_{l-1}(x_{l-1}/\sqrt l)`: ``[1, 1/√2, …, 1/√l]``."""
    depth = checks.integer("depth", depth, at_least=1)
    return 1.0 / np.sqrt(np.arange(1, depth + 1))


def alpha_ramp(step: int, increment: float) -> float:
    """The article's schedule for the residual weight: ``min(1, step * increment)``."""
    step = checks.integer("step", step, at_least=0)
    increment = checks.real("increment", increment, above=0, finite=False)
    return min(1.0, step * increment)


RESIDUAL_MODES = ("post", "pre", "alpha")


def residual_stack(depth: int, width: int = 256, mode: str = "post", *, alpha: float = 0.0,
                   branch: str = "linear", norm: str = "rms", batch: int = 128, seed: int = 0,
                   x0: np.ndarray | None = None) -> dict[str, np.ndarray]:
    r"""Run a residual stack at initialization and measure how much of x_0 survives.

    ``post``: :math:`x_{t+1}=\mathrm{Norm}(x_t+F_t(x_t))`; ``pre``: :math:`x_{t+1}=x_t+F_t(\mathrm{Norm}(x_t))`;
    ``alpha``: :math:`x_{t+1}=x_t+\alpha F_t(x_t)` (SkipInit/ReZero; the article ramps α from 0).
    Branches: ``linear`` :math:`F(x)=xW`, W ~ N(0, 1/width); ``mlp`` :math:`F(x)=\mathrm{relu}(xW_1)W_2`
    with He then LeCun variance. Returns ``second_moment`` and ``corr`` (mean cosine between the
    rows of x_t and x_0), both of length depth + 1 (t = 0 … depth).
    """
    depth = checks.integer("depth", depth, at_least=1)
    width = checks.integer("width", width, at_least=1)
    batch = checks.integer("batch", batch, at_least=1)
    checks.choice("mode", mode, set(RESIDUAL_MODES))
    checks.choice("branch", branch, {"linear", "mlp"})
    checks.choice("norm", norm, {"layer", "rms"})
    alpha = checks.real("alpha", alpha, finite=False)
    normalize = NORMS[norm]
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((batch, width)) if x0 is None else np.asarray(x0, dtype=float)  # (batch, width)
    if x0.ndim != 2 or x0.shape[1] != width:
        raise ValueError(f"x0 has shape {x0.shape}; expected (batch, {width})")

    def f(x):  # (batch, width) -> (batch, width)
        if branch == "linear":
            return x @ (rng.standard_normal((width, width)) / math.sqrt(width))
        hidden = relu(x @ (rng.standard_normal((width, width)) * math.sqrt(2.0 / width)))
        return hidden @ (rng.standard_normal((width, width)) / math.sqrt(width))

    def cosine(a, b):
        return float(np.mean(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))

    x = x0
    second, corr = [float(np.mean(x0**2))], [1.0]
    for _ in range(depth):
        if mode == "post":
            x = normalize(x + f(x))
        elif mode == "pre":
            x = x + f(normalize(x))
        else:
            x = x + alpha * f(x)
        second.append(float(np.mean(x**2)))
        corr.append(cosine(x, x0))
    return {"second_moment": np.array(second), "corr": np.array(corr)}


def residual_theory(depth: int, mode: str = "post", alpha: float = 0.0) -> dict[str, np.ndarray]:
    r"""Infinite-width prediction for :func:`residual_stack` with linear branches (t = 0 … depth).

    Post: second moment 1, corr :math:`2^{-t/2}`; Pre: second moment t+1, corr
    :math:`1/\sqrt{t+1}`; alpha: second moment :math:`(1+\alpha^2)^t`, corr :math:`(1+\alpha^2)^{-t/2}`.
    """
    depth = checks.integer("depth", depth, at_least=1)
    checks.choice("mode", mode, set(RESIDUAL_MODES))
    t = np.arange(depth + 1, dtype=float)
    if mode == "post":
        return {"second_moment": np.ones_like(t), "corr": 2.0 ** (-t / 2)}
    if mode == "pre":
        return {"second_moment": t + 1, "corr": 1 / np.sqrt(t + 1)}
    g = 1.0 + checks.real("alpha", alpha, finite=False) ** 2
    return {"second_moment": g**t, "corr": g ** (-t / 2)}


RESIDUAL_FORMS = {  # label -> (mode, alpha)
    "Post-Norm": ("post", 0.0),
    "Pre-Norm": ("pre", 0.0),
    "α = 0": ("alpha", 0.0),
    "α = 0.3": ("alpha", 0.3),
    "α = 1": ("alpha", 1.0),
}


def residual_path_weights(depth: int, form: str) -> np.ndarray:
    """Weights of ``[x_0, F_0, …, F_{l-1}]`` in x_l at initialization for a form of
    :data:`RESIDUAL_FORMS` (Post-Norm: :func:`post_norm_coefficients`; Pre-Norm: all 1, the
    branches see their input scaled by :func:`pre_norm_input_scales`; α: ``[1, α, …, α]``)."""
    checks.choice("form", form, RESIDUAL_FORMS)
    mode, alpha = RESIDUAL_FORMS[form]
    depth = checks.integer("depth", depth, at_least=1)
    if mode == "post":
        return post_norm_coefficients(depth)
    return np.concatenate([[1.0], np.full(depth, 1.0 if mode == "pre" else alpha)])
