"""Checked claims: a chapter states what it expects, the code supplies what it got.

Every chapter keeps one :class:`Claims` ledger. Each check shows one row (claim, expected,
got, a tick) and raises :class:`ClaimFailed` when the claim does not hold, so that a
notebook run by ``pytest --nbval-lax`` fails the moment a number drifts. At the end of a
chapter ``claims.table()`` shows everything the chapter verified.

    >>> claims = Claims("Chapter 2")
    >>> claims.equal("threshold 2hd for BERT-base", 2 * 12 * 64, 1536).passed
    True
"""
from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass

import numpy as np


class ClaimFailed(AssertionError):
    """A claim in a chapter did not hold."""


@dataclass(frozen=True)
class Claim:
    """One checked statement; displays itself as a one-row table in a notebook."""

    statement: str
    expected: str
    got: str
    passed: bool

    def _row_html(self) -> str:
        mark = "&#10003;" if self.passed else "&#10007;"
        colour = "#007a4d" if self.passed else "#b00020"
        cells = (html.escape(self.statement), html.escape(self.expected), html.escape(self.got))
        return (
            f"<tr><td style='text-align:left'>{cells[0]}</td><td style='text-align:left'>{cells[1]}</td>"
            f"<td style='text-align:left'>{cells[2]}</td>"
            f"<td style='color:{colour};font-weight:bold' aria-label='{'holds' if self.passed else 'fails'}'>{mark}</td></tr>"
        )

    def _repr_html_(self) -> str:
        return _table_html([self])

    def __repr__(self) -> str:
        mark = "✓" if self.passed else "✗"
        return f"{mark} {self.statement} | expected {self.expected} | got {self.got}"


_HEADER = "<tr><th>claim</th><th>expected</th><th>got</th><th></th></tr>"


def _table_html(rows: list[Claim], caption: str | None = None) -> str:
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    body = "".join(r._row_html() for r in rows)
    return f"<table class='claims-table'>{cap}<thead>{_HEADER}</thead><tbody>{body}</tbody></table>"


class ClaimsTable:
    """All the claims of a chapter, as an HTML table (and plain text)."""

    def __init__(self, rows: list[Claim], caption: str):
        self.rows = list(rows)
        self.caption = caption

    def _repr_html_(self) -> str:
        return _table_html(self.rows, self.caption)

    def __repr__(self) -> str:
        return "\n".join([self.caption] + [repr(r) for r in self.rows])


def fmt(value) -> str:
    """Format a number for a claims row: integers with thousands separators, floats to 4
    significant digits (more when needed to tell it apart from an integer), arrays by shape."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isnan(x) or math.isinf(x):
            return str(x)
        if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
            return f"{x:.4e}"
        return f"{x:.4g}" if x != round(x) or abs(x) < 1e4 else f"{x:,.1f}"
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    return str(value)


class Claims:
    """A chapter's ledger of checked claims.

    Each method checks one claim, records it, returns a :class:`Claim` that renders as a
    row, and raises :class:`ClaimFailed` (an ``AssertionError``) if it does not hold.

    Parameters
    ----------
    chapter : str
        Name used in the caption of :meth:`table` and in failure messages.
    """

    def __init__(self, chapter: str):
        if not isinstance(chapter, str) or not chapter.strip():
            raise ValueError(f"chapter={chapter!r} must be a non-empty string naming the chapter")
        self.chapter = chapter
        self.rows: list[Claim] = []

    def __len__(self) -> int:
        return len(self.rows)

    def _record(self, statement: str, expected: str, got: str, passed: bool) -> Claim:
        if not isinstance(statement, str) or not statement.strip():
            raise ValueError(f"statement={statement!r} must be a non-empty string saying what is claimed")
        row = Claim(statement, expected, got, bool(passed))
        self.rows.append(row)
        if not row.passed:
            raise ClaimFailed(f"[{self.chapter}] claim does not hold: {statement}: expected {expected}, got {got}")
        return row

    def equal(self, statement: str, got, expected) -> Claim:
        """Claim ``got == expected`` exactly (integers, strings, tuples, exact counts)."""
        same = got == expected
        if isinstance(same, np.ndarray):
            same = bool(np.array_equal(got, expected))
        return self._record(statement, fmt(expected), fmt(got), bool(same))

    def close(self, statement: str, got, expected, *, rtol: float = 1e-7, atol: float = 0.0) -> Claim:
        """Claim ``|got - expected| <= atol + rtol * |expected|`` (elementwise for arrays)."""
        if rtol < 0 or atol < 0:
            raise ValueError(f"rtol={rtol}, atol={atol}: tolerances must be non-negative")
        g, e = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
        if g.shape != e.shape and e.ndim != 0:
            raise ValueError(f"got has shape {g.shape} but expected has shape {e.shape}")
        ok = bool(np.all(np.abs(g - e) <= atol + rtol * np.abs(e)) and np.all(np.isfinite(g)))
        tol = " ± " + ", ".join(t for t in (f"{rtol:.2g} rel" if rtol else "", f"{atol:.2g} abs" if atol else "") if t)
        if g.ndim == 0:
            got_s = fmt(float(g))
        else:
            got_s = f"max |Δ| = {fmt(float(np.max(np.abs(g - e))))}"
        return self._record(statement, fmt(float(e)) + tol if e.ndim == 0 else f"{fmt(e)}{tol}", got_s, ok)

    def within(self, statement: str, got, low, high) -> Claim:
        """Claim ``low <= got <= high``."""
        if low > high:
            raise ValueError(f"low={low} is above high={high}")
        ok = bool(low <= got <= high)
        return self._record(statement, f"in [{fmt(low)}, {fmt(high)}]", fmt(got), ok)

    def less(self, statement: str, got, bound, *, strict: bool = True) -> Claim:
        """Claim ``got < bound`` (``<=`` when ``strict=False``)."""
        ok = bool(got < bound) if strict else bool(got <= bound)
        return self._record(statement, f"{'<' if strict else '≤'} {fmt(bound)}", fmt(got), ok)

    def greater(self, statement: str, got, bound, *, strict: bool = True) -> Claim:
        """Claim ``got > bound`` (``>=`` when ``strict=False``)."""
        ok = bool(got > bound) if strict else bool(got >= bound)
        return self._record(statement, f"{'>' if strict else '≥'} {fmt(bound)}", fmt(got), ok)

    def holds(self, statement: str, condition: bool, *, expected: str = "true", got: str | None = None) -> Claim:
        """Claim a boolean condition, with optional text for the expected and got columns."""
        if not isinstance(condition, (bool, np.bool_)):
            raise TypeError(f"condition must be a bool, got {type(condition).__name__}; compare explicitly")
        return self._record(statement, expected, got if got is not None else str(bool(condition)).lower(), bool(condition))

    def table(self) -> ClaimsTable:
        """Everything this chapter verified, as one table."""
        n_ok = sum(r.passed for r in self.rows)
        return ClaimsTable(self.rows, f"{self.chapter}: {n_ok} of {len(self.rows)} claims verified")
