"""Pass 2 of the cluster shuffle, on a worker: each partition shuffled in memory and written in place.

:func:`reduce_partition` reads one partition's pieces from every map file in block order,
draws its order from the random stream of ``(seed, partition id)`` only
(:func:`lib.shuffle.core.shuffle_block`), copies the lines into that order
(:func:`lib.shuffle.core.copy_lines`) and writes the bytes with positioned writes where they
belong in the output files, which the client created at their final sizes. With ``split``,
:func:`cut_partition` first replays the shuffle of a partition holding a part boundary to find
the boundary's byte position. A partition too large for the budget goes through the
single-machine engine instead (same budget), and a partition of one line is copied as it is.
"""
from __future__ import annotations

import os
from bisect import bisect_right
from pathlib import Path

import numpy as np

from .. import core
from ..files import ShuffleError, write_all
from ..workers import rng_for
from . import layout
from .job import BUFFERS, PIECE, Job, fault, os_message, part_temp, plain_pages

def _pieces(job: Job, p: int) -> list[tuple[int, int, int, int]]:
    """``(block, offset, n_bytes, n_lines)`` of partition ``p`` in every map file, in block order."""
    out = []
    for i in range(job.n_blocks):
        _, index_path = layout.map_paths(job.workspace, i)
        out.extend((i, off, n, lines) for off, n, lines in layout.read_pieces(index_path, p))
    return out


def _read_partition(job: Job, pieces, data: np.ndarray) -> None:
    """Read the pieces of a partition back to back into ``data``."""
    pos, fd, open_block = 0, -1, -1
    view = memoryview(data)
    try:
        for i, off, n, _ in pieces:
            if i != open_block:
                if fd >= 0:
                    os.close(fd)
                fd, open_block = os.open(layout.map_paths(job.workspace, i)[0], os.O_RDONLY), i
            end = pos + n
            while pos < end:
                got = os.preadv(fd, [view[pos:end]], off)
                if not got:
                    raise ShuffleError(f"map file of block {i} is shorter than its index says")
                pos += got
                off += got
    finally:
        if fd >= 0:
            os.close(fd)


def _stream_partition(job: Job, pieces, sink) -> None:
    """Copy the pieces of a partition to ``sink(bytes)`` in pieces of at most 1 MiB."""
    for i, off, n, _ in pieces:
        with open(layout.map_paths(job.workspace, i)[0], "rb", buffering=0) as f:
            while n:
                chunk = os.pread(f.fileno(), min(PIECE, n), off)
                if not chunk:
                    raise ShuffleError(f"map file of block {i} is shorter than its index says")
                sink(chunk)
                off += len(chunk)
                n -= len(chunk)


def _fits(job: Job, n_bytes: int, n_lines: int) -> bool:
    """Whether a partition can be shuffled in memory: ``2 bytes + 64 n`` (the engine's cost) within budget."""
    return 2 * n_bytes + 64 * n_lines <= job.memory


def _shuffled_order(data: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(sources, lengths)`` of the ``n`` lines of ``data`` in a uniformly random order.

    The one place a partition's order is drawn (the cut and reduce tasks both call it, so
    they agree): line bounds, then :func:`lib.shuffle.core.shuffle_block`.
    """
    starts = np.empty(n, dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    got = 0
    for s, ln in core.iter_line_slices(data, max(1 << 16, n // 16)):
        starts[got:got + s.size] = s
        lengths[got:got + s.size] = ln
        got += s.size
    if got != n:
        raise ShuffleError(f"a partition should hold {n} lines but holds {got}")
    perm = core.shuffle_block(n, rng)
    return starts[perm], lengths[perm]


def _spilled_partition(job: Job, p: int, pieces) -> Path:
    """A partition too large for memory, shuffled by the single-machine engine into the workspace.

    The engine (:func:`lib.shuffle.engine.shuffle_file`, same budget) splits it into buckets once
    more; its seed comes from ``(seed, p)``, so repeating this gives the same file (which is
    kept for the reduce task when the cut task made it).
    """
    from ..engine import shuffle_file  # noqa: PLC0415

    shuffled = Path(job.workspace) / f"partition-{p}.shuffled"
    if shuffled.exists():
        return shuffled
    staged = Path(job.workspace) / f"partition-{p}.{os.urandom(4).hex()}.in"
    try:
        with open(staged, "wb", buffering=0) as f:
            _stream_partition(job, pieces, lambda chunk: write_all(f.fileno(), chunk))
        seed = int(rng_for(job.entropy, 2, p).integers(0, 2**62))
        shuffle_file([staged], shuffled, memory=job.memory, seed=seed, tmpdir=job.workspace, jobs=1)
    finally:
        staged.unlink(missing_ok=True)
    return shuffled


@plain_pages
def cut_partition(job: Job, p: int, n_bytes: int, n_lines: int, cuts: list[int]) -> list[int]:
    """For each ``t`` in ``cuts``: the byte offset in shuffled partition ``p`` where its first ``t`` lines end."""
    pieces = _pieces(job, p)
    if _fits(job, n_bytes, n_lines):
        data = BUFFERS.array(job, "cut", "in", n_bytes)
        _read_partition(job, pieces, data)
        _, lengths = _shuffled_order(data, n_lines, rng_for(job.entropy, 1, p))
        return [int(lengths[:t].sum()) for t in cuts]
    found, seen, pos = {}, 0, 0  # t -> offset, lines and bytes before the current chunk
    want = sorted(set(cuts))
    with open(_spilled_partition(job, p, pieces), "rb", buffering=0) as f:
        while want and (chunk := f.read(PIECE)):
            ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10)
            while want and want[0] - seen <= ends.size:
                t = want.pop(0)
                found[t] = pos + int(ends[t - seen - 1]) + 1
            seen += ends.size
            pos += len(chunk)
    return [found[t] for t in cuts]


class PartWriter:
    """Positioned writes of a run of output bytes into the output parts it spans, in order.

    ``bounds`` are the global byte positions where parts ``first, first + 1, ...`` start (and
    where the last of them ends); ``pos`` the global position of the next byte. One part is
    open at a time (closed, after an fsync with ``fsync``, when the bytes move past it).
    Output files are opened without ``O_CREAT``: once the client has removed them, a late
    task fails instead of recreating them.
    """

    def __init__(self, job: Job, first: int, bounds: list[int], pos: int):
        self.job, self.first, self.bounds, self.pos = job, first, bounds, pos
        self.fd, self.part = -1, -1

    def write(self, data) -> None:
        view = memoryview(data).cast("B")
        while view.nbytes:
            j = bisect_right(self.bounds, self.pos) - 1
            if not 0 <= j < len(self.bounds) - 1:
                raise ShuffleError(f"internal error: byte {self.pos} is outside the parts of this task")
            if j != self.part:
                self.close(self.job.fsync)
                self.fd, self.part = os.open(part_temp(self.job, self.first + j), os.O_WRONLY), j
            n = min(view.nbytes, self.bounds[j + 1] - self.pos, PIECE)
            n = os.pwrite(self.fd, view[:n], self.pos - self.bounds[j])
            self.pos += n
            view = view[n:]

    def close(self, fsync: bool = False) -> None:
        fd, self.fd, self.part = self.fd, -1, -1
        if fd >= 0:
            try:
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)


@plain_pages
def reduce_partition(job: Job, p: int, n_bytes: int, n_lines: int, first: int, bounds: list[int],
                     start: int, checks: list[tuple[int, int]]) -> tuple[int, int, bool]:
    """Shuffle partition ``p`` and write it at global byte ``start`` of the outputs.

    ``first`` and ``bounds``: the parts the partition spans (see :class:`PartWriter`);
    ``checks``: ``(t, offset)`` pairs, the byte offset the cut task found for the end of the
    first ``t`` lines (verified here, so the parts get exactly their line counts). Returns
    ``(bytes written, lines, went through the engine)``.
    """
    pieces = _pieces(job, p)
    got_lines = sum(piece[3] for piece in pieces)
    got_bytes = sum(piece[2] for piece in pieces)
    if (got_bytes, got_lines) != (n_bytes, n_lines):
        raise ShuffleError(f"partition {p}: the map files hold {got_bytes} bytes in {got_lines} lines, "
                           f"the plan {n_bytes} in {n_lines}")
    writer = PartWriter(job, first, bounds, start)
    spilled = False
    try:
        if n_lines == 1:  # one line (perhaps far longer than memory): copied as it is
            _stream_partition(job, pieces, writer.write)
        elif _fits(job, n_bytes, n_lines):
            data = BUFFERS.array(job, "reduce", "in", n_bytes)
            _read_partition(job, pieces, data)
            src, lengths = _shuffled_order(data, n_lines, rng_for(job.entropy, 1, p))
            for t, offset in checks:
                if int(lengths[:t].sum()) != offset:
                    raise ShuffleError(f"internal error: partition {p} does not replay its shuffle")
            out = BUFFERS.array(job, "reduce", "out", n_bytes)
            core.copy_lines(data, src, lengths, out)
            del data, src, lengths
            writer.write(out[:n_bytes // 2])
            fault(job, "reduce", p)  # tests: a worker dies with half of its partition written
            writer.write(out[n_bytes // 2:])
        else:
            spilled = True
            with open(_spilled_partition(job, p, pieces), "rb", buffering=0) as f:
                while chunk := f.read(PIECE):
                    writer.write(chunk)
        writer.close(job.fsync)
    except OSError as err:
        raise ShuffleError(os_message(err, f"the output next to {job.output!r}")) from err
    finally:
        writer.close()
    return n_bytes, n_lines, spilled
