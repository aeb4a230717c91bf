"""A small HTML table for the chapter 7 notebook (the Johnson–Lindenstrauss lemma).

Numbers are formatted for reading: integers with thousands separators, other numbers to three
significant figures, ``None`` as a dash; strings are shown as given.
"""
from __future__ import annotations

import html
import numbers

import numpy as np


class Table:
    """A small table for the notebook: ``header`` and rows of cells, shown as HTML (and as text)."""

    def __init__(self, header, rows, caption: str | None = None):
        self.header = [str(h) for h in header]
        self.rows = [[c if isinstance(c, str) else _cell(c) for c in row] for row in rows]
        if any(len(r) != len(self.header) for r in self.rows):
            raise ValueError(f"every row must have {len(self.header)} cells, like the header {self.header}")
        self.caption = caption

    def _repr_html_(self) -> str:
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        pad = "padding:0.15em 0.6em;text-align:right;white-space:nowrap"
        head = "".join(f"<th style='{pad}'>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td style='{pad}'>{html.escape(c)}</td>" for c in r) + "</tr>"
                       for r in self.rows)
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        lines = [" | ".join(self.header)] + [" | ".join(r) for r in self.rows]
        return "\n".join(([self.caption] if self.caption else []) + lines)


def _cell(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, (numbers.Integral, np.integer)):
        return f"{int(x):,}"
    return f"{float(x):.3g}"
