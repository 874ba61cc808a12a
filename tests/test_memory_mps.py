"""The block-wise MPS writer: HiGHS reads back exactly the model written, with little memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer.solvers.mps as mps
from optimizer.model.linear import LinearModel

highspy = pytest.importorskip("highspy")


def random_model(seed: int, n_rows: int, n_cols: int, density: float) -> LinearModel:
    """A random MIP with every kind of row and bound, repeated and distinct coefficients, integer runs."""
    rng = np.random.default_rng(seed)
    A = sp.random(n_rows, n_cols, density=density, random_state=rng, format="csr")
    scale = rng.choice([1.0, -1.0, 1e-6, 3e7, -0.1], A.data.size)
    A.data = np.where(rng.random(A.data.size) < 0.5, np.round(A.data * 4) + 1, A.data) * scale
    row_lower = rng.choice([-np.inf, 0.0, -1.5, 2.0, 1 / 3], n_rows)
    row_upper = np.maximum(row_lower, rng.choice([np.inf, 0.0, 3.25, 2.0, np.pi], n_rows))
    row_upper[rng.random(n_rows) < 0.1] = np.inf
    row_lower[rng.random(n_rows) < 0.1] = -np.inf  # some free rows, which the writer drops
    col_lower = rng.choice([-np.inf, 0.0, 1.0, -2.5, 0.1], n_cols)
    col_upper = np.maximum(col_lower, rng.choice([np.inf, 1.0, 5.0, 0.0, 1e9], n_cols))
    c = rng.standard_normal(n_cols) * rng.choice([1.0, 1e-12, 1e12], n_cols)
    c[rng.random(n_cols) < 0.3] = 0.0
    c[rng.random(n_cols) < 0.2] = 7.0
    integer = np.repeat(rng.random(n_cols // 4 + 1) < 0.5, 4)[:n_cols]
    return LinearModel(c=c, A=A, row_lower=row_lower, row_upper=row_upper, col_lower=col_lower,
                       col_upper=col_upper, integer=integer, name=f"random model {seed}")


def read_back(path: Path) -> LinearModel:
    """The model HiGHS reads from an MPS file, in the writer's numbering (names ``C<j>``, ``R<i>``)."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    assert highs.readModel(str(path)) == highspy.HighsStatus.kOk
    lp = highs.getLp()
    cols = np.array([int(name[1:]) for name in lp.col_names_], dtype=np.int64)
    rows = np.array([int(name[1:]) for name in lp.row_names_], dtype=np.int64)
    assert np.array_equal(cols, np.arange(lp.num_col_))
    matrix = lp.a_matrix_
    A = sp.csc_matrix((np.array(matrix.value_), np.array(matrix.index_), np.array(matrix.start_)),
                      shape=(lp.num_row_, lp.num_col_)).tocsr()
    integrality = np.array([int(v) for v in lp.integrality_], dtype=int)
    integer = integrality == int(highspy.HighsVarType.kInteger) if integrality.size else np.zeros(lp.num_col_, bool)
    return LinearModel(c=np.array(lp.col_cost_), A=A, row_lower=np.array(lp.row_lower_),
                       row_upper=np.array(lp.row_upper_), col_lower=np.array(lp.col_lower_),
                       col_upper=np.array(lp.col_upper_), integer=integer, offset=float(rows.size),
                       name=",".join(map(str, rows)))


def assert_same_model(written: LinearModel, read: LinearModel) -> None:
    """Every number read back equals the one written, bit for bit; free rows are the only ones missing.

    A ranged row's lower bound comes back as ``upper - (upper - lower)`` (MPS states the range, not the bound),
    which is ``lower`` itself unless the subtraction rounds.
    """
    kept = np.isfinite(written.row_lower) | np.isfinite(written.row_upper)
    rows = np.array([int(r) for r in read.name.split(",") if r], dtype=np.int64)
    assert np.array_equal(rows, np.flatnonzero(kept))
    for name in ("c", "col_lower", "col_upper", "integer"):
        assert np.array_equal(getattr(read, name), getattr(written, name)), name
    lo, up = written.row_lower[kept], written.row_upper[kept]
    with np.errstate(invalid="ignore"):
        ranged = np.isfinite(lo) & np.isfinite(up) & (lo != up)
        assert np.array_equal(read.row_lower, np.where(ranged, up - (up - lo), lo))
    assert np.array_equal(read.row_upper, written.row_upper[kept])
    expected = written.A[kept]
    assert read.A.shape == expected.shape
    assert (read.A != expected).nnz == 0


@pytest.mark.parametrize("block", [mps.BLOCK_LINES, 50, 1])
def test_highs_reads_back_exactly_the_random_model_written(tmp_path: Path, monkeypatch, block: int) -> None:
    monkeypatch.setattr(mps, "BLOCK_LINES", block)
    model = random_model(seed=7, n_rows=60, n_cols=90, density=0.08)
    free = ~np.isfinite(model.row_lower) & ~np.isfinite(model.row_upper)
    assert free.any() and model.integer.any() and not model.integer.all()
    assert_same_model(model, read_back(mps.write_mps(model, tmp_path / "m.mps")))


def test_text_does_not_depend_on_the_block_size(monkeypatch) -> None:
    model = random_model(seed=3, n_rows=40, n_cols=50, density=0.2)
    whole = mps.mps_text(model)
    monkeypatch.setattr(mps, "BLOCK_LINES", 3)
    assert mps.mps_text(model) == whole
    assert whole.count("'INTORG'") == whole.count("'INTEND'") > 1


def test_numbers_are_repr_text_on_both_paths() -> None:
    rng = np.random.default_rng(11)
    distinct = rng.standard_normal(500) * 10.0 ** rng.integers(-300, 300, 500)
    special = np.array([0.0, -0.0, 1.0, -3.0, 2.5, 1e16, -1e16, 9999999999999998.0, 5e-324, 1e15 + 0.5, 0.1])
    for values in (np.concatenate([distinct, special]), np.repeat(special, 50)):  # mostly distinct / repeats
        texts = [bytes(row[row != 0]).decode() for row in mps.numbers(values)]
        assert texts == list(map(repr, values.tolist()))
    assert [bytes(row[row != 0]) for row in mps.ids(np.array([0, 7, 10, 99, 100, 12345]))] == \
        [b"0", b"7", b"10", b"99", b"100", b"12345"]


finite = st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_subnormal=False)
# Matrix entries within what HiGHS accepts (it rejects 1e15 and above and drops tiny ones).
nonzero = st.one_of(st.floats(min_value=1e-6, max_value=1e12), st.floats(min_value=-1e12, max_value=-1e-6),
                    st.sampled_from([1.0, -1.0]))


@st.composite
def small_models(draw: st.DrawFn) -> LinearModel:
    n_rows, n_cols = draw(st.integers(0, 6)), draw(st.integers(1, 6))
    cells = draw(st.lists(st.tuples(st.integers(0, max(n_rows - 1, 0)), st.integers(0, n_cols - 1), nonzero),
                          max_size=n_rows * n_cols, unique_by=lambda t: t[:2])) if n_rows else []
    A = sp.csr_matrix(([v for _, _, v in cells], ([r for r, _, _ in cells], [j for _, j, _ in cells])),
                      shape=(n_rows, n_cols))
    bound = st.one_of(finite, st.just(np.inf))

    def pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
        lo = -np.array(draw(st.lists(bound, min_size=n, max_size=n)), dtype=float)
        width = np.array(draw(st.lists(st.one_of(st.just(0.0), st.floats(0, 1e15), st.just(np.inf)),
                                       min_size=n, max_size=n)), dtype=float)
        with np.errstate(invalid="ignore"):
            up = np.where(np.isfinite(lo), lo + width, draw(st.sampled_from([np.inf, 0.0, 4.5])))
        return lo, up

    row_lower, row_upper = pairs(n_rows)
    col_lower, col_upper = pairs(n_cols)
    c = np.array(draw(st.lists(finite, min_size=n_cols, max_size=n_cols)), dtype=float)
    integer = np.array(draw(st.lists(st.booleans(), min_size=n_cols, max_size=n_cols)), dtype=bool)
    return LinearModel(c=c, A=A, row_lower=row_lower, row_upper=row_upper, col_lower=col_lower,
                       col_upper=col_upper, integer=integer, name="property")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=small_models())
def test_property_any_small_model_round_trips_through_highs(tmp_path: Path, model: LinearModel) -> None:
    assert_same_model(model, read_back(mps.write_mps(model, tmp_path / "p.mps")))


def test_writer_memory_does_not_grow_with_one_object_per_entry(tmp_path: Path, monkeypatch) -> None:
    """About 100k entries: the old writer (a Python string per line) peaked at ~240 bytes per entry."""
    monkeypatch.setattr(mps, "BLOCK_LINES", 4096)
    model = random_model(seed=5, n_rows=2_000, n_cols=5_000, density=0.01)
    tracemalloc.start()
    try:
        mps.write_mps(model, tmp_path / "big.mps")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert model.A.nnz > 90_000
    assert peak < 40 * model.A.nnz  # the CSC copy (12 bytes per entry) plus a few blocks
