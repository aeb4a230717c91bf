"""Small HTML tables for chapter 5 (memory census, beta_tilde values)."""
from __future__ import annotations

import html
from collections.abc import Sequence

from lib.optim.formulas import beta_tilde


class HTMLTable:
    """A small table that renders as HTML in a notebook and as text elsewhere."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence], caption: str = ""):
        self.header, self.rows, self.caption = list(header), [list(r) for r in rows], caption

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in self.rows)
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        return "\n".join(" | ".join(str(c) for c in r) for r in [self.header, *self.rows])


def memory_table(census: dict[str, dict]) -> HTMLTable:
    """The result of :func:`lib.optim.memory.memory_census` per scheme, in units of the parameter size P."""
    rows = []
    for scheme, c in census.items():
        p = c["param_bytes"]
        rows.append([scheme, f"{c['state_bytes'] / p:.2f} P", f"{c['peak_grad_bytes'] / p:.2f} P",
                     f"{c['idle_grad_bytes'] / p:.2f} P", f"{(c['state_bytes'] + c['peak_grad_bytes']) / p:.2f} P"])
    return HTMLTable(["scheme", "optimizer state + buffers", "live .grad, peak in backward",
                      "live .grad between micro-steps", "state + peak .grad"], rows,
                     caption="Parameter-sized memory beyond the parameters themselves (P = parameter bytes)")


def beta_tilde_table(pairs: Sequence[tuple[float, int]]) -> HTMLTable:
    """beta_tilde, beta_tilde^k and beta_tilde^k - beta for each (beta, k) pair."""
    rows = []
    for b, k in pairs:
        bt = beta_tilde(b, k)
        rows.append([f"{b:g}", k, f"{bt:.6g}", f"{bt**k:.6f}", f"{bt**k - b:.2e}"])
    return HTMLTable(["β", "k", "β̃", "β̃ᵏ", "β̃ᵏ − β"], rows,
                     caption="β̃ = 1 − (1 − β)/k and how far β̃ᵏ is from β")
