"""lib.figures.drivable_figure: structure, client-side links, alt text, budget, errors."""
import io
import json

import ipywidgets as widgets
import numpy as np
import pytest
from ipywidgets.embed import embed_data
from PIL import Image

from lib import style
from lib.figures import FigureBudgetError, drivable_figure, render_png


def draw_line(slope, offset=0.0, colour="C0"):
    fig, ax = style.figure(size=(2.0, 1.5))
    x = np.linspace(0, 1, 5)
    ax.plot(x, slope * x + offset, color=colour)
    ax.set_title(f"{slope} {offset}")
    return fig


def images_of(stack):
    return [child.value for child in stack.children]


def model_ids(widget):
    ids = {widget.model_id}
    for child in getattr(widget, "children", ()):
        ids |= model_ids(child)
    return ids


def links_in_state(box):
    """(source model, source trait, target model, target trait) of every embedded Link that
    touches this box (the embedded state holds every live widget, as on a built page)."""
    mine = model_ids(box)
    data = embed_data(views=[box])
    state = data["manager_state"]["state"]
    out = []
    for model in state.values():
        if model["model_name"] == "LinkModel":
            (src, strait), (dst, dtrait) = model["state"]["source"], model["state"]["target"]
            src, dst = src.removeprefix("IPY_MODEL_"), dst.removeprefix("IPY_MODEL_")
            if {src, dst} & mine:
                out.append((src, strait, dst, dtrait))
    return out


def test_one_parameter_gives_one_slider_linked_to_a_stack_of_images():
    box = drivable_figure(draw_line, {"slope": [1, 2, 3]}, title="Lines", initial={"slope": 2})
    slider, stack = box.children
    assert isinstance(slider, widgets.SelectionSlider) and isinstance(stack, widgets.Stack)
    assert [label for label, _ in slider.options] == ["1", "2", "3"]
    assert slider.index == 1 and stack.selected_index == 1
    assert len(stack.children) == 3
    assert all(v.startswith("<img src=\"data:image/png;base64,") for v in images_of(stack))
    assert len(set(images_of(stack))) == 3, "each grid value must give its own image"
    assert "drivable-figure" in box._dom_classes
    assert (slider.model_id, "index", stack.model_id, "selected_index") in links_in_state(box)


def test_two_parameters_link_the_first_slider_to_the_outer_stack_and_the_second_to_every_inner_stack():
    box = drivable_figure(draw_line, {"slope": [1, 2], "offset": [0.0, 0.5, 1.0]}, title="Lines")
    s1, s2, outer = box.children
    assert len(outer.children) == 2 and all(len(inner.children) == 3 for inner in outer.children)
    links = links_in_state(box)
    assert (s1.model_id, "index", outer.model_id, "selected_index") in links
    for inner in outer.children:
        assert (s2.model_id, "index", inner.model_id, "selected_index") in links
    assert len(links) == 3
    # image (a, b) was drawn with slope[a] and offset[b]: the default alt text says so
    assert "slope = 2, offset = 0.5" in outer.children[1].children[1].value


def test_every_image_has_alt_text_from_a_template_or_callable():
    box = drivable_figure(draw_line, {"slope": [1, 2]}, alt="a line of slope {slope}")
    assert 'alt="a line of slope 2"' in box.children[1].children[1].value
    box = drivable_figure(draw_line, {"slope": [1, 2]}, alt=lambda slope: f"slope is {slope} & <b>")
    assert 'alt="slope is 1 &amp; &lt;b&gt;"' in box.children[1].children[0].value


def test_formats_and_fixed_arguments_are_used():
    box = drivable_figure(draw_line, {"slope": [0.5, 1.5]}, formats={"slope": "{:.2f}"}, fixed={"offset": 3.0})
    assert [label for label, _ in box.children[0].options] == ["0.50", "1.50"]
    assert "offset" not in box.children[0].description


def test_budget_is_refused_early_with_the_size_and_how_to_shrink_it():
    calls = []

    def counting_draw(slope):
        calls.append(slope)
        return draw_line(slope)

    with pytest.raises(FigureBudgetError) as err:
        drivable_figure(counting_draw, {"slope": list(range(50))}, budget_bytes=20_000)
    msg = str(err.value)
    assert "50 images" in msg and "MB" in msg and "fewer grid values" in msg and "dpi" in msg
    assert len(calls) < 50, "the helper should stop drawing as soon as the budget is exceeded"


def test_widget_weight_is_measured_and_within_the_default_budget():
    box = drivable_figure(draw_line, {"slope": [1, 2, 3]})
    embedded = sum(len(v) for v in images_of(box.children[1]))
    assert box.embedded_bytes == embedded
    assert embedded < 1_000_000


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"grid": {}}, "one or two"),
        ({"grid": {"a": [1], "b": [1], "c": [1]}}, "one or two"),
        ({"grid": {"slope": []}}, "empty"),
        ({"grid": {"slope": "abc"}}, "sequence"),
        ({"grid": {"slope": [1]}, "initial": {"slope": 9}}, "not one of"),
        ({"grid": {"slope": [1]}, "descriptions": {"nope": "x"}}, "not grid parameters"),
        ({"grid": {"slope": [1]}, "fixed": {"slope": 1}}, "repeats"),
        ({"grid": {"slope": [1]}, "dpi": 5}, "dpi"),
        ({"grid": {"slope": [1]}, "budget_bytes": 0}, "budget_bytes"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        drivable_figure(draw_line, **kwargs)


def test_draw_must_be_callable_and_return_a_figure():
    with pytest.raises(TypeError, match="callable"):
        drivable_figure("not a function", {"slope": [1]})
    with pytest.raises(TypeError, match="not a matplotlib Figure"):
        drivable_figure(lambda slope: None, {"slope": [1]})


def test_render_png_is_opaque_white_and_quantizing_never_grows_it():
    fig = draw_line(1.0)
    raw = render_png(draw_line(1.0), quantize=False)
    small = render_png(fig, quantize=True)
    assert len(small) <= len(raw)
    with Image.open(io.BytesIO(small)) as im:
        rgba = np.asarray(im.convert("RGBA"))
    assert (rgba[..., 3] == 255).all(), "background must be opaque for the dark theme"
    assert tuple(rgba[0, 0, :3]) == (255, 255, 255)


def test_the_widget_state_is_json_serialisable_for_embedding():
    box = drivable_figure(draw_line, {"slope": [1, 2]})
    json.dumps(embed_data(views=[box])["manager_state"])
