"""What each floating-point format computes for the two losses, against exact values (chapter 3).

In float32, ``1 + xi`` rounds to 1 once xi is below the unit roundoff u = 2^-24, so the standard
cross-entropy returns a loss and a gradient of exactly zero for such an anchor, while the stable
forms (softplus(v), FlatNCE's v) do not. This module sweeps xi, measures the parameter gradient of
a small encoder, and gives the arithmetic of when xi falls below u.
Chapter 3 (``book/03-flatnce.ipynb``), after Su Jianlin, kexue.fm/archives/8586.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from lib import checks

from .losses import (LOG_U32, _as_dtype, _check_K, cosine_scores, flat_nce, flat_nce_score_grad, info_nce,
                     info_nce_score_grad, log_xi, unit_roundoff)


def equal_negative_scores(xis, K: int, s_t: float = 0.0, dtype=torch.float32) -> torch.Tensor:
    """Score rows (N, K) with the positive s_t first and K-1 equal negatives giving xi = xis[n].

    The negatives are s_t + log(xi / (K - 1)), computed in float64 and then rounded to ``dtype``;
    the exact xi of the rounded scores is what :func:`xi_sweep` uses as reference.
    """
    dtype = _as_dtype(dtype)
    _check_K(K)
    x = np.atleast_1d(np.asarray(xis, dtype=float))
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise ValueError("xis must be positive finite numbers")
    neg = s_t + np.log(x / (K - 1))
    rows = np.concatenate([np.full((len(x), 1), s_t), np.repeat(neg[:, None], K - 1, axis=1)], axis=1)
    return torch.tensor(rows, dtype=torch.float64).to(dtype)  # (N, K)


def xi_sweep(xis, K: int = 8, dtype=torch.float32, s_t: float = 0.0) -> dict[str, np.ndarray]:
    """Loss values and score gradients of three implementations against the exact values (chapter 3, §"float32").

    For each xi, one anchor with K-1 equal negatives is evaluated in ``dtype`` by
    InfoNCE via ``F.cross_entropy`` ("ce"), InfoNCE as softplus(v) ("stable") and FlatNCE's v ("flat").
    The reference is float64 arithmetic on the same rounded scores, using the analytic gradients.
    Returns arrays of length N: ``xi`` (exact), ``*_loss``, ``*_gpos`` (d/ds_t), ``*_gneg`` (d/ds_i, one
    negative) for ce/stable/flat, and ``exact_loss`` (log1p xi), ``exact_v``, ``exact_gpos``,
    ``exact_gneg``, ``flat_exact_gneg``.
    """
    dtype = _as_dtype(dtype)
    s = equal_negative_scores(xis, K, s_t, dtype)  # (N, K)
    target = torch.zeros(s.shape[0], dtype=torch.long)
    losses = {"ce": lambda x: info_nce(x, target, "cross_entropy", "none"),
              "stable": lambda x: info_nce(x, target, "softplus", "none"),
              "flat": lambda x: flat_nce(x, target, "log", "none")}
    out: dict[str, np.ndarray] = {}
    for name, per_anchor in losses.items():
        x = s.clone().requires_grad_(True)
        per = per_anchor(x)  # (N,): rows are independent, so one backward gives every row's gradient
        per.sum().backward()
        out[f"{name}_loss"] = per.detach().double().numpy()
        out[f"{name}_gpos"] = x.grad[:, 0].double().numpy()
        out[f"{name}_gneg"] = x.grad[:, 1].double().numpy()
    s64 = s.double()
    v = log_xi(s64, target)
    g_ce = info_nce_score_grad(s64, target)
    g_flat = flat_nce_score_grad(s64, target)
    out.update(xi=torch.exp(v).numpy(), exact_v=v.numpy(), exact_loss=F.softplus(v).numpy(),
               exact_gpos=g_ce[:, 0].numpy(), exact_gneg=g_ce[:, 1].numpy(), flat_exact_gneg=g_flat[:, 1].numpy())
    return out


def relative_error(got, exact) -> np.ndarray:
    """|got - exact| / |exact| elementwise (exact must be non-zero)."""
    got, exact = np.asarray(got, dtype=float), np.asarray(exact, dtype=float)
    return np.abs(got - exact) / np.abs(exact)


GRADIENT_LOSSES = ("cross_entropy", "lse", "softplus", "log1p", "flatnce")


def gradient_fidelity(loss: str, K: int, tau: float, sigma: float = 0.3, seed: int = 0, D: int = 32, L: int = 16) -> dict:
    """Float32 parameter gradient of a loss against its exact value, for a random linear encoder.

    K points x ~ N(0, I_D) get two views x + sigma * noise, are encoded by one random D -> L linear map and
    scored by cosine / tau (positives on the diagonal). ``loss`` is an InfoNCE impl (see :func:`info_nce`)
    or "flatnce". The reference is the float64 gradient of sg(sigmoid(v)) * v for InfoNCE and of v for FlatNCE,
    on the same float32 weights: exact up to float64 rounding, with no cancellation (chapter 3, §"float32").
    Returns ``cos`` (cosine to the reference), ``rel_err`` (relative L2 error) and ``saturated`` (fraction
    of anchors with xi <= 2^-24).
    """
    checks.choice("loss", loss, GRADIENT_LOSSES)
    _check_K(K)
    if not (isinstance(sigma, (int, float)) and sigma >= 0):
        raise ValueError(f"sigma={sigma!r} must be a non-negative number")
    g = torch.Generator().manual_seed(int(seed))
    W = (torch.randn(D, L, generator=g, dtype=torch.float64) / math.sqrt(D)).float()  # (D, L)
    x = torch.randn(K, D, generator=g, dtype=torch.float64)
    x1 = (x + sigma * torch.randn(K, D, generator=g, dtype=torch.float64)).float()  # (K, D)
    x2 = (x + sigma * torch.randn(K, D, generator=g, dtype=torch.float64)).float()

    w32 = W.clone().requires_grad_(True)
    s32, t = cosine_scores(x1 @ w32, x2 @ w32, tau)  # (K, K)
    if loss == "flatnce":
        flat_nce(s32, t, "sg").backward()
    else:
        info_nce(s32, t, loss).backward()

    w64 = W.double().requires_grad_(True)
    s64, _ = cosine_scores(x1.double() @ w64, x2.double() @ w64, tau)
    v = log_xi(s64, t)  # (K,)
    ref = v.mean() if loss == "flatnce" else (torch.sigmoid(v).detach() * v).mean()
    ref.backward()

    got, exact = w32.grad.double().flatten(), w64.grad.flatten()
    return {"cos": float(F.cosine_similarity(got, exact, dim=0)),
            "rel_err": float((got - exact).norm() / exact.norm()),
            "saturated": float((v <= LOG_U32).double().mean())}


# --------------------------------------------------------------------------------------------
# Saturation arithmetic: when is xi below the unit roundoff?


def _check_K_tau(K, tau) -> None:
    if np.any(np.asarray(K, dtype=float) < 2):
        raise ValueError(f"K={K!r} must be at least 2 (one positive and one negative)")
    if np.any(~np.isfinite(np.asarray(tau, dtype=float))) or np.any(np.asarray(tau, dtype=float) <= 0):
        raise ValueError(f"tau={tau!r} must be positive and finite")


def xi_for_gap(K, tau, gap):
    """xi = (K - 1) exp(-gap / tau): every negative's cosine sits ``gap`` below the positive's (chapter 3)."""
    _check_K_tau(K, tau)
    return (np.asarray(K, dtype=float) - 1) * np.exp(-np.asarray(gap, dtype=float) / np.asarray(tau, dtype=float))


def saturation_gap(K, tau, dtype=torch.float32):
    """Cosine gap at which xi reaches the unit roundoff: tau (ln(1/u) + ln(K - 1)) (chapter 3).

    Scores are cosines over tau, so gaps above 2 are impossible: no saturation can happen there.
    """
    _check_K_tau(K, tau)
    return np.asarray(tau, dtype=float) * (-math.log(unit_roundoff(dtype)) + np.log(np.asarray(K, dtype=float) - 1))


def min_xi(K, tau):
    """Smallest xi that cosine scores allow: (K - 1) exp(-2 / tau), every negative antipodal (chapter 3)."""
    return xi_for_gap(K, tau, 2.0)
