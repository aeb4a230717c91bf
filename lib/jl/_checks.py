"""Argument checks shared by the chapter 7 modules (the Johnson–Lindenstrauss lemma).

Each returns the value in the form the caller computes with, or raises ``TypeError`` /
``ValueError`` naming the argument, its value and what is allowed. Integers are checked with
:func:`lib.checks.integer`; the checks here accept or refuse other values than :mod:`lib.checks`
would (``_check_eps`` takes any ``numbers.Real``, ``fractions.Fraction`` included;
``_check_probability`` raises ``ValueError`` for a wrong type) or have no counterpart there.
"""
from __future__ import annotations

import math
import numbers

import numpy as np


def _check_eps(eps) -> float:
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps={eps!r} must be a real number in the open interval (0, 1)")
    eps = float(eps)
    if not (math.isfinite(eps) and 0.0 < eps < 1.0):
        raise ValueError(f"eps={eps!r} must be a finite number in the open interval (0, 1)")
    return eps


def _check_probability(name: str, value) -> None:
    """A success probability in (0, 1] (the ``target`` of the minimal-dimension experiments)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(f"{name}={value!r} must be a success probability in (0, 1]")


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
    """``x`` as a float when the checked input ``like`` was a scalar, else as the array."""
    return float(x) if like.ndim == 0 else x


def _check_points(name: str, X, min_rows: int = 1) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < min_rows or X.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array (points, dimension) with at least {min_rows} rows, "
                         f"got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return X


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, (bool, np.bool_)) or not (seed is None or isinstance(seed, (numbers.Integral, np.random.Generator))):
        raise TypeError(f"seed={seed!r} must be None, a non-negative integer or a numpy Generator")
    return np.random.default_rng(seed)
