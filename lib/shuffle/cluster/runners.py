"""Where the tasks of a cluster shuffle run: a Dask cluster through a Client, or a local Dask scheduler.

A runner has ``run(fn, job, items)`` (a task per item, results in order), ``run_sum`` (the
same, with the results added up on the workers by a tree of small tasks, so that the
client never holds one array per map task), ``release`` (cancel what is pending) and
``close``. :func:`make_runner` picks one: a ``distributed.Client``, a scheduler's address, a
local scheduler's name (``"synchronous"``, ``"threads"``; also taken from ``dask.config``), or
a new local cluster of single-threaded worker processes.
"""
from __future__ import annotations

import logging
import os

from ..files import ShuffleError
from .job import release_buffers
from .mapper import sum_results

WORKER_OVERHEAD = 256 << 20  # memory a local cluster's worker gets beyond 1.25 x the budget
FAN_IN = 16  # map results added per task of the totalling tree
LOCAL_SCHEDULERS = ("sync", "synchronous", "single-threaded", "threads", "threading", "processes",
                    "multiprocessing")


class _LocalRunner:
    """Dask's in-process schedulers (``synchronous``, ``threads``, ...): no cluster."""

    def __init__(self, name: str):
        self.name = name
        self.n_workers = 0

    def run(self, fn, job, items, weights=None, progress=None, label="") -> list:
        import dask  # noqa: PLC0415

        tasks = [dask.delayed(fn, pure=False)(job, *item) for item in items]
        results = list(dask.compute(*tasks, scheduler=self.name)) if tasks else []
        if progress and weights:
            progress(sum(weights))
        return results

    def run_sum(self, fn, job, items, weights=None, progress=None, label=""):
        return sum_results(*self.run(fn, job, items, weights, progress, label))

    def release(self) -> None:
        pass

    def close(self) -> None:
        release_buffers()


class _ClientRunner:
    """A distributed cluster through a ``distributed.Client``."""

    def __init__(self, client, cluster=None, tag: str = "", own: bool = False):
        self.client, self.cluster, self.tag, self.own = client, cluster, tag, own
        self.pending: list = []
        info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
        self.workers = info.get("workers", {})
        self.n_workers = len(self.workers)

    def _submit(self, fn, job, items, label):
        if not items:
            return []
        keys = [f"lib-shuffle-{label}-{i}-{self.tag}" for i in range(len(items))]
        futures = self.client.map(fn, [job] * len(items), *map(list, zip(*items)), key=keys, pure=False)
        self.pending.extend(futures)
        return futures

    def _wait(self, futures, weights, progress) -> None:
        from distributed import as_completed  # noqa: PLC0415

        weight = dict(zip((f.key for f in futures), weights or [0] * len(futures)))
        for f in as_completed(futures, loop=self.client.loop):
            if f.status != "finished":
                f.result()  # raises the task's error
            if progress:
                progress(weight[f.key])

    def run(self, fn, job, items, weights=None, progress=None, label="task") -> list:
        futures = self._submit(fn, job, items, label)
        self._wait(futures, weights, progress)
        results = self.client.gather(futures) if futures else []
        self.release()
        return results

    def run_sum(self, fn, job, items, weights=None, progress=None, label="task"):
        """Run ``fn`` over ``items`` and add up the results on the workers (a tree of ``FAN_IN``)."""
        futures = self._submit(fn, job, items, label)
        level, depth = futures, 0
        while len(level) > 1:
            depth += 1
            level = [self.client.submit(sum_results, *level[j:j + FAN_IN], pure=False,
                                        key=f"lib-shuffle-{label}-sum{depth}-{j}-{self.tag}")
                     for j in range(0, len(level), FAN_IN)]
            self.pending.extend(level)
        self._wait(futures, weights, progress)
        result = level[0].result()
        self.release()
        return result

    def release(self) -> None:
        """Cancel whatever is still pending (after an error or an interruption) and forget it."""
        if self.pending:
            try:
                self.client.cancel(self.pending)
            except Exception:  # noqa: BLE001 -- a closing client; nothing left to cancel
                pass
        self.pending = []

    def close(self) -> None:
        self.release()
        if self.cluster is None:  # a cluster that outlives this run: let its workers drop our buffers
            try:
                self.client.run(release_buffers)
            except Exception:  # noqa: BLE001 -- a worker gone, or the client closing: nothing to free
                pass
        if self.own:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _takes_n_workers(client) -> bool:
    import inspect  # noqa: PLC0415

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


def make_runner(scheduler, n_workers: int | None, memory: int, tag: str):
    """The runner for ``scheduler``: a Client, an address, a local scheduler's name, or None."""
    import dask  # noqa: PLC0415

    if scheduler is None:
        configured = dask.config.get("scheduler", None)
        if isinstance(configured, str) and configured in LOCAL_SCHEDULERS:
            return _LocalRunner(configured), configured
    if isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS:
        return _LocalRunner(scheduler), scheduler
    from distributed import Client, LocalCluster  # noqa: PLC0415

    if isinstance(scheduler, Client):
        return _ClientRunner(scheduler, tag=tag), str(scheduler.scheduler.address)
    if isinstance(scheduler, str):
        try:
            client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise ShuffleError(f"cannot reach the Dask scheduler at {scheduler!r}: {err}") from None
        return _ClientRunner(client, tag=tag, own=True), scheduler
    workers = n_workers or os.cpu_count() or 1
    # Task results are small summaries: nothing to spill. The nanny still restarts a worker
    # that passes 95 % of its memory limit (and the scheduler reruns its task).
    with dask.config.set({"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, memory_limit=memory * 5 // 4 + WORKER_OVERHEAD)
    client = Client(cluster, set_as_default=False)
    return _ClientRunner(client, cluster, tag=tag, own=True), f"local cluster ({workers} workers)"


def translate(err: BaseException) -> BaseException:
    """A worker that died too often becomes a one-line ShuffleError; other errors pass unchanged."""
    try:
        from distributed import KilledWorker  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return err
    if isinstance(err, KilledWorker):
        return ShuffleError(f"a Dask worker died while running {err.task!r} (out of memory or killed), "
                            "as often as the scheduler allows; nothing written")
    return err


def memory_notes(runner, budget: int) -> list[str]:
    """Warn when a worker's memory limit per thread is below the budget plus a little overhead."""
    notes = []
    for address, w in getattr(runner, "workers", {}).items():
        limit, threads = w.get("memory_limit") or 0, max(1, w.get("nthreads") or 1)
        if limit and limit / threads < budget + (64 << 20):
            notes.append(f"worker {address}: memory limit {limit / 2**20:.0f} MiB for {threads} thread(s) "
                         f"is below --memory {budget / 2**20:.0f} MiB per task plus overhead; lower --memory")
    return notes
