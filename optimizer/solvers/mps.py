"""Vectorised writer of free-format MPS files from a :class:`LinearModel`.

The file is assembled as bytes by numpy, block by block: indices and integral
values become digit matrices computed arithmetically, other numbers numpy's
shortest round-trip text (the same as ``repr``), the fields of a block of lines
are laid side by side in one ``uint8`` matrix padded with NUL bytes, and the
padding is squeezed out.  No Python
object is made per matrix entry, and the memory in use stays at a few
:data:`BLOCK_LINES`-line blocks whatever the model's size.  Columns are named
``C<j>`` and rows ``R<i>`` (``j``, ``i`` = 0-based indices into the model
arrays), which lets readers of solver output map names back to positions with
``int(name[1:])``.

MPS has no objective constant: :attr:`LinearModel.offset` is *not* written and
must be added by whoever reads the objective back.  A ranged row (both bounds
finite and different) is written as an ``L`` row with a range, so a reader gets
its lower bound back as ``upper - (upper - lower)``: exact unless that
subtraction rounds (it cannot when the bounds are within a factor 2 of each
other); every other number is read back exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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
#: Lines assembled at a time (bounds the writer's temporary memory to a few MB).
BLOCK_LINES = 1 << 16

_MARKER_START = b"    MARKER 'MARKER' 'INTORG'\n"
_MARKER_END = b"    MARKER 'MARKER' 'INTEND'\n"
#: Integral floats below this magnitude print as ``<integer>.0`` (what ``repr`` gives); above, in exponent form.
_INTEGRAL_LIMIT = 1e16

#: A field of a block of lines: literal bytes (the same on every line), or a text matrix with one row per line
#: (``uint8``, NUL bytes are padding and vanish from the file) or a numpy byte-string array.
Field = bytes | np.ndarray


def ids(values: np.ndarray) -> np.ndarray:
    """Decimal text of non-negative integers, as a text matrix (one row per value, digits right-aligned).

    Digits are computed arithmetically, one column per power of ten; leading zeros become NUL padding.
    """
    values = np.asarray(values, dtype=np.int64).ravel()
    width = len(str(int(values.max()))) if values.size else 1
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    text = ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)
    text[:, :-1][values[:, None] < powers[:-1]] = 0  # leading zeros (a zero keeps its last digit)
    return text


def _merge(mask: np.ndarray, chosen: np.ndarray, other: np.ndarray) -> np.ndarray:
    """One text matrix: rows of ``chosen`` where ``mask`` holds, rows of ``other`` elsewhere (in order)."""
    out = np.zeros((mask.size, max(chosen.shape[1], other.shape[1])), dtype=np.uint8)
    out[mask, :chosen.shape[1]] = chosen
    out[~mask, :other.shape[1]] = other
    return out


def _strings(values: np.ndarray) -> np.ndarray:
    """A numpy byte-string array as a text matrix."""
    values = np.ascontiguousarray(values)
    return values.view(np.uint8).reshape(values.size, values.itemsize)


def numbers(values: np.ndarray) -> np.ndarray:
    """Shortest round-trip decimal text of each float (exactly ``repr``'s), as a text matrix.

    Integral values are printed from their digits (``<integer>.0``); the others by numpy's
    shortest round-trip cast, each distinct value once when most of them are repeats (matrix
    coefficients: 1, -1, demands).
    """
    values = np.asarray(values, dtype=float).ravel()
    negative_zero = (values == 0.0) & np.signbit(values)
    integral = (values == np.floor(values)) & (np.abs(values) < _INTEGRAL_LIMIT) & ~negative_zero
    whole = values[integral]
    sign = np.where(whole < 0, ord("-"), 0).astype(np.uint8)[:, None]
    point = np.broadcast_to(np.frombuffer(b".0", dtype=np.uint8), (whole.size, 2))
    whole_text = np.concatenate([sign, ids(np.abs(whole).astype(np.int64)), point], axis=1)
    rest = values[~integral]
    distinct, inverse = np.unique(rest, return_inverse=True)
    text = distinct.astype("S")[inverse.ravel()] if 2 * distinct.size <= rest.size else rest.astype("S")
    return _merge(integral, whole_text, _strings(text))


def _matrix(n: int, fields: list[Field]) -> np.ndarray:
    """The ``n`` lines made of ``fields`` side by side, as an (n, width) ``uint8`` matrix padded with NULs."""
    parts = []
    for field in fields:
        if isinstance(field, bytes):
            parts.append(np.broadcast_to(np.frombuffer(field, dtype=np.uint8), (n, len(field))))
        elif field.dtype == np.uint8:
            parts.append(field)
        else:
            parts.append(_strings(field))
    return np.concatenate(parts, axis=1)


def _squeeze(matrix: np.ndarray) -> bytes:
    """The text of a line matrix: its bytes without the NUL padding."""
    flat = matrix.ravel()
    return flat[flat != 0].tobytes()


def block_lines(n: int, make: Callable[[int, int], list[Field]]) -> Iterator[bytes]:
    """Text of ``n`` lines, :data:`BLOCK_LINES` at a time.

    Args:
        n: Number of lines.
        make: ``make(start, stop)`` gives the fields (:data:`Field`) of lines ``start:stop``, in
            order: literal bytes (separators, the newline) and text matrices (e.g. from :func:`ids`
            and :func:`numbers`).

    Yields:
        The bytes of each block of lines.
    """
    for start in range(0, n, BLOCK_LINES):
        stop = min(start + BLOCK_LINES, n)
        yield _squeeze(_matrix(stop - start, make(start, stop)))


def _indexed(prefix: str, names: str, idx: np.ndarray, values: np.ndarray | None = None) -> Iterator[bytes]:
    """Lines ``<prefix><names><i> <value>`` for each ``i`` in ``idx`` (without a value if ``values`` is None)."""
    head = (prefix + names).encode()

    def make(start: int, stop: int) -> list[Field]:
        if values is None:
            return [head, ids(idx[start:stop]), b"\n"]
        return [head, ids(idx[start:stop]), b" ", numbers(values[start:stop]), b"\n"]

    return block_lines(idx.size, make)


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


def _row_sections(model: LinearModel) -> tuple[np.ndarray, Iterator[bytes], Iterator[bytes], Iterator[bytes]]:
    """ROWS, RHS and RANGES lines.

    Returns:
        (kept, rows, rhs, ranges): ``kept`` masks the rows written (free rows,
        with both bounds infinite, are dropped); the others give each section's lines.
    """
    lo = np.asarray(model.row_lower, dtype=float)
    up = np.asarray(model.row_upper, dtype=float)
    lo_fin, up_fin = np.isfinite(lo), np.isfinite(up)
    kept = lo_fin | up_fin
    equal = lo_fin & up_fin & (lo == up)
    ranged = lo_fin & up_fin & (lo != up)
    # Ranged rows are written as L rows (rhs = upper) with range upper - lower.
    kind = np.where(equal, b"E", np.where(up_fin, b"L", b"G")).astype("S1")
    rhs_value = np.where(up_fin, up, lo)

    idx = np.flatnonzero(kept)
    rows = block_lines(idx.size, lambda a, b: [b" ", kind[idx[a:b]], b"  " + ROW_PREFIX.encode(), ids(idx[a:b]), b"\n"])
    with_rhs = np.flatnonzero(kept & (rhs_value != 0.0))
    rhs = _indexed("    RHS ", ROW_PREFIX, with_rhs, rhs_value[with_rhs])
    rng = np.flatnonzero(ranged)
    ranges = _indexed("    RNG ", ROW_PREFIX, rng, up[rng] - lo[rng])
    return kept, rows, rhs, ranges


def _column_blocks(indptr: np.ndarray) -> np.ndarray:
    """Column boundaries of blocks of about :data:`BLOCK_LINES` lines (one objective line plus entries per column)."""
    n = indptr.size - 1
    lines_before = indptr + np.arange(n + 1)  # lines written before column j
    cuts = np.searchsorted(lines_before, np.arange(BLOCK_LINES, lines_before[-1], BLOCK_LINES), side="right") - 1
    return np.unique(np.concatenate(([0], cuts[cuts > 0], [n])))


def _columns_section(model: LinearModel, kept_rows: np.ndarray) -> Iterator[bytes]:
    """COLUMNS lines: per column its objective entry, then its matrix entries (rows in order).

    Integer columns are wrapped in INTORG/INTEND markers, one pair per run of
    consecutive integer columns.
    """
    n = model.n_cols
    csc = sp.csc_matrix(model.A)
    csc.sort_indices()
    integer = np.asarray(model.integer, dtype=bool)
    run_start = integer & ~np.concatenate(([False], integer[:-1]))
    run_end = integer & ~np.concatenate((integer[1:], [False]))
    c = np.asarray(model.c, dtype=float)
    column_head, row_head, objective = (b"    " + COLUMN_PREFIX.encode(), ROW_PREFIX.encode(),
                                        OBJECTIVE_ROW.encode())
    bounds = _column_blocks(csc.indptr) if n else np.zeros(1, dtype=np.int64)
    for j0, j1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        p0, p1 = int(csc.indptr[j0]), int(csc.indptr[j1])
        rows, vals = csc.indices[p0:p1], csc.data[p0:p1]
        cols = np.repeat(np.arange(j0, j1), np.diff(csc.indptr[j0:j1 + 1]))
        keep = kept_rows[rows]
        rows, vals, cols = rows[keep], vals[keep], cols[keep]
        counts = np.bincount(cols - j0, minlength=j1 - j0)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])) + np.arange(j1 - j0)  # each objective line
        size = j1 - j0 + rows.size
        is_obj = np.zeros(size, dtype=bool)
        is_obj[starts] = True
        line_col = np.empty(size, dtype=np.int64)
        line_col[is_obj], line_col[~is_obj] = np.arange(j0, j1), cols
        names = _merge(is_obj, _matrix(j1 - j0, [objective]), _matrix(rows.size, [row_head, ids(rows)]))
        values = _merge(is_obj, numbers(c[j0:j1]), numbers(vals))
        lines = _matrix(size, [column_head, ids(line_col), b" ", names, b" ", values, b"\n"])
        yield _squeeze(_with_markers(lines, starts, counts, run_start[j0:j1], run_end[j0:j1]))


def _with_markers(lines: np.ndarray, starts: np.ndarray, counts: np.ndarray, run_start: np.ndarray,
                  run_end: np.ndarray) -> np.ndarray:
    """Insert INTORG before the first line of each column starting an integer run and INTEND after the last line
    of each column ending one (runs are maximal, so no INTEND and INTORG fall at the same place)."""
    if not (run_start.any() or run_end.any()):
        return lines
    positions = np.concatenate((starts[run_start], (starts + 1 + counts)[run_end]))
    opening = np.arange(positions.size) < int(run_start.sum())
    width = max(lines.shape[1], len(_MARKER_START))
    lines = np.pad(lines, ((0, 0), (0, width - lines.shape[1])))
    texts = np.array([_MARKER_START, _MARKER_END], dtype=f"S{width}").view(np.uint8).reshape(2, width)
    markers = np.where(opening[:, None], texts[0], texts[1])
    order = np.argsort(positions, kind="stable")
    return np.insert(lines, positions[order], markers[order], axis=0)


def _bounds_section(model: LinearModel) -> Iterator[bytes]:
    """BOUNDS lines stating every column's bounds explicitly.

    Explicit bounds avoid reader-specific defaults (some readers give integer
    columns inside markers an upper bound of 1).
    """
    lo = np.asarray(model.col_lower, dtype=float)
    up = np.asarray(model.col_upper, dtype=float)
    lo_fin, up_fin = np.isfinite(lo), np.isfinite(up)
    fixed = lo_fin & up_fin & (lo == up)
    groups = (("FX", fixed, lo), ("FR", ~lo_fin & ~up_fin, None), ("MI", ~lo_fin & up_fin, None),
              ("LO", lo_fin & ~fixed, lo), ("UP", up_fin & ~fixed, up), ("PL", lo_fin & ~up_fin, None))
    for code, mask, values in groups:
        idx = np.flatnonzero(mask)
        yield from _indexed(f" {code} BND ", COLUMN_PREFIX, idx, None if values is None else values[idx])


def mps_chunks(model: LinearModel) -> Iterator[bytes]:
    """The model as free-format MPS (without the objective offset), in pieces of bytes to write in turn.

    Args:
        model: The model to write.

    Yields:
        Consecutive pieces of the file, ending with ``ENDATA`` and a newline.

    Raises:
        ValueError: If a bound pair is inconsistent (see :func:`check_bounds`), before anything is yielded.
    """
    check_bounds(model)
    kept, rows, rhs, ranges = _row_sections(model)
    yield f"NAME {_name_field(model.name)}\nROWS\n N  {OBJECTIVE_ROW}\n".encode()
    yield from rows
    yield b"COLUMNS\n"
    yield from _columns_section(model, kept)
    yield b"RHS\n"
    yield from rhs
    first_range = next(ranges, None)
    if first_range is not None:
        yield b"RANGES\n" + first_range
        yield from ranges
    yield b"BOUNDS\n"
    yield from _bounds_section(model)
    yield b"ENDATA\n"


def mps_text(model: LinearModel) -> str:
    """Return the model as free-format MPS text (without the objective offset).

    Args:
        model: The model to write.

    Returns:
        The MPS file content, ending with ``ENDATA`` and a newline.

    Raises:
        ValueError: If a bound pair is inconsistent (see :func:`check_bounds`).
    """
    return b"".join(mps_chunks(model)).decode()


def write_mps(model: LinearModel, path: str | Path) -> Path:
    """Write the model to ``path`` as free-format MPS (without the objective offset), block by block.

    Args:
        model: The model to write.
        path: Destination file.

    Returns:
        The path written.

    Raises:
        ValueError: If a bound pair is inconsistent (see :func:`check_bounds`); nothing is written then.
    """
    path = Path(path)
    chunks = mps_chunks(model)
    first = next(chunks)  # bounds are checked before the file is opened
    with path.open("wb") as handle:
        handle.write(first)
        for chunk in chunks:
            handle.write(chunk)
    return path
