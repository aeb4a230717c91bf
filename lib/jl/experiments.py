"""Experiments: how often a random projection keeps every pair, and the smallest ``n`` that does.

Chapter 7 (after Su Jianlin, kexue.fm/archives/8679), "the bound against reality": the largest
distortion of all pairs under one projection, as a curve over target dimensions ``n``
(:func:`max_distortion_curve`, fast through span coordinates and nested projections) and
plainly (:func:`direct_max_distortions`); the success rate and the empirical minimal dimension
it gives; the same for inner products of unit vectors (§5); Wilson intervals for the error bars.
"""
from __future__ import annotations

import numpy as np

from lib import checks
from lib.jl._checks import _check_dims, _check_eps, _check_points, _check_probability, _rng
from lib.jl.bounds import jl_min_dim
from lib.jl.projections import (_gaussian_matrix, distortion_ratios, inner_product_errors, max_distortion,
                                pairwise_sq_dists, project, span_coordinates)


def _geometric_grid(lo: float, hi: float, points: int) -> np.ndarray:
    """Distinct integers nearest to ``points`` geometrically spaced values in ``[lo, hi]``, increasing."""
    return np.unique(np.round(np.geomspace(lo, hi, points)).astype(np.int64))


def one_projection_ratios(points, n: int, seed=None) -> np.ndarray:
    """All pair ratios (N(N-1)/2,) for one ``N(0, 1/n)`` projection of ``points`` (N, m), drawn in their span.

    The histogram figure of chapter 7 shows exactly these ratios for a given ``seed``.
    """
    Z = span_coordinates(points)  # (N, k), same distances as the points
    n = checks.integer("n", n, at_least=1)
    A = _gaussian_matrix(_rng(seed), n, Z.shape[1])  # (n, k): N(0, 1/n), any n vs k
    return distortion_ratios(Z, project(Z, A))


def max_distortion_curve(X, ns, trials: int, seed=None) -> np.ndarray:
    """Max pair distortion for each trial and each target dimension: an array (trials, len(ns)).

    Each trial draws one tall standard Gaussian matrix ``G`` (max(ns), k) and uses
    ``A_n = G[:n] / sqrt(n)`` for every ``n`` in ``ns``: each ``A_n`` has exactly i.i.d.
    ``N(0, 1/n)`` entries, so every column is an unbiased sample for its ``n``, while
    neighbouring ``n`` share randomness (a smooth curve) and the whole curve costs about one
    projection to ``max(ns)``. The points are first re-expressed with :func:`span_coordinates`
    (centred), so the cost does not depend on the original dimension ``m``. A trial succeeds at
    ``n`` (all pairs within ``1 +- eps``) iff its entry is ``<= eps``.
    """
    X = _check_points("X", X, 2)
    ns_arr = _check_dims(ns)
    if ns_arr.ndim != 1 or np.any(np.diff(ns_arr) <= 0):
        raise ValueError(f"ns={ns!r} must be a strictly increasing 1-D sequence of positive integers")
    trials = checks.integer("trials", trials, at_least=1)
    rng = _rng(seed)
    Z = span_coordinates(X - X.mean(axis=0))  # (N, k), same distances as X
    N, k = Z.shape
    iu, ju = np.triu_indices(N, k=1)
    before = pairwise_sq_dists(Z)[iu, ju]  # (P,)
    if np.any(before <= 0):
        raise ValueError("two points of X coincide: the distortion of that pair is undefined")
    inv_before = np.zeros((N, N))
    inv_before[iu, ju] = 1.0 / before
    inv_before += inv_before.T  # (N, N), zero diagonal
    out = np.empty((trials, ns_arr.size))
    buf = np.empty((N, N))
    for t in range(trials):
        G = rng.standard_normal((int(ns_arr[-1]), k))  # (n_max, k)
        Y = Z @ G.T  # (N, n_max): un-normalised projections
        gram = np.zeros((N, N))
        done = 0
        for j, n in enumerate(ns_arr):
            block = Y[:, done:n]  # (N, n - done)
            gram += block @ block.T
            done = int(n)
            sq = np.diagonal(gram)
            np.add.outer(sq, sq, out=buf)
            buf -= gram
            buf -= gram  # (N, N): n times the squared distances after projection
            buf *= inv_before  # n times the ratios; 0 on the diagonal
            high = buf.max()
            np.fill_diagonal(buf, n)  # the diagonal must not count as a minimum
            out[t, j] = max(high / n - 1.0, 1.0 - buf.min() / n)
    return out


def direct_max_distortions(X, n: int, trials: int, seed=None) -> np.ndarray:
    """Max pair distortion (trials,) of ``trials`` fresh ``N(0, 1/n)`` projections of ``X`` (N, m).

    The plain experiment, in the original dimension ``m`` (cost grows with ``m``); chapter 7
    uses it to check that :func:`max_distortion_curve`'s shortcuts change nothing.
    """
    X = _check_points("X", X, 2)
    n = checks.integer("n", n, at_least=1)
    trials = checks.integer("trials", trials, at_least=1)
    rng = _rng(seed)
    return np.array([max_distortion(X, project(X, _gaussian_matrix(rng, n, X.shape[1])))
                     for _ in range(trials)])


def jl_success_rate(X, n: int, eps: float, trials: int, seed=None) -> float:
    """Fraction of ``trials`` random ``N(0, 1/n)`` projections that keep every pair within ``1 +- eps``."""
    n = checks.integer("n", n, at_least=1)
    eps = _check_eps(eps)
    return float(np.mean(max_distortion_curve(X, [n], trials, seed)[:, 0] <= eps))


def min_dim_from_curve(ns, max_distortions, eps: float, target: float):
    """Smallest ``n`` in ``ns`` from which on the success rate stays ``>= target`` (None if never).

    ``max_distortions`` is the (trials, len(ns)) output of :func:`max_distortion_curve`.
    """
    eps = _check_eps(eps)
    _check_probability("target", target)
    ns_arr = np.asarray(ns)
    D = np.asarray(max_distortions)
    if D.ndim != 2 or D.shape[1] != ns_arr.size:
        raise ValueError(f"max_distortions has shape {D.shape}; need (trials, {ns_arr.size}) to match ns")
    ok = (D <= eps).mean(axis=0) >= target - 1e-12
    if not ok[-1]:
        return None
    failing = np.flatnonzero(~ok)
    return int(ns_arr[failing[-1] + 1]) if failing.size else int(ns_arr[0])


def empirical_min_dim(X, eps: float, target: float | None = None, trials: int = 100, seed=None,
                      n_lo: int = 1, n_hi: int | None = None, grid_points: int = 120):
    """A noisy estimate of the smallest ``n`` whose success rate (over ``trials``) reaches ``target``.

    Evaluates :func:`max_distortion_curve` on ``grid_points`` geometrically spaced integers in
    ``[n_lo, n_hi]`` (default ``n_hi = jl_min_dim(N, eps)``, the article's bound) and returns the
    smallest grid value from which on the empirical rate stays ``>= target`` (default ``(N-1)/N``,
    the lemma's guarantee), or None if it is never reached. Resolution: one grid step; noise:
    with 100 trials the rate itself is uncertain by a few per cent.
    """
    X = _check_points("X", X, 2)
    N = X.shape[0]
    eps = _check_eps(eps)
    target = (N - 1) / N if target is None else target
    _check_probability("target", target)
    n_hi = jl_min_dim(N, eps) if n_hi is None else checks.integer("n_hi", n_hi, at_least=1)
    n_lo = checks.integer("n_lo", n_lo, at_least=1)
    if n_lo > n_hi:
        raise ValueError(f"n_lo={n_lo} must not exceed n_hi={n_hi}")
    grid_points = checks.integer("grid_points", grid_points, at_least=2)
    ns = _geometric_grid(n_lo, n_hi, grid_points)
    D = max_distortion_curve(X, ns, trials, seed)
    return min_dim_from_curve(ns, D, eps, target)


def max_inner_product_errors(V, n: int, trials: int, seed=None) -> np.ndarray:
    """Largest ``|<A v_i, A v_j> - <v_i, v_j>|`` over pairs, for each of ``trials`` projections (§5).

    ``V`` (N, m) holds unit vectors; they are first re-expressed in their own span
    (:func:`span_coordinates`, which keeps inner products), so the cost does not grow with ``m``.
    """
    V = _check_points("V", V, 2)
    n = checks.integer("n", n, at_least=1)
    trials = checks.integer("trials", trials, at_least=1)
    Z = span_coordinates(V)  # (N, k)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)  # undo rounding at the 1e-16 level
    rng = _rng(seed)
    return np.array([np.max(np.abs(inner_product_errors(Z, _gaussian_matrix(rng, n, Z.shape[1]))))
                     for _ in range(trials)])


def wilson_interval(successes: np.ndarray, trials: int, z: float = 1.96):
    """Wilson score interval ``(low, high)`` for binomial proportions: chapter 7's error bars on success rates."""
    s = np.asarray(successes, dtype=float)
    p = s / trials
    denom = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denom
    half = z * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denom
    return centre - half, centre + half
