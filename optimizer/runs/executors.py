"""Where a sweep's solves run: a local process pool, a Dask cluster, or one fresh process per solve.

* :class:`Executors` creates the sweep's executor on first use (a fully cached sweep starts
  none): a :class:`~concurrent.futures.ProcessPoolExecutor` whose workers fork from a server
  that has the runner imported, or a Dask executor on a new LocalCluster or an existing
  scheduler.
* :func:`run_isolated` runs one task in a fresh process of its own.  After a pool worker dies
  (the whole pool breaks and every task in flight fails with it), the runner re-runs each of
  those tasks this way: a death now identifies the scenario that caused it, and the innocent
  ones finish normally.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from optimizer.errors import InputError, OptimizerError, Problem

#: Module every worker process imports before its first task (the runner and its solve function).
PRELOAD = "optimizer.runs.runner"
#: Message a fresh process sends once it has its task, before solving.
_STARTED = "started"

_log = logging.getLogger(__name__)


class WorkerDied(OptimizerError):
    """A fresh process running one task ended without an answer.

    Attributes:
        exitcode: The process's exit code (negative: killed by that signal number).
        started: Whether it had received its task (False: it died while starting).
    """

    def __init__(self, exitcode: int | None, started: bool) -> None:
        self.exitcode = exitcode
        self.started = started
        super().__init__(f"worker process died ({describe_exit(exitcode)})")


def describe_exit(exitcode: int | None) -> str:
    """``signal 9, SIGKILL`` or ``exit code 3`` for a process's exit code."""
    if exitcode is None:
        return "exit code unknown"
    if exitcode < 0:
        try:
            return f"signal {-exitcode}, {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


def exit_with_parent() -> None:
    """Worker initializer: exit as soon as the sweep process is gone (e.g. killed).

    Without it, the workers of a killed sweep would wait for tasks forever.  The
    parent sentinel becomes readable when the parent process ends, even before it is reaped.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _context() -> Any:
    """The forkserver context, its server preloading the runner (workers start fast)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD])
    return context


def _isolated_main(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Body of a fresh process: say it started, run ``fn(*args)``, send the answer."""
    exit_with_parent()
    conn.send(_STARTED)
    conn.send(fn(*args))
    conn.close()


def run_isolated(fn: Callable[..., Any], *args: Any) -> Future:
    """Run ``fn(*args)`` in a fresh process of its own (``fn`` must not raise; it is a module function).

    Args:
        fn: The task function (pickled by reference).
        *args: Its arguments (pickled).

    Returns:
        A future with ``fn``'s answer, or the exception :class:`WorkerDied` (the process ended
        without answering) or whatever starting the process raised.
    """
    future: Future = Future()
    future.set_running_or_notify_cancel()

    def supervise() -> None:
        try:
            context = _context()
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_isolated_main, args=(sender, fn, args), daemon=True,
                                      name="optimizer-isolated-solve")
            process.start()
            sender.close()
            started = False
            with receiver:
                while True:
                    try:
                        message = receiver.recv()
                    except EOFError:
                        break
                    if message == _STARTED and not started:
                        started = True
                        continue
                    process.join()
                    future.set_result(message)
                    return
            process.join()
            future.set_exception(WorkerDied(process.exitcode, started))
        except BaseException as error:  # the future must always end
            future.set_exception(error)

    threading.Thread(target=supervise, name="optimizer-isolated-supervisor", daemon=True).start()
    return future


class Executors:
    """Creates the executor on first use (a fully cached sweep starts none) and shuts it down.

    Attributes:
        workers: Worker processes of the local pool (or of the Dask LocalCluster).
        cluster: ``None`` (process pool), ``"local"`` or a Dask scheduler address.
        executor: The current executor, ``None`` until first used or after a broken pool.
        generation: Counts the executors started (a broken pool is replaced by a new one).
    """

    def __init__(self, workers: int, cluster: str | None) -> None:
        self.workers = workers
        self.cluster = cluster
        self.executor: Executor | None = None
        self.generation = 0
        self._client: Any = None
        self._local: Any = None

    def get(self) -> Executor:
        """The executor, started if needed."""
        if self.executor is None:
            self.executor = self._dask() if self.cluster else self._pool()
            self.generation += 1
        return self.executor

    def processes(self) -> int:
        """How many solves can run at once: worker processes (each solves one scenario at a time).

        Dask workers with several threads still solve one scenario at a time (the runner's
        solve function holds a per-process lock), so threads do not count.
        """
        if self._client is not None and self.cluster != "local":
            return max(len(self._client.nthreads()), 1)
        return self.workers

    def _pool(self) -> Executor:
        """A process pool whose workers fork from a server that has the runner imported."""
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=_context(), initializer=exit_with_parent)

    def _dask(self) -> Executor:
        """A Dask executor on a new LocalCluster or an existing scheduler."""
        from distributed import Client, LocalCluster

        try:
            if self.cluster == "local":
                self._local = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
                self._client = Client(self._local)
            else:
                self._client = Client(self.cluster, timeout="20s")
        except (OSError, TimeoutError, ValueError) as error:
            self.close()
            raise InputError(Problem(str(self.cluster), f"cannot connect to the Dask cluster: {error}",
                                     field="--cluster")) from None
        threads = max(self._client.nthreads().values(), default=1)
        if threads > 1:
            _log.warning("the Dask workers have up to %d threads each, but each worker process solves one scenario "
                         "at a time (the solvers' state is per process); start workers with --nthreads 1 "
                         "(and more of them) to use every core", threads)
        return self._client.get_executor(pure=False)

    def broken(self) -> None:
        """Forget a process pool whose worker died; the next task starts a new one."""
        if isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = None

    def close(self, wait: bool = True) -> None:
        """Shut everything down, cancelling tasks not started.

        Args:
            wait: Wait for pool workers to finish their current task (False when the sweep failed:
                they finish it and exit, or exit with this process).
        """
        if isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=wait, cancel_futures=True)
        elif self.executor is not None:
            self.executor.shutdown(wait=False)  # closing the client below cancels what is left
        self.executor = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._local is not None:
            self._local.close()
            self._local = None
