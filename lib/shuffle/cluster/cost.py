"""How a cluster shuffle is sized, and what it costs (chapter 8, the cluster section; README).

For ``S`` bytes of lines of mean length ``l`` and a memory budget ``M`` per task:

- a partition must fit one task: ``2 x bytes + 64 B x lines`` (the engine's measure) with room
  for chance, so ``k ~ S (2 + 64 / l) / M`` partitions plus headroom (:func:`plan_partitions`);
- a map task reads a block of ``M / 5`` bytes (64 KiB to 1 GiB): ``m = S / block`` map tasks
  (:func:`block_size`);
- every partition reads one piece from every map file: ``m x k`` reads of ``S / (m k)`` bytes;
- storage sees two passes (``4 S`` bytes read and written), the scatter moves each record
  between machines once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..engine import Plan
from ..files import parse_size

MIN_BLOCK = 64 << 10  # below this, per-task costs dominate (a fixed overhead of < 1 MiB)
MAX_BLOCK = 1 << 30  # larger blocks mean fewer map files, so fewer pieces for every partition to read
MAX_PARTITIONS = 1 << 16  # more would make the index rows of every map section large
PER_LINE = 64  # bytes of index arrays per line while a partition is shuffled (the engine's figure)
HEADROOM = 1.1  # the engine's room for partitions whose lines are longer than the mean


def plan_partitions(total_bytes: int, mean_line: float, memory: int) -> int:
    """Partitions so that each rarely outgrows one task's memory budget.

    The engine's rule (:meth:`lib.shuffle.engine.Plan.n_buckets`) with the whole budget for
    one partition: a partition's line count is about Poisson with mean ``lam``; four standard
    deviations and 10 % for uneven line lengths must fit in ``memory``. So the number of
    partitions is about ``total bytes x (2 + 64 / mean line) / memory``, plus the headroom.
    """
    lines = max(1, int(total_bytes / max(mean_line, 1.0)))
    plan = Plan(memory=memory, block=MIN_BLOCK, slot=memory, fanout=MAX_PARTITIONS)
    return plan.n_buckets(total_bytes, lines)


def block_size(memory: int, total_bytes: int) -> int:
    """Bytes of input per map task: a fifth of the budget, within 64 KiB - 1 GiB, no more than the input.

    A map task holds its read buffer (the block plus an eighth, for the line that crosses its
    end), the lines regrouped by partition, the newline scan and index arrays for a slice of
    lines: about ``3.6 x`` the buffer at most, so ``0.81 x`` the budget.
    """
    block = min(MAX_BLOCK, max(MIN_BLOCK, memory // 5))
    return max(1, min(block, total_bytes))


@dataclass(frozen=True)
class ClusterCost:
    """The plan of a cluster shuffle and what it moves (see the module docstring)."""

    partitions: int  # k: reduce tasks
    blocks: int  # m: map tasks (and map files)
    block_bytes: int
    lines_per_partition: float  # mean (Poisson)
    capacity_lines: float  # lines a partition may hold within the budget (mean line length)
    sigmas: float  # headroom of the capacity over the mean, in standard deviations
    piece_reads: int  # m x k positioned reads by the reduce tasks
    piece_bytes: float  # mean bytes per piece
    storage_bytes: int  # read and written: input, map files, map files, output
    moved_between_workers: int  # bytes the scatter moves from the worker that read them to the one shuffling them


def cluster_cost(total_bytes: int, mean_line: float, memory) -> ClusterCost:
    """Size a cluster shuffle of ``total_bytes`` in lines of ``mean_line`` bytes, ``memory`` per task.

    ``memory`` in bytes or with a binary unit (``"4G"``). The counts are the ones
    :func:`lib.shuffle.cluster.shuffle_file_dask` uses (it measures ``mean_line`` on the first
    64 KiB of the input).
    """
    if isinstance(total_bytes, bool) or not isinstance(total_bytes, int) or total_bytes < 1:
        raise ValueError(f"total_bytes={total_bytes!r} must be a positive int")
    if isinstance(mean_line, bool) or not isinstance(mean_line, (int, float)) or not 1 <= mean_line <= total_bytes:
        raise ValueError(f"mean_line={mean_line!r} must be a number of bytes from 1 to total_bytes")
    budget = parse_size(memory)
    k = plan_partitions(total_bytes, mean_line, budget)
    block = block_size(budget, total_bytes)
    m = -(-total_bytes // block)
    lam = total_bytes / mean_line / k
    capacity = budget / (2 * mean_line + PER_LINE) / HEADROOM
    return ClusterCost(partitions=k, blocks=m, block_bytes=block, lines_per_partition=lam,
                       capacity_lines=capacity, sigmas=(capacity - lam) / math.sqrt(lam), piece_reads=m * k,
                       piece_bytes=total_bytes / (m * k), storage_bytes=4 * total_bytes,
                       moved_between_workers=total_bytes)
