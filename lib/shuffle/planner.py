"""Sizing an external shuffle before running it (chapter 8, §9.5): chunks, open files, disk, I/O, time.

Two plans, from the file size ``S``, the memory budget ``M``, the mean line length ``l`` and
the memory each line costs beyond its bytes (``o``):

- :func:`plan_chunks` -- the article's method and terashuf (cut into chunks that fit in
  memory, shuffle each, merge): ``n = floor(M / (l + o))`` lines per chunk,
  ``m = ceil(L / n)`` chunk files, all open at once during the merge; temporary disk ``S``;
  reads and writes ``4 S`` in all (two passes).
- :func:`plan_buckets` -- the random-bucket method: ``k`` buckets so that one fits in memory
  with headroom; if ``k`` exceeds the fan-out ``F`` (files worth writing at once), buckets
  are split again, one more read and write of the data per level.

The time bound is the I/O divided by the disk's bandwidth: a floor for a tool that is
disk-bound, which the article says these shuffles are (§7). Numbers reported by the article
and by terashuf's README are in :data:`REPORTED` and :data:`PRESETS`, labelled as such.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# Python's cost of holding a line as ``bytes`` in a list, on CPython 3.11 (§9.5): the object
# header ``sys.getsizeof(b"")`` = 33 bytes plus an 8-byte list slot.
PYTHON_BYTES_OVERHEAD = 41

# Reported numbers (not measured here). Bytes use 1 GB = 1e9.
REPORTED = {
    "article": {  # Su Jianlin, kexue.fm/archives/8662, "performance test" (§7)
        "corpus_bytes": 280e9,
        "terashuf_memory_bytes": 20e9,  # MEMORY=20
        "terashuf_hours": 2.7,
        "python_hours": 3.5,
    },
    # terashuf README (github.com/alexandres/terashuf): 20 GB Wikipedia dump, Xeon E5-2630, 128 GB RAM
    "terashuf_readme": [
        {"tool": "terashuf", "memory_gb": 4, "real_s": 6 * 60 + 16, "user_s": 4 * 60 + 53, "sys_s": 44},
        {"tool": "terashuf", "memory_gb": 20, "real_s": 2 * 60 + 32, "user_s": 60 + 17, "sys_s": 21},
        {"tool": "shuf", "memory_gb": 20, "real_s": 2 * 60 + 46, "user_s": 50, "sys_s": 27},
        {"tool": "sort -R", "memory_gb": 4, "real_s": 170 * 60 + 51, "user_s": 649 * 60 + 7, "sys_s": 52},
    ],
    "terashuf_readme_data_bytes": 20e9,
    "terashuf_readme_fd_example": {"file_bytes": 5e12, "memory_bytes": 4e9, "file_descriptors": 1250},
}

# Planner presets: the two cases the sources report. The mean line length is not reported
# by either (1 KB is our assumption); with no per-line overhead it does not change the chunks.
PRESETS = {
    "article": {"label": "article (reported: 280 GB, terashuf MEMORY=20 GB)",
                "file_bytes": 280e9, "memory_bytes": 20e9, "mean_line_bytes": 1000.0, "per_line_overhead": 0.0},
    "terashuf-readme": {"label": "terashuf README (reported: 5 TB, MEMORY=4 GB)",
                        "file_bytes": 5e12, "memory_bytes": 4e9, "mean_line_bytes": 1000.0, "per_line_overhead": 0.0},
}


def preset_args(name: str) -> dict:
    """The keyword arguments of :func:`plan_chunks` / :func:`plan_buckets` for preset ``name``."""
    if name not in PRESETS:
        raise ValueError(f"name={name!r} must be one of {', '.join(PRESETS)}")
    return {k: v for k, v in PRESETS[name].items() if k != "label"}


def _positive(name: str, value, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        raise TypeError(f"{name}={value!r} must be a {'whole ' if integer else ''}number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be positive and finite")
    return float(value)


def _non_negative(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}={value!r} must be a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be non-negative and finite")
    return float(value)


@dataclass(frozen=True)
class ChunkPlan:
    """What the chunk-and-merge methods (the article's, terashuf's) need. Sizes in bytes."""

    n_lines: int
    lines_per_chunk: int
    n_chunks: int  # temporary files, all open at once during the merge
    fd_limit: int
    fits_fd_limit: bool
    merge_memory_bytes: float  # a read buffer per chunk file plus one row of lines
    temp_bytes: float
    peak_disk_bytes: float  # input + temporaries + output, temporaries removed at the end
    total_io_bytes: float
    io_seconds: float  # total I/O at the disk bandwidth: a lower bound if disk-bound


def plan_chunks(file_bytes: float, memory_bytes: float, mean_line_bytes: float = 1000.0,
                per_line_overhead: float = PYTHON_BYTES_OVERHEAD, *, lines_per_chunk: int | None = None,
                read_buffer: float = 8192, fd_limit: int = 1024, disk_bandwidth: float = 150e6) -> ChunkPlan:
    """Plan the article's method (or terashuf) for a file of ``file_bytes`` with ``memory_bytes`` (§9.5).

    ``lines per chunk n = floor(M / (l + o))`` (or ``lines_per_chunk`` if given, as the reference
    script's fixed 100 000), ``chunks m = ceil(L / n)`` with ``L = ceil(S / l)`` lines; merge
    memory ``m * read_buffer + m * (l + o)``; temporary disk ``S``; peak disk ``3 S`` (input,
    chunks, output); I/O ``4 S`` (read, write, read, write); time ``4 S / bandwidth``.
    """
    s = _positive("file_bytes", file_bytes)
    mem = _positive("memory_bytes", memory_bytes)
    line = _positive("mean_line_bytes", mean_line_bytes)
    over = _non_negative("per_line_overhead", per_line_overhead)
    buf = _non_negative("read_buffer", read_buffer)
    fds = int(_positive("fd_limit", fd_limit, integer=True))
    bw = _positive("disk_bandwidth", disk_bandwidth)
    if lines_per_chunk is None:
        n = math.floor(mem / (line + over))
        if n < 1:
            raise ValueError(f"memory_bytes={memory_bytes!r} cannot hold one line of {line:g} bytes "
                             f"(+{over:g} overhead): raise the budget")
    else:
        n = int(_positive("lines_per_chunk", lines_per_chunk, integer=True))
    n_lines = math.ceil(s / line)
    m = math.ceil(n_lines / n)
    io = 4 * s
    return ChunkPlan(n_lines=n_lines, lines_per_chunk=n, n_chunks=m, fd_limit=fds, fits_fd_limit=m <= fds,
                     merge_memory_bytes=m * buf + m * (line + over), temp_bytes=s, peak_disk_bytes=3 * s,
                     total_io_bytes=io, io_seconds=io / bw)


@dataclass(frozen=True)
class BucketPlan:
    """What the random-bucket method needs. Sizes in bytes."""

    n_lines: int
    n_buckets: int
    levels: int  # scatter passes: 1 if the buckets fit the fan-out, more if they must be split again
    open_files: int  # bucket files written at once
    temp_bytes: float
    peak_disk_bytes: float  # input + buckets + output, each bucket removed once written out
    total_io_bytes: float
    io_seconds: float


def plan_buckets(file_bytes: float, memory_bytes: float, mean_line_bytes: float = 1000.0,
                 per_line_overhead: float = PYTHON_BYTES_OVERHEAD, *, fill: float = 0.5, fanout: int = 1024,
                 disk_bandwidth: float = 150e6) -> BucketPlan:
    """Plan the random-bucket method (§9.4, §9.5).

    ``k = ceil(S (1 + o / l) / (fill * M))`` buckets: an average bucket uses a fraction ``fill``
    of the memory, leaving room for the random bucket sizes. With more than ``fanout`` buckets
    the data is scattered in ``levels = ceil(log_F k)`` passes. I/O ``2 S (levels + 1)``; peak
    disk ``2 S + S / k`` (input, buckets and the output growing as buckets are removed).
    """
    s = _positive("file_bytes", file_bytes)
    mem = _positive("memory_bytes", memory_bytes)
    line = _positive("mean_line_bytes", mean_line_bytes)
    over = _non_negative("per_line_overhead", per_line_overhead)
    fill = _positive("fill", fill)
    if fill > 1:
        raise ValueError(f"fill={fill!r} must be in (0, 1]")
    fanout = int(_positive("fanout", fanout, integer=True))
    if fanout < 2:
        raise ValueError(f"fanout={fanout!r} must be at least 2")
    bw = _positive("disk_bandwidth", disk_bandwidth)
    if mem < (line + over) / fill:
        raise ValueError(f"memory_bytes={memory_bytes!r} cannot hold one line of {line:g} bytes "
                         f"(+{over:g} overhead) at fill {fill:g}: raise the budget")
    k = max(1, math.ceil(s * (1 + over / line) / (fill * mem)))
    levels = 1
    while fanout ** levels < k:
        levels += 1
    io = 2 * s * (levels + 1)
    return BucketPlan(n_lines=math.ceil(s / line), n_buckets=k, levels=levels, open_files=min(k, fanout),
                      temp_bytes=s, peak_disk_bytes=2 * s + s / k, total_io_bytes=io, io_seconds=io / bw)


def describe_fd_limit(limit: int) -> str:
    """A soft ``RLIMIT_NOFILE`` as text: ``"1,024"``, or ``"unlimited"`` for ``RLIM_INFINITY`` (any negative value)."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit={limit!r} must be an int")
    return "unlimited" if limit < 0 else f"{limit:,}"


def throughput(n_bytes: float, seconds: float) -> float:
    """Bytes per second: ``n_bytes / seconds``."""
    return _positive("n_bytes", n_bytes) / _positive("seconds", seconds)


def implied_disk_rate(file_bytes: float, seconds: float, passes: int = 2) -> float:
    """The sustained disk rate a run must have had: ``2 * passes * S / t`` (each pass reads and writes ``S``)."""
    passes = int(_positive("passes", passes, integer=True))
    return 2 * passes * _positive("file_bytes", file_bytes) / _positive("seconds", seconds)
