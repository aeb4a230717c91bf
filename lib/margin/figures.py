"""The figures of chapter 1; each ``draw_*`` returns a matplotlib Figure.

Chapter 1, after Su Jianlin, kexue.fm/archives/8656. The chapter shows each figure statically, then
drives it with :func:`lib.figures.drivable_figure`. :mod:`lib.style` (and with it matplotlib) is
imported by the functions that draw, so that importing :mod:`lib.margin` does not.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .ceilings import _n_classes, circle_margin_ceiling, claimed_fraction, margin_regions
from .evaluation import summarize
from .losses import am_softmax_loss_np
from .sphere import (DISTANCES, SQRT_COS, cosine_distance, midpoint_ratio, random_unit_vectors,
                     retrieval_condition, sqrt_cosine_distance, triangle_violations, unit_vectors)


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
