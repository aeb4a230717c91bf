"""Softmax with a temperature: the small worked example of "How to read this book".

    softmax(z / T)_i = exp(z_i / T) / sum_j exp(z_j / T)

A low temperature T sharpens the distribution towards the arg max, a high one flattens it
towards uniform. The same knob reappears as the scale s of AM-Softmax (chapter 1) and as the
temperature of InfoNCE (chapter 3).
"""
from __future__ import annotations

import numpy as np

DEFAULT_LOGITS = np.array([2.0, 1.0, 0.5, 0.0, -1.0])


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """Return ``softmax(logits / temperature)`` along the last axis, computed stably.

    Subtracting the maximum before exponentiating leaves the result unchanged and keeps
    ``exp`` from overflowing. ``temperature`` must be a positive finite number.
    """
    t = float(temperature)
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"temperature={temperature!r} must be a positive finite number")
    z = np.asarray(logits, dtype=float)
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"logits must have at least one entry along the last axis, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite")
    z = z / t
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def entropy(p) -> float:
    """Shannon entropy (in nats) of a probability vector; 0 log 0 counts as 0."""
    p = np.asarray(p, dtype=float)
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def draw_softmax_temperature(temperature: float, logits=DEFAULT_LOGITS):
    """Bar chart of ``softmax(logits / temperature)`` with its entropy; returns the Figure."""
    from lib import style

    p = softmax(logits, temperature)
    fig, ax = style.figure(size="single")
    ax.bar(np.arange(len(p)), p, color=style.PALETTE["blue"])
    ax.axhline(1 / len(p), color=style.PALETTE["grey"], ls="--", lw=1, label="uniform")
    ax.set_ylim(0, 1)
    ax.set_xticks(np.arange(len(p)), [f"z={v:g}" for v in np.asarray(logits, dtype=float)])
    ax.set_ylabel("probability")
    ax.set_title(f"softmax(z / T) at T = {temperature:g}: entropy {entropy(p):.3f} nats (max {np.log(len(p)):.3f})")
    ax.legend(loc="upper right")
    return fig


def draw_top_class_probability(n_classes: int, temperature: float, gap: float = 1.0):
    """Bar chart of softmax over one score ``gap`` and ``n_classes - 1`` zeros; returns the Figure.

    The top class gets ``p_1 = e^{g/T} / (e^{g/T} + K - 1)``: more classes dilute it unless
    the temperature is lowered.
    """
    from lib import style

    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes={n_classes!r} must be an integer of at least 2")
    z = np.r_[float(gap), np.zeros(int(n_classes) - 1)]
    p = softmax(z, temperature)
    fig, ax = style.figure(size="single")
    colours = [style.PALETTE["vermillion"]] + [style.PALETTE["sky"]] * (len(p) - 1)
    ax.bar(np.arange(len(p)), p, color=colours, width=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlim(-0.7, len(p) - 0.3)
    ax.set_xlabel("class (the first has score g, the others 0)")
    ax.set_ylabel("probability")
    ax.set_title(f"K = {n_classes}, T = {temperature:g}: top class gets p₁ = {p[0]:.3f}")
    return fig
