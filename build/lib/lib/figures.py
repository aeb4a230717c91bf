"""Figures the reader drives, on the static website as well as in a live notebook.

The website has no Python kernel, so a slider cannot redraw a figure there. Instead
:func:`drivable_figure` draws the figure once for every value on a small grid of parameter
values, embeds the images in an ipywidgets ``Stack``, and links each slider to the stack
with ``jslink``: the browser switches images with no kernel. The same widget works
unchanged in Jupyter. The recipe, and why ``SelectionSlider.index`` (not ``value``) is the
trait to link, is in the book's ``README.md`` ("How drivable figures work").

One parameter gives one slider over one stack. Two parameters give two sliders: the first
selects one of several inner stacks, the second selects the image inside every inner stack.
"""
from __future__ import annotations

import base64
import html
import io
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lib import style

DEFAULT_BUDGET_BYTES = 1_000_000  # embedded bytes per widget (the images, base64-encoded)


class FigureBudgetError(ValueError):
    """The precomputed images of a drivable figure would make the page too heavy."""


def _b64_len(n: int) -> int:
    return 4 * ((n + 2) // 3)


def render_png(fig, *, dpi: int = style.DPI, quantize: bool = True) -> bytes:
    """Return the PNG bytes of a matplotlib figure with an opaque white background.

    With ``quantize`` the image is also re-encoded with an adaptive 256-colour palette and
    the smaller of the two encodings is kept: line plots lose nothing visible and usually
    shrink by half or more. The figure is closed if pyplot tracks it.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", transparent=False, metadata={"Software": None})
    data = buf.getvalue()
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # pragma: no cover - pyplot unavailable or figure not tracked
        pass
    if quantize:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
            out = io.BytesIO()
            small.save(out, format="PNG", optimize=True)
        if out.tell() < len(data):
            data = out.getvalue()
    return data


def _check_grid(grid: Mapping[str, Sequence]) -> list[tuple[str, list]]:
    if not isinstance(grid, Mapping) or not 1 <= len(grid) <= 2:
        raise ValueError(f"grid must map one or two parameter names to value lists, got {grid!r}")
    items = []
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"grid key {name!r} must be a parameter name of the draw function")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) and not hasattr(values, "__len__"):
            raise ValueError(f"grid[{name!r}] must be a sequence of values, got {values!r}")
        values = list(values)
        if not values:
            raise ValueError(f"grid[{name!r}] is empty: give at least one value")
        items.append((name, values))
    return items


def _label_of(value: Any, spec: str | Callable[[Any], str] | None) -> str:
    if spec is None:
        return f"{value:g}" if isinstance(value, float) else str(value)
    return spec(value) if callable(spec) else spec.format(value)


def _alt_of(alt: str | Callable[..., str] | None, title: str, params: dict[str, Any], labels: dict[str, str]) -> str:
    if callable(alt):
        return alt(**params)
    if alt is not None:
        return alt.format(**params)
    settings = ", ".join(f"{k} = {labels[k]}" for k in params)
    return f"{title} ({settings})"


def _img_html(png: bytes, alt: str) -> str:
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<img src="{src}" alt="{html.escape(alt, quote=True)}" style="max-width:100%;height:auto;display:block">'


def drivable_figure(
    draw: Callable[..., Any],
    grid: Mapping[str, Sequence],
    *,
    title: str = "Figure",
    descriptions: Mapping[str, str] | None = None,
    formats: Mapping[str, str | Callable[[Any], str]] | None = None,
    initial: Mapping[str, Any] | None = None,
    alt: str | Callable[..., str] | None = None,
    fixed: Mapping[str, Any] | None = None,
    dpi: int = 80,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
):
    """Return a widget (sliders above a figure) whose figure the reader drives without a kernel.

    Parameters
    ----------
    draw : callable
        ``draw(**params, **fixed)`` returns a matplotlib ``Figure``; it is called once per
        grid point, inside the house style (:func:`lib.style.context`).
    grid : mapping of one or two parameter names to sequences of values
        The slider positions. Insertion order decides which slider comes first.
    title : str
        Short name of the figure, used in the default alt text.
    descriptions : mapping, optional
        Slider label per parameter; math is allowed as ``\\( ... \\)``. Default: the name.
    formats : mapping, optional
        Readout per parameter: a format string such as ``"{:.2f}"`` or a callable.
    initial : mapping, optional
        Starting value per parameter (must be in its grid). Default: the first value.
    alt : str or callable, optional
        Alt text of every image: a format string with the parameter names as fields, or a
        callable taking the parameters. Default: ``"<title> (m = 0.35, s = 30)"``.
    fixed : mapping, optional
        Extra keyword arguments passed unchanged to every ``draw`` call.
    dpi : int
        Resolution of the embedded PNGs (80 keeps pages light; 100 matches static figures).
    budget_bytes : int
        Refuse the grid if the embedded images would exceed this many bytes.

    Raises
    ------
    FigureBudgetError
        As soon as the images drawn so far exceed ``budget_bytes``; the message gives the
        projected size and how to shrink it.
    """
    import ipywidgets as widgets

    if not callable(draw):
        raise TypeError(f"draw must be a callable returning a matplotlib Figure, got {type(draw).__name__}")
    items = _check_grid(grid)
    if not isinstance(dpi, int) or not 20 <= dpi <= 300:
        raise ValueError(f"dpi={dpi!r} must be an integer between 20 and 300")
    if not isinstance(budget_bytes, int) or budget_bytes <= 0:
        raise ValueError(f"budget_bytes={budget_bytes!r} must be a positive integer")
    descriptions = dict(descriptions or {})
    formats = dict(formats or {})
    initial = dict(initial or {})
    fixed = dict(fixed or {})
    names = [n for n, _ in items]
    for what, mapping in (("descriptions", descriptions), ("formats", formats), ("initial", initial)):
        unknown = set(mapping) - set(names)
        if unknown:
            raise ValueError(f"{what} names {sorted(unknown)}, which are not grid parameters {names}")
    clash = set(fixed) & set(names)
    if clash:
        raise ValueError(f"fixed repeats grid parameters {sorted(clash)}")
    start = []
    for name, values in items:
        if name in initial:
            if initial[name] not in values:
                raise ValueError(f"initial[{name!r}]={initial[name]!r} is not one of grid[{name!r}]={values}")
            start.append(values.index(initial[name]))
        else:
            start.append(0)

    labels = {name: [_label_of(v, formats.get(name)) for v in values] for name, values in items}
    shape = [len(values) for _, values in items]
    n_images = 1
    for s in shape:
        n_images *= s

    images, total = [], 0
    for k, idx in enumerate(itertools.product(*(range(s) for s in shape))):
        params = {name: items[i][1][j] for i, (name, j) in enumerate(zip(names, idx))}
        with style.context():
            fig = draw(**params, **fixed)
        if fig is None or not hasattr(fig, "savefig"):
            raise TypeError(f"draw(**{params}) returned {type(fig).__name__}, not a matplotlib Figure")
        png = render_png(fig, dpi=dpi)
        alt_text = _alt_of(alt, title, params, {n: labels[n][j] for n, j in zip(names, idx)})
        images.append(_img_html(png, alt_text))
        total += len(images[-1])
        if total > budget_bytes:
            projected = total * n_images // (k + 1)
            grid_desc = " × ".join(f"{len(v)} {n}" for n, v in items)
            raise FigureBudgetError(
                f"drivable_figure {title!r}: the {n_images} images of this grid ({grid_desc}) would embed about "
                f"{projected / 1e6:.2f} MB ({total / 1e6:.2f} MB after {k + 1}), over the budget of "
                f"{budget_bytes / 1e6:.2f} MB. Shrink it: use fewer grid values, a smaller figure size, "
                f"a lower dpi (now {dpi}), or pass a larger budget_bytes if the page can afford it."
            )

    def slider(i: int):
        name, values = items[i]
        return widgets.SelectionSlider(
            options=[(lab, j) for j, lab in enumerate(labels[name])],
            index=start[i],
            description=descriptions.get(name, name),
            continuous_update=True,
            readout=True,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="min(520px, 100%)"),
        )

    def html_widget(s: str):
        return widgets.HTML(value=s, layout=widgets.Layout(width="auto"))

    sliders = [slider(i) for i in range(len(items))]
    if len(items) == 1:
        stack = widgets.Stack([html_widget(s) for s in images], selected_index=start[0])
        widgets.jslink((sliders[0], "index"), (stack, "selected_index"))
    else:
        n_inner = shape[1]
        inner = []
        for a in range(shape[0]):
            chunk = images[a * n_inner : (a + 1) * n_inner]
            st = widgets.Stack([html_widget(s) for s in chunk], selected_index=start[1])
            widgets.jslink((sliders[1], "index"), (st, "selected_index"))
            inner.append(st)
        stack = widgets.Stack(inner, selected_index=start[0])
        widgets.jslink((sliders[0], "index"), (stack, "selected_index"))
    box = widgets.VBox([*sliders, stack], layout=widgets.Layout(width="100%"))
    box.add_class("drivable-figure")
    box.embedded_bytes = total  # measured size of the embedded images, for tests and benchmarks
    return box
