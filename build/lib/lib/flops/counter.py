"""FLOPs counted by PyTorch's ``FlopCounterMode``, and the fused kernels it cannot see (chapter 2).

On CPU the fused attention kernel and the ``nn.TransformerEncoderLayer`` fast path have no FLOP
formula and count 0; :func:`count_flops` decomposes them into counted matmuls and warns when an
uncounted kernel still ran. FLOPs here are the counters' (2 per multiply-add).
Chapter 2, after Su Jianlin, kexue.fm/archives/8610.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .counts import _lengths, _positive_int, _shape, flops_from_mults, layer_mults
from .layer import BertLikeLayer


class UncountedFlopsWarning(UserWarning):
    """A fused kernel ran that ``FlopCounterMode`` has no formula for, so its FLOPs are missing."""


_FUSED_HINTS = ("attention", "transformer_encoder", "multi_head")


def count_flops(module: nn.Module, x: torch.Tensor, *, decompose_fused: bool = True, backward: bool = False) -> int:
    """FLOPs of ``module(x)`` by ``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add).

    On CPU the fused attention kernel (``_scaled_dot_product_flash_attention_for_cpu``) and the
    ``nn.TransformerEncoderLayer`` fast path have no FLOP formula: they count 0. With
    ``decompose_fused`` (default) the module runs under ``sdpa_kernel(SDPBackend.MATH)`` with the
    fast path off, so attention is decomposed into counted matmuls. Whenever an uncounted fused op
    still runs, an :class:`UncountedFlopsWarning` names it. With ``backward`` the count covers
    ``module(x).sum().backward()`` as well (x then needs ``requires_grad``).
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode, flop_registry

    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")

    class _Ops(TorchDispatchMode):  # records which aten ops ran, below autograd
        def __init__(self):
            super().__init__()
            self.seen: set = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.add(func.overloadpacket)
            return func(*args, **(kwargs or {}))

    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        if decompose_fused:
            torch.backends.mha.set_fastpath_enabled(False)
        with torch.set_grad_enabled(backward), FlopCounterMode(display=False) as counter, _Ops() as ops:
            with sdpa_kernel(SDPBackend.MATH) if decompose_fused else contextlib.nullcontext():
                y = module(x)
                if backward:
                    y.sum().backward()
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    missing = sorted(str(op) for op in ops.seen
                     if op not in flop_registry and any(s in str(op) for s in _FUSED_HINTS))
    if missing:
        warnings.warn(f"FlopCounterMode counted 0 FLOPs for {', '.join(missing)}: the total is too low",
                      UncountedFlopsWarning, stacklevel=2)
    return int(counter.get_total_flops())


def count_model_flops(n: int, layers: int = 12, hidden: int = 768, heads: int = 12, ffn_dim: int | None = None,
                      backward: bool = False, device: str = "meta") -> int:
    """FLOPs counted by ``FlopCounterMode`` for ``layers`` stacked :class:`BertLikeLayer` s on a (1, n, H) input.

    On the ``meta`` device (default) no arithmetic is done: the counter needs only shapes, so a
    24-layer model costs milliseconds. With ``backward`` the input requires grad (as inside a deeper
    model) and the count covers forward and backward.
    """
    n, L = _positive_int("n", n), _positive_int("layers", layers)
    H, h, Fd = _shape(hidden, heads, ffn_dim)
    model = nn.Sequential(*(BertLikeLayer(H, h, Fd, seed=i, device=device) for i in range(L)))
    x = torch.zeros(1, n, H, device=device, requires_grad=backward)  # (1, n, H)
    return count_flops(model, x, backward=backward)


def flop_check(lengths: Sequence[int], hidden: int = 768, heads: int = 12, ffn_dim: int | None = None,
               seed: int = 0) -> dict[str, np.ndarray]:
    """Count one layer's forward FLOPs on CPU, explicit matmuls vs fused SDPA, next to 2 x the article's count.

    Returns int64 arrays ``lengths``, ``analytic`` (2 x :func:`layer_mults` total), ``explicit``
    (softmax :class:`BertLikeLayer`) and ``sdpa`` (the same layer through ``F.scaled_dot_product_attention``
    with the counter left as it is, which on CPU misses the attention core).
    """
    ns = [int(v) for v in _lengths(list(lengths))]
    H, h, Fd = _shape(hidden, heads, ffn_dim)
    explicit = BertLikeLayer(H, h, Fd, seed=seed)
    fused = BertLikeLayer(H, h, Fd, attention="sdpa", seed=seed)
    gen = torch.Generator().manual_seed(seed)
    out = {"lengths": [], "analytic": [], "explicit": [], "sdpa": []}
    for n in ns:
        x = torch.randn(1, n, H, generator=gen)  # (1, n, H)
        out["lengths"].append(n)
        out["analytic"].append(flops_from_mults(layer_mults(n, H, h, Fd)["total"]))
        out["explicit"].append(count_flops(explicit, x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UncountedFlopsWarning)
            out["sdpa"].append(count_flops(fused, x, decompose_fused=False))
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}
