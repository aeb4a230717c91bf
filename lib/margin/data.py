"""The chapter's data sets: Gaussian clusters and scikit-learn's 8x8 digits (chapter 1).

Chapter 1, section "Experiment: softmax against AM-Softmax", after Su Jianlin,
kexue.fm/archives/8656 (the article has no experiments; these are ours). A :class:`Split` holds
training samples, held-out samples of the same classes, and samples of classes that training
never sees.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Training samples, held-out samples of the same classes, and samples of held-out classes."""

    name: str
    x_train: np.ndarray  # (N_train, D) float32
    y_train: np.ndarray  # (N_train,) int64 in [0, K)
    x_test: np.ndarray  # (N_test, D)
    y_test: np.ndarray  # (N_test,)
    x_new: np.ndarray  # (N_new, D): classes never seen in training (may be empty)
    y_new: np.ndarray  # (N_new,)

    @property
    def n_classes(self) -> int:
        return int(self.y_train.max()) + 1


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer of at least {minimum}")
    return int(value)


def make_clustered_data(n_classes: int, n_per_class: int, dim: int = 16, spread: float = 0.6, seed: int = 1234):
    """Gaussian clusters: class means ``mu_k ~ N(0, I_dim)``, samples ``mu_y + spread * eps``.

    Returns ``x`` (K n, dim) float32, ``y`` (K n,) int64 sorted by class, and the means (K, dim).
    """
    k = _positive_int(n_classes, "n_classes", 2)
    n = _positive_int(n_per_class, "n_per_class")
    d = _positive_int(dim, "dim")
    if not np.isfinite(spread) or spread <= 0:
        raise ValueError(f"spread={spread!r} must be a positive number")
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d))  # (K, dim)
    y = np.repeat(np.arange(k), n)  # (K n,)
    x = means[y] + spread * rng.normal(size=(k * n, d))  # (K n, dim)
    return x.astype(np.float32), y.astype(np.int64), means


def clustered_split(n_classes: int = 20, n_new_classes: int = 10, n_train: int = 50, n_test: int = 25,
                    dim: int = 16, spread: float = 0.6, seed: int = 1234) -> Split:
    """The chapter's synthetic set: ``n_classes`` trained classes (n_train + n_test each) and
    ``n_new_classes`` more (n_test each) that training never sees."""
    _positive_int(n_new_classes, "n_new_classes", 0)
    _positive_int(n_test, "n_test", 2)
    x, y, _ = make_clustered_data(n_classes + n_new_classes, n_train + n_test, dim, spread, seed)
    first = np.tile(np.arange(n_train + n_test) < n_train, n_classes + n_new_classes)
    seen = y < n_classes
    new = ~seen & ~first
    return Split(f"clusters K={n_classes}", x[seen & first], y[seen & first], x[seen & ~first], y[seen & ~first],
                 x[new], y[new] - n_classes)


def digits_split(new_classes: Sequence[int] = (), test_fraction: float = 0.5, seed: int = 0) -> Split:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download), pixels / 16.

    Each trained class is split at random into train / test (``test_fraction`` held out); the
    digits in ``new_classes`` are held out entirely. Trained digits are relabelled 0..K-1.
    """
    from sklearn.datasets import load_digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction!r} must lie in (0, 1)")
    new = sorted(set(int(c) for c in new_classes))
    if any(c not in range(10) for c in new) or len(new) > 8:
        raise ValueError(f"new_classes={new_classes!r} must be digits 0-9, leaving at least two to train on")
    data = load_digits()
    x, y = (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)  # (1797, 64), (1797,)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: round(len(idx) * test_fraction)]] = True
    trained = [c for c in range(10) if c not in new]
    relabel = np.full(10, -1)
    relabel[trained] = np.arange(len(trained))
    seen = relabel[y] >= 0
    name = "digits" + (f" (digits {', '.join(map(str, new))} held out)" if new else "")
    return Split(name, x[seen & ~test], relabel[y[seen & ~test]], x[seen & test], relabel[y[seen & test]],
                 x[~seen & test], y[~seen & test])
