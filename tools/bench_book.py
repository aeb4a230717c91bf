"""Benchmark the book (prints figures; asserts nothing). Run with `make bench`.

Prints
1. the execution time of each notebook, run alone in a fresh kernel (wall and kernel CPU time);
2. the weight of each page's own HTML (embedded widget state included) and, counted once, the
   shared assets every page loads (_static/);
3. the build time from clean (execution cache empty) and with nothing changed, measured on a
   copy of the working tree so that the real _build/ is left alone.

usage: python tools/bench_book.py [--skip-notebooks] [--skip-build] [--jobs 2]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def time_notebooks() -> None:
    import nbformat
    from nbclient import NotebookClient

    print("== notebook execution, each alone in a fresh kernel (OMP_NUM_THREADS=%s)" % os.environ.get("OMP_NUM_THREADS"))
    print(f"{'notebook':45s} {'wall s':>8s} {'kernel CPU s':>13s}")
    total = 0.0
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        # Last cell reports the kernel's own CPU time (user + sys of the kernel process and children).
        nb.cells.append(nbformat.v4.new_code_cell(
            "import os as _os; _t = _os.times(); print('CPU', _t.user + _t.system + _t.children_user + _t.children_system)"))
        client = NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}})
        t0 = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - t0
        out = nb.cells[-1].outputs[0]["text"]
        cpu = float(out.split()[1])
        total += wall
        print(f"{path.name:45s} {wall:8.1f} {cpu:13.1f}")
    print(f"{'total':45s} {total:8.1f}")


def page_weights(html: Path) -> None:
    print(f"\n== page weights in {html}")
    pages = sorted(p for p in html.rglob("*.html") if not {"_static", "_sources"} & set(p.relative_to(html).parts))
    for p in pages:
        print(f"{str(p.relative_to(html)):45s} {p.stat().st_size / 1e6:8.3f} MB")
    static = sum(f.stat().st_size for f in (html / "_static").rglob("*") if f.is_file())
    images = sum(f.stat().st_size for f in (html / "_images").rglob("*") if f.is_file()) if (html / "_images").exists() else 0
    print(f"{'shared _static/ (counted once)':45s} {static / 1e6:8.3f} MB")
    print(f"{'static figures _images/ (all pages)':45s} {images / 1e6:8.3f} MB")


def run(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return time.perf_counter() - t0


def time_builds(jobs: int) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    tmp = Path(tempfile.mkdtemp(prefix="bench-book-"))
    for f in files:
        if (ROOT / f).is_file():
            (tmp / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, tmp / f)
    (tmp / "_vendor").symlink_to(ROOT / "_vendor")
    py = sys.executable
    jb = str(Path(py).parent / "jupyter-book")
    env_note = f"PYTHONPATH={os.environ.get('PYTHONPATH')}"
    build = [py, "-c", (
        "import subprocess, sys; "
        f"subprocess.run([{py!r}, 'tools/prepare_cache.py', '--jobs', '{jobs}'], check=True); "
        f"subprocess.run([{jb!r}, 'build', '-W', '-n', '--keep-going', '.'], check=True)")]
    os.environ["PYTHONPATH"] = str(tmp)
    print(f"\n== build times (copy of the tree in {tmp}; {env_note} -> {tmp})")
    clean = run(build, tmp)
    print(f"{'from clean (execute all, then Sphinx)':45s} {clean:8.1f} s")
    again = run(build, tmp)
    print(f"{'again, nothing changed (cache + Sphinx)':45s} {again:8.1f} s")
    t0 = time.perf_counter()
    subprocess.run(["make", "-q", "_build/html/.built"], cwd=ROOT)
    print(f"{'`make book` up to date (stamp check only)':45s} {time.perf_counter() - t0:8.2f} s")
    return tmp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-notebooks", action="store_true")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    if not args.skip_notebooks:
        time_notebooks()
    html = ROOT / "_build" / "html"
    tmp = None
    if not args.skip_build:
        tmp = time_builds(args.jobs)
        html = tmp / "_build" / "html"
    if html.exists():
        page_weights(html)
    else:
        print("\n(no built site for page weights: run `make book`)")
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
