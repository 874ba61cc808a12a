"""Solver-neutral mixed-integer linear program held as arrays.

Every backend adapter reads this one structure; nothing here knows about
warehouses.  The problem is::

    minimise    c @ x + offset
    subject to  row_lower <= A @ x <= row_upper
                col_lower <=     x <= col_upper
                x[j] integer where integer[j]

A :class:`LinearModel` is immutable: the dataclass is frozen and its arrays
(and the CSR arrays of ``A``) are read-only views, so a step that tries to
change a model in place fails loudly; steps build a new model instead
(``dataclasses.replace(model, warm_start=x)``, :func:`append_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InputError, Problem

#: Largest finite magnitude accepted in the objective, the matrix and the bounds
#: (solvers treat 1e20 and above as infinite).
MAX_MAGNITUDE = 1e15


def read_only(values: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """A read-only view of ``values`` (the caller's array itself is left writeable)."""
    view = np.asarray(values, dtype=dtype).view()
    view.flags.writeable = False
    return view


def read_only_csr(matrix: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """A canonical CSR copy of ``matrix`` (sorted, no duplicates) whose arrays are read-only."""
    csr = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    for name in ("data", "indices", "indptr"):
        getattr(csr, name).flags.writeable = False
    return csr


@dataclass(frozen=True)
class LinearModel:
    """A minimisation MIP in array form (immutable).

    Attributes:
        c: Objective coefficients, shape (n_cols,).
        A: Constraint matrix, CSR, shape (n_rows, n_cols).
        row_lower: Row lower bounds (``-inf`` for none), shape (n_rows,).
        row_upper: Row upper bounds (``+inf`` for none), shape (n_rows,).
        col_lower: Column lower bounds, shape (n_cols,).
        col_upper: Column upper bounds (``+inf`` for none), shape (n_cols,).
        integer: Boolean mask of integer columns, shape (n_cols,).
        offset: Constant added to the objective.
        name: Model name (used in exported files).
        warm_start: Optional full-length starting solution for the solver.
    """

    c: np.ndarray
    A: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    offset: float = 0.0
    name: str = "model"
    warm_start: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not (sp.isspmatrix_csr(self.A) and not self.A.data.flags.writeable):
            object.__setattr__(self, "A", read_only_csr(self.A))
        n_rows, n_cols = self.A.shape
        for attr, size in (
            ("c", n_cols),
            ("col_lower", n_cols),
            ("col_upper", n_cols),
            ("integer", n_cols),
            ("row_lower", n_rows),
            ("row_upper", n_rows),
        ):
            if np.shape(getattr(self, attr)) != (size,):
                raise ValueError(f"LinearModel.{attr} has shape {np.shape(getattr(self, attr))}, expected ({size},)")
            object.__setattr__(self, attr, read_only(getattr(self, attr), bool if attr == "integer" else float))
        if self.warm_start is not None:
            if np.shape(self.warm_start) != (n_cols,):
                raise ValueError(f"LinearModel.warm_start has shape {np.shape(self.warm_start)}, expected ({n_cols},)")
            object.__setattr__(self, "warm_start", read_only(self.warm_start, float))

    @property
    def n_cols(self) -> int:
        """Number of variables."""
        return self.A.shape[1]

    @property
    def n_rows(self) -> int:
        """Number of constraints."""
        return self.A.shape[0]

    @property
    def n_integer(self) -> int:
        """Number of integer variables."""
        return int(np.count_nonzero(self.integer))


class CrossedBoundsError(InputError):
    """The model's only problem: some lower bounds lie above their upper bounds (e.g. contradictory
    site counts); :func:`optimizer.api.solve` reports the network infeasible when it can name the cause."""


def append_rows(model: LinearModel, rows: sp.csr_matrix, lower: np.ndarray, upper: np.ndarray) -> LinearModel:
    """A new model: ``model`` with the rows ``lower <= rows @ x <= upper`` added after its own.

    Args:
        model: The model (unchanged).
        rows: The new rows, shape (n_new, model.n_cols).
        lower: Their lower bounds, shape (n_new,).
        upper: Their upper bounds, shape (n_new,).

    Returns:
        The extended model (same columns, warm start and offset).
    """
    return replace(
        model,
        A=sp.vstack([model.A, rows], format="csr"),
        row_lower=np.concatenate([model.row_lower, lower]),
        row_upper=np.concatenate([model.row_upper, upper]),
    )


def validate_model(model: LinearModel) -> None:
    """Refuse a model no solver can take as it stands, before any backend sees it.

    NaN anywhere, an infinite or huge (above :data:`MAX_MAGNITUDE`) objective coefficient,
    matrix entry or offset, a lower bound of ``+inf`` or an upper bound of ``-inf``, and a
    lower bound above its upper bound (rows or columns) are input errors, not an
    infeasible model: they come from data the solver cannot represent.

    Args:
        model: The model to check.

    Raises:
        CrossedBoundsError: Crossed bounds are the only problem.
        InputError: Naming the first offending row or column and how many are affected.
    """
    problems: list[Problem] = []

    def report(kind: str, bad: np.ndarray, what: str) -> None:
        if bad.size:
            problems.append(Problem(f"model {model.name}", f"{kind} {int(bad[0])} {what} ({bad.size} {kind}s "
                                    "affected); check the input figures it is built from"))

    def finite_and_sane(values: np.ndarray) -> np.ndarray:
        return ~(np.abs(values) <= MAX_MAGNITUDE)

    report("objective coefficient of column", np.flatnonzero(finite_and_sane(model.c)),
           f"is NaN, infinite or beyond {MAX_MAGNITUDE:g} in magnitude")
    bad_entries = np.flatnonzero(finite_and_sane(model.A.data))
    if bad_entries.size:
        row = int(np.searchsorted(model.A.indptr, bad_entries[0], side="right") - 1)
        column = int(model.A.indices[bad_entries[0]])
        problems.append(Problem(f"model {model.name}", f"matrix entry (row {row}, column {column}) is NaN, "
                                f"infinite or beyond {MAX_MAGNITUDE:g} in magnitude ({bad_entries.size} entries "
                                "affected)"))
    if not abs(model.offset) <= MAX_MAGNITUDE:
        problems.append(Problem(f"model {model.name}", f"objective constant {model.offset!r} is NaN, infinite or "
                                f"beyond {MAX_MAGNITUDE:g} in magnitude"))
    for kind, lower, upper in (("row", model.row_lower, model.row_upper),
                               ("column", model.col_lower, model.col_upper)):
        report(kind, np.flatnonzero(np.isnan(lower) | np.isnan(upper)), "has a NaN bound")
        report(kind, np.flatnonzero((lower == np.inf) | (upper == -np.inf)),
               "has a lower bound of +inf or an upper bound of -inf")
    crossed_only = not problems
    for kind, lower, upper in (("row", model.row_lower, model.row_upper),
                               ("column", model.col_lower, model.col_upper)):
        crossed = np.flatnonzero(lower > upper)
        if crossed.size:
            j = int(crossed[0])
            report(kind, crossed, f"has lower bound {float(lower[j])!r} above upper bound {float(upper[j])!r}")
    if problems:
        raise CrossedBoundsError(problems) if crossed_only else InputError(problems)
