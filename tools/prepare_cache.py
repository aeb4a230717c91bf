"""Prepare the notebook execution cache before `jupyter-book build`, truthfully and in parallel.

Jupyter Book's `cache` mode (jupyter-cache) keys a notebook's outputs on its code cells
only: change a function in lib/ and the book would keep showing the old numbers. This
script closes that gap and uses both cores:

1. For each notebook in book/, find the lib modules it imports (``import lib.x``,
   ``from lib import x``, ``from lib.x import ...``), follow lib's own imports transitively,
   and hash those files together with requirements.txt.
2. A cached execution is valid only if it was made with the same dependency hash; stale
   entries are removed. (The hashes live in ``<cache>/lib-deps.json``.)
3. Notebooks with no valid entry are executed in parallel (``--jobs``) and stored in the
   cache, exactly as myst-nb would store them, and their modification time is bumped so that
   Sphinx re-renders their pages. ``jupyter-book build`` then only reads.

A notebook that fails stops the build here with its traceback.

usage: python tools/prepare_cache.py [--jobs N] [--root .] [--list]
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat

TIMEOUT = 300
IMPORT_RE = re.compile(r"^\s*(?:from\s+lib(?:\.(\w+))?(?:\.[\w.]+)?\s+import\s+(.+)|import\s+lib(?:\.(\w+))?)", re.M)


def module_files(root: Path) -> dict[str, list[Path]]:
    """Map each top-level lib module name to its source files (a package maps to all its files)."""
    lib = root / "lib"
    mods: dict[str, list[Path]] = {}
    for p in sorted(lib.glob("*.py")):
        if p.name != "__init__.py":
            mods[p.stem] = [p]
    for d in sorted(lib.iterdir()):
        if d.is_dir() and (d / "__init__.py").exists():
            mods[d.name] = sorted(d.rglob("*.py"))
    return mods


def _python_source(source: str) -> str:
    """Drop IPython-only lines (magics, shell escapes) so that the rest parses as Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def imported_modules(source: str, known: set[str], *, inside_lib: bool = False) -> set[str]:
    """Names of the lib modules a piece of source imports (`import lib` alone means all of them).

    Handles ``import lib.x``, ``from lib import x, y``, ``from lib.x.y import z`` and, inside
    the package (``inside_lib``), relative imports. Source that does not parse (a notebook
    with unusual IPython syntax) falls back to a line-by-line regular expression.
    """
    found: set[str] = set()
    try:
        tree = ast.parse(_python_source(source))
    except SyntaxError:
        for m in IMPORT_RE.finditer(source):
            sub_from, names, sub_import = m.groups()
            if m.group(0).lstrip().startswith("import"):
                found |= {sub_import} if sub_import else set(known)
            elif sub_from:
                found.add(sub_from)
            else:
                found |= set(re.split(r"[,\s()]+", names))
        return found & known
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "lib":
                    found |= {parts[1]} if len(parts) > 1 else set(known)
        elif isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if node.level == 0 and parts[0] == "lib":
                found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
            elif node.level >= 1 and inside_lib:
                found |= {parts[0]} if node.module else {a.name for a in node.names}
    return found & known


def dependency_closure(direct: set[str], mods: dict[str, list[Path]]) -> set[str]:
    seen, todo = set(), list(direct)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for f in mods[name]:
            todo.extend(imported_modules(f.read_text(), set(mods), inside_lib=True) - seen)
    return seen


def dependency_hash(nb_path: Path, root: Path, mods: dict[str, list[Path]]) -> tuple[str, list[str]]:
    nb = nbformat.read(nb_path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    used = sorted(dependency_closure(imported_modules(code, set(mods)), mods))
    h = hashlib.sha256()
    for f in [root / "lib" / "__init__.py", root / "requirements.txt"] + [f for n in used for f in mods[n]]:
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest(), used


def _execute(path: str) -> tuple[str, dict | None, float, str | None]:
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    res = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=TIMEOUT, allow_errors=False, meta_override=True)
    if res.err is not None:
        return path, None, res.time, res.exc_string
    return path, nbformat.writes(res.nb), res.time, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--root", type=Path, default=Path("."))
    ap.add_argument("--list", action="store_true", help="print each notebook's lib dependencies and exit")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs={args.jobs} must be at least 1")
    root = args.root.resolve()

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    notebooks = sorted((root / "book").rglob("*.ipynb"))
    notebooks = [p for p in notebooks if ".ipynb_checkpoints" not in p.parts]
    mods = module_files(root)
    cache_dir = root / "_build" / ".jupyter_cache"
    cache = get_cache(str(cache_dir))
    deps_file = cache_dir / "lib-deps.json"
    deps_by_key: dict[str, str] = json.loads(deps_file.read_text()) if deps_file.exists() else {}

    stale, wanted = [], {}
    for p in notebooks:
        dep_hash, used = dependency_hash(p, root, mods)
        if args.list:
            print(f"{p.relative_to(root)}: {', '.join(used) or '(no lib modules)'}")
            continue
        nb = nbformat.read(p, as_version=4)
        _, key = cache.create_hashed_notebook(nb)
        wanted[str(p)] = (key, dep_hash)
        record = None
        try:
            record = cache.match_cache_notebook(nb)
        except KeyError:
            pass
        if record is not None and deps_by_key.get(key) == dep_hash:
            continue
        if record is not None:
            print(f"prepare_cache: {p.relative_to(root)}: lib changed ({', '.join(used)}); re-executing")
            cache.remove_cache(record.pk)
        stale.append(str(p))
    if args.list:
        return 0
    if not stale:
        print(f"prepare_cache: all {len(notebooks)} notebooks cached and up to date")
        return 0

    print(f"prepare_cache: executing {len(stale)} of {len(notebooks)} notebooks on {args.jobs} workers")
    t0, failures = time.perf_counter(), []
    with ProcessPoolExecutor(max_workers=min(args.jobs, len(stale))) as pool:
        futures = [pool.submit(_execute, p) for p in stale]
        for fut in as_completed(futures):
            path, text, seconds, err = fut.result()
            rel = Path(path).relative_to(root)
            if err is not None:
                failures.append((rel, err))
                print(f"prepare_cache: FAILED {rel} after {seconds:.1f} s")
                continue
            nb = nbformat.reads(text, as_version=4)
            uri = cache.add_nb_to_project(path).uri
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, uri, data={"execution_seconds": seconds}), check_validity=False, overwrite=True
            )
            key, dep_hash = wanted[path]
            deps_by_key[key] = dep_hash
            deps_file.write_text(json.dumps(deps_by_key, indent=1, sort_keys=True))
            # Sphinx re-reads a page only when its source is newer than its last read: mark the
            # notebook as changed so that the page shows the new outputs.
            os.utime(path)
            print(f"prepare_cache: executed {rel} in {seconds:.1f} s")
    print(f"prepare_cache: done in {time.perf_counter() - t0:.1f} s")
    for rel, err in failures:
        print(f"\n=== {rel} failed ===\n{err}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
