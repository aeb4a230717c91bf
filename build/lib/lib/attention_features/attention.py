"""Exact softmax attention and linear attention in its linear-cost order (chapter 4).

Chapter 4 (``book/04-infinite-linear-attention.ipynb``, after Su Jianlin, kexue.fm/archives/8601)
compares softmax attention, whose weights come from the kernel e^{q·k}, with linear attention,
whose weights come from an inner product of feature maps φ(q)·φ(k). This module holds the two
attention computations, the error measure used to compare them and the random inputs of the
chapter. Shapes: Q is (N_q, d), K is (N_k, d), V is (N_k, d_v); feature matrices are (N, D).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from lib import checks


def _queries_and_keys(Q: Any, K: Any) -> tuple[np.ndarray, np.ndarray]:
    """Q and K as finite 2-D floating arrays with the same number of features d (else ``ValueError``)."""
    Q, K = checks.real_array("Q", Q, ndim=2), checks.real_array("K", K, ndim=2)
    if Q.shape[1] != K.shape[1]:
        raise ValueError(f"Q has d = {Q.shape[1]} features but K has {K.shape[1]}; they must match")
    return Q, K


def attention_weights(Q: Any, K: Any, scale: float = 1.0) -> np.ndarray:
    """Return the softmax attention matrix a_ij = e^{s q_i·k_j} / Σ_j e^{s q_i·k_j}, shape (N_q, N_k).

    Computed with the row maximum subtracted (the ratio is unchanged, exp cannot overflow).
    """
    Q, K = _queries_and_keys(Q, K)
    s = float(scale)
    if not np.isfinite(s):
        raise ValueError(f"scale={scale!r} must be finite")
    logits = s * (Q @ K.T)  # (N_q, N_k)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def softmax_attention(Q: Any, K: Any, V: Any, scale: float = 1.0) -> np.ndarray:
    """Return exact softmax attention Σ_j a_ij v_j, shape (N_q, d_v); a_ij as in :func:`attention_weights`."""
    V = checks.real_array("V", V, ndim=2)
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
    phi_q, phi_k = checks.real_array("phi_q", phi_q, ndim=2), checks.real_array("phi_k", phi_k, ndim=2)
    V = checks.real_array("V", V, ndim=2)
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
    N, d = checks.integer("N", N, at_least=1), checks.integer("d", d, at_least=1)
    d_v = d if d_v is None else checks.integer("d_v", d_v, at_least=1)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale={scale!r} (the std of q·k) must be a positive finite number")
    rng = np.random.default_rng(seed)
    std = math.sqrt(scale) / d**0.25
    Q = rng.standard_normal((N, d)) * std  # (N, d)
    K = rng.standard_normal((N, d)) * std  # (N, d)
    V = rng.standard_normal((N, d_v))  # (N, d_v)
    return Q, K, V
