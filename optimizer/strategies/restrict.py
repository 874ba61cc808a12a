"""Sub-models of a built model: some columns fixed and substituted out, the rest kept.

A restricted model keeps the columns in ``keep`` and moves every other column, at a fixed
value, into the row bounds and the objective constant; rows left without an entry are dropped
unless their bounds exclude zero (a demand row with no lane left stays, and makes the
sub-model infeasible, as it should).  Solutions map back to the full column space with
:meth:`Restricted.lift`.  The input model is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.model.linear import LinearModel


@dataclass(frozen=True)
class Restricted:
    """A sub-model and the maps back to its parent.

    Attributes:
        lp: The sub-model (its offset includes the fixed columns' cost).
        cols: Parent column of each sub-model column.
        rows: Parent row of each sub-model row.
        fixed: Full-length vector holding the fixed columns' values (kept columns 0).
    """

    lp: LinearModel
    cols: np.ndarray
    rows: np.ndarray
    fixed: np.ndarray

    def lift(self, x: np.ndarray) -> np.ndarray:
        """A full-length solution: the fixed values, with ``x`` at the kept columns."""
        full = self.fixed.copy()
        full[self.cols] = x
        return full

    def full_duals(self, row_dual: np.ndarray, n_rows: int) -> np.ndarray:
        """Row duals in the parent's row space (0 on dropped rows, which bind nothing)."""
        out = np.zeros(n_rows)
        out[self.rows] = row_dual
        return out


def restrict(lp: LinearModel, csc: sp.csc_matrix, keep: np.ndarray, fixed: np.ndarray, *,
             relax: bool = False, name: str | None = None) -> Restricted:
    """The sub-model over the columns ``keep``, every other column fixed at ``fixed``.

    Args:
        lp: The parent model.
        csc: ``lp.A`` in CSC form (computed once by the caller: column slicing is cheap there).
        keep: Parent column indices to keep (sorted).
        fixed: Full-length values of the fixed columns (entries at ``keep`` are ignored).
        relax: Drop integrality of the kept columns (an LP).
        name: The sub-model's name.

    Returns:
        The sub-model and its maps.
    """
    keep = np.asarray(keep, dtype=np.int64)
    values = np.asarray(fixed, dtype=float).copy()
    values[keep] = 0.0
    moved = np.flatnonzero(values)
    shift = csc[:, moved] @ values[moved] if moved.size else np.zeros(lp.n_rows)
    sub = csc[:, keep]
    present = np.zeros(lp.n_rows, dtype=bool)
    present[sub.indices] = True
    lower = lp.row_lower - shift
    upper = lp.row_upper - shift
    rows = np.flatnonzero(present | (lower > 0) | (upper < 0))
    matrix = sub[rows].tocsr()
    model = LinearModel(
        c=lp.c[keep], A=matrix, row_lower=lower[rows], row_upper=upper[rows], col_lower=lp.col_lower[keep],
        col_upper=lp.col_upper[keep], integer=np.zeros(keep.size, dtype=bool) if relax else lp.integer[keep],
        offset=float(lp.offset + lp.c[moved] @ values[moved]), name=name or lp.name,
    )
    return Restricted(lp=model, cols=keep, rows=rows, fixed=values)
