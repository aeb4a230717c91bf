"""Straightforward pure-Python external shuffles, the baselines of chapter 8's measured comparison.

Run as a script (standard library only, so its memory is Python's own, with no numpy)::

    python lib/shuffle/baselines.py {article,buckets} INPUT [INPUT ...] -o OUTPUT --memory BYTES [--tmpdir DIR] [--seed N]
                                    [--fill F]

``article``: the article's method as its reference script does it (§6, described there; this
is our own code): cut the input into chunks of ``n`` consecutive lines, shuffle each with
``random.shuffle`` and write it to a temporary file; then open every chunk file and, ``n``
times, read one line from each file in a fresh random order. Not uniform (§4), and a short
last chunk lands at the front (§5).

``buckets``: the random-bucket method, line by line: append every line to one of ``k`` bucket
files chosen by ``random.randrange``, then read each bucket, ``random.shuffle`` it, write it.
Exactly uniform (§9.4).

Both size their chunks from ``--memory`` with the cost of a Python ``bytes`` line (its length
plus 41 bytes, §9.5), add a newline to an unterminated last line, and remove their temporary
files. Neither is the engine: they are the "straightforward Python version" it is timed against.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import tempfile

OVERHEAD = 41  # bytes of a Python bytes object plus its list slot, beyond the line itself (CPython 3.11)


def mean_line_bytes(path: str, sample: int = 1 << 16) -> float:
    """Mean line length (newline included) in the first ``sample`` bytes of ``path``."""
    with open(path, "rb") as f:
        data = f.read(sample)
    return max(1.0, len(data) / max(1, data.count(b"\n")))


def _check(inputs, memory) -> list[str]:
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    inputs = [os.fspath(p) for p in inputs]
    if not inputs:
        raise ValueError("inputs must name at least one file")
    if isinstance(memory, bool) or not isinstance(memory, int) or memory <= 0:
        raise ValueError(f"memory={memory!r} must be a positive int (bytes)")
    return inputs


def _lines(inputs):
    for path in inputs:
        with open(path, "rb") as f:
            for line in f:
                yield line if line.endswith(b"\n") else line + b"\n"


def article_script(inputs, output: str, memory: int, tmpdir: str | None = None, seed: int = 0) -> int:
    """The article's method, line by line (see the module docstring). Returns the number of chunks."""
    inputs = _check(inputs, memory)
    rng = random.Random(seed)
    n = max(1, math.floor(memory / (mean_line_bytes(inputs[0]) + OVERHEAD)))
    work = tempfile.mkdtemp(prefix="article-", dir=tmpdir)
    try:
        names, chunk = [], []

        def flush():
            rng.shuffle(chunk)
            names.append(os.path.join(work, f"{len(names):05d}"))
            with open(names[-1], "wb") as f:
                f.writelines(chunk)
            chunk.clear()

        for line in _lines(inputs):
            chunk.append(line)
            if len(chunk) == n:
                flush()
        if chunk:
            flush()
        files = [open(p, "rb") for p in names]
        try:
            with open(output + ".part", "wb") as out:
                for _ in range(n):
                    rng.shuffle(files)
                    for f in files:
                        line = f.readline()
                        if line:
                            out.write(line)
        finally:
            for f in files:
                f.close()
        os.replace(output + ".part", output)
        return len(names)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bucket_script(inputs, output: str, memory: int, tmpdir: str | None = None, seed: int = 0,
                  fill: float = 0.5) -> int:
    """The random-bucket method, line by line (see the module docstring). Returns the number of buckets."""
    inputs = _check(inputs, memory)
    rng = random.Random(seed)
    size = sum(os.path.getsize(p) for p in inputs)
    mean = mean_line_bytes(inputs[0])
    k = max(1, math.ceil(size * (1 + OVERHEAD / mean) / (fill * memory)))
    work = tempfile.mkdtemp(prefix="buckets-", dir=tmpdir)
    try:
        names = [os.path.join(work, f"{b:05d}") for b in range(k)]
        buckets = [open(p, "wb") for p in names]
        try:
            for line in _lines(inputs):
                buckets[rng.randrange(k)].write(line)
        finally:
            for f in buckets:
                f.close()
        with open(output + ".part", "wb") as out:
            for p in names:
                with open(p, "rb") as f:
                    lines = f.readlines()
                os.remove(p)
                rng.shuffle(lines)
                out.writelines(lines)
                del lines
        os.replace(output + ".part", output)
        return k
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Straightforward pure-Python external shuffles (chapter 8 baselines).")
    ap.add_argument("method", choices=("article", "buckets"))
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--memory", type=int, required=True, help="memory budget in bytes")
    ap.add_argument("--tmpdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fill", type=float, default=0.5,
                    help="buckets only: the share of --memory a bucket is sized to fill on average (default 0.5)")
    args = ap.parse_args(argv)
    if args.memory <= 0:
        ap.error(f"--memory {args.memory}: must be positive")
    if not 0 < args.fill <= 1:
        ap.error(f"--fill {args.fill}: must be in (0, 1]")
    if args.method == "article":
        article_script(args.inputs, args.output, args.memory, args.tmpdir, args.seed)
    else:
        bucket_script(args.inputs, args.output, args.memory, args.tmpdir, args.seed, fill=args.fill)
    return 0


if __name__ == "__main__":
    sys.exit(main())
