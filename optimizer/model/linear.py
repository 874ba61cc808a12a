"""Solver-neutral mixed-integer linear program held as arrays.

Every backend adapter reads this one structure; nothing here knows about
warehouses.  The problem is::

    minimise    c @ x + offset
    subject to  row_lower <= A @ x <= row_upper
                col_lower <=     x <= col_upper
                x[j] integer where integer[j]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass
class LinearModel:
    """A minimisation MIP in array form.

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
