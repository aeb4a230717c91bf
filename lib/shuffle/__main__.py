"""The command: ``python -m lib.shuffle INPUT [INPUT ...] -o OUTPUT --memory 2G [options]``.

Exit status: 0 done; 1 an error (message on one line, nothing at the destination); 2 bad
arguments; 130 interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM); 141 the reader of
standard output went away. The error lines and statuses come from :mod:`lib.shuffle.cli`,
shared with ``--engine dask`` (:mod:`lib.shuffle.cluster.command`).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

from .cli import PROG, fail, progress_bar, run_options, run_reported


class _Signalled(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_pending: list[int] = []


def _on_signal(signum, frame):
    # Ignore further signals while we clean up, then unwind the main thread -- unless the
    # outputs are being renamed into place: then finish that first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from .engine import COMMITTING  # noqa: PLC0415

    if COMMITTING.is_set():
        _pending.append(signum)
        return
    raise _Signalled(signum)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Globally shuffle the lines of files far larger than memory (exactly uniform by "
                    "default). Lines are bytes: any byte values pass through; a last line without a "
                    "newline gets one.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="input files, shuffled together ('-' = stdin)")
    p.add_argument("-o", "--output", help="output file ('-' = stdout); may equal an input, like sort -o")
    p.add_argument("-m", "--memory", default="1G",
                   help="memory budget with a binary unit K, M, G, T (2G = 2 GiB; default 1G)")
    p.add_argument("--seed", type=int, help="seed for a reproducible shuffle (default: OS entropy)")
    p.add_argument("--tmpdir", help="folder for temporary files (default $TMPDIR, else the system's)")
    p.add_argument("--method", default="buckets", choices=("buckets", "proportional", "article"),
                   help="buckets (default, uniform), proportional (uniform merge), article (not uniform)")
    p.add_argument("--split", type=int, metavar="K",
                   help="write K files of near-equal line counts: OUT.txt -> OUT-00000-of-0000K.txt, ...")
    p.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="threads (default 2; same output)")
    p.add_argument("--fsync", action="store_true", help="flush the output to disk before renaming it")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no notes")
    p.add_argument("--clean", action="store_true",
                   help="remove the temporary files of killed runs (temp folder, and the output's folder "
                        "with -o), then exit")
    # The cluster engine (lib/shuffle/cluster/): the same shuffle as Dask tasks.
    p.add_argument("--engine", default="local", choices=("local", "dask"),
                   help="local (default: this machine) or dask (a Dask cluster; inputs, output and "
                        "--tmpdir on storage every worker reaches; --tmpdir defaults to the output's folder)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --engine dask: a running Dask scheduler (tcp://host:8786); default: start "
                        "a local cluster")
    p.add_argument("--workers", type=int, metavar="N",
                   help="with --engine dask and no --scheduler: worker processes of the local cluster "
                        "(default: one per core)")
    return p


def main(argv=None) -> int:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        return _main(argv)
    except _Signalled as sig:
        name = "interrupted (SIGINT)" if sig.signum == signal.SIGINT else "terminated (SIGTERM)"
        print(f"{PROG}: error: {name}: nothing written, temporary files removed", file=sys.stderr)
        return 128 + sig.signum


def _main(argv) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from . import engine, files  # noqa: PLC0415

    if args.engine == "dask" or args.scheduler is not None or args.workers is not None:
        from .cluster import command  # noqa: PLC0415

        return command.run(args)
    tmpdir = args.tmpdir or os.environ.get("TMPDIR") or None
    if args.clean:
        import tempfile  # noqa: PLC0415

        removed = files.remove_leftovers(tmpdir or tempfile.gettempdir())
        if args.output and args.output != "-":
            removed += files.remove_leftovers(os.path.dirname(os.path.abspath(args.output)))
        if not args.quiet:
            print(f"{PROG}: removed {len(removed)} leftover temporary file(s)", file=sys.stderr)
        return 0
    if not args.inputs:
        parser.error("give at least one INPUT ('-' for standard input)")
    if not args.output:
        parser.error("give an output with -o OUTPUT ('-' for standard output)")
    try:
        memory = run_options(args)
    except ValueError as err:
        return fail(str(err), 2)

    def run() -> None:
        import tempfile  # noqa: PLC0415

        files.remove_leftovers(tmpdir or tempfile.gettempdir())
        if args.output != "-":
            files.remove_leftovers(os.path.dirname(os.path.abspath(args.output)))
        engine.shuffle_file(args.inputs, args.output, memory=memory, seed=args.seed, tmpdir=tmpdir,
                            method=args.method, split=args.split, jobs=args.jobs, fsync=args.fsync,
                            progress=bar.update if bar is not None else None)

    bar = progress_bar(args.inputs, args.quiet)
    status, _ = run_reported(run, bar, stdout_pipe=True)
    if status:
        return status
    if _pending:
        return fail(f"signal {_pending[0]} arrived while the output was being renamed; the output is "
                    "complete", 128 + _pending[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
