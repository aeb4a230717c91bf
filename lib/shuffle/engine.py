"""External (larger than memory) shuffles of line files: the engine behind ``python -m lib.shuffle``.

Three methods (chapter 8):

``buckets`` (default, exactly uniform; Rao 1961, Sandelius 1962, Sanders 1998; chapter 8, §9.4)
    Pass 1 reads the inputs block by block, sends every line to an independent, uniformly random
    bucket file (:func:`~lib.shuffle.core.assign_buckets`). Pass 2 shuffles each bucket in memory
    (:func:`~lib.shuffle.core.shuffle_block`) and writes the buckets one after another. A bucket
    too large for its share of memory (bad luck, or an input far larger than the budget) is split
    the same way into sub-buckets: one more pass, for that bucket only. Whatever the split
    decisions, each bucket's order is uniform given its lines, so the whole output is uniform.
    Reads the data twice and writes it twice (more only for buckets that had to be split).
``proportional`` (exactly uniform; terashuf's merge; chapter 8, §9.3)
    Pass 1 cuts the input into chunks of consecutive lines that fit in memory and shuffles each;
    pass 2 merges them, drawing the next line's chunk in proportion to the lines it has left.
``article`` (not uniform; the article's method, chapter 8, §3)
    Same chunks; pass 2 emits row by row: line ``r`` of every chunk, in a random order per row.

Memory model. Only the lines' bytes and a few numpy index arrays are held, never a Python
object per line. A buffer of ``R`` bytes holding ``n`` lines costs about ``2 R + PER_LINE n``
while it is shuffled (input, output, index arrays). Work runs on two threads (``SLOTS``) that
share the budget: one reads and assigns or shuffles while the other writes. Every sizing
decision depends only on the budget and the data, never on the number of threads, so a seed
gives the same output whatever ``jobs`` is.

Layout: this module plans and runs the bucket method and holds :func:`shuffle_file`;
:mod:`lib.shuffle.chunks` runs the two chunk methods; :mod:`lib.shuffle.core` has the
in-memory steps all of them share; :mod:`lib.shuffle.workers` the ordered threads and buffers;
:mod:`lib.shuffle.files` sizes, temporary names, outputs and the line reader.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import core
from .chunks import run_chunks
from .workers import OrderedWorkers, Scratch, read_blocks, rng_for
from .files import (LineReader, ShuffleError, Sink, Workspace, check_output_dir, check_temp_dir,
                    disk_full_message, open_input, parse_size, path_list, split_names, write_all)

METHODS = ("buckets", "proportional", "article")
PER_LINE = 64  # bytes of index arrays per line while a buffer is shuffled (40-54 measured, see tests)
SLOTS = 2  # buffers being shuffled at once (threads); the budget is shared between them
HEADROOM = 1.1  # room for buckets whose lines are longer than the mean
MIN_BLOCK = 64 << 10  # below this, per-write costs dominate (a fixed overhead of < 1 MiB)
MAX_BLOCK = 64 << 20
MAX_FANOUT = 4096  # buckets per split; more would make the writes per bucket tiny
MIN_PIECE = 4096  # aim for at least this many bytes per bucket per block
MAX_OPEN_BUCKETS = 128  # more bucket files than this are opened for each write instead
COMMITTING = threading.Event()  # set while the outputs are renamed into place


@dataclass
class Plan:
    """Sizes derived from the memory budget (bytes)."""

    memory: int
    block: int  # bytes read per block in pass 1
    slot: int  # memory for one bucket or chunk being shuffled
    fanout: int  # most buckets per split

    @classmethod
    def for_budget(cls, memory: int) -> "Plan":
        # Pass 1 holds SLOTS + 1 input blocks, and per worker an output block plus index arrays
        # for at most block/64 lines at a time: about 10 blocks in all.
        block = min(MAX_BLOCK, max(MIN_BLOCK, memory // 10))
        fanout = min(MAX_FANOUT, max(64, block // MIN_PIECE))
        return cls(memory=memory, block=block, slot=max(1, memory // SLOTS), fanout=fanout)

    def cost(self, n_bytes: int, n_lines: int) -> int:
        """Memory to shuffle ``n_bytes`` holding ``n_lines`` in one buffer."""
        return 2 * n_bytes + PER_LINE * n_lines

    def n_buckets(self, n_bytes: int, n_lines: int) -> int:
        """Buckets so that each rarely outgrows a slot (at most ``fanout``, at least 2).

        A slot holds ``c = slot / (cost per line)`` lines. A bucket's line count is about
        Poisson with mean ``lam``; we want ``lam + 4 sqrt(lam) <= c / HEADROOM`` (4 standard
        deviations, and room for uneven line lengths), so ``sqrt(lam) = sqrt(c' + 4) - 2``.
        """
        per_line = self.cost(n_bytes, n_lines) / max(1, n_lines)
        fit = self.slot / per_line / HEADROOM
        lam = max(0.5, (math.sqrt(fit + 4) - 2) ** 2)
        return max(2, min(self.fanout, math.ceil(n_lines / lam)))


@dataclass
class ShuffleReport:
    """What :func:`shuffle_file` did."""

    method: str
    n_lines: int = 0
    n_bytes_in: int = 0  # bytes read, with the newlines added to unterminated last lines
    n_bytes_out: int = 0
    n_buckets: int = 0  # buckets (or chunks) of the first pass; 0 if shuffled in memory
    n_splits: int = 0  # buckets that were split again
    temp_bytes_peak: int = 0
    output_paths: list = field(default_factory=list)
    seed: int | None = None  # the seed used (drawn from the OS when none was given): rerun with it
    elapsed_s: float = 0.0


class _Stats:
    """Counters shared by the threads (updated under a lock)."""

    def __init__(self, progress=None):
        self.lock = threading.Lock()
        self.temp_bytes = 0
        self.temp_peak = 0
        self.splits = 0
        self.progress = progress

    def temp(self, delta: int) -> None:
        with self.lock:
            self.temp_bytes += delta
            self.temp_peak = max(self.temp_peak, self.temp_bytes)

    def advance(self, n: int) -> None:
        if self.progress is not None:
            with self.lock:
                self.progress(n)


class BucketSet:
    """``k`` bucket files in the workspace, appended to in order; sizes and line counts kept."""

    def __init__(self, ctx: "_Context", name: str, k: int):
        self.ctx, self.name, self.k = ctx, name, k
        self.sizes = np.zeros(k, dtype=np.int64)
        self.lines = np.zeros(k, dtype=np.int64)
        self.keep_open = k <= MAX_OPEN_BUCKETS
        self._fds: dict[int, int] = {}

    def path(self, b: int) -> Path:
        return self.ctx.ws.file(f"{self.name}-{b}")

    def write(self, b: int, data) -> None:
        fd = self._fds.get(b)
        try:
            if fd is None:
                fd = os.open(self.path(b), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                if self.keep_open:
                    self._fds[b] = fd
            try:
                write_all(fd, data)
            finally:
                if not self.keep_open:
                    os.close(fd)
        except OSError as err:
            raise ShuffleError(disk_full_message(err, f"temporary files in {self.ctx.ws.path.parent}")) from err
        n = memoryview(data).nbytes
        self.sizes[b] += n
        self.ctx.stats.temp(n)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}

    def remove(self, b: int) -> None:
        try:
            os.unlink(self.path(b))
        except FileNotFoundError:
            pass
        self.ctx.stats.temp(-int(self.sizes[b]))


def _scatter_block(buf: np.ndarray, k: int, rng: np.random.Generator, max_lines: int, out: np.ndarray):
    """Pass 1 on one block: group its lines by an independent uniform bucket each, into ``out``.

    Returns ``pieces``: ``(bucket, start, stop, n_lines)`` ranges of ``out``, in block order.
    """
    pieces, pos = [], 0
    for starts, lengths in core.iter_line_slices(buf, max_lines):
        buckets = core.assign_buckets(lengths.size, k, rng)
        order, counts = core.group_by_bucket(buckets, k)
        sizes = np.bincount(buckets, weights=lengths, minlength=k).astype(np.int64)
        del buckets
        src, lengths = starts[order], lengths[order]
        del starts, order
        end = pos + int(sizes.sum())
        core.copy_lines(buf, src, lengths, out[pos:end])
        del src, lengths
        edges = np.concatenate(([0], np.cumsum(sizes))) + pos
        for b in np.flatnonzero(counts).tolist():
            pieces.append((b, int(edges[b]), int(edges[b + 1]), int(counts[b])))
        pos = end
    return pieces


def scatter(readers, buckets: BucketSet, key: tuple, workers: OrderedWorkers, on_read=None) -> int:
    """Pass 1: send every line of ``readers`` (LineReader list) to a uniformly random bucket.

    Blocks are assigned on the worker threads and written in block order, so the bucket files
    do not depend on thread timing. A line longer than a block is streamed into its bucket.
    Returns the number of lines.
    """
    ctx = buckets.ctx
    plan, k = ctx.plan, buckets.k
    max_lines = max(1, plan.block // 64)
    scratch = Scratch()
    blocks = read_blocks(readers, plan.block, workers, on_read)
    pool = next(blocks)

    def emit(result):
        out, pieces = result
        for b, a, z, n in pieces:
            buckets.write(b, out[a:z])
            buckets.lines[b] += n

    try:
        for index, (buf, n, whole, reader) in enumerate(blocks):
            rng = rng_for(ctx.entropy, *key, index)
            if whole:
                def compute(buf=buf, n=n, rng=rng):
                    try:
                        out = scratch.array("scatter", n)
                        view = np.frombuffer(buf, dtype=np.uint8, count=n)
                        return out, _scatter_block(view, k, rng, max_lines, out)
                    finally:
                        pool.put(buf)

                workers.submit(compute, emit)
            else:  # a line longer than a block: stream it into one bucket, after the blocks before it
                workers.drain()
                b = int(core.assign_buckets(1, k, rng)[0])
                buckets.write(b, memoryview(buf)[:n])
                ends = False
                while not ends:
                    n, ends = reader.read_piece(buf)
                    if on_read:
                        on_read(n)
                    buckets.write(b, memoryview(buf)[:n])
                buckets.lines[b] += 1
                pool.put(buf)
        workers.drain()
    except BaseException:
        workers.close()  # stop the threads before their files are closed under them
        raise
    finally:
        blocks.close()
        buckets.close()
        scratch.clear()
    return int(buckets.lines.sum())


def _read_file(path: Path, size: int, buf: np.ndarray) -> None:
    with open(path, "rb", buffering=0) as f:
        got = 0
        while got < size:
            n = f.readinto(memoryview(buf)[got:size])
            if not n:
                raise ShuffleError(f"temporary file {path} is shorter than written")
            got += n


@dataclass
class _Context:
    plan: Plan
    ws: Workspace
    sink: Sink
    entropy: int
    stats: _Stats
    scratch: Scratch = field(default_factory=Scratch)


class _BucketJob:
    """Pass 2 for one bucket: shuffle it in memory, or split it and do its sub-buckets in turn."""

    def __init__(self, buckets: BucketSet, b: int, key: tuple):
        self.buckets, self.b, self.key = buckets, b, key
        self.ctx = buckets.ctx

    def compute(self):
        bs, b, ctx = self.buckets, self.b, self.ctx
        size, n = int(bs.sizes[b]), int(bs.lines[b])
        if n == 0:
            return None
        if n == 1:  # one line (perhaps far longer than memory): copied as it is
            return ("copy",)
        if ctx.plan.cost(size, n) <= ctx.plan.slot:
            data = ctx.scratch.array("bucket_in", size)
            _read_file(bs.path(b), size, data)
            bs.remove(b)
            out = ctx.scratch.array("bucket_out", size)
            lengths = core.shuffle_buffer(data, n, rng_for(ctx.entropy, 1, len(self.key), *self.key), out)
            return ("lines", out, lengths)
        # Too large for its share of memory: split it into sub-buckets (one more pass, this bucket only).
        with ctx.stats.lock:
            ctx.stats.splits += 1
        sub = BucketSet(ctx, f"{bs.name}.{b}", ctx.plan.n_buckets(size, n))
        with open(bs.path(b), "rb", buffering=0) as f:
            scatter([LineReader(f)], sub, (0, len(self.key), *self.key), OrderedWorkers(1))
        bs.remove(b)
        return ("split", sub)

    def emit(self, result) -> None:
        if result is None:
            return
        sink, kind = self.ctx.sink, result[0]
        if kind == "lines":
            sink.write_lines(result[1], result[2])
        elif kind == "copy":
            sink.start_line()
            size = int(self.buckets.sizes[self.b])
            buf = self.ctx.scratch.array("bucket_in", min(size, self.ctx.plan.block))
            with open(self.buckets.path(self.b), "rb", buffering=0) as f:
                while n := f.readinto(buf):
                    sink.write_bytes(buf[:n])
            self.buckets.remove(self.b)
        else:
            sub = result[1]
            for b2 in range(sub.k):
                job = _BucketJob(sub, b2, (*self.key, b2))
                job.emit(job.compute())


class _ChunksRaw:
    """A readinto-able stream over a list of byte chunks, dropping each once it is read."""

    def __init__(self, chunks: list):
        self.chunks, self.pos = chunks, 0

    def readinto(self, view) -> int:
        got = 0
        while self.chunks and got < len(view):
            head = self.chunks[0]
            n = min(len(view) - got, len(head) - self.pos)
            view[got:got + n] = head[self.pos:self.pos + n]
            got += n
            self.pos += n
            if self.pos == len(head):
                self.chunks.pop(0)
                self.pos = 0
        return got


def _read_prefix(readers, limit: int, block: int):
    """Read whole lines from ``readers`` while at most ``limit`` bytes; return ``(chunks, rest)``.

    ``rest`` is None when everything was read; otherwise the readers still to read from (the
    first of them with its unread block put back).
    """
    chunks, total = [], 0
    for i, reader in enumerate(readers):
        while True:
            buf = bytearray(min(block, limit, 4 << 20) + 1)
            n, whole = reader.read_block(buf)
            if n == 0:
                break
            if not whole or total + n > limit:
                reader.carry = bytes(buf[:n]) + reader.carry
                return chunks, readers[i:]
            del buf[n:]
            chunks.append(buf)
            total += n
    return chunks, None


def _run_buckets(readers, ctx: _Context, report: ShuffleReport, jobs: int, on_read,
                 n_buckets: int | None = None) -> None:
    plan, sink = ctx.plan, ctx.sink
    sizes = [r.size for r in readers]
    known = None if any(s is None for s in sizes) else sum(sizes) + len(sizes)
    # Small inputs: read them whole and shuffle once in memory (no temporary files).
    limit = plan.memory // 4
    skip_prefix = n_buckets is not None or (known is not None and known > limit)
    chunks, rest = ([], readers) if skip_prefix else _read_prefix(readers, limit, plan.block)
    prefix_bytes = sum(len(c) for c in chunks)
    prefix_lines = sum(c.count(b"\n") for c in chunks)
    if rest is None and plan.cost(prefix_bytes, prefix_lines) <= plan.memory:
        data = np.empty(prefix_bytes, dtype=np.uint8)
        pos = 0
        while chunks:
            c = chunks.pop(0)
            data[pos:pos + len(c)] = np.frombuffer(c, dtype=np.uint8)
            pos += len(c)
        if on_read:
            on_read(prefix_bytes)
        report.n_lines, report.n_bytes_in = prefix_lines, prefix_bytes
        sink.set_total_lines(prefix_lines)
        out = np.empty(prefix_bytes, dtype=np.uint8)
        lengths = core.shuffle_buffer(data, prefix_lines, rng_for(ctx.entropy, 1, 0), out)
        del data
        sink.write_lines(out, lengths)
        return
    # Pass 1: scatter to random buckets. Their number comes from the input size (the budget's
    # fan-out for standard input) and the mean line length of a first sample.
    if prefix_lines:
        mean_line = prefix_bytes / prefix_lines
    else:
        mean_line = _sample_mean_line(readers)
    if n_buckets is not None:
        k = n_buckets
    elif rest is None:
        k = plan.n_buckets(prefix_bytes, prefix_lines)
    elif known is not None:
        k = plan.n_buckets(known, int(known / mean_line))
    else:  # standard input, size unknown: as many buckets as can stay open; a bucket that
        k = min(plan.fanout, MAX_OPEN_BUCKETS)  # outgrows memory is split once more
    streams = ([LineReader(_ChunksRaw(chunks))] if chunks else []) + (rest or [])
    if rest is None and on_read:
        on_read(prefix_bytes)
        on_read = None
    if known is not None and known < plan.block:  # no need for read buffers larger than the input
        ctx.plan = Plan(memory=plan.memory, block=max(MIN_BLOCK, known), slot=plan.slot, fanout=plan.fanout)
    buckets = BucketSet(ctx, "b", k)
    workers = OrderedWorkers(jobs)
    try:
        n = scatter(streams, buckets, (0, 0), workers, on_read=on_read)
        report.n_lines, report.n_bytes_in, report.n_buckets = n, int(buckets.sizes.sum()), k
        sink.set_total_lines(n)
        # Pass 2: shuffle each bucket in memory and write them in order.
        for b in range(k):
            job = _BucketJob(buckets, b, (b,))
            workers.submit(job.compute, job.emit)
        workers.drain()
    finally:
        workers.close()
        ctx.scratch.clear()


def _sample_mean_line(readers, sample: int = 1 << 16) -> float:
    """Mean line length in the first ``sample`` bytes of the first regular input (64 if unknown)."""
    for r in readers:
        if r.size:
            data = r.raw.pread(sample, 0)
            lines = data.count(b"\n")
            return len(data) / lines if lines else float(len(data))
    return 64.0


def _check_args(inputs, output, method, split, jobs, chunk_bytes, seed) -> list[str]:
    inputs = path_list(inputs)
    if not inputs:
        raise ValueError("inputs must name at least one file (or '-' for standard input)")
    if inputs.count("-") > 1:
        raise ValueError("inputs may name standard input ('-') only once")
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output={output!r} must be a path or '-' for standard output")
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {', '.join(METHODS)}")
    if split is not None and (isinstance(split, bool) or not isinstance(split, int) or split < 1):
        raise ValueError(f"split={split!r} must be a positive int")
    if split is not None and os.fspath(output) == "-":
        raise ValueError("split needs an output file name, not standard output ('-')")
    if jobs not in (1, 2) or isinstance(jobs, bool):
        raise ValueError(f"jobs={jobs!r} must be 1 or 2")
    if chunk_bytes is not None and (isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int)
                                    or chunk_bytes < 1):
        raise ValueError(f"chunk_bytes={chunk_bytes!r} must be a positive int")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed={seed!r} must be a non-negative int or None")
    return inputs


def shuffle_file(inputs, output, *, memory="1G", seed: int | None = None, tmpdir=None,
                 method: str = "buckets", split: int | None = None, jobs: int = 2,
                 fsync: bool = False, progress=None, chunk_bytes: int | None = None,
                 n_buckets: int | None = None) -> ShuffleReport:
    """Shuffle the lines of ``inputs`` (one pool) into ``output``; return a :class:`ShuffleReport`.

    ``inputs``: a path or a list of paths, ``"-"`` for standard input. ``output``: a path
    (written under a temporary name next to it, then renamed: never partial; it may be one of
    the inputs) or ``"-"`` for standard output. ``memory``: the budget, in bytes or as a string
    with a binary unit (``"256M"``). ``seed``: an int for a reproducible shuffle; None draws
    one from the operating system's entropy. ``method``: ``"buckets"`` (default, exactly
    uniform), ``"proportional"`` (exactly uniform) or ``"article"`` (the article's method, not
    uniform). ``split``: write that many files of near-equal line counts, named by
    :func:`lib.shuffle.files.split_names`. ``jobs``: 1 or 2 threads (the output does not depend
    on it). ``progress``: a callable receiving counts of bytes read and written. ``chunk_bytes``:
    chunk size of the chunk methods (default: a tenth of ``memory``), each chunk holding at
    most ``chunk_bytes`` lines when given. ``n_buckets``: number of first-pass buckets of the
    default method (default: from ``memory`` and the input size; when given, the input always
    goes through bucket files, even if it would fit in memory). Every input line appears exactly once; a last line
    without a newline gets one. Errors raise :class:`ShuffleError` (or ValueError/TypeError for
    bad arguments) and leave nothing at the destination.
    """
    started = time.perf_counter()
    COMMITTING.clear()
    inputs = _check_args(inputs, output, method, split, jobs, chunk_bytes, seed)
    if n_buckets is not None and (isinstance(n_buckets, bool) or not isinstance(n_buckets, int)
                                  or not 1 <= n_buckets <= MAX_FANOUT):
        raise ValueError(f"n_buckets={n_buckets!r} must be an int from 1 to {MAX_FANOUT}")
    budget = parse_size(memory)
    entropy = seed if seed is not None else int(np.random.SeedSequence().entropy)
    import tempfile  # noqa: PLC0415 -- only needed here

    tmp_root = os.fspath(tmpdir) if tmpdir is not None else tempfile.gettempdir()
    check_temp_dir(tmp_root)
    check_output_dir(output)

    report = ShuffleReport(method=method, seed=entropy)
    stats = _Stats(progress)
    hugepages = _set_numpy_hugepages(False)
    opened, readers = [], []
    ws = sink = None
    try:
        for p in inputs:
            f, size = open_input(p)
            opened.append(f)
            reader = LineReader(f)
            reader.size = size
            reader.name = p
            readers.append(reader)
        ws = Workspace(tmp_root)
        try:
            sink = Sink(output, split, fsync=fsync)
        except OSError as err:
            raise ShuffleError(f"cannot create the output next to {os.fspath(output)!r}: "
                               f"{err.strerror or err}") from err
        sink.on_write = stats.advance if progress is not None else None
        ctx = _Context(Plan.for_budget(budget), ws, sink, entropy, stats)
        on_read = stats.advance if progress is not None else None
        try:
            if method == "buckets":
                _run_buckets(readers, ctx, report, jobs, on_read, n_buckets)
            else:
                run_chunks(readers, ctx, report, jobs, method, chunk_bytes, on_read)
            report.n_bytes_out = sink.bytes_written
            COMMITTING.set()  # from here on the command lets signals wait (see __main__)
            sink.commit()
        except MemoryError:
            raise ShuffleError(f"out of memory (budget {memory}): lower --memory") from None
        except ShuffleError:
            raise
        except BrokenPipeError:
            raise
        except OSError as err:
            raise ShuffleError(_os_message(err, output)) from err
        sink = None
    finally:
        if sink is not None:
            sink.discard()
        for f in opened:
            f.close()
        if ws is not None:
            ws.close()
        _set_numpy_hugepages(hugepages)
    report.output_paths = [os.fspath(output)] if split is None else [str(p) for p in split_names(output, split)]
    report.temp_bytes_peak = stats.temp_peak
    report.n_splits = stats.splits
    report.elapsed_s = time.perf_counter() - started
    return report


def _set_numpy_hugepages(enabled: bool) -> bool:
    """Turn numpy's transparent-huge-page advice for large arrays on or off; return the old setting.

    Measured here: write() from a buffer backed by huge pages costs 5-8x the CPU time of the
    same write from ordinary pages (1.25 s vs 0.16 s per GiB), and every fresh huge page is
    zeroed whole; the engine writes every byte twice, so it turns the advice off while it runs.
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # noqa: PLC0415
    except ImportError:  # pragma: no cover - numpy < 2
        try:
            from numpy.core.multiarray import _set_madvise_hugepage  # noqa: PLC0415
        except ImportError:
            return enabled
    return bool(_set_madvise_hugepage(enabled))


def _os_message(err: OSError, output) -> str:
    import errno  # noqa: PLC0415

    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full_message(err, f"the output {os.fspath(output)!r}")
    name = f" {err.filename!r}" if err.filename else ""
    return f"{err.strerror or err}{name}"
