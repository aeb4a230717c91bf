"""The figures of chapter 6; each ``draw_*`` returns a matplotlib Figure made with :mod:`lib.style`.

The chapter shows each figure statically, then lets the reader drive it. The simulations behind the
driven figures are cached (:func:`functools.lru_cache`), so that a slider's images share their runs.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from lib import checks, style

from .activations import ACTIVATIONS, activation_moment
from .attention import attention_logit_stats, attention_logits, softmax_rows
from .ntk import relative_change_after_step
from .propagation import NORMS, mean_field_second_moment, propagate_second_moment
from .residual import RESIDUAL_FORMS, alpha_ramp, residual_path_weights, residual_stack, residual_theory
from .sampling import sample_truncated_normal, truncated_normal_moments, truncation_correction, uniform_bounds

DEPTH_CURVES = (  # (activation, scheme, label, palette colour)
    ("linear", "lecun", "linear, LeCun", "black"),
    ("relu", "lecun", "ReLU, LeCun", "vermillion"),
    ("relu", "he", "ReLU, He", "orange"),
    ("tanh", "lecun", "tanh, LeCun", "sky"),
    ("sigmoid", "lecun", "sigmoid, LeCun", "green"),
    ("sigmoid_rescaled", "lecun", "sigmoid/√0.2934, LeCun", "blue"),
    ("selu", "lecun", "SELU, LeCun", "purple"),
)
NORM_LABELS = {None: "no normalization", "layer": "LayerNorm", "rms": "RMSNorm"}


@lru_cache(maxsize=256)
def _depth_run(activation: str, scheme: str, init_scale: float, norm: str | None, depth: int, width: int,
               batch: int, seed: int) -> dict[str, np.ndarray]:
    return propagate_second_moment(depth, width, activation, scheme, init_scale, norm, batch, seed)


def draw_init_distributions(sigma: float = 1.0, n: int = 200_000, seed: int = 0):
    """Densities and samples of four initializers aimed at variance sigma²: normal, uniform,
    TF-style truncated normal (±2 std) as passed, and with the std corrected by 1.1368."""
    from scipy.stats import norm as normal_dist
    from scipy.stats import truncnorm

    sigma = checks.real("sigma", sigma, above=0)
    rng = np.random.default_rng(seed)
    corr = truncation_correction(2.0)
    lo, hi = uniform_bounds(0.0, sigma)
    samples = {
        "normal": rng.normal(0, sigma, n),
        "uniform": rng.uniform(lo, hi, n),
        "truncated, std σ": sample_truncated_normal(n, 0, sigma, rng=rng),
        "truncated, std 1.1368σ": sample_truncated_normal(n, 0, corr * sigma, rng=rng),
    }
    x = np.linspace(-3.5 * sigma, 3.5 * sigma, 701)
    pdfs = {
        "normal": normal_dist(0, sigma).pdf(x),
        "uniform": np.where((x >= lo) & (x <= hi), 1 / (hi - lo), 0.0),
        "truncated, std σ": truncnorm(-2, 2, scale=sigma).pdf(x),
        "truncated, std 1.1368σ": truncnorm(-2, 2, scale=corr * sigma).pdf(x),
    }
    colours = ["black", "orange", "vermillion", "blue"]
    fig, ax = style.figure(size="wide")
    bins = np.linspace(x[0], x[-1], 90)
    for (name, s), c in zip(samples.items(), colours):
        ax.hist(s, bins=bins, density=True, histtype="stepfilled", alpha=0.12, color=style.PALETTE[c])
        ax.plot(x, pdfs[name], color=style.PALETTE[c], label=f"{name}: sample variance {s.var() / sigma**2:.4f} σ²")
    ax.set_xlabel(f"weight value (σ = {sigma:g})")
    ax.set_ylabel("density")
    ax.set_title("Four ways to draw weights aimed at variance σ² (curves: densities; shading: samples)")
    ax.legend(loc="upper right")
    return fig


def draw_truncation(c: float = 2.0):
    """Left: N(0,1) truncated at ±c against the corrected version (std × 1/sqrt(gamma(c)),
    still cut at ±c of the std passed). Right: gamma(c) and the correction against c."""
    from scipy.stats import norm as normal_dist
    from scipy.stats import truncnorm

    c = checks.real("c", c, above=0)
    gamma = truncated_normal_moments(-c, c)[1]
    corr = 1 / math.sqrt(gamma)
    fig, (ax, bx) = style.figure(1, 2, size="wide")
    x = np.linspace(-4.6, 4.6, 801)
    ax.plot(x, normal_dist.pdf(x), color=style.PALETTE["black"], lw=1.2, label="N(0, 1), variance 1")
    ax.fill_between(x, truncnorm(-c, c).pdf(x), color=style.PALETTE["vermillion"], alpha=0.25)
    ax.plot(x, truncnorm(-c, c).pdf(x), color=style.PALETTE["vermillion"],
            label=f"cut at ±{c:g}: variance {gamma:.4f}")
    ax.plot(x, truncnorm(-c, c, scale=corr).pdf(x), color=style.PALETTE["blue"],
            label=f"std × {corr:.4f}, cut at ±{c:g}·std: variance 1")
    ax.set_ylim(0, 1.15 * max(truncnorm(-c, c).pdf(0.0), 0.45))
    ax.set_xlabel("value")
    ax.set_ylabel("density")
    ax.set_title(f"Truncating at ±{c:g} std keeps {math.erf(c / math.sqrt(2)):.1%} of draws")
    ax.legend(loc="upper left", fontsize=8)
    cs = np.linspace(0.3, 4.0, 200)
    gammas = np.array([truncated_normal_moments(-t, t)[1] for t in cs])
    bx.plot(cs, gammas, color=style.PALETTE["vermillion"], label="variance factor γ(c)")
    bx.plot(cs, 1 / np.sqrt(gammas), color=style.PALETTE["blue"], label="std correction 1/√γ(c)")
    bx.axvline(2.0, color=style.PALETTE["grey"], ls=":", lw=1)
    bx.text(2.05, 2.6, "TensorFlow: c = 2", fontsize=8, color=style.PALETTE["grey"])
    bx.plot([c, c], [gamma, corr], "o", color=style.PALETTE["black"], ms=5)
    bx.set_ylim(0, 3.5)
    bx.set_xlabel("truncation half-width c (in std)")
    bx.set_title(f"c = {c:g}: γ = {gamma:.4f}, correction {corr:.4f}")
    bx.legend(loc="upper right", fontsize=8)
    return fig


def draw_depth_propagation(init_scale: float = 1.0, norm: str | None = None, *, depth: int = 50,
                           width: int = 256, batch: int = 128, seed: int = 0):
    """Second moment of the pre-activations (left) and the share of it that varies across
    inputs (right, across-input variance / second moment) against depth, for the
    activation/initialization pairs of :data:`DEPTH_CURVES`; dashed:
    the infinite-width recursion :func:`mean_field_second_moment`."""
    init_scale = checks.real("init_scale", init_scale, above=0)
    checks.choice("norm", norm, NORMS)
    fig, (ax, bx) = style.figure(1, 2, size=(9.0, 3.9))
    layers = np.arange(1, depth + 1)
    for act, scheme, label, colour in DEPTH_CURVES:
        run = _depth_run(act, scheme, float(init_scale), norm, depth, width, batch, seed)
        col = style.PALETTE[colour]
        ax.plot(layers, run["second_moment"], color=col, label=label, lw=1.5)
        ax.plot(layers, mean_field_second_moment(depth, act, init_scale, scheme, norm), color=col, ls="--", lw=0.9)
        share = run["across_input_variance"] / run["second_moment"]
        bx.plot(layers, np.maximum(share, 1e-300), color=col, lw=1.5)
    for a in (ax, bx):
        a.set_yscale("log")
        a.set_xlabel("layer")
    ax.set_ylim(1e-18, 1e18)
    bx.set_ylim(1e-24, 3)
    ax.set_ylabel("E[h²] (pre-activation)")
    ax.set_title(f"second moment; weight variance × {init_scale:g}, {NORM_LABELS[norm]}", fontsize=10)
    bx.set_ylabel("share of E[h²] that varies across inputs")
    bx.set_title("do different inputs stay different?", fontsize=10)
    ax.legend(loc="lower left", fontsize=7, ncol=2)
    return fig


def draw_activation_moments():
    """Bar chart of E[f(z)²] for z ~ N(0, 1), split into mean² and variance, per activation."""
    names = {"linear": "identity", "relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid", "gelu": "GELU",
             "selu": "SELU", "sigmoid_rescaled": "sigmoid/√0.2934"}
    m1 = np.array([activation_moment(ACTIVATIONS[k], 1) for k in names])
    m2 = np.array([activation_moment(ACTIVATIONS[k], 2) for k in names])
    fig, ax = style.figure(size="single")
    pos = np.arange(len(names))
    ax.bar(pos, m1**2, color=style.PALETTE["orange"], label="mean² E[f]²")
    ax.bar(pos, m2 - m1**2, bottom=m1**2, color=style.PALETTE["blue"], label="variance")
    for p, v in zip(pos, m2):
        ax.text(p, v + 0.02, f"{v:.4f}", ha="center", fontsize=8)
    ax.axhline(1.0, color=style.PALETTE["grey"], ls="--", lw=1)
    ax.set_xticks(pos, list(names.values()), fontsize=8)
    ax.set_ylim(0, 1.4)
    ax.set_ylabel("E[f(z)²], z ~ N(0, 1)")
    ax.set_title("Second moment after each activation (a LeCun layer keeps it as it is)")
    ax.legend(loc="upper center", fontsize=8, ncol=2)
    return fig


def draw_attention_saturation(d_values=(4, 8, 16, 32, 64, 128, 256, 512, 1024), n_keys: int = 64,
                              n_trials: int = 4000, seed: int = 0):
    """Mean largest attention weight, mean entropy and mean softmax-Jacobian norm against the
    head dimension d, with and without dividing the logits by sqrt(d)."""
    fig, axes = style.figure(1, 3, size="wide")
    stats = {s: [attention_logit_stats(d, n_keys, s, n_trials=n_trials, seed=seed + i) for i, d in enumerate(d_values)]
             for s in ("none", "sqrt")}
    keys = [("mean_max_weight", "largest weight"), ("mean_entropy", "entropy (nats)"),
            ("mean_jacobian_norm", "‖softmax Jacobian‖_F")]
    for ax, (key, label) in zip(axes, keys):
        for s, colour, name in (("none", "vermillion", "q·k"), ("sqrt", "blue", "q·k / √d")):
            ax.plot(d_values, [st[key] for st in stats[s]], "o-", ms=3.5, color=style.PALETTE[colour], label=name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("head dimension d")
        ax.set_title(label)
    axes[0].axhline(1 / n_keys, color=style.PALETTE["grey"], ls=":", lw=1)
    axes[1].axhline(math.log(n_keys), color=style.PALETTE["grey"], ls=":", lw=1)
    axes[1].text(d_values[0], math.log(n_keys) - 0.35, "uniform", fontsize=8, color=style.PALETTE["grey"])
    axes[0].legend(loc="center right", fontsize=8)
    axes[0].set_ylim(0, 1)
    return fig


def draw_attention_weights(d: int = 64, scaling: str = "sqrt", n_keys: int = 64, n_trials: int = 2000,
                           seed: int = 0):
    """Left: sorted attention weights of five random queries over ``n_keys`` random keys.
    Right: histogram of the largest weight over ``n_trials`` queries."""
    logits = attention_logits(d, n_keys, n_trials, scaling=scaling, seed=seed)
    p = softmax_rows(logits)  # (trials, keys)
    fig, (ax, bx) = style.figure(1, 2, size="wide")
    ranks = np.arange(1, n_keys + 1)
    for i, colour in enumerate(("blue", "orange", "green", "vermillion", "purple")):
        ax.plot(ranks, np.sort(p[i])[::-1], "o-", ms=2.5, lw=1, color=style.PALETTE[colour])
    ax.axhline(1 / n_keys, color=style.PALETTE["grey"], ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_ylim(1e-12, 1.5)
    ax.set_xlabel("key, sorted by weight")
    ax.set_ylabel("attention weight")
    shown = "q·k / √d" if scaling == "sqrt" else "q·k (not divided)"
    ax.set_title(f"d = {d}, logits {shown}: five queries")
    pmax = p.max(axis=1)
    bx.hist(pmax, bins=np.linspace(0, 1, 41), color=style.PALETTE["vermillion" if scaling == "none" else "blue"])
    bx.set_xlim(0, 1)
    bx.set_xlabel("largest weight of a query")
    bx.set_ylabel("queries")
    bx.set_title(f"mean largest weight {pmax.mean():.3f}; > 0.99 in {np.mean(pmax > 0.99):.0%}")
    return fig


def draw_ntk_relative_change(widths=(16, 64, 256, 1024, 4096), lr: float = 1e-2, seed: int = 0):
    """Relative weight change after one Adam step against width: NTK vs standard (LeCun)."""
    fig, ax = style.figure(size="single")
    for par, colour, name in (("standard", "vermillion", "standard (weights ~ N(0, 1/m))"),
                              ("ntk", "blue", "NTK (weights ~ N(0, 1), output ÷ √m)")):
        rel = [relative_change_after_step(m, par, "adam", lr, seed=seed) for m in widths]
        ax.plot(widths, rel, "o", color=style.PALETTE[colour], label=name)
    w = np.array(widths, dtype=float)
    ax.plot(w, lr * np.sqrt(w), color=style.PALETTE["vermillion"], lw=1, ls="--", label="lr·√m")
    ax.plot(w, np.full_like(w, lr), color=style.PALETTE["blue"], lw=1, ls="--", label="lr")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("fan-in m")
    ax.set_ylabel("‖ΔW‖ / ‖W‖ after one step")
    ax.set_title(f"One Adam step at lr = {lr:g}: how much do the weights move?")
    ax.legend(loc="upper left", fontsize=8)
    return fig


@lru_cache(maxsize=32)
def _residual_run(mode: str, alpha: float, depth: int, width: int, batch: int, seed: int) -> dict[str, np.ndarray]:
    return residual_stack(depth, width, mode, alpha=alpha, batch=batch, seed=seed)


def draw_residual_paths(form: str = "Post-Norm", depth: int = 12, *, max_depth: int = 24, width: int = 256,
                        batch: int = 64, seed: int = 0):
    """Left: weight of each path into x_l (the article's unrolled sums). Right: cosine between
    x_t and x_0 over depth, simulated (markers) and predicted (lines), for every form."""
    checks.choice("form", form, RESIDUAL_FORMS)
    depth = checks.integer("depth", depth, at_least=1)
    max_depth = max(checks.integer("max_depth", max_depth, at_least=1), depth)
    colours = dict(zip(RESIDUAL_FORMS, ("vermillion", "blue", "green", "orange", "purple")))
    fig, (ax, bx) = style.figure(1, 2, size="wide")
    weights = residual_path_weights(depth, form)
    labels = ["x₀"] + [f"F{j}" for j in range(depth)]
    ax.bar(np.arange(depth + 1), weights, color=style.PALETTE[colours[form]])
    step = max(1, (depth + 1) // 8)
    ax.set_xticks(np.arange(depth + 1)[::step], labels[::step], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel(f"weight in x_{depth}")
    mode, alpha = RESIDUAL_FORMS[form]
    ms = _residual_run(mode, alpha, max_depth, width, batch, seed)["second_moment"][depth]
    ax.set_title(f"{form}, l = {depth}: E[x_l²] = {ms:.3g}")
    t = np.arange(max_depth + 1)
    for name, (m, a) in RESIDUAL_FORMS.items():
        run = _residual_run(m, a, max_depth, width, batch, seed)
        lw, alpha_line = (2.2, 1.0) if name == form else (1.0, 0.45)
        bx.plot(t, residual_theory(max_depth, m, a)["corr"], color=style.PALETTE[colours[name]], lw=lw,
                alpha=alpha_line, label=name)
        bx.plot(t[::2], run["corr"][::2], "o", ms=3, color=style.PALETTE[colours[name]], alpha=alpha_line)
    bx.axvline(depth, color=style.PALETTE["grey"], ls=":", lw=1)
    bx.set_ylim(0, 1.05)
    bx.set_xlabel("layer t")
    bx.set_ylabel("cos(x_t, x_0)")
    bx.set_title("how much of the input survives (lines: theory)")
    bx.legend(loc="upper right", fontsize=8)
    return fig


def draw_alpha_ramp(increments=(1 / 200, 1 / 1000, 1 / 4000), steps: int = 5000):
    """The article's schedule alpha(step) = min(1, step · increment) for a few increments."""
    fig, ax = style.figure(size=(6.4, 2.6))
    s = np.arange(steps + 1)
    for inc, colour in zip(increments, ("blue", "orange", "green", "vermillion")):
        ax.plot(s, [alpha_ramp(int(k), inc) for k in s], color=style.PALETTE[colour],
                label=f"increment {inc:.2g}: α = 1 after {math.ceil(1 / inc)} steps")
    ax.set_xlabel("training step")
    ax.set_ylabel("α")
    ax.set_title("α-residual: start as the identity, grow α by a fixed step, freeze at 1")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_retrieval_training(runs: dict[str, list[dict]], n_keys: int = 32):
    """Training loss of :func:`train_key_retrieval` per variant (thin: seeds; thick: their mean)."""
    names = {"sqrt": ("LeCun, logits ÷ √d", "blue"), "none": ("LeCun, no division", "vermillion"),
             "t5": ("T5 init, no division", "green")}
    fig, ax = style.figure(size="single")
    steps = 1
    for variant, results in runs.items():
        label, colour = names[checks.choice("variant", variant, names)]
        curves = np.array([r["loss"] for r in results])  # (seeds, steps)
        for c in curves:
            ax.plot(c, color=style.PALETTE[colour], lw=0.6, alpha=0.35)
        ax.plot(curves.mean(axis=0), color=style.PALETTE[colour], lw=1.8, label=label)
        steps = max(steps, curves.shape[1])
    ax.axhline(math.log(n_keys), color=style.PALETTE["grey"], ls=":", lw=1)
    ax.text(0.55 * steps, math.log(n_keys) * 1.15, f"log {n_keys}: uniform attention", fontsize=8,
            color=style.PALETTE["grey"])
    ax.set_yscale("log")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("cross-entropy")
    ax.set_title("One attention head learning to retrieve the matching key")
    ax.legend(loc="upper right", fontsize=8)
    return fig
