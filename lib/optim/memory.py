"""What accumulation costs in memory (chapter 5, "What the trick saves"): bytes of optimizer state,
accumulation buffers and live ``.grad`` tensors under four ways of accumulating."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from lib import checks
from lib.optim.formulas import _check_k
from lib.optim.optimizers import AccumSGDM, EMASGDM, ExplicitAccumulator


def _tensor_bytes(obj) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


def state_bytes(optimizer) -> int:
    """Bytes held in tensors by an optimizer's state (and an accumulator's buffers)."""
    if isinstance(optimizer, ExplicitAccumulator):
        return state_bytes(optimizer.optimizer) + _tensor_bytes(list(optimizer.buffers.values()))
    if isinstance(optimizer, dict):  # several per-parameter optimizers
        return sum(state_bytes(o) for o in optimizer.values())
    return sum(_tensor_bytes(s) for s in optimizer.state.values())


MEMORY_SCHEMES = ("explicit buffer", ".grad accumulation", "built-in χ-form", "built-in χ-form in backward hooks")


def memory_census(scheme: str, *, widths: Sequence[int] = (64, 256, 256, 10), k: int = 4, micro_steps: int = 8,
                  micro_batch: int = 8, lr: float = 0.05, beta: float = 0.9, seed: int = 0) -> dict:
    """Train a small MLP for ``micro_steps`` under one accumulation ``scheme``; count bytes.

    Schemes (ch. 5, "What the trick saves"): ``"explicit buffer"``: :class:`ExplicitAccumulator`
    around :class:`EMASGDM`, grads zeroed every micro-step; ``".grad accumulation"``: the usual
    PyTorch idiom, loss / k, ``backward()`` sums into ``.grad``, :class:`EMASGDM` steps every k;
    ``"built-in χ-form"``: :class:`AccumSGDM`, grads zeroed every micro-step;
    ``"built-in χ-form in backward hooks"``: one :class:`AccumSGDM` per parameter stepped from a
    post-accumulate-grad hook that then frees the gradient.

    Returns ``param_bytes``; ``state_bytes`` (optimizer state plus buffers); ``peak_grad_bytes``,
    the largest total of live ``.grad`` tensors seen during any backward (sampled at every
    parameter's post-accumulate-grad hook); ``idle_grad_bytes``, live ``.grad`` between micro-steps;
    and ``params``, the final flat parameter vector (float64), to check the schemes agree.
    """
    checks.choice("scheme", scheme, MEMORY_SCHEMES)
    k = _check_k(k)
    gen = torch.Generator().manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b, dtype=torch.float64))
        if i < len(widths) - 2:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) / math.sqrt(p.shape[-1]))
    params = list(model.parameters())
    x = torch.randn(micro_steps, micro_batch, widths[0], generator=gen, dtype=torch.float64)  # (T, B, d_in)
    y = torch.randn(micro_steps, micro_batch, widths[-1], generator=gen, dtype=torch.float64)  # (T, B, d_out)

    peak = [0]

    def live_grad_bytes() -> int:
        return sum(_tensor_bytes(p.grad) for p in params if p.grad is not None)

    if scheme == "built-in χ-form in backward hooks":
        opts = {p: AccumSGDM([p], lr=lr, beta=beta, k=k) for p in params}

        def hook(p):
            peak[0] = max(peak[0], live_grad_bytes())
            opts[p].step()
            p.grad = None
        handles = [p.register_post_accumulate_grad_hook(hook) for p in params]
        holder = opts
    else:
        def hook(p):
            peak[0] = max(peak[0], live_grad_bytes())
        handles = [p.register_post_accumulate_grad_hook(hook) for p in params]
        if scheme == "explicit buffer":
            holder = ExplicitAccumulator(EMASGDM(params, lr=lr, beta=beta), k)
        elif scheme == ".grad accumulation":
            holder = EMASGDM(params, lr=lr, beta=beta)
        else:
            holder = AccumSGDM(params, lr=lr, beta=beta, k=k)
    idle = 0
    for t in range(1, micro_steps + 1):
        loss = 0.5 * ((model(x[t - 1]) - y[t - 1]) ** 2).sum(-1).mean()
        if scheme == ".grad accumulation":
            (loss / k).backward()
            if t % k == 0:
                holder.step()
                holder.zero_grad()
        else:
            loss.backward()
            if scheme != "built-in χ-form in backward hooks":
                holder.step()
                holder.zero_grad()
        idle = max(idle, live_grad_bytes())
    for h in handles:
        h.remove()
    return {"param_bytes": _tensor_bytes(params), "state_bytes": state_bytes(holder), "peak_grad_bytes": peak[0],
            "idle_grad_bytes": idle, "params": torch.cat([p.detach().flatten() for p in params]).numpy()}
