"""Standard attention as an infinite-dimensional linear attention (chapter 4).

Softmax attention weighs key j for query i by the kernel e^{q_i·k_j}. Linear attention replaces
the kernel by an inner product of feature maps, φ(q)·φ(k), which lets the key/value summary
Σ_j φ(k_j) v_jᵀ be computed once, so the cost is linear in the sequence length N. Any family of
maps with φ(q)·φ(k) → e^{q·k} as the feature dimension D grows shows that standard attention *is*
a linear attention with infinitely many features. This module implements the three families of
the chapter (after Su Jianlin, kexue.fm/archives/8601):

* Performer's positive random features, φ(x)_i = e^{ω_i·x − ‖x‖²/2}/√M with ω_i ~ N(0, I_d);
* the Taylor series truncated at order p, φ(x) = (1, x, x^{⊗2}/√2!, …, x^{⊗p}/√p!), D = Σ_m d^m,
  or its compressed symmetric form with monomials x^α/√α!, D = C(d+p, p);
* the limit e^x = lim (1 + x/p)^p, φ(x) = ⊗^p (1, x/√p), D = (d+1)^p;

plus exact softmax attention, linear attention in its linear-cost order, the scalar
approximations of e^x, ranks and singular values, cost counts, and the chapter's figures.

Shapes: Q is (N_q, d), K is (N_k, d), V is (N_k, d_v); feature matrices are (N, D).
Feature maps refuse (``ValueError``) to build a matrix with more than ``max_entries`` entries,
and they check this *before* allocating anything.
"""
from __future__ import annotations

import math
from itertools import combinations_with_replacement
from typing import Any

import numpy as np

MAX_FEATURE_ENTRIES = 20_000_000  # N·D cap of a feature matrix: 160 MB in float64
KINDS = ("taylor", "taylor_sym", "expdef")
KERNELS = ("exact", "taylor", "taylor_sym", "expdef", "performer", "elu")


# ---------------------------------------------------------------- argument checks


def _check_matrix(X: Any, name: str) -> np.ndarray:
    """Return X as a finite 2-D floating array (float32 stays float32, integers become float64)."""
    arr = np.asarray(X)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array (rows, features), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or infinite entries")
    return arr


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}={value} must be an integer of at least {minimum}")
    return int(value)


def _check_cap(n_rows: int, dim: int, what: str, max_entries: int) -> None:
    """Refuse a feature matrix of n_rows × dim entries above the cap, before it is allocated."""
    max_entries = _check_int(max_entries, "max_entries", 1)
    if n_rows * dim > max_entries:
        raise ValueError(
            f"{what}: the feature matrix would be N × D = {n_rows:,} × {dim:,} = {n_rows * dim:,} entries "
            f"({n_rows * dim * 8 / 1e9:.3g} GB in float64), over max_entries = {max_entries:,}. "
            "Lower the order p, the head size d or the number of rows N (or raise max_entries if it fits)."
        )


# ---------------------------------------------------------------- exact and linear attention


def attention_weights(Q: Any, K: Any, scale: float = 1.0) -> np.ndarray:
    """Return the softmax attention matrix a_ij = e^{s q_i·k_j} / Σ_j e^{s q_i·k_j}, shape (N_q, N_k).

    Computed with the row maximum subtracted (the ratio is unchanged, exp cannot overflow).
    """
    Q, K = _check_matrix(Q, "Q"), _check_matrix(K, "K")
    if Q.shape[1] != K.shape[1]:
        raise ValueError(f"Q has d = {Q.shape[1]} features but K has {K.shape[1]}; they must match")
    s = float(scale)
    if not np.isfinite(s):
        raise ValueError(f"scale={scale!r} must be finite")
    logits = s * (Q @ K.T)  # (N_q, N_k)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def softmax_attention(Q: Any, K: Any, V: Any, scale: float = 1.0) -> np.ndarray:
    """Return exact softmax attention Σ_j a_ij v_j, shape (N_q, d_v); a_ij as in :func:`attention_weights`."""
    V = _check_matrix(V, "V")
    K_rows = np.shape(K)[0] if np.ndim(K) == 2 else None
    if K_rows is not None and K_rows != V.shape[0]:
        raise ValueError(f"K has N_k = {K_rows} rows but V has {V.shape[0]}; every key needs a value")
    return attention_weights(Q, K, scale) @ V  # (N_q, d_v)


def linear_attention(phi_q: Any, phi_k: Any, V: Any, eps: float = 0.0, check_positive: bool = True) -> np.ndarray:
    """Return linear attention φ(Q)(φ(K)ᵀV) / φ(Q)(φ(K)ᵀ1), shape (N_q, d_v), in linear-cost order.

    The key/value summary φ(K)ᵀV (D × d_v) and the normaliser φ(K)ᵀ1 (D) are formed once, so the
    cost is O(N·D·d_v) and the N_q × N_k matrix is never built. A non-positive denominator means
    the "weights" of that row are not a weighted average (odd-order Taylor features can do this):
    with ``check_positive`` it raises ``ValueError`` naming the rows; otherwise the raw ratio is
    returned.
    """
    phi_q, phi_k, V = _check_matrix(phi_q, "phi_q"), _check_matrix(phi_k, "phi_k"), _check_matrix(V, "V")
    if phi_q.shape[1] != phi_k.shape[1]:
        raise ValueError(f"phi_q has D = {phi_q.shape[1]} features but phi_k has {phi_k.shape[1]}")
    if phi_k.shape[0] != V.shape[0]:
        raise ValueError(f"phi_k has N_k = {phi_k.shape[0]} rows but V has {V.shape[0]}")
    summary = phi_k.T @ V  # (D, d_v)
    normaliser = phi_k.sum(axis=0)  # (D,)
    numerator = phi_q @ summary  # (N_q, d_v)
    denominator = phi_q @ normaliser + eps  # (N_q,)
    if check_positive and np.any(denominator <= 0):
        bad = np.flatnonzero(denominator <= 0)
        raise ValueError(
            f"linear attention has a non-positive denominator in {bad.size} of {denominator.size} query rows "
            f"(rows {bad[:8].tolist()}{' …' if bad.size > 8 else ''}, smallest {denominator.min():.3g}): the "
            "kernel is not positive there (odd-order Taylor features can do this); pass check_positive=False "
            "to get the raw ratio"
        )
    return numerator / denominator[:, None]


# ---------------------------------------------------------------- feature maps


def feature_dim(kind: str, d: int, p: int) -> int:
    """Return the feature dimension D of a deterministic map of order p on d-dimensional inputs.

    ``"taylor"``: Σ_{m=0}^p d^m (tensor powers); ``"taylor_sym"``: C(d+p, p) (one feature per
    monomial of degree ≤ p); ``"expdef"``: (d+1)^p. Exact Python integers (they can be huge).
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {KINDS}")
    d = _check_int(d, "d", 1)
    p = _check_int(p, "p", 1 if kind == "expdef" else 0)
    if kind == "taylor":
        return sum(d**m for m in range(p + 1))
    if kind == "taylor_sym":
        return math.comb(d + p, p)
    return (d + 1) ** p


def _tensor_powers(X: np.ndarray, order: int):
    """Yield x^{⊗m} flattened, m = 0..order, each (N, d^m), indices in lexicographic order."""
    power = np.ones((X.shape[0], 1), dtype=X.dtype)  # (N, 1)
    yield power
    for _ in range(order):
        power = (power[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)  # (N, d^m)
        yield power


def taylor_feature_map(X: Any, order: int, symmetric: bool = False, max_entries: int = MAX_FEATURE_ENTRIES) -> np.ndarray:
    """Return Taylor features φ(x) with φ(q)·φ(k) = Σ_{m=0}^{p} (q·k)^m / m!, shape (N, D).

    Full form (chapter 4, eq. "Taylor"): blocks x^{⊗m}/√m! for m = 0..p, D = Σ d^m.
    ``symmetric=True``: the repeated entries of x^{⊗m} are merged into one feature per multi-index
    α (|α| = m), x^α/√α!; the multinomial theorem gives the same kernel with D = C(d+p, p).
    ``order`` (p) is an integer ≥ 0; p = 0 gives the constant kernel 1 (uniform attention).
    """
    X = _check_matrix(X, "X")
    p = _check_int(order, "order", 0)
    n, d = X.shape
    dim = feature_dim("taylor_sym" if symmetric else "taylor", d, p)
    _check_cap(n, dim, f"taylor_feature_map(order={p}, symmetric={symmetric}) with d = {d}", max_entries)
    out = np.empty((n, dim), dtype=X.dtype)  # (N, D)
    start = 0
    if not symmetric:
        for m, power in enumerate(_tensor_powers(X, p)):
            out[:, start : start + power.shape[1]] = power / math.sqrt(math.factorial(m))
            start += power.shape[1]
        return out
    for m in range(p + 1):
        tuples = list(combinations_with_replacement(range(d), m))
        index = np.array(tuples, dtype=np.intp).reshape(len(tuples), m)  # (C, m)
        block = np.ones((n, index.shape[0]), dtype=X.dtype)  # (N, C)
        # α! = Π_j (count of j)!: along a sorted index tuple, multiply the position within each run.
        run = np.ones(index.shape[0], dtype=np.int64)
        alpha_factorial = np.ones(index.shape[0], dtype=np.float64)
        for col in range(m):
            block *= X[:, index[:, col]]
            if col:
                run = np.where(index[:, col] == index[:, col - 1], run + 1, 1)
            alpha_factorial *= run
        out[:, start : start + block.shape[1]] = block / np.sqrt(alpha_factorial).astype(X.dtype)
        start += block.shape[1]
    return out


def expdef_feature_map(X: Any, p: int, max_entries: int = MAX_FEATURE_ENTRIES) -> np.ndarray:
    """Return φ(x) = ⊗^p (1, x/√p), shape (N, (d+1)^p), so that φ(q)·φ(k) = (1 + q·k/p)^p.

    The chapter's second deterministic construction, from e^x = lim_{p→∞} (1 + x/p)^p.
    ``p`` is an integer ≥ 1.
    """
    X = _check_matrix(X, "X")
    p = _check_int(p, "p", 1)
    n, d = X.shape
    _check_cap(n, feature_dim("expdef", d, p), f"expdef_feature_map(p={p}) with d = {d}", max_entries)
    lifted = np.hstack([np.ones((n, 1), dtype=X.dtype), X / np.sqrt(np.asarray(p, dtype=X.dtype))])  # (N, d+1)
    for m, power in enumerate(_tensor_powers(lifted, p)):
        if m == p:
            return power  # (N, (d+1)^p)
    raise AssertionError("unreachable")  # pragma: no cover


def sample_omegas(M: int, d: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Return M i.i.d. standard normal projection vectors ω_i ~ N(0, I_d), shape (M, d)."""
    M, d = _check_int(M, "M", 1), _check_int(d, "d", 1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.standard_normal((M, d))


def performer_feature_map(X: Any, omegas: Any, max_entries: int = MAX_FEATURE_ENTRIES) -> np.ndarray:
    """Return Performer's positive random features e^{ω_i·x − ‖x‖²/2}/√M, shape (N, M).

    E_ω[φ(q)·φ(k)] = e^{q·k} (Gaussian integral, chapter 4); the estimate uses the M rows of
    ``omegas`` (shape (M, d)). The exponent is formed in log space, but for large ‖x‖ the features
    still span many orders of magnitude and the estimate becomes useless (its relative variance is
    e^{‖q+k‖²} − 1 per sample).
    """
    if np.ndim(X) == 2 and np.ndim(omegas) == 2:  # refuse an oversized result before any work
        _check_cap(np.shape(X)[0], np.shape(omegas)[0], f"performer_feature_map(M={np.shape(omegas)[0]})", max_entries)
    X, omegas = _check_matrix(X, "X"), _check_matrix(omegas, "omegas")
    if X.shape[1] != omegas.shape[1]:
        raise ValueError(f"X has d = {X.shape[1]} features but omegas has {omegas.shape[1]} columns")
    M = omegas.shape[0]
    log_features = X @ omegas.T.astype(X.dtype) - 0.5 * np.sum(X * X, axis=1, keepdims=True) - 0.5 * math.log(M)  # (N, M)
    return np.exp(log_features)


def elu_feature_map(X: Any) -> np.ndarray:
    """Return elu(x) + 1 elementwise, shape (N, d): the d-dimensional positive feature map of
    Katharopoulos et al. (2020), an ordinary linear attention whose attention matrix has rank ≤ d."""
    X = _check_matrix(X, "X")
    return np.where(X > 0, X + 1, np.exp(np.minimum(X, 0)))


def feature_map(kind: str, X: Any, p: int | None = None, omegas: Any = None, max_entries: int = MAX_FEATURE_ENTRIES) -> np.ndarray:
    """Dispatch to one feature map: ``kind`` in ("taylor", "taylor_sym", "expdef", "performer", "elu")."""
    if kind == "taylor" or kind == "taylor_sym":
        if p is None:
            raise ValueError(f"kind={kind!r} needs the order p")
        return taylor_feature_map(X, p, symmetric=kind == "taylor_sym", max_entries=max_entries)
    if kind == "expdef":
        if p is None:
            raise ValueError("kind='expdef' needs the exponent p")
        return expdef_feature_map(X, p, max_entries=max_entries)
    if kind == "performer":
        if omegas is None:
            raise ValueError("kind='performer' needs omegas (see sample_omegas)")
        return performer_feature_map(X, omegas, max_entries=max_entries)
    if kind == "elu":
        return elu_feature_map(X)
    raise ValueError(f"kind={kind!r} is not one of {KERNELS[1:]}")


def kernel_matrix(kind: str, Q: Any, K: Any, p: int | None = None, omegas: Any = None, max_entries: int = MAX_FEATURE_ENTRIES) -> np.ndarray:
    """Return the (N_q, N_k) kernel φ(Q)φ(K)ᵀ, or e^{QKᵀ} for ``kind="exact"`` (small N only)."""
    if kind == "exact":
        Q, K = _check_matrix(Q, "Q"), _check_matrix(K, "K")
        if Q.shape[1] != K.shape[1]:
            raise ValueError(f"Q has d = {Q.shape[1]} features but K has {K.shape[1]}; they must match")
        return np.exp(Q @ K.T)
    return feature_map(kind, Q, p, omegas, max_entries) @ feature_map(kind, K, p, omegas, max_entries).T


def approximate_attention(kind: str, Q: Any, K: Any, V: Any, p: int | None = None, omegas: Any = None,
                          check_positive: bool = True, max_entries: int = MAX_FEATURE_ENTRIES) -> np.ndarray:
    """Return linear attention with the features of ``kind`` (see :func:`feature_map`), shape (N_q, d_v)."""
    return linear_attention(feature_map(kind, Q, p, omegas, max_entries), feature_map(kind, K, p, omegas, max_entries),
                            V, check_positive=check_positive)


def relative_error(approx: Any, exact: Any) -> float:
    """Return the relative Frobenius error ‖approx − exact‖ / ‖exact‖."""
    a, e = np.asarray(approx, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    if a.shape != e.shape:
        raise ValueError(f"approx has shape {a.shape} but exact has {e.shape}")
    return float(np.linalg.norm(a - e) / np.linalg.norm(e))


def make_qkv(N: int, d: int, scale: float = 1.0, d_v: int | None = None, seed: int = 0):
    """Return random (Q, K, V) with Q, K of shape (N, d), V of shape (N, d_v or d).

    Entries of Q and K are N(0, √scale / d^{1/4}) so that q·k has standard deviation ``scale``
    (the digest's q, k ~ N(0, I/√d) when scale = 1); V is standard normal.
    """
    N, d = _check_int(N, "N", 1), _check_int(d, "d", 1)
    d_v = d if d_v is None else _check_int(d_v, "d_v", 1)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale={scale!r} (the std of q·k) must be a positive finite number")
    rng = np.random.default_rng(seed)
    std = math.sqrt(scale) / d**0.25
    Q = rng.standard_normal((N, d)) * std  # (N, d)
    K = rng.standard_normal((N, d)) * std  # (N, d)
    V = rng.standard_normal((N, d_v))  # (N, d_v)
    return Q, K, V


# ---------------------------------------------------------------- scalar approximations of e^x


def taylor_exp(x: Any, p: int) -> np.ndarray:
    """Return T_p(x) = Σ_{m=0}^{p} x^m / m!, the Taylor polynomial of e^x of degree p ≥ 0."""
    p = _check_int(p, "p", 0)
    x = np.asarray(x, dtype=np.float64)
    total, term = np.ones_like(x), np.ones_like(x)
    for m in range(1, p + 1):
        term = term * x / m
        total = total + term
    return total


def expdef_exp(x: Any, p: int) -> np.ndarray:
    """Return (1 + x/p)^p, the approximation of e^x from its definition as a limit; p ≥ 1."""
    p = _check_int(p, "p", 1)
    return (1.0 + np.asarray(x, dtype=np.float64) / p) ** p


def scalar_relative_error(kind: str, x: Any, p: int) -> np.ndarray:
    """Return |e^x − f_p(x)| / e^x for f_p = T_p (``kind="taylor"``) or (1 + x/p)^p (``"expdef"``)."""
    if kind not in ("taylor", "expdef"):
        raise ValueError(f"kind={kind!r} must be 'taylor' or 'expdef'")
    x = np.asarray(x, dtype=np.float64)
    approx = taylor_exp(x, p) if kind == "taylor" else expdef_exp(x, p)
    return np.abs(np.exp(x) - approx) / np.exp(x)


def taylor_remainder_bound(x: Any, p: int) -> np.ndarray:
    """Return a bound on the relative error |e^x − T_p(x)| / e^x (Lagrange remainder).

    For x ≥ 0 the remainder is e^ξ x^{p+1}/(p+1)! with ξ ≤ x, so the relative error is at most
    x^{p+1}/(p+1)!. For x < 0, e^ξ ≤ 1 gives the weaker e^{|x|} |x|^{p+1}/(p+1)!.
    """
    p = _check_int(p, "p", 0)
    x = np.asarray(x, dtype=np.float64)
    base = np.abs(x) ** (p + 1) / math.factorial(p + 1)
    return np.where(x >= 0, base, base * np.exp(np.abs(x)))


def performer_relative_std(q: Any, k: Any, M: int) -> float:
    """Return √((e^{‖q+k‖²} − 1) / M), the relative standard deviation of Performer's M-feature
    estimate of e^{q·k} (one sample X = e^{ω·(q+k) − ‖q‖²/2 − ‖k‖²/2} has E X² = e^{2‖q+k‖² − ‖q‖² − ‖k‖²})."""
    q, k = np.asarray(q, dtype=np.float64), np.asarray(k, dtype=np.float64)
    if q.shape != k.shape or q.ndim != 1:
        raise ValueError(f"q and k must be vectors of the same length, got shapes {q.shape} and {k.shape}")
    M = _check_int(M, "M", 1)
    return math.sqrt(math.expm1(float(np.sum((q + k) ** 2))) / M)


def performer_estimates(q: Any, k: Any, M: int, n_draws: int, seed: int = 0) -> np.ndarray:
    """Return ``n_draws`` independent M-feature Performer estimates of e^{q·k}, shape (n_draws,)."""
    q, k = np.asarray(q, dtype=np.float64), np.asarray(k, dtype=np.float64)
    if q.shape != k.shape or q.ndim != 1:
        raise ValueError(f"q and k must be vectors of the same length, got shapes {q.shape} and {k.shape}")
    M, n_draws = _check_int(M, "M", 1), _check_int(n_draws, "n_draws", 1)
    _check_cap(n_draws, M * q.size, f"performer_estimates(M={M}, n_draws={n_draws})", MAX_FEATURE_ENTRIES)
    rng = np.random.default_rng(seed)
    omegas = rng.standard_normal((n_draws, M, q.size))  # (draws, M, d)
    log_x = omegas @ (q + k) - 0.5 * (q @ q + k @ k)  # (draws, M)
    return np.exp(log_x).mean(axis=1)


# ---------------------------------------------------------------- rank, cost


def singular_values(A: Any) -> np.ndarray:
    """Return the singular values of a matrix, largest first."""
    return np.linalg.svd(_check_matrix(A, "A"), compute_uv=False)


def numerical_rank(A: Any, rtol: float = 1e-10) -> int:
    """Return the number of singular values above rtol·σ_1."""
    if not 0 < rtol < 1:
        raise ValueError(f"rtol={rtol!r} must lie in (0, 1)")
    s = singular_values(A)
    return int(np.sum(s > rtol * s[0]))


def attention_flops(N: int, d: int, d_v: int, D: int) -> dict[str, int]:
    """Return leading-order multiply-adds: standard N²(d + d_v) (QKᵀ and AV) and feature-based
    linear attention 2·N·D·d_v (φ(K)ᵀV and φ(Q) times it); normalisers and exp are not counted."""
    N, d, d_v, D = (_check_int(v, n, 1) for v, n in ((N, "N"), (d, "d"), (d_v, "d_v"), (D, "D")))
    return {"standard": N * N * (d + d_v), "linear": 2 * N * D * d_v}


def crossover_length(d: int, d_v: int, D: int) -> float:
    """Return the sequence length above which linear attention with D features costs fewer
    multiply-adds than standard attention: N > 2·D·d_v/(d + d_v) (= D when d_v = d)."""
    d, d_v, D = _check_int(d, "d", 1), _check_int(d_v, "d_v", 1), _check_int(D, "D", 1)
    return 2 * D * d_v / (d + d_v)


# ---------------------------------------------------------------- experiments


def approximation_sweep(N: int = 64, d: int = 4, scale: float = 1.0, seed: int = 0,
                        taylor_orders=(1, 2, 3, 4), expdef_orders=(1, 2, 3, 4, 6, 8),
                        performer_dims=None, n_draws: int = 10, max_dim: int = 100_000) -> list[dict]:
    """Attention-output error of each construction against exact softmax attention.

    Returns records ``{"method", "p", "D", "error", "error_std"}`` where error is the relative
    Frobenius error of the output (``error_std`` the spread over Performer draws, else 0).
    Methods: "taylor", "taylor_sym" (same kernel, fewer features), "expdef", "performer"
    (M = each of ``performer_dims``, default: the Taylor dimensions). Orders whose D exceeds
    ``max_dim`` are skipped. Odd Taylor orders may have non-positive denominators; their error is
    still reported (``check_positive=False``) and ``"positive"`` says whether every row was positive.
    """
    Q, K, V = make_qkv(N, d, scale, seed=seed)
    exact = softmax_attention(Q, K, V)  # (N, d)
    records = []
    for kind, orders in (("taylor", taylor_orders), ("taylor_sym", taylor_orders), ("expdef", expdef_orders)):
        for p in orders:
            D = feature_dim(kind, d, p)
            if D > max_dim:
                continue
            fq, fk = feature_map(kind, Q, p), feature_map(kind, K, p)
            positive = bool(np.all(fq @ fk.sum(axis=0) > 0))
            out = linear_attention(fq, fk, V, check_positive=False)
            records.append({"method": kind, "p": p, "D": D, "error": relative_error(out, exact), "error_std": 0.0, "positive": positive})
    if performer_dims is None:
        performer_dims = sorted({feature_dim("taylor", d, p) for p in taylor_orders if feature_dim("taylor", d, p) <= max_dim})
    rng = np.random.default_rng(seed + 1)
    for M in performer_dims:
        errors = []
        for _ in range(n_draws):
            omegas = sample_omegas(M, d, rng)
            errors.append(relative_error(approximate_attention("performer", Q, K, V, omegas=omegas), exact))
        records.append({"method": "performer", "p": None, "D": int(M), "error": float(np.mean(errors)),
                        "error_std": float(np.std(errors)), "positive": True})
    return records


def records_by(records: list[dict], method: str) -> dict:
    """Index the records of one method from :func:`approximation_sweep`: by order p, or by D for Performer."""
    key = "D" if method == "performer" else "p"
    return {r[key]: r for r in records if r["method"] == method}


def rank_study(N: int = 64, d: int = 4, orders=(1, 2, 3), scale: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Singular values of the N × N kernels: "exact" e^{QKᵀ}, "elu" (rank ≤ d) and "taylor p" per order."""
    Q, K, _ = make_qkv(N, d, scale, seed=seed)
    spectra = {"exact": singular_values(kernel_matrix("exact", Q, K)),
               "elu": singular_values(kernel_matrix("elu", Q, K))}
    for p in orders:
        spectra[f"taylor {p}"] = singular_values(kernel_matrix("taylor_sym", Q, K, p))
    return spectra


class Table:
    """A small table that shows as HTML in a notebook (and as Markdown text elsewhere)."""

    def __init__(self, header: list[str], rows: list[list[Any]], digits: int = 3):
        self.header = [str(h) for h in header]
        self.rows = [[self._cell(v, digits) for v in row] for row in rows]
        if any(len(row) != len(self.header) for row in self.rows):
            raise ValueError(f"every row must have {len(self.header)} cells, like the header")

    @staticmethod
    def _cell(v: Any, digits: int) -> str:
        if v is None:
            return "—"
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.{digits}g}"
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return f"{int(v):,}"
        return str(v)

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        return f"<table class='table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in self.rows])


# ---------------------------------------------------------------- figures


METHOD_STYLE = {  # colour and label of each construction, the same in every figure
    "exact": ("black", "exact $e^{x}$"),
    "taylor": ("blue", "Taylor, $\\sum d^m$ features"),
    "taylor_sym": ("sky", "Taylor, compressed $\\binom{d+p}{p}$"),
    "expdef": ("orange", "$(1+x/p)^p$, $(d+1)^p$ features"),
    "performer": ("green", "Performer, $M$ random features"),
    "elu": ("vermillion", "elu + 1, $d$ features"),
}


def _colour(method: str) -> str:
    from lib import style

    return style.PALETTE[METHOD_STYLE[method][0]]


def draw_exp_approximations(p: int, x_max: float = 4.0):
    """Left: e^x, T_p(x) and (1 + x/p)^p on [−x_max, x_max]; right: their relative errors (log)."""
    from lib import style

    x = np.linspace(-x_max, x_max, 401)
    exact = np.exp(x)
    fig, (ax, ax_err) = style.figure(1, 2, size="wide")
    ax.plot(x, exact, color=_colour("exact"), label="$e^x$")
    ax.plot(x, taylor_exp(x, p), color=_colour("taylor"), label=f"Taylor $T_{{{p}}}(x)$")
    ax.plot(x, expdef_exp(x, p), color=_colour("expdef"), ls="--", label=f"$(1+x/{p})^{{{p}}}$")
    ax.axhline(0, color=style.PALETTE["grey"], lw=0.8)
    ax.set_ylim(-0.25 * np.exp(x_max), 1.05 * np.exp(x_max))
    ax.set_xlabel("$x = q\\cdot k$")
    ax.set_title(f"approximations of $e^x$ of order p = {p}")
    ax.legend(loc="upper left")
    for kind, approx in (("taylor", taylor_exp(x, p)), ("expdef", expdef_exp(x, p))):
        ax_err.semilogy(x, np.maximum(np.abs(approx - exact) / exact, 1e-17), color=_colour(kind),
                        ls="-" if kind == "taylor" else "--")
        negative = approx < 0
        if negative.any():
            ax_err.plot(x[negative], np.full(negative.sum(), 1e3), "|", color=_colour(kind), ms=6)
    ax_err.set_ylim(1e-12, 1e4)
    ax_err.set_xlabel("$x$")
    ax_err.set_title("relative error (ticks at top: approximation < 0)")
    return fig


def draw_error_vs_order(xs=(1.0, 2.0, -2.0), orders=range(1, 17)):
    """Relative error of T_p(x) and (1+x/p)^p against p at a few x, with x^{p+1}/(p+1)! and x²/(2p) guides."""
    from lib import style

    orders = np.array(list(orders))
    fig, axes = style.figure(1, len(xs), size="wide", sharey=True)
    for ax, x in zip(np.atleast_1d(axes), xs):
        t = [abs(math.exp(x) - float(taylor_exp(x, p))) / math.exp(x) for p in orders]
        e = [abs(math.exp(x) - float(expdef_exp(x, p))) / math.exp(x) for p in orders]
        ax.semilogy(orders, np.maximum(t, 1e-17), "o-", color=_colour("taylor"), ms=3, label="Taylor $T_p$")
        ax.semilogy(orders, e, "s-", color=_colour("expdef"), ms=3, label="$(1+x/p)^p$")
        bound = [float(taylor_remainder_bound(x, p)) for p in orders]
        ax.semilogy(orders, bound, ":", color=_colour("taylor"), label="Lagrange bound")
        ax.semilogy(orders, x * x / (2 * orders), ":", color=_colour("expdef"), label="$x^2/(2p)$")
        ax.set_xlabel("order $p$")
        ax.set_title(f"$x = {x:g}$")
        ax.set_ylim(1e-14, 1e2)
    np.atleast_1d(axes)[0].set_ylabel("relative error")
    np.atleast_1d(axes)[0].legend(loc="lower left")
    return fig


def draw_error_vs_dimension(d: int, scale: float, N: int = 64, seed: int = 0, n_draws: int = 5, max_dim: int = 20_000):
    """Attention-output error against the feature dimension D for every construction (log-log).

    Taylor orders 1–8, (1 + x/p)^p for p in (1, 2, 3, 4, 6, 8), Performer with M = 4, 16, …, each
    kept while D ≤ ``max_dim``; Performer shows the mean ± std over ``n_draws`` draws of ω.
    """
    from lib import style

    performer_dims = [4**k for k in range(1, 9) if 4**k <= max_dim]
    records = approximation_sweep(N, d, scale, seed, taylor_orders=range(1, 9), expdef_orders=(1, 2, 3, 4, 6, 8),
                                  performer_dims=performer_dims, n_draws=n_draws, max_dim=max_dim)
    fig, ax = style.figure(size=(6.4, 4.0))
    for method in ("taylor", "taylor_sym", "expdef", "performer"):
        rows = [r for r in records if r["method"] == method]
        D = np.array([r["D"] for r in rows])
        err = np.array([r["error"] for r in rows])
        marker = {"taylor": "o-", "taylor_sym": "^-", "expdef": "s--", "performer": "d-"}[method]
        ax.loglog(D, err, marker, color=_colour(method), ms=4, label=METHOD_STYLE[method][1])
        if method == "performer":
            sd = np.array([r["error_std"] for r in rows])
            ax.fill_between(D, np.maximum(err - sd, 1e-6), err + sd, color=_colour(method), alpha=0.2, lw=0)
            continue
        for r in rows:
            if not r["positive"]:
                ax.plot(r["D"], r["error"], "x", color=style.PALETTE["vermillion"], ms=9, mew=2)
            if method != "taylor_sym":
                below = method == "expdef"
                ax.annotate(f"p={r['p']}", (r["D"], r["error"]), textcoords="offset points",
                            xytext=(2, -10 if below else 4), fontsize=7, color=_colour(method))
    ax.axvline(N, color=style.PALETTE["grey"], lw=1, ls=":")
    ax.text(N * 1.1, 10, f"D = N = {N}", color=style.PALETTE["grey"], fontsize=8, va="top")
    ax.set_xlim(2, 1.5 * max_dim)
    ax.set_ylim(1e-4, 20)
    ax.set_xlabel("feature dimension $D$ (Performer: $M$)")
    ax.set_ylabel("relative error of the output")
    ax.set_title(f"d = {d}, std(q·k) = {scale:g}, N = {N}  (red ×: a denominator ≤ 0)")
    ax.legend(loc="lower left", fontsize=8)
    return fig


def draw_singular_values(d: int, p: int, N: int = 64, scale: float = 1.0, seed: int = 0):
    """Singular values (σ_k/σ_1, log) of e^{QKᵀ}, the elu+1 kernel and the Taylor kernel of order p."""
    from lib import style

    spectra = rank_study(N, d, (p,), scale, seed)
    k = np.arange(1, N + 1)
    fig, ax = style.figure(size="single")
    for key, method, ls in (("exact", "exact", "-"), ("elu", "elu", "-"), (f"taylor {p}", "taylor", "--")):
        s = spectra[key]
        label = {"exact": "standard attention $e^{QK^T}$", "elu": f"linear attention, elu+1 ({d} features)",
                 "taylor": f"Taylor order {p} ({feature_dim('taylor_sym', d, p)} features)"}[method]
        ax.semilogy(k, np.maximum(s / s[0], 1e-18), ls, color=_colour(method), label=label)
    ax.axvline(d, color=_colour("elu"), lw=0.8, ls=":")
    bound = feature_dim("taylor_sym", d, p)
    if bound <= N:
        ax.axvline(bound, color=_colour("taylor"), lw=0.8, ls=":")
    ax.axhline(1e-10, color=style.PALETTE["grey"], lw=0.8)
    ax.text(N, 1e-10, "rank threshold 1e-10 ", ha="right", va="bottom", fontsize=7, color=style.PALETTE["grey"])
    ranks = {key: int(np.sum(s > 1e-10 * s[0])) for key, s in spectra.items()}
    ax.set_ylim(1e-17, 3)
    ax.set_xlabel("index $k$")
    ax.set_ylabel("$\\sigma_k / \\sigma_1$")
    ax.set_title(f"N = {N}, d = {d}: ranks {ranks['exact']} (exact), {ranks['elu']} (elu+1), "
                 f"{ranks[f'taylor {p}']} (Taylor p = {p})", fontsize=10)
    ax.legend(loc="upper right", bbox_to_anchor=(1, 0.38), fontsize=8)
    return fig


def draw_feature_dimension(d: int, N: int, orders=range(1, 9)):
    """Feature dimension D against order p for the three constructions, with the sequence length N."""
    from lib import style

    orders = list(orders)
    fig, ax = style.figure(size="single")
    for kind, marker in (("taylor", "o-"), ("taylor_sym", "^-"), ("expdef", "s--")):
        dims = [feature_dim(kind, d, p) for p in orders]
        ax.semilogy(orders, [float(v) for v in dims], marker, color=_colour(kind), ms=4, label=METHOD_STYLE[kind][1])
    ax.axhline(N, color=style.PALETTE["black"], lw=1.2, label=f"sequence length N = {N:,}: cheaper only below")
    ax.axhline(d, color=_colour("elu"), lw=1, ls=":", label=f"ordinary linear attention, D = d = {d}")
    ok = [p for p in orders if feature_dim("taylor_sym", d, p) <= N]
    best = max(ok) if ok else None
    ax.set_xlabel("order $p$")
    ax.set_ylabel("feature dimension $D$")
    ax.set_ylim(1, 1e20)
    ax.set_title(f"head size d = {d}: compressed Taylor fits under N up to p = {best}" if best
                 else f"head size d = {d}: even p = 1 gives more features than N")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def draw_performer_std(norms=(0.5, 1.0, 1.5), Ms=(16, 64, 256, 1024), d: int = 4, n_draws: int = 2000, seed: int = 0):
    """Measured relative std of Performer's estimate of e^{q·k} against M, with √((e^{‖q+k‖²}−1)/M)."""
    from lib import style

    fig, ax = style.figure(size="single")
    colours = [style.PALETTE[c] for c in ("blue", "orange", "vermillion", "green")]
    for i, r in enumerate(norms):
        q = np.zeros(d)
        q[0] = r / 2
        measured = [float(np.std(est) / math.exp(q @ q)) for est in
                    (performer_estimates(q, q, M, n_draws, seed + M) for M in Ms)]
        ax.loglog(Ms, measured, "o", color=colours[i % 4], label=f"measured, ‖q+k‖ = {r:g}")
        ax.loglog(Ms, [performer_relative_std(q, q, M) for M in Ms], "-", color=colours[i % 4], lw=1)
    ax.set_xlabel("number of random features $M$")
    ax.set_ylabel("relative std of the estimate")
    ax.set_title("Performer: measured (dots) vs $\\sqrt{(e^{\\|q+k\\|^2}-1)/M}$ (lines)")
    ax.legend(fontsize=8)
    return fig


def draw_attention_maps(N: int = 32, d: int = 4, p: int = 2, scale: float = 1.0, seed: int = 0):
    """Heat maps of exact softmax attention, Taylor order p and Performer with M = D features."""
    from lib import style

    Q, K, _ = make_qkv(N, d, scale, seed=seed)
    exact = attention_weights(Q, K)
    kt = kernel_matrix("taylor", Q, K, p)
    D = feature_dim("taylor", d, p)
    kp = kernel_matrix("performer", Q, K, omegas=sample_omegas(D, d, seed + 1))
    maps = [("exact softmax attention", exact), (f"Taylor p = {p} (D = {D})", kt / kt.sum(1, keepdims=True)),
            (f"Performer (M = {D})", kp / kp.sum(1, keepdims=True))]
    fig, axes = style.figure(1, 3, size="wide")
    vmax = float(exact.max())
    for ax, (title, A) in zip(axes, maps):
        im = ax.imshow(A, vmin=0, vmax=vmax, cmap="viridis")
        err = "" if A is exact else f"\nerror {relative_error(A, exact):.2f}"
        ax.set_title(title + err, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.colorbar(im, ax=axes, shrink=0.8, label="weight $a_{ij}$")
    return fig
