"""A linear relaxation kept alive in HiGHS between solves (for tree searches that re-solve it many times).

:class:`LPSession` passes a :class:`~optimizer.model.linear.LinearModel` to HiGHS once, with every
integrality dropped; each :meth:`LPSession.solve` changes the bounds of some columns and re-solves
with the dual simplex from the previous basis (a *hot start*: a branching step costs tens of
iterations instead of a solve from scratch), :meth:`LPSession.add_rows` appends cuts,
:meth:`LPSession.add_cols` priced columns and :meth:`LPSession.set_row_bounds` moves right-hand
sides.  The session needs ``highspy``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from optimizer.model.linear import LinearModel, validate_model
from optimizer.solvers.highs import pass_model
from optimizer.solvers.stdio import stdout_to_stderr



@dataclass(frozen=True)
class LPOutcome:
    """One solve of the relaxation.

    Attributes:
        status: ``optimal``, ``infeasible``, ``time_limit`` or ``failed`` (HiGHS gave up, also from scratch).
        x: Column values (``optimal`` only).
        objective: Objective value including the model offset (``optimal`` only, else ``inf``).
        reduced_cost: Reduced cost of every column (``optimal`` only): raising a column at its lower
            bound by ``t`` raises the relaxation's value by at least ``t`` times its reduced cost,
            lowering one at its upper bound by ``t`` by at least ``-t`` times it.
        row_dual: Dual value of every row (``optimal`` only): column ``j``'s reduced cost is
            ``c_j - A_j^T row_dual``.
        iterations: Simplex iterations of this solve.
    """

    status: str
    x: np.ndarray | None = None
    objective: float = float("inf")
    reduced_cost: np.ndarray | None = None
    row_dual: np.ndarray | None = None
    iterations: int = 0


#: Settings of the session's LP (dual simplex, no presolve: hot starts keep the basis).
DEFAULTS = {"output_flag": False, "presolve": "off", "simplex_strategy": 1, "solver": "simplex"}
#: The retries of an LP that ended in numerical trouble, each from scratch: the dual simplex again,
#: then the interior point method (its crossover leaves a basis for the next hot start).
RETRIES = ({}, {"solver": "ipm"})


class LPSession:
    """The LP relaxation of a model in one HiGHS instance (see the module docstring).

    Args:
        model: The model; its integrality and warm start are ignored, the model is not changed.

    Raises:
        InputError: The model holds figures no solver can represent.
    """

    def __init__(self, model: LinearModel) -> None:
        import highspy

        validate_model(model)
        self._highspy = highspy
        with stdout_to_stderr(False):  # the first Highs() prints a banner on fd 1
            highs = highspy.Highs()
        # The thread count is left alone: HiGHS's thread pool is process-wide (see highs.py), and
        # the dual simplex of a hot start runs serially anyway.
        for option, value in DEFAULTS.items():  # dual simplex: the basis stays dual feasible
            highs.setOptionValue(option, value)
        pass_model(highs, model, relax=True)
        self._highs: Any = highs
        self.n_cols = model.n_cols
        self.n_rows = model.n_rows
        self.solves = 0
        self.iterations = 0

    def basis(self) -> tuple[Any, int]:
        """The current simplex basis (an opaque handle for :meth:`solve`)."""
        return self._highs.getBasis(), self.n_rows

    def solve(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray,
              deadline: float | None = None, basis: tuple[Any, int] | None = None) -> LPOutcome:
        """Set the bounds of ``cols`` (they stay set for later solves) and re-solve.

        Args:
            cols: Column indices.
            lower: Their lower bounds.
            upper: Their upper bounds.
            deadline: ``time.monotonic()`` value after which the solve stops (status ``time_limit``).
            basis: Start from this basis (from :meth:`basis`, e.g. the parent node's; rows added
                since are basic) instead of the last one.
        """
        highs, statuses = self._highs, self._highspy.HighsModelStatus
        cols = np.asarray(cols, dtype=np.int32)
        if len(cols):
            highs.changeColsBounds(len(cols), cols, np.asarray(lower, dtype=np.float64),
                                   np.asarray(upper, dtype=np.float64))
        if basis is not None:
            handle, rows = basis
            if rows < self.n_rows:  # cuts added since: they start basic
                grown = self._highspy.HighsBasis()
                grown.col_status = handle.col_status
                grown.row_status = list(handle.row_status) + [self._highspy.HighsBasisStatus.kBasic] * (
                    self.n_rows - rows)
                grown.valid, grown.alien = handle.valid, handle.alien
                handle = grown
            highs.setBasis(handle)
        status, iterations = self._run(deadline)
        for retry in RETRIES:
            if status in (statuses.kOptimal, statuses.kInfeasible, statuses.kTimeLimit):
                break
            # Numerical trouble (ill-conditioned cut rows): once more from scratch, then by another method
            highs.clearSolver()
            for option, value in retry.items():
                highs.setOptionValue(option, value)
            status, more = self._run(deadline)
            iterations += more
            for option in retry:
                highs.setOptionValue(option, DEFAULTS[option])
        if status == statuses.kInfeasible:
            return LPOutcome("infeasible", iterations=iterations)
        if status == statuses.kTimeLimit:
            return LPOutcome("time_limit", iterations=iterations)
        if status != statuses.kOptimal:
            return LPOutcome("failed", iterations=iterations)
        solution = highs.getSolution()
        return LPOutcome("optimal", x=np.asarray(solution.col_value, dtype=np.float64),
                         objective=float(highs.getInfo().objective_function_value),
                         reduced_cost=np.asarray(solution.col_dual, dtype=np.float64),
                         row_dual=np.asarray(solution.row_dual, dtype=np.float64), iterations=iterations)

    def _run(self, deadline: float | None) -> tuple[Any, int]:
        """One run of the simplex: (model status, iterations)."""
        highs = self._highs
        left = np.inf if deadline is None else max(deadline - time.monotonic(), 1e-3)
        # HiGHS's time limit bounds the run time of the Highs object, summed over every run: the
        # session's earlier LPs count, so the limit is that total plus the time left.
        highs.setOptionValue("time_limit", highs.getRunTime() + float(left) if np.isfinite(left) else np.inf)
        highs.run()
        self.solves += 1
        iterations = max(int(highs.getInfo().simplex_iteration_count), 0)
        self.iterations += iterations
        return highs.getModelStatus(), iterations

    def add_rows(self, rows: sp.spmatrix, lower: np.ndarray, upper: np.ndarray) -> None:
        """Append the rows ``lower <= rows @ x <= upper`` (kept for every later solve)."""
        csr = sp.csr_matrix(rows, dtype=np.float64)
        n = csr.shape[0]
        if n == 0:
            return
        if csr.shape[1] != self.n_cols:
            raise ValueError(f"rows have {csr.shape[1]} columns, the session {self.n_cols}")
        status = self._highs.addRows(n, np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64),
                                     int(csr.nnz), csr.indptr[:-1].astype(np.int32), csr.indices.astype(np.int32),
                                     csr.data)
        if status.name == "kError":
            raise RuntimeError("HiGHS rejected the added rows")
        self.n_rows += n

    def add_cols(self, c: np.ndarray, lower: np.ndarray, upper: np.ndarray, cols: sp.spmatrix) -> None:
        """Append continuous columns: costs ``c``, bounds, and their entries ``cols`` (one column each,
        over the session's rows); they start nonbasic, so the next solve is still a hot start."""
        csc = sp.csc_matrix(cols, dtype=np.float64)
        n = csc.shape[1]
        if n == 0:
            return
        if csc.shape[0] != self.n_rows:
            raise ValueError(f"columns have {csc.shape[0]} rows, the session {self.n_rows}")
        csc.sort_indices()
        status = self._highs.addCols(n, np.asarray(c, dtype=np.float64), np.asarray(lower, dtype=np.float64),
                                     np.asarray(upper, dtype=np.float64), int(csc.nnz),
                                     csc.indptr[:-1].astype(np.int32), csc.indices.astype(np.int32), csc.data)
        if status.name == "kError":
            raise RuntimeError("HiGHS rejected the added columns")
        self.n_cols += n

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Set the bounds of ``rows`` (they stay set for later solves)."""
        rows = np.asarray(rows, dtype=np.int32)
        if len(rows):
            self._highs.changeRowsBounds(len(rows), rows, np.asarray(lower, dtype=np.float64),
                                         np.asarray(upper, dtype=np.float64))
