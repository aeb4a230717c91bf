"""What the Dask workers run: the map, cut and reduce tasks of the cluster shuffle.

Every task is a plain function of a :class:`Job` (the settings of one run, the same for all
tasks) and a few numbers; it reads and writes files every worker can reach and returns small
summaries. Randomness comes only from ``(seed, block id)`` and ``(seed, partition id)``
(:func:`lib.shuffle.workers.rng_for`), never from the worker, the attempt or the timing, so a task
that runs again (its worker died) draws exactly what it drew before, and the output does not
depend on the number of workers.

- :func:`map_block` (pass 1): the lines that *start* in bytes ``[a, b)`` of an input get an
  independent, uniform partition each (:func:`lib.shuffle.core.assign_buckets`), and are written
  grouped by partition to a map file (:mod:`lib.shuffle.cluster.layout`).
- :func:`cut_partition` (``split`` only): the byte position of a part boundary that falls inside
  a partition, found by replaying that partition's shuffle.
- :func:`reduce_partition` (pass 2): read one partition's pieces from every map file in block
  order, shuffle it in memory (:func:`lib.shuffle.core.shuffle_block`,
  :func:`lib.shuffle.core.copy_lines`) and write its bytes where they belong in the outputs.
  A partition larger than the memory budget goes through the single-machine engine instead.
"""
from __future__ import annotations

import errno
import functools
import os
import signal
import socket
import threading
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import core
from ..files import LineReader, ShuffleError, disk_full_message, split_names, write_all
from ..workers import rng_for
from . import layout

PIECE = 1 << 20  # bytes per write() or pwrite() (one write of tens of MiB costs far more CPU)
SCAN = 1 << 16  # bytes per read when looking for a line start


@dataclass(frozen=True)
class Job:
    """Settings shared by every task of one run (small: sent with each task)."""

    entropy: int  # the seed
    workspace: str  # shared folder for the map files
    partitions: int  # k
    read_bytes: int  # read buffer of a map task
    memory: int  # budget per task (bytes)
    output: str  # the output path as given (absolute)
    n_parts: int  # 1, or K with split
    tag: str  # owner tag of the run (temporary output names)
    n_blocks: int
    fsync: bool = False
    fault: tuple | None = None  # tests only: (stage, index, marker path or None): kill this worker


def os_message(err: OSError, where: str) -> str:
    """One line for an OSError in a task: a full disk names ``where``; others name the file and the worker."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full_message(err, where)
    name = f": {err.filename}" if err.filename else ""
    return f"{err.strerror or err}{name} (on worker {socket.gethostname()!r})"


def _fault(job: Job, stage: str, index: int) -> None:
    """Tests only: kill this worker process (SIGKILL) at a chosen point, once or every time."""
    if job.fault is None or job.fault[:2] != (stage, index):
        return
    marker = job.fault[2]
    if marker is not None:
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return
        os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


class _Buffers:
    """Byte buffers kept by a worker between the tasks of one stage of one run.

    Fresh memory costs a page fault per page; reusing buffers saves that system time. Keyed
    by thread (a worker may run several tasks at once); a worker keeps at most what its
    largest task of the current stage needed (within the budget). Dropped when a task of
    another stage or run arrives, and by :func:`release_buffers`, which the client runs on
    every worker at the end.
    """

    def __init__(self):
        self.owner = None  # (run tag, stage)
        self.arrays: dict = {}
        self.lock = threading.Lock()

    def _take(self, job: Job, stage: str, name: str):
        key = (threading.get_ident(), name)
        with self.lock:
            if self.owner != (job.tag, stage):
                self.owner, self.arrays = (job.tag, stage), {}
            return key, self.arrays.pop(key, None)

    def _keep(self, job: Job, stage: str, key, buf) -> None:
        with self.lock:
            if self.owner == (job.tag, stage):
                self.arrays[key] = buf

    def bytes(self, job: Job, stage: str, name: str, size: int) -> bytearray:
        """A bytearray of exactly ``size`` bytes (for :class:`lib.shuffle.files.LineReader`)."""
        key, buf = self._take(job, stage, name)
        if buf is None or len(buf) != size:
            buf = None  # free the old one first
            buf = bytearray(size)
        self._keep(job, stage, key, buf)
        return buf

    def array(self, job: Job, stage: str, name: str, size: int) -> np.ndarray:
        """A uint8 array of ``size`` bytes (uninitialised); grown by at least an eighth when too small."""
        key, buf = self._take(job, stage, name)
        if buf is None or buf.size < size:
            grow = 0 if buf is None else buf.size + buf.size // 8
            buf = None
            buf = np.empty(max(size, grow), dtype=np.uint8)
        self._keep(job, stage, key, buf)
        return buf[:size]


_BUFFERS = _Buffers()


def release_buffers() -> None:
    """Drop the buffers this worker keeps (run by the client on every worker after a run)."""
    with _BUFFERS.lock:
        _BUFFERS.owner, _BUFFERS.arrays = None, {}


def _plain_pages(task):
    """Run ``task`` with numpy's transparent-huge-page advice off (a decorator).

    The engine measured write() from huge-page-backed buffers at 5-8x the CPU time
    (:func:`lib.shuffle.engine._set_numpy_hugepages`).
    """
    @functools.wraps(task)
    def run(*args, **kwargs):
        from .. import engine  # noqa: PLC0415

        toggle = getattr(engine, "_set_numpy_hugepages", None)
        old = toggle(False) if toggle else None
        try:
            return task(*args, **kwargs)
        finally:
            if toggle:
                toggle(old)
    return run


def part_temp(job: Job, j: int) -> Path:
    """Temporary name of output part ``j`` (the output itself when there is one part)."""
    final = job.output if job.n_parts == 1 else _split_names(job.output, job.n_parts)[j]
    return layout.temp_output(final, job.tag)


@functools.lru_cache(maxsize=4)
def _split_names(output: str, parts: int) -> list[Path]:
    return split_names(output, parts)


# ----------------------------------------------------------------------------- reading inputs
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
    """A raw stream over the lines that start in ``[start, stop)``: up to ``stop``, then to the end of that line."""

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


# ----------------------------------------------------------------------------- pass 1: map
@_plain_pages
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
                buf = _BUFFERS.bytes(job, "map", "in", job.read_bytes + 1)
                out = _BUFFERS.array(job, "map", "out", job.read_bytes)
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
                    _fault(job, "map", block)
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


# ----------------------------------------------------------------------------- pass 2: reduce
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


@_plain_pages
def cut_partition(job: Job, p: int, n_bytes: int, n_lines: int, cuts: list[int]) -> list[int]:
    """Byte offsets, inside shuffled partition ``p``, of the ends of its first ``t`` lines for each ``t`` in ``cuts``."""
    pieces = _pieces(job, p)
    if _fits(job, n_bytes, n_lines):
        data = _BUFFERS.array(job, "cut", "in", n_bytes)
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
    """Positioned writes of a run of output bytes into the output parts it spans.

    ``bounds`` are the global byte positions where parts ``first, first + 1, ...`` start (and
    where the last of them ends); ``pos`` the global position of the next byte. Output files
    are opened without ``O_CREAT``: once the client has removed them, a late task fails
    instead of recreating them.
    """

    def __init__(self, job: Job, first: int, bounds: list[int], pos: int):
        self.job, self.first, self.bounds, self.pos = job, first, bounds, pos
        self.fds: dict[int, int] = {}

    def write(self, data) -> None:
        view = memoryview(data).cast("B")
        while view.nbytes:
            j = bisect_right(self.bounds, self.pos) - 1
            if not 0 <= j < len(self.bounds) - 1:
                raise ShuffleError(f"internal error: byte {self.pos} is outside the parts of this task")
            n = min(view.nbytes, self.bounds[j + 1] - self.pos, PIECE)
            fd = self.fds.get(j)
            if fd is None:
                fd = self.fds[j] = os.open(part_temp(self.job, self.first + j), os.O_WRONLY)
            n = os.pwrite(fd, view[:n], self.pos - self.bounds[j])
            self.pos += n
            view = view[n:]

    def close(self, fsync: bool = False) -> None:
        for fd in self.fds.values():
            try:
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        self.fds = {}


@_plain_pages
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
            data = _BUFFERS.array(job, "reduce", "in", n_bytes)
            _read_partition(job, pieces, data)
            src, lengths = _shuffled_order(data, n_lines, rng_for(job.entropy, 1, p))
            for t, offset in checks:
                if int(lengths[:t].sum()) != offset:
                    raise ShuffleError(f"internal error: partition {p} does not replay its shuffle")
            out = _BUFFERS.array(job, "reduce", "out", n_bytes)
            core.copy_lines(data, src, lengths, out)
            del data, src, lengths
            writer.write(out[:n_bytes // 2])
            _fault(job, "reduce", p)  # tests: a worker dies with half of its partition written
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
