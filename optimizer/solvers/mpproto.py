"""Vectorised encoder of a :class:`LinearModel` as OR-Tools' ``MPModelProto`` (protobuf wire format).

OR-Tools' Python ``model_builder`` helpers load the bounds, objective and matrix in
one call (``fill_model_from_sparse_data``) but take integrality and solution hints
one Python call per variable.  Encoding the whole model here instead, with numpy,
gives OR-Tools everything at once: :func:`write_model` writes the binary message,
which ``ModelBuilderHelper.read_model_from_proto_file`` parses in C++.

The message (``ortools/linear_solver/linear_solver.proto``):

* ``MPModelProto``: ``objective_offset`` = 2 (double), ``variable`` = 3, ``constraint`` = 4,
  ``name`` = 5 (string), ``solution_hint`` = 6;
* ``MPVariableProto``: ``lower_bound`` = 1, ``upper_bound`` = 2, ``objective_coefficient`` = 3
  (doubles), ``is_integer`` = 4 (bool): every field is written, so each variable is 31 bytes;
* ``MPConstraintProto``: ``lower_bound`` = 2, ``upper_bound`` = 3 (doubles), ``var_index`` = 6
  (packed varints), ``coefficient`` = 7 (packed doubles), in the CSR order of the row;
* ``PartialVariableAssignment``: ``var_index`` = 1 (packed varints), ``var_value`` = 2 (packed doubles).

Records are assembled :data:`BLOCK_ENTRIES` matrix entries (or variables) at a time:
the sizes of every field are computed first, then each field is written in place
for all records of the block at once, so the temporary arrays stay small whatever
the model's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from optimizer.model.linear import LinearModel

#: Variables, or matrix entries of whole rows, encoded at a time.
BLOCK_ENTRIES = 1 << 16

#: Wire types of the protobuf encoding.
_FIXED64, _LENGTH_DELIMITED, _VARINT = 1, 2, 0


def _tag(field: int, wire_type: int) -> int:
    """The one-byte key of a field (field numbers below 16)."""
    return field << 3 | wire_type


#: Smallest value needing 2, 3, ... 9 bytes as a varint (every non-negative int64 fits in 9).
_VARINT_LIMITS = np.array([1 << (7 * k) for k in range(1, 9)], dtype=np.int64)


def varint_sizes(values: np.ndarray) -> np.ndarray:
    """Bytes taken by each non-negative integer as a protobuf varint (7 bits per byte)."""
    return np.searchsorted(_VARINT_LIMITS, np.asarray(values, dtype=np.int64), side="right") + 1


def put_varints(out: np.ndarray, at: np.ndarray, values: np.ndarray, sizes: np.ndarray | None = None) -> None:
    """Write non-negative integers as protobuf varints into ``out``, value ``i`` from position ``at[i]`` on.

    Args:
        out: The bytes being assembled (``uint8``).
        at: Position of each value's first byte.
        values: The integers.
        sizes: Their :func:`varint_sizes`, if already known.
    """
    values = np.asarray(values, dtype=np.int64)
    sizes = varint_sizes(values) if sizes is None else sizes
    out[at] = (values & 0x7F) | np.where(sizes > 1, 0x80, 0)  # the first byte of every value
    for k in range(1, int(sizes.max(initial=1))):
        more = np.flatnonzero(sizes > k)
        out[at[more] + k] = ((values[more] >> (7 * k)) & 0x7F) | np.where(sizes[more] > k + 1, 0x80, 0)


def varints(values: np.ndarray) -> bytes:
    """Protobuf varints of non-negative integers, back to back."""
    sizes = varint_sizes(values)
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    put_varints(out, np.cumsum(sizes) - sizes, values, sizes)
    return out.tobytes()


def _doubles(values: np.ndarray) -> np.ndarray:
    """Little-endian IEEE doubles, shape (n, 8)."""
    return np.ascontiguousarray(values, dtype="<f8").view(np.uint8).reshape(-1, 8)


def _put_doubles(out: np.ndarray, at: np.ndarray, values: np.ndarray) -> None:
    """Write doubles into ``out``, value ``i`` at positions ``at[i]`` to ``at[i] + 7`` (places must not overlap)."""
    if not at.size:
        return
    windows = np.lib.stride_tricks.as_strided(out, shape=(out.size - 7, 8), strides=(1, 1), writeable=True)
    windows[at] = _doubles(values)


def _message(field: int, body: bytes) -> bytes:
    """A length-delimited field holding ``body``."""
    return bytes([_tag(field, _LENGTH_DELIMITED)]) + varints(np.array([len(body)])) + body


def _variables(model: LinearModel) -> Iterator[bytes]:
    """``variable`` records: [key 3, length 29, key 1, lower, key 2, upper, key 3, cost, key 4, integer]."""
    lower, upper = np.asarray(model.col_lower, dtype=float), np.asarray(model.col_upper, dtype=float)
    cost, integer = np.asarray(model.c, dtype=float), np.asarray(model.integer, dtype=bool)
    for start in range(0, model.n_cols, BLOCK_ENTRIES):
        part = slice(start, min(start + BLOCK_ENTRIES, model.n_cols))
        n = part.stop - part.start

        def key(field: int, wire_type: int) -> np.ndarray:
            return np.full((n, 1), _tag(field, wire_type), dtype=np.uint8)

        yield np.concatenate([
            key(3, _LENGTH_DELIMITED), np.full((n, 1), 29, dtype=np.uint8),
            key(1, _FIXED64), _doubles(lower[part]), key(2, _FIXED64), _doubles(upper[part]),
            key(3, _FIXED64), _doubles(cost[part]), key(4, _VARINT), integer[part].astype(np.uint8)[:, None],
        ], axis=1).tobytes()


def _row_blocks(indptr: np.ndarray) -> np.ndarray:
    """Row boundaries of blocks of about :data:`BLOCK_ENTRIES` entries (at least one row each)."""
    n = indptr.size - 1
    cuts = np.searchsorted(indptr, np.arange(BLOCK_ENTRIES, indptr[-1], BLOCK_ENTRIES), side="right") - 1
    return np.unique(np.concatenate(([0], cuts, np.arange(0, n, BLOCK_ENTRIES), [n])))


def _constraints(model: LinearModel) -> Iterator[bytes]:
    """``constraint`` records, each [key 4, length, key 2, lower, key 3, upper, key 6, length, indices, key 7,
    length, coefficients]: sizes are computed first, then every field is written in place."""
    A = model.A
    lower, upper = np.asarray(model.row_lower, dtype=float), np.asarray(model.row_upper, dtype=float)
    bounds = _row_blocks(A.indptr)
    for r0, r1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        first, stop = int(A.indptr[r0]), int(A.indptr[r1])
        count = np.diff(A.indptr[r0:r1 + 1]).astype(np.int64)
        row_first = A.indptr[r0:r1] - first  # each row's first entry, counted from the block's
        row_of = np.repeat(np.arange(r1 - r0), count)
        indices = A.indices[first:stop]
        index_sizes = varint_sizes(indices)
        size_before = np.concatenate(([0], np.cumsum(index_sizes)))
        index_length = np.diff(size_before[A.indptr[r0:r1 + 1] - first])
        index_header, coef_header = varint_sizes(index_length), varint_sizes(8 * count)
        body = 18 + 1 + index_header + index_length + 1 + coef_header + 8 * count
        body_header = varint_sizes(body)
        record = 1 + body_header + body
        start = np.cumsum(record) - record
        out = np.empty(int(record.sum()), dtype=np.uint8)
        out[start] = _tag(4, _LENGTH_DELIMITED)
        put_varints(out, start + 1, body, body_header)
        at = start + 1 + body_header  # the bounds
        out[at] = _tag(2, _FIXED64)
        _put_doubles(out, at + 1, lower[r0:r1])
        out[at + 9] = _tag(3, _FIXED64)
        _put_doubles(out, at + 10, upper[r0:r1])
        out[at + 18] = _tag(6, _LENGTH_DELIMITED)
        put_varints(out, at + 19, index_length, index_header)
        at = at + 19 + index_header  # the indices
        entry_at = at[row_of] + size_before[:-1] - size_before[row_first][row_of]
        put_varints(out, entry_at, indices, index_sizes)
        at = at + index_length  # the coefficients' key
        out[at] = _tag(7, _LENGTH_DELIMITED)
        put_varints(out, at + 1, 8 * count, coef_header)
        at = at + 1 + coef_header
        _put_doubles(out, at[row_of] + 8 * (np.arange(stop - first) - row_first[row_of]), A.data[first:stop])
        yield out.tobytes()


def _hint(values: np.ndarray) -> bytes:
    """The ``solution_hint`` field: every column with its value."""
    body = _message(1, varints(np.arange(values.size))) + _message(2, _doubles(values).tobytes())
    return _message(6, body)


def model_chunks(model: LinearModel) -> Iterator[bytes]:
    """The serialized ``MPModelProto`` of ``model`` (minimisation, offset and warm start included), in pieces.

    Args:
        model: The model.

    Yields:
        Consecutive pieces of the message.
    """
    yield _message(5, model.name.encode()) + bytes([_tag(2, _FIXED64)]) + _doubles(np.array([model.offset])).tobytes()
    yield from _variables(model)
    yield from _constraints(model)
    if model.warm_start is not None:
        yield _hint(np.asarray(model.warm_start, dtype=float))


def write_model(model: LinearModel, path: str | Path) -> Path:
    """Write ``model`` as a binary ``MPModelProto`` file (see :func:`model_chunks`).

    Args:
        model: The model.
        path: Destination file.

    Returns:
        The path written.
    """
    path = Path(path)
    with path.open("wb") as handle:
        for chunk in model_chunks(model):
            handle.write(chunk)
    return path
