"""The Johnson–Lindenstrauss lemma: its bounds, random projections and experiments (chapter 7).

Notation of chapter 7 (and of Su Jianlin's article, kexue.fm/archives/8679): ``N`` points
``v_1, ..., v_N`` in ``R^m`` are mapped to ``R^n`` by ``v -> A v`` where ``A`` (n, m) has i.i.d.
``N(0, 1/n)`` entries; ``eps`` in (0, 1) bounds the relative distortion of *squared* distances.
Logarithms are natural.

Sections: bounds (closed forms of the lemma and its proof), exact tails (chi-square),
random projections and distortions, experiments (success rate and minimal dimension, fast
through :func:`span_coordinates` and nested projections), figures (draw functions for the
chapter's static and drivable figures).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

# --------------------------------------------------------------------------------------------
# Argument checks


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} must be an integer (got {type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer of at least {minimum}")
    return int(value)


def _check_eps(eps) -> float:
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps={eps!r} must be a real number in the open interval (0, 1)")
    eps = float(eps)
    if not (math.isfinite(eps) and 0.0 < eps < 1.0):
        raise ValueError(f"eps={eps!r} must be a finite number in the open interval (0, 1)")
    return eps


def _check_dims(n) -> np.ndarray:
    """``n``: a positive integer or an array of positive integers (target dimensions)."""
    if isinstance(n, (bool, np.bool_)):
        raise TypeError(f"n={n!r} must be a positive integer or an array of them, not a bool")
    arr = np.asarray(n)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"n={n!r} must be a positive integer or an array of them (got dtype {arr.dtype})")
    if arr.size == 0 or np.any(arr < 1):
        raise ValueError(f"n={n!r} must be a positive integer or a non-empty array of positive integers")
    return arr.astype(np.int64)


def _scalar_or_array(x: np.ndarray, like: np.ndarray):
    return float(x) if like.ndim == 0 else x


def _check_points(name: str, X, min_rows: int = 1) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < min_rows or X.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array (points, dimension) with at least {min_rows} rows, "
                         f"got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return X


# --------------------------------------------------------------------------------------------
# Bounds: the closed forms of the lemma and its proof


def jl_min_dim(N: int, eps: float, constant: float = 24.0) -> int:
    """Smallest integer ``n`` with ``n > constant * ln(N) / eps**2`` (the JL dimension condition).

    ``constant = 24`` gives the article's guarantee (success probability at least (N-1)/N);
    ``constant = 16`` the existence-only version (success probability at least 1/N). Chapter 7, §4, §6.
    ``N`` must be an integer of at least 2 (one point has no pairs). The condition is strict,
    so the answer is ``floor(x) + 1`` with ``x = constant * ln N / eps**2``; ``x`` is never an
    integer for integer ``N >= 2`` and rational constants (ln N is transcendental), so rounding
    only matters if ``x`` lies within about 1e-12 of an integer, where the float result decides.
    """
    N = _check_int("N", N, 2)
    eps = _check_eps(eps)
    if isinstance(constant, (bool, np.bool_)) or not isinstance(constant, numbers.Real):
        raise TypeError(f"constant={constant!r} must be a positive finite number")
    if not (math.isfinite(constant) and constant > 0):
        raise ValueError(f"constant={constant!r} must be a positive finite number")
    return math.floor(float(constant) * math.log(N) / eps**2) + 1


def jl_failure_bound(N: int, n: int, eps: float, clip: bool = False) -> float:
    """Union bound on the failure probability: ``N (N-1) exp(-eps^2 n / 8)`` (chapter 7, §4 step 3).

    ``2 * binom(N, 2) = N (N-1)`` pairs times the unit-norm tail bound; computed in log space
    so that ``N = 10**12`` does not overflow. With ``clip`` the result is capped at 1.
    """
    N = _check_int("N", N, 2)
    n = _check_int("n", n, 1)
    eps = _check_eps(eps)
    log_bound = math.log(N) + math.log(N - 1) - eps**2 * n / 8
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
    n = _check_int("n", n, 1)
    lam_arr = np.asarray(lam, dtype=float)
    if not np.all(np.isfinite(lam_arr)) or np.any(lam_arr >= n / 2):
        raise ValueError(f"lam={lam!r} must be finite and below n/2 = {n / 2:g} (the MGF diverges there)")
    return _scalar_or_array(np.sqrt(n / (n - 2.0 * lam_arr)), lam_arr)


def chernoff_log_objective(lam, n: int, eps: float):
    """Log of the Cramér–Chernoff bound on the upper tail, as a function of ``lam`` in (0, n/2) (§2).

    ``log[exp(-lam (1 + eps)) (n / (n - 2 lam))^(n/2)] = -lam (1 + eps) - (n/2) ln(1 - 2 lam / n)``.
    """
    n, eps = _check_int("n", n, 1), _check_eps(eps)
    lam_arr = np.asarray(lam, dtype=float)
    if np.any(~np.isfinite(lam_arr)) or np.any(lam_arr <= 0) or np.any(lam_arr >= n / 2):
        raise ValueError(f"lam={lam!r} must lie in the open interval (0, n/2) = (0, {n / 2:g})")
    return _scalar_or_array(-lam_arr * (1 + eps) - 0.5 * n * np.log1p(-2.0 * lam_arr / n), lam_arr)


def chernoff_lambda_star(n: int, eps: float) -> float:
    """The minimiser of :func:`chernoff_log_objective`: ``lam* = n eps / (2 (1 + eps))`` (§2)."""
    n, eps = _check_int("n", n, 1), _check_eps(eps)
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
    if tail not in ("article", "chernoff", "exact"):
        raise ValueError(f"tail={tail!r} must be one of 'article', 'chernoff', 'exact'")
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


# --------------------------------------------------------------------------------------------
# Random projections and distortions


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, (bool, np.bool_)) or not (seed is None or isinstance(seed, (numbers.Integral, np.random.Generator))):
        raise TypeError(f"seed={seed!r} must be None, a non-negative integer or a numpy Generator")
    return np.random.default_rng(seed)


def gaussian_projection(n: int, m: int, seed=None, dtype=np.float64) -> np.ndarray:
    """A random projection ``A`` of shape (n, m) with i.i.d. ``N(0, 1/n)`` entries (chapter 7, §4).

    ``n`` is the target dimension, ``m`` the original one; the variance is ``1/n`` so that
    ``E ||A x||^2 = ||x||^2``. Warns (does not fail) when ``n >= m``: that is no reduction.
    """
    n, m = _check_int("n", n, 1), _check_int("m", m, 1)
    if n >= m:
        warnings.warn(f"gaussian_projection: n={n} >= m={m}, so this projection does not reduce the dimension",
                      stacklevel=2)
    return (_rng(seed).standard_normal((n, m)) / math.sqrt(n)).astype(dtype, copy=False)  # (n, m)


def project(X, A) -> np.ndarray:
    """The projected points ``Y = X A^T``: row ``i`` is ``A v_i`` (shapes (N, m), (n, m) -> (N, n))."""
    X, A = np.asarray(X), np.asarray(A)
    if X.ndim != 2 or A.ndim != 2 or X.shape[1] != A.shape[1]:
        raise ValueError(f"project: X has shape {X.shape} and A has shape {A.shape}; "
                         "need X (N, m) and A (n, m) with the same m")
    return X @ A.T  # (N, n)


def pairwise_sq_dists(X) -> np.ndarray:
    """All squared distances ``||x_i - x_j||^2`` as an (N, N) matrix, through the Gram matrix.

    Tiny negatives from rounding in ``|x_i|^2 + |x_j|^2 - 2 <x_i, x_j>`` are clipped to 0 and the
    diagonal is exactly 0.
    """
    X = _check_points("X", X)
    gram = X @ X.T  # (N, N)
    sq_norms = np.diag(gram)
    d2 = np.maximum(sq_norms[:, None] + sq_norms[None, :] - 2.0 * gram, 0.0)
    np.fill_diagonal(d2, 0.0)
    return d2


def distortion_ratios(X, Y, on_duplicate: str = "raise") -> np.ndarray:
    """Ratios ``||y_i - y_j||^2 / ||x_i - x_j||^2`` for all pairs ``i < j`` (row-major order).

    The lemma says they all lie in ``[1 - eps, 1 + eps]`` with high probability (§4). Two equal
    points of ``X`` have no ratio: ``on_duplicate="raise"`` names the first such pair,
    ``"skip"`` leaves those pairs out.
    """
    if on_duplicate not in ("raise", "skip"):
        raise ValueError(f"on_duplicate={on_duplicate!r} must be 'raise' or 'skip'")
    X, Y = _check_points("X", X, 2), _check_points("Y", Y, 2)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} points but Y has {Y.shape[0]}: they must be the same points")
    iu = np.triu_indices(X.shape[0], k=1)
    before, after = pairwise_sq_dists(X)[iu], pairwise_sq_dists(Y)[iu]
    zero = before <= 0
    if zero.any():
        if on_duplicate == "raise":
            k = int(np.flatnonzero(zero)[0])
            raise ValueError(f"points {iu[0][k]} and {iu[1][k]} of X coincide: their distortion ratio is undefined "
                             "(pass on_duplicate='skip' to leave such pairs out)")
        before, after = before[~zero], after[~zero]
    return after / before


def max_distortion(X, Y) -> float:
    """``max_{i<j} | ||y_i - y_j||^2 / ||x_i - x_j||^2 - 1 |``: the JL event holds iff this is <= eps."""
    return float(np.max(np.abs(distortion_ratios(X, Y) - 1.0)))


def span_coordinates(X) -> np.ndarray:
    """Coordinates (N, min(N, m)) of the points in an orthonormal basis of their own span.

    From the reduced QR factorisation ``X^T = Q R``: the rows of ``R^T`` have the same Gram matrix
    as the rows of ``X`` (so the same norms, inner products and distances). Because a Gaussian
    ``A`` is rotation invariant, ``A Q`` has the same distribution as an ``N(0, 1/n)`` matrix of
    shape (n, min(N, m)), so projecting these coordinates is exact in distribution and costs
    nothing that grows with ``m`` (chapter 7, "the bound against reality").
    """
    X = _check_points("X", X)
    _, r = np.linalg.qr(X.T, mode="reduced")  # X^T (m, N) = Q (m, k) R (k, N)
    return r.T  # (N, k)


def inner_product_errors(V, A) -> np.ndarray:
    """Errors ``<A v_i, A v_j> - <v_i, v_j>`` for all pairs ``i < j`` of unit vectors (§5).

    The inner-product version of the lemma bounds their absolute values by ``eps``; it needs
    unit rows, so rows whose norm differs from 1 by more than 1e-8 are refused.
    """
    V = _check_points("V", V, 2)
    norms = np.linalg.norm(V, axis=1)
    bad = np.flatnonzero(np.abs(norms - 1.0) > 1e-8)
    if bad.size:
        raise ValueError(f"row {bad[0]} of V has norm {norms[bad[0]]:.10g}: the inner-product version needs "
                         "unit vectors (normalise the rows)")
    W = project(V, A)  # (N, n)
    iu = np.triu_indices(V.shape[0], k=1)
    return (W @ W.T)[iu] - (V @ V.T)[iu]


def projected_norm_ratios(x, n: int, draws: int, seed=None, chunk: int = 2000) -> np.ndarray:
    """``||A x||^2 / ||x||^2`` for ``draws`` independent ``N(0, 1/n)`` matrices ``A`` (n, m): (draws,).

    Step 1 of the proof in chapter 7: ``A x / ||x||`` is a vector of ``n`` i.i.d. ``N(0, 1/n)``
    entries, so these ratios are ``chi2_n / n`` distributed (mean 1, variance 2/n) whatever ``x``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)) or not np.any(x):
        raise ValueError(f"x must be a finite non-zero 1-D vector, got shape {x.shape}")
    n, draws, chunk = _check_int("n", n, 1), _check_int("draws", draws, 1), _check_int("chunk", chunk, 1)
    rng = _rng(seed)
    out = np.empty(draws)
    for start in range(0, draws, chunk):
        size = min(chunk, draws - start)
        A = rng.standard_normal((size, n, x.size)) / math.sqrt(n)  # (size, n, m)
        out[start:start + size] = np.sum((A @ x) ** 2, axis=1)  # (size,)
    return out / (x @ x)


def random_inner_products(n: int, pairs: int, seed=None, chunk: int = 10_000) -> np.ndarray:
    """``<u, v>`` for ``pairs`` independent pairs of vectors with i.i.d. ``N(0, 1/n)`` entries: (pairs,).

    The orthogonality lemma of chapter 7 (§3) bounds ``P(|<u, v>| >= eps)`` by ``4 exp(-eps^2 n / 8)``;
    the exact variance is ``1/n``.
    """
    n, pairs, chunk = _check_int("n", n, 1), _check_int("pairs", pairs, 1), _check_int("chunk", chunk, 1)
    rng = _rng(seed)
    out = np.empty(pairs)
    for start in range(0, pairs, chunk):
        size = min(chunk, pairs - start)
        u, v = rng.standard_normal((2, size, n))  # (size, n) each
        out[start:start + size] = np.einsum("ij,ij->i", u, v) / n
    return out


def max_inner_product_errors(V, n: int, trials: int, seed=None) -> np.ndarray:
    """Largest ``|<A v_i, A v_j> - <v_i, v_j>|`` over pairs, for each of ``trials`` projections (§5).

    ``V`` (N, m) holds unit vectors; they are first re-expressed in their own span
    (:func:`span_coordinates`, which keeps inner products), so the cost does not grow with ``m``.
    """
    V = _check_points("V", V, 2)
    n, trials = _check_int("n", n, 1), _check_int("trials", trials, 1)
    Z = span_coordinates(V)  # (N, k)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)  # undo rounding at the 1e-16 level
    rng = _rng(seed)
    return np.array([np.max(np.abs(inner_product_errors(Z, rng.standard_normal((n, Z.shape[1])) / math.sqrt(n))))
                     for _ in range(trials)])


def correlated_unit_vectors(N: int, m: int, rank: int = 3, noise: float = 0.6, seed=None) -> np.ndarray:
    """``N`` unit vectors in ``R^m`` (N, m) whose inner products spread over a wide range.

    Each row is ``normalise(c_i W + noise * g_i)`` with ``c_i`` (rank,) and ``W`` (rank, m)/sqrt(m)
    standard Gaussian: a shared low-rank part makes some pairs strongly (anti-)correlated, unlike
    independent Gaussian directions, which are all nearly orthogonal when ``m`` is large.
    """
    N, m, rank = _check_int("N", N, 2), _check_int("m", m, 1), _check_int("rank", rank, 1)
    if not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise!r} must be a non-negative finite number")
    rng = _rng(seed)
    V = rng.standard_normal((N, rank)) @ rng.standard_normal((rank, m)) / math.sqrt(m)  # (N, m)
    V += noise * rng.standard_normal((N, m)) / math.sqrt(m)
    return V / np.linalg.norm(V, axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Experiments: success rate and minimal dimension


def one_projection_ratios(points, n: int, seed=None) -> np.ndarray:
    """All pair ratios (N(N-1)/2,) for one ``N(0, 1/n)`` projection of ``points`` (N, m), drawn in their span.

    The histogram figure of chapter 7 shows exactly these ratios for a given ``seed``.
    """
    Z = span_coordinates(points)  # (N, k), same distances as the points
    n = _check_int("n", n, 1)
    A = _rng(seed).standard_normal((n, Z.shape[1])) / math.sqrt(n)  # (n, k): N(0, 1/n), any n vs k
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
    trials = _check_int("trials", trials, 1)
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
    n, trials = _check_int("n", n, 1), _check_int("trials", trials, 1)
    rng = _rng(seed)
    return np.array([max_distortion(X, project(X, rng.standard_normal((n, X.shape[1])) / math.sqrt(n)))
                     for _ in range(trials)])


def jl_success_rate(X, n: int, eps: float, trials: int, seed=None) -> float:
    """Fraction of ``trials`` random ``N(0, 1/n)`` projections that keep every pair within ``1 +- eps``."""
    n, eps = _check_int("n", n, 1), _check_eps(eps)
    return float(np.mean(max_distortion_curve(X, [n], trials, seed)[:, 0] <= eps))


def min_dim_from_curve(ns, max_distortions, eps: float, target: float):
    """Smallest ``n`` in ``ns`` from which on the success rate stays ``>= target`` (None if never).

    ``max_distortions`` is the (trials, len(ns)) output of :func:`max_distortion_curve`.
    """
    eps = _check_eps(eps)
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, numbers.Real) or not 0 < target <= 1:
        raise ValueError(f"target={target!r} must be a success probability in (0, 1]")
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
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, numbers.Real) or not 0 < target <= 1:
        raise ValueError(f"target={target!r} must be a success probability in (0, 1]")
    n_hi = jl_min_dim(N, eps) if n_hi is None else _check_int("n_hi", n_hi, 1)
    n_lo = _check_int("n_lo", n_lo, 1)
    if n_lo > n_hi:
        raise ValueError(f"n_lo={n_lo} must not exceed n_hi={n_hi}")
    grid_points = _check_int("grid_points", grid_points, 2)
    ns = np.unique(np.round(np.geomspace(n_lo, n_hi, grid_points)).astype(np.int64))
    D = max_distortion_curve(X, ns, trials, seed)
    return min_dim_from_curve(ns, D, eps, target)


def wilson_interval(successes: np.ndarray, trials: int, z: float = 1.96):
    """Wilson score interval ``(low, high)`` for binomial proportions (for error bars)."""
    s = np.asarray(successes, dtype=float)
    p = s / trials
    denom = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denom
    half = z * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denom
    return centre - half, centre + half


class Table:
    """A small table for the notebook: ``header`` and rows of cells, shown as HTML (and as text)."""

    def __init__(self, header, rows, caption: str | None = None):
        self.header = [str(h) for h in header]
        self.rows = [[c if isinstance(c, str) else _cell(c) for c in row] for row in rows]
        if any(len(r) != len(self.header) for r in self.rows):
            raise ValueError(f"every row must have {len(self.header)} cells, like the header {self.header}")
        self.caption = caption

    def _repr_html_(self) -> str:
        import html

        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        pad = "padding:0.15em 0.6em;text-align:right;white-space:nowrap"
        head = "".join(f"<th style='{pad}'>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td style='{pad}'>{html.escape(c)}</td>" for c in r) + "</tr>"
                       for r in self.rows)
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        lines = [" | ".join(self.header)] + [" | ".join(r) for r in self.rows]
        return "\n".join(([self.caption] if self.caption else []) + lines)


def _cell(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, (numbers.Integral, np.integer)):
        return f"{int(x):,}"
    return f"{float(x):.3g}"


# --------------------------------------------------------------------------------------------
# Figures (each returns a matplotlib Figure; chapter 7 shows them statically, then drivable)


def draw_chernoff_objective(n: int = 100, eps: float = 0.2):
    """The log Chernoff bound as a function of ``lam``, its minimiser and the two bounds it yields."""
    from lib import style

    lam_star = chernoff_lambda_star(n, eps)
    lam = np.linspace(1e-3 * lam_star, min(2.6 * lam_star, 0.5 * n * (1 - 1e-6)), 600)
    f = chernoff_log_objective(lam, n, eps)
    tight, relaxed = 0.5 * n * (math.log1p(eps) - eps), -eps**2 * n / 8
    exact_upper = unit_norm_tail_exact(n, eps)[0]
    fig, ax = style.figure(size="tall")
    ax.plot(lam, f, color=style.PALETTE["blue"],
            label=r"$\log\,[e^{-\lambda(1+\varepsilon)}(n/(n-2\lambda))^{n/2}]$")
    ax.axhline(tight, color=style.PALETTE["green"], ls="--", lw=1.2,
               label="its minimum\n" + rf"$n(\ln(1+\varepsilon)-\varepsilon)/2={tight:.3g}$")
    ax.axhline(relaxed, color=style.PALETTE["vermillion"], ls=":", lw=1.5,
               label="article's relaxation\n" + rf"$-\varepsilon^2 n/8={relaxed:.3g}$")
    ax.axhline(math.log(exact_upper), color=style.PALETTE["black"], lw=1,
               label="exact value\n" + rf"$\log P(\|u\|^2\geq 1+\varepsilon)={math.log(exact_upper):.3g}$")
    ax.plot([lam_star], [chernoff_log_objective(lam_star, n, eps)], "o", color=style.PALETTE["black"],
            label=rf"$\lambda^*=n\varepsilon/(2(1+\varepsilon))={lam_star:.3g}$")
    ax.set_ylim(min(tight, math.log(exact_upper)) * 1.25 - 0.3, max(1.0, -0.35 * tight))
    ax.set_xlim(0, lam[-1])
    ax.set_xlabel(r"$\lambda$ (every value in $(0, n/2)$ gives a valid bound)")
    ax.set_ylabel("log of the bound on the upper tail")
    ax.set_title(f"Cramér–Chernoff for the upper tail of $\\|u\\|^2$, n = {n}, ε = {eps:g}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    return fig


def draw_tail_bounds(eps: float, n_max: int = 3000, mc_draws: int = 200_000, seed: int = 0):
    """``P(| ||u||^2 - 1 | >= eps)`` against ``n``: exact, Monte Carlo and four bounds, log scale."""
    from lib import style

    eps = _check_eps(eps)
    ns = np.unique(np.r_[np.round(np.geomspace(4, n_max, 90)).astype(np.int64), 1000])
    ns = ns[ns <= n_max]
    upper, lower = unit_norm_tail_exact(ns, eps)
    cu, cl = chernoff_tails(ns, eps)
    fig, ax = style.figure(size="tall")
    ax.plot(ns, chebyshev_tail_bound(ns, eps), color=style.PALETTE["grey"], ls="-.", lw=1.3,
            label=r"Chebyshev $2/(n\varepsilon^2)$")
    ax.plot(ns, unit_norm_tail_bound(ns, eps), color=style.PALETTE["vermillion"], ls="--",
            label=r"article $2e^{-\varepsilon^2 n/8}$")
    ax.plot(ns, cu + cl, color=style.PALETTE["orange"], label="optimised Chernoff, both tails")
    ax.plot(ns, upper + lower, color=style.PALETTE["blue"], lw=2.4, label=r"exact ($\chi^2_n$)")
    ax.axhline(markov_upper_tail_bound(eps), color=style.PALETTE["purple"], ls=":", lw=1.3,
               label=r"Markov $1/(1+\varepsilon)$ (upper tail only)")
    rng = np.random.default_rng(seed)
    n_mc = np.array([5, 10, 30, 100, 300, 1000, 3000])
    n_mc = n_mc[n_mc <= n_max]
    p = np.array([np.mean(np.abs(rng.chisquare(k, mc_draws) / k - 1) >= eps) for k in n_mc])
    lo, hi = wilson_interval(p * mc_draws, mc_draws)
    seen = p > 0
    ax.errorbar(n_mc[seen], p[seen], yerr=[p[seen] - lo[seen], hi[seen] - p[seen]], fmt="o", ms=4,
                color=style.PALETTE["black"], label=rf"Monte Carlo ({mc_draws:,} draws of $\chi^2_n/n$)")
    ax.axhline(1.0, color=style.PALETTE["black"], lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-12, 30)
    ax.set_xlim(ns[0], ns[-1])
    ax.set_xlabel("target dimension n")
    ax.set_ylabel(r"$P(|\,\|u\|^2-1| \geq \varepsilon)$ or its bound")
    k = int(np.argmin(np.abs(ns - 1000)))
    ratio = unit_norm_tail_bound(int(ns[k]), eps) / (upper[k] + lower[k])
    ratio_text = f"{ratio:,.0f}" if ratio >= 10 else f"{ratio:.2g}"
    ax.set_title(f"ε = {eps:g}: at n = {ns[k]} the article's bound is {ratio_text} × the exact value")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8)
    return fig


def draw_distortion_histogram(n: int, eps: float, ratios):
    """Histogram of all pair ratios ``||A(v_i - v_j)||^2 / ||v_i - v_j||^2`` with the chi2_n / n density.

    ``ratios`` maps each target dimension ``n`` to the ratios of one projection
    (:func:`one_projection_ratios`), so that sliders over ``eps`` reuse the same draw.
    """
    from scipy.stats import chi2

    from lib import style

    eps = _check_eps(eps)
    if n not in ratios:
        raise ValueError(f"n={n!r} has no precomputed ratios; available: {sorted(ratios)}")
    r = np.asarray(ratios[n])
    worst = float(np.max(np.abs(r - 1)))
    fig, ax = style.figure(size="single")
    ax.hist(r, bins=np.linspace(0, 2.6, 131), density=True, color=style.PALETTE["sky"], alpha=0.8,
            label=f"{r.size:,} pairs, one draw of A")
    x = np.linspace(0.005, 2.6, 600)
    ax.plot(x, n * chi2.pdf(n * x, n), color=style.PALETTE["blue"], label=r"density of $\chi^2_n/n$")
    for edge in (1 - eps, 1 + eps):
        ax.axvline(edge, color=style.PALETTE["vermillion"], ls="--", lw=1.3)
    ax.axvspan(1 - eps, 1 + eps, color=style.PALETTE["vermillion"], alpha=0.06, label=rf"$1\pm\varepsilon$, ε = {eps:g}")
    ax.set_xlim(0, 2.6)
    ax.set_xlabel(r"ratio $\|A(v_i-v_j)\|^2 / \|v_i-v_j\|^2$")
    ax.set_ylabel("density")
    verdict = "all pairs inside" if worst <= eps else "some pairs outside"
    ax.set_title(f"n = {n}: max distortion {worst:.3f} → {verdict} 1 ± {eps:g}")
    ax.legend(loc="upper right")
    return fig


def draw_success_curve(eps: float, N: int, curves, trials_label: str | None = None):
    """Empirical probability that all pairs stay within ``1 +- eps``, against ``n``, with the bounds.

    ``curves`` maps ``N`` to ``(ns, max_distortions)`` from :func:`max_distortion_curve`.
    """
    from lib import style

    eps = _check_eps(eps)
    ns, D = curves[N]
    ns = np.asarray(ns)
    trials = D.shape[0]
    wins = (D <= eps).sum(axis=0)
    rate = wins / trials
    lo, hi = wilson_interval(wins, trials)
    fig, ax = style.figure(size="wide")
    ax.fill_between(ns, lo, hi, color=style.PALETTE["blue"], alpha=0.18, lw=0)
    ax.plot(ns, rate, color=style.PALETTE["blue"], label=f"measured: {trials} projections\nper n, 95% band")
    guarantee = np.clip(1 - np.exp(math.log(N) + math.log(N - 1) - eps**2 * ns / 8), 0, 1)
    ax.plot(ns, guarantee, color=style.PALETTE["vermillion"], ls="--", label="article's guarantee\n" + r"$1-N(N-1)e^{-\varepsilon^2 n/8}$")
    ax.axhline((N - 1) / N, color=style.PALETTE["grey"], lw=1, ls=":", label=r"$(N-1)/N$")
    for c, colour, y in ((16, "orange", 0.30), (24, "vermillion", 0.08)):
        n_c = jl_min_dim(N, eps, c)
        if n_c <= ns[-1]:
            ax.axvline(n_c, color=style.PALETTE[colour], lw=1.2)
            ax.text(n_c, y, f"{c} ln N/ε² = {n_c} ", color=style.PALETTE[colour], fontsize=8, ha="right")
        else:
            ax.text(ns[-1], y, f"{c} ln N/ε² = {n_c} →", color=style.PALETTE[colour], fontsize=8, ha="right")
    n_min = min_dim_from_curve(ns, D, eps, (N - 1) / N)
    if n_min is not None:
        ax.plot([n_min], [rate[list(ns).index(n_min)]], "o", color=style.PALETTE["black"],
                label=f"smallest n with measured\nrate ≥ (N−1)/N: {n_min}")
    ax.set_xscale("log")
    ax.set_xlim(ns[0], ns[-1])
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("target dimension n")
    ax.set_ylabel("P(all pairs within 1 ± ε)")
    ax.set_title(f"N = {N} points, ε = {eps:g}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return fig


def draw_dimension_bound(eps: float, measured=None, N_max: float = 1e12):
    """Required target dimension against ``N`` (log scale): article (24, 16), the union bound with
    the exact tail, and measured minimal dimensions for this ``eps`` (``measured[(N, eps)] = n``)."""
    from lib import style

    eps = _check_eps(eps)
    Ns = np.unique(np.round(np.geomspace(10, N_max, 60)).astype(np.int64))
    logN = np.log(Ns)
    fig, ax = style.figure(size="single")
    ax.plot(Ns, 24 * logN / eps**2, color=style.PALETTE["vermillion"], label=r"article: $24\ln N/\varepsilon^2$")
    ax.plot(Ns, 16 * logN / eps**2, color=style.PALETTE["orange"], ls="--",
            label=r"existence only: $16\ln N/\varepsilon^2$")
    few = np.unique(np.round(np.geomspace(10, N_max, 12)).astype(np.int64))
    ax.plot(few, [union_bound_min_dim(int(N), eps, "exact") for N in few], "s-", ms=3, lw=1.2,
            color=style.PALETTE["green"], label=r"union bound with the exact $\chi^2$ tail")
    if measured:
        pts = sorted((N, n) for (N, e), n in measured.items() if abs(e - eps) < 1e-9 and n is not None)
        if pts:
            ax.plot(*zip(*pts), "o", ms=7, color=style.PALETTE["blue"], label="measured (smallest n, success ≥ (N−1)/N)")
    ax.set_xscale("log")  # c ln N is a straight line against log N: the O(log N) of the title
    ax.set_ylim(0, 24 * math.log(N_max) / eps**2 * 1.05)
    ax.set_xlim(10, N_max)
    ax.set_xlabel("number of points N (log scale)")
    ax.set_ylabel("target dimension n")
    ax.set_title(f"ε = {eps:g}: by the article's bound N = 10⁶ points need n ≥ {jl_min_dim(10**6, eps):,}")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def draw_inner_products(V, A, eps: float):
    """Scatter of ``<v_i, v_j>`` against ``<A v_i, A v_j>`` for unit vectors, with the ``+- eps`` band."""
    from lib import style

    eps = _check_eps(eps)
    V = np.asarray(V, dtype=float)
    err = inner_product_errors(V, A)
    iu = np.triu_indices(V.shape[0], k=1)
    before = (V @ V.T)[iu]
    fig, ax = style.figure(size="square")
    lim = max(float(np.max(np.abs(before))), float(np.max(np.abs(before + err)))) + eps + 0.05
    grid = np.array([-lim, lim])
    ax.fill_between(grid, grid - eps, grid + eps, color=style.PALETTE["vermillion"], alpha=0.1, label=rf"$\pm\varepsilon$ band, ε = {eps:g}")
    ax.plot(before, before + err, ".", ms=2, alpha=0.4, color=style.PALETTE["blue"], label=f"{err.size:,} pairs")
    ax.plot(grid, grid, color=style.PALETTE["black"], lw=0.8)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\langle v_i, v_j\rangle$")
    ax.set_ylabel(r"$\langle Av_i, Av_j\rangle$")
    ax.set_title(f"n = {A.shape[0]}: largest error {np.max(np.abs(err)):.3f}")
    ax.legend(loc="upper left", fontsize=8)
    return fig
