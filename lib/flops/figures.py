"""The figures of chapter 2; each ``draw_*`` returns a matplotlib Figure.

Figures are made with :mod:`lib.style`. Measured times come in as a :class:`~lib.flops.timing.LayerTimings`
and are labelled as measured when the page was built.
Chapter 2, after Su Jianlin, kexue.fm/archives/8610.
"""
from __future__ import annotations

import numpy as np

from lib import style

from .counts import (_positive_int, _shape, layer_mults, linear_attention_mults, linear_speedup,
                     linear_vs_standard_crossover, quadratic_dominance_length, sa_ffn_crossover,
                     standard_attention_core_mults)
from .timing import SOFTMAX_STAGES, LayerTimings, achieved_gflops, crossover_length


_PART_COLOURS = {"projections": "sky", "QKᵀ": "vermillion", "softmax": "purple", "weights × V": "orange",
                 "FFN": "blue"}


def _length_grid(n_min, n_max) -> np.ndarray:
    """About 200 integer lengths from n_min to n_max, evenly spaced in log (repeats dropped)."""
    n_min, n_max = _positive_int("n_min", n_min), _positive_int("n_max", n_max)
    return np.unique(np.geomspace(n_min, n_max, 200).astype(np.int64))


def _mark_thresholds(ax, H: int, Fd: int, labels: bool = True) -> None:
    """Vertical lines at n = F - 2H (dashed, SA = FFN) and n = 2H + F (dotted, n² term = linear terms)."""
    for x, text, ls in ((sa_ffn_crossover(H, Fd), "SA = FFN", "--"), (quadratic_dominance_length(H, Fd), "n² = linear", ":")):
        if x > 0:
            ax.axvline(x, color=style.PALETTE["black"], ls=ls, lw=1, label=f"{text} at n = {x:,}" if labels else None)


def draw_cost_breakdown(heads: int = 12, head_dim: int = 64, ffn_mult: int = 4,
                        n_min: int = 16, n_max: int = 65536):
    """Per-layer multiplications against n: shares of each part (left), total and its two terms (right).

    Lines mark SA = FFN (n = F - 2H) and quadratic = linear (n = 2H + F); the band is n <= 512.
    """
    h, d, m = (_positive_int(k, v) for k, v in (("heads", heads), ("head_dim", head_dim), ("ffn_mult", ffn_mult)))
    H, Fd = h * d, ffn_mult * h * d
    n = _length_grid(n_min, n_max)
    c = {k: np.asarray(v, float) for k, v in layer_mults(n, H, h, Fd).items()}
    parts = {"FFN": c["ffn"], "projections": c["qkv_proj"] + c["out_proj"], "QKᵀ": c["scores"],
             "weights × V": c["weighted_sum"]}
    fig, (a1, a2) = style.figure(1, 2, size="wide")
    a1.stackplot(n, *(v / c["total"] for v in parts.values()), labels=list(parts),
                 colors=[style.PALETTE[_PART_COLOURS[k]] for k in parts], alpha=0.85)
    a1.axhline(0.5, color=style.PALETTE["black"], lw=0.8)
    a1.set(xscale="log", xlim=(n[0], n[-1]), ylim=(0, 1), xlabel="sequence length n", ylabel="share of the layer's multiplications")
    _mark_thresholds(a1, H, Fd, labels=False)
    handles, names = a1.get_legend_handles_labels()
    a1.legend(handles[::-1], names[::-1], loc="upper left", fontsize=8, framealpha=0.85, frameon=True)
    a2.loglog(n, c["total"], color=style.PALETTE["black"], label="layer total")
    a2.loglog(n, c["linear_part"], color=style.PALETTE["blue"], ls="--", label="linear part (projections + FFN)")
    a2.loglog(n, c["quadratic_part"], color=style.PALETTE["vermillion"], ls="--", label="quadratic part 2n²hd")
    a2.axvspan(n[0], 512, color=style.PALETTE["grey"], alpha=0.15, lw=0, label="n ≤ 512 (usual BERT inputs)")
    _mark_thresholds(a2, H, Fd)
    a2.set(xlim=(n[0], n[-1]), xlabel="sequence length n", ylabel="multiplications per layer")
    a2.legend(loc="upper left", fontsize=8)
    for ax in (a1, a2):
        ax.minorticks_off()  # log-axis minor ticks triple the drawing time of a slider's worth of images
    fig.suptitle(f"h = {h} heads of size d = {d} (hd = {H}, FFN {Fd}): at n = 512 the n² terms are "
                 f"{layer_mults(512, H, h, Fd)['quadratic_share']:.1%} of the layer", fontsize=10)
    return fig


def draw_linear_vs_standard(expand: int = 4, head_dim: int = 64, heads: int = 12,
                            n_min: int = 16, n_max: int = 65536):
    """Attention-core cost of softmax vs linear attention (left) and whole-layer speed-up (right) against n.

    The speed-up counts multiplications with the projections kept (the article) and, dashed, grown e times.
    """
    e, d, h = (_positive_int(k, v) for k, v in (("expand", expand), ("head_dim", head_dim), ("heads", heads)))
    H = h * d
    n = _length_grid(n_min, n_max)
    fig, (a1, a2) = style.figure(1, 2, size="wide")
    a1.loglog(n, np.asarray(standard_attention_core_mults(n, h, d), float), color=style.PALETTE["black"],
              label="softmax 2n²hd")
    a1.loglog(n, np.asarray(linear_attention_mults(n, h, d, 1), float), color=style.PALETTE["green"],
              label="linear, same d: 2nhd²")
    a1.loglog(n, np.asarray(linear_attention_mults(n, h, d, e), float), color=style.PALETTE["vermillion"],
              label=f"linear, {e}× wider heads: 2nh({e}d)²")
    for x, col in ((linear_vs_standard_crossover(d, 1), "green"), (linear_vs_standard_crossover(d, e), "vermillion")):
        a1.axvline(x, color=style.PALETTE[col], ls=":", lw=1)
    a1.set(xlim=(n[0], n[-1]), xlabel="sequence length n", ylabel="attention-core multiplications")
    a1.legend(loc="upper left", fontsize=8)
    a2.semilogx(n, linear_speedup(n, H, h, 4 * H, 1), color=style.PALETTE["green"], label="linear, same d")
    a2.semilogx(n, linear_speedup(n, H, h, 4 * H, e), color=style.PALETTE["vermillion"], label=f"linear, {e}× wider heads")
    a2.semilogx(n, linear_speedup(n, H, h, 4 * H, e, grow_projections=True), color=style.PALETTE["vermillion"],
                ls="--", label=f"… and projections grown {e}×")
    a2.axhline(1, color=style.PALETTE["black"], lw=1)
    a2.axvline(linear_vs_standard_crossover(d, e), color=style.PALETTE["vermillion"], ls=":", lw=1)
    a2.axvspan(n[0], 512, color=style.PALETTE["grey"], alpha=0.15, lw=0)
    a2.set(xlim=(n[0], n[-1]), yscale="log", xlabel="sequence length n", ylabel="whole-layer speed-up (×)")
    a2.legend(loc="upper left", fontsize=8)
    for ax in (a1, a2):
        ax.minorticks_off()
    at512 = linear_speedup(512, H, h, 4 * H, e)
    fig.suptitle(f"d = {d}, h = {h}, heads {e}× wider: break-even at n = e²d = {linear_vs_standard_crossover(d, e):,}; "
                 f"at n = 512 the layer runs {at512:.2f}× as fast", fontsize=10)
    return fig


def draw_flop_check(check: dict):
    """FLOPs counted by PyTorch against 2 x the article's count (left) and their ratio (right), from :func:`flop_check`."""
    n = np.asarray(check["lengths"])
    grid = np.unique(np.geomspace(n.min() / 1.5, n.max() * 1.5, 100).astype(np.int64))
    fig, (a1, a2) = style.figure(1, 2, size="wide")
    a1.loglog(grid, 2 * np.asarray(layer_mults(grid)["total"], float), color=style.PALETTE["black"],
              label="2 × article's multiplications")
    a1.loglog(n, check["explicit"], "o", color=style.PALETTE["blue"], label="counted: explicit matmuls")
    a1.loglog(n, check["sdpa"], "x", ms=8, color=style.PALETTE["vermillion"], label="counted: fused SDPA on CPU")
    a1.set(xlabel="sequence length n", ylabel="forward FLOPs of one BERT-base layer")
    a1.legend(loc="upper left", fontsize=8)
    a2.semilogx(n, check["explicit"] / check["analytic"], "o-", color=style.PALETTE["blue"], label="explicit matmuls")
    a2.semilogx(n, check["sdpa"] / check["analytic"], "x-", ms=8, color=style.PALETTE["vermillion"], label="fused SDPA")
    a2.semilogx(grid, 1 - np.asarray(layer_mults(grid)["quadratic_share"]), color=style.PALETTE["grey"], ls="--",
                lw=1, label="1 − n² share")
    a2.set(xlabel="sequence length n", ylabel="counted / expected", ylim=(0.5, 1.05))
    a2.legend(loc="lower left", fontsize=8)
    return fig


def _length_ticks(ax, n) -> None:
    ax.set_xscale("log")
    ax.set_xticks(n, [str(int(v)) for v in n], minor=False)
    ax.minorticks_off()


def draw_time_ratio(t: LayerTimings, hidden: int = 768, ffn_dim: int | None = None):
    """Measured SA/FFN time ratio beside the multiplication ratio (left) and each part's FLOP rate (right)."""
    H, _, Fd = _shape(hidden, None, ffn_dim)
    n = t.lengths
    c = {k: np.asarray(v, float) for k, v in layer_mults(n, H, 1, Fd).items()}
    fig, (a1, a2) = style.figure(1, 2, size="wide")
    a1.plot(n, c["sa"] / c["ffn"], "s--", color=style.PALETTE["black"], label="multiplications (article)")
    for clock, marker, col in (("wall", "o-", "vermillion"), ("cpu", "^:", "orange")):
        a1.plot(n, t.ratio("SA", "FFN", clock), marker, color=style.PALETTE[col],
                label=f"measured {'wall' if clock == 'wall' else 'thread CPU'} time")
    a1.axhline(1, color=style.PALETTE["grey"], lw=1)
    cross = crossover_length(n, t.ratio("SA", "FFN"))
    if cross is not None:
        a1.axvline(cross, color=style.PALETTE["vermillion"], ls=":", lw=1)
    a1.axvline(sa_ffn_crossover(H, Fd), color=style.PALETTE["black"], ls=":", lw=1)
    _length_ticks(a1, n)
    a1.set_yscale("log")
    ticks = [v for v in (0.25, 0.5, 1, 2, 4, 8, 16) if 0.5 * a1.get_ylim()[0] <= v <= 2 * a1.get_ylim()[1]]
    a1.set_yticks(ticks, [f"{v:g}" for v in ticks])
    a1.minorticks_off()
    a1.set(xlabel="sequence length n", ylabel="self-attention / FFN")
    a1.legend(loc="upper left", fontsize=8)
    colours = {"projections": "sky", "n² attention": "vermillion", "FFN": "blue"}
    for g, rate in achieved_gflops(t, H, Fd).items():
        a2.plot(n, rate, "o-", color=style.PALETTE[colours[g]], label=g + (" (time incl. softmax)" if g == "n² attention" else ""))
    _length_ticks(a2, n)
    a2.set(xlabel="sequence length n", ylabel="GFLOP/s achieved (wall)", ylim=(0, None))
    a2.legend(loc="lower left", fontsize=8)
    reps = t.stages["wall"]["qkv_proj"].shape[0]
    fig.suptitle(f"Measured when this page was built: BERT-base layer, batch 1, {t.threads} thread, fastest of {reps} runs",
                 fontsize=10)
    return fig


def draw_time_shares(n: int, t: LayerTimings, hidden: int = 768, ffn_dim: int | None = None):
    """Share of each part in the layer's multiplications vs in its measured wall time, at one timed length n."""
    H, _, Fd = _shape(hidden, None, ffn_dim)
    timed = [int(v) for v in t.lengths]
    if _positive_int("n", n) not in timed:
        raise ValueError(f"n={n!r} was not timed; choose one of {timed}")
    j = timed.index(int(n))
    c = layer_mults(int(n), H, 1, Fd)
    mult = {"projections": c["qkv_proj"] + c["out_proj"], "QKᵀ": c["scores"], "softmax": 0,
            "weights × V": c["weighted_sum"], "FFN": c["ffn"]}
    best = {k: t.best(k)[j] for k in SOFTMAX_STAGES}
    secs = {"projections": best["qkv_proj"] + best["out_proj"], "QKᵀ": best["scores"], "softmax": best["softmax"],
            "weights × V": best["weighted_sum"], "FFN": best["ffn_up"] + best["ffn_down"]}
    fig, ax = style.figure(size=(6.4, 2.8))
    for row, vals in enumerate((mult, secs)):
        total, left = sum(vals.values()), 0.0
        for k, v in vals.items():
            w = v / total
            ax.barh(row, w, left=left, color=style.PALETTE[_PART_COLOURS[k]], label=k if row == 0 else None,
                    edgecolor="white")
            if w > 0.05:
                ax.text(left + w / 2, row, f"{w:.0%}", ha="center", va="center", fontsize=8, color="white")
            left += w
    ax.set_yticks([0, 1], ["multiplications\n(article)", "measured\nwall time"])
    ax.set(xlim=(0, 1), ylim=(1.5, -0.5), xlabel="share of one BERT-base layer's forward pass")
    ax.grid(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=5, fontsize=8)
    ax.set_title(f"n = {n}: self-attention / FFN = {c['sa'] / c['ffn']:.2f} in multiplications, "
                 f"{t.ratio('SA', 'FFN')[j]:.2f} in wall time\n(time measured when this page was built)", fontsize=9)
    return fig


def draw_core_times(t: LayerTimings, heads: int = 12, head_dim: int = 64):
    """Measured wall time of the softmax core and the linear cores against n, with the predicted break-evens."""
    h, d = _positive_int("heads", heads), _positive_int("head_dim", head_dim)
    n = t.lengths
    fig, ax = style.figure(size="single")
    ax.plot(n, t.best("n² attention") * 1e3, "o-", color=style.PALETTE["black"], label="softmax core: QKᵀ, softmax, × V")
    for label, col in zip(t.cores["wall"], ["green", "vermillion", "purple", "orange"]):
        e = int(label.split("=")[1])
        ax.plot(n, t.best_core(label) * 1e3, "o-", color=style.PALETTE[col],
                label=f"{label}: φ, φ(K)ᵀV, φ(Q)(·), normaliser; e²d = {linear_vs_standard_crossover(d, e):,}")
        ax.axvline(linear_vs_standard_crossover(d, e), color=style.PALETTE[col], ls=":", lw=1)
    _length_ticks(ax, n)
    ax.set_yscale("log")
    ax.set(xlabel="sequence length n", ylabel="milliseconds (fastest run)", xlim=(n[0] / 1.3, n[-1] * 1.3))
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"Attention cores, h = {h}, d = {d}, {t.threads} thread: measured when this page was built", fontsize=9)
    return fig

