"""The tables of chapter 5 (memory census, beta_tilde values), as :class:`lib.tables.Table` objects."""
from __future__ import annotations

from collections.abc import Sequence

from lib.optim.formulas import beta_tilde
from lib.tables import Table


def memory_table(census: dict[str, dict]) -> Table:
    """The result of :func:`lib.optim.memory.memory_census` per scheme, in units of the parameter size P."""
    rows = []
    for scheme, c in census.items():
        p = c["param_bytes"]
        rows.append([scheme, c["state_bytes"] / p, c["peak_grad_bytes"] / p, c["idle_grad_bytes"] / p,
                     (c["state_bytes"] + c["peak_grad_bytes"]) / p])
    in_p = "{:.2f} P"
    return Table(["scheme", "optimizer state + buffers", "live .grad, peak in backward",
                  "live .grad between micro-steps", "state + peak .grad"], rows,
                 caption="Parameter-sized memory beyond the parameters themselves (P = parameter bytes)",
                 formats={1: in_p, 2: in_p, 3: in_p, 4: in_p})


def beta_tilde_table(pairs: Sequence[tuple[float, int]]) -> Table:
    """beta_tilde, beta_tilde^k and beta_tilde^k - beta for each (beta, k) pair."""
    rows = []
    for b, k in pairs:
        bt = beta_tilde(b, k)
        rows.append([b, k, bt, bt**k, bt**k - b])
    return Table(["β", "k", "β̃", "β̃ᵏ", "β̃ᵏ − β"], rows,
                 caption="β̃ = 1 − (1 − β)/k and how far β̃ᵏ is from β",
                 formats={"β": "{:g}", "β̃": "{:.6g}", "β̃ᵏ": "{:.6f}", "β̃ᵏ − β": "{:.2e}"})
