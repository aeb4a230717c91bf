"""``python -m lib.shuffle ... --engine dask [--scheduler ADDRESS] [--workers N]``: the command-line glue.

Same exit statuses as the single-machine command: 0 done; 1 an error (one line, nothing at the
destination); 2 bad arguments; 130/143 interrupted (handled by :mod:`lib.shuffle.__main__`).
"""
from __future__ import annotations

import os
import sys

PROG = "python -m lib.shuffle"


def run(args) -> int:
    """Run the parsed arguments of ``python -m lib.shuffle`` on Dask; return the exit status."""
    from .. import files  # noqa: PLC0415
    from . import layout  # noqa: PLC0415

    def fail(message: str, status: int = 1) -> int:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return status

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
        memory = files.parse_size(args.memory)
    except (TypeError, ValueError) as err:
        return fail(f"--memory: {err}", 2)
    if args.split is not None and args.split < 1:
        return fail(f"--split {args.split}: must be at least 1", 2)
    if args.seed is not None and args.seed < 0:
        return fail(f"--seed {args.seed}: must be non-negative", 2)

    from .client import shuffle_file_dask  # noqa: PLC0415

    bar = _progress_bar(args.inputs, args.quiet)
    try:
        report = shuffle_file_dask(args.inputs, args.output, memory=memory, seed=args.seed, tmpdir=args.tmpdir,
                                   split=args.split, scheduler=args.scheduler, n_workers=args.workers,
                                   fsync=args.fsync, progress=bar.update if bar is not None else None)
    except files.ShuffleError as err:
        return fail(str(err))
    except (ValueError, TypeError) as err:
        return fail(str(err), 2)
    except OSError as err:
        return fail(f"{err.strerror or err}{f': {err.filename}' if err.filename else ''}")
    except MemoryError:
        return fail("out of memory: lower --memory")
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        for note in report.notes:
            print(f"{PROG}: note: {note}", file=sys.stderr)
    return 0


def _progress_bar(inputs, quiet: bool):
    """A tqdm bar over bytes read and written (twice the input), only on a terminal."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm  # noqa: PLC0415

    total = 0
    for p in inputs:
        try:
            total += os.path.getsize(p)
        except OSError:
            pass
    return tqdm(total=2 * total or None, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                desc="shuffle (dask)", mininterval=0.5, leave=False)
