"""Monte Carlo samples of the quantities the proof bounds, and test points (chapter 7).

Chapter 7 (after Su Jianlin, kexue.fm/archives/8679): the squared norm of one projected vector
(step 1 of the proof, ``chi2_n / n``), the inner product of two independent Gaussian vectors (the
orthogonality lemma, §3), and unit vectors with widely spread inner products for the
inner-product version of the lemma (§5). Each takes a ``seed`` (an integer or a Generator).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from lib import checks
from lib.jl._checks import _rng



def projected_norm_ratios(x, n: int, draws: int, seed=None, chunk: int = 2000) -> np.ndarray:
    """``||A x||^2 / ||x||^2`` for ``draws`` independent ``N(0, 1/n)`` matrices ``A`` (n, m): (draws,).

    Step 1 of the proof in chapter 7: ``A x / ||x||`` is a vector of ``n`` i.i.d. ``N(0, 1/n)``
    entries, so these ratios are ``chi2_n / n`` distributed (mean 1, variance 2/n) whatever ``x``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)) or not np.any(x):
        raise ValueError(f"x must be a finite non-zero 1-D vector, got shape {x.shape}")
    n = checks.integer("n", n, at_least=1)
    draws = checks.integer("draws", draws, at_least=1)
    chunk = checks.integer("chunk", chunk, at_least=1)
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
    n = checks.integer("n", n, at_least=1)
    pairs = checks.integer("pairs", pairs, at_least=1)
    chunk = checks.integer("chunk", chunk, at_least=1)
    rng = _rng(seed)
    out = np.empty(pairs)
    for start in range(0, pairs, chunk):
        size = min(chunk, pairs - start)
        u, v = rng.standard_normal((2, size, n))  # (size, n) each
        out[start:start + size] = np.einsum("ij,ij->i", u, v) / n
    return out


def correlated_unit_vectors(N: int, m: int, rank: int = 3, noise: float = 0.6, seed=None) -> np.ndarray:
    """``N`` unit vectors in ``R^m`` (N, m) whose inner products spread over a wide range.

    Each row is ``normalise(c_i W + noise * g_i)`` with ``c_i`` (rank,) and ``W`` (rank, m)/sqrt(m)
    standard Gaussian: a shared low-rank part makes some pairs strongly (anti-)correlated, unlike
    independent Gaussian directions, which are all nearly orthogonal when ``m`` is large.
    """
    N = checks.integer("N", N, at_least=2)
    m = checks.integer("m", m, at_least=1)
    rank = checks.integer("rank", rank, at_least=1)
    if not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise!r} must be a non-negative finite number")
    rng = _rng(seed)
    V = rng.standard_normal((N, rank)) @ rng.standard_normal((rank, m)) / math.sqrt(m)  # (N, m)
    V += noise * rng.standard_normal((N, m)) / math.sqrt(m)
    return V / np.linalg.norm(V, axis=1, keepdims=True)
