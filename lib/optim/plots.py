"""Figures of chapter 5; each ``draw_*`` returns a matplotlib Figure made with :mod:`lib.style`."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lib import style
from lib.optim.experiments import quadratic_trajectories
from lib.optim.formulas import VARIANT_LABELS, VARIANTS, adam_v_inflation, v_inflation_monte_carlo, window_weights
from lib.optim.theory import expected_excess_risk, stationary_excess_risk


_COLOURS = {"plain": "grey", "explicit": "black", "chi": "blue", "beta_tilde": "orange", "sparse": "green",
            "lr/k": "vermillion"}
_LABELS = {"plain": "plain SGDM (every micro-step)", "explicit": "explicit accumulation", **VARIANT_LABELS,
           "lr/k": "plain at lr / k"}


def _colour(name: str) -> str:
    return style.PALETTE[_COLOURS[name]]


def draw_trajectories(k: int, beta: float, **kw):
    """theta_t of every variant on a noisy 1-D quadratic, over a strip of the chi-form's momentum decay
    coefficient and its update ticks (ch. 5, figures "staircase" and "timeline")."""
    paths = quadratic_trajectories(k, beta, **kw)
    steps = len(paths["plain"]) - 1
    t = np.arange(steps + 1)
    fig, (ax, strip) = style.figure(2, 1, size=(6.4, 4.4), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot(t, paths["plain"], color=_colour("plain"), lw=1.2, label=_LABELS["plain"])
    for v, ls in (("sparse", ":"), ("beta_tilde", "--"), ("chi", "-")):
        ax.step(t, paths[v], where="post", color=_colour(v), ls=ls, lw=2.0 if v == "chi" else 1.6, label=_LABELS[v])
    upd = t[t % k == 0]
    ax.plot(upd, paths["explicit"][upd], "o", mfc="none", color=_colour("explicit"), ms=6,
            label="explicit accumulation (at updates)")
    ax.axhline(0, color="black", lw=0.6)
    gap = np.abs(paths["chi"] - paths["explicit"])[upd].max()
    ax.set_ylabel("θ")
    ax.set_title(f"k = {k}, β = {beta:g}: " + r"$\chi$-form vs explicit accumulation, max $|\Delta\theta|$"
                 + f" = {gap:.1e}",
                 fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    micro = np.arange(1, steps + 1)
    coeff = np.where((micro - 1) % k == 0, beta, 1.0)
    strip.bar(micro, coeff, width=0.8, color=style.PALETTE["sky"])
    moves = micro % k == 0
    strip.plot(micro[moves], np.full(moves.sum(), 1.12), "v", color=style.PALETTE["vermillion"], ms=5)
    strip.set_ylim(0, 1.25)
    strip.set_xlabel("micro-step t")
    strip.set_ylabel(r"$\chi$-form")
    strip.set_title(r"bars: factor on $m_{t-1}$ ($\beta$ at a window's first step, 1 after); ▼: $\theta$ moves",
                    fontsize=8.5)
    return fig


def draw_window_weights(k: int, beta: float, n_windows: int = 3):
    """Stem plots of the weight each micro-gradient carries in the momentum at the last update,
    for the three every-k variants (ch. 5, figure "weights")."""
    fig, axes = style.figure(3, 1, size=(6.4, 4.6), sharex=True, sharey=True)
    t = np.arange(1, k * n_windows + 1)
    for ax, v in zip(axes, VARIANTS):
        w = window_weights(beta, k, n_windows, v)
        ax.vlines(t, 0, w, color=_colour(v), lw=2.2)
        ax.plot(t, w, "o", color=_colour(v), ms=3)
        for edge in range(1, n_windows):
            ax.axvline(edge * k + 0.5, color="black", lw=0.6, ls=":")
        ax.text(0.01, 0.92, f"{VARIANT_LABELS[v]}: total {w.sum():.4f}, newest {w[-1]:.4f}, oldest in window "
                f"{w[-k]:.4f}", transform=ax.transAxes, va="top", fontsize=8.5)
        ax.set_ylabel("weight")
    axes[0].set_title(f"Weight of each micro-gradient in m after {n_windows} windows (k = {k}, β = {beta:g})",
                      fontsize=10)
    axes[-1].set_xlabel("micro-step t (dotted lines: window boundaries)")
    axes[-1].set_ylim(0, None)
    return fig


def draw_beta_tilde_error(ks: Sequence[int] = (2, 4, 8, 32), betas: Sequence[float] = (0.5, 0.9, 0.99, 0.999)):
    """beta_tilde^k - beta against 1 - beta for several k, and against k for several beta with the
    k -> infinity limit e^-(1 - beta) - beta (ch. 5, figure "beta_tilde")."""
    fig, (ax, byk) = style.figure(1, 2, size="wide")
    x = np.geomspace(1e-3, 0.5, 200)  # 1 - beta
    for i, k in enumerate(ks):
        ax.loglog(x, (1 - x / k) ** k - (1 - x), color=style.CYCLE[i], label=f"k = {k}")
    ax.loglog(x, np.exp(-x) - (1 - x), color="black", ls="--", label=r"$k\to\infty$: $e^{-(1-\beta)}-\beta$")
    ax.loglog(x, x**2 / 2, color="grey", ls=":", label=r"$(1-\beta)^2/2$")
    ax.set_xlabel(r"$1-\beta$")
    ax.set_ylabel(r"$\tilde\beta^k-\beta$")
    ax.set_title("Second order in 1 - β", fontsize=10)
    ax.legend(fontsize=8)
    kk = np.unique(np.geomspace(1, 1024, 60).astype(int))
    for i, b in enumerate(betas):
        err = (1 - (1 - b) / kk) ** kk - b
        err[kk == 1] = np.nan  # exactly 0 at k = 1
        byk.loglog(kk, err, color=style.CYCLE[i], label=f"β = {b:g}")
        byk.axhline(np.exp(-(1 - b)) - b, color=style.CYCLE[i], ls="--", lw=0.8)
    byk.set_xlabel("k")
    byk.set_ylabel(r"$\tilde\beta^k-\beta$")
    byk.set_title("Grows with k to a limit (dashed): no help from large k", fontsize=10)
    byk.legend(fontsize=8, loc="lower right")
    return fig


def draw_v_inflation(ks: Sequence[int] = (2, 4, 8), *, trials: int = 20000, seed: int = 0):
    """(mu^2 + sigma^2) / (mu^2 + sigma^2 / k) against mu / sigma, with Monte Carlo dots (ch. 5, figure "v")."""
    fig, ax = style.figure(size="single")
    snr = np.geomspace(0.01, 100, 200)
    dots = np.geomspace(0.03, 30, 7)
    for i, k in enumerate(ks):
        ax.semilogx(snr, [adam_v_inflation(s, 1.0, k) for s in snr], color=style.CYCLE[i], label=f"k = {k}")
        mc = [v_inflation_monte_carlo(s, 1.0, k, trials=trials, seed=seed + j) for j, s in enumerate(dots)]
        ax.semilogx(dots, mc, "o", color=style.CYCLE[i], mfc="white", ms=5)
    ax.set_xlabel("signal-to-noise ratio μ / σ of the micro-gradients")
    ax.set_ylabel(r"E[mean of $g^2$] / E[(mean $g$)$^2$]")
    ax.set_title(r"How much too large the $\chi$-form Adam's $v$ is" + f" (dots: Monte Carlo, {trials:,} windows)",
                 fontsize=10)
    ax.legend()
    return fig


def draw_noise_floor(k: int, lr: float, *, beta: float = 0.9, steps: int = 8000, micro_batch: int = 2,
                     dim: int = 20, noise: float = 1.0, measured: dict | None = None):
    """Exact expected excess risk against micro-steps: plain SGDM at lr and lr / k, and the three
    every-k variants at lr (ch. 5, "A noise floor you can compute"). ``measured`` (from
    :func:`update_frequency_study`) overlays simulated means for the same k and lr."""
    fig, ax = style.figure(size="single")
    common = dict(beta=beta, micro_batch=micro_batch, dim=dim, noise=noise)
    curves = {"plain": (1, lr, "plain"), "lr/k": (1, lr / k, "plain")}
    for v in VARIANTS:
        curves[v] = (k, lr, v)
    floors = {}
    for name, (kk, rate, variant) in curves.items():
        risk = expected_excess_risk(steps // kk, lr=rate, k=kk, variant=variant, **common)
        t = np.arange(len(risk)) * kk
        bad = np.flatnonzero(~(risk < 1e3))
        if bad.size:
            risk, t = risk[: bad[0]], t[: bad[0]]
        ls = {"chi": "-", "beta_tilde": "--", "sparse": ":"}.get(name, "-")
        try:
            floors[name] = stationary_excess_risk(lr=rate, k=kk, variant=variant, **common)
            label = f"{_LABELS[name]}: floor {floors[name]:.4f}"
        except ValueError:
            label = f"{_LABELS[name]}: diverges"
        ax.plot(t, risk, color=_colour(name), ls=ls, lw=2.0 if name == "chi" else 1.4, label=label)
    if measured is not None:
        for name in ("plain", "chi", "lr/k"):
            key = "plain" if name == "plain" else f"k={k} {name}"
            ax.plot(measured["steps"][1:], measured["curves"][key][1:], "o", color=_colour(name), ms=2.5, alpha=0.7)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_yscale("log")
    ax.set_ylim(3e-3, 5)
    ax.set_xlim(0, steps)
    ax.set_xlabel("micro-step")
    ax.set_ylabel(r"$E\,\|w-w^*\|^2$ (exact)")
    what = " (dots: measured)" if measured is not None else ""
    ax.set_title(f"B = {micro_batch}, D = {dim}, σ = {noise:g}, β = {beta:g}, k = {k}, lr = {lr:g}{what}",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    return fig


def draw_update_frequency(study: dict, theory: dict):
    """Measured noise floor of each run (dots per problem, bar = mean) with the exact value (black tick)."""
    labels = list(study["score"])
    fig, ax = style.figure(size="wide")
    for i, label in enumerate(labels):
        name = label.split(" ")[-1]
        ax.bar(i, study["score"][label], color=_colour(name), alpha=0.75)
        pts = study["score_per_problem"][label]
        ax.plot(np.full(len(pts), i) + np.linspace(-0.2, 0.2, len(pts)), pts, "o", color="black", ms=2.5)
        ax.plot([i - 0.4, i + 0.4], [theory[label]] * 2, color="black", lw=2)
    ax.set_xticks(range(len(labels)), [lab.replace("beta_tilde", r"$\tilde\beta$").replace("chi", r"$\chi$")
                                       for lab in labels], rotation=20)
    ax.set_yscale("log")
    ax.set_ylabel("excess risk, last quarter")
    ax.set_title("Bars: measured mean; dots: each problem; black ticks: exact noise floor")
    return fig


def draw_adam_drift(study: dict, k: int):
    """Excess risk of the Adam variants and the ratio of the chi-form's v_hat to explicit accumulation's."""
    fig, (ax, rat) = style.figure(1, 2, size="wide")
    for name in ("explicit", *VARIANTS):
        r = study[name]
        ls = {"beta_tilde": "--", "sparse": ":"}.get(name, "-")
        ax.plot(r["steps"], r["risk"], color=_colour(name), lw=1.4, ls=ls,
                label=_LABELS[name].replace("SGDM", "Adam"))
    ax.set_yscale("log")
    ax.set_xlabel("micro-step")
    ax.set_ylabel(r"mean $\|w-w^*\|^2$")
    ax.set_title(f"Adam, k = {k}")
    ax.legend(fontsize=8)
    ok = study["explicit"]["v_hat"] > 0
    ratio = study["chi"]["v_hat"][ok] / study["explicit"]["v_hat"][ok]
    rat.plot(study["chi"]["steps"][ok], ratio, color=_colour("chi"))
    rat.axhline(k, color="black", ls="--", lw=1, label=f"k = {k} (pure noise)")
    rat.axhline(1, color="grey", ls=":", lw=1, label="1 (no noise)")
    rat.set_xlabel("micro-step")
    rat.set_ylabel(r"mean $\hat v$ ($\chi$-form) / mean $\hat v$ (explicit)")
    rat.set_title(r"The $\chi$-form's second moment is too large", fontsize=10)
    rat.legend(fontsize=8)
    return fig


def draw_mlp_study(study: dict):
    """Test accuracy per replicate of each Adam variant on the mixture task (ch. 5, E5-5)."""
    fig, ax = style.figure(size="single")
    names, bayes = list(study["variants"]), study["bayes"]
    for i, name in enumerate(names):
        acc = study["variants"][name]["accuracy"]
        ax.plot(np.full(len(acc), i), acc, "o", color=_colour(name), ms=6)
        ax.plot([i - 0.3, i + 0.3], [acc.mean()] * 2, color=_colour(name), lw=2)
    if True:
        ax.axhline(bayes, color="black", ls="--", lw=1, label=f"Bayes classifier {bayes:.3f}")
        ax.legend(loc="lower right")
    ax.set_xticks(range(len(names)), [_LABELS[n].replace("SGDM", "Adam").replace(" (every micro-step)", "")
                                      for n in names], rotation=20, fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_title("MLP with Adam on a noisy 3-class mixture (dots: replicates, bars: means)")
    return fig
