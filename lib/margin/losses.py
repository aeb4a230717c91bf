"""AM-Softmax and the article's distance-margin loss (chapter 1).

Chapter 1, section "From the condition to a loss", after Su Jianlin, kexue.fm/archives/8656:
the condition ``d(z, c_y) + m < d(z, c_i)`` for every ``i != y``, made smooth with the
logsumexp construction of kexue.fm/archives/7359, is a cross-entropy with the target score shifted
by the margin; with cosine scores it is AM-Softmax (Wang et al., arXiv:1801.05599).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lib import checks

REDUCTIONS = ("mean", "sum", "none")


def _check_scale_margin(scale, margin, reduction, allow_negative) -> None:
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating, np.integer)) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale={scale!r} must be a positive finite number")
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.floating, np.integer)) or not np.isfinite(margin):
        raise ValueError(f"margin={margin!r} must be a finite number")
    if margin < 0 and not allow_negative:
        raise ValueError(f"margin={margin!r} must be non-negative (pass allow_negative=True to override)")
    checks.choice("reduction", reduction, REDUCTIONS)


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
