"""How large can the margin be? Ceilings set by where the class centres can sit (chapter 1).

Chapter 1, section "How large can the margin be? (ours)", after Su Jianlin, kexue.fm/archives/8656.
These derivations are ours, not the article's: K centres on a circle allow a cosine margin of at most
``1 - cos(2 pi / K)``, on a regular simplex ``K / (K - 1)``, on the 3-D sphere at most
``2 - 2 (1 - 2/K)^2``; past the ceiling some directions belong to no class and the loss has a floor.
"""
from __future__ import annotations

import math

import numpy as np

from .losses import _check_scale_margin
from .sphere import cosine_matrix, unit_vectors


def _n_classes(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"n_classes={k!r} must be an integer of at least 2")
    return int(k)


def circle_margin_ceiling(n_classes: int) -> float:
    """``1 - cos(2 pi / K)``: the largest cosine margin K equally spaced centres on a circle allow."""
    return 1.0 - math.cos(2 * math.pi / _n_classes(n_classes))


def simplex_margin_ceiling(n_classes: int, dim: int | None = None) -> float:
    """``K / (K - 1)``: the ceiling for K centres on a regular simplex (needs ``dim >= K - 1``)."""
    k = _n_classes(n_classes)
    if dim is not None and (not isinstance(dim, (int, np.integer)) or dim < k - 1):
        raise ValueError(f"dim={dim!r}: a regular simplex of {k} vertices needs dim >= {k - 1}")
    return k / (k - 1)


def centre_ceiling(centres) -> float:
    """``1 - max_{i != j} cos(c_i, c_j)`` for any set of centres (K, d): no sample can have a larger gap."""
    c = cosine_matrix(centres, centres)
    np.fill_diagonal(c, -np.inf)
    return float(1.0 - c.max())


def sphere_ceiling_bound(n_classes: int) -> float:
    """Upper bound on the cosine margin K centres on the sphere in 3-D can allow: ``2 - 2 (1 - 2/K)^2``.

    K caps of angular radius theta/2 around the centres cannot overlap, so their area
    ``K 2 pi (1 - cos(theta/2))`` is at most ``4 pi``; with ``cos theta = 2 cos^2(theta/2) - 1``
    the ceiling ``1 - cos theta`` is at most the value returned (chapter 1; our derivation).
    """
    k = _n_classes(n_classes)
    return 2.0 - 2.0 * (1.0 - 2.0 / k) ** 2


def circle_best_gap(left_deg, right_deg) -> np.ndarray:
    """Largest cosine gap any direction can reach for a centre whose neighbours on the circle are
    ``left_deg`` and ``right_deg`` degrees away (each in (0, 180]): ``2 sin(a/2) sin(b/2)``, reached
    where both neighbours are equally close (our derivation)."""
    a, b = np.deg2rad(np.asarray(left_deg, float)), np.deg2rad(np.asarray(right_deg, float))
    if np.any(a <= 0) or np.any(b <= 0) or np.any(a > np.pi + 1e-12) or np.any(b > np.pi + 1e-12):
        raise ValueError("neighbour angles must lie in (0, 180] degrees")
    return 2 * np.sin(a / 2) * np.sin(b / 2)


def circle_loss_floor(n_classes: int, margin: float, scale: float) -> float:
    """Lowest mean AM-Softmax loss 2-D features can reach with K balanced classes, any centres.

    Some class has neighbour gaps a, b < pi with ``sin(a/2) sin(b/2) <= sin^2(pi/K)`` (Jensen on
    ``log sin``; if one gap exceeds pi the other centres are packed into less than half the circle),
    so by :func:`circle_best_gap` its best gap is at most ``1 - cos(2 pi/K)`` and each of its samples
    costs at least ``log(1 + e^{s (m - ceiling)})``; it holds 1/K of the samples (our derivation).
    Positive for every m > 0; large only when m exceeds the ceiling.
    """
    k = _n_classes(n_classes)
    _check_scale_margin(scale, margin, "mean", False)
    return float(np.logaddexp(0.0, scale * (margin - circle_margin_ceiling(k)))) / k


def margin_regions(angles_deg, n_classes: int, margin: float) -> np.ndarray:
    """Class of each direction on the circle under margin m, or -1 for "no-man's land".

    K centres sit at angles ``360 k / K``. A direction belongs to class y if
    ``cos_y - m > max_{i != y} cos_i``; with ``m > 0`` some directions belong to no class.
    """
    k = _n_classes(n_classes)
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"margin={margin!r} must be a non-negative number")
    z = unit_vectors(angles_deg).reshape(-1, 2)  # (n, 2)
    cos = z @ unit_vectors(360.0 * np.arange(k) / k).T  # (n, K)
    best = cos.argmax(1)
    top = np.take_along_axis(cos, best[:, None], 1)[:, 0]
    cos_others = cos.copy()
    cos_others[np.arange(len(z)), best] = -np.inf
    owned = top - margin > cos_others.max(1)
    return np.where(owned, best, -1).reshape(np.shape(angles_deg))


def claimed_fraction(n_classes: int, margin: float) -> float:
    """Fraction of the circle owned by some class under margin m, K equally spaced centres.

    ``1 - K arcsin(m / (2 sin(pi/K))) / pi`` while ``m <= 1 - cos(2 pi/K)``, else 0 (our
    derivation: the gap at angle phi from a centre is ``2 sin(pi/K) sin(pi/K - phi)``).
    """
    k = _n_classes(n_classes)
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"margin={margin!r} must be a non-negative number")
    if margin >= circle_margin_ceiling(k):
        return 0.0
    return 1.0 - k * math.asin(margin / (2 * math.sin(math.pi / k))) / math.pi
