"""The bounds of the Johnson–Lindenstrauss lemma and of its proof, and the exact tails they bound.

Chapter 7 (after Su Jianlin, kexue.fm/archives/8679). ``u`` has ``n`` i.i.d. ``N(0, 1/n)``
components, so ``n ||u||^2`` is chi-square with ``n`` degrees of freedom. In order: the dimension
the lemma requires and the union bound behind it (§4, §6); the per-pair tail bounds (the
article's ``2 exp(-eps^2 n / 8)`` and its orthogonality analogue, §2-§3, then Chebyshev and
Markov, §1); the Cramér–Chernoff steps that give the article's bound (§2); the exact chi-square
tails, and the dimension the union bound needs with each choice of tail.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from lib import checks
from lib.jl._checks import _check_dims, _check_eps, _scalar_or_array


def jl_min_dim(N: int, eps: float, constant: float = 24.0) -> int:
    """Smallest integer ``n`` with ``n > constant * ln(N) / eps**2`` (the JL dimension condition).

    ``constant = 24`` gives the article's guarantee (success probability at least (N-1)/N);
    ``constant = 16`` the existence-only version (success probability at least 1/N). Chapter 7, §4, §6.
    ``N`` must be an integer of at least 2 (one point has no pairs). The condition is strict,
    so the answer is ``floor(x) + 1`` with ``x = constant * ln N / eps**2``; ``x`` is never an
    integer for integer ``N >= 2`` and rational constants (ln N is transcendental), so rounding
    only matters if ``x`` lies within about 1e-12 of an integer, where the float result decides.
    """
    N = checks.integer("N", N, at_least=2)
    eps = _check_eps(eps)
    if isinstance(constant, (bool, np.bool_)) or not isinstance(constant, numbers.Real):
        raise TypeError(f"constant={constant!r} must be a positive finite number")
    if not (math.isfinite(constant) and constant > 0):
        raise ValueError(f"constant={constant!r} must be a positive finite number")
    return math.floor(float(constant) * math.log(N) / eps**2) + 1


def _log_failure_bound(N: int, n, eps: float):
    """``ln(N (N-1) exp(-eps^2 n / 8))``; ``n`` may be an array (chapter 7, §4 step 3)."""
    return math.log(N) + math.log(N - 1) - eps**2 * n / 8


def jl_failure_bound(N: int, n: int, eps: float, clip: bool = False) -> float:
    """Union bound on the failure probability: ``N (N-1) exp(-eps^2 n / 8)`` (chapter 7, §4 step 3).

    ``2 * binom(N, 2) = N (N-1)`` pairs times the unit-norm tail bound; computed in log space
    so that ``N = 10**12`` does not overflow. With ``clip`` the result is capped at 1.
    """
    N = checks.integer("N", N, at_least=2)
    n = checks.integer("n", n, at_least=1)
    eps = _check_eps(eps)
    log_bound = _log_failure_bound(N, n, eps)
    if clip:
        return math.exp(min(log_bound, 0.0))
    return math.exp(log_bound) if log_bound < 700 else math.inf


def unit_norm_tail_bound(n, eps: float):
    """The article's unit-norm lemma: ``P(| ||u||^2 - 1 | >= eps) <= 2 exp(-eps^2 n / 8)`` (§2).

    ``u`` has ``n`` i.i.d. ``N(0, 1/n)`` components. ``n`` may be an integer array.
    """
    n_arr, eps = _check_dims(n), _check_eps(eps)
    return _scalar_or_array(2.0 * np.exp(-eps**2 * n_arr / 8.0), n_arr)


def orthogonality_tail_bound(n, eps: float):
    """The orthogonality lemma: ``P(|<u, v>| >= eps) <= 4 exp(-eps^2 n / 8)`` (chapter 7, §3)."""
    n_arr, eps = _check_dims(n), _check_eps(eps)
    return _scalar_or_array(4.0 * np.exp(-eps**2 * n_arr / 8.0), n_arr)


def chebyshev_tail_bound(n, eps: float):
    """Chebyshev applied to ``||u||^2``: ``P(| ||u||^2 - 1 | >= eps) <= Var / eps^2 = 2 / (n eps^2)`` (§1)."""
    n_arr, eps = _check_dims(n), _check_eps(eps)
    return _scalar_or_array(2.0 / (n_arr * eps**2), n_arr)


def markov_upper_tail_bound(eps: float) -> float:
    """Markov applied to ``||u||^2 >= 0`` with mean 1: ``P(||u||^2 >= 1 + eps) <= 1 / (1 + eps)`` (§1)."""
    return 1.0 / (1.0 + _check_eps(eps))


def square_mgf(lam, n: int):
    """``E[exp(lam * u_i^2)] = sqrt(n / (n - 2 lam))`` for ``u_i ~ N(0, 1/n)`` and ``lam < n/2`` (§2)."""
    n = checks.integer("n", n, at_least=1)
    lam_arr = np.asarray(lam, dtype=float)
    if not np.all(np.isfinite(lam_arr)) or np.any(lam_arr >= n / 2):
        raise ValueError(f"lam={lam!r} must be finite and below n/2 = {n / 2:g} (the MGF diverges there)")
    return _scalar_or_array(np.sqrt(n / (n - 2.0 * lam_arr)), lam_arr)


def chernoff_log_objective(lam, n: int, eps: float):
    """Log of the Cramér–Chernoff bound on the upper tail, as a function of ``lam`` in (0, n/2) (§2).

    ``log[exp(-lam (1 + eps)) (n / (n - 2 lam))^(n/2)] = -lam (1 + eps) - (n/2) ln(1 - 2 lam / n)``.
    """
    n = checks.integer("n", n, at_least=1)
    eps = _check_eps(eps)
    lam_arr = np.asarray(lam, dtype=float)
    if np.any(~np.isfinite(lam_arr)) or np.any(lam_arr <= 0) or np.any(lam_arr >= n / 2):
        raise ValueError(f"lam={lam!r} must lie in the open interval (0, n/2) = (0, {n / 2:g})")
    return _scalar_or_array(-lam_arr * (1 + eps) - 0.5 * n * np.log1p(-2.0 * lam_arr / n), lam_arr)


def chernoff_lambda_star(n: int, eps: float) -> float:
    """The minimiser of :func:`chernoff_log_objective`: ``lam* = n eps / (2 (1 + eps))`` (§2)."""
    n = checks.integer("n", n, at_least=1)
    eps = _check_eps(eps)
    return n * eps / (2.0 * (1.0 + eps))


def chernoff_tails(n, eps: float):
    """The optimised Chernoff bounds ``(upper, lower)`` on the two tails of ``||u||^2`` (§2).

    ``P(||u||^2 - 1 >= eps) <= exp(n (ln(1 + eps) - eps) / 2)`` and
    ``P(1 - ||u||^2 >= eps) <= exp(n (ln(1 - eps) + eps) / 2)``; each is at most ``exp(-n eps^2 / 8)``.
    """
    n_arr, eps = _check_dims(n), _check_eps(eps)
    upper = np.exp(0.5 * n_arr * (math.log1p(eps) - eps))
    lower = np.exp(0.5 * n_arr * (math.log1p(-eps) + eps))
    return _scalar_or_array(upper, n_arr), _scalar_or_array(lower, n_arr)


def unit_norm_tail_exact(n, eps: float):
    """The exact tails ``(upper, lower)``: ``P(chi2_n >= n (1 + eps))`` and ``P(chi2_n <= n (1 - eps))``.

    ``n ||u||^2`` is chi-square with ``n`` degrees of freedom (chapter 7, §2), so these are the
    probabilities the unit-norm lemma bounds. Computed with ``scipy.stats.chi2``.
    """
    from scipy.stats import chi2

    n_arr, eps = _check_dims(n), _check_eps(eps)
    upper = chi2.sf(n_arr * (1 + eps), n_arr)
    lower = chi2.cdf(n_arr * (1 - eps), n_arr)
    return _scalar_or_array(upper, n_arr), _scalar_or_array(lower, n_arr)


def _log_two_sided_tail(ns: np.ndarray, eps: float, tail: str) -> np.ndarray:
    if tail == "article":
        return math.log(2.0) - eps**2 * ns / 8.0
    if tail == "chernoff":
        return np.logaddexp(0.5 * ns * (math.log1p(eps) - eps), 0.5 * ns * (math.log1p(-eps) + eps))
    from scipy.stats import chi2

    return np.logaddexp(chi2.logsf(ns * (1 + eps), ns), chi2.logcdf(ns * (1 - eps), ns))


def union_bound_min_dim(N: int, eps: float, tail: str = "exact") -> int:
    """Smallest ``n`` from which on ``binom(N, 2) * P(pair fails) <= 1/N`` for every larger ``n``.

    The union-bound argument of chapter 7 §4 with a choice of per-pair tail: ``"article"``
    (``2 exp(-eps^2 n / 8)``), ``"chernoff"`` (the optimised two-tail Chernoff sum) or ``"exact"``
    (the chi-square tails). Comparing the three with :func:`jl_min_dim` shows which step of the
    proof costs how much. Every tail is below the article's, which passes at ``jl_min_dim(N, eps)``;
    the search scans down from there in blocks and returns one more than the largest failing ``n``.
    """
    checks.choice("tail", tail, ("article", "chernoff", "exact"))
    hi = jl_min_dim(N, eps)
    if tail == "exact":  # the exact tail is below the Chernoff one, so nothing above that answer fails
        hi = union_bound_min_dim(N, eps, "chernoff")
    log_pairs = math.log(N) + math.log(N - 1) - math.log(2.0)
    block = max(64, hi // 32)
    top = hi
    while top >= 1:
        ns = np.arange(max(1, top - block + 1), top + 1, dtype=np.int64)
        failing = np.flatnonzero(log_pairs + _log_two_sided_tail(ns, float(eps), tail) > -math.log(N))
        if failing.size:
            return int(ns[failing[-1]] + 1)
        top -= block
    return 1
