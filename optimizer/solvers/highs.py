"""HiGHS backend (the default), through the ``highspy`` bindings.

The model is handed over in one ``passModel`` call as CSC arrays, with the
objective offset included, so HiGHS's own gap test sees the same objective as
:func:`optimizer.solvers.base.classify`.

While a MIP runs, and only when someone listens (:func:`optimizer.progress.active`),
HiGHS's callbacks report its best plan and dual bound as progress (phase ``mip``):
every improving plan, and otherwise at most every :data:`PROGRESS_SECONDS`.  The
callbacks only read HiGHS's data, so the search (and the result) is the same with
or without them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from optimizer import progress
from optimizer.model.linear import LinearModel
from optimizer.solvers.base import (
    ALL_CAPABILITIES,
    DEFAULT_ABS_GAP,
    SolveOptions,
    Solver,
    SolverResult,
    Status,
    Termination,
    classify,
    solver_termination,
)
from optimizer.solvers import interrupt
from optimizer.solvers.interrupt import run_interruptible
from optimizer.solvers.stdio import stdout_to_stderr

_COLWISE = 1  # HighsMatrixFormat kColwise
_MINIMIZE = 1  # ObjSense kMinimize
_SOLUTION_FEASIBLE = 2  # kSolutionStatusFeasible

#: HiGHS options of a solve with ``SolveOptions.proof`` (measured on the demo's site-fixed MIPs:
#: 3-4x faster from a near-optimal warm start; from a poor start, or none, much slower).
PROOF_OPTIONS = {
    "mip_heuristic_effort": 0.0, "mip_heuristic_run_feasibility_jump": False, "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False, "mip_heuristic_run_root_reduced_cost": False, "mip_pscost_minreliable": 2,
}
#: Least seconds between two progress reports of an unchanged or slowly moving MIP (improving plans always report).
PROGRESS_SECONDS = 0.5
#: Most seconds without a report while HiGHS checks in (shows that a long search is alive).
HEARTBEAT_SECONDS = 5.0


class HighsSolver(Solver):
    """HiGHS MIP/LP solver (``highspy``)."""

    name = "highs"
    capabilities = ALL_CAPABILITIES

    @classmethod
    def available(cls) -> bool:
        """Whether ``highspy`` can be imported."""
        try:
            import highspy  # noqa: F401
        except ImportError:
            return False
        return True

    def _solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        """Solve ``model`` with HiGHS (interruptible: see :mod:`optimizer.solvers.interrupt`).

        Args:
            model: The model (minimisation, offset included in the result).
            options: Time limit, gap, threads and verbosity.

        Returns:
            The typed result; infeasibility is a status, not an exception.

        Raises:
            RuntimeError: If HiGHS rejects the model, fails, or finds it unbounded.
        """
        import highspy

        start = time.perf_counter()
        with stdout_to_stderr(options.verbose):  # the first Highs() prints a banner on fd 1
            highs = highspy.Highs()
            _configure(highs, highspy, options)
            pass_model(highs, model)
            reporting = _report_progress(highs) if model.n_integer else None
            if model.warm_start is not None:
                _set_start(highs, model.warm_start)
            if options.on_plan is not None:
                _watch_plans(highs, options.on_plan)
            _run(highs)
            status = highs.getModelStatus()
            if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
                # Presolve could not tell which: settle it without presolve.
                _set(highs, "presolve", "off")
                _run(highs)
                status = highs.getModelStatus()
            result = _result(highs, highspy, status, model, options)
        if reporting is not None:
            reporting.finish(result)
        result.solve_seconds = time.perf_counter() - start
        return result


def _set(highs: Any, option: str, value: object) -> None:
    """Set one HiGHS option, failing loudly on a rejected value."""
    if highs.setOptionValue(option, value).name == "kError":
        raise ValueError(f"HiGHS rejected option {option}={value!r}")


def _configure(highs: Any, highspy: Any, options: SolveOptions) -> None:
    """Apply :class:`SolveOptions`; the log, if wanted, goes to stderr via a callback."""
    _set(highs, "output_flag", bool(options.verbose))
    if options.verbose:
        _set(highs, "log_to_console", False)
        highs.cbLogging.subscribe(lambda event: sys.stderr.write(event.message))
    _set(highs, "mip_rel_gap", float(options.effective_gap))
    if options.proof:  # the warm start is good: no time on heuristics, branch on early pseudo-costs
        for option, value in PROOF_OPTIONS.items():
            _set(highs, option, value)
    _set(highs, "mip_abs_gap", DEFAULT_ABS_GAP)
    if options.time_limit is not None:
        _set(highs, "time_limit", float(options.time_limit))
    if options.lp_method is not None:
        _set(highs, "solver", options.lp_method)
    if options.node_limit is not None:
        _set(highs, "mip_max_nodes", int(options.node_limit))
    if options.effective_cutoff is not None:
        _set(highs, "objective_bound", float(options.effective_cutoff))
    if options.threads is not None:
        _set(highs, "threads", int(options.threads))
        # HiGHS keeps one process-wide thread pool sized by the first solve; a
        # different size is refused unless the pool is rebuilt.
        highspy.Highs.resetGlobalScheduler(True)


def pass_model(highs: Any, model: LinearModel, relax: bool = False) -> None:
    """Hand the arrays to HiGHS in one call (CSC matrix, int32 integrality; none with ``relax``)."""
    csc = model.A.tocsc()
    csc.sort_indices()
    status = highs.passModel(
        model.n_cols, model.n_rows, int(csc.nnz), _COLWISE, _MINIMIZE, float(model.offset),
        np.asarray(model.c, dtype=np.float64),
        np.asarray(model.col_lower, dtype=np.float64), np.asarray(model.col_upper, dtype=np.float64),
        np.asarray(model.row_lower, dtype=np.float64), np.asarray(model.row_upper, dtype=np.float64),
        csc.indptr.astype(np.int32), csc.indices.astype(np.int32), csc.data.astype(np.float64),
        np.zeros(model.n_cols, dtype=np.int32) if relax else np.asarray(model.integer, dtype=bool).astype(np.int32),
    )
    if status.name == "kError":
        raise RuntimeError("HiGHS rejected the model (passModel failed)")


def _set_start(highs: Any, warm_start: np.ndarray) -> None:
    """Offer a full starting solution; HiGHS checks it and keeps it if feasible."""
    values = np.asarray(warm_start, dtype=np.float64)
    if highs.setSolution(values.size, np.arange(values.size, dtype=np.int32), values).name == "kError":
        raise RuntimeError("HiGHS rejected the warm start")


def _watch_plans(highs: Any, on_plan: Callable[[np.ndarray], bool]) -> None:
    """Call ``on_plan`` with every improving plan; stop the solve when it returns True."""
    highs.HandleUserInterrupt = True

    def improving(event: Any) -> None:
        # A copy: mip_solution is a view of HiGHS's buffer, which later plans overwrite (a kept view
        # turned into a plan that was never found, costed and accepted as the best one).
        if on_plan(np.array(event.data_out.mip_solution, dtype=np.float64, copy=True)):
            highs.cancelSolve()

    highs.cbMipImprovingSolution.subscribe(improving)


class _MipProgress:
    """HiGHS MIP callbacks that report the best plan and dual bound (objective offset included)."""

    def __init__(self, report: progress.Reporter) -> None:
        self.report: progress.Reporter | None = report
        self.last = -float("inf")  # time.monotonic() of the last report
        self.shown: tuple[float, float] | None = None  # (plan, bound) of the last report

    def improving(self, event: Any) -> None:
        """A new best plan (``kCallbackMipImprovingSolution``): always reported."""
        self.send(event.data_out, "new best plan")

    def check(self, event: Any) -> None:
        """HiGHS checks its limits (``kCallbackMipInterrupt``, often): report a change now and then."""
        data = event.data_out
        elapsed = time.monotonic() - self.last
        if elapsed >= HEARTBEAT_SECONDS or (
                elapsed >= PROGRESS_SECONDS and (data.mip_primal_bound, data.mip_dual_bound) != self.shown):
            self.send(data, "")

    def send(self, data: Any, note: str) -> None:
        """Report HiGHS's primal and dual bound (in the model's objective, offset included)."""
        self.last = time.monotonic()
        self.shown = (data.mip_primal_bound, data.mip_dual_bound)
        if np.isfinite(self.shown).any():  # nothing to show before the first plan or bound
            count = int(data.mip_node_count)
            nodes = "root node" if count == 0 else f"{count:,} node{'s' if count > 1 else ''}"
            self.emit(data.mip_primal_bound, data.mip_dual_bound, f"{nodes}, {note}" if note else nodes)

    def finish(self, result: SolverResult) -> None:
        """The outcome: the plan's cost and the final bound (HiGHS's last callback may predate them)."""
        ended = result.status.value
        if result.termination is not None and result.termination.value != ended:
            ended += f" ({result.termination.value})"
        self.emit(result.objective, result.bound, ended)

    def emit(self, objective: float | None, bound: float | None, message: str) -> None:
        """Hand one report on; a failing listener ends the reporting, not the solve (HiGHS calls from C++)."""
        if self.report is None:
            return
        try:
            self.report("mip", objective=objective, bound=bound, message=message)
        except Exception:  # noqa: BLE001 - a broken display (e.g. a closed stderr) must not stop the solver
            self.report = None


def _report_progress(highs: Any) -> _MipProgress | None:
    """Subscribe progress reporting to HiGHS's MIP callbacks when someone listens (else nothing)."""
    report = progress.reporter()  # taken here: the callbacks may run in the solve's thread
    if report is None:
        return None
    reporting = _MipProgress(report)
    highs.cbMipImprovingSolution.subscribe(reporting.improving)
    highs.cbMipInterrupt.subscribe(reporting.check)
    return reporting


def _run(highs: Any) -> None:
    """Run the solver (interruptibly), turning a hard failure into an exception."""
    if interrupt.armed():
        highs.HandleUserInterrupt = True  # cancelSolve() then stops the solve at its next callback
    if run_interruptible(highs.run, highs.cancelSolve).name == "kError" and highs.getModelStatus().name in (
            "kNotset", "kLoadError", "kModelError", "kPresolveError", "kSolveError", "kPostsolveError"):
        raise RuntimeError(f"HiGHS failed: {highs.modelStatusToString(highs.getModelStatus())}")


def _result(highs: Any, highspy: Any, status: Any, model: LinearModel, options: SolveOptions) -> SolverResult:
    """Translate HiGHS's model status and info into a :class:`SolverResult`."""
    statuses = highspy.HighsModelStatus
    message = highs.modelStatusToString(status)
    cutoff = options.effective_cutoff
    if status == statuses.kInfeasible and cutoff is not None and model.n_integer:
        # With objective_bound, "infeasible" says only that no plan lies below the cutoff.
        return SolverResult(Status.NO_SOLUTION, HighsSolver.name, termination=Termination.OPTIMAL, bound=cutoff,
                            message="no plan below the cutoff")
    if status == statuses.kInfeasible:
        return SolverResult(Status.INFEASIBLE, HighsSolver.name, termination=Termination.INFEASIBLE, message=message)
    if status in (statuses.kUnbounded, statuses.kUnboundedOrInfeasible):
        return SolverResult(Status.NO_SOLUTION, HighsSolver.name, termination=Termination.UNBOUNDED,
                            message=f"{message}: the model has no finite minimum")
    info = highs.getInfo()
    has_solution = info.primal_solution_status == _SOLUTION_FEASIBLE
    optimal = status == statuses.kOptimal
    solution = highs.getSolution()
    x = np.asarray(solution.col_value, dtype=np.float64) if has_solution else None
    row_dual = None
    objective = float(model.c @ x + model.offset) if x is not None else None
    if model.n_integer == 0:
        bound = objective if optimal else None
        if optimal and solution.dual_valid:
            row_dual = np.asarray(solution.row_dual, dtype=np.float64)
    else:
        dual = float(info.mip_dual_bound)
        bound = dual if np.isfinite(dual) else None
        if cutoff is not None and bound is not None:  # HiGHS's bound leaves out the branches pruned at the cutoff
            bound = min(bound, cutoff)
    if not has_solution and status == statuses.kTimeLimit:
        message = "time limit reached before any feasible solution was found"
    result_status = classify(optimal, has_solution, options, objective, bound)
    if status == statuses.kTimeLimit:
        termination = Termination.TIME_LIMIT
    elif status in (statuses.kInterrupt, statuses.kHighsInterrupt):
        termination, message = Termination.INTERRUPTED, "interrupted"
    elif optimal:
        termination = solver_termination(result_status, optimal, options)
    else:  # iteration, memory or solution limits are never set; kUnknown is numerical trouble
        termination = Termination.NUMERICAL
    return SolverResult(result_status, HighsSolver.name, termination=termination,
                        x=x if result_status.has_plan else None,
                        objective=objective if result_status.has_plan else None, bound=bound, message=message,
                        row_dual=row_dual)
