"""Benchmark of the shuffle command (issue 3): prints figures, asserts nothing.

    PYTHONPATH=$PWD .venv/bin/python tools/bench_shuffle.py [--reps 3] [--memory 256M] [--dir DIR]

Generates (once, then reuses) about 1 GiB of ~160-byte lines and about 100 MB of ~12-byte lines,
then times, in paired repetitions (the tools take turns inside each repetition, in a rotating
order): this tool (``python -m lib.shuffle`` with the memory budget), GNU ``shuf`` (in memory, no
budget) and a straightforward pure-Python two-pass bucket shuffle (``lib/shuffle/baselines.py
buckets``, chapter 8's baseline, with the same budget, its buckets sized to fill 80 % of it).
For each it reports the median wall time, MB/s, user+sys CPU, peak resident memory and peak
temporary disk, the paired ratios to ``shuf``, and the machine's copy rate (``dd``): reading and
writing the data twice (the two-pass bound) takes at least twice the copy time.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _bench_common import ROOT, make_file, options, paired, prepare, summary, walls_line


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
    ap = options(__doc__, "bench-shuffle")
    ap.add_argument("--only", choices=("long", "short"), help="run one of the two files")
    ap.add_argument("--skip-naive", action="store_true", help="leave out the pure-Python version")
    args = ap.parse_args()
    memory, work, env = prepare(args)
    files = {"long": (work / "lines160.txt", 1 << 30, 80, 240), "short": (work / "lines12.txt", 100_000_000, 6, 18)}
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
        if not args.skip_naive:  # --fill 0.8: the settings of the README's figures (the chapter uses 0.5)
            tools["naive python"] = [py, str(ROOT / "lib" / "shuffle" / "baselines.py"), "buckets", str(path),
                                     "-o", str(out), "--memory", str(memory), "--tmpdir", str(tmp), "--seed", "1",
                                     "--fill", "0.8"]
        copies = []
        results = paired(tools, args.reps, out, tmp, env,
                         after_rep=lambda: copies.append(dd_copy(path, work / "dd.out")))
        dd = statistics.median(copies)
        print(f"\n{path.name}: {mb:.0f} MB, ~{(lo + hi) / 2:.0f}-byte lines; dd copy {dd:.2f} s "
              f"({mb / dd:.0f} MB/s) -> two-pass bound (read twice, write twice) ~{2 * dd:.2f} s")
        print(f"{'tool':<13} {'wall s':>7} {'MB/s':>6} {'cpu s':>6} {'user':>6} {'sys':>6} {'peak RSS':>9} "
              f"{'temp disk':>9} {'wall/shuf':>9} {'cpu/shuf':>8}  (medians; ratios paired per repetition)")
        for t, (med, ratio, cpu_ratio) in summary(results, "shuf").items():
            print(f"{t:<13} {med['wall']:7.2f} {mb / med['wall']:6.0f} {med['cpu']:6.2f} {med['user']:6.2f} "
                  f"{med['sys']:6.2f} {med['rss'] / 2**20:7.0f}Mi {med['temp'] / 2**20:7.0f}Mi {ratio:9.2f} "
                  f"{cpu_ratio:8.2f}")
        if "naive python" in results:
            speedup = statistics.median(n["wall"] / r["wall"] for n, r in zip(results["naive python"],
                                                                               results["lib.shuffle"]))
            print(f"lib.shuffle is {speedup:.2f}x faster than the naive Python version (paired median)")
        print(walls_line(results))
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
