"""SCIP backend, through OR-Tools' ``model_builder`` helpers.

The whole model (bounds, objective, matrix, integrality, objective offset and
warm start) is encoded as OR-Tools' ``MPModelProto`` by numpy
(:mod:`optimizer.solvers.mpproto`) and read by OR-Tools in one call, and the
solution is read back as one numpy array.  The lower-level
``ModelBuilderHelper``/``ModelSolverHelper`` pair behind
``model_builder.Model``/``model_builder.Solver`` is used directly, so that no
Python object or call is made per variable (``model_builder`` itself takes
integrality and hints one call per variable).

SCIP (as built into OR-Tools) solves on one thread: ``SolveOptions.threads`` is
ignored, and the backend does not declare :attr:`Capability.THREADS`.  Its
native log is written to file descriptor 1, so the solve runs inside
:func:`optimizer.solvers.stdio.stdout_to_stderr`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.model.linear import LinearModel
from optimizer.solvers.base import (
    DEFAULT_ABS_GAP,
    Capability,
    SolveOptions,
    Solver,
    SolverResult,
    Status,
    Termination,
    classify,
    solver_termination,
)
from optimizer.solvers.interrupt import run_interruptible
from optimizer.solvers.mpproto import write_model
from optimizer.solvers.stdio import stdout_to_stderr

#: SCIP's infinity; bounds at or beyond it mean "no bound known".
_SCIP_INFINITY = 1e20


class ScipSolver(Solver):
    """SCIP MIP solver (OR-Tools)."""

    name = "scip"
    capabilities = frozenset({
        Capability.MIP, Capability.TIME_LIMIT, Capability.MIP_GAP,
        Capability.WARM_START, Capability.BOUND,
    })

    @classmethod
    def available(cls) -> bool:
        """Whether OR-Tools is installed with SCIP support."""
        try:
            from ortools.linear_solver.python import model_builder_helper as mbh
        except ImportError:
            return False
        return bool(mbh.ModelSolverHelper("scip").solver_is_supported())

    def _solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        """Solve ``model`` with SCIP (interruptible: see :mod:`optimizer.solvers.interrupt`).

        Args:
            model: The model (minimisation, offset included in the result).
            options: Time limit, gap and verbosity (threads are ignored).

        Returns:
            The typed result; infeasibility is a status, not an exception.

        Raises:
            RuntimeError: If SCIP rejects the model or parameters, or fails.
        """
        from ortools.linear_solver.python import model_builder as mb
        from ortools.linear_solver.python import model_builder_helper as mbh

        start = time.perf_counter()
        builder = _build(mbh, model)
        solver = mbh.ModelSolverHelper("scip")
        solver.enable_output(bool(options.verbose))
        if options.time_limit is not None:
            solver.set_time_limit_in_seconds(float(options.time_limit))
        solver.set_solver_specific_parameters(  # SIGINT is left to Python (see optimizer.solvers.interrupt)
            f"limits/gap = {float(options.effective_gap)!r}\nlimits/absgap = {DEFAULT_ABS_GAP!r}\n"
            "misc/catchctrlc = FALSE\n")
        cancelled: list[bool] = []

        def cancel() -> None:
            cancelled.append(True)
            solver.interrupt_solve()

        with stdout_to_stderr(options.verbose):
            run_interruptible(lambda: solver.solve(builder), cancel)
        result = _result(solver, mb.SolveStatus(solver.status()), model, options, bool(cancelled))
        result.solve_seconds = time.perf_counter() - start
        return result


def _build(mbh: Any, model: LinearModel) -> Any:
    """Load the whole model (integrality, offset and warm start included) into a ``ModelBuilderHelper`` at once.

    The model is encoded by :mod:`optimizer.solvers.mpproto` into a temporary file that OR-Tools parses in C++.
    """
    builder = mbh.ModelBuilderHelper()
    with tempfile.TemporaryDirectory(prefix="optimizer-scip-") as folder:
        path = write_model(model, Path(folder) / "model.pb")
        if not builder.read_model_from_proto_file(str(path)):
            raise RuntimeError("OR-Tools could not read the model encoded for SCIP")
    return builder


def _result(solver: Any, status: Any, model: LinearModel, options: SolveOptions,
            cancelled: bool = False) -> SolverResult:
    """Translate the OR-Tools status and SCIP's values into a :class:`SolverResult`."""
    message = solver.status_string() or status.name.lower()
    if status.name == "INFEASIBLE":
        return SolverResult(Status.INFEASIBLE, ScipSolver.name, termination=Termination.INFEASIBLE, message=message)
    if status.name == "UNBOUNDED":
        return SolverResult(Status.NO_SOLUTION, ScipSolver.name, termination=Termination.UNBOUNDED,
                            message=f"the model is unbounded ({message}); it has no finite minimum")
    if status.name not in ("OPTIMAL", "FEASIBLE", "NOT_SOLVED"):
        raise RuntimeError(f"SCIP failed with status {status.name}: {message}")
    if cancelled:
        termination, message = Termination.INTERRUPTED, "interrupted"
    elif status.name == "OPTIMAL":
        termination = Termination.OPTIMAL  # refined below (gap limit)
    elif options.time_limit is not None:
        termination = Termination.TIME_LIMIT
    else:
        termination = Termination.NUMERICAL
    has_solution = bool(solver.has_solution())
    if not has_solution:
        if termination is Termination.TIME_LIMIT:
            message = f"time limit reached before any feasible solution was found ({message})"
        return SolverResult(Status.NO_SOLUTION, ScipSolver.name, termination=termination, message=message)
    # OR-Tools reports OPTIMAL also when SCIP stopped at a user-set gap; classify() checks the gap.
    optimal = status.name == "OPTIMAL"
    x = np.asarray(solver.variable_values(), dtype=np.float64).copy()
    objective = float(model.c @ x + model.offset)
    if model.n_integer == 0:
        bound = objective if optimal else None
    else:
        value = float(solver.best_objective_bound())
        bound = value if abs(value) < _SCIP_INFINITY else None
    result_status = classify(optimal and not cancelled, has_solution, options, objective, bound)
    if termination is Termination.OPTIMAL:
        termination = solver_termination(result_status, optimal, options)
    return SolverResult(result_status, ScipSolver.name, termination=termination, x=x, objective=objective,
                        bound=bound, message=message)
