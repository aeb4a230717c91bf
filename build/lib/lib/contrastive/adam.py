"""Adam and the scale of the loss: why FlatNCE's constant value does not stop it learning (chapter 3).

Adam's update does not depend on a constant factor of the loss while the gradient is well above
its epsilon. InfoNCE's batch gradient is FlatNCE's times a batch weight mean_a sigmoid(v_a) that
varies over many orders of magnitude; :func:`effective_batch_fraction` says how many batches
then count.
Chapter 3 (``book/03-flatnce.ipynb``), after Su Jianlin, kexue.fm/archives/8586.
"""
from __future__ import annotations

import numpy as np
import torch

from .losses import _check_steps


def adam_first_step_ratio(g, eps: float = 1e-8):
    """Adam's first update over the learning rate, |g| / (|g| + eps): 1 for large gradients, 0 for tiny ones."""
    if not (eps >= 0):
        raise ValueError(f"eps={eps!r} must be non-negative")
    g = np.abs(np.asarray(g, dtype=float))
    return g / (g + eps)


def adam_scaled_updates(scales, steps: int = 3, lr: float = 1e-3, theta0=(1.0, -2.0), eps: float = 1e-8) -> np.ndarray:
    """Parameter change after ``steps`` Adam steps on c * ||theta||^2 / 2, for each scale c (rows), float64.

    The article's argument: Adam's update does not depend on c. It holds until c * |theta| nears eps.
    """
    _check_steps(steps)
    out = []
    for c in np.atleast_1d(np.asarray(scales, dtype=float)):
        theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([theta], lr=lr, eps=eps)
        for _ in range(steps):
            opt.zero_grad()
            (float(c) * 0.5 * (theta**2).sum()).backward()
            opt.step()
        out.append(theta.detach().numpy() - np.asarray(theta0))
    return np.array(out)  # (len(scales), len(theta0))

def effective_batch_fraction(weights, axis: int = -1):
    """Kish's effective sample size over n, (sum w)^2 / (n sum w^2): 1 when all weights are equal, 1/n when one dominates.

    Applied to InfoNCE's batch weights mean_a sigmoid(v_a) over training steps, it says what fraction of the
    batches an optimiser that normalises the gradient scale (Adam) effectively learns from (chapter 3).
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be a non-empty array of finite non-negative numbers")
    n = w.shape[axis]
    return w.sum(axis) ** 2 / (n * (w**2).sum(axis))
