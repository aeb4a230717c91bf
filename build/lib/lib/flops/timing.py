"""Timing a BERT layer stage by stage, and what the times say about the count (chapter 2).

Timings are never asserted: the chapter shows them as measured when the page was built. Repeats
are the outer loop so that a change in machine load hits every length alike, and the fastest of
the repeats is used (interference on a shared machine only ever adds time).
Chapter 2, after Su Jianlin, kexue.fm/archives/8610.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lib import checks

from .counts import _lengths, _non_negative_int, _positive_int, _shape, layer_mults
from .layer import BertLikeLayer, linear_attention_core


def _timing_args(repeats, warmup, threads) -> tuple[int, int, int]:
    r = _positive_int("repeats", repeats)
    return r, _non_negative_int("warmup", warmup), _positive_int("threads", threads)


def time_forward(module: nn.Module, x: torch.Tensor, repeats: int = 9, warmup: int = 2, threads: int = 1) -> float:
    """Median wall time in seconds of ``module(x)`` without autograd, on ``threads`` threads (restored after)."""
    r, w, t = _timing_args(repeats, warmup, threads)
    old = torch.get_num_threads()
    torch.set_num_threads(t)
    try:
        with torch.no_grad():
            for _ in range(w):
                module(x)
            times = []
            for _ in range(r):
                start = time.perf_counter()
                module(x)
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(old)
    return statistics.median(times)


def time_stages(module: BertLikeLayer, x: torch.Tensor) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds spent in each stage of one forward pass of a :class:`BertLikeLayer` (no autograd).

    Returns two dicts, stage -> seconds: wall time (``time.perf_counter``) and this thread's CPU
    time (``time.thread_time``; with one torch thread the work runs on the calling thread, and time
    spent descheduled by other processes on a shared machine is not counted).
    """
    stamps: list[tuple[str, float, float]] = []
    with torch.no_grad():
        t0, c0 = time.perf_counter(), time.thread_time()
        module(x, marks=lambda name: stamps.append((name, time.perf_counter(), time.thread_time())))
    wall, cpu = {}, {}
    for name, t, c in stamps:
        wall[name], cpu[name] = t - t0, c - c0
        t0, c0 = t, c
    return wall, cpu


SOFTMAX_STAGES = ("qkv_proj", "scores", "softmax", "weighted_sum", "out_proj", "ffn_up", "ffn_down")
STAGE_GROUPS = {  # out_proj includes the head merge, the residual and LayerNorm; ffn_up the GELU
    "projections": ("qkv_proj", "out_proj"),
    "n² attention": ("scores", "softmax", "weighted_sum"),
    "FFN": ("ffn_up", "ffn_down"),
    "SA": ("qkv_proj", "scores", "softmax", "weighted_sum", "out_proj"),
}
CLOCKS = ("wall", "cpu")


@dataclass
class LayerTimings:
    """Stage times of a :class:`BertLikeLayer` over repeats and lengths, plus linear-attention cores.

    ``stages[clock][stage]`` and ``cores[clock][label]`` have shape (repeats, len(lengths)), for the
    clocks ``"wall"`` and ``"cpu"`` (thread CPU time). Core labels are ``"linear e=1"`` and so on;
    the softmax core is the stage group ``"n² attention"``. ``sweep_wall`` and ``sweep_cpu`` are
    the seconds the whole sweep took (warm-up included; CPU of the whole process).
    """

    lengths: np.ndarray
    stages: dict[str, dict[str, np.ndarray]]
    cores: dict[str, dict[str, np.ndarray]]
    threads: int
    sweep_wall: float
    sweep_cpu: float

    def group(self, name: str, clock: str = "wall") -> np.ndarray:
        """Times (repeats, lengths) of a stage, or of a group of :data:`STAGE_GROUPS`, in one forward pass."""
        st = self.stages[checks.choice("clock", clock, CLOCKS)]
        if name in st:
            return st[name]
        if name not in STAGE_GROUPS:
            raise ValueError(f"name={name!r} is neither a stage {tuple(st)} nor a group {tuple(STAGE_GROUPS)}")
        return sum(st[s] for s in STAGE_GROUPS[name])

    def best(self, name: str, clock: str = "wall") -> np.ndarray:
        """Fastest of the repeats, per length: interference on a shared machine only ever adds time."""
        return self.group(name, clock).min(axis=0)

    def ratio(self, num: str, den: str, clock: str = "wall") -> np.ndarray:
        """best(num) / best(den) per length (both timed in the same sweep, the same forward passes)."""
        return self.best(num, clock) / self.best(den, clock)

    def best_core(self, label: str, clock: str = "wall") -> np.ndarray:
        """Fastest time per length of a linear-attention core (``"linear e=4"``, ...)."""
        return self.cores[checks.choice("clock", clock, CLOCKS)][label].min(axis=0)


def time_layer_sweep(lengths: Sequence[int], hidden: int = 768, heads: int = 12, ffn_dim: int | None = None,
                     repeats: int = 3, warmup: int = 1, threads: int = 1, linear_expands: Sequence[int] = (1, 4),
                     seed: int = 0) -> LayerTimings:
    """Time each stage of a softmax :class:`BertLikeLayer`, and linear-attention cores, for every length.

    Repeats are the outer loop and lengths the inner one, so that a change in machine load hits
    every length alike. Batch 1, no autograd, ``threads`` torch threads (restored afterwards).
    The linear cores get random (1, h, n, e d) inputs of their own, timed right after each forward.
    """
    ns = [int(v) for v in _lengths(list(lengths))]
    r, w, t = _timing_args(repeats, warmup, threads)
    if isinstance(linear_expands, (int, str)):
        raise TypeError(f"linear_expands={linear_expands!r} must be a sequence of integers")
    expands = [_positive_int("linear_expands", e) for e in linear_expands]
    H, h, Fd = _shape(hidden, heads, ffn_dim)
    d = H // h
    layer = BertLikeLayer(H, h, Fd, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    xs = [torch.randn(1, n, H, generator=gen) for n in ns]  # (1, n, H)
    core_inputs = {f"linear e={e}": [torch.randn(3, 1, h, n, e * d, generator=gen) for n in ns] for e in expands}
    stages = {c: {s: np.zeros((r, len(ns))) for s in SOFTMAX_STAGES} for c in CLOCKS}
    cores = {c: {k: np.zeros((r, len(ns))) for k in core_inputs} for c in CLOCKS}
    old = torch.get_num_threads()
    torch.set_num_threads(t)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        with torch.no_grad():
            for rep in range(-w, r):
                for j in range(len(ns)):
                    wall, cpu = time_stages(layer, xs[j])
                    core_times = {}
                    for label, inputs in core_inputs.items():
                        q, k, v = inputs[j]  # each (1, h, n, e*d)
                        t0, c0 = time.perf_counter(), time.thread_time()
                        linear_attention_core(q, k, v)
                        core_times[label] = (time.perf_counter() - t0, time.thread_time() - c0)
                    if rep < 0:
                        continue
                    for s in SOFTMAX_STAGES:
                        stages["wall"][s][rep, j], stages["cpu"][s][rep, j] = wall[s], cpu[s]
                    for label, (tw, tc) in core_times.items():
                        cores["wall"][label][rep, j], cores["cpu"][label][rep, j] = tw, tc
    finally:
        torch.set_num_threads(old)
    return LayerTimings(np.array(ns), stages, cores, t, time.perf_counter() - wall0, time.process_time() - cpu0)


def achieved_gflops(t: LayerTimings, hidden: int = 768, ffn_dim: int | None = None, clock: str = "wall") -> dict:
    """GFLOP/s achieved by the groups ``projections``, ``n² attention`` and ``FFN``: counted FLOPs / fastest time.

    The n² attention's FLOPs are its two matmuls' (QK^T and weights x V); its time includes the softmax,
    which does no matrix product, so its rate shows what the count leaves out.
    """
    H, _, Fd = _shape(hidden, None, ffn_dim)
    c = {k: np.asarray(v, float) for k, v in layer_mults(t.lengths, H, 1, Fd).items()}
    counted = {"projections": 2 * (c["qkv_proj"] + c["out_proj"]), "n² attention": 2 * (c["scores"] + c["weighted_sum"]),
               "FFN": 2 * c["ffn"]}
    return {g: f / t.best(g, clock) / 1e9 for g, f in counted.items()}


def crossover_length(lengths, ratios) -> float | None:
    """Where a ratio first crosses 1, interpolating log(ratio) linearly in log(n); None if it never does.

    Returns ``lengths[0]`` if the ratio is already >= 1 there.
    """
    n = np.asarray(lengths, dtype=float)
    r = np.asarray(ratios, dtype=float)
    if n.ndim != 1 or n.shape != r.shape or n.size < 2:
        raise ValueError(f"lengths and ratios must be 1-D of the same length (at least 2), got {n.shape} and {r.shape}")
    if np.any(np.diff(n) <= 0) or np.any(n <= 0) or np.any(r <= 0):
        raise ValueError("lengths must be positive and increasing, and ratios positive")
    if r[0] >= 1:
        return float(n[0])
    for i in range(1, n.size):
        if r[i] >= 1:
            a, b = np.log(r[i - 1]), np.log(r[i])
            frac = -a / (b - a)
            return float(np.exp(np.log(n[i - 1]) + frac * (np.log(n[i]) - np.log(n[i - 1]))))
    return None
