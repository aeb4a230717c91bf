"""What both engines' command lines share: one-line errors, exit statuses, the progress bar.

Used by :mod:`lib.shuffle.__main__` (the single-machine engine) and
:mod:`lib.shuffle.cluster.command` (``--engine dask``), so that the two report the same
failures the same way: one line on stderr, no traceback, exit status 1 for an error of the run
and 2 for bad arguments (chapter 8's README, "Exit status").
"""
from __future__ import annotations

import os
import signal
import sys

from .files import ShuffleError, parse_size

PROG = "python -m lib.shuffle"


def fail(message: str, status: int = 1) -> int:
    """Print ``PROG: error: message`` on stderr; return ``status``."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def run_options(args) -> int:
    """Check ``--memory``, ``--split`` and ``--seed`` of parsed arguments; return the budget in bytes.

    Raises ValueError with the one-line message for the command (exit status 2).
    """
    try:
        memory = parse_size(args.memory)
    except (TypeError, ValueError) as err:
        raise ValueError(f"--memory: {err}") from None
    if args.split is not None and args.split < 1:
        raise ValueError(f"--split {args.split}: must be at least 1")
    if args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed {args.seed}: must be non-negative")
    return memory


def progress_bar(inputs, quiet: bool, desc: str = "shuffle"):
    """A tqdm bar over the bytes read and written (twice the inputs' size), only on a terminal; else None."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm  # noqa: PLC0415 -- only on a terminal

    total = 0
    for p in inputs:
        try:
            total += os.path.getsize(p) if p != "-" else 0
        except OSError:
            pass
    return tqdm(total=2 * total or None, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                desc=desc, mininterval=0.5, leave=False)


def run_reported(call, bar=None, *, stdout_pipe: bool = False) -> tuple[int, object]:
    """Run ``call()``; return ``(exit status, its result)``, the status 0 or that of a reported failure.

    ShuffleError, OSError and MemoryError become one line on stderr and status 1; ValueError
    and TypeError (bad arguments) status 2. With ``stdout_pipe`` (the output may be standard
    output), BrokenPipeError means the reader went away: status 141, nothing printed. Other
    exceptions propagate (the signals are :mod:`lib.shuffle.__main__`'s). The progress ``bar``
    is closed in every case.
    """
    try:
        return 0, call()
    except ShuffleError as err:
        return fail(str(err)), None
    except (ValueError, TypeError) as err:
        return fail(str(err), 2), None
    except OSError as err:
        if stdout_pipe and isinstance(err, BrokenPipeError):
            sys.stdout = None  # do not flush into the closed pipe at exit
            return 128 + signal.SIGPIPE, None
        return fail(f"{err.strerror or err}{f': {err.filename}' if err.filename else ''}"), None
    except MemoryError:
        return fail("out of memory: lower --memory"), None
    finally:
        if bar is not None:
            bar.close()
