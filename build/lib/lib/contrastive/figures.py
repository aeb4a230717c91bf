"""The figures of chapter 3; each ``draw_*`` returns a matplotlib Figure made with :mod:`lib.style`.

Chapter 3 (``book/03-flatnce.ipynb``), after Su Jianlin, kexue.fm/archives/8586.
"""
from __future__ import annotations

import math

import numpy as np

from lib import style

from .adam import adam_first_step_ratio, effective_batch_fraction
from .losses import LOG_U32, unit_roundoff
from .precision import relative_error, xi_for_gap, xi_sweep
from .toy import BatchSizeSweep


SWEEP_XIS = np.logspace(-12, -1, 221)
_FLOOR = 1e-9  # relative errors below this (including exact zeros) are drawn on the floor


def draw_precision(dtype: str = "float32", K: int = 8):
    """Loss value and score gradients of InfoNCE (standard, stable) and FlatNCE in ``dtype`` against exact, over xi."""
    r = xi_sweep(SWEEP_XIS, K, dtype)
    u = unit_roundoff(dtype)
    fig, axes = style.figure(1, 3, size=(9.0, 3.6))
    colours = {"ce": style.PALETTE["vermillion"], "stable": style.PALETTE["blue"], "flat": style.PALETTE["green"]}
    names = {"ce": "InfoNCE, F.cross_entropy", "stable": "InfoNCE, softplus(v)", "flat": "FlatNCE, v = log ξ"}
    styles = {"ce": "-", "stable": "--", "flat": ":"}
    exact = {"ce": (r["exact_loss"], r["exact_gpos"], r["exact_gneg"]),
             "stable": (r["exact_loss"], r["exact_gpos"], r["exact_gneg"]),
             "flat": (r["exact_v"], -np.ones_like(r["xi"]), r["flat_exact_gneg"])}
    for k in ("ce", "stable", "flat"):
        ex_loss, ex_gpos, ex_gneg = exact[k]
        kw = dict(color=colours[k], ls=styles[k], label=names[k])
        axes[0].plot(r["xi"], r[f"{k}_loss"] / ex_loss, **kw)
        axes[1].plot(r["xi"], np.clip(relative_error(r[f"{k}_gpos"], ex_gpos), _FLOOR, 10), **kw)
        axes[2].plot(r["xi"], np.clip(relative_error(r[f"{k}_gneg"], ex_gneg), _FLOOR, 10), **kw)
    axes[0].set_ylim(-0.1, 2.1)
    axes[0].set_ylabel("computed ÷ exact")
    axes[0].set_title("loss value")
    axes[1].set_title("gradient on the positive")
    axes[2].set_title("gradient on a negative")
    for ax in axes[1:]:
        ax.set_yscale("log")
        ax.set_ylim(_FLOOR / 2, 20)
        ax.set_ylabel("relative error")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("ξ (exact)")
        ax.axvspan(SWEEP_XIS[0], u, color=style.PALETTE["grey"], alpha=0.15, lw=0)
        ax.axvline(u, color=style.PALETTE["grey"], lw=1)
    axes[0].legend(loc="upper left", fontsize=7)
    axes[1].text(u, 2e-9, f" u = 2^{round(math.log2(u))}", fontsize=8)
    fig.suptitle(f"{dtype}, K = {K} ({K - 1} equal negatives); grey: ξ ≤ unit roundoff u", fontsize=10)
    return fig


def draw_saturation_map(gap: float = 1.0, toy_taus=(), toy_Ks=()):
    """log10 xi = log10((K-1) e^{-gap/tau}) over temperature and batch size, with the xi = u contours per dtype.

    Marks the official FlatCLR default (tau = 0.1, batch 512, so K = 2 * 512 - 1 candidates) and, if given,
    the grid of the chapter's toy experiment.
    """
    taus = np.logspace(-2, 0, 161)
    Ks = 2.0 ** np.linspace(1, 12, 111)
    T, KK = np.meshgrid(taus, Ks)
    z = np.log10(xi_for_gap(KK, T, gap))  # (nK, ntau)
    fig, ax = style.figure(size=(6.8, 4.0))
    mesh = ax.pcolormesh(taus, Ks, np.clip(z, -30, 4), vmin=-30, vmax=4, cmap="Greys_r", shading="auto",
                         rasterized=True)
    fig.colorbar(mesh, ax=ax, label="log₁₀ ξ (clipped to [−30, 4])")
    from matplotlib.lines import Line2D

    handles = []
    for name, colour, ls in (("bfloat16", "orange", "-."), ("float16", "sky", "--"), ("float32", "vermillion", "-"),
                             ("float64", "purple", ":")):
        ax.contour(taus, Ks, z, levels=[math.log10(unit_roundoff(name))], colors=style.PALETTE[colour],
                   linewidths=2.2, linestyles=ls)
        handles.append(Line2D([], [], color=style.PALETTE[colour], ls=ls, lw=2.2, label=f"ξ = u({name})"))
    handles += ax.plot([0.1], [1023], marker="*", ms=12, color=style.PALETTE["yellow"], mec="black", ls="none",
                       label="FlatCLR code default")
    if len(toy_taus) and len(toy_Ks):
        tt, kk = np.meshgrid(np.asarray(toy_taus, dtype=float), np.asarray(toy_Ks, dtype=float))
        handles += ax.plot(tt.ravel(), kk.ravel(), marker="o", ms=5, color="white", mec="black", ls="none",
                           label="this chapter's toy runs")
    ax.set_xscale("log")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("temperature τ")
    ax.set_ylabel("candidates K (≈ batch size)")
    ax.set_title(f"Every negative's cosine {gap:g} below the positive's: ξ = (K−1)e^(−{gap:g}/τ)")
    ax.legend(handles=handles, loc="lower right", fontsize=7.5, frameon=True, title="left of a line: ξ < u", title_fontsize=7.5)
    ax.grid(False)
    return fig


def draw_anchor_weight():
    """Per-anchor weight of InfoNCE, sigmoid(v) = xi/(1+xi), against FlatNCE's constant 1, as a function of v."""
    v = np.linspace(-30, 5, 400)
    fig, ax = style.figure(size="single")
    ax.plot(v, 1 / (1 + np.exp(-v)), color=style.PALETTE["blue"], label="InfoNCE: σ(v) = ξ / (1 + ξ)")
    ax.plot(v, np.ones_like(v), color=style.PALETTE["green"], ls=":", label="FlatNCE: 1")
    ax.axvline(LOG_U32, color=style.PALETTE["vermillion"], lw=1)
    ax.text(LOG_U32 - 0.5, 1e-11, "ξ ≤ 2⁻²⁴: float32\ncross-entropy\nreturns 0 here", fontsize=8, ha="right",
            color=style.PALETTE["vermillion"])
    ax.set_yscale("log")
    ax.set_ylim(1e-13, 5)
    ax.set_xlabel("v = log ξ of one anchor")
    ax.set_ylabel("weight of the anchor's ∇v")
    ax.set_title("Same direction per anchor, different weights: ∇InfoNCE = σ(v) ∇v")
    ax.legend(loc="center right")
    return fig


def draw_adam_step(eps: float = 1e-8):
    """Adam's first update over the learning rate, |g|/(|g|+eps), against the gradient size |g|."""
    g = np.logspace(-12, -3, 200)
    fig, ax = style.figure(size=(6.4, 3.0))
    ax.plot(g, adam_first_step_ratio(g, eps), color=style.PALETTE["blue"])
    ax.axvline(eps, color=style.PALETTE["grey"], lw=1, ls="--")
    ax.text(eps, 0.05, f" ε = {eps:g}", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("gradient size |g|")
    ax.set_ylabel("first step ÷ learning rate")
    ax.set_title("Adam ignores the loss scale only while |g| ≫ ε")
    return fig


def draw_gradient_fidelity(taus, rows: dict, K_values):
    """Relative error of float32 parameter gradients against exact, per loss, over temperature (one panel per K).

    ``rows[(loss, K)]`` is a list of :func:`gradient_fidelity` results in the order of ``taus``.
    """
    fig, axes = style.figure(1, len(K_values), size="wide", sharey=True)
    axes = np.atleast_1d(axes)
    colour = {"cross_entropy": "vermillion", "lse": "orange", "softplus": "blue", "log1p": "sky", "flatnce": "green"}
    marker = {"cross_entropy": "o", "lse": "x", "softplus": "s", "log1p": "+", "flatnce": "^"}
    label = {"cross_entropy": "InfoNCE, F.cross_entropy", "lse": "InfoNCE, lse(all) − s_t",
             "softplus": "InfoNCE, softplus(v)", "log1p": "InfoNCE, log1p(Σ e^(s_i−s_t))", "flatnce": "FlatNCE"}
    for ax, K in zip(axes, K_values):
        for loss in colour:
            err = [max(r["rel_err"], _FLOOR) for r in rows[(loss, K)]]
            ax.plot(taus, err, marker=marker[loss], color=style.PALETTE[colour[loss]], label=label[loss], ms=5)
        sat = [r["saturated"] for r in rows[("flatnce", K)]]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(taus, [f"{t:g}" for t in taus])
        ax.minorticks_off()
        ax.set_xlabel("temperature τ")
        ax.set_title(f"K = {K}; saturated anchors: " + ", ".join(f"{s:.0%}" for s in sat), fontsize=9)
    axes[0].set_ylabel("relative error of ∇θ (float32)")
    axes[0].legend(fontsize=7, loc="upper right")
    return fig


_VARIANT_STYLE = {
    ("infonce", "float32"): ("vermillion", "o", "-", 9),
    ("infonce_stable", "float32"): ("blue", "s", "--", 6),
    ("infonce", "float64"): ("black", "x", ":", 5),
    ("flatnce", "float32"): ("green", "^", "-", 7),
    ("infonce_rescaled", "float32"): ("purple", "D", "--", 5),
}


def draw_training(sweep: BatchSizeSweep, tau: float):
    """Retrieval accuracy and fraction of saturated anchors against batch size K, per loss, at temperature tau."""
    j = sweep.taus.index(float(tau))
    fig, axes = style.figure(1, 2, size=(9.0, 3.6))
    for i, (variant, label) in enumerate(zip(sweep.variants, sweep.labels())):
        colour, marker, ls, ms = _VARIANT_STYLE.get(tuple(variant), ("grey", ".", "-", 6))
        acc = sweep.acc[i, j]  # (K, seed)
        kw = dict(color=style.PALETTE[colour], marker=marker, ls=ls, ms=ms, label=label, mfc="none" if ms >= 8 else None)
        axes[0].errorbar(sweep.Ks, acc.mean(-1), yerr=acc.std(-1), capsize=3, **kw)
        axes[1].plot(sweep.Ks, sweep.sat_frac[i, j].mean(-1), **kw)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sweep.Ks, [str(k) for k in sweep.Ks])
        ax.set_xlabel("batch size K (candidates per anchor)")
    axes[0].set_ylabel("top-1 retrieval accuracy")
    axes[0].set_title(f"τ = {tau:g}: retrieval (mean ± sd, {len(sweep.seeds)} seeds)")
    axes[1].set_ylabel("fraction of anchors with ξ ≤ 2⁻²⁴")
    axes[1].set_ylim(-0.03, 1.03)
    axes[1].set_title("saturated anchors, last 20% of training")
    axes[0].legend(fontsize=7, loc="lower right")
    return fig


def draw_batch_weights(sweep: BatchSizeSweep, K: int, tau: float, variant=("infonce_stable", "float32")):
    """InfoNCE's batch weight mean_a sigmoid(v_a) over the training steps (log scale) and its histogram."""
    i, j, k = sweep.index(variant), sweep.taus.index(float(tau)), sweep.Ks.index(K)
    w = sweep.weight[i, j, k]  # (seed, steps)
    half = w[:, sweep.steps // 2 :]
    frac = effective_batch_fraction(half).mean()
    fig, axes = style.figure(1, 2, size=(9.0, 3.4), gridspec_kw={"width_ratios": [2, 1]})
    steps = np.arange(sweep.steps)
    axes[0].plot(steps, w[0], ls="none", marker=".", ms=2.5, color=style.PALETTE["blue"], label="InfoNCE (seed 0)")
    axes[0].axhline(1.0, color=style.PALETTE["green"], ls=":", label="FlatNCE: every batch 1")
    axes[0].set_yscale("log")
    axes[0].set_ylim(1e-12, 3)
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("batch mean of σ(v_a)")
    axes[0].set_title(f"K = {K}, τ = {tau:g}: how much each InfoNCE batch counts")
    axes[0].legend(loc="lower left", fontsize=8)
    bins = np.linspace(-12, 0.5, 51)
    axes[1].hist(np.log10(np.maximum(half.ravel(), 1e-12)), bins=bins, color=style.PALETTE["blue"], alpha=0.8)
    axes[1].set_xlabel("log₁₀ batch weight (second half)")
    axes[1].set_ylabel("steps")
    axes[1].set_title(f"effective fraction of batches: {frac:.2f}", fontsize=10)
    return fig
