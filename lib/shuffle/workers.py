"""Threads and buffers for the shuffle engine: ordered workers, reusable buffers, block reading."""
from __future__ import annotations

import queue
import threading

import numpy as np

from .files import ShuffleError


def rng_for(entropy: int, *key: int) -> np.random.Generator:
    """An independent generator for the step named by ``key`` (no dependence on thread timing)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=key)))


class Aborted(Exception):
    pass


class OrderedWorkers:
    """Run tasks on ``jobs`` threads; the ``emit`` steps run one at a time, in submission order.

    ``submit(compute, emit)``: ``compute()`` runs on any worker, in parallel with others;
    ``emit(result)`` runs on the same worker once every earlier task has emitted. With
    ``jobs=1`` everything runs inline. The first error stops the rest and is re-raised by
    :meth:`drain` or :meth:`submit`.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        self._cond = threading.Condition()
        self._next = 0
        self._submitted = 0
        self._error: BaseException | None = None
        self._slots = threading.Semaphore(jobs)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = []
        if jobs > 1:
            for i in range(jobs):
                t = threading.Thread(target=self._run, name=f"shuffle-worker-{i}", daemon=True)
                t.start()
                self._threads.append(t)

    def check(self) -> None:
        """Re-raise the first error of a worker, if any."""
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            err = self._error
            if isinstance(err, Aborted):
                raise ShuffleError("stopped")
            raise err

    def submit(self, compute, emit) -> None:
        if self.jobs == 1:
            emit(compute())
            return
        self._raise()
        self._slots.acquire()
        self._raise()
        self._queue.put((self._submitted, compute, emit))
        self._submitted += 1

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            index, compute, emit = item
            result = None
            try:
                if self._error is not None:
                    continue
                result = compute()
                with self._cond:
                    while self._next != index and self._error is None:
                        self._cond.wait()
                if self._error is not None:
                    continue
                emit(result)
                with self._cond:
                    self._next += 1
                    self._cond.notify_all()
            except BaseException as err:  # noqa: BLE001 -- handed to the main thread
                with self._cond:
                    if self._error is None:
                        self._error = err
                    self._cond.notify_all()
            finally:
                item = compute = emit = result = None  # drop the task's buffers now
                self._slots.release()

    def drain(self) -> None:
        """Wait until every submitted task has emitted; re-raise the first error."""
        if self.jobs > 1:
            with self._cond:
                while self._next < self._submitted and self._error is None:
                    self._cond.wait()
        self._raise()

    def close(self) -> None:
        """Stop the threads (after the tasks in hand finish their current step)."""
        with self._cond:
            if self._error is None and self._next < self._submitted:
                self._error = Aborted()
            self._cond.notify_all()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()
        self._threads = []


class Scratch:
    """Reusable buffers per thread for one pass (reuse avoids page faults on fresh memory)."""

    def __init__(self):
        self._arrays: dict = {}

    def array(self, name: str, size: int) -> np.ndarray:
        key = (threading.get_ident(), name)
        buf = self._arrays.get(key)
        if buf is None or buf.size < size:
            self._arrays.pop(key, None)
            buf = np.empty(size, dtype=np.uint8)
            self._arrays[key] = buf
        return buf[:size]

    def clear(self) -> None:
        self._arrays.clear()


def read_blocks(readers, block: int, workers: OrderedWorkers, on_read=None):
    """Yield ``(buf, n, whole, reader)`` blocks from ``readers``, reusing ``workers.jobs + 1`` buffers.

    The consumer returns each buffer with ``pool.put(buf)`` once done (yielded first).
    """
    pool: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(workers.jobs + 1):
        pool.put(None)
    yield pool
    for reader in readers:
        while True:
            while True:  # wait for a free buffer, but not for one a failed task will never return
                try:
                    buf = pool.get(timeout=0.5)
                    break
                except queue.Empty:
                    workers.check()
            if buf is None:
                buf = bytearray(block + 1)
            n, whole = reader.read_block(buf)
            if on_read:
                on_read(n)
            if n == 0:
                pool.put(buf)
                break
            yield buf, n, whole, reader
