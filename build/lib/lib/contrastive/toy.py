"""A small deterministic contrastive learner, trained with each loss and precision (chapter 3, experiment).

An MLP encoder learns to retrieve a point's second noisy view among K - 1 others, with InfoNCE
(standard or stable), FlatNCE or InfoNCE rescaled by its batch weight, in float32 or float64.
Several models train at once, stacked along a leading axis.
Chapter 3 (``book/03-flatnce.ipynb``), after Su Jianlin, kexue.fm/archives/8586.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from lib import checks

from .losses import LOG_U32, _as_dtype, _check_K, _check_steps, _check_tau


TOY_LOSSES = ("infonce", "infonce_stable", "flatnce", "flatnce_log", "infonce_rescaled")
DEFAULT_VARIANTS = (("infonce", "float32"), ("infonce_stable", "float32"), ("infonce", "float64"),
                    ("flatnce", "float32"), ("infonce_rescaled", "float32"))
VARIANT_LABELS = {
    ("infonce", "float32"): "InfoNCE, standard (float32)",
    ("infonce_stable", "float32"): "InfoNCE, stable (float32)",
    ("infonce", "float64"): "InfoNCE, standard (float64)",
    ("flatnce", "float32"): "FlatNCE (float32)",
    ("infonce_rescaled", "float32"): "InfoNCE ÷ sg(batch mean σ(v))",
}


def toy_loss(loss: str, scores: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Per-model batch loss (M,) from scores (M, K, K) with positives on the diagonal and v (M, K).

    "infonce" uses F.cross_entropy; "infonce_stable" softplus(v); "flatnce" exp(v - sg v); "flatnce_log" v;
    "infonce_rescaled" mean softplus(v) / sg(mean sigmoid(v)): InfoNCE's batch gradient direction with its
    anchor weights sigmoid(v_a) normalised to sum to 1 (FlatNCE gives every anchor 1/K instead).
    """
    M, K, _ = scores.shape
    if loss == "infonce":
        tgt = torch.arange(K).repeat(M)
        return F.cross_entropy(scores.reshape(M * K, K), tgt, reduction="none").view(M, K).mean(1)
    if loss == "infonce_stable":
        return F.softplus(v).mean(1)
    if loss == "flatnce":
        return torch.exp(v - v.detach()).mean(1)
    if loss == "flatnce_log":
        return v.mean(1)
    if loss == "infonce_rescaled":
        return F.softplus(v).mean(1) / torch.sigmoid(v).mean(1).detach()
    raise ValueError(f"loss={loss!r} must be one of {TOY_LOSSES}")


@dataclass
class ToyTask:
    """x = z A with z ~ N(0, I_L), A (L, D) Gaussian / sqrt(L); views are x + sigma * noise."""

    D: int = 32
    L: int = 16
    H: int = 64
    sigma: float = 0.3
    task_seed: int = 12345
    n_eval: int = 1000
    A: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self):
        g = torch.Generator().manual_seed(self.task_seed)
        self.A = torch.randn(self.L, self.D, generator=g) / math.sqrt(self.L)  # (L, D)

    def views(self, n: int, g: torch.Generator) -> torch.Tensor:
        """Two noisy views of n fresh points, shape (2, n, D)."""
        x = torch.randn(n, self.L, generator=g) @ self.A  # (n, D)
        return torch.stack([x + self.sigma * torch.randn(n, self.D, generator=g),
                            x + self.sigma * torch.randn(n, self.D, generator=g)])

    def init_params(self, seed: int) -> list[torch.Tensor]:
        """MLP D -> H -> L weights with torch.nn.Linear's default ranges, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        g = torch.Generator().manual_seed(10_000 + int(seed))

        def u(shape, fan_in):
            return (torch.rand(shape, generator=g) * 2 - 1) / math.sqrt(fan_in)

        return [u((self.D, self.H), self.D), u((1, self.H), self.D), u((self.H, self.L), self.H), u((1, self.L), self.H)]


def _encode(params, x):  # params (M, ...) stacked; x (M, n, D) -> (M, n, L) unit vectors
    W1, b1, W2, b2 = params
    h = torch.relu(torch.baddbmm(b1, x, W1))  # (M, n, H)
    return F.normalize(torch.baddbmm(b2, h, W2), dim=-1)  # (M, n, L)


def _check_run(loss, K, tau, steps) -> None:
    checks.choice("loss", loss, TOY_LOSSES)
    _check_K(K)
    _check_tau(tau)
    _check_steps(steps)


def train_group(runs, K: int, dtype=torch.float32, steps: int = 600, lr: float = 1e-3, optimizer: str = "adam",
                task: ToyTask | None = None) -> dict:
    """Train several independent toy models at once, one per (loss, tau, seed) in ``runs`` (chapter 3, experiment).

    Each model is an MLP D -> H -> L (ReLU) with unit-norm outputs, trained on batches of K fresh points
    (two views each; anchor i's positive is its own second view, the other K-1 second views are its
    negatives), scores cos / tau, for ``steps`` steps of Adam (or plain SGD). Models are stacked along a
    leading axis and the summed loss is back-propagated: their parameters are disjoint and Adam acts
    elementwise, so each model trains exactly as if alone. A seed fixes the initial weights and the data
    stream, shared by all losses with that seed (common random numbers).

    Returns ``acc`` (M,): top-1 retrieval of view 2 from view 1 among ``task.n_eval`` held-out points;
    ``sat_frac`` (M,): mean fraction of anchors with xi <= 2^-24 over the last 20% of steps;
    ``weight`` (M, steps): batch mean of sigmoid(v_a), InfoNCE's anchor weight; ``saturated`` (M, steps).
    """
    dtype = _as_dtype(dtype)
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype={dtype} must be float32 or float64 for training")
    checks.choice("optimizer", optimizer, ("adam", "sgd"))
    runs = [(str(l), float(t), int(s)) for l, t, s in runs]
    if not runs:
        raise ValueError("runs must list at least one (loss, tau, seed)")
    for l, t, _ in runs:
        _check_run(l, K, t, steps)
    task = task or ToyTask()
    M, seeds = len(runs), sorted({s for _, _, s in runs})
    init = {s: task.init_params(s) for s in seeds}
    params = [torch.stack([init[s][j] for _, _, s in runs]).to(dtype).requires_grad_(True) for j in range(4)]
    tau = torch.tensor([t for _, t, _ in runs], dtype=dtype).view(M, 1, 1)
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
    gens = {s: torch.Generator().manual_seed(20_000 + s) for s in seeds}
    which = torch.tensor([seeds.index(s) for _, _, s in runs])
    groups = {l: torch.tensor([i for i, r in enumerate(runs) if r[0] == l]) for l in dict.fromkeys(r[0] for r in runs)}
    off_diag = ~torch.eye(K, dtype=torch.bool)
    weight = torch.empty(M, steps, dtype=torch.float64)
    saturated = torch.empty(M, steps, dtype=torch.float64)
    for step in range(steps):
        batch = torch.stack([task.views(K, gens[s]) for s in seeds]).to(dtype)[which]  # (M, 2, K, D)
        h1, h2 = _encode(params, batch[:, 0]), _encode(params, batch[:, 1])  # (M, K, L)
        scores = torch.bmm(h1, h2.transpose(1, 2)) / tau  # (M, K, K)
        pos = scores.diagonal(dim1=1, dim2=2).unsqueeze(-1)  # (M, K, 1)
        v = torch.logsumexp(scores[:, off_diag].view(M, K, K - 1) - pos, dim=-1)  # (M, K)
        total = sum(toy_loss(l, scores[idx], v[idx]).sum() for l, idx in groups.items())
        opt.zero_grad()
        total.backward()
        opt.step()
        vd = v.detach().double()
        weight[:, step] = torch.sigmoid(vd).mean(1)
        saturated[:, step] = (vd <= LOG_U32).double().mean(1)
    acc = _retrieval_accuracy(params, task, dtype)
    tail = saturated[:, int(0.8 * steps):] if steps >= 5 else saturated
    return {"runs": runs, "acc": acc, "sat_frac": tail.mean(1).numpy(),
            "weight": weight.numpy(), "saturated": saturated.numpy()}


def _retrieval_accuracy(params, task: ToyTask, dtype) -> np.ndarray:
    g = torch.Generator().manual_seed(999)
    x1, x2 = task.views(task.n_eval, g).to(dtype)  # (n, D) each
    acc = []
    with torch.no_grad():
        for m in range(params[0].shape[0]):
            one = [p[m : m + 1] for p in params]
            e1, e2 = _encode(one, x1[None])[0], _encode(one, x2[None])[0]  # (n, L)
            acc.append(float(((e1 @ e2.T).argmax(-1) == torch.arange(task.n_eval)).double().mean()))
    return np.array(acc)


def train_toy_contrastive(loss: str, K: int, tau: float, dtype=torch.float32, steps: int = 600, sigma: float = 0.3,
                          lr: float = 1e-3, seed: int = 0, optimizer: str = "adam") -> dict:
    """One toy run (see :func:`train_group`): ``acc``, ``sat_frac`` and the per-step ``weight``/``saturated``."""
    out = train_group([(loss, tau, seed)], K, dtype, steps, lr, optimizer, ToyTask(sigma=sigma))
    return {"acc": float(out["acc"][0]), "sat_frac": float(out["sat_frac"][0]),
            "history": {"weight": out["weight"][0], "saturated": out["saturated"][0]}}


@dataclass
class BatchSizeSweep:
    """Results of :func:`batch_size_sweep`; arrays are indexed [variant, tau, K, seed] (+ [step])."""

    Ks: list
    taus: list
    variants: list
    seeds: list
    steps: int
    acc: np.ndarray
    sat_frac: np.ndarray
    weight: np.ndarray
    saturated: np.ndarray

    def labels(self) -> list[str]:
        return [VARIANT_LABELS.get(v, f"{v[0]} ({v[1]})") for v in self.variants]

    def index(self, variant) -> int:
        return self.variants.index(tuple(variant))


def batch_size_sweep(Ks=(4, 8, 16, 64), taus=(0.02, 0.05, 0.1), variants=DEFAULT_VARIANTS, seeds=(0, 1, 2),
                     steps: int = 600, lr: float = 1e-3) -> BatchSizeSweep:
    """Train every (variant, tau, K, seed) of the chapter's experiment; one stacked group per (K, dtype)."""
    variants = [(l, str(d)) for l, d in variants]
    for l, d in variants:
        _as_dtype(d)
        checks.choice("variant loss", l, TOY_LOSSES)
    Ks, taus, seeds = list(Ks), [float(t) for t in taus], list(seeds)
    V, T, NK, S = len(variants), len(taus), len(Ks), len(seeds)
    acc, sat = np.empty((V, T, NK, S)), np.empty((V, T, NK, S))
    weight, saturated = np.empty((V, T, NK, S, steps)), np.empty((V, T, NK, S, steps))
    for k, K in enumerate(Ks):
        for d in dict.fromkeys(d for _, d in variants):
            vis = [i for i, (_, dd) in enumerate(variants) if dd == d]
            runs = [(variants[i][0], t, s) for i in vis for t in taus for s in seeds]
            out = train_group(runs, K, d, steps, lr)
            shape = (len(vis), T, S)
            acc[vis, :, k] = out["acc"].reshape(shape)
            sat[vis, :, k] = out["sat_frac"].reshape(shape)
            weight[vis, :, k] = out["weight"].reshape(shape + (steps,))
            saturated[vis, :, k] = out["saturated"].reshape(shape + (steps,))
    return BatchSizeSweep(Ks, taus, variants, seeds, steps, acc, sat, weight, saturated)
