"""A small measured comparison for chapter 8: the engine, GNU ``shuf`` and straightforward Python.

Every tool runs as its own process, so that its wall time, CPU time (user + sys) and peak
resident memory (``ru_maxrss`` from ``wait4``) are its own. Peak memory is also reported above
the same tool's run on an empty file, which removes the interpreter and its imports.
Timings are whatever this machine gives when the page is built; nothing here asserts them.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import baselines

ROOT = Path(__file__).resolve().parents[2]  # the folder holding the ``lib`` package
TOOLS = ("engine", "engine (article)", "shuf", "python (buckets)", "python (article)")


def make_test_file(path, n_lines: int, *, min_len: int = 24, max_len: int = 120, seed: int = 0) -> int:
    """Write ``n_lines`` distinct lines to ``path``; return the number of bytes.

    Line ``i`` is ``i`` zero-padded to 9 digits, a space, then random lowercase letters, with
    total length (newline included) uniform in ``[min_len, max_len]``; so a line's number can be
    read back from its first 9 bytes.
    """
    if isinstance(n_lines, bool) or not isinstance(n_lines, int) or n_lines < 0:
        raise ValueError(f"n_lines={n_lines!r} must be a non-negative int")
    if not (isinstance(min_len, int) and isinstance(max_len, int) and 11 <= min_len <= max_len):
        raise ValueError(f"min_len={min_len!r}, max_len={max_len!r}: need 11 <= min_len <= max_len (ints)")
    if n_lines >= 10**9:
        raise ValueError(f"n_lines={n_lines} must be below 10**9 (9-digit line numbers)")
    if n_lines == 0:
        Path(path).write_bytes(b"")
        return 0
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=n_lines)  # (n,) bytes per line, newline included
    body = rng.integers(97, 123, size=int(lengths.sum()), dtype=np.uint8)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    digits = np.char.zfill(np.arange(n_lines).astype(str), 9).astype("S9").view(np.uint8).reshape(n_lines, 9)
    body[starts[:, None] + np.arange(9)] = digits  # (n, 9)
    body[starts + 9] = ord(" ")
    body[ends - 1] = ord("\n")
    with open(path, "wb") as f:
        f.write(body.tobytes())
    return int(body.size)


def read_line_numbers(path) -> np.ndarray:
    """The line numbers (first 9 bytes) of the lines of a file written by :func:`make_test_file`, in file order."""
    data = Path(path).read_bytes()
    lines = data.split(b"\n")[:-1]
    return np.array([int(line[:9]) for line in lines], dtype=np.int64)


# Fallback when GNU time is missing: a small Python process runs the tool and reports its
# rusage. Its own memory (about 10 MB) then becomes a floor under every peak it reports,
# because Linux carries a process's peak memory across exec.
_LAUNCHER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{time.perf_counter() - t0} {ru.ru_utime} {ru.ru_stime} {ru.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""
GNU_TIME = "/usr/bin/time"


def measuring_tool() -> str:
    """``"gnu-time"`` if ``/usr/bin/time`` (GNU time) is installed, else ``"python-launcher"``."""
    return "gnu-time" if os.access(GNU_TIME, os.X_OK) else "python-launcher"


def run_measured(cmd: list[str], env: dict | None = None, via: str | None = None) -> dict:
    """Run ``cmd``; return its wall time, user + sys CPU time (s) and peak resident memory (bytes).

    The tool is started by a small process that waits for it and reads its resource usage
    (``via``: ``"gnu-time"`` or ``"python-launcher"``; default :func:`measuring_tool`). Started
    directly from this (large) process, the tool's reported peak would include ours: Linux
    keeps the larger of the old and new peak across ``exec``.
    """
    via = via or measuring_tool()
    if via not in ("gnu-time", "python-launcher"):
        raise ValueError(f"via={via!r} must be 'gnu-time' or 'python-launcher'")
    import tempfile  # noqa: PLC0415

    fd, stats_path = tempfile.mkstemp(prefix="rusage-", suffix=".txt")
    os.close(fd)
    try:
        if via == "gnu-time":
            prefix = [GNU_TIME, "-f", "%e %U %S %M", "-o", stats_path]
        else:
            prefix = [sys.executable, "-c", _LAUNCHER, stats_path]
        t0 = time.perf_counter()
        proc = subprocess.run(prefix + cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
        fields = Path(stats_path).read_text().split()[-4:]
    finally:
        os.unlink(stats_path)
    reported_wall, user, sys_s, rss_kb = (float(x) for x in fields)
    if via == "python-launcher":
        wall = reported_wall  # leaves out the launcher's own start-up
    return {"wall_s": wall, "cpu_s": user + sys_s, "peak_rss_bytes": int(rss_kb) * 1024, "via": via}


def tool_command(tool: str, src, dst, memory: int, tmpdir, seed: int = 0) -> list[str]:
    """The command line of ``tool`` (one of :data:`TOOLS`) shuffling ``src`` into ``dst``."""
    py = sys.executable
    src, dst, tmpdir = os.fspath(src), os.fspath(dst), os.fspath(tmpdir)
    if tool in ("engine", "engine (article)"):
        method = ["--method", "article"] if tool == "engine (article)" else []
        return [py, "-m", "lib.shuffle", src, "-o", dst, "--memory", str(memory), "--seed", str(seed),
                "--tmpdir", tmpdir, "--quiet", *method]
    if tool == "shuf":
        return ["shuf", src, "-o", dst]
    if tool in ("python (buckets)", "python (article)"):
        method = "buckets" if tool == "python (buckets)" else "article"
        return [py, baselines.__file__, method, src, "-o", dst, "--memory", str(memory), "--tmpdir", tmpdir,
                "--seed", str(seed)]
    raise ValueError(f"tool={tool!r} must be one of {', '.join(TOOLS)}")


def measure(tools_and_budgets: list[tuple[str, int]], src, workdir, seed: int = 0) -> list[dict]:
    """Run each ``(tool, memory budget in bytes)`` once on ``src``; return one row per run.

    Each row: tool, budget, wall and CPU seconds, peak RSS, the same three for the tool on an
    empty file (its start-up baseline), MB/s, whether the output holds exactly the input's
    lines, and the temporary files left behind.
    Temporary files go to ``workdir``, which must exist; outputs are removed.
    """
    if not tools_and_budgets:
        raise ValueError("tools_and_budgets must list at least one (tool, budget) pair")
    work = Path(workdir)
    if not work.is_dir():
        raise ValueError(f"workdir={os.fspath(workdir)!r} must be an existing folder")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    empty, out = work / "empty.txt", work / "out.txt"
    empty.write_bytes(b"")
    tmp = work / "tmp"
    tmp.mkdir(exist_ok=True)
    baseline = {}
    n_bytes = Path(src).stat().st_size
    want = sorted(Path(src).read_bytes().splitlines())
    rows = []
    for tool, budget in tools_and_budgets:
        if tool not in baseline:
            baseline[tool] = run_measured(tool_command(tool, empty, out, budget, tmp, seed), env)
        base = baseline[tool]
        r = run_measured(tool_command(tool, src, out, budget, tmp, seed), env)
        ok = sorted(out.read_bytes().splitlines()) == want
        out.unlink()
        rows.append({"tool": tool, "budget_bytes": budget, **r, "baseline_rss_bytes": base["peak_rss_bytes"],
                     "baseline_cpu_s": base["cpu_s"], "baseline_wall_s": base["wall_s"],
                     "rss_above_baseline_bytes": r["peak_rss_bytes"] - base["peak_rss_bytes"],
                     "mb_per_s": n_bytes / 1e6 / r["wall_s"], "same_lines": ok,
                     "temp_left": sorted(os.listdir(tmp))})
    empty.unlink()
    shutil.rmtree(tmp, ignore_errors=True)
    return rows
