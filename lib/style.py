"""The book's plotting style: one look for every chapter's figures.

Figures have an opaque white background so that they stay readable when the website is
switched to its dark theme, a colour-blind-safe palette (Okabe & Ito), and a small set of
named sizes so that figures line up across chapters.

Use :func:`figure` to make a figure (it does not go through ``pyplot``, so nothing leaks
and nothing is displayed twice), and :func:`use` once at the top of a notebook so that
figures made any other way look the same. :func:`context` applies the style temporarily;
:func:`lib.figures.drivable_figure` renders every image inside it.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common form of
# colour blindness. Named so that a method keeps its colour across figures and chapters.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#7F7F7F",
}
CYCLE: list[str] = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple", "black", "yellow")]

# Width x height in inches. At the default 100 dpi "single" is 640 x 360 pixels.
SIZES: dict[str, tuple[float, float]] = {
    "single": (6.4, 3.6),
    "wide": (9.0, 3.4),
    "square": (4.6, 4.2),
    "tall": (6.4, 5.0),
    "grid": (9.0, 6.0),
}
DPI = 100


def rc_params() -> dict[str, Any]:
    """The matplotlib rcParams of the house style (a fresh dict each call)."""
    from cycler import cycler

    return {
        "figure.figsize": SIZES["single"],
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "figure.facecolor": "white",
        "figure.edgecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.transparent": False,
        "figure.constrained_layout.use": True,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "legend.frameon": False,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=CYCLE),
        "lines.linewidth": 1.8,
        "image.cmap": "viridis",
        # Deterministic SVG ids and PNG metadata, so that repeated builds give the same bytes.
        "svg.hashsalt": "kexue-book",
    }


def use() -> None:
    """Apply the house style to every figure made from now on in this process.

    In a notebook it also tells IPython to display a ``Figure`` as a PNG image: figures from
    :func:`figure` bypass pyplot, so without this a cell ending in ``fig`` would show only
    its text repr (``<Figure size 640x360 with 1 Axes>``).
    """
    import matplotlib as mpl

    mpl.rcParams.update(rc_params())
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is always installed with the book
        return
    shell = get_ipython()
    if shell is not None:
        from IPython.core.pylabtools import select_figure_formats

        select_figure_formats(shell, {"png"}, facecolor="white")


def context() -> AbstractContextManager:
    """A context manager that applies the house style only inside its ``with`` block."""
    import matplotlib as mpl

    return mpl.rc_context(rc_params())


def figure(nrows: int = 1, ncols: int = 1, *, size: str | tuple[float, float] = "single", **subplot_kw: Any):
    """Return ``(fig, axes)``: a new house-style figure that is not registered with pyplot.

    ``size`` is one of :data:`SIZES` or a ``(width, height)`` pair in inches. ``axes`` is a
    single Axes for a 1x1 grid and an array otherwise (as ``plt.subplots`` returns).
    Because the figure bypasses pyplot it is never shown twice in a notebook and never
    needs closing; make it the last expression of a cell to display it.
    """
    from matplotlib.figure import Figure

    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"size={size!r} is not one of {sorted(SIZES)} (or pass a (width, height) pair)")
        figsize = SIZES[size]
    else:
        figsize = tuple(size)
        if len(figsize) != 2 or min(figsize) <= 0:
            raise ValueError(f"size={size!r} must be a positive (width, height) pair in inches")
    if nrows < 1 or ncols < 1:
        raise ValueError(f"nrows={nrows}, ncols={ncols}: both must be at least 1")
    with context():
        fig = Figure(figsize=figsize)
        axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes
