"""The settings every task of a cluster shuffle shares, and what the tasks have in common.

:class:`Job` is sent with each task (small: strings and ints). Also here: the temporary
names of the outputs, one-line messages for OS errors on a worker, buffers a worker keeps
between the tasks of a stage, numpy's huge pages turned off while a task runs (as the engine
does), and the fault hook the tests use to kill a worker at a chosen point.
"""
from __future__ import annotations

import errno
import functools
import os
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import disk_full_message, split_names, temp_output

PIECE = 1 << 20  # bytes per write() or pwrite() (one write of tens of MiB costs far more CPU)


@dataclass(frozen=True)
class Job:
    """Settings shared by every task of one run (small: sent with each task)."""

    entropy: int  # the seed
    workspace: str  # shared folder for the map files
    partitions: int  # k
    read_bytes: int  # read buffer of a map task
    memory: int  # budget per task (bytes)
    output: str  # the output path as given (absolute)
    n_parts: int  # 1, or K with split
    tag: str  # owner tag of the run (temporary output names)
    n_blocks: int
    fsync: bool = False
    fault: tuple | None = None  # tests only: (stage, index, marker path or None): kill this worker


def os_message(err: OSError, where: str) -> str:
    """One line for an OSError in a task: a full disk names ``where``; others name the file and the worker."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full_message(err, where)
    name = f": {err.filename}" if err.filename else ""
    return f"{err.strerror or err}{name} (on worker {socket.gethostname()!r})"


def fault(job: Job, stage: str, index: int) -> None:
    """Tests only: kill this worker process (SIGKILL) at a chosen point, once or every time."""
    if job.fault is None or job.fault[:2] != (stage, index):
        return
    marker = job.fault[2]
    if marker is not None:
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return
        os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


class _Buffers:
    """Byte buffers kept by a worker between the tasks of one stage of one run.

    Fresh memory costs a page fault per page; reusing buffers saves that system time. Keyed
    by thread (a worker may run several tasks at once); a worker keeps at most what its
    largest task of the current stage needed (within the budget). Dropped when a task of
    another stage or run arrives, and by :func:`release_buffers`, which the client runs on
    every worker at the end.
    """

    def __init__(self):
        self.owner = None  # (run tag, stage)
        self.arrays: dict = {}
        self.lock = threading.Lock()

    def _take(self, job: Job, stage: str, name: str):
        key = (threading.get_ident(), name)
        with self.lock:
            if self.owner != (job.tag, stage):
                self.owner, self.arrays = (job.tag, stage), {}
            return key, self.arrays.pop(key, None)

    def _keep(self, job: Job, stage: str, key, buf) -> None:
        with self.lock:
            if self.owner == (job.tag, stage):
                self.arrays[key] = buf

    def bytes(self, job: Job, stage: str, name: str, size: int) -> bytearray:
        """A bytearray of exactly ``size`` bytes (for :class:`lib.shuffle.files.LineReader`)."""
        key, buf = self._take(job, stage, name)
        if buf is None or len(buf) != size:
            buf = None  # free the old one first
            buf = bytearray(size)
        self._keep(job, stage, key, buf)
        return buf

    def array(self, job: Job, stage: str, name: str, size: int) -> np.ndarray:
        """A uint8 array of ``size`` bytes (uninitialised), over a kept one when that is large enough."""
        key, buf = self._take(job, stage, name)
        if buf is None or buf.size < size:
            buf = None  # free the old one first
            buf = np.empty(size, dtype=np.uint8)
        self._keep(job, stage, key, buf)
        return buf[:size]


BUFFERS = _Buffers()


def release_buffers() -> None:
    """Drop the buffers this worker keeps (run by the client on every worker after a run)."""
    with BUFFERS.lock:
        BUFFERS.owner, BUFFERS.arrays = None, {}


def plain_pages(task):
    """Run ``task`` with numpy's transparent-huge-page advice off (a decorator).

    The engine measured write() from huge-page-backed buffers at 5-8x the CPU time
    (:func:`lib.shuffle.engine._set_numpy_hugepages`).
    """
    @functools.wraps(task)
    def run(*args, **kwargs):
        from .. import engine  # noqa: PLC0415

        toggle = getattr(engine, "_set_numpy_hugepages", None)
        old = toggle(False) if toggle else None
        try:
            return task(*args, **kwargs)
        finally:
            if toggle:
                toggle(old)
    return run


def part_temp(job: Job, j: int) -> Path:
    """Temporary name of output part ``j`` (the output itself when there is one part)."""
    final = job.output if job.n_parts == 1 else _split_names(job.output, job.n_parts)[j]
    return temp_output(final, job.tag)


@functools.lru_cache(maxsize=4)
def _split_names(output: str, parts: int) -> list[Path]:
    return split_names(output, parts)
