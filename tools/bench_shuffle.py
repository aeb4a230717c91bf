"""Benchmark of the shuffle command (issue 3): prints figures, asserts nothing.

    PYTHONPATH=$PWD .venv/bin/python tools/bench_shuffle.py [--reps 3] [--memory 256M] [--dir DIR]

Generates (once, then reuses) about 1 GiB of ~160-byte lines and about 100 MB of ~12-byte lines,
then times, in paired repetitions (the tools take turns inside each repetition, in a rotating
order): this tool (``python -m lib.shuffle`` with the memory budget), GNU ``shuf`` (in memory, no
budget) and a straightforward pure-Python two-pass bucket shuffle (below, with the same budget).
For each it reports the median wall time, MB/s, user+sys CPU, peak resident memory and peak
temporary disk, the paired ratios to ``shuf``, and the machine's copy rate (``dd``): reading and
writing the data twice (the two-pass bound) takes at least twice the copy time.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# The straightforward version: per-line Python, buckets sized from the same budget.
NAIVE = r'''
import math, os, random, sys
inputs, output, memory, tmpdir, seed = sys.argv[1:-4], sys.argv[-4], int(sys.argv[-3]), sys.argv[-2], int(sys.argv[-1])
rng = random.Random(seed)
size = sum(os.path.getsize(p) for p in inputs)
with open(inputs[0], "rb") as f:
    sample = f.read(1 << 16)
mean = len(sample) / max(1, sample.count(b"\n"))
k = max(1, math.ceil(size * (1 + 41 / mean) / (0.8 * memory)))  # a bytes object costs ~41 B more
work = os.path.join(tmpdir, f"naive-{os.getpid()}")
os.mkdir(work)
buckets = [open(os.path.join(work, str(i)), "wb") for i in range(k)]
for path in inputs:
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                line += b"\n"
            buckets[rng.randrange(k)].write(line)
for b in buckets:
    b.close()
with open(output + ".tmp", "wb") as out:
    for i in range(k):
        path = os.path.join(work, str(i))
        with open(path, "rb") as f:
            lines = f.readlines()
        os.remove(path)
        rng.shuffle(lines)
        out.writelines(lines)
        del lines
os.replace(output + ".tmp", output)
os.rmdir(work)
'''


def make_file(path: Path, n_bytes: int, lo: int, hi: int, seed: int) -> None:
    """Lines of random lowercase letters, lengths uniform in [lo, hi] (newline included)."""
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
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def run(cmd: list[str], tmpdir: Path, env=None) -> dict:
    """Run ``cmd``; wall time, user+sys CPU, peak RSS (KiB, from wait4) and peak temp bytes."""
    peak = [0]
    done = threading.Event()

    def watch():
        while not done.wait(0.05):
            peak[0] = max(peak[0], dir_bytes(tmpdir))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    watcher.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return dict(wall=wall, cpu=usage.ru_utime + usage.ru_stime, user=usage.ru_utime, sys=usage.ru_stime,
                rss=usage.ru_maxrss * 1024, temp=peak[0])


def dd_copy(src: Path, dst: Path) -> float:
    """Seconds for ``dd`` to copy ``src``: the better of two copies, each after a sync.

    On this machine kind the first large write after other jobs freed memory is often several
    times slower than the next one (0.3 s vs 2.7 s for 1 GiB, measured), so one copy can
    misstate the copy rate.
    """
    walls = []
    for _ in range(2):
        os.sync()
        t0 = time.perf_counter()
        subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=1M", "status=none"], check=True)
        walls.append(time.perf_counter() - t0)
        dst.unlink()
    return min(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "bench-shuffle"))
    ap.add_argument("--only", choices=("long", "short"), help="run one of the two files")
    ap.add_argument("--skip-naive", action="store_true", help="leave out the pure-Python version")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from lib.shuffle import parse_size  # noqa: PLC0415

    memory = parse_size(args.memory)
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    files = {"long": (work / "lines160.txt", 1 << 30, 80, 240), "short": (work / "lines12.txt", 100_000_000, 6, 18)}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    py = sys.executable
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; budget {args.memory}; "
          f"{args.reps} paired repetitions; python {sys.version.split()[0]}; {shutil.which('shuf')}")
    for name, (path, size, lo, hi) in files.items():
        if args.only and name != args.only:
            continue
        make_file(path, size, lo, hi, seed=1 if name == "long" else 2)
        n_bytes = path.stat().st_size
        mb = n_bytes / 1e6
        tmp = work / "tmp"
        tmp.mkdir(exist_ok=True)
        out = work / "out.txt"
        tools = {
            "lib.shuffle": [py, "-m", "lib.shuffle", str(path), "-o", str(out), "--memory", args.memory,
                            "--tmpdir", str(tmp), "--quiet"],
            "shuf": ["shuf", str(path), "-o", str(out)],
        }
        if not args.skip_naive:
            tools["naive python"] = [py, "-c", NAIVE, str(path), str(out), str(memory), str(tmp), "1"]
        results = {t: [] for t in tools}
        copies = []
        for rep in range(args.reps):
            names = list(tools)
            names = names[rep % len(names):] + names[:rep % len(names)]
            for t in names:
                out.unlink(missing_ok=True)
                results[t].append(run(tools[t], tmp, env))
            out.unlink(missing_ok=True)
            copies.append(dd_copy(path, work / "dd.out"))
        dd = statistics.median(copies)
        print(f"\n{path.name}: {mb:.0f} MB, ~{(lo + hi) / 2:.0f}-byte lines; dd copy {dd:.2f} s "
              f"({mb / dd:.0f} MB/s) -> two-pass bound (read twice, write twice) ~{2 * dd:.2f} s")
        print(f"{'tool':<13} {'wall s':>7} {'MB/s':>6} {'cpu s':>6} {'user':>6} {'sys':>6} {'peak RSS':>9} "
              f"{'temp disk':>9} {'wall/shuf':>9} {'cpu/shuf':>8}  (medians; ratios paired per repetition)")
        for t, rs in results.items():
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            ratio = statistics.median(r["wall"] / s["wall"] for r, s in zip(rs, results["shuf"]))
            cpu_ratio = statistics.median(r["cpu"] / s["cpu"] for r, s in zip(rs, results["shuf"]))
            print(f"{t:<13} {med['wall']:7.2f} {mb / med['wall']:6.0f} {med['cpu']:6.2f} {med['user']:6.2f} "
                  f"{med['sys']:6.2f} {med['rss'] / 2**20:7.0f}Mi {med['temp'] / 2**20:7.0f}Mi {ratio:9.2f} "
                  f"{cpu_ratio:8.2f}")
        if "naive python" in results:
            speedup = statistics.median(n["wall"] / r["wall"] for n, r in zip(results["naive python"],
                                                                               results["lib.shuffle"]))
            print(f"lib.shuffle is {speedup:.2f}x faster than the naive Python version (paired median)")
        print("walls per repetition: " + "; ".join(f"{t} " + " ".join(f"{r['wall']:.2f}" for r in rs)
                                                   for t, rs in results.items()))
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
