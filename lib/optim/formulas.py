"""Closed forms of chapter 5: the indicator chi, beta_tilde, momentum weights, Adam's v inflation.

Also the argument checks shared by the package (they raise ValueError/TypeError naming the
argument, its value and what is allowed). They stay here rather than in :mod:`lib.checks` because
they accept or refuse other values: ``_check_k`` raises ValueError for a wrong type, and
``_check_real`` takes any ``numbers.Real`` (``fractions.Fraction`` included).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from lib import checks

VARIANTS = ("chi", "beta_tilde", "sparse")
# Legend labels (matplotlib mathtext).
VARIANT_LABELS = {"chi": r"$\chi$-form (exact)", "beta_tilde": r"$\tilde\beta$-form", "sparse": "sparse-only"}


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k={k!r} must be a positive integer (the number of accumulated micro-steps)")
    return int(k)


def _check_real(name: str, value, low: float, high: float | None = None, *, high_open: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} must be a real number")
    v = float(value)
    too_high = high is not None and (v >= high if high_open else v > high)
    if not math.isfinite(v) or v < low or too_high:
        upper = "" if high is None else (f" and < {high}" if high_open else f" and <= {high}")
        raise ValueError(f"{name}={value!r} must be finite, >= {low}{upper}")
    return v


# --------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------
def chi(t, k):
    """Return the indicator chi_{t/k}: 1 where k divides t, else 0 (ch. 5, eq. 1).

    ``t`` is a non-negative integer or an integer array (``chi(0, k) == 1``); the result has
    the same shape, as Python int or int64 array.
    """
    k = _check_k(k)
    arr = np.asarray(t)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"t={t!r} must be an integer or an array of integers")
    if np.any(arr < 0):
        raise ValueError(f"t={t!r} must be >= 0 (micro-steps are counted from 0)")
    out = (arr % k == 0).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def beta_tilde(beta: float, k: int) -> float:
    """Return beta_tilde = 1 - (1 - beta) / k, the EMA coefficient of the article's recipe (ch. 5, sec. 8).

    ``k = 1`` returns ``beta`` itself (not 1 - (1 - beta), which can differ in the last bit).
    """
    beta = _check_real("beta", beta, 0.0, 1.0)
    k = _check_k(k)
    return beta if k == 1 else 1.0 - (1.0 - beta) / k


def window_weights(beta: float, k: int, n_windows: int, variant: str) -> np.ndarray:
    """Weight of each micro-step gradient in the momentum at the end of window ``n_windows``.

    Oldest first, length ``k * n_windows``, starting from m_0 = 0 (ch. 5, fig. "weights"):
    ``"chi"``: (1 - beta)/k * beta^(n - s) for every step of window s (flat blocks);
    ``"beta_tilde"``: (1 - bt) bt^(kn - t); ``"sparse"``: (1 - beta) beta^(kn - t), which is
    also the momentum of plain SGDM at step kn. They sum to 1 - beta^n, 1 - bt^(kn), 1 - beta^(kn).
    """
    beta = _check_real("beta", beta, 0.0, 1.0)
    k = _check_k(k)
    if isinstance(n_windows, bool) or not isinstance(n_windows, numbers.Integral) or n_windows < 1:
        raise ValueError(f"n_windows={n_windows!r} must be a positive integer")
    variant = checks.choice("variant", variant, VARIANTS)
    t = np.arange(1, k * n_windows + 1)  # micro-steps 1..kn
    age = k * n_windows - t  # 0 for the newest gradient
    if variant == "chi":
        window = (t - 1) // k + 1
        return (1 - beta) / k * beta ** (n_windows - window)
    b = beta_tilde(beta, k) if variant == "beta_tilde" else beta
    return (1 - b) * b**age


def adam_v_inflation(mu: float, sigma: float, k: int) -> float:
    """Return E[mean of squares] / E[square of mean] = (mu^2 + sigma^2) / (mu^2 + sigma^2 / k).

    For k i.i.d. micro-gradients with mean ``mu`` and standard deviation ``sigma``: the factor by
    which the chi-form Adam's v overestimates the v of true accumulation (ch. 5, "How biased is
    the Adam approximation?"). It lies in [1, k].
    """
    mu = _check_real("mu", mu, -math.inf)
    sigma = _check_real("sigma", sigma, 0.0)
    k = _check_k(k)
    if mu == 0 and sigma == 0:
        raise ValueError("mu=0 and sigma=0: the ratio 0/0 is undefined")
    return (mu**2 + sigma**2) / (mu**2 + sigma**2 / k)


def v_inflation_monte_carlo(mu: float, sigma: float, k: int, *, trials: int, seed: int) -> float:
    """Monte Carlo estimate of :func:`adam_v_inflation` from ``trials`` windows of k normal draws."""
    k = _check_k(k)
    rng = np.random.default_rng(seed)
    g = rng.normal(mu, sigma, size=(trials, k))  # (trials, k)
    return float((g**2).mean() / (g.mean(axis=1) ** 2).mean())
