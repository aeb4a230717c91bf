"""Chapter 1: from the triangle inequality to margin softmax (Su Jianlin, kexue.fm/archives/8656).

Why a classifier's features can rank badly, and why the fix is an additive margin.

* Geometry: the cosine distance ``1 - cos`` breaks the triangle inequality; the chord
  ``||x/|x| - y/|y|| = sqrt(2 - 2 cos)`` keeps it (chapter 1, "Which similarity scores are
  distances?").
* Two uses of the triangle inequality turn "retrieval is right" into "each sample is nearer to
  its own centre by a margin" (condition (B)); with cosine scores that becomes
  ``cos_y - cos_i > m``, whose smooth penalty is AM-Softmax (Wang et al., arXiv:1801.05599).
* The experiment: train a small encoder with softmax (m = 0) and AM-Softmax (m > 0) and measure
  classification and top-1 retrieval on held-out samples and held-out classes.

Geometry and metrics are numpy; losses, model and training are torch (CPU, one thread is fastest).
The figures the chapter drives are the ``draw_*`` functions at the end.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lib.tables import Table

SQRT_COS = "sqrt(1 - cos)"

# ---------------------------------------------------------------------------------------------
# Distances on the sphere (numpy)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# How large can the margin be? (our derivations, not the article's)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------

REDUCTIONS = ("mean", "sum", "none")


def _check_scale_margin(scale, margin, reduction, allow_negative) -> None:
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating, np.integer)) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale={scale!r} must be a positive finite number")
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.floating, np.integer)) or not np.isfinite(margin):
        raise ValueError(f"margin={margin!r} must be a finite number")
    if margin < 0 and not allow_negative:
        raise ValueError(f"margin={margin!r} must be non-negative (pass allow_negative=True to override)")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} must be one of {REDUCTIONS}")


def _check_scores(scores, labels, *, what: str, lo: float, hi: float):
    """Validate (N, K) scores and (N,) integer labels (numpy or torch); return them as numpy views."""
    s_np = scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else np.asarray(scores, dtype=float)
    l_np = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if s_np.ndim != 2 or s_np.shape[0] == 0 or s_np.shape[1] < 2:
        raise ValueError(f"{what} must have shape (N, K) with N >= 1 and K >= 2, got {s_np.shape}")
    if not np.issubdtype(l_np.dtype, np.integer):
        raise TypeError(f"labels must be integers (class indices), got dtype {l_np.dtype}")
    if l_np.shape != (s_np.shape[0],):
        raise ValueError(f"labels must have shape ({s_np.shape[0]},) to match {what}, got {l_np.shape}")
    if l_np.min() < 0 or l_np.max() >= s_np.shape[1]:
        raise ValueError(f"labels must lie in [0, {s_np.shape[1]}), got range [{l_np.min()}, {l_np.max()}]")
    if not np.all(np.isfinite(s_np)):
        raise ValueError(f"{what} must be finite (found NaN or inf)")
    if s_np.min() < lo or s_np.max() > hi:
        raise ValueError(f"{what} must lie in [{lo:g}, {hi:g}], got range [{s_np.min():.4g}, {s_np.max():.4g}]"
                         + (" (did you pass raw logits instead of cosines?)" if what == "cos_logits" else ""))
    return s_np, l_np


def am_softmax_loss(cos_logits: torch.Tensor, labels: torch.Tensor, scale: float = 30.0, margin: float = 0.35,
                    reduction: str = "mean", allow_negative: bool = False) -> torch.Tensor:
    """AM-Softmax: cross-entropy on ``s (cos - m onehot(y))`` (chapter 1, eq. for L_AM).

    Equals ``log(1 + sum_{i != y} exp(s (cos_i + m - cos_y)))``, the smooth penalty for
    ``cos_y - cos_i > m``. ``cos_logits`` (N, K) are cosines, ``labels`` (N,) int64.
    The defaults s = 30, m = 0.35 are the AM-Softmax paper's (arXiv:1801.05599), not the article's.
    """
    _check_scale_margin(scale, margin, reduction, allow_negative)
    _check_scores(cos_logits, labels, what="cos_logits", lo=-1 - 1e-5, hi=1 + 1e-5)
    onehot = F.one_hot(labels.long(), cos_logits.shape[1]).to(cos_logits.dtype)  # (N, K)
    return F.cross_entropy(scale * (cos_logits - margin * onehot), labels.long(), reduction=reduction)


def am_softmax_loss_np(cos_logits, labels, scale: float = 30.0, margin: float = 0.35, reduction: str = "mean"):
    """The same loss in numpy, written the other way: ``log(1 + sum_{i != y} e^{s (cos_i + m - cos_y)})``."""
    _check_scale_margin(scale, margin, reduction, True)
    cos, y = _check_scores(cos_logits, labels, what="cos_logits", lo=-1 - 1e-5, hi=1 + 1e-5)
    n = np.arange(len(y))
    a = scale * (cos + margin - cos[n, y][:, None])  # (N, K): exponents of the violations
    a[n, y] = 0.0  # the "1 +" term: log(1 + sum e^a) = logsumexp over [0, a_i for i != y]
    top = a.max(1, keepdims=True)
    per = (top + np.log(np.exp(a - top).sum(1, keepdims=True)))[:, 0]
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


def distance_margin_loss(dist: torch.Tensor, labels: torch.Tensor, scale: float = 30.0, margin: float = 0.2,
                         reduction: str = "mean", allow_negative: bool = False) -> torch.Tensor:
    """The article's generic loss ``log(1 + sum_{i != y} exp(s (d_y + m - d_i)))`` on distances (N, K).

    It is cross-entropy with logits ``-s d_i`` after the target distance is raised by m.
    """
    _check_scale_margin(scale, margin, reduction, allow_negative)
    _check_scores(dist, labels, what="dist", lo=0.0, hi=np.inf)
    onehot = F.one_hot(labels.long(), dist.shape[1]).to(dist.dtype)  # (N, K)
    return F.cross_entropy(-scale * (dist + margin * onehot), labels.long(), reduction=reduction)


def sqrt_cos_distance_for_training(cos: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``sqrt(clamp(1 - cos, eps))``: the clamp keeps the gradient finite (d sqrt(u)/du is infinite at 0)."""
    if not eps > 0:
        raise ValueError(f"eps={eps!r} must be positive")
    return torch.sqrt(torch.clamp(1 - cos, min=eps))


def logsumexp_hinge(violations, scale: float = 1.0) -> float:
    """``log(1 + sum_j e^{s a_j})`` for ``a_j = lhs_j - rhs_j``: a smooth ``max(0, s max_j a_j)``.

    The construction (kexue.fm/archives/7359) behind the margin loss: minimising it pushes every
    ``a_j`` below 0. It lies between ``max(0, s max a)`` and that plus ``log(n + 1)``.
    """
    _check_scale_margin(scale, 0.0, "mean", False)
    a = np.asarray(violations, dtype=float).ravel() * scale
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError("violations must be a non-empty finite array")
    top = max(0.0, a.max())
    return float(top + np.log(np.exp(-top) + np.exp(a - top).sum()))


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Training samples, held-out samples of the same classes, and samples of held-out classes."""

    name: str
    x_train: np.ndarray  # (N_train, D) float32
    y_train: np.ndarray  # (N_train,) int64 in [0, K)
    x_test: np.ndarray  # (N_test, D)
    y_test: np.ndarray  # (N_test,)
    x_new: np.ndarray  # (N_new, D): classes never seen in training (may be empty)
    y_new: np.ndarray  # (N_new,)

    @property
    def n_classes(self) -> int:
        return int(self.y_train.max()) + 1


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer of at least {minimum}")
    return int(value)


def make_clustered_data(n_classes: int, n_per_class: int, dim: int = 16, spread: float = 0.6, seed: int = 1234):
    """Gaussian clusters: class means ``mu_k ~ N(0, I_dim)``, samples ``mu_y + spread * eps``.

    Returns ``x`` (K n, dim) float32, ``y`` (K n,) int64 sorted by class, and the means (K, dim).
    """
    k = _positive_int(n_classes, "n_classes", 2)
    n = _positive_int(n_per_class, "n_per_class")
    d = _positive_int(dim, "dim")
    if not np.isfinite(spread) or spread <= 0:
        raise ValueError(f"spread={spread!r} must be a positive number")
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d))  # (K, dim)
    y = np.repeat(np.arange(k), n)  # (K n,)
    x = means[y] + spread * rng.normal(size=(k * n, d))  # (K n, dim)
    return x.astype(np.float32), y.astype(np.int64), means


def clustered_split(n_classes: int = 20, n_new_classes: int = 10, n_train: int = 50, n_test: int = 25,
                    dim: int = 16, spread: float = 0.6, seed: int = 1234) -> Split:
    """The chapter's synthetic set: ``n_classes`` trained classes (n_train + n_test each) and
    ``n_new_classes`` more (n_test each) that training never sees."""
    _positive_int(n_new_classes, "n_new_classes", 0)
    _positive_int(n_test, "n_test", 2)
    x, y, _ = make_clustered_data(n_classes + n_new_classes, n_train + n_test, dim, spread, seed)
    first = np.tile(np.arange(n_train + n_test) < n_train, n_classes + n_new_classes)
    seen = y < n_classes
    new = ~seen & ~first
    return Split(f"clusters K={n_classes}", x[seen & first], y[seen & first], x[seen & ~first], y[seen & ~first],
                 x[new], y[new] - n_classes)


def digits_split(new_classes: Sequence[int] = (), test_fraction: float = 0.5, seed: int = 0) -> Split:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download), pixels / 16.

    Each trained class is split at random into train / test (``test_fraction`` held out); the
    digits in ``new_classes`` are held out entirely. Trained digits are relabelled 0..K-1.
    """
    from sklearn.datasets import load_digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction!r} must lie in (0, 1)")
    new = sorted(set(int(c) for c in new_classes))
    if any(c not in range(10) for c in new) or len(new) > 8:
        raise ValueError(f"new_classes={new_classes!r} must be digits 0-9, leaving at least two to train on")
    data = load_digits()
    x, y = (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)  # (1797, 64), (1797,)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: round(len(idx) * test_fraction)]] = True
    trained = [c for c in range(10) if c not in new]
    relabel = np.full(10, -1)
    relabel[trained] = np.arange(len(trained))
    seen = relabel[y] >= 0
    name = "digits" + (f" (digits {', '.join(map(str, new))} held out)" if new else "")
    return Split(name, x[seen & ~test], relabel[y[seen & ~test]], x[seen & test], relabel[y[seen & test]],
                 x[~seen & test], y[~seen & test])


# ---------------------------------------------------------------------------------------------
# Model, training and evaluation (torch)
# ---------------------------------------------------------------------------------------------


class AMSoftmaxHead(nn.Module):
    """Class centres with no bias; ``forward(z)`` returns the cosines between z and each centre (N, K)."""

    def __init__(self, emb_dim: int, n_classes: int):
        super().__init__()
        self.centres = nn.Parameter(torch.randn(_n_classes(n_classes), _positive_int(emb_dim, "emb_dim")))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z, dim=1) @ F.normalize(self.centres.to(z.dtype), dim=1).T  # (N, K)


@dataclass
class TrainedModel:
    """An encoder (MLP to ``emb_dim``) and its class centres, with the training loss per step."""

    encoder: nn.Module
    head: AMSoftmaxHead
    margin: float
    scale: float
    kind: str
    losses: np.ndarray = field(repr=False)

    def embed(self, x) -> np.ndarray:
        """Unit-norm embeddings (N, emb_dim) of inputs x (N, D)."""
        with torch.no_grad():
            return F.normalize(self.encoder(torch.as_tensor(np.asarray(x, np.float32))), dim=1).numpy()

    def centres(self) -> np.ndarray:
        """Unit-norm class centres (K, emb_dim)."""
        with torch.no_grad():
            return F.normalize(self.head.centres, dim=1).numpy().copy()


KINDS = ("am", "sqrt")


def train_margin_classifier(x, y, *, margin: float, scale: float = 30.0, emb_dim: int = 3, hidden: int = 64,
                            steps: int = 300, lr: float = 1e-2, kind: str = "am", seed: int = 0,
                            init: TrainedModel | None = None) -> TrainedModel:
    """Train ``x -> Linear -> ReLU -> Linear -> normalise`` with a cosine head, full batch, Adam.

    ``kind="am"`` uses :func:`am_softmax_loss` (margin on cosines, m = 0 is plain normalised
    softmax); ``kind="sqrt"`` uses :func:`distance_margin_loss` on ``sqrt(1 - cos)``, the
    article's own metric. ``init`` continues training a copy of an earlier model (the article's
    adaptive schedule). Deterministic given ``seed``; the global torch RNG is left untouched.
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} must be one of {KINDS}")
    _check_scale_margin(scale, margin, "mean", False)
    steps = _positive_int(steps, "steps")
    if not (isinstance(lr, (int, float)) and 0 < lr < 1):
        raise ValueError(f"lr={lr!r} must be a number in (0, 1)")
    xt = torch.as_tensor(np.asarray(x, np.float32))  # (N, D)
    yt = torch.as_tensor(np.asarray(y)).long()  # (N,)
    if xt.ndim != 2 or yt.shape != (xt.shape[0],):
        raise ValueError(f"x must be (N, D) and y (N,), got {tuple(xt.shape)} and {tuple(yt.shape)}")
    if not np.issubdtype(np.asarray(y).dtype, np.integer) or int(yt.min()) < 0:
        raise TypeError(f"y must hold non-negative integer class indices, got dtype {np.asarray(y).dtype}")
    k = int(yt.max()) + 1
    if k < 2:
        raise ValueError("y must contain at least two classes")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if init is None:
            encoder = nn.Sequential(nn.Linear(xt.shape[1], _positive_int(hidden, "hidden")), nn.ReLU(),
                                    nn.Linear(hidden, emb_dim))
            head = AMSoftmaxHead(emb_dim, k)
        else:
            encoder, head = copy.deepcopy(init.encoder), copy.deepcopy(init.head)
        opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=lr)
        losses = np.empty(steps)
        shift = margin * F.one_hot(yt, k).float()  # (N, K): the margin on the target column only
        for t in range(steps):
            cos = head(encoder(xt))  # (N, K)
            # The bodies of am_softmax_loss / distance_margin_loss, without re-validating every step.
            if kind == "am":
                loss = F.cross_entropy(scale * (cos - shift), yt)
            else:
                loss = F.cross_entropy(-scale * (sqrt_cos_distance_for_training(cos) + shift), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[t] = loss.item()
    return TrainedModel(encoder, head, float(margin), float(scale), kind, losses)


def nearest_center_accuracy(emb, labels, centres) -> float:
    """Fraction of samples whose highest-cosine centre is their own class (classification)."""
    return float(np.mean(cosine_matrix(emb, centres).argmax(1) == np.asarray(labels)))


def _neighbour_order(emb, labels, k: int) -> np.ndarray:
    labels = np.asarray(labels)
    n = len(labels)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise ValueError(f"k={k!r} must be an integer in [1, {n})")
    _, counts = np.unique(labels, return_counts=True)
    if counts.min() < 2:
        raise ValueError("every class needs at least two samples, or some query has no correct answer")
    sim = cosine_matrix(emb, emb)  # (N, N)
    np.fill_diagonal(sim, -np.inf)  # leave the query out
    if k == 1:
        return sim.argmax(1)[:, None]  # (N, 1)
    top = np.argpartition(-sim, k - 1, axis=1)[:, :k]  # (N, k), unordered
    return top


def retrieval_topk_accuracy(emb, labels, k: int = 1) -> float:
    """Leave-one-out retrieval: fraction of queries with a same-class sample among their k nearest (cosine)."""
    labels = np.asarray(labels)
    top = _neighbour_order(emb, labels, k)
    return float(np.mean((labels[top] == labels[:, None]).any(1)))


def misranked_fraction(emb, labels, centres) -> float:
    """Fraction of samples classified correctly whose nearest other sample has another class."""
    labels = np.asarray(labels)
    ok = cosine_matrix(emb, centres).argmax(1) == labels
    nn1 = _neighbour_order(emb, labels, 1)[:, 0]
    return float(np.mean(ok & (labels[nn1] != labels)))


def class_radius(emb, labels, centres) -> tuple[float, np.ndarray]:
    """Mean ``sqrt(1 - cos)`` distance of samples to their own centre: overall and per class (K,)."""
    labels = np.asarray(labels)
    d = sqrt_cosine_distance(np.asarray(emb), np.asarray(centres)[labels])  # (N,)
    per = np.array([d[labels == c].mean() if np.any(labels == c) else np.nan for c in range(len(centres))])
    return float(d.mean()), per


def estimate_margin_from_diameter(emb, labels, centres) -> float:
    """The article's "average class diameter": twice the mean radius, as a margin for ``sqrt(1 - cos)``."""
    return 2.0 * class_radius(emb, labels, centres)[0]


def evaluate(model: TrainedModel, split: Split) -> dict:
    """Classification on train and held-out samples, top-1 retrieval on held-out samples and (if
    any) held-out classes, the misranked share, the class radius, the centres' ceiling, the last loss."""
    c = model.centres()
    e_tr, e_te = model.embed(split.x_train), model.embed(split.x_test)
    pred = cosine_matrix(e_te, c).argmax(1)  # (N_test,)
    nn1 = _neighbour_order(e_te, split.y_test, 1)[:, 0]  # (N_test,)
    hit = split.y_test[nn1] == split.y_test
    out = {
        "train_cls": nearest_center_accuracy(e_tr, split.y_train, c),
        "test_cls": float(np.mean(pred == split.y_test)),
        "test_retr": float(np.mean(hit)),
        "test_misranked": float(np.mean((pred == split.y_test) & ~hit)),
        "radius": class_radius(e_tr, split.y_train, c)[0],
        "centre_ceiling": centre_ceiling(c),
        "final_loss": float(model.losses[-1]),
    }
    out["new_retr"] = retrieval_topk_accuracy(model.embed(split.x_new), split.y_new) if len(split.y_new) else np.nan
    return out


def margin_sweep(split: Split, margins: Sequence[float], seeds: Sequence[int], *, keep_embeddings: bool = False,
                 **train_kw) -> list[dict]:
    """Train one model per (margin, seed) and evaluate it: one record (dict) per run.

    With ``keep_embeddings`` a record also holds the held-out embeddings and the centres.
    """
    if len(margins) == 0 or len(seeds) == 0:
        raise ValueError("margins and seeds must be non-empty")
    records = []
    for m in margins:
        for seed in seeds:
            model = train_margin_classifier(split.x_train, split.y_train, margin=m, seed=seed, **train_kw)
            rec = {"margin": float(m), "seed": int(seed), **evaluate(model, split)}
            if keep_embeddings:
                rec["test_emb"], rec["centres"] = model.embed(split.x_test), model.centres()
            records.append(rec)
    return records


def summarize(records: list[dict], key: str) -> dict[str, np.ndarray]:
    """Per margin: mean, min and max of ``key`` over seeds (arrays in increasing margin)."""
    if not records or key not in records[0]:
        raise ValueError(f"key={key!r} is not a field of the records")
    margins = np.array(sorted({r["margin"] for r in records}))
    vals = [np.array([r[key] for r in records if r["margin"] == m], float) for m in margins]
    return {"margin": margins, "mean": np.array([v.mean() for v in vals]),
            "min": np.array([v.min() for v in vals]), "max": np.array([v.max() for v in vals])}


def adaptive_margin_schedule(split: Split, rounds: int = 1, seeds: Sequence[int] = (0,), **train_kw) -> list[dict]:
    """The article's suggestion, with its metric ``sqrt(1 - cos)``: train at m = 0, set m to the
    average class diameter of the training embeddings, continue training, re-estimate, repeat.

    Returns one record per (seed, round); round 0 is m = 0; ``diameter`` is the estimate made
    after that round (the next round's margin). Each round runs ``steps`` more steps.
    """
    rounds = _positive_int(rounds, "rounds")
    out = []
    for seed in seeds:
        model, m = None, 0.0
        for r in range(rounds + 1):
            model = train_margin_classifier(split.x_train, split.y_train, margin=m, kind="sqrt", seed=seed,
                                            init=model, **train_kw)
            m_next = estimate_margin_from_diameter(model.embed(split.x_train), split.y_train, model.centres())
            out.append({"seed": int(seed), "round": r, "margin": m, "diameter": m_next, **evaluate(model, split)})
            m = m_next
    return out


def sweep_table(records: list[dict], keys: Sequence[str], labels: Sequence[str], caption: str | None = None) -> Table:
    """One row per margin: the mean over seeds of each key, with its min–max range below it."""
    if len(keys) != len(labels):
        raise ValueError("keys and labels must have the same length")
    stats = [summarize(records, k) for k in keys]
    rows = [[m] + [(s["mean"][i], f"{s['min'][i]:.3f}–{s['max'][i]:.3f}") for s in stats]
            for i, m in enumerate(stats[0]["margin"])]
    return Table(["m", *labels], rows, caption, formats={j: "{:.3f}" if j else "{:.2f}" for j in range(len(keys) + 1)})


# ---------------------------------------------------------------------------------------------
# Figures (the chapter shows each statically, then drives it with lib.figures.drivable_figure)
# ---------------------------------------------------------------------------------------------


def _fixed_layout(fig, *boxes):
    """Put each axes at a fixed ``[left, bottom, width, height]`` (figure fractions) instead of
    constrained layout, so that the axes do not move when a slider switches images."""
    fig.set_layout_engine("none")
    for ax, box in zip(fig.axes, boxes):
        ax.set_position(box)
    return fig


def _circle(ax, lw: float = 1.0):
    from lib import style

    t = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(t), np.sin(t), color=style.PALETTE["grey"], lw=lw, zorder=1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def draw_triangle_failure(dim: int = 2, n_triples: int = 2000, seed: int = 0):
    """Left: the midpoint ratio against theta for ``1 - cos`` and ``sqrt(1 - cos)``. Right: random
    triples, direct distance against the detour, for both (points above the diagonal violate)."""
    from lib import style

    fig, (a0, a1) = style.figure(1, 2, size="wide")
    th = np.linspace(1e-3, np.pi, 300)
    a0.plot(np.rad2deg(th), midpoint_ratio(th, cosine_distance), color=style.PALETTE["vermillion"], label="1 − cos")
    a0.plot(np.rad2deg(th), midpoint_ratio(th, sqrt_cosine_distance), color=style.PALETTE["blue"], label="√(1 − cos)")
    a0.axhline(1, color="black", lw=0.8, ls="--")
    a0.set_xlabel("angle θ between x and y (degrees); z halfway")
    a0.set_ylabel("direct / detour through z")
    a0.set_title("> 1 means the triangle inequality fails")
    a0.legend(loc="center right")
    rng = np.random.default_rng(seed)
    x, y, z = (random_unit_vectors(n_triples, dim, rng) for _ in range(3))
    for name, colour in (("1 - cos", "vermillion"), (SQRT_COS, "blue")):
        f = DISTANCES[name]
        v = triangle_violations(f, x, y, z)
        label = f"{name.replace('sqrt', '√').replace('-', '−')}: {100 * v['fraction']:.1f}% violate"
        a1.scatter(f(x, z) + f(z, y), f(x, y), s=3, alpha=0.4, color=style.PALETTE[colour], label=label, rasterized=True)
    a1.plot([0, 3], [0, 3], color="black", lw=0.8, ls="--")
    a1.set_xlim(0, 3)
    a1.set_ylim(0, 2.1)
    a1.set_xlabel("detour d(x, z) + d(z, y)")
    a1.set_ylabel("direct d(x, y)")
    a1.set_title(f"{n_triples} random triples in {dim}-D")
    a1.legend(loc="upper left", markerscale=4)
    return fig


def draw_classification_vs_ranking(z1: float = 40.0, z2: float = 50.0, z3: float = -40.0, margin: float = 0.35):
    """Centres at 0 and 90 degrees, samples z1, z3 of class 1 and z2 of class 2 (angles in degrees).

    Left: the unit circle with the boundary at 45 degrees and the chords that matter. Right: the
    three comparisons with d = sqrt(1 - cos): classification of z1, retrieval for z1, condition (B).
    """
    from lib import style

    P = style.PALETTE
    c1, c2 = unit_vectors(0.0), unit_vectors(90.0)
    v1, v2, v3 = unit_vectors(z1), unit_vectors(z2), unit_vectors(z3)
    r = retrieval_condition(v1, v2, v3, c1, c2)
    d = r["distances"]
    fig, (a0, a1) = style.figure(1, 2, size=(8.4, 3.5), gridspec_kw={"width_ratios": [1, 1.35]})
    _circle(a0)
    a0.plot([0, 1.15 * np.cos(np.pi / 4)], [0, 1.15 * np.sin(np.pi / 4)], color="black", lw=0.8, ls=":")
    for c, name, col in ((c1, "c₁", P["blue"]), (c2, "c₂", P["orange"])):
        a0.plot(*c, marker="s", ms=9, color=col, zorder=3)
        a0.annotate(name, c, xytext=(1.15 * c[0] - 0.05, 1.15 * c[1] - 0.05), fontsize=11)
    for v, name, col in ((v1, "z₁", P["blue"]), (v3, "z₃", P["blue"]), (v2, "z₂", P["orange"])):
        a0.plot(*v, marker="o", ms=8, color=col, markeredgecolor="black", zorder=4)
        a0.annotate(name, v, xytext=(1.17 * v[0] - 0.06, 1.17 * v[1] - 0.04), fontsize=11)
    a0.plot(*zip(v1, v3), color=P["green"], lw=2, label="d(z₁, z₃) classmate")
    a0.plot(*zip(v1, v2), color=P["vermillion"], lw=2, label="d(z₁, z₂) other class")
    a0.legend(loc="lower left", fontsize=8, bbox_to_anchor=(0.0, 0.0))
    a0.set_xlim(-1.3, 1.3)
    a0.set_ylim(-1.75, 1.3)
    rows = [
        ("classify z₁", d["z1c1"], d["z1c2"], "d(z₁,c₁)", "d(z₁,c₂)"),
        ("retrieve for z₁", d["z1z3"], d["z1z2"], "d(z₁,z₃)", "d(z₁,z₂)"),
        ("condition (B)", d["z1c1"] + r["margin_term"], d["z1c2"], "d(z₁,c₁)+d(z₃,c₁)+d(z₂,c₂)", "d(z₁,c₂)"),
    ]
    xmax = 2.2
    ticks, names = [], []
    for i, (name, lhs, rhs, ln, rn) in enumerate(rows):
        ok, y0 = bool(lhs < rhs), 2.2 * (len(rows) - 1 - i)
        for yy, val, lab, col in ((y0 + 0.4, float(lhs), ln, P["sky"]), (y0 - 0.4, float(rhs), rn, P["grey"])):
            a1.barh(yy, min(val, xmax), height=0.7, color=col)
            a1.text(min(val, xmax) + 0.03, yy, f"{lab} = {val:.2f}", va="center", fontsize=8)
        ticks.append(y0)
        names.append(("✓ " if ok else "✗ ") + name)
    a1.set_yticks(ticks, names)
    for tick, (_, lhs, rhs, *_) in zip(a1.get_yticklabels(), rows):
        tick.set_color(P["green"] if lhs < rhs else P["vermillion"])
        tick.set_fontweight("bold")
    a1.set_xlim(0, xmax + 1.0)
    a1.grid(False)
    a1.set_xticks([0, 0.5, 1, 1.5, 2])
    a1.set_xlabel("distance √(1 − cos)  (the blue bar must be shorter)")
    gap = math.cos(math.radians(z1)) - math.cos(math.radians(z1 - 90))
    a1.set_title(f"z₁ = {z1:g}°, z₂ = {z2:g}°, z₃ = {z3:g}°\ncosine gap of z₁: {gap:.2f} "
                 f"({'≥' if gap >= margin else '<'} m = {margin:g})", fontsize=9)
    _fixed_layout(fig, [0.0, 0.02, 0.38, 0.96], [0.56, 0.15, 0.43, 0.7])
    return fig


def draw_am_loss(margin: float = 0.35, scale: float = 30.0):
    """Two classes: AM-Softmax loss per unit scale, ``log(1 + e^{s (m - Delta)}) / s``, against the
    cosine gap ``Delta = cos_y - cos_other``, with plain softmax (m = 0) and the hinge ``max(0, m - Delta)``."""
    from lib import style

    P = style.PALETTE
    delta = np.linspace(-1.0, 1.5, 251)
    cos = np.stack([delta / 2, -delta / 2], 1)  # (n, 2): cos_y - cos_other = delta
    y = np.zeros(len(delta), np.int64)
    am = am_softmax_loss_np(cos, y, scale, margin, "none") / scale
    plain = am_softmax_loss_np(cos, y, scale, 0.0, "none") / scale
    fig, ax = style.figure(size=(6.4, 3.4))
    ax.plot(delta, np.maximum(0, margin - delta), color="black", lw=1, ls=":", label="hinge max(0, m − Δ)")
    ax.plot(delta, plain, color=P["grey"], ls="--", label=f"softmax (m = 0), s = {scale:g}")
    ax.plot(delta, am, color=P["vermillion"], label=f"AM-Softmax, m = {margin:g}, s = {scale:g}")
    ax.axvline(margin, color=P["vermillion"], lw=0.8, alpha=0.6)
    at = am_softmax_loss_np(np.array([[0.5 * margin, -0.5 * margin]]), np.array([0]), scale, margin) / scale
    ax.set_xlim(delta[0], delta[-1])
    ax.set_ylim(0, 1.6)
    ax.set_xlabel("cosine gap Δ = cos(z, c_y) − cos(z, c_other)")
    ax.set_ylabel("loss / s")
    ax.set_title(f"Loss at Δ = m is log 2 / s = {float(at):.3f}: the margin keeps the loss alive until Δ > m", fontsize=9)
    ax.legend(loc="upper right")
    return _fixed_layout(fig, [0.1, 0.17, 0.88, 0.74])


def draw_decision_regions(n_classes: int = 8, margin: float = 0.2):
    """K equally spaced centres on the circle; each direction coloured by the class that owns it
    under margin m, grey where none does. The ceiling ``1 - cos(2 pi / K)`` is in the title."""
    from lib import style

    k = _n_classes(n_classes)
    ang = np.linspace(0, 360, 1441)[:-1]
    lab = margin_regions(ang, k, margin)
    colours = [style.CYCLE[i % len(style.CYCLE)] for i in range(k)]
    fig, ax = style.figure(size=(4.6, 4.0))
    _circle(ax, lw=0.5)
    t = np.deg2rad(ang)
    cols = [colours[c] if c >= 0 else "#d0d0d0" for c in lab]
    ax.scatter(np.cos(t), np.sin(t), c=cols, s=30, marker="s", linewidths=0, zorder=2)
    for i in range(k):
        c = unit_vectors(360.0 * i / k)
        ax.plot([0, 0.8 * c[0]], [0, 0.8 * c[1]], color=colours[i], lw=1.5)
        ax.plot(*(0.8 * c), marker="s", color=colours[i], ms=5)
    ceiling = circle_margin_ceiling(k)
    frac = claimed_fraction(k, margin)
    status = "infeasible: m ≥ ceiling" if margin >= ceiling else f"{100 * (1 - frac):.0f}% no-man's land"
    ax.set_title(f"K = {k}, m = {margin:g}: ceiling 1 − cos(2π/K) = {ceiling:.3f}\n{status}", fontsize=9,
                 color=style.PALETTE["vermillion"] if margin >= ceiling else "black")
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    return _fixed_layout(fig, [0.02, 0.02, 0.96, 0.86])


def draw_sweeps(sweeps: Sequence[tuple[str, list[dict]]], baselines: Sequence[dict] | None = None):
    """Accuracy against the margin: one panel per data set for held-out samples (classification
    and top-1 retrieval), and a last panel with top-1 retrieval among held-out classes. Lines are
    means over seeds, bands span the seeds; dotted lines are ``baselines`` (raw-input retrieval)."""
    from lib import style

    P = style.PALETTE
    open_set = [(t, r) for t, r in sweeps if not np.all(np.isnan([x["new_retr"] for x in r]))]
    fig, axes = style.figure(1, len(sweeps) + bool(open_set), size=(9.0, 3.3))
    axes = np.atleast_1d(axes)
    base = list(baselines) if baselines is not None else [{} for _ in sweeps]

    def band(ax, recs, key, colour, label, ls="-"):
        st = summarize(recs, key)
        ax.plot(st["margin"], st["mean"], ls=ls, marker="o", ms=3, color=colour, label=label)
        ax.fill_between(st["margin"], st["min"], st["max"], color=colour, alpha=0.15, lw=0)

    for ax, (title, recs), b in zip(axes, sweeps, base):
        band(ax, recs, "test_cls", P["blue"], "classification")
        band(ax, recs, "test_retr", P["vermillion"], "retrieval top-1")
        if "test_retr" in b:
            ax.axhline(b["test_retr"], color=P["vermillion"], lw=1, ls=":", label="retrieval, raw inputs")
        ax.set_title(f"{title}\nheld-out samples", fontsize=9)
    if open_set:
        ax = axes[-1]
        for (title, recs), colour in zip(open_set, (P["green"], P["purple"], P["black"])):
            band(ax, recs, "new_retr", colour, title.split(":")[0], ls="--")
            b = base[[t for t, _ in sweeps].index(title)]
            if "new_retr" in b:
                ax.axhline(b["new_retr"], color=colour, lw=1, ls=":")
        ax.set_title("retrieval top-1\nheld-out classes", fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.legend(loc="center right", fontsize=8)
    for ax in axes:
        ax.set_xlabel("margin m")
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="lower right", fontsize=8)
    return fig


def draw_circle_experiment(records: list[dict], margin: float, labels, ceiling: float | None = None):
    """The 2-D experiment at one margin: held-out embeddings (angle on the circle, one colour per
    class, drawn at a radius set by its class) next to accuracy against m with the chosen m marked."""
    from lib import style

    P = style.PALETTE
    run = next((r for r in records if r["margin"] == margin and "test_emb" in r), None)
    if run is None:
        raise ValueError(f"margin={margin!r} has no record with embeddings")
    fig, (a0, a1) = style.figure(1, 2, size=(8.4, 3.6), gridspec_kw={"width_ratios": [1, 1.3]})
    _circle(a0, lw=0.5)
    emb, cen = run["test_emb"], run["centres"]
    lab = np.asarray(labels)
    k = len(cen)
    for c in range(k):
        e = emb[lab == c]
        rad = 0.55 + 0.45 * (c + 0.5) / k
        a0.scatter(rad * e[:, 0], rad * e[:, 1], s=6, color=style.CYCLE[c % len(style.CYCLE)], rasterized=True)
        a0.plot([0, 1.08 * cen[c, 0]], [0, 1.08 * cen[c, 1]], color=style.CYCLE[c % len(style.CYCLE)], lw=0.8)
    a0.set_xlim(-1.15, 1.15)
    a0.set_ylim(-1.15, 1.15)
    a0.set_title(f"m = {margin:g}, seed {run['seed']}: held-out samples\n(radius only separates classes)", fontsize=9)
    for key, label, col in (("test_cls", "classification", "blue"), ("test_retr", "retrieval top-1", "vermillion"),
                            ("train_cls", "classification (train)", "grey")):
        s = summarize(records, key)
        a1.plot(s["margin"], s["mean"], marker="o", ms=3, color=P[col], label=label, ls="--" if "train" in key else "-")
        a1.fill_between(s["margin"], s["min"], s["max"], color=P[col], alpha=0.15, lw=0)
    if ceiling is not None:
        a1.axvline(ceiling, color="black", lw=0.8, ls=":")
        a1.text(ceiling, 0.02, " ceiling", transform=a1.get_xaxis_transform(), fontsize=8)
    a1.axvline(margin, color=P["orange"], lw=6, alpha=0.35)
    a1.set_ylim(0, 1.02)
    a1.set_xlabel("margin m")
    a1.set_ylabel("accuracy (mean over seeds)")
    a1.legend(loc="lower left", fontsize=8)
    return _fixed_layout(fig, [0.0, 0.03, 0.4, 0.83], [0.5, 0.14, 0.48, 0.76])
