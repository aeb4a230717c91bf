"""The in-memory steps of the shuffles in chapter 8, on lines stored as bytes in a numpy buffer.

A *block* is a ``uint8`` array holding whole lines, each ending with ``b"\\n"``; a line is the
byte range ``buf[start:start + length]`` (newline included). Nothing here decodes text, so any
byte values pass through unchanged. Every function takes an explicit ``numpy.random.Generator``.

The steps, each small enough to reuse (the external engine in :mod:`lib.shuffle.engine` calls
them block by block, and a later engine can call them on other workers):

- :func:`line_bounds`          -- where the lines of a block start and how long they are;
- :func:`gather_lines`         -- copy lines into a new order (the only byte-moving step);
- :func:`assign_buckets`       -- the random-bucket method's first step: an independent,
  uniform bucket for every line (Rao 1961, Sandelius 1962, Sanders 1998; chapter 8, §9.4);
- :func:`shuffle_block`        -- a uniform permutation of the lines of a block (Fisher--Yates);
- :func:`proportional_sources` -- the proportional merge: which chunk supplies each output line,
  drawn so that every arrangement of the chunks' labels is equally likely (chapter 8, §9.3);
- :func:`article_sources`      -- the article's method: row by row, one line from every chunk
  that still has one, in a random order within the row (chapter 8, §3).

List versions of the three shuffles (:func:`bucket_shuffle_lines`, :func:`proportional_merge_lines`,
:func:`article_merge_lines`) state each algorithm in a few lines of Python for the chapter.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NEWLINE = 10
# Above this many bytes a group of equal-length lines is copied in pieces, so that the
# temporary array of one copy stays small next to the block itself.
_GATHER_PIECE_BYTES = 256 << 10


def line_bounds(buf: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(starts, lengths)`` (int64) of the lines in ``buf``, which ends with a newline.

    ``offset`` is added to every start (for a slice of a larger block).
    """
    ends = np.flatnonzero(buf == NEWLINE)  # (n,) position of each newline
    ends += 1 + offset
    lengths = np.empty_like(ends)
    if ends.size:
        lengths[0] = ends[0] - offset
        np.subtract(ends[1:], ends[:-1], out=lengths[1:])
    return ends - lengths, lengths


def _void_view(buf: np.ndarray, width: int) -> np.ndarray:
    """A view of ``buf`` as overlapping records of ``width`` bytes, one starting at every byte."""
    return np.ndarray(shape=(buf.size - width + 1,), dtype=np.dtype(("V", width)), buffer=buf,
                      strides=(1,))


def gather_lines(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, order: np.ndarray,
                 out: np.ndarray) -> np.ndarray:
    """Copy lines ``order[0], order[1], ...`` of ``buf`` one after another into ``out``.

    Returns the output lengths ``lengths[order]``. ``out`` must hold ``lengths[order].sum()``
    bytes and must not overlap ``buf``. See :func:`copy_lines`.
    """
    out_lengths = lengths[order]
    copy_lines(buf, starts[order], out_lengths, out)
    return out_lengths


def _cover_width(lengths: np.ndarray) -> int:
    """A record width covering about 99% of the lines: their 99th percentile (from a strided
    sample of at most ~4096 lengths) rounded up to a multiple of 16, between 16 and 4096.

    Wider records copy wasted bytes (measured: 512-byte records for lines of 80-240 bytes take
    1.3x the time of 240-byte ones); the few longer lines are copied exactly afterwards.
    """
    sample = lengths[::max(1, lengths.size // 4096)]
    k = int(0.99 * (sample.size - 1))
    q = int(np.partition(sample, k)[k])
    return min(4096, max(16, -(-q // 16) * 16))


def copy_lines(buf: np.ndarray, src: np.ndarray, lengths: np.ndarray, out: np.ndarray) -> None:
    """Write ``buf[src[i] : src[i] + lengths[i]]`` for i = 0, 1, ... back to back into ``out``.

    Two numpy tricks replace a Python step per line. (1) Viewing a buffer as records of ``W``
    bytes that start at every byte, a single fancy-index read and write copies ``W`` bytes
    for every line at once. For the lines no longer than ``W`` (most of them) the extra bytes
    written after a line land where the lines after it go, and those are written later: by
    the same write (numpy assigns in index order, and the lines are in output order) or by
    step (2). (2) The remaining lines are grouped by exact length and each group is copied
    with records of that length. Temporary memory: about 40 bytes per line.
    """
    n = lengths.size
    if n == 0:
        return
    dst = np.cumsum(lengths)
    dst -= lengths  # output start of each line
    width = _cover_width(lengths)
    rest = None
    if buf.size >= width and out.size >= width:
        fits = (lengths <= width) & (src <= buf.size - width) & (dst <= out.size - width)
        src_view, dst_view = _void_view(buf, width), _void_view(out, width)
        step = max(1, _GATHER_PIECE_BYTES // width)
        if fits.all():
            for p in range(0, n, step):
                dst_view[dst[p:p + step]] = src_view[src[p:p + step]]
            return
        rows = np.flatnonzero(fits)  # ascending: output order
        for p in range(0, rows.size, step):
            piece = rows[p:p + step]
            dst_view[dst[piece]] = src_view[src[piece]]
        del rows
        rest = np.flatnonzero(~fits)
        src, dst, lengths = src[rest], dst[rest], lengths[rest]
        del fits
    _copy_by_length(buf, src, lengths, dst, out)


def _copy_by_length(buf: np.ndarray, src: np.ndarray, lengths: np.ndarray, dst: np.ndarray,
                    out: np.ndarray) -> None:
    """Copy ``buf[src[i]:src[i] + lengths[i]]`` to ``out[dst[i]:...]`` exactly, a group of equal lengths at a time."""
    n = lengths.size
    if n == 0:
        return
    longest = int(lengths.max())
    if longest < 65536:
        key = lengths.astype(np.uint16)
        by_length = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
        counts = np.bincount(key)
        del key
        widths = np.flatnonzero(counts)
        bounds = np.concatenate(([0], np.cumsum(counts[widths]))).tolist()
        widths = widths.tolist()
    else:
        by_length = np.argsort(lengths, kind="stable")
        sorted_lengths = lengths[by_length]
        cuts = np.flatnonzero(sorted_lengths[1:] != sorted_lengths[:-1]) + 1
        bounds = np.concatenate(([0], cuts, [n])).tolist()
        widths = sorted_lengths[bounds[:-1]].tolist()
        del sorted_lengths, cuts
    for width, a, b in zip(widths, bounds[:-1], bounds[1:]):
        rows = by_length[a:b]
        if b - a <= 2 and width > 64:  # a rare long line: one plain copy is cheaper
            for r in rows.tolist():
                d, s = int(dst[r]), int(src[r])
                out[d:d + width] = buf[s:s + width]
            continue
        src_view, dst_view = _void_view(buf, width), _void_view(out, width)
        step = max(1, _GATHER_PIECE_BYTES // width)
        for p in range(0, b - a, step):
            piece = rows[p:p + step]
            dst_view[dst[piece]] = src_view[src[piece]]


def iter_line_slices(buf: np.ndarray, max_lines: int):
    """Yield ``(starts, lengths)`` (int64) for the whole lines of ``buf``, about ``max_lines`` at a time.

    The newline scan runs over pieces of the buffer, so that neither the comparison's
    temporary nor the index arrays grow with the buffer: a slice holds fewer than
    ``max_lines + scan`` lines, ``scan = max(max_lines, 1 MiB)`` bytes.
    """
    step = max(max_lines, 1 << 20)
    pending, count, start = [], 0, 0
    for a in range(0, buf.size, step):
        ends = np.flatnonzero(buf[a:a + step] == NEWLINE)
        if ends.size:
            ends += a + 1
            pending.append(ends)
            count += ends.size
        while count >= max_lines or (a + step >= buf.size and count):
            ends = np.concatenate(pending) if len(pending) > 1 else pending[0]
            if ends.size > 2 * max_lines:  # keep the slices near max_lines
                pending, ends = [ends[max_lines:]], ends[:max_lines]
                count = pending[0].size
            else:
                pending, count = [], 0
            lengths = np.empty_like(ends)
            lengths[0] = ends[0] - start
            np.subtract(ends[1:], ends[:-1], out=lengths[1:])
            start = int(ends[-1])
            ends -= lengths
            yield ends, lengths


def assign_buckets(n_lines: int, n_buckets: int, rng: np.random.Generator) -> np.ndarray:
    """Return an independent, uniformly random bucket in ``[0, n_buckets)`` for each of ``n_lines`` lines.

    This is the first step of the random-bucket method (chapter 8, §9.4): a line lands in
    bucket ``b`` with probability ``1/n_buckets`` whatever happens to the others.
    """
    dtype = np.uint16 if n_buckets <= 1 << 16 else np.int64
    return rng.integers(0, n_buckets, size=n_lines, dtype=dtype)


def group_by_bucket(buckets: np.ndarray, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(order, counts)``: a stable order listing bucket 0's lines first, then bucket 1's, ...

    ``counts[b]`` is the number of lines in bucket ``b``.
    """
    order = np.argsort(buckets, kind="stable")  # counting (radix) sort for 16-bit keys
    counts = np.bincount(buckets, minlength=n_buckets)
    return order, counts


def shuffle_block(n_lines: int, rng: np.random.Generator) -> np.ndarray:
    """Return a uniformly random permutation of ``range(n_lines)`` (numpy's Fisher--Yates)."""
    return rng.permutation(n_lines)


def shuffle_buffer(data: np.ndarray, n_lines: int, rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """Shuffle the ``n_lines`` whole lines of ``data`` uniformly into ``out``; return the output line lengths.

    The in-memory step of every method (one bucket, or one chunk): a uniform permutation
    (:func:`shuffle_block`) applied with :func:`copy_lines`.

    Temporary memory about 40 bytes per line (int64 starts, lengths, permutation,
    then :func:`copy_lines`).
    """
    starts = np.empty(n_lines, dtype=np.int64)
    lengths = np.empty(n_lines, dtype=np.int64)
    got = 0
    for s, ln in iter_line_slices(data, max(1 << 16, n_lines // 16)):
        starts[got:got + s.size] = s
        lengths[got:got + s.size] = ln
        got += s.size
    if got != n_lines:
        raise ValueError(f"n_lines={n_lines} but the buffer holds {got} lines")
    perm = shuffle_block(n_lines, rng)
    src, lengths = starts[perm], lengths[perm]
    del starts, perm
    copy_lines(data, src, lengths, out)
    return lengths


def proportional_sources(remaining: np.ndarray, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """Return which chunk supplies each of the next ``n_out`` output lines, in the proportional merge.

    Drawing the next line from chunk ``j`` with probability ``remaining[j] / remaining.sum()``,
    one line at a time, makes the sequence of chunk labels a uniformly random arrangement of
    the multiset ``{j: remaining[j]}`` (chapter 8, §9.3). Its first ``n_out`` labels are drawn
    here at once, with the same law: how many come from each chunk is multivariate
    hypergeometric, and given those counts their order is a uniform shuffle.
    ``remaining`` is updated in place.
    """
    remaining = np.asarray(remaining)
    total = int(remaining.sum())
    if not 0 <= n_out <= total:
        raise ValueError(f"n_out={n_out} must be between 0 and the {total} lines remaining")
    if n_out == total:
        counts = remaining.astype(np.int64).copy()
    else:
        counts = rng.multivariate_hypergeometric(remaining.astype(np.int64), n_out, method="marginals")
    remaining -= counts.astype(remaining.dtype)
    sources = np.repeat(np.arange(remaining.size), counts)  # (n_out,)
    rng.shuffle(sources)
    return sources


def article_sources(chunk_lengths: Sequence[int], first_row: int, n_rows: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Return the chunk supplying each output line for rows ``first_row .. first_row + n_rows - 1``.

    The article's method (chapter 8, §3): output row ``r`` takes line ``r`` of every chunk that
    has one, in a fresh random order per row. A short last chunk simply drops out of later
    rows, as in the reference script, so its lines end up near the front (§5).
    """
    lengths = np.asarray(chunk_lengths, dtype=np.int64)
    m = lengths.size
    rows = np.tile(np.arange(m), (n_rows, 1))  # (n_rows, m)
    rows = rng.permuted(rows, axis=1)
    present = lengths[rows] > (first_row + np.arange(n_rows))[:, None]  # (n_rows, m)
    return rows[present]


def bucket_shuffle_lines(lines: Sequence[bytes], n_buckets: int, rng: np.random.Generator) -> list[bytes]:
    """The random-bucket method on a list: scatter to random buckets, shuffle each, concatenate."""
    ids = assign_buckets(len(lines), n_buckets, rng)
    buckets: list[list[bytes]] = [[] for _ in range(n_buckets)]
    for line, b in zip(lines, ids.tolist()):
        buckets[b].append(line)
    return [bucket[i] for bucket in buckets for i in shuffle_block(len(bucket), rng).tolist()]


def _shuffled_chunks(lines: Sequence[bytes], chunk_lines: int, rng: np.random.Generator) -> list[list[bytes]]:
    chunks = [list(lines[i:i + chunk_lines]) for i in range(0, len(lines), chunk_lines)]
    return [[c[i] for i in shuffle_block(len(c), rng).tolist()] for c in chunks]


def proportional_merge_lines(lines: Sequence[bytes], chunk_lines: int, rng: np.random.Generator) -> list[bytes]:
    """Cut into chunks of ``chunk_lines`` consecutive lines, shuffle each, merge in proportion."""
    chunks = _shuffled_chunks(lines, chunk_lines, rng)
    remaining = np.array([len(c) for c in chunks], dtype=np.int64)
    taken = [0] * len(chunks)
    out = []
    for j in proportional_sources(remaining, int(remaining.sum()), rng).tolist():
        out.append(chunks[j][taken[j]])
        taken[j] += 1
    return out


def article_merge_lines(lines: Sequence[bytes], chunk_lines: int, rng: np.random.Generator) -> list[bytes]:
    """The article's method: cut into chunks, shuffle each, emit row by row in random row orders."""
    chunks = _shuffled_chunks(lines, chunk_lines, rng)
    lengths = [len(c) for c in chunks]
    taken = [0] * len(chunks)
    out = []
    for j in article_sources(lengths, 0, max(lengths, default=0), rng).tolist():
        out.append(chunks[j][taken[j]])
        taken[j] += 1
    return out
