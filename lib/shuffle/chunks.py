"""The chunk methods of chapter 8: ``proportional`` (terashuf's merge) and ``article`` (the article's).

Pass 1 cuts the input into chunks of consecutive lines that fit in memory, shuffles each and
appends it to one runs file (so the number of chunks never costs open files); pass 2 merges the
chunks into the output, choosing the chunk of every output line with
:func:`~lib.shuffle.core.proportional_sources` or :func:`~lib.shuffle.core.article_sources`.
"""
from __future__ import annotations

import os

import numpy as np

from . import core
from .files import LineTooLongError, ShuffleError, disk_full_message, write_all
from .workers import OrderedWorkers, Scratch, read_blocks, rng_for


class _Run:
    """One shuffled chunk in the runs file, read back a piece at a time during the merge."""

    def __init__(self, fd: int, offset: int, size: int, lines: int):
        self.fd, self.offset, self.end = fd, offset, offset + size
        self.mean = size / max(1, lines)
        self.data = b""
        self.complete = 0  # bytes of data that hold whole lines
        self.starts = np.empty(0, dtype=np.int64)
        self.lengths = np.empty(0, dtype=np.int64)
        self.pos = 0  # next line in data

    def take(self, count: int, read_size: int):
        """Return ``(bytes as uint8 array, lengths)`` of the next ``count`` lines of the chunk."""
        while self.starts.size - self.pos < count:
            keep_from = int(self.starts[self.pos]) if self.pos < self.starts.size else self.complete
            want = max(read_size, int((count - (self.starts.size - self.pos)) * self.mean * 1.25) + 1)
            n = min(want, self.end - self.offset)
            if n <= 0:
                raise ShuffleError("internal error: a chunk ran out of lines")
            fresh = os.pread(self.fd, n, self.offset)
            if len(fresh) != n:
                raise ShuffleError("temporary runs file is shorter than written")
            self.offset += n
            self.data = self.data[keep_from:] + fresh
            self.complete = self.data.rfind(b"\n") + 1
            self.starts, self.lengths = core.line_bounds(np.frombuffer(self.data, np.uint8, self.complete))
            self.pos = 0
        a = int(self.starts[self.pos])
        last = self.pos + count - 1
        z = int(self.starts[last] + self.lengths[last])
        lengths = self.lengths[self.pos:self.pos + count]
        self.pos += count
        return np.frombuffer(self.data, np.uint8, z - a, a), lengths


def run_chunks(readers, ctx, report, jobs: int, method: str,
                chunk_bytes: int | None, on_read) -> None:
    """The chunk methods: shuffle chunks of consecutive lines, then merge (proportional or article).

    A chunk is one block of ``chunk_bytes`` (default: a tenth of the budget), cut further so
    that it holds at most ``block / 64`` lines.
    """
    plan = ctx.plan
    block = chunk_bytes or plan.block
    max_lines = max(1, block // 64) if chunk_bytes is None else block
    fd = os.open(ctx.ws.file("runs"), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    runs: list[tuple[int, int, int]] = []  # (offset, size, lines)
    offset = 0
    scratch = Scratch()

    def emit(result):
        nonlocal offset
        out, pieces = result
        try:
            write_all(fd, out)
        except OSError as err:
            raise ShuffleError(disk_full_message(err, f"temporary files in {ctx.ws.path.parent}")) from err
        for size, lines in pieces:
            runs.append((offset, size, lines))
            offset += size
        ctx.stats.temp(out.size)

    try:
        workers = OrderedWorkers(jobs)
        blocks = read_blocks(readers, block, workers, on_read)
        pool = next(blocks)
        try:
            for index, (buf, n, whole, reader) in enumerate(blocks):
                if not whole:
                    raise LineTooLongError(
                        f"a line longer than the chunk size ({block} bytes) starts near byte "
                        f"{reader.offset - n} of an input; method {method!r} holds whole chunks in "
                        "memory: raise --memory, or use the default method, which takes lines of any length")
                rng = rng_for(ctx.entropy, 0, 0, index)

                def compute(buf=buf, n=n, rng=rng):
                    try:
                        data = np.frombuffer(buf, dtype=np.uint8, count=n)
                        out = scratch.array("chunk", n)
                        pieces, pos = [], 0
                        for starts, lengths in core.iter_line_slices(data, max_lines):
                            perm = core.shuffle_block(lengths.size, rng)
                            size = int(lengths.sum())
                            core.gather_lines(data, starts, lengths, perm, out[pos:pos + size])
                            pieces.append((size, lengths.size))
                            pos += size
                        return out, pieces
                    finally:
                        pool.put(buf)

                workers.submit(compute, emit)
            workers.drain()
        finally:
            blocks.close()
            workers.close()
            scratch.clear()
        sizes = np.array([r[2] for r in runs], dtype=np.int64)
        n_lines = int(sizes.sum())
        report.n_lines, report.n_bytes_in, report.n_buckets = n_lines, offset, len(runs)
        ctx.sink.set_total_lines(n_lines)
        _merge(fd, runs, sizes, ctx, method, block)
    finally:
        os.close(fd)


def _merge(fd: int, runs, sizes: np.ndarray, ctx, method: str, block: int) -> None:
    """Pass 2 of the chunk methods: interleave the shuffled chunks into the output."""
    m = len(runs)
    if m == 0:
        return
    readers = [_Run(fd, *r) for r in runs]
    mean_line = max(1.0, sum(r[1] for r in runs) / max(1, int(sizes.sum())))
    out_lines = max(m, int(block / (2 * mean_line)))  # output lines per merge step
    read_size = max(4096, block // (4 * m))
    rng = rng_for(ctx.entropy, 2)
    remaining = sizes.copy()
    row, longest = 0, int(sizes.max())
    while True:
        if method == "proportional":
            left = int(remaining.sum())
            if left == 0:
                break
            sources = core.proportional_sources(remaining, min(out_lines, left), rng)
        else:
            if row >= longest:
                break
            rows = min(max(1, out_lines // m), longest - row)
            sources = core.article_sources(sizes, row, rows, rng)
            row += rows
        counts = np.bincount(sources, minlength=m)
        pieces, piece_lengths = [], []
        for j in np.flatnonzero(counts).tolist():
            data, lengths = readers[j].take(int(counts[j]), read_size)
            pieces.append(data)
            piece_lengths.append(lengths)
        staged = np.concatenate(pieces)
        lengths = np.concatenate(piece_lengths)
        starts = np.cumsum(lengths) - lengths
        order = np.argsort(sources, kind="stable")  # staged line g goes to output position order[g]
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        out = np.empty(staged.size, dtype=np.uint8)
        ctx.sink.write_lines(out, core.gather_lines(staged, starts, lengths, inverse, out))
