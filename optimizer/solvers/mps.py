"""Vectorised writer of free-format MPS files from a :class:`LinearModel`.

The file is built as whole-array string operations over the CSC columns of the
constraint matrix, so writing a model costs a handful of ``str.join`` calls
rather than one Python object per variable.  Columns are named ``C<j>`` and
rows ``R<i>`` (``j``, ``i`` = 0-based indices into the model arrays), which
lets readers of solver output map names back to positions with ``int(name[1:])``.

MPS has no objective constant: :attr:`LinearModel.offset` is *not* written and
must be added by whoever reads the objective back.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from optimizer.model.linear import LinearModel

#: Name of the objective row.
OBJECTIVE_ROW = "OBJ"
#: Prefix of column names (``C0``, ``C1``, ...).
COLUMN_PREFIX = "C"
#: Prefix of row names (``R0``, ``R1``, ...).
ROW_PREFIX = "R"

_MARKER_START = "    MARKER 'MARKER' 'INTORG'"
_MARKER_END = "    MARKER 'MARKER' 'INTEND'"


def _numbers(values: np.ndarray) -> list[str]:
    """Shortest round-trip decimal text of each float (``repr``), as a list.

    Matrix coefficients repeat a lot (1, -1, demands), so when most values are
    repeats each distinct value is formatted once and the texts are gathered.
    """
    values = np.asarray(values, dtype=float)
    distinct, inverse = np.unique(values, return_inverse=True)
    if 2 * distinct.size > values.size:
        return list(map(repr, values.tolist()))
    texts = np.array(list(map(repr, distinct.tolist())), dtype=object)
    return texts[inverse.ravel()].tolist()


def _lines(fmt: str, *columns: list[str] | list[int]) -> list[str]:
    """Apply ``fmt`` element-wise over equally long columns of fields."""
    return list(map(fmt.format, *columns))


def _name_field(name: str) -> str:
    """A model name safe for the single-token NAME field."""
    return re.sub(r"\s+", "_", name.strip()) or "model"


def check_bounds(model: LinearModel) -> None:
    """Reject bounds MPS cannot express (lower above upper, or NaN).

    Args:
        model: The model to check.

    Raises:
        ValueError: If some row or column has lower > upper or a NaN bound.
    """
    for kind, lower, upper in (("row", model.row_lower, model.row_upper),
                               ("column", model.col_lower, model.col_upper)):
        bad = np.flatnonzero(~(np.asarray(lower) <= np.asarray(upper)))
        if bad.size:
            raise ValueError(f"{kind} {int(bad[0])} has lower bound {float(lower[bad[0]])!r} above upper bound "
                             f"{float(upper[bad[0]])!r} ({bad.size} {kind}s affected)")


def _rows_section(model: LinearModel) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Build ROWS, RHS and RANGES lines.

    Returns:
        (kept, rows, rhs, ranges): ``kept`` masks the rows written (free rows,
        with both bounds infinite, are dropped); the others are section lines.
    """
    lo = np.asarray(model.row_lower, dtype=float)
    up = np.asarray(model.row_upper, dtype=float)
    lo_fin, up_fin = np.isfinite(lo), np.isfinite(up)
    kept = lo_fin | up_fin
    equal = lo_fin & up_fin & (lo == up)
    ranged = lo_fin & up_fin & (lo != up)
    # Ranged rows are written as L rows (rhs = upper) with range upper - lower.
    kind = np.where(equal, "E", np.where(up_fin, "L", "G"))
    rhs_value = np.where(up_fin, up, lo)

    idx = np.flatnonzero(kept)
    rows = [f" N  {OBJECTIVE_ROW}"] + _lines(" {}  " + ROW_PREFIX + "{}", kind[idx].tolist(), idx.tolist())
    with_rhs = np.flatnonzero(kept & (rhs_value != 0.0))
    rhs = _lines("    RHS " + ROW_PREFIX + "{} {}", with_rhs.tolist(), _numbers(rhs_value[with_rhs]))
    rng = np.flatnonzero(ranged)
    ranges = _lines("    RNG " + ROW_PREFIX + "{} {}", rng.tolist(), _numbers(up[rng] - lo[rng]))
    return kept, rows, rhs, ranges


def _columns_section(model: LinearModel, kept_rows: np.ndarray) -> list[str]:
    """Build COLUMNS lines: per column its objective entry, then its matrix entries.

    Integer columns are wrapped in INTORG/INTEND markers, one pair per run of
    consecutive integer columns.
    """
    n = model.n_cols
    csc = sp.csc_matrix(model.A)
    csc.sort_indices()
    cols = np.repeat(np.arange(n), np.diff(csc.indptr))
    keep = kept_rows[csc.indices]
    rows, cols, vals = csc.indices[keep], cols[keep], csc.data[keep]
    counts = np.bincount(cols, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])) + np.arange(n)  # position of each OBJ line

    lines = np.empty(n + rows.size, dtype=object)
    is_obj = np.zeros(lines.size, dtype=bool)
    is_obj[starts] = True
    col_ids = np.arange(n).tolist()
    lines[is_obj] = _lines("    " + COLUMN_PREFIX + "{} " + OBJECTIVE_ROW + " {}", col_ids, _numbers(model.c))
    lines[~is_obj] = _lines("    " + COLUMN_PREFIX + "{} " + ROW_PREFIX + "{} {}",
                            cols.tolist(), rows.tolist(), _numbers(vals))

    integer = np.asarray(model.integer, dtype=bool)
    before = np.concatenate(([False], integer[:-1]))
    after = np.concatenate((integer[1:], [False]))
    run_start = np.flatnonzero(integer & ~before)
    run_end = np.flatnonzero(integer & ~after)
    ends_at = np.append(starts, lines.size)[run_end + 1]  # first line after the run's last column
    positions = np.concatenate((starts[run_start], ends_at))
    markers = np.array([_MARKER_START] * run_start.size + [_MARKER_END] * run_end.size, dtype=object)
    order = np.argsort(positions, kind="stable")
    return np.insert(lines, positions[order], markers[order]).tolist()


def _bounds_section(model: LinearModel) -> list[str]:
    """Build BOUNDS lines stating every column's bounds explicitly.

    Explicit bounds avoid reader-specific defaults (some readers give integer
    columns inside markers an upper bound of 1).
    """
    lo = np.asarray(model.col_lower, dtype=float)
    up = np.asarray(model.col_upper, dtype=float)
    lo_fin, up_fin = np.isfinite(lo), np.isfinite(up)
    fixed = lo_fin & up_fin & (lo == up)
    free = ~lo_fin & ~up_fin
    minus = ~lo_fin & up_fin
    lower = lo_fin & ~fixed
    upper = up_fin & ~fixed
    plus = lo_fin & ~up_fin

    def group(code: str, mask: np.ndarray, values: np.ndarray | None) -> list[str]:
        idx = np.flatnonzero(mask)
        if values is None:
            return _lines(f" {code} BND {COLUMN_PREFIX}{{}}", idx.tolist())
        return _lines(f" {code} BND {COLUMN_PREFIX}{{}} {{}}", idx.tolist(), _numbers(values[idx]))

    return (group("FX", fixed, lo) + group("FR", free, None) + group("MI", minus, None)
            + group("LO", lower, lo) + group("UP", upper, up) + group("PL", plus, None))


def mps_text(model: LinearModel) -> str:
    """Return the model as free-format MPS text (without the objective offset).

    Args:
        model: The model to write.

    Returns:
        The MPS file content, ending with ``ENDATA`` and a newline.

    Raises:
        ValueError: If a bound pair is inconsistent (see :func:`check_bounds`).
    """
    check_bounds(model)
    kept, rows, rhs, ranges = _rows_section(model)
    parts = [f"NAME {_name_field(model.name)}", "ROWS", *rows, "COLUMNS", *_columns_section(model, kept)]
    parts += ["RHS", *rhs]
    if ranges:
        parts += ["RANGES", *ranges]
    parts += ["BOUNDS", *_bounds_section(model), "ENDATA", ""]
    return "\n".join(parts)


def write_mps(model: LinearModel, path: str | Path) -> Path:
    """Write the model to ``path`` as free-format MPS (without the objective offset).

    Args:
        model: The model to write.
        path: Destination file.

    Returns:
        The path written.
    """
    path = Path(path)
    path.write_text(mps_text(model))
    return path
