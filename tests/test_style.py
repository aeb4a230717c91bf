"""lib.style: figures bypass pyplot, have opaque backgrounds and named sizes."""
import base64

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest

from lib import style


def test_figure_is_not_registered_with_pyplot_and_has_an_opaque_white_background():
    before = plt.get_fignums()
    fig, ax = style.figure(size="wide")
    assert plt.get_fignums() == before
    assert mpl.colors.to_hex(fig.get_facecolor(), keep_alpha=True) == "#ffffffff"
    assert tuple(fig.get_size_inches()) == style.SIZES["wide"]


def test_grid_of_axes_and_custom_size():
    fig, axes = style.figure(2, 3, size=(6, 4))
    assert axes.shape == (2, 3)
    assert tuple(fig.get_size_inches()) == (6, 4)


def test_context_applies_the_house_style_only_inside():
    outside = mpl.rcParams["axes.spines.top"]
    with style.context():
        assert mpl.rcParams["axes.spines.top"] is False
        assert mpl.rcParams["savefig.facecolor"] == "white"
    assert mpl.rcParams["axes.spines.top"] == outside


@pytest.mark.parametrize("size", ["huge", (0, 3), (1, 2, 3)])
def test_bad_sizes_are_refused(size):
    with pytest.raises(ValueError, match="size"):
        style.figure(size=size)


def test_use_makes_ipython_display_figures_as_png():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        fig, _ = style.figure()
        assert "image/png" not in shell.display_formatter.format(fig)[0]
        style.use()
        data, _ = shell.display_formatter.format(fig)
        assert base64.b64decode(data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        InteractiveShell.clear_instance()
        mpl.rcdefaults()
