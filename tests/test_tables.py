"""lib.tables: HTML and plain-text rendering, number formats, argument checks.

The HTML is read back with Python's own ``html.parser`` (not with string matching alone), so a
test sees the cells a browser would see.
"""
import doctest
from html.parser import HTMLParser

import numpy as np
import pytest

import lib.tables
from lib.claims import fmt
from lib.tables import MISSING, Table


class _Cells(HTMLParser):
    """Caption, header cells and body rows of a rendered table (text with entities decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.caption, self.header, self.rows, self.align, self._where, self._row = "", [], [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag in ("caption", "th", "td"):
            self._where = tag
            if tag == "th":
                self.header.append("")
                self.align.append(dict(attrs).get("style", ""))
            if tag == "td":
                self._row.append("")
        elif tag == "tr" and self._row is None:
            self._row = []
        elif tag == "br":
            self._row[-1] += "\n"

    def handle_endtag(self, tag):
        if tag == "tr":
            if self._row:
                self.rows.append(self._row)
            self._row = None
        if tag in ("caption", "th", "td"):
            self._where = None

    def handle_data(self, data):
        if self._where == "caption":
            self.caption += data
        elif self._where == "th":
            self.header[-1] += data
        elif self._where == "td":
            self._row[-1] += data


def parse(table: Table) -> _Cells:
    p = _Cells()
    p.feed(table._repr_html_())
    return p


def test_numbers_are_formatted_like_claims_rows():
    values = [1234567, np.int64(-42), 0.123456, np.float32(2.5), 1.5e-7, 3.0e9, float("nan"), 12345.0]
    t = Table(["x"], [[v] for v in values])
    got = [r[0] for r in parse(t).rows]
    assert got == [fmt(v) for v in values]
    assert got[:4] == ["1,234,567", "-42", "0.1235", "2.5"]


def test_strings_none_and_bools_are_shown_as_given():
    t = Table(["a", "b", "c"], [["0.5 P", None, True], ["x", 3, np.bool_(False)]])
    assert parse(t).rows == [["0.5 P", MISSING, "True"], ["x", "3", "False"]]


def test_html_escapes_caption_header_and_cells():
    t = Table(["<h>", "b&c"], [["<script>", "a > b"]], caption="x < y")
    html = t._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;h&gt;" in html and "b&amp;c" in html
    p = parse(t)
    assert (p.caption, p.header, p.rows) == ("x < y", ["<h>", "b&c"], [["<script>", "a > b"]])


def test_numeric_columns_are_right_aligned_and_text_columns_are_not():
    t = Table(["name", "n", "mixed"], [["a", 1, 2.0], ["b", None, "text"]])
    p = parse(t)
    assert ["right" in a for a in p.align] == [False, True, False]
    assert "class='table caption-top book-table'" in t._repr_html_()


def test_formats_by_name_index_and_function_apply_to_numbers_only():
    t = Table(["m", "acc", "note"], [[0.2, 0.91234, 7], [0.25, "n/a", None]],
              formats={"m": "{:.2f}", 1: "{:.3f}", "note": lambda v: f"#{v}"})
    assert parse(t).rows == [["0.20", "0.912", "#7"], ["0.25", "n/a", MISSING]]


def test_value_note_pairs_show_the_note_below_in_html_and_in_brackets_in_text():
    t = Table(["m", "acc"], [[0.2, (0.91234, "0.900–0.930")]], formats={"acc": "{:.3f}"})
    assert "<td style='text-align:right'>0.912<br><small>(0.900–0.930)</small></td>" in t._repr_html_()
    assert parse(t).rows == [["0.2", "0.912\n(0.900–0.930)"]]
    assert repr(t).splitlines()[-1].endswith("0.912 (0.900–0.930)")


def test_rows_may_be_a_2d_array_and_columns_named_by_numpy_index():
    t = Table(["a", "b"], np.array([[1.0, 2.5], [3.0, 4.25]]), formats={np.int64(1): "{:.2f}"})
    assert parse(t).rows == [["1", "2.50"], ["3", "4.25"]]


def test_plain_text_is_aligned_with_a_rule_under_the_header():
    t = Table(["N", "name"], [[100, "short"], [10**6, "a longer name"]], caption="demo")
    lines = repr(t).splitlines()
    assert lines[0] == "demo"
    assert lines[1:] == ["        N  name", "---------  -------------", "      100  short",
                         "1,000,000  a longer name"]


def test_docstring_example_runs():
    result = doctest.testmod(lib.tables)
    assert result.attempted >= 1 and result.failed == 0


@pytest.mark.parametrize("header,rows,kwargs,err,match", [
    ([], [], {}, TypeError, "header"),
    ("ab", [], {}, TypeError, "header"),
    (["a", "b"], [[1]], {}, ValueError, "row 0 has 1 cells; every row must have 2 cells"),
    (["a"], "rows", {}, TypeError, "rows"),
    (["a"], ["x"], {}, TypeError, "row 0 is the string 'x'"),
    (["a"], [[1]], {"caption": 3}, TypeError, "caption=3"),
    (["a"], [[1]], {"formats": {"b": "{:.1f}"}}, ValueError, "'b' that is not a column"),
    (["a"], [[1]], {"formats": {1: "{:.1f}"}}, ValueError, "not a column"),
    (["a"], [[1]], {"formats": {True: "{:.1f}"}}, ValueError, "not a column"),
    (["a"], [[1]], {"formats": {"a": 3}}, TypeError, r"formats\['a'\]=3"),
    (["a"], [[1]], {"formats": ["{:.1f}"]}, TypeError, "formats must map"),
    (["a"], [[1]], {"formats": []}, TypeError, "formats must map"),
])
def test_bad_arguments_name_what_is_wrong(header, rows, kwargs, err, match):
    with pytest.raises(err, match=match):
        Table(header, rows, **kwargs)
