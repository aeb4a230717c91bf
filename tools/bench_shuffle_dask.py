"""Benchmark of the cluster shuffle (issue 4) beside the single-machine engine: prints figures, asserts nothing.

    PYTHONPATH=$PWD .venv/bin/python tools/bench_shuffle_dask.py [--reps 3] [--memory 256M] [--dir DIR]

Generates (once, then reuses) about 1 GiB of ~160-byte lines, as tools/bench_shuffle.py does, and
times in paired repetitions (the runs take turns inside each repetition, in a rotating order):

- ``local``: ``python -m lib.shuffle IN -o OUT --memory M`` (the single-machine engine);
- ``dask 2w M``: ``--engine dask --workers 2 --memory M``, a local cluster of two worker
  processes (M per task, so up to 2 M of data in memory at once);
- ``dask 2w M/2``: the same with half the budget per task (the same total as ``local``).

For each it reports the median wall time, MB/s, user+sys CPU of the whole process tree (the
workers are children of the command), peak resident memory summed over the tree (sampled every
50 ms with psutil) and of its largest process, and peak temporary disk. Then one more dask run
through the Python API gives the time of each stage. On a 2-core machine shared with other jobs
the cluster is expected to be slower: it starts processes, writes the map files and reads each
partition back with one read per map file, and its two workers compete with the client for the
cores; the point is that the same code runs unchanged on many machines.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from _bench_common import make_file, options, paired, prepare, summary, walls_line

STAGES = r'''
import json, sys
from lib.shuffle.cluster import shuffle_file_dask
if __name__ == "__main__":
    r = shuffle_file_dask(sys.argv[1], sys.argv[2], memory=sys.argv[3], seed=1, tmpdir=sys.argv[4], n_workers=2)
    print(json.dumps(dict(stages=r.stage_s, blocks=r.n_blocks, partitions=r.n_buckets, oversized=r.n_oversized,
                          lines=r.n_lines, scheduler=r.scheduler, temp=r.temp_bytes_peak)))
'''


def main() -> None:
    args = options(__doc__, "bench-shuffle-dask").parse_args()
    memory, work, env = prepare(args)
    half = f"{memory // 2 // 2**20}M"
    path = work / "lines160.txt"
    make_file(path, 1 << 30, 80, 240, seed=1)
    mb = path.stat().st_size / 1e6
    tmp = work / "tmp"
    tmp.mkdir(exist_ok=True)
    out = work / "out.txt"
    py = sys.executable
    base = [py, "-m", "lib.shuffle", str(path), "-o", str(out), "--tmpdir", str(tmp), "--quiet", "--seed", "1"]
    runs = {
        "local": base + ["--memory", args.memory],
        f"dask 2w {args.memory}": base + ["--memory", args.memory, "--engine", "dask", "--workers", "2"],
        f"dask 2w {half}": base + ["--memory", half, "--engine", "dask", "--workers", "2"],
    }
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {path.name} {mb:.0f} MB; "
          f"{args.reps} paired repetitions; python {sys.version.split()[0]}")
    results = paired(runs, args.reps, out, tmp, env, tree=True)
    print(f"{'run':<13} {'wall s':>7} {'MB/s':>6} {'cpu s':>6} {'user':>6} {'sys':>6} {'RSS sum':>8} "
          f"{'largest':>8} {'temp':>7} {'wall/local':>10} {'cpu/local':>9}  (medians; ratios paired)")
    for name, (med, ratio, cpu_ratio) in summary(results, "local").items():
        print(f"{name:<13} {med['wall']:7.2f} {mb / med['wall']:6.0f} {med['cpu']:6.2f} {med['user']:6.2f} "
              f"{med['sys']:6.2f} {med['rss'] / 2**20:6.0f}Mi {med['rss_max'] / 2**20:6.0f}Mi "
              f"{med['temp'] / 2**20:5.0f}Mi {ratio:10.2f} {cpu_ratio:9.2f}")
    print(walls_line(results))
    r = subprocess.run([py, "-c", STAGES, str(path), str(out), args.memory, str(tmp)], env=env,
                       capture_output=True, text=True, check=True)
    info = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"dask stages at {args.memory} ({info['scheduler']}; {info['blocks']} map tasks, {info['partitions']} "
          f"partitions, {info['oversized']} oversized; map files {info['temp'] / 2**20:.0f} MiB): "
          + ", ".join(f"{k} {v:.2f} s" for k, v in info["stages"].items()))
    out.unlink(missing_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
