"""A random problem with several parameter groups, to compare optimizers step by step (chapter 5).

The model is a small tanh MLP (three layers, one parameter group each, with different lr and
beta) plus a ``branch`` parameter that only some micro-batches use (the first use falls in the
middle of a window, and one whole window never uses it) and an ``unused`` parameter that none
uses. :func:`random_problem_run` trains it either one ``step()`` per micro-batch (``mode="micro"``)
or one step per window on the mean of the window's k micro-batch losses (``mode="big"``), which
is what exact gradient accumulation must reproduce.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import torch

from lib import checks
from lib.optim.formulas import _check_k
from lib.optim.optimizers import ExplicitAccumulator

GROUP_SETTINGS = ({"lr": 0.05, "beta": 0.9}, {"lr": 0.02, "beta": 0.5}, {"lr": 0.1, "beta": 0.99})


class RandomProblem(torch.nn.Module):
    """5 -> 8 -> 8 -> 2 tanh MLP with an optional linear ``branch`` and an ``unused`` parameter."""

    def __init__(self, seed: int = 0, dtype: torch.dtype = torch.float64):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b, dtype=dtype) for a, b in ((5, 8), (8, 8), (8, 2)))
        self.branch = torch.nn.Parameter(torch.empty(5, 2, dtype=dtype))
        self.unused = torch.nn.Parameter(torch.empty(3, dtype=dtype))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=dtype))

    def forward(self, x: torch.Tensor, use_branch: bool) -> torch.Tensor:  # (B, 5) -> (B, 2)
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = torch.tanh(h)
        return h + x @ self.branch if use_branch else h

    def loss(self, x: torch.Tensor, y: torch.Tensor, use_branch: bool) -> torch.Tensor:
        return 0.5 * ((self(x, use_branch) - y) ** 2).sum(-1).mean()

    def flat(self) -> torch.Tensor:
        return torch.cat([p.detach().flatten() for p in self.parameters()])


def ema_param_groups(model: RandomProblem, settings: Sequence[dict] = GROUP_SETTINGS, **extra) -> list[dict]:
    """Parameter groups in EMA-form settings (lr, beta): one per layer; the branch and the unused
    parameter join the first group."""
    groups = [{"params": list(layer.parameters()), **s, **extra} for layer, s in zip(model.layers, settings)]
    groups[0]["params"] += [model.branch, model.unused]
    return groups


def torch_sgd_param_groups(model: RandomProblem, settings: Sequence[dict] = GROUP_SETTINGS) -> list[dict]:
    """The same groups for ``torch.optim.SGD``: EMA-form (lr, beta) is SGD(lr * (1 - beta), momentum=beta)."""
    return [{"params": g["params"], "lr": g["lr"] * (1 - g["beta"]), "momentum": g["beta"]}
            for g in ema_param_groups(model, settings)]


def _groups(opt) -> list[dict]:
    return opt.optimizer.param_groups if isinstance(opt, ExplicitAccumulator) else opt.param_groups


def random_problem_run(make_optimizer: Callable, *, k: int, windows: int = 40, mode: str = "micro", seed: int = 0,
                       dtype: torch.dtype = torch.float64, set_to_none: bool = True,
                       lr_factor: Callable[[int], float] | None = None, reference_weight_decay: float = 0.0,
                       repeat_micro_batch: bool = False) -> dict:
    """Train :class:`RandomProblem` for ``windows`` windows of k micro-batches; record the parameters.

    ``make_optimizer(model)`` returns a torch optimizer or an :class:`ExplicitAccumulator`.
    ``lr_factor(t)`` multiplies every group's initial lr before micro-step t (1-based); in
    ``mode="big"`` the window's step uses ``lr_factor(k * window)``, the lr of its update step.
    ``reference_weight_decay`` applies decoupled decay theta *= 1 - alpha * wd before each big
    step, with alpha = lr / (1 - momentum) (for the ``torch.optim.SGD`` reference).
    ``repeat_micro_batch`` makes the k micro-batches of a window identical (data and branch use).

    Returns ``path`` (windows + 1, n_params) and ``branch`` (windows + 1, 5, 2) at window ends,
    ``frozen_inside_windows`` (whether the parameters were bit-identical after every micro-step
    that is not a multiple of k; micro mode),
    ``moved`` (max |theta_end - theta_0|), the ``model`` and the ``optimizer``.
    """
    k = _check_k(k)
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
        raise ValueError(f"windows={windows!r} must be a positive integer")
    checks.choice("mode", mode, ("micro", "big"))
    gen = torch.Generator().manual_seed(seed + 1)
    n_data = 1 if repeat_micro_batch else k
    x = torch.randn(windows, n_data, 3, 5, generator=gen, dtype=dtype).expand(windows, k, 3, 5)  # (W, k, B, 5)
    y = torch.randn(windows, n_data, 3, 2, generator=gen, dtype=dtype).expand(windows, k, 3, 2)  # (W, k, B, 2)
    use = np.random.default_rng(seed).random((windows, k)) < 0.5
    use[:2] = False
    if windows > 1:
        use[1, k // 2] = True  # first use in the middle of window 2
    if windows > 3:
        use[3] = False  # window 4: no gradient at all for the branch
    if repeat_micro_batch:
        use[:] = use.any(axis=1, keepdims=True)  # identical micro-batches use the branch alike
    model = RandomProblem(seed, dtype)
    opt = make_optimizer(model)
    base = [g["lr"] for g in _groups(opt)]
    path, branch, frozen = [model.flat()], [model.branch.detach().clone()], True
    for w in range(windows):
        if mode == "big":
            t = k * (w + 1)
            if lr_factor is not None:
                for g, lr in zip(_groups(opt), base):
                    g["lr"] = lr * lr_factor(t)
            (sum(model.loss(x[w, i], y[w, i], use[w, i]) for i in range(k)) / k).backward()
            if reference_weight_decay:
                with torch.no_grad():
                    for g in _groups(opt):
                        alpha = g["lr"] / (1 - g.get("momentum", 0.0))
                        for p in g["params"]:
                            if p.grad is not None:  # as the built-in optimizers: never-seen parameters are left alone
                                p.mul_(1 - alpha * reference_weight_decay)
            opt.step()
            opt.zero_grad(set_to_none=set_to_none)
        else:
            for i in range(k):
                t = k * w + i + 1
                if lr_factor is not None:
                    for g, lr in zip(_groups(opt), base):
                        g["lr"] = lr * lr_factor(t)
                before = model.flat()
                model.loss(x[w, i], y[w, i], use[w, i]).backward()
                opt.step()
                opt.zero_grad(set_to_none=set_to_none)
                if t % k:
                    frozen = frozen and torch.equal(before, model.flat())
        path.append(model.flat())
        branch.append(model.branch.detach().clone())
    path = torch.stack(path)
    return {"path": path, "frozen_inside_windows": frozen if mode == "micro" else None,
            "moved": float((path[-1] - path[0]).abs().max()), "branch": torch.stack(branch), "model": model,
            "optimizer": opt}


def max_gap(a: dict, b: dict) -> float:
    """max |theta_a - theta_b| over the window-end parameters of two :func:`random_problem_run` results."""
    return float((a["path"] - b["path"]).abs().max())


def resume_gap(make_optimizer: Callable, *, k: int = 4, stop_at: int = 10, total: int = 21, seed: int = 0) -> float:
    """max |theta| difference between an uninterrupted run and one checkpointed after ``stop_at``
    micro-steps (mid-window unless k divides it), reloaded into a fresh model and optimizer through
    ``torch.save``/``torch.load`` of both state dicts, and continued to ``total`` micro-steps."""
    k = _check_k(k)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(total, 3, 5, generator=gen, dtype=torch.float64)  # (T, B, 5)
    y = torch.randn(total, 3, 2, generator=gen, dtype=torch.float64)  # (T, B, 2)

    def train(model, opt, steps):
        for t in steps:
            model.loss(x[t], y[t], t % 3 == 0).backward()
            opt.step()
            opt.zero_grad()

    full = RandomProblem(seed)
    opt = make_optimizer(full)
    train(full, opt, range(total))
    first = RandomProblem(seed)
    opt = make_optimizer(first)
    train(first, opt, range(stop_at))
    buf = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    resumed = RandomProblem(seed + 1000)  # other initial values: everything must come from the checkpoint
    resumed.load_state_dict(saved["model"])
    opt = make_optimizer(resumed)
    opt.load_state_dict(saved["optimizer"])
    train(resumed, opt, range(stop_at, total))
    return float((full.flat() - resumed.flat()).abs().max())
