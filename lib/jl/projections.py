"""Random Gaussian projections and the distortions they cause (chapter 7, the Johnson–Lindenstrauss lemma).

Chapter 7 (after Su Jianlin, kexue.fm/archives/8679): ``N`` points ``v_1, ..., v_N`` in ``R^m``
(the rows of ``X``, shape (N, m)) are mapped to ``R^n`` by ``v -> A v`` with ``A`` (n, m) of
i.i.d. ``N(0, 1/n)`` entries. The lemma is about the ratios of squared distances after and before
(§4) and, for unit vectors, the errors in inner products (§5). :func:`span_coordinates` is the
shortcut that makes the experiments cost nothing that grows with ``m``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from lib import checks
from lib.jl._checks import _check_points, _rng


def _gaussian_matrix(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """An (n, k) matrix of i.i.d. ``N(0, 1/n)`` entries drawn from ``rng``."""
    return rng.standard_normal((n, k)) / math.sqrt(n)  # (n, k)


def gaussian_projection(n: int, m: int, seed=None, dtype=np.float64) -> np.ndarray:
    """A random projection ``A`` of shape (n, m) with i.i.d. ``N(0, 1/n)`` entries (chapter 7, §4).

    ``n`` is the target dimension, ``m`` the original one; the variance is ``1/n`` so that
    ``E ||A x||^2 = ||x||^2``. Warns (does not fail) when ``n >= m``: that is no reduction.
    """
    n = checks.integer("n", n, at_least=1)
    m = checks.integer("m", m, at_least=1)
    if n >= m:
        warnings.warn(f"gaussian_projection: n={n} >= m={m}, so this projection does not reduce the dimension",
                      stacklevel=2)
    return _gaussian_matrix(_rng(seed), n, m).astype(dtype, copy=False)  # (n, m)


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
    checks.choice("on_duplicate", on_duplicate, ("raise", "skip"))
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
