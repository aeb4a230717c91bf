"""Exact second moments of momentum SGD on the linear-regression toy of chapter 5.

With Gaussian inputs x ~ N(0, I) and an isotropic start, E[(w - w*)(w - w*)^T] stays a multiple
of the identity, and so do the momentum's second moment and its cross moment with w - w*. One
update maps these three numbers affinely, using E[H A H] = A + (A + tr(A) I) / B for
H = X^T X / B (Isserlis' theorem). This gives the expected learning curve and the noise floor
of every variant without simulation: the independent reference for the "fewer updates" experiment.
"""
from __future__ import annotations

import numpy as np

from lib import checks
from lib.optim.formulas import _check_k, _check_real, beta_tilde

THEORY_VARIANTS = ("plain", "chi", "beta_tilde", "sparse")


def per_update_coefficients(beta: float, k: int, variant: str, micro_batch: int) -> tuple[float, float, float]:
    """(rho, s, B_eff): one parameter update of a variant as m' = rho m + s g_bar on an effective batch.

    All micro-gradients of a window are taken at the same frozen parameters, so the momentum at
    an update is rho * (momentum at the previous update) + sum_i w_i g_i with sum_i w_i = s; the
    weighted mean g_bar = sum_i w_i g_i / s has the noise of one batch of size
    B_eff = B s^2 / sum_i w_i^2 (ch. 5, "A noise floor you can compute"). ``"plain"`` is k = 1.
    """
    beta = _check_real("beta", beta, 0.0, 1.0)
    k = 1 if variant == "plain" else _check_k(k)
    checks.choice("variant", variant, THEORY_VARIANTS)
    if variant in ("plain", "chi"):
        return beta, 1 - beta, float(micro_batch * k)
    b = beta_tilde(beta, k) if variant == "beta_tilde" else beta
    w = (1 - b) * b ** np.arange(k)  # (k,) weights of the window's gradients
    return b**k, float(w.sum()), float(micro_batch * w.sum() ** 2 / (w**2).sum())


def _moment_map(lr: float, rho: float, s: float, batch: float, dim: int, noise: float):
    # State (a, b, c) = per-coordinate E[e^2], E[m^2], E[e m] with e = w - w*; one update maps it
    # affinely: x' = M x + f. Uses E[H A H] = A + (A + tr(A) I) / B for H = X^T X / B, x ~ N(0, I).
    kappa = 1 + (1 + dim) / batch
    row_b = np.array([s * s * kappa, rho * rho, 2 * rho * s])
    f_b = s * s * noise**2 / batch
    row_c = np.array([s, 0.0, rho]) - lr * row_b
    row_a = np.array([1 - 2 * lr * s, 0.0, -2 * lr * rho]) + lr * lr * row_b
    return np.stack([row_a, row_b, row_c]), np.array([lr * lr * f_b, f_b, -lr * f_b])


def expected_excess_risk(updates: int, *, lr: float, beta: float, k: int = 1, variant: str = "chi",
                         micro_batch: int = 2, dim: int = 20, noise: float = 1.0) -> np.ndarray:
    """Exact E||w - w*||^2 after n = 0..updates parameter updates in the toy of :func:`linear_regression_run`.

    Starts from w = 0 with w* ~ N(0, I/dim) (risk 1). Everything stays isotropic, so three
    numbers per update (E[e^2], E[m^2], E[e m] per coordinate) evolve by an exact affine map
    (ch. 5, "A noise floor you can compute"). Returns (updates + 1,).
    """
    rho, s, batch = per_update_coefficients(beta, k, variant, micro_batch)
    lr = _check_real("lr", lr, 0.0)
    m, f = _moment_map(lr, rho, s, batch, dim, noise)
    x = np.array([1.0 / dim, 0.0, 0.0])
    out = [dim * x[0]]
    for _ in range(int(updates)):
        x = m @ x + f
        out.append(dim * x[0])
    return np.array(out)


def stationary_excess_risk(*, lr: float, beta: float, k: int = 1, variant: str = "chi", micro_batch: int = 2,
                           dim: int = 20, noise: float = 1.0) -> float:
    """The noise floor: lim E||w - w*||^2 of :func:`expected_excess_risk` (ValueError if it diverges)."""
    rho, s, batch = per_update_coefficients(beta, k, variant, micro_batch)
    lr = _check_real("lr", lr, 0.0)
    m, f = _moment_map(lr, rho, s, batch, dim, noise)
    radius = float(np.abs(np.linalg.eigvals(m)).max())
    if radius >= 1:
        raise ValueError(f"lr={lr}, beta={beta}, k={k}, variant={variant!r}: second moments diverge "
                         f"(spectral radius {radius:.4f} >= 1)")
    return float(dim * np.linalg.solve(np.eye(3) - m, f)[0])
