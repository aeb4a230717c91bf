"""InfoNCE and FlatNCE on a row of scores, their exact gradients, and cosine scores (chapter 3).

One anchor is scored against K candidates, s_1..s_K, of which s_t is the positive. With

    xi = sum_{i != t} exp(s_i - s_t)        v = log xi = logsumexp_{i != t}(s_i - s_t)

the two losses of the chapter are (eqs. 1, 3 and 5 of the chapter)

    InfoNCE  = -log softmax(s)_t = log(1 + xi) = softplus(v)
    FlatNCE  = xi / sg(xi)   (value 1, gradient = grad of v = grad of log xi)

Both are functions of the same scalar v per anchor, and per anchor their gradients point the
same way: grad InfoNCE = sigmoid(v) * grad v (chapter 3, "Gradient anatomy").
Chapter 3 (``book/03-flatnce.ipynb``), after Su Jianlin, kexue.fm/archives/8586.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from lib import checks


# Unit roundoff u = 2^-(p) for a p-bit significand (p counts the implicit bit): 1 + x == 1 for x <= u.
UNIT_ROUNDOFF = {torch.float16: 2.0**-11, torch.bfloat16: 2.0**-8, torch.float32: 2.0**-24, torch.float64: 2.0**-53}
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
LOG_U32 = math.log(2.0**-24)  # an anchor is "saturated" when v = log xi <= this: float32 1 + xi == 1
REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------------------------
# Argument checks shared by the chapter-3 modules. K, tau and steps raise ValueError even for a
# wrong type (as they always have); lib.checks would raise TypeError there.


def _as_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    if isinstance(dtype, torch.dtype) and dtype in UNIT_ROUNDOFF:
        return dtype
    raise TypeError(f"dtype={dtype!r} must be one of {sorted(DTYPES)} (a name or a torch.dtype)")


def _check_K(K) -> None:
    if not isinstance(K, (int, np.integer)) or K < 2:
        raise ValueError(f"K={K!r} must be an integer >= 2 (one positive and at least one negative)")


def _check_tau(tau) -> None:
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau={tau!r} must be a positive finite number")


def _check_steps(steps) -> None:
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} must be a positive integer")


# --------------------------------------------------------------------------------------------
# Scores and the two losses


def unit_roundoff(dtype) -> float:
    """Unit roundoff u of a floating dtype: 2^-24 (float32), 2^-53 (float64), 2^-11 (float16), 2^-8 (bfloat16).

    In round-to-nearest, ``1 + x`` rounds to exactly 1 for 0 <= x <= u: the threshold below which the
    standard cross-entropy of chapter 3 returns a loss of exactly zero.
    """
    return UNIT_ROUNDOFF[_as_dtype(dtype)]


def check_scores(scores: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate scores and target; return scores as (B, K) and target as a long tensor (B,).

    ``scores`` is a floating tensor of shape (B, K) or (K,) (taken as B = 1) with finite entries;
    ``target`` is an int or an integer tensor of shape (B,) (or a scalar) with entries in [0, K).
    """
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"scores must be a torch.Tensor, got {type(scores).__name__}")
    if not scores.is_floating_point():
        raise TypeError(f"scores must be a floating tensor, got dtype {scores.dtype}")
    if scores.ndim == 1:
        scores = scores.unsqueeze(0)
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (B, K) or (K,), got shape {tuple(scores.shape)}")
    B, K = scores.shape
    if B == 0:
        raise ValueError("scores has B = 0 anchors: need at least one row")
    if K < 2:
        raise ValueError(f"scores has K = {K} candidates: need at least one negative (K >= 2)")
    if not torch.isfinite(scores.detach()).all():
        raise ValueError("scores must be finite (found NaN or inf)")
    if isinstance(target, bool) or not isinstance(target, (int, np.integer, torch.Tensor)):
        raise TypeError(f"target must be an int or an integer tensor, got {type(target).__name__}")
    if isinstance(target, torch.Tensor):
        if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise TypeError(f"target must be an integer tensor, got dtype {target.dtype}")
        if target.ndim == 0:
            target = target.expand(B)
        if target.shape != (B,):
            raise ValueError(f"target must have shape ({B},) to match scores, got {tuple(target.shape)}")
        target = target.to(torch.long)
    else:
        target = torch.full((B,), int(target), dtype=torch.long)
    if (target < 0).any() or (target >= K).any():
        raise ValueError(f"target entries must be in [0, {K}), got {target.tolist()}")
    return scores, target


def _split(scores: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, K = scores.shape
    keep = torch.ones(B, K, dtype=torch.bool)
    keep[torch.arange(B), target] = False  # True at the negatives
    return scores.gather(1, target[:, None]), scores[keep].view(B, K - 1), keep  # (B, 1), (B, K-1), (B, K)


def split_scores(scores: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor]:
    """Split scores (B, K) into the positive (B, 1) and the negatives (B, K-1), order kept.

    Accepts what :func:`check_scores` accepts; gradients flow through both outputs.
    """
    pos, neg, _ = _split(*check_scores(scores, target))
    return pos, neg


def log_xi(scores: torch.Tensor, target) -> torch.Tensor:
    """v = log xi = logsumexp_{i != t}(s_i - s_t), shape (B,), stable in any dtype (chapter 3, eq. 5)."""
    pos, neg = split_scores(scores, target)
    return torch.logsumexp(neg - pos, dim=-1)  # (B,)


def xi(scores: torch.Tensor, target, dtype=torch.float64) -> torch.Tensor:
    """xi = sum_{i != t} exp(s_i - s_t), shape (B,), computed as exp(v) in ``dtype`` (float64 by default).

    exp(v) underflows to 0 once v < about -745 in float64 (-104 in float32); use :func:`log_xi` there.
    """
    dtype = _as_dtype(dtype)
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point():
        raise TypeError(f"scores must be a floating torch.Tensor, got {getattr(scores, 'dtype', type(scores).__name__)}")
    return torch.exp(log_xi(scores.to(dtype), target))


def _reduce(per_anchor: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_anchor.mean()
    if reduction == "sum":
        return per_anchor.sum()
    return per_anchor  # "none"


INFO_NCE_IMPLS = ("cross_entropy", "lse", "softplus", "log1p")


def info_nce(scores: torch.Tensor, target, impl: str = "cross_entropy", reduction: str = "mean") -> torch.Tensor:
    """InfoNCE = log(1 + xi) per anchor (chapter 3, eq. 1), four ways that agree in exact arithmetic.

    impl:
      "cross_entropy"  ``F.cross_entropy`` (what training code calls; loses xi <= u, see chapter 3)
      "lse"            logsumexp over all K, minus s_t (same cancellation as cross_entropy)
      "softplus"       softplus(v) with v = logsumexp(neg - pos): stable, the chapter's "stable InfoNCE"
      "log1p"          log1p(sum exp(neg - pos)): stable until the terms underflow
    """
    checks.choice("impl", impl, INFO_NCE_IMPLS)
    checks.choice("reduction", reduction, REDUCTIONS)
    scores, target = check_scores(scores, target)
    pos, neg, _ = _split(scores, target)
    if impl == "cross_entropy":
        per = F.cross_entropy(scores, target, reduction="none")
    elif impl == "lse":
        per = torch.logsumexp(torch.cat([pos, neg], dim=-1), dim=-1) - pos[:, 0]
    elif impl == "softplus":
        per = F.softplus(torch.logsumexp(neg - pos, dim=-1))
    else:
        per = torch.log1p(torch.exp(neg - pos).sum(dim=-1))
    return _reduce(per, reduction)  # (B,) or scalar


FLAT_NCE_FORMS = ("sg", "log", "ratio")


def flat_nce(scores: torch.Tensor, target, form: str = "sg", reduction: str = "mean", monitor: bool = False) -> torch.Tensor:
    """FlatNCE per anchor (chapter 3, eqs. 3-5); all three forms have the gradient of v = log xi.

    form:
      "sg"     exp(v - sg(v)): value exactly 1, computed from the stable v (the official code's form)
      "log"    v itself (the article's preferred, stop-gradient-free form; negative when xi < 1)
      "ratio"  the literal xi / sg(xi); NaN when xi underflows (kept only to show that failure)
    With ``monitor=True`` the value is replaced by InfoNCE's (softplus form) while the gradient stays
    FlatNCE's: ``flat - sg(flat) + sg(InfoNCE)``, as the official FlatCLR code reports its loss.
    """
    checks.choice("form", form, FLAT_NCE_FORMS)
    if not isinstance(monitor, bool):  # a numpy bool is refused too, as it always has been
        raise TypeError(f"monitor={monitor!r} must be a bool")
    checks.choice("reduction", reduction, REDUCTIONS)
    scores, target = check_scores(scores, target)
    pos, neg, _ = _split(scores, target)
    if form == "ratio":
        total = torch.exp(neg - pos).sum(dim=-1)  # (B,)
        per = total / total.detach()
    else:
        v = torch.logsumexp(neg - pos, dim=-1)  # (B,)
        per = torch.exp(v - v.detach()) if form == "sg" else v
    if monitor:
        per = per - per.detach() + F.softplus(torch.logsumexp(neg - pos, dim=-1)).detach()
    return _reduce(per, reduction)


def _score_grads(scores: torch.Tensor, target) -> tuple[torch.Tensor, torch.Tensor]:
    s64, target = check_scores(scores.detach().to(torch.float64), target)
    pos, neg, keep = _split(s64, target)
    v = torch.logsumexp(neg - pos, dim=-1)  # (B,)
    grad_v = torch.full_like(s64, -1.0)  # (B, K): -1 at the positive
    grad_v[keep] = torch.softmax(neg - pos, dim=-1).reshape(-1)  # softmax over the negatives only
    return grad_v, v


def flat_nce_score_grad(scores: torch.Tensor, target) -> torch.Tensor:
    """Exact gradient of FlatNCE (= of v) with respect to the scores, float64, shape (B, K).

    Negatives get q_i = softmax over the negatives (sum 1), the positive gets -1 (chapter 3, "Gradient anatomy").
    """
    return _score_grads(scores, target)[0]


def info_nce_score_grad(scores: torch.Tensor, target) -> torch.Tensor:
    """Exact gradient of InfoNCE with respect to the scores, float64, shape (B, K).

    Computed as sigmoid(v) * grad v, so the positive entry is -sigmoid(v), never the cancelling p_t - 1.
    """
    grad_v, v = _score_grads(scores, target)
    return torch.sigmoid(v)[:, None] * grad_v


def cosine_scores(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores s_ij = cos(z1_i, z2_j) / tau, shape (B, B), and the targets arange(B) (positives on the diagonal)."""
    if not isinstance(z1, torch.Tensor) or not isinstance(z2, torch.Tensor):
        raise TypeError("z1 and z2 must be torch tensors")
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must both have shape (B, d), got {tuple(z1.shape)} and {tuple(z2.shape)}")
    _check_tau(tau)
    if (z1.detach().norm(dim=-1) == 0).any() or (z2.detach().norm(dim=-1) == 0).any():
        raise ValueError("z1 and z2 must have no zero rows (a cosine needs a direction)")
    scores = F.normalize(z1, dim=-1) @ F.normalize(z2, dim=-1).T / tau  # (B, B)
    return scores, torch.arange(z1.shape[0])
