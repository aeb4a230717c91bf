"""The scalar picture of chapter 4: approximations of e^x, and the spread of Performer's estimate.

What the feature maps of :mod:`lib.attention_features.feature_maps` do to e^{q·k} is, one
score at a time, what T_p(x) and (1 + x/p)^p do to e^x; Performer's estimate of e^{q·k} is an
average of M log-normal samples (Su Jianlin, kexue.fm/archives/8601).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from lib import checks

from .feature_maps import MAX_FEATURE_ENTRIES, _check_cap


def taylor_exp(x: Any, p: int) -> np.ndarray:
    """Return T_p(x) = Σ_{m=0}^{p} x^m / m!, the Taylor polynomial of e^x of degree p ≥ 0."""
    p = checks.integer("p", p, at_least=0)
    x = np.asarray(x, dtype=np.float64)
    total, term = np.ones_like(x), np.ones_like(x)
    for m in range(1, p + 1):
        term = term * x / m
        total = total + term
    return total


def expdef_exp(x: Any, p: int) -> np.ndarray:
    """Return (1 + x/p)^p, the approximation of e^x from its definition as a limit; p ≥ 1."""
    p = checks.integer("p", p, at_least=1)
    return (1.0 + np.asarray(x, dtype=np.float64) / p) ** p


def scalar_relative_error(kind: str, x: Any, p: int) -> np.ndarray:
    """Return |e^x − f_p(x)| / e^x for f_p = T_p (``kind="taylor"``) or (1 + x/p)^p (``"expdef"``)."""
    checks.choice("kind", kind, ("taylor", "expdef"))
    x = np.asarray(x, dtype=np.float64)
    approx = taylor_exp(x, p) if kind == "taylor" else expdef_exp(x, p)
    return np.abs(np.exp(x) - approx) / np.exp(x)


def taylor_remainder_bound(x: Any, p: int) -> np.ndarray:
    """Return a bound on the relative error |e^x − T_p(x)| / e^x (Lagrange remainder).

    For x ≥ 0 the remainder is e^ξ x^{p+1}/(p+1)! with ξ ≤ x, so the relative error is at most
    x^{p+1}/(p+1)!. For x < 0, e^ξ ≤ 1 gives the weaker e^{|x|} |x|^{p+1}/(p+1)!.
    """
    p = checks.integer("p", p, at_least=0)
    x = np.asarray(x, dtype=np.float64)
    base = np.abs(x) ** (p + 1) / math.factorial(p + 1)
    return np.where(x >= 0, base, base * np.exp(np.abs(x)))


def _query_and_key(q: Any, k: Any) -> tuple[np.ndarray, np.ndarray]:
    """q and k as float64 vectors of the same length (else ``ValueError``)."""
    q, k = np.asarray(q, dtype=np.float64), np.asarray(k, dtype=np.float64)
    if q.shape != k.shape or q.ndim != 1:
        raise ValueError(f"q and k must be vectors of the same length, got shapes {q.shape} and {k.shape}")
    return q, k


def performer_relative_std(q: Any, k: Any, M: int) -> float:
    """Return √((e^{‖q+k‖²} − 1) / M), the relative standard deviation of Performer's M-feature
    estimate of e^{q·k} (one sample X = e^{ω·(q+k) − ‖q‖²/2 − ‖k‖²/2} has E X² = e^{2‖q+k‖² − ‖q‖² − ‖k‖²})."""
    q, k = _query_and_key(q, k)
    M = checks.integer("M", M, at_least=1)
    return math.sqrt(math.expm1(float(np.sum((q + k) ** 2))) / M)


def performer_estimates(q: Any, k: Any, M: int, n_draws: int, seed: int = 0) -> np.ndarray:
    """Return ``n_draws`` independent M-feature Performer estimates of e^{q·k}, shape (n_draws,)."""
    q, k = _query_and_key(q, k)
    M, n_draws = checks.integer("M", M, at_least=1), checks.integer("n_draws", n_draws, at_least=1)
    _check_cap(n_draws, M * q.size, f"performer_estimates(M={M}, n_draws={n_draws})", MAX_FEATURE_ENTRIES)
    rng = np.random.default_rng(seed)
    omegas = rng.standard_normal((n_draws, M, q.size))  # (draws, M, d)
    log_x = omegas @ (q + k) - 0.5 * (q @ q + k @ k)  # (draws, M)
    return np.exp(log_x).mean(axis=1)
