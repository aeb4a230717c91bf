"""Pass 1 of the cluster shuffle, on a worker: input blocks to map files, every line to a random partition.

A block is a byte range ``[a, b)`` of one input; it owns the lines that *start* in it (the
last one may run past ``b``), so every line belongs to exactly one block whatever the cut.
:func:`map_block` gives each line an independent, uniform partition
(:func:`lib.shuffle.core.assign_buckets`) from the random stream of ``(seed, block id)`` only,
so a block that is mapped again (its worker died) is mapped identically, and writes the lines
grouped by partition to a map file (:mod:`lib.shuffle.cluster.layout`).
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np

from .. import core
from ..files import LineReader, ShuffleError, write_all
from ..workers import rng_for
from . import layout
from .job import BUFFERS, Job, fault, os_message, plain_pages

SCAN = 1 << 16  # bytes per read when looking for a line start

def open_input(path: str):
    """Open an input for bytes with seek and readinto: a local path, or an fsspec URL (``s3://...``)."""
    try:
        if "://" in path:
            import fsspec  # noqa: PLC0415 -- only for URLs

            return fsspec.open(path, "rb").open()
        return open(path, "rb", buffering=0)
    except FileNotFoundError:
        raise ShuffleError(f"input {path!r} is not visible on worker {socket.gethostname()!r}: "
                           "inputs must be on storage every worker can read") from None
    except PermissionError:
        raise ShuffleError(f"input {path!r} is not readable on worker {socket.gethostname()!r}") from None


def first_line_start(f, a: int, b: int) -> int | None:
    """The first position in ``[a, b)`` where a line starts (0, or just after a newline); None if none."""
    if a == 0:
        return 0
    f.seek(a - 1)
    pos = a - 1
    buf = bytearray(SCAN)
    while pos < b - 1:
        n = f.readinto(memoryview(buf)[:min(SCAN, b - 1 - pos)])
        if not n:
            return None
        q = buf.find(b"\n", 0, n)
        if q >= 0:
            return pos + q + 1
        pos += n
    return None


class BlockStream:
    """A raw stream of the lines starting in ``[start, stop)``: bytes up to ``stop``, then to the next newline."""

    def __init__(self, f, start: int, stop: int):
        self.f, self.pos, self.stop = f, start, stop
        self.last = -1
        self.done = False
        f.seek(start)

    def readinto(self, view) -> int:
        if self.done or not len(view):
            return 0
        view = memoryview(view)
        if self.pos < self.stop:
            view = view[:self.stop - self.pos]
        elif self.last == 10:  # the block ended on a newline
            self.done = True
            return 0
        n = self.f.readinto(view) or 0
        if n == 0:
            self.done = True
            return 0
        if self.pos >= self.stop:  # finishing the line that crosses the block's end
            q = bytes(view[:n]).find(b"\n")
            if q >= 0:
                n, self.done = q + 1, True
        self.pos += n
        self.last = view[n - 1]
        return n


@plain_pages
def map_block(job: Job, block: int, path: str, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Scatter the lines starting in bytes ``[a, b)`` of ``path`` to uniform random partitions.

    Writes ``map-BLOCK.data`` and ``map-BLOCK.index`` (first under temporary names, then
    renamed, so a file that exists is complete). Returns ``(bytes, lines)`` per partition,
    two int64 arrays of length ``k``. Memory: about ``2 read_bytes`` plus index arrays for
    ``read_bytes / 128`` lines (about ``0.6 read_bytes``).
    """
    k = job.partitions
    data_path, index_path = layout.map_paths(job.workspace, block)
    token = os.urandom(4).hex()
    data_tmp, index_tmp = (Path(f"{p}.{token}.tmp") for p in (data_path, index_path))
    sizes, counts = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
    rows: list[np.ndarray] = []
    try:
        fd = os.open(data_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except FileNotFoundError:
        raise ShuffleError(f"temporary folder {job.workspace!r} is not visible on worker "
                           f"{socket.gethostname()!r}: --tmpdir must be shared by all workers") from None
    try:
        with open_input(path) as f:
            start = first_line_start(f, a, b)
            if start is not None:
                pos = 0
                reader = LineReader(BlockStream(f, start, b))
                rng = rng_for(job.entropy, 0, block)
                buf = BUFFERS.bytes(job, "map", "in", job.read_bytes + 1)
                out = BUFFERS.array(job, "map", "out", job.read_bytes)
                max_lines = max(1, job.read_bytes // 128)
                while True:
                    n, whole = reader.read_block(buf)
                    if n == 0:
                        break
                    if whole:
                        view = np.frombuffer(buf, dtype=np.uint8, count=n)
                        for starts, lengths in core.iter_line_slices(view, max_lines):
                            part = core.assign_buckets(lengths.size, k, rng)
                            order, cnt = core.group_by_bucket(part, k)
                            size = np.bincount(part, weights=lengths, minlength=k).astype(np.int64)
                            del part
                            total = int(size.sum())
                            core.copy_lines(view, starts[order], lengths[order], out[:total])
                            del order, starts, lengths
                            write_all(fd, out[:total])
                            rows.append(_edges(pos, size, cnt))
                            pos += total
                            sizes += size
                            counts += cnt
                    else:  # a line longer than the read buffer: streamed into one partition
                        p = int(core.assign_buckets(1, k, rng)[0])
                        length, ends = n, False
                        write_all(fd, memoryview(buf)[:n])
                        while not ends:
                            n, ends = reader.read_piece(buf)
                            write_all(fd, memoryview(buf)[:n])
                            length += n
                        size, cnt = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
                        size[p], cnt[p] = length, 1
                        rows.append(_edges(pos, size, cnt))
                        pos += length
                        sizes += size
                        counts += cnt
                    fault(job, "map", block)
        table = np.stack(rows) if rows else np.zeros((0, k + 1, 2), dtype=np.int64)
        with open(index_tmp, "wb") as fi:
            fi.write(layout.index_bytes(table))
    except OSError as err:
        raise ShuffleError(os_message(err, f"map files in {job.workspace}")) from err
    finally:
        os.close(fd)
    os.replace(data_tmp, data_path)
    os.replace(index_tmp, index_path)
    return sizes, counts


def _edges(pos: int, size: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """The ``(k + 1, 2)`` table row of one section: byte offset and lines before each partition edge."""
    row = np.zeros((size.size + 1, 2), dtype=np.int64)
    np.cumsum(size, out=row[1:, 0])
    row[:, 0] += pos
    np.cumsum(cnt, out=row[1:, 1])
    return row


def sum_results(*results):
    """Add up ``(bytes, lines)`` pairs of map tasks (the tree that totals the partitions)."""
    sizes = sum(r[0] for r in results)
    counts = sum(r[1] for r in results)
    return sizes, counts
