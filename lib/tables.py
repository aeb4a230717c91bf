"""Small tables for the notebooks (shared by every chapter).

A :class:`Table` shows as an HTML table in a notebook and on the website (the theme's table style,
caption on top, numbers right-aligned) and as aligned plain text elsewhere (``repr``, a terminal,
a failing test). Cells are formatted the way :func:`lib.claims.fmt` formats a claims row, so that a
number reads the same in a table and in the claims below it: integers with thousands separators,
floats to four significant digits. A column can ask for another format.

    >>> print(repr(Table(["N", "share"], [[1000, 0.25], [25000, None]])))
         N  share
    ------  -----
     1,000   0.25
    25,000      —
"""
from __future__ import annotations

import html
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lib.claims import fmt

MISSING = "—"  # how a ``None`` cell is shown


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


class Table:
    """A table of ``rows`` under ``header``, with an optional ``caption``.

    Cells: a string is shown as given; ``None`` as a dash; a number by :func:`lib.claims.fmt`,
    or by ``formats[column]`` when given; a ``(value, note)`` pair shows the note in small type
    under the value (in brackets after it in plain text), e.g. a mean and its range over seeds.

    Parameters
    ----------
    header : sequence of str
        Column names (at least one).
    rows : iterable of sequences
        Each as long as ``header`` (a list of lists, or a 2-D array).
    caption : str, optional
        Shown above the table.
    formats : mapping, optional
        Column (its name in ``header`` or its index) to a format for the numbers in that column:
        a format string such as ``"{:.3f}"`` or ``"{:.2f} P"``, or a function from the value to a
        string. Strings and ``None`` cells are never reformatted.
    """

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str | None = None,
                 formats: Mapping[str | int, str | Callable[[Any], str]] | None = None):
        if isinstance(header, str) or not isinstance(header, Sequence) or len(header) == 0:
            raise TypeError(f"header={header!r} must be a non-empty list of column names")
        self.header = [str(h) for h in header]
        if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
            raise TypeError(f"rows must be a list of rows (lists of cells), not {type(rows).__name__}")
        rows = [r if isinstance(r, str) else list(r) for r in rows]
        for i, r in enumerate(rows):
            if isinstance(r, str):
                raise TypeError(f"row {i} is the string {r!r}; a row must be a list of cells")
            if len(r) != len(self.header):
                raise ValueError(f"row {i} has {len(r)} cells; every row must have {len(self.header)} cells, "
                                 f"one per column of {self.header}")
        if caption is not None and not isinstance(caption, str):
            raise TypeError(f"caption={caption!r} must be a string or None")
        self.caption = caption
        by_column = self._formats_by_column({} if formats is None else formats)
        # (text, note) per cell; a column is numeric (right-aligned) when every value in it is a number
        self.cells = [[self._cell(c, by_column.get(j)) for j, c in enumerate(r)] for r in rows]
        self.numeric = [all(_is_number(self._value(r[j])) for r in rows if self._value(r[j]) is not None)
                        for j in range(len(self.header))]

    @staticmethod
    def _value(cell: Any) -> Any:
        return cell[0] if isinstance(cell, tuple) and len(cell) == 2 else cell

    def _formats_by_column(self, formats: Mapping) -> dict[int, Callable[[Any], str]]:
        if not isinstance(formats, Mapping):
            raise TypeError(f"formats must map a column (name or index) to a format, not {type(formats).__name__}")
        out = {}
        for key, spec in formats.items():
            if isinstance(key, str) and key in self.header:
                j = self.header.index(key)
            elif isinstance(key, numbers.Integral) and not isinstance(key, bool) and 0 <= key < len(self.header):
                j = key
            else:
                raise ValueError(f"formats has a key {key!r} that is not a column: use a name in "
                                 f"{self.header} or an index in [0, {len(self.header)})")
            if isinstance(spec, str):
                out[j] = spec.format
            elif callable(spec):
                out[j] = spec
            else:
                raise TypeError(f"formats[{key!r}]={spec!r} must be a format string like '{{:.3f}}' or a function")
        return out

    @staticmethod
    def _text(value: Any, form: Callable[[Any], str] | None) -> str:
        if value is None:
            return MISSING
        if isinstance(value, str):
            return value
        if form is not None and _is_number(value):
            return form(value)
        return fmt(value)

    def _cell(self, cell: Any, form: Callable[[Any], str] | None) -> tuple[str, str | None]:
        if isinstance(cell, tuple) and len(cell) == 2:
            return self._text(cell[0], form), self._text(cell[1], form)
        return self._text(cell, form), None

    # ------------------------------------------------------------------ rendering

    def _repr_html_(self) -> str:
        def align(j):
            return " style='text-align:right'" if self.numeric[j] else ""

        def td(j, text, note):
            below = f"<br><small>({html.escape(note)})</small>" if note is not None else ""
            return f"<td{align(j)}>{html.escape(text)}{below}</td>"

        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        head = "".join(f"<th{align(j)}>{html.escape(h)}</th>" for j, h in enumerate(self.header))
        body = "".join("<tr>" + "".join(td(j, *c) for j, c in enumerate(r)) + "</tr>" for r in self.cells)
        return (f"<table class='table caption-top book-table'>{cap}<thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>")

    def __repr__(self) -> str:
        texts = [[t if n is None else f"{t} ({n})" for t, n in r] for r in self.cells]
        widths = [max(len(s) for s in col) for col in zip(self.header, *texts)]

        def line(row):
            return "  ".join(s.rjust(w) if num else s.ljust(w)
                             for s, w, num in zip(row, widths, self.numeric)).rstrip()

        lines = [line(self.header), "  ".join("-" * w for w in widths)] + [line(r) for r in texts]
        return "\n".join(([self.caption] if self.caption else []) + lines)
