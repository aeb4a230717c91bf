"""The client side of the cluster shuffle: plan, run the three stages on Dask, rename into place.

:func:`shuffle_file_dask` is the random-bucket method of the single-machine engine (chapter 8,
§9.4) with partitions in the role of buckets and Dask tasks in the role of threads:

1. *map*: every input is cut into blocks of about ``memory / 4`` bytes; a task per block gives
   each line that starts in it an independent, uniform partition and writes the lines grouped
   by partition to a map file in a shared workspace (:func:`.mapper.map_block`); a tree of small
   tasks adds up the bytes and lines of every partition;
2. *cut* (``split`` only): the partitions holding a part boundary replay their shuffle to find
   its byte position (:func:`.reducer.cut_partition`);
3. *reduce*: a task per partition reads its pieces from every map file, shuffles them in memory
   and writes them where they belong in the outputs (:func:`.reducer.reduce_partition`). The
   client created those outputs under temporary names, at their final sizes, before this stage.

Then the client renames the outputs into place. Exactly uniform for the same reason as the
engine: each line's partition is independent and uniform, each partition's order is uniform
given its lines, so every order of the whole output is equally likely (and, given the
partition sizes, the concatenation is already uniform, so cutting it into parts at fixed line
counts keeps it so).
"""
from __future__ import annotations

import os
import shutil
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine import COMMITTING, ShuffleReport
from ..files import ShuffleError, check_output_dir, check_temp_dir, parse_size, path_list, split_names
from . import layout
from .cost import MAX_PARTITIONS, block_size, plan_partitions
from .job import Job, part_temp
from .mapper import map_block
from .reducer import cut_partition, reduce_partition
from .runners import make_runner, memory_notes, translate



@dataclass
class DaskShuffleReport(ShuffleReport):
    """What :func:`shuffle_file_dask` did (the engine's report plus the cluster's side)."""

    n_blocks: int = 0  # map tasks
    n_oversized: int = 0  # partitions larger than the budget, shuffled by the single-machine engine
    scheduler: str = ""  # "local cluster", an address, or a local Dask scheduler's name
    n_workers: int = 0  # workers of the cluster (0 for a local scheduler)
    stage_s: dict = field(default_factory=dict)  # seconds: start, map, cut, reduce, commit
    notes: list = field(default_factory=list)  # warnings worth showing (memory limits)


# ----------------------------------------------------------------------------- planning
def _input_size(path: str) -> int:
    """Size in bytes of a local file or an fsspec URL; ShuffleError if it is not a readable file."""
    if "://" in path:
        try:
            import fsspec  # noqa: PLC0415

            fs, inner = fsspec.core.url_to_fs(path)
            info = fs.info(inner)
        except FileNotFoundError:
            raise ShuffleError(f"input {path!r} does not exist") from None
        except ImportError as err:
            raise ShuffleError(f"input {path!r}: URLs need fsspec and its protocol's package ({err})") from None
        if info.get("type") == "directory":
            raise ShuffleError(f"input {path!r} is a folder")
        return int(info["size"])
    if not os.path.exists(path):
        raise ShuffleError(f"input {path!r} does not exist")
    if os.path.isdir(path):
        raise ShuffleError(f"input {path!r} is a folder")
    if not os.path.isfile(path):
        raise ShuffleError(f"input {path!r} is not a regular file (the workers read byte ranges of it)")
    if not os.access(path, os.R_OK):
        raise ShuffleError(f"input {path!r} is not readable (permission denied)")
    return os.path.getsize(path)


def _mean_line(paths: list[str], sizes: list[int], sample: int = 1 << 16) -> float:
    """Mean line length in the first ``sample`` bytes of the first non-empty input."""
    from .mapper import open_input  # noqa: PLC0415

    for path, size in zip(paths, sizes):
        if size:
            with open_input(path) as f:
                data = f.read(min(sample, size))
            lines = data.count(b"\n")
            return len(data) / lines if lines else float(len(data))
    return 64.0


def _part_bounds(sizes: np.ndarray, counts: np.ndarray, parts: int):
    """Where the parts start: ``(bounds, cuts, partition starts, partition first lines)``.

    Part ``j`` gets output lines ``floor(jN/K)`` to ``floor((j+1)N/K) - 1``. ``bounds[j]`` is the
    byte where part ``j`` starts (``bounds[K]`` the total), or None when the boundary falls
    strictly inside a partition ``p``: then ``cuts[p]`` lists ``(j, t)``, and the bound is the byte
    length of the first ``t`` lines of p's shuffle (:func:`.reducer.cut_partition`).
    """
    starts = np.concatenate(([0], np.cumsum(sizes)))
    first_line = np.concatenate(([0], np.cumsum(counts)))
    n_lines = int(first_line[-1])
    bounds: list = [0] * (parts + 1)
    bounds[parts] = int(starts[-1])
    cuts: dict[int, list[tuple[int, int]]] = {}
    for j in range(1, parts):
        line = j * n_lines // parts
        p = int(np.searchsorted(first_line, line, side="right")) - 1
        if first_line[p] == line:
            bounds[j] = int(starts[p])
        else:
            bounds[j] = None
            cuts.setdefault(p, []).append((j, line - int(first_line[p])))
    return bounds, cuts, starts, first_line


# ----------------------------------------------------------------------------- the run
def _check_args(inputs, output, split, seed, n_partitions, block_bytes, n_workers) -> tuple[list[str], str]:
    inputs = path_list(inputs)
    if not inputs:
        raise ValueError("inputs must name at least one file")
    if "-" in inputs:
        raise ValueError("inputs: standard input ('-') cannot be read by Dask workers; give files on "
                         "storage every worker can read")
    inputs = [p if "://" in p else os.path.abspath(p) for p in inputs]
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output={output!r} must be a path")
    output = os.fspath(output)
    if output == "-" or "://" in output:
        raise ValueError(f"output={output!r} must be a path on a file system every worker can write "
                         "(not standard output, not a URL: the output is renamed into place)")
    for name, value, low in (("split", split, 1), ("n_partitions", n_partitions, 1),
                             ("block_bytes", block_bytes, 1), ("n_workers", n_workers, 1), ("seed", seed, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{name}={value!r} must be an int >= {low} or None")
    if n_partitions is not None and n_partitions > MAX_PARTITIONS:
        raise ValueError(f"n_partitions={n_partitions} must be at most {MAX_PARTITIONS}")
    return inputs, os.path.abspath(output)


def shuffle_file_dask(inputs, output, *, memory="1G", seed: int | None = None, tmpdir=None,
                      split: int | None = None, scheduler=None, n_workers: int | None = None,
                      fsync: bool = False, progress=None, n_partitions: int | None = None,
                      block_bytes: int | None = None, _fault: tuple | None = None) -> DaskShuffleReport:
    """Shuffle the lines of ``inputs`` (one pool) into ``output`` on a Dask cluster; return a report.

    Same contract as :func:`lib.shuffle.shuffle_file` (exactly uniform; every line once, bytes
    untouched, a last line without a newline gets one; the output complete or absent), with
    these differences. ``inputs``: paths (or fsspec URLs) every worker can read; ``output``
    and ``tmpdir`` (default: the output's folder) on a file system every worker can write.
    ``memory``: the budget of *one task* (a worker runs one task per thread). ``scheduler``:
    None starts a local cluster of ``n_workers`` processes (default: one per core) -- unless
    ``dask.config`` names a local scheduler (``"synchronous"``, ``"threads"``), which is then
    used in-process; a ``distributed.Client``; or a scheduler's address (``"tcp://host:8786"``).
    ``n_partitions``, ``block_bytes``: override the plan (tests). The output depends on the
    inputs, ``seed``, ``memory`` (and the two overrides), never on the scheduler or the number
    of workers. Errors raise ShuffleError (ValueError/TypeError for bad arguments).
    """
    started = time.perf_counter()
    COMMITTING.clear()
    inputs, output = _check_args(inputs, output, split, seed, n_partitions, block_bytes, n_workers)
    budget = parse_size(memory)
    entropy = seed if seed is not None else int(np.random.SeedSequence().entropy)
    check_output_dir(output)
    if os.path.exists(output) and not os.path.isfile(output):
        raise ShuffleError(f"output {output!r} exists and is not a regular file (a device or a pipe "
                           "cannot take positioned writes from the workers)")
    tmp_root = os.path.abspath(os.fspath(tmpdir)) if tmpdir is not None else os.path.dirname(output)
    check_temp_dir(tmp_root)
    sizes_in = [_input_size(p) for p in inputs]
    total_in = sum(sizes_in)
    layout.remove_leftovers(tmp_root)
    layout.remove_leftovers(os.path.dirname(output))

    parts = split or 1
    finals = [Path(output)] if split is None else split_names(output, split)
    tag = layout.owner_tag()
    report = DaskShuffleReport(method="buckets", seed=entropy)
    block = block_bytes or block_size(budget, total_in)
    blocks = [(i_path, a, min(a + block, size)) for i_path, size in enumerate(sizes_in)
              for a in range(0, size, block)]
    k = n_partitions or (plan_partitions(total_in, _mean_line(inputs, sizes_in), budget) if total_in else 1)
    workspace = Path(tmp_root) / tag
    job = Job(entropy=entropy, workspace=str(workspace), partitions=k, read_bytes=block + block // 8 + 1,
              memory=budget, output=output, n_parts=parts, tag=tag, n_blocks=len(blocks), fsync=fsync,
              fault=_fault)
    temps = [part_temp(job, j) for j in range(parts)]
    made: list[Path] = []
    runner = None
    stage = time.perf_counter()
    try:
        workspace.mkdir(mode=0o755)
        for t in temps:
            try:
                os.close(os.open(t, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            except OSError as err:
                raise ShuffleError(f"cannot create the output next to {output!r}: {err.strerror or err}") from err
            made.append(t)
        runner, report.scheduler = make_runner(scheduler, n_workers, budget, tag)
        report.n_workers = runner.n_workers
        report.notes.extend(memory_notes(runner, budget))
        report.stage_s["start"] = _lap(stage)

        # Pass 1: every line to an independent, uniform partition (map files in the workspace).
        stage = time.perf_counter()
        items = [(i, inputs[f], a, b) for i, (f, a, b) in enumerate(blocks)]
        if items:
            part_bytes, part_lines = runner.run_sum(map_block, job, items, [b - a for _, _, a, b in items],
                                                    progress, label="map")
        else:
            part_bytes, part_lines = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
        report.stage_s["map"] = _lap(stage)
        report.n_lines, report.n_bytes_in = int(part_lines.sum()), int(part_bytes.sum())
        report.n_buckets, report.n_blocks = k, len(blocks)

        # Where every part starts; boundaries inside a partition come from replaying its shuffle.
        stage = time.perf_counter()
        bounds, cuts, starts, _ = _part_bounds(part_bytes, part_lines, parts)
        if cuts:
            order = sorted(cuts)
            cut_items = [(p, int(part_bytes[p]), int(part_lines[p]), [t for _, t in cuts[p]]) for p in order]
            found = runner.run(cut_partition, job, cut_items, label="cut")
            for p, offsets in zip(order, found):
                for (j, _), off in zip(cuts[p], offsets):
                    bounds[j] = int(starts[p]) + off
        report.stage_s["cut"] = _lap(stage)
        for j, t in enumerate(temps):
            os.truncate(t, bounds[j + 1] - bounds[j])

        # Pass 2: shuffle each partition in memory and write it in place.
        stage = time.perf_counter()
        items, weights = [], []
        for p in range(k):
            n_bytes, n_lines = int(part_bytes[p]), int(part_lines[p])
            if n_lines == 0:
                continue
            lo = int(starts[p])
            first = max(0, bisect_right(bounds, lo) - 1)
            last = max(first, bisect_right(bounds, lo + n_bytes - 1) - 1)
            checks = [(t, bounds[j] - lo) for j, t in cuts.get(p, [])]
            items.append((p, n_bytes, n_lines, first, bounds[first:last + 2], lo, checks))
            weights.append(n_bytes)
        done = runner.run(reduce_partition, job, items, weights, progress, label="reduce")
        report.stage_s["reduce"] = _lap(stage)
        written = sum(d[0] for d in done)
        if written != report.n_bytes_in or sum(d[1] for d in done) != report.n_lines:
            raise ShuffleError(f"internal error: {written} bytes written of {report.n_bytes_in}")
        report.n_oversized = report.n_splits = sum(bool(d[2]) for d in done)
        report.n_bytes_out = written
        report.temp_bytes_peak = _tree_bytes(workspace)

        stage = time.perf_counter()
        COMMITTING.set()  # from here on the command lets signals wait (see lib/shuffle/__main__.py)
        for t, final in zip(temps, finals):
            os.replace(t, final)
        made = []
        report.stage_s["commit"] = _lap(stage)
    except BaseException as err:
        if runner is not None:
            runner.release()
        translated = translate(err)
        if translated is not err:
            raise translated from err
        raise
    finally:
        if runner is not None:
            runner.close()
        for t in made:
            t.unlink(missing_ok=True)
        _remove_tree(workspace)
    report.output_paths = [str(p) for p in finals]
    report.elapsed_s = time.perf_counter() - started
    return report


def _lap(since: float) -> float:
    return round(time.perf_counter() - since, 3)


def _tree_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except FileNotFoundError:
                pass
    return total


def _remove_tree(path: Path, attempts: int = 10) -> None:
    """Remove the workspace; retry briefly in case a task of a remote worker still finishes in it."""
    for _ in range(attempts):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.2)
