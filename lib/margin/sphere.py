"""Distances on the sphere and the chapter's triangle-inequality conditions (chapter 1).

Chapter 1 of the book, after Su Jianlin, "From the triangle inequality to margin softmax"
(kexue.fm/archives/8656), sections "Which similarity scores are distances?" and "Two triangle
inequalities give a margin":

* the cosine distance ``1 - cos`` breaks the triangle inequality; the chord
  ``||x/|x| - y/|y||| = sqrt(2 - 2 cos)`` (and so ``sqrt(1 - cos)``) keeps it;
* :func:`retrieval_condition` checks the two sufficient conditions (A) and (B) that turn
  "retrieval is right" into "each sample is nearer its own centre by a margin".

numpy throughout; :func:`cosine_matrix` also takes torch tensors (the training code uses it).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

SQRT_COS = "sqrt(1 - cos)"


def _vectors(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim < 1 or a.shape[-1] == 0:
        raise ValueError(f"{name} must be an array of vectors (last axis = coordinates), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    norms = np.linalg.norm(a, axis=-1)
    if np.any(norms == 0):
        raise ValueError(f"{name} contains a zero vector, whose direction (and cosine) is undefined")
    return a


def unit_vectors(angles_deg) -> np.ndarray:
    """Unit vectors in the plane at the given angles in degrees: shape ``(*angles.shape, 2)``."""
    t = np.deg2rad(np.asarray(angles_deg, dtype=float))
    return np.stack([np.cos(t), np.sin(t)], axis=-1)


def random_unit_vectors(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` directions uniform on the unit sphere in ``dim`` dimensions (normal, then normalised)."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be a positive integer")
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim={dim!r} must be a positive integer")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    v = rng.normal(size=(n, dim))  # (n, dim)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def cosine_similarity(x, y) -> np.ndarray:
    """cos(x, y) along the last axis, broadcasting over leading axes; zero vectors raise."""
    x, y = _vectors(x, "x"), _vectors(y, "y")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x and y have different dimensions: {x.shape[-1]} and {y.shape[-1]}")
    c = (x * y).sum(-1) / (np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1))
    return np.clip(c, -1.0, 1.0)


def cosine_matrix(a, b):
    """All cosines between the rows of ``a`` (Na, d) and of ``b`` (Nb, d): shape (Na, Nb).

    Accepts numpy arrays or torch tensors and returns the same kind.
    """
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            raise TypeError("a and b must both be numpy arrays or both torch tensors")
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
            raise ValueError(f"a and b must be 2-D with the same number of columns, got {tuple(a.shape)}, {tuple(b.shape)}")
        if bool((a.norm(dim=1) == 0).any()) or bool((b.norm(dim=1) == 0).any()):
            raise ValueError("a or b contains a zero row, whose cosine is undefined")
        return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T  # (Na, Nb)
    a, b = _vectors(a, "a"), _vectors(b, "b")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be 2-D with the same number of columns, got {a.shape}, {b.shape}")
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.clip(an @ bn.T, -1.0, 1.0)  # (Na, Nb)


def cosine_distance(x, y) -> np.ndarray:
    """``1 - cos(x, y)``: symmetric and non-negative, but not a metric (no triangle inequality)."""
    return 1.0 - cosine_similarity(x, y)


def sqrt_cosine_distance(x, y) -> np.ndarray:
    """``sqrt(1 - cos(x, y))``, the article's metric, computed as the chord ``||x^ - y^|| / sqrt(2)``.

    The two are equal (chapter 1, the chord identity); the chord form is the accurate one: for
    nearly parallel vectors ``1 - cos`` cancels and its square root is off by up to ~1e-8.
    """
    return chord_distance(x, y) / math.sqrt(2.0)


def chord_distance(x, y) -> np.ndarray:
    """``|| x/|x| - y/|y| ||``, computed from the normalised difference (not from the cosine)."""
    x, y = _vectors(x, "x"), _vectors(y, "y")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x and y have different dimensions: {x.shape[-1]} and {y.shape[-1]}")
    xn = x / np.linalg.norm(x, axis=-1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=-1, keepdims=True)
    return np.linalg.norm(xn - yn, axis=-1)


DISTANCES: dict[str, Callable] = {"1 - cos": cosine_distance, SQRT_COS: sqrt_cosine_distance, "chord": chord_distance}


def triangle_violations(dist: Callable, x, y, z, *, tol: float = 1e-12) -> dict:
    """Check ``d(x, y) <= d(x, z) + d(z, y)`` row by row on triples of vectors (each (n, d)).

    Returns ``fraction`` of rows violating it by more than ``tol``, ``max_excess`` (the largest
    ``d(x,y) - d(x,z) - d(z,y)``) and ``worst`` (the row index where it is largest).
    """
    if not callable(dist):
        raise TypeError(f"dist must be a callable d(x, y), got {type(dist).__name__}")
    if tol < 0:
        raise ValueError(f"tol={tol!r} must be non-negative")
    direct = np.asarray(dist(x, y))
    detour = np.asarray(dist(x, z)) + np.asarray(dist(z, y))
    excess = np.atleast_1d(direct - detour)
    return {"fraction": float(np.mean(excess > tol)), "max_excess": float(excess.max()), "worst": int(excess.argmax())}


def midpoint_ratio(theta, dist: Callable = cosine_distance) -> np.ndarray:
    """``d(x, y) / (d(x, z) + d(z, y))`` for unit vectors x, z, y at angles 0, theta/2, theta (radians).

    Above 1 means the detour through the midpoint z is shorter than the direct route, i.e. the
    triangle inequality fails. For ``1 - cos`` this is ``1 + cos(theta/2)``; for ``sqrt(1 - cos)``
    it is ``cos(theta/4)`` (chapter 1, our derivation).
    """
    t = np.asarray(theta, dtype=float)
    if np.any(t <= 0) or np.any(t > np.pi):
        raise ValueError("theta must lie in (0, pi]")
    x, z, y = unit_vectors(np.rad2deg(0 * t)), unit_vectors(np.rad2deg(t / 2)), unit_vectors(np.rad2deg(t))
    return dist(x, y) / (dist(x, z) + dist(z, y))


def retrieval_condition(z1, z2, z3, c1, c2, dist: Callable = sqrt_cosine_distance) -> dict:
    """The chapter's two-class check: z1, z3 belong to centre c1 and z2 to centre c2.

    Returns the booleans ``classified_ok`` (every sample nearer its own centre), ``retrieval_ok``
    (``d(z1,z3) < d(z1,z2)``), ``cond_A`` (``d(z1,c1) + d(z3,c1) < d(z1,z2)``) and ``cond_B``
    (``d(z1,c1) + d(z3,c1) + d(z2,c2) < d(z1,c2)``), the margin term ``d(z3,c1) + d(z2,c2)``,
    and every distance used. (A) and (B) are sufficient for retrieval when ``dist`` is a metric.
    """
    d = {
        "z1c1": dist(z1, c1), "z1c2": dist(z1, c2), "z2c1": dist(z2, c1), "z2c2": dist(z2, c2),
        "z3c1": dist(z3, c1), "z3c2": dist(z3, c2), "z1z2": dist(z1, z2), "z1z3": dist(z1, z3),
    }
    d = {k: np.asarray(v, dtype=float) for k, v in d.items()}
    return {
        "classified_ok": (d["z1c1"] < d["z1c2"]) & (d["z3c1"] < d["z3c2"]) & (d["z2c2"] < d["z2c1"]),
        "retrieval_ok": d["z1z3"] < d["z1z2"],
        "cond_A": d["z1c1"] + d["z3c1"] < d["z1z2"],
        "cond_B": d["z1c1"] + d["z3c1"] + d["z2c2"] < d["z1c2"],
        "margin_term": d["z3c1"] + d["z2c2"],
        "distances": d,
    }
