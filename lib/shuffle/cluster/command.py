"""``python -m lib.shuffle ... --engine dask [--scheduler ADDRESS] [--workers N]``: the command-line glue.

Same exit statuses as the single-machine command: 0 done; 1 an error (one line, nothing at the
destination); 2 bad arguments; 130/143 interrupted (handled by :mod:`lib.shuffle.__main__`).
"""
from __future__ import annotations

import os
import sys

from ..cli import PROG, fail, progress_bar, run_options, run_reported


def run(args) -> int:
    """Run the parsed arguments of ``python -m lib.shuffle`` on Dask; return the exit status."""
    from . import layout  # noqa: PLC0415

    if args.engine != "dask":
        return fail("--scheduler and --workers need --engine dask", 2)
    if args.scheduler is not None and args.workers is not None:
        return fail("--workers sets the size of a local cluster; it cannot be used with --scheduler", 2)
    if args.workers is not None and args.workers < 1:
        return fail(f"--workers {args.workers}: must be at least 1", 2)
    if args.clean:
        import tempfile  # noqa: PLC0415

        folders = {args.tmpdir or tempfile.gettempdir()}
        if args.output and args.output != "-":
            folders.add(os.path.dirname(os.path.abspath(args.output)))
        removed = [p for d in sorted(folders) for p in layout.remove_leftovers(d)]
        if not args.quiet:
            print(f"{PROG}: removed {len(removed)} leftover temporary file(s) of cluster runs on this host",
                  file=sys.stderr)
        return 0
    if not args.inputs:
        return fail("give at least one INPUT", 2)
    if not args.output:
        return fail("give an output with -o OUTPUT", 2)
    if args.method != "buckets":
        return fail(f"--method {args.method}: the dask engine runs the default method (buckets) only", 2)
    try:
        memory = run_options(args)
    except ValueError as err:
        return fail(str(err), 2)

    from .client import shuffle_file_dask  # noqa: PLC0415

    bar = progress_bar(args.inputs, args.quiet, desc="shuffle (dask)")
    status, report = run_reported(
        lambda: shuffle_file_dask(args.inputs, args.output, memory=memory, seed=args.seed, tmpdir=args.tmpdir,
                                  split=args.split, scheduler=args.scheduler, n_workers=args.workers,
                                  fsync=args.fsync, progress=bar.update if bar is not None else None), bar)
    if status:
        return status
    if not args.quiet:
        for note in report.notes:
            print(f"{PROG}: note: {note}", file=sys.stderr)
    return 0
