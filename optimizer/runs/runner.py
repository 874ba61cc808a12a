"""Run many scenarios: cache look-ups, claims, a process pool or a Dask cluster, and the run store.

For each scenario, in the parent process: build its network (base dataset plus
overrides), compute its cache key (:func:`optimizer.runs.cache.run_key`: the input
hash of :func:`optimizer.runs.scenario.input_hash`, which covers the solver options,
plus the solver and library versions), and look the key up in the store.  A final
run is reported with ``cached=True`` and nothing is solved; a run cut short by a
time limit or an interruption is solved again unless ``reuse_limited``
(:func:`optimizer.runs.cache.is_final`).  A miss is claimed in the store
(:meth:`~optimizer.runs.store.RunStore.claim`), so that two sweeps started at once
on one store solve it once: the second waits for the first's result and reuses it.
The claimed network goes to an executor, where :func:`solve_task` solves it with one
solver thread; the parent stores each result as soon as it arrives (releasing the
claim in the same transaction), so a sweep killed part-way keeps every run it finished.

Executors (:mod:`optimizer.runs.executors`):

* a local process pool (one single-threaded solve per worker process);
* Dask (``dask.distributed``): ``cluster="local"`` starts a LocalCluster of
  single-threaded worker processes; ``cluster="tcp://host:port"`` (any Dask
  address) uses an existing scheduler, whose workers need this package
  installed.  A Dask worker with several threads still solves one scenario at a
  time: :func:`solve_task` holds a per-process lock, because the solvers' global
  state (HiGHS's thread scheduler) and the redirection of standard output are
  process-wide.

Workers receive the built network, not file paths, so remote workers need no
access to the dataset files.  Since every solve is single-threaded and
deterministic, results do not depend on the executor.

A scenario that fails (a bad override, an infeasible network, a solver error,
a plan the checker rejects) is stored with status ``infeasible``/``no_solution``/
``error`` and its message; the sweep goes on.  When a pool worker process dies,
every scenario in flight on that pool fails with it: each is run again in a fresh
process of its own, so only the scenario that kills its process again is stored as
an error ("worker process died (signal 9, SIGKILL) while solving this scenario").
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any

from tqdm import tqdm

from optimizer import api
from optimizer.errors import OptimizerError
from optimizer.network import Network
from optimizer.report.tables import currency
from optimizer.runs import cache
from optimizer.runs.executors import Executors, WorkerDied, describe_exit, run_isolated
from optimizer.runs.scenario import Scenario, build_network, input_hash
from optimizer.runs.store import Claimant, RunRecord, RunStore, StoreError

#: Options every sweep solve uses (part of the input hash): one solver thread per worker.
SOLVER_OPTIONS: dict[str, Any] = {"threads": 1}
#: Statuses of runs that produced a plan.
PLAN_STATUSES = cache.PLAN_STATUSES
#: Tasks kept in flight per worker process (the rest are built only when a slot frees up).
IN_FLIGHT_PER_WORKER = 2
#: Seconds between looks at the store for runs another sweep is solving.
POLL_SECONDS = 0.5
#: Seconds between heartbeats on this sweep's claims (well within the store's claim expiry).
HEARTBEAT_SECONDS = 30.0

#: Held while a solve runs: one solve at a time per process (see the module docstring).
_SOLVE_LOCK = threading.Lock()


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
            "sweep": rec.sweep, "scenario": rec.scenario, "status": rec.status, "termination": rec.termination,
            "objective": rec.objective, "bound": rec.bound, "gap": rec.gap, "costs": rec.costs,
            "open_sites": rec.open_sites, "kpis": rec.kpis, "build_seconds": rec.build_seconds,
            "solve_seconds": rec.solve_seconds, "cached": self.cached, "run_id": rec.run_id,
            "inputs_hash": rec.inputs_hash, "error": rec.error, "software_version": rec.software_version,
        }


@dataclass
class _Task:
    """A scenario whose network is built and whose result is not in the store."""

    index: int
    scenario: Scenario
    network: Network
    inputs_hash: str
    input_digest: str
    generation: int = 0
    isolated: bool = False


def _error_outcome(message: str | None) -> dict[str, Any]:
    """Outcome fields of a run without a result (status ``error``), to be filled in by a solve."""
    return {"status": "error", "termination": None, "objective": None, "bound": None, "gap": None, "costs": {},
            "open_sites": [], "flows": [], "kpis": {}, "build_seconds": 0.0, "solve_seconds": 0.0,
            "software_version": cache.software_version(), "versions": cache.software_versions(), "error": message}


def solve_task(network: Network, options: dict[str, Any]) -> dict[str, Any]:
    """Solve one network in a worker and return the run's outcome fields.

    One solve at a time per process: a per-process lock serialises concurrent calls (Dask
    workers with several threads), since the solvers' global state and the redirection of
    standard output are process-wide.  Never raises: an exception becomes status ``error``
    with its message.

    Args:
        network: The scenario's network.
        options: Keyword arguments of :func:`optimizer.api.solve` (e.g. ``threads``).

    Returns:
        The RunRecord fields status, termination, objective, bound, gap, costs, open_sites,
        flows, kpis, build_seconds, solve_seconds, software_version, versions (of this
        process) and error.
    """
    with _SOLVE_LOCK:
        return _solve(network, options)


def _solve(network: Network, options: dict[str, Any]) -> dict[str, Any]:
    """The body of :func:`solve_task` (called under the lock)."""
    outcome = _error_outcome(None)
    if not isinstance(network, Network):  # an expansion study (a sweep whose base is a study file)
        return _solve_study(network, options, outcome)
    outcome["units"] = {"currency": currency(network), "period_days": float(network.settings.period_days)}
    try:
        result = api.solve(network, **options)
        doc = result.to_dict()
    except Exception as error:  # a failing scenario must not stop the sweep
        outcome["error"] = f"{type(error).__name__}: {error}" if not isinstance(error, OptimizerError) else str(error)
        return outcome
    outcome.update(
        status=doc["status"], termination=doc.get("termination"), objective=doc["objective"], bound=doc["bound"],
        gap=doc["gap"], costs=doc["costs"], open_sites=doc["open_sites"], flows=doc["flows"],
        kpis=doc.get("kpis") or {}, build_seconds=doc["build_seconds"], solve_seconds=doc["solve_seconds"],
    )
    if result.check is not None and not result.check.ok:
        outcome["status"] = "error"
        outcome["error"] = "the independent checker rejected the plan: " + "; ".join(result.check.violations)
    elif not result.has_plan:
        outcome["error"] = "; ".join(result.messages) or None
    return outcome


def _solve_study(study: Any, options: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
    """The outcome fields of an expansion study's run: the study's JSON (objective, bound, gap,
    net present costs); ``open_sites`` are the sites serving in its last period (every path's)."""
    from optimizer.expansion.solve import solve_study
    from optimizer.expansion.stochastic import solve_uncertain

    try:
        result = (solve_study if study.uncertainty is None else solve_uncertain)(study, **options)
        doc = result.to_dict()
    except Exception as error:  # a failing scenario must not stop the sweep
        outcome["error"] = f"{type(error).__name__}: {error}" if not isinstance(error, OptimizerError) else str(error)
        return outcome
    periods = [p for path in doc.get("paths", [doc]) for p in path["periods"][-1:]]
    outcome.update(status=doc["status"], termination=doc["termination"], objective=doc["objective"],
                   bound=doc["bound"], gap=doc["gap"], costs=doc["costs"],
                   open_sites=sorted({s for p in periods for s in p.get("open_sites", [])}),
                   build_seconds=doc.get("build_seconds", 0.0), solve_seconds=doc["solve_seconds"])
    if result.check is not None and not result.check.ok:
        outcome["status"] = "error"
        outcome["error"] = "the independent checker rejected the plan: " + "; ".join(result.check.violations)
    elif result.plan is None:
        outcome["error"] = "; ".join(result.messages) or None
    return outcome


def _definition_hash(definition: dict[str, Any]) -> str:
    """A hash of a scenario definition, for runs that failed before their input could be hashed."""
    return hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode()).hexdigest()


def _record(scenario: Scenario, digest: str, outcome: dict[str, Any]) -> RunRecord:
    """A RunRecord for ``scenario`` from a worker's (or an error's) outcome fields; the currency and period
    length its costs are in (``units``) are stored with its definition."""
    fields = dict(outcome)
    return RunRecord(sweep=scenario.sweep, scenario=scenario.name, inputs_hash=digest,
                     definition=_definition(scenario, fields.pop("units", None)), **fields)


def _definition(scenario: Scenario, units: dict[str, Any] | None) -> dict[str, Any]:
    """The scenario's stored definition, with the currency and period length of its run's costs when known."""
    return scenario.definition() if units is None else {**scenario.definition(), "units": units}


def _key(input_digest: str, versions: dict[str, str], software_version: str) -> str:
    """The cache key of a run solved with ``versions`` by optimizer ``software_version``."""
    return cache.run_key(input_digest, {**versions, "optimizer": software_version})


def run_sweep(
    scenarios: Sequence[Scenario],
    store: RunStore,
    *,
    workers: int | None = None,
    cluster: str | None = None,
    force: bool = False,
    reuse_limited: bool = False,
    progress: bool = True,
    on_result: Callable[[RunReport], None] | None = None,
) -> list[RunReport]:
    """Run every scenario (or take it from the store) and store each new run.

    Args:
        scenarios: The scenarios, e.g. from :func:`optimizer.runs.sweep.load_sweep`.
        store: Where runs are looked up, claimed and stored.
        workers: Worker processes (default: ``os.cpu_count()``); with
            ``cluster="local"`` the number of Dask workers.
        cluster: ``None`` for the local process pool, ``"local"`` for a Dask
            LocalCluster, or a Dask scheduler address such as ``tcp://host:8786``.
        force: Solve every scenario even when the store has its result (a run another sweep
            stores while this one waits for it is still reused).
        reuse_limited: Reuse stored runs stopped by a time limit or an interruption (by
            default they are solved again; runs stopped at their own ``mip_gap`` are final).
        progress: Show a progress bar on stderr (only when stderr is a terminal).
        on_result: Called with each report as soon as it is stored (completion order).

    Returns:
        One report per scenario, in the order of ``scenarios``.

    Raises:
        InputError: The Dask cluster cannot be reached.
        StoreError: The store refused a write (the runs stored before remain).
        RunnerError: Worker processes die while starting, before receiving any scenario.
    """
    executors = Executors(max(1, workers or os.cpu_count() or 1), cluster)
    with tqdm(total=len(scenarios), desc="runs", unit="run", file=sys.stderr,
              disable=not (progress and sys.stderr.isatty())) as bar:
        sweep = _Sweep(store, executors, force, reuse_limited, on_result, bar)
        try:
            sweep.run(scenarios)
        except BaseException:
            executors.close(wait=False)
            raise
        finally:
            executors.close()
            sweep.release_claims()
    return [sweep.reports[i] for i in range(len(scenarios))]


class _Sweep:
    """The state of one :func:`run_sweep` call: tasks in flight, claims, waits, duplicates, reports."""

    def __init__(self, store: RunStore, executors: Executors, force: bool, reuse_limited: bool,
                 on_result: Callable[[RunReport], None] | None, bar: tqdm) -> None:
        self.store = store
        self.executors = executors
        self.force = force
        self.reuse_limited = reuse_limited
        self.on_result = on_result
        self.bar = bar
        self.claimant = Claimant(token=uuid.uuid4().hex)
        self.baseline = store.max_run_id()  # runs stored after this one are fresh (another sweep's)
        self.reports: dict[int, RunReport] = {}
        self.pending: dict[Future, _Task] = {}
        self.duplicates: dict[str, list[tuple[int, Scenario]]] = {}  # key in flight -> same-input scenarios
        self.waiting: dict[str, _Task] = {}  # key claimed by another sweep -> our task, not submitted
        self.ready: deque[_Task] = deque()  # tasks whose claim we got after waiting
        self.suspects: deque[_Task] = deque()  # tasks in flight on a pool whose worker died
        self.versions = cache.software_versions()
        self.software_version = cache.software_version()
        self.last_beat = time.monotonic()

    # -- reporting -------------------------------------------------------------------------------

    def finish(self, index: int, report: RunReport, save: bool, claimed: bool = False,
               copy_after: int | None = None) -> None:
        """Store (if new) and report one run.

        Args:
            index: The scenario's position in the sweep.
            report: Its report.
            save: Store the run (a solved run releases this sweep's claim in the same transaction).
            claimed: This sweep holds the claim on the run's key.
            copy_after: The run is a copy of stored run(s) up to this id, under another name: it
                is stored unless another sweep stored that copy since (then that one is reported).
        """
        if copy_after is not None:
            report = RunReport(self.store.save_copy(report.record, copy_after), report.cached)
        elif save:
            self.store.save(report.record, self.claimant if claimed else None)
        self.reports[index] = report
        self.bar.update(1)
        if self.on_result is not None:
            self.on_result(report)

    def resolve(self, task: _Task, record: RunRecord, solved: bool) -> None:
        """Report ``task`` (solved here, or another sweep's run) and the duplicates waiting for its key."""
        if solved:
            self.finish(task.index, RunReport(record, cached=False), save=True, claimed=True)
        else:
            self.reuse(task.index, task.scenario, record)
        for index, scenario in self.duplicates.pop(task.inputs_hash, []):
            self.finish(index, RunReport(_reuse(record, scenario), cached=record.status != "error"), save=True,
                        copy_after=self.copied_after(record))

    def reuse(self, index: int, scenario: Scenario, hit: RunRecord) -> None:
        """Report a stored run for ``scenario``; under another name it is stored under this one too."""
        if (hit.sweep, hit.scenario) == (scenario.sweep, scenario.name):
            self.finish(index, RunReport(hit, cached=True), save=False)
        else:
            self.finish(index, RunReport(_reuse(hit, scenario), cached=hit.status != "error"), save=True,
                        copy_after=self.copied_after(hit))

    def copied_after(self, source: RunRecord) -> int:
        """Copies of ``source`` with ids above this count as made already (by this sweep or a concurrent one).

        For a run stored before this sweep started: copies made since it; for a fresh run (this
        sweep's or a concurrent sweep's): copies made since this sweep started.
        """
        return min(int(source.run_id or 0), self.baseline)

    def release_claims(self) -> None:
        """Drop every claim this sweep still holds (best effort: a dead sweep's claims expire anyway)."""
        try:
            self.store.release(self.claimant)
        except StoreError:
            pass

    # -- the loop --------------------------------------------------------------------------------

    def run(self, scenarios: Sequence[Scenario]) -> None:
        """Run every scenario: submit tasks as slots free up, store results as they arrive, wait for claims."""
        queue = self.prepare(scenarios)
        self.fill(queue)
        while self.pending or self.waiting or self.ready or self.suspects:
            if self.pending:
                timeout = POLL_SECONDS if self.waiting else HEARTBEAT_SECONDS
                done, _ = wait(self.pending, timeout=timeout, return_when=FIRST_COMPLETED)
            else:
                time.sleep(POLL_SECONDS)
                done = set()
            broken: set[int] = set()
            for future in sorted(done, key=lambda f: self.pending[f].index):
                self.collect(future, self.pending.pop(future), broken)
            if self.executors.generation in broken:
                self.executors.broken()
            if time.monotonic() - self.last_beat >= HEARTBEAT_SECONDS:
                self.store.heartbeat(self.claimant)
                self.last_beat = time.monotonic()
            if self.waiting:
                self.poll()
            self.fill(queue)

    def collect(self, future: Future, task: _Task, broken: set[int]) -> None:
        """Store the outcome of one finished future (or queue its task for a re-run in a process of its own)."""
        try:
            outcome = future.result()
        except BrokenProcessPool:  # some worker of the pool died: this task may be innocent
            broken.add(task.generation)
            self.suspects.append(task)
            return
        except WorkerDied as death:  # it died again, alone: this scenario is the culprit
            if not death.started:
                raise RunnerError(
                    f"worker processes die while starting ({describe_exit(death.exitcode)}), before receiving "
                    "any scenario; a script that calls run_sweep must guard it with "
                    "`if __name__ == \"__main__\":`") from None
            outcome = _error_outcome(f"{death} while solving this scenario")
        except Exception as error:  # the executor lost the task (e.g. a Dask worker died)
            outcome = _error_outcome(f"the executor failed on this scenario: {type(error).__name__}: {error}")
        digest = task.inputs_hash
        if (outcome["versions"], outcome["software_version"]) != (self.versions, self.software_version):
            digest = _key(task.input_digest, outcome["versions"], outcome["software_version"])  # a remote worker
        self.resolve(task, _record(task.scenario, digest, outcome), solved=True)
        if digest != task.inputs_hash:  # the claim was on the key this process computed
            self.store.release(self.claimant, [task.inputs_hash])

    def prepare(self, scenarios: Sequence[Scenario]) -> Iterator[_Task]:
        """Yield the scenarios that need solving; report cache hits and build failures on the way.

        A scenario whose input equals one in flight waits for that run and reuses it; one whose
        input another sweep has claimed waits for that sweep's run (see :meth:`poll`).
        """
        for index, scenario in enumerate(scenarios):
            try:
                network = build_network(scenario)
                input_digest = input_hash(scenario, network, SOLVER_OPTIONS)
            except Exception as error:  # a bad scenario is recorded, the sweep goes on
                message = str(error) if isinstance(error, OptimizerError) else f"{type(error).__name__}: {error}"
                record = _record(scenario, _definition_hash(scenario.definition()), _error_outcome(message))
                self.finish(index, RunReport(record, cached=False), save=True, copy_after=self.baseline)
                continue
            digest = _key(input_digest, self.versions, self.software_version)
            if digest in self.duplicates:
                self.duplicates[digest].append((index, scenario))
                continue
            hit = None if self.force else self.store.get(digest)
            if hit is not None and self.reusable(hit, network):
                self.reuse(index, scenario, hit)
                continue
            task = _Task(index, scenario, network, digest, input_digest)
            self.duplicates[digest] = []
            if self.claim(task, hit.run_id if hit is not None else 0):
                yield task

    def reusable(self, hit: RunRecord, network: Network) -> bool:
        """Whether a stored run can stand for this one (not an error; final, or limited runs kept)."""
        if hit.status == "error":
            return False
        solver = network.settings.solver
        return self.reuse_limited or cache.is_final(hit, solver.mip_gap, solver.time_limit)

    def claim(self, task: _Task, seen: int) -> bool:
        """Claim ``task``'s key; True when this sweep is to solve it.

        Otherwise the task waits for the claimant's run (:attr:`waiting`), or is already
        reported: a run stored since ``seen`` (the run id looked at) by another sweep is reused.
        """
        scenario = task.scenario
        if not self.store.claim(task.inputs_hash, scenario.sweep, scenario.name, self.claimant):
            self.waiting[task.inputs_hash] = task
            return False
        latest = self.store.latest_run_ids([task.inputs_hash]).get(task.inputs_hash, 0)
        if latest > max(seen, self.baseline):  # another sweep stored it between our look and our claim
            self.store.release(self.claimant, [task.inputs_hash])
            self.resolve(task, self.store.get_run(latest), solved=False)
            return False
        return True

    def poll(self) -> None:
        """Reuse the runs other sweeps stored for the keys we wait on; claim those they let go."""
        stored = self.store.latest_run_ids(list(self.waiting))
        for digest, task in list(self.waiting.items()):
            del self.waiting[digest]
            run_id = stored.get(digest, 0)
            if run_id > self.baseline:
                self.resolve(task, self.store.get_run(run_id), solved=False)
            elif self.claim(task, 0):  # released (its run may have been stored just now), or its sweep died
                self.ready.append(task)

    def fill(self, queue: Iterator[_Task]) -> None:
        """Submit tasks until the executor has its share in flight or nothing is left to submit.

        Tasks that were in flight on a broken pool run first, each in a fresh process of its own;
        new tasks wait until they are done.
        """
        processes = self.executors.processes()
        isolated = sum(task.isolated for task in self.pending.values())
        while self.suspects and isolated < processes:
            task = self.suspects.popleft()
            task.isolated = True
            self.pending[run_isolated(solve_task, task.network, dict(SOLVER_OPTIONS))] = task
            isolated += 1
        if self.suspects or isolated:
            return
        while len(self.pending) < IN_FLIGHT_PER_WORKER * processes:
            task = self.ready.popleft() if self.ready else next(queue, None)
            if task is None:
                return
            future = self.executors.get().submit(solve_task, task.network, dict(SOLVER_OPTIONS))
            task.generation = self.executors.generation
            self.pending[future] = task
            processes = self.executors.processes()  # known once a Dask client is connected


def _reuse(record: RunRecord, scenario: Scenario) -> RunRecord:
    """A copy of a run for another scenario with the same input (stored without solving)."""
    units = record.definition.get("units") if isinstance(record.definition, dict) else None
    return replace(record, sweep=scenario.sweep, scenario=scenario.name, definition=_definition(scenario, units),
                   flows=list(record.flows), run_id=None, created_at=None)
