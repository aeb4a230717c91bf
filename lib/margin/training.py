"""The encoder with a cosine head, trained with a margin loss (chapter 1).

Chapter 1, section "Experiment: softmax against AM-Softmax", after Su Jianlin,
kexue.fm/archives/8656: a small MLP maps inputs to unit-norm features, a bias-free head holds the
class centres, and Adam minimises AM-Softmax (margin on cosines) or the article's loss on
``sqrt(1 - cos)`` distances. torch, CPU.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lib import checks

from .ceilings import _n_classes
from .data import _positive_int
from .losses import _check_scale_margin, sqrt_cos_distance_for_training


class AMSoftmaxHead(nn.Module):
    """Class centres with no bias; ``forward(z)`` returns the cosines between z and each centre (N, K)."""

    def __init__(self, emb_dim: int, n_classes: int):
        super().__init__()
        self.centres = nn.Parameter(torch.randn(_n_classes(n_classes), _positive_int(emb_dim, "emb_dim")))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z, dim=1) @ F.normalize(self.centres.to(z.dtype), dim=1).T  # (N, K)


@dataclass
class TrainedModel:
    """An encoder (MLP to ``emb_dim``) and its class centres, with the training loss per step."""

    encoder: nn.Module
    head: AMSoftmaxHead
    margin: float
    scale: float
    kind: str
    losses: np.ndarray = field(repr=False)

    def embed(self, x) -> np.ndarray:
        """Unit-norm embeddings (N, emb_dim) of inputs x (N, D)."""
        with torch.no_grad():
            return F.normalize(self.encoder(torch.as_tensor(np.asarray(x, np.float32))), dim=1).numpy()

    def centres(self) -> np.ndarray:
        """Unit-norm class centres (K, emb_dim)."""
        with torch.no_grad():
            return F.normalize(self.head.centres, dim=1).numpy().copy()


KINDS = ("am", "sqrt")


def train_margin_classifier(x, y, *, margin: float, scale: float = 30.0, emb_dim: int = 3, hidden: int = 64,
                            steps: int = 300, lr: float = 1e-2, kind: str = "am", seed: int = 0,
                            init: TrainedModel | None = None) -> TrainedModel:
    """Train ``x -> Linear -> ReLU -> Linear -> normalise`` with a cosine head, full batch, Adam.

    ``kind="am"`` uses :func:`am_softmax_loss` (margin on cosines, m = 0 is plain normalised
    softmax); ``kind="sqrt"`` uses :func:`distance_margin_loss` on ``sqrt(1 - cos)``, the
    article's own metric. ``init`` continues training a copy of an earlier model (the article's
    adaptive schedule). Deterministic given ``seed``; the global torch RNG is left untouched.
    """
    checks.choice("kind", kind, KINDS)
    _check_scale_margin(scale, margin, "mean", False)
    steps = _positive_int(steps, "steps")
    if not (isinstance(lr, (int, float)) and 0 < lr < 1):
        raise ValueError(f"lr={lr!r} must be a number in (0, 1)")
    xt = torch.as_tensor(np.asarray(x, np.float32))  # (N, D)
    yt = torch.as_tensor(np.asarray(y)).long()  # (N,)
    if xt.ndim != 2 or yt.shape != (xt.shape[0],):
        raise ValueError(f"x must be (N, D) and y (N,), got {tuple(xt.shape)} and {tuple(yt.shape)}")
    if not np.issubdtype(np.asarray(y).dtype, np.integer) or int(yt.min()) < 0:
        raise TypeError(f"y must hold non-negative integer class indices, got dtype {np.asarray(y).dtype}")
    k = int(yt.max()) + 1
    if k < 2:
        raise ValueError("y must contain at least two classes")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if init is None:
            encoder = nn.Sequential(nn.Linear(xt.shape[1], _positive_int(hidden, "hidden")), nn.ReLU(),
                                    nn.Linear(hidden, emb_dim))
            head = AMSoftmaxHead(emb_dim, k)
        else:
            encoder, head = copy.deepcopy(init.encoder), copy.deepcopy(init.head)
        opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=lr)
        losses = np.empty(steps)
        shift = margin * F.one_hot(yt, k).float()  # (N, K): the margin on the target column only
        for t in range(steps):
            cos = head(encoder(xt))  # (N, K)
            # The bodies of am_softmax_loss / distance_margin_loss, without re-validating every step.
            if kind == "am":
                loss = F.cross_entropy(scale * (cos - shift), yt)
            else:
                loss = F.cross_entropy(-scale * (sqrt_cos_distance_for_training(cos) + shift), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[t] = loss.item()
    return TrainedModel(encoder, head, float(margin), float(scale), kind, losses)
