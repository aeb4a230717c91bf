"""Helpers shared by the shuffle tests (engine, command, cluster); the fixture ``fast_dir`` is in conftest.py."""
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import strategies as st

from lib.shuffle import files

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))  # subprocesses import this worktree's lib


def command(*args, stdin=None, **kw) -> subprocess.CompletedProcess:
    """Run ``python -m lib.shuffle ARGS`` (arguments made str), capturing its output."""
    return subprocess.run([sys.executable, "-m", "lib.shuffle", *map(str, args)], input=stdin, env=ENV,
                          capture_output=True, timeout=300, **kw)


def lines_of(data: bytes) -> list[bytes]:
    """The lines of ``data`` as the shuffle sees them: split after b'\\n', a last one terminated."""
    parts = data.split(b"\n")
    tail = parts.pop()
    return [p + b"\n" for p in parts] + ([tail + b"\n"] if tail else [])


def leftovers(*dirs) -> list[str]:
    """Names in ``dirs`` made by either engine (``lib-shuffle...``, ``lib-shuffle-dask...``)."""
    return [n for d in dirs for n in os.listdir(d) if files.TAG in n]


def input_bytes(short: int, long: tuple[int, int], max_lines: int):
    """A hypothesis strategy for one input file's bytes: up to ``max_lines`` lines of random bytes.

    Each line is short (up to ``short`` bytes) or long (``long`` = (min, max) bytes), newlines
    removed; the last line ends with a newline or not.
    """
    line = st.one_of(st.binary(max_size=short), st.binary(min_size=long[0], max_size=long[1])).map(
        lambda b: b.replace(b"\n", b""))
    return st.tuples(st.lists(line, max_size=max_lines), st.booleans()).map(
        lambda t: b"\n".join(t[0]) + (b"\n" if t[0] and t[1] else b""))
