"""What the shuffle benchmarks share (tools/bench_shuffle.py, tools/bench_shuffle_dask.py).

Their common options and set-up, the generated test files, running a command while sampling
its temporary disk (and, for a process tree, its resident memory), paired repetitions in a
rotating order, and the medians and paired ratios they print.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def options(doc: str, dirname: str) -> argparse.ArgumentParser:
    """A parser with the options of both benchmarks: ``--reps``, ``--memory``, ``--dir`` (default TMPDIR/dirname)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), dirname))
    return ap


def prepare(args) -> tuple[int, Path, dict]:
    """``(budget in bytes, the work folder (made), environment)`` for parsed :func:`options`.

    The budget is parsed as the command parses it; the environment makes the commands
    import this checkout's ``lib``.
    """
    sys.path.insert(0, str(ROOT))
    from lib.shuffle import parse_size  # noqa: PLC0415

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    return parse_size(args.memory), work, dict(os.environ, PYTHONPATH=str(ROOT))


def make_file(path: Path, n_bytes: int, lo: int, hi: int, seed: int) -> None:
    """Lines of random lowercase letters, lengths uniform in [lo, hi] (newline included).

    Made once: an existing file of about the right size is reused.
    """
    if path.exists() and abs(path.stat().st_size - n_bytes) < hi * 200_000:
        return
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as f:
        written = 0
        while written < n_bytes:
            lengths = rng.integers(lo, hi + 1, size=200_000)
            body = rng.integers(97, 123, size=int(lengths.sum()), dtype=np.uint8)
            body[np.cumsum(lengths) - 1] = 10
            f.write(body.tobytes())
            written += body.size
    tmp.rename(path)


def dir_bytes(path: Path) -> int:
    """Disk space (allocated blocks) of the files under ``path``."""
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def tree_rss(proc) -> tuple[int, int]:
    """(sum, max) of resident memory over ``proc`` (a psutil.Process) and all its descendants."""
    import psutil  # noqa: PLC0415 -- only the process-tree measurement needs it

    total = largest = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0, 0
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


def run(cmd: list[str], tmpdir: Path, env=None, tree: bool = False) -> dict:
    """Run ``cmd``: wall time, user+sys CPU (reaped children included), peak RSS and peak temp bytes.

    Peak RSS (``rss``) is the kernel's (wait4) maximum for the process; with ``tree`` it is the
    peak sum over the process and its descendants, sampled every 50 ms with psutil, and
    ``rss_max`` the peak of the largest of them. Temporary bytes are sampled in ``tmpdir``.
    """
    peak = {"sum": 0, "max": 0, "temp": 0}
    done = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    ps = None
    if tree:
        import psutil  # noqa: PLC0415

        ps = psutil.Process(proc.pid)

    def watch():
        while not done.wait(0.05):
            if ps is not None:
                total, largest = tree_rss(ps)
                peak["sum"] = max(peak["sum"], total)
                peak["max"] = max(peak["max"], largest)
            peak["temp"] = max(peak["temp"], dir_bytes(tmpdir))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    watcher.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    result = dict(wall=wall, cpu=usage.ru_utime + usage.ru_stime, user=usage.ru_utime, sys=usage.ru_stime,
                  rss=usage.ru_maxrss * 1024, temp=peak["temp"])
    if tree:
        result.update(rss=peak["sum"], rss_max=peak["max"])
    return result


def paired(commands: dict[str, list[str]], reps: int, out: Path, tmpdir: Path, env=None, tree: bool = False,
           after_rep=None) -> dict[str, list[dict]]:
    """Run every command once per repetition, in an order rotating with the repetition; ``{name: [run, ...]}``.

    ``out`` (the commands' output) is removed before each run and after each repetition;
    ``after_rep()``, if given, runs at the end of each repetition.
    """
    results = {name: [] for name in commands}
    for rep in range(reps):
        names = list(commands)
        names = names[rep % len(names):] + names[:rep % len(names)]
        for name in names:
            out.unlink(missing_ok=True)
            results[name].append(run(commands[name], tmpdir, env, tree))
        out.unlink(missing_ok=True)
        if after_rep is not None:
            after_rep()
    return results


def summary(results: dict[str, list[dict]], base: str) -> dict[str, tuple[dict, float, float]]:
    """``{name: (medians of each measure, paired median wall ratio to base, the same for CPU)}``."""
    rows = {}
    for name, rs in results.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        wall = statistics.median(r["wall"] / b["wall"] for r, b in zip(rs, results[base]))
        cpu = statistics.median(r["cpu"] / b["cpu"] for r, b in zip(rs, results[base]))
        rows[name] = (med, wall, cpu)
    return rows


def walls_line(results: dict[str, list[dict]]) -> str:
    """``walls per repetition: name w1 w2 ...; ...``"""
    return "walls per repetition: " + "; ".join(f"{name} " + " ".join(f"{r['wall']:.2f}" for r in rs)
                                                for name, rs in results.items())
