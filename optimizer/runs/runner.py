"""Run many scenarios: cache look-ups, a process pool or a Dask cluster, and the run store.

For each scenario, in the parent process: build its network (base dataset plus
overrides), hash its full input (:func:`optimizer.runs.scenario.input_hash`, which
covers the solver options), and look the hash up in the store.  A hit is
reported with ``cached=True`` and nothing is solved.  A miss sends the built
network to an executor, where :func:`solve_task` solves it with one solver
thread; the parent stores each result as soon as it arrives, so a sweep killed
part-way keeps every run it finished.

Executors:

* a local process pool (:class:`concurrent.futures.ProcessPoolExecutor`, one
  single-threaded solve per worker process);
* Dask (``dask.distributed``): ``cluster="local"`` starts a LocalCluster of
  single-threaded worker processes; ``cluster="tcp://host:port"`` (any Dask
  address) uses an existing scheduler, whose workers need this package
  installed and should run one thread each (``dask worker --nthreads 1``).

Workers receive the built network, not file paths, so remote workers need no
access to the dataset files.  Since every solve is single-threaded and
deterministic, results do not depend on the executor.

A scenario that fails (a bad override, an infeasible network, a solver error,
a plan the checker rejects, a worker process that dies) is stored with status
``infeasible``/``no_solution``/``error`` and its message; the sweep goes on.

Test hook: with the environment variable ``OPTIMIZER_TEST_KILL_AFTER=n`` the
parent process kills itself with SIGKILL right after storing its n-th run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any

from tqdm import tqdm

import optimizer
from optimizer import api
from optimizer.errors import InputError, OptimizerError, Problem
from optimizer.network import Network
from optimizer.runs.scenario import Scenario, build_network, input_hash
from optimizer.runs.store import RunRecord, RunStore

#: Options every sweep solve uses (part of the input hash): one solver thread per worker.
SOLVER_OPTIONS: dict[str, Any] = {"threads": 1}
#: Environment variable of the kill hook (see the module docstring).
KILL_AFTER_ENV = "OPTIMIZER_TEST_KILL_AFTER"
#: Statuses of runs that produced a plan.
PLAN_STATUSES = ("optimal", "feasible")
#: Tasks kept in flight per worker (the rest are built only when a slot frees up).
IN_FLIGHT_PER_WORKER = 2


class RunnerError(OptimizerError):
    """The sweep cannot go on (its executor does not work)."""


@dataclass
class RunReport:
    """The outcome of one scenario of a sweep.

    Attributes:
        record: The stored run (for a cache hit, the stored run that was reused).
        cached: True when the run came from the store without solving.
    """

    record: RunRecord
    cached: bool

    @property
    def ok(self) -> bool:
        """True when the run produced a plan."""
        return self.record.status in PLAN_STATUSES

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines object printed by ``optimizer run --json``."""
        rec = self.record
        return {
            "sweep": rec.sweep, "scenario": rec.scenario, "status": rec.status, "objective": rec.objective,
            "bound": rec.bound, "gap": rec.gap, "costs": rec.costs, "open_sites": rec.open_sites,
            "kpis": rec.kpis, "build_seconds": rec.build_seconds, "solve_seconds": rec.solve_seconds,
            "cached": self.cached, "run_id": rec.run_id, "inputs_hash": rec.inputs_hash, "error": rec.error,
            "software_version": rec.software_version,
        }


@dataclass
class _Task:
    """A scenario whose network is built and whose result is not in the store."""

    index: int
    scenario: Scenario
    network: Network
    inputs_hash: str
    generation: int = 0


def _error_outcome(message: str | None) -> dict[str, Any]:
    """Outcome fields of a run without a result (status ``error``), to be filled in by a solve."""
    return {"status": "error", "objective": None, "bound": None, "gap": None, "costs": {}, "open_sites": [],
            "flows": [], "kpis": {}, "build_seconds": 0.0, "solve_seconds": 0.0,
            "software_version": optimizer.__version__, "error": message}


def solve_task(network: Network, options: dict[str, Any]) -> dict[str, Any]:
    """Solve one network in a worker and return the run's outcome fields.

    Never raises: an exception becomes status ``error`` with its message.

    Args:
        network: The scenario's network.
        options: Keyword arguments of :func:`optimizer.api.solve` (e.g. ``threads``).

    Returns:
        The RunRecord fields status, objective, bound, gap, costs, open_sites,
        flows, kpis, build_seconds, solve_seconds, software_version and error.
    """
    outcome = _error_outcome(None)
    try:
        result = api.solve(network, **options)
        doc = result.to_dict()
    except Exception as error:  # a failing scenario must not stop the sweep
        outcome["error"] = f"{type(error).__name__}: {error}" if not isinstance(error, OptimizerError) else str(error)
        return outcome
    outcome.update(
        status=doc["status"], objective=doc["objective"], bound=doc["bound"], gap=doc["gap"], costs=doc["costs"],
        open_sites=doc["open_sites"], flows=doc["flows"], kpis=doc.get("kpis") or {},
        build_seconds=doc["build_seconds"], solve_seconds=doc["solve_seconds"],
    )
    if result.check is not None and not result.check.ok:
        outcome["status"] = "error"
        outcome["error"] = "the independent checker rejected the plan: " + "; ".join(result.check.violations)
    elif not result.has_plan:
        outcome["error"] = "; ".join(result.messages) or None
    return outcome


def _exit_with_parent() -> None:
    """Pool worker initializer: exit as soon as the sweep process is gone (e.g. killed).

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


def _definition_hash(definition: dict[str, Any]) -> str:
    """A hash of a scenario definition, for runs that failed before their input could be hashed."""
    return hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode()).hexdigest()


def _record(scenario: Scenario, digest: str, outcome: dict[str, Any]) -> RunRecord:
    """A RunRecord for ``scenario`` from a worker's (or an error's) outcome fields."""
    return RunRecord(sweep=scenario.sweep, scenario=scenario.name, inputs_hash=digest,
                     definition=scenario.definition(), **outcome)


class _Executors:
    """Creates the executor on first use (a fully cached sweep starts none) and shuts it down."""

    def __init__(self, workers: int, cluster: str | None) -> None:
        self.workers = workers
        self.cluster = cluster
        self.executor: Executor | None = None
        self.generation = 0  # counts the executors started (a broken pool is replaced by a new one)
        self.proven: set[int] = set()  # generations that finished at least one task
        self._client: Any = None
        self._local: Any = None

    def get(self) -> Executor:
        """The executor, started if needed."""
        if self.executor is None:
            self.executor = self._dask() if self.cluster else self._pool()
            self.generation += 1
        return self.executor

    @property
    def slots(self) -> int:
        """How many tasks to keep in flight."""
        if self._client is not None and self.cluster != "local":
            threads = sum(self._client.nthreads().values())
            return IN_FLIGHT_PER_WORKER * max(threads, 1)
        return IN_FLIGHT_PER_WORKER * self.workers

    def _pool(self) -> Executor:
        """A process pool whose workers fork from a server that has this module imported."""
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["optimizer.runs.runner"])
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                   initializer=_exit_with_parent)

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


def run_sweep(
    scenarios: Sequence[Scenario],
    store: RunStore,
    *,
    workers: int | None = None,
    cluster: str | None = None,
    force: bool = False,
    progress: bool = True,
    on_result: Callable[[RunReport], None] | None = None,
) -> list[RunReport]:
    """Run every scenario (or take it from the store) and store each new run.

    Args:
        scenarios: The scenarios, e.g. from :func:`optimizer.runs.sweep.load_sweep`.
        store: Where runs are looked up and stored.
        workers: Worker processes (default: ``os.cpu_count()``); with
            ``cluster="local"`` the number of Dask workers.
        cluster: ``None`` for the local process pool, ``"local"`` for a Dask
            LocalCluster, or a Dask scheduler address such as ``tcp://host:8786``.
        force: Solve every scenario even when the store has its result.
        progress: Show a progress bar on stderr (only when stderr is a terminal).
        on_result: Called with each report as soon as it is stored (completion order).

    Returns:
        One report per scenario, in the order of ``scenarios``.

    Raises:
        InputError: The Dask cluster cannot be reached.
        StoreError: The store refused a write (the runs stored before remain).
        RunnerError: The pool's worker processes die before finishing any scenario.
    """
    sweep = _Sweep(store, _Executors(max(1, workers or os.cpu_count() or 1), cluster), force, on_result,
                   tqdm(total=len(scenarios), desc="runs", unit="run", file=sys.stderr,
                        disable=not (progress and sys.stderr.isatty())))
    try:
        sweep.run(scenarios)
    except BaseException:
        sweep.executors.close(wait=False)
        raise
    finally:
        sweep.executors.close()
        sweep.bar.close()
    return [sweep.reports[i] for i in range(len(scenarios))]


class _Sweep:
    """The state of one :func:`run_sweep` call: tasks in flight, duplicates waiting, reports."""

    def __init__(self, store: RunStore, executors: _Executors, force: bool,
                 on_result: Callable[[RunReport], None] | None, bar: tqdm) -> None:
        self.store = store
        self.executors = executors
        self.force = force
        self.on_result = on_result
        self.bar = bar
        self.reports: dict[int, RunReport] = {}
        self.pending: dict[Future, _Task] = {}
        self.duplicates: dict[str, list[tuple[int, Scenario]]] = {}  # inputs hash in flight -> same-input scenarios
        self.stored = 0
        self.kill_after = int(os.environ.get(KILL_AFTER_ENV, "0") or 0)

    def finish(self, index: int, report: RunReport, save: bool) -> None:
        """Store (if new) and report one run."""
        if save:
            self.store.save(report.record)
            self.stored += 1
            if self.kill_after and self.stored == self.kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        self.reports[index] = report
        self.bar.update(1)
        if self.on_result is not None:
            self.on_result(report)

    def run(self, scenarios: Sequence[Scenario]) -> None:
        """Run every scenario: submit tasks as slots free up and store results as they arrive."""
        queue = self.prepare(scenarios)
        self.fill(queue)
        while self.pending:
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            broken: set[int] = set()
            for future in sorted(done, key=lambda f: self.pending[f].index):
                task = self.pending.pop(future)
                try:
                    outcome = future.result()
                    self.executors.proven.add(task.generation)
                except BrokenProcessPool:
                    if task.generation not in self.executors.proven:
                        raise RunnerError(
                            "the worker processes died before finishing any scenario; a script that calls "
                            "run_sweep must guard it with `if __name__ == \"__main__\":`") from None
                    broken.add(task.generation)
                    outcome = _error_outcome("the worker process died while solving this scenario")
                except Exception as error:  # the executor lost the task (e.g. a Dask worker died)
                    outcome = _error_outcome(f"the executor failed on this scenario: {type(error).__name__}: {error}")
                record = _record(task.scenario, task.inputs_hash, outcome)
                self.finish(task.index, RunReport(record, cached=False), save=True)
                for index, scenario in self.duplicates.pop(task.inputs_hash, []):
                    self.finish(index, RunReport(_reuse(record, scenario), cached=record.status != "error"), True)
            if self.executors.generation in broken:
                self.executors.broken()
            self.fill(queue)

    def prepare(self, scenarios: Sequence[Scenario]) -> Iterator[_Task]:
        """Yield the scenarios that need solving; report cache hits and build failures on the way.

        A scenario whose input equals one in flight waits for that run and reuses it.
        """
        for index, scenario in enumerate(scenarios):
            try:
                network = build_network(scenario)
                digest = input_hash(scenario, network, SOLVER_OPTIONS)
            except Exception as error:  # a bad scenario is recorded, the sweep goes on
                message = str(error) if isinstance(error, OptimizerError) else f"{type(error).__name__}: {error}"
                record = _record(scenario, _definition_hash(scenario.definition()), _error_outcome(message))
                self.finish(index, RunReport(record, cached=False), True)
                continue
            if digest in self.duplicates:
                self.duplicates[digest].append((index, scenario))
                continue
            hit = None if self.force else self.store.get(digest)
            if hit is None or hit.status == "error":
                self.duplicates[digest] = []
                yield _Task(index, scenario, network, digest)
            elif (hit.sweep, hit.scenario) == (scenario.sweep, scenario.name):
                self.finish(index, RunReport(hit, cached=True), False)
            else:  # same input under another name: store it under this one too, without solving
                self.finish(index, RunReport(_reuse(hit, scenario), cached=True), True)

    def fill(self, queue: Iterator[_Task]) -> None:
        """Submit tasks until the executor has its share in flight or the queue is empty."""
        while len(self.pending) < self.executors.slots:
            task = next(queue, None)
            if task is None:
                return
            future = self.executors.get().submit(solve_task, task.network, dict(SOLVER_OPTIONS))
            task.generation = self.executors.generation
            self.pending[future] = task


def _reuse(record: RunRecord, scenario: Scenario) -> RunRecord:
    """A copy of a run for another scenario with the same input (stored without solving)."""
    return replace(record, sweep=scenario.sweep, scenario=scenario.name, definition=scenario.definition(),
                   flows=list(record.flows), run_id=None, created_at=None)
