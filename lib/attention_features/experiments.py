"""Ranks, costs and the sweeps of chapter 4.

How far each feature map of :mod:`lib.attention_features.feature_maps` is from exact softmax
attention as the feature dimension D grows, how the rank of the kernel matrices compares, and
when D features are cheaper than the N × N attention matrix (Su Jianlin, kexue.fm/archives/8601).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from lib import checks

from .attention import linear_attention, make_qkv, relative_error, softmax_attention
from .feature_maps import approximate_attention, feature_dim, feature_map, kernel_matrix, sample_omegas


# ---------------------------------------------------------------- rank and cost


def singular_values(A: Any) -> np.ndarray:
    """Return the singular values of a matrix, largest first."""
    return np.linalg.svd(checks.real_array("A", A, ndim=2), compute_uv=False)


def numerical_rank(A: Any, rtol: float = 1e-10) -> int:
    """Return the number of singular values above rtol·σ_1."""
    if not 0 < rtol < 1:
        raise ValueError(f"rtol={rtol!r} must lie in (0, 1)")
    s = singular_values(A)
    return int(np.sum(s > rtol * s[0]))


def attention_flops(N: int, d: int, d_v: int, D: int) -> dict[str, int]:
    """Return leading-order multiply-adds: standard N²(d + d_v) (QKᵀ and AV) and feature-based
    linear attention 2·N·D·d_v (φ(K)ᵀV and φ(Q) times it); normalisers and exp are not counted."""
    N, d, d_v, D = (checks.integer(n, v, at_least=1) for v, n in ((N, "N"), (d, "d"), (d_v, "d_v"), (D, "D")))
    return {"standard": N * N * (d + d_v), "linear": 2 * N * D * d_v}


def crossover_length(d: int, d_v: int, D: int) -> float:
    """Return the sequence length above which linear attention with D features costs fewer
    multiply-adds than standard attention: N > 2·D·d_v/(d + d_v) (= D when d_v = d)."""
    d, d_v, D = (checks.integer(n, v, at_least=1) for v, n in ((d, "d"), (d_v, "d_v"), (D, "D")))
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

