"""Feature maps whose inner products approach e^{q·k}, and the kernels they give (chapter 4).

The chapter's three families (Su Jianlin, kexue.fm/archives/8601):

* Performer's positive random features, φ(x)_i = e^{ω_i·x − ‖x‖²/2}/√M with ω_i ~ N(0, I_d);
* the Taylor series truncated at order p, φ(x) = (1, x, x^{⊗2}/√2!, …, x^{⊗p}/√p!), D = Σ_m d^m,
  or its compressed symmetric form with monomials x^α/√α!, D = C(d+p, p);
* the limit e^x = lim (1 + x/p)^p, φ(x) = ⊗^p (1, x/√p), D = (d+1)^p;

plus the d-dimensional elu + 1 map of ordinary linear attention. Feature maps refuse
(``ValueError``) to build a matrix with more than ``max_entries`` entries, and they check this
*before* allocating anything.
"""
from __future__ import annotations

import math
from itertools import combinations_with_replacement
from typing import Any

import numpy as np

from lib import checks

from .attention import linear_attention, _queries_and_keys

MAX_FEATURE_ENTRIES = 20_000_000  # N·D cap of a feature matrix: 160 MB in float64
KINDS = ("taylor", "taylor_sym", "expdef")
KERNELS = ("exact", "taylor", "taylor_sym", "expdef", "performer", "elu")


def _check_cap(n_rows: int, dim: int, what: str, max_entries: int) -> None:
    """Refuse a feature matrix of n_rows × dim entries above the cap, before it is allocated."""
    max_entries = checks.integer("max_entries", max_entries, at_least=1)
    if n_rows * dim > max_entries:
        raise ValueError(
            f"{what}: the feature matrix would be N × D = {n_rows:,} × {dim:,} = {n_rows * dim:,} entries "
            f"({n_rows * dim * 8 / 1e9:.3g} GB in float64), over max_entries = {max_entries:,}. "
            "Lower the order p, the head size d or the number of rows N (or raise max_entries if it fits)."
        )


def feature_dim(kind: str, d: int, p: int) -> int:
    """Return the feature dimension D of a deterministic map of order p on d-dimensional inputs.

    ``"taylor"``: Σ_{m=0}^p d^m (tensor powers); ``"taylor_sym"``: C(d+p, p) (one feature per
    monomial of degree ≤ p); ``"expdef"``: (d+1)^p. Exact Python integers (they can be huge).
    """
    checks.choice("kind", kind, KINDS)
    d = checks.integer("d", d, at_least=1)
    p = checks.integer("p", p, at_least=1 if kind == "expdef" else 0)
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
    X = checks.real_array("X", X, ndim=2)
    p = checks.integer("order", order, at_least=0)
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
    X = checks.real_array("X", X, ndim=2)
    p = checks.integer("p", p, at_least=1)
    n, d = X.shape
    _check_cap(n, feature_dim("expdef", d, p), f"expdef_feature_map(p={p}) with d = {d}", max_entries)
    lifted = np.hstack([np.ones((n, 1), dtype=X.dtype), X / np.sqrt(np.asarray(p, dtype=X.dtype))])  # (N, d+1)
    for m, power in enumerate(_tensor_powers(lifted, p)):
        if m == p:
            return power  # (N, (d+1)^p)
    raise AssertionError("unreachable")  # pragma: no cover


def sample_omegas(M: int, d: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Return M i.i.d. standard normal projection vectors ω_i ~ N(0, I_d), shape (M, d)."""
    M, d = checks.integer("M", M, at_least=1), checks.integer("d", d, at_least=1)
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
    X, omegas = checks.real_array("X", X, ndim=2), checks.real_array("omegas", omegas, ndim=2)
    if X.shape[1] != omegas.shape[1]:
        raise ValueError(f"X has d = {X.shape[1]} features but omegas has {omegas.shape[1]} columns")
    M = omegas.shape[0]
    log_features = X @ omegas.T.astype(X.dtype) - 0.5 * np.sum(X * X, axis=1, keepdims=True) - 0.5 * math.log(M)  # (N, M)
    return np.exp(log_features)


def elu_feature_map(X: Any) -> np.ndarray:
    """Return elu(x) + 1 elementwise, shape (N, d): the d-dimensional positive feature map of
    Katharopoulos et al. (2020), an ordinary linear attention whose attention matrix has rank ≤ d."""
    X = checks.real_array("X", X, ndim=2)
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
        Q, K = _queries_and_keys(Q, K)
        return np.exp(Q @ K.T)
    return feature_map(kind, Q, p, omegas, max_entries) @ feature_map(kind, K, p, omegas, max_entries).T


def approximate_attention(kind: str, Q: Any, K: Any, V: Any, p: int | None = None, omegas: Any = None,
                          check_positive: bool = True, max_entries: int = MAX_FEATURE_ENTRIES) -> np.ndarray:
    """Return linear attention with the features of ``kind`` (see :func:`feature_map`), shape (N_q, d_v)."""
    return linear_attention(feature_map(kind, Q, p, omegas, max_entries), feature_map(kind, K, p, omegas, max_entries),
                            V, check_positive=check_positive)
