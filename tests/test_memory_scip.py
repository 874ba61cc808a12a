"""The numpy MPModelProto encoder behind the SCIP backend: the model OR-Tools reads is the model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import optimizer.solvers.mpproto as mpproto
from optimizer.model.linear import LinearModel
from optimizer.solvers import available_solvers
from test_memory_mps import random_model

pb = pytest.importorskip("ortools.linear_solver.linear_solver_pb2")
mbh = pytest.importorskip("ortools.linear_solver.python.model_builder_helper")


def encoded(model: LinearModel) -> "pb.MPModelProto":
    """Parse the encoder's bytes with the official protobuf library."""
    return pb.MPModelProto.FromString(b"".join(mpproto.model_chunks(model)))


def per_variable_builder(model: LinearModel) -> "mbh.ModelBuilderHelper":
    """The model loaded the way OR-Tools' helpers offer: arrays at once, then integrality and hints one by one."""
    builder = mbh.ModelBuilderHelper()
    builder.set_name(model.name)
    builder.fill_model_from_sparse_data(np.array(model.col_lower), np.array(model.col_upper), np.array(model.c),
                                        np.array(model.row_lower), np.array(model.row_upper),
                                        sp.csr_matrix(model.A, copy=True))
    for j in np.flatnonzero(model.integer).tolist():
        builder.set_var_integrality(j, True)
    builder.set_objective_offset(float(model.offset))
    if model.warm_start is not None:
        for j, value in enumerate(np.asarray(model.warm_start, dtype=float).tolist()):
            builder.add_hint(j, value)
    return builder


def test_varints_are_protobufs_own() -> None:
    values = np.array([0, 1, 127, 128, 300, 16_383, 16_384, 2**21 - 1, 2**21, 2**28, 2**31 - 1])
    official = pb.PartialVariableAssignment(var_index=values.tolist()).SerializeToString()
    ours = bytes([0x0A]) + mpproto.varints(np.array([len(mpproto.varints(values))])) + mpproto.varints(values)
    assert ours == official
    assert mpproto.varint_sizes(values).tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5]


@pytest.mark.parametrize("block", [mpproto.BLOCK_ENTRIES, 37, 1])
def test_every_field_of_the_model_is_encoded(monkeypatch, block: int) -> None:
    monkeypatch.setattr(mpproto, "BLOCK_ENTRIES", block)
    model = random_model(seed=4, n_rows=120, n_cols=20_000, density=0.003)
    emptied = sp.csr_matrix(sp.diags((np.arange(120) % 10 != 0).astype(float)) @ model.A)
    emptied.eliminate_zeros()  # every tenth row without entries
    model = replace(model, A=emptied, offset=-7.5, warm_start=np.random.default_rng(1).uniform(-3, 3, 20_000))
    assert (np.diff(model.A.indptr) == 0).any() and model.A.indices.max() >= 2**14  # empty rows, 3-byte indices
    proto = encoded(model)
    assert proto.name == model.name and proto.objective_offset == -7.5 and not proto.maximize
    variables = np.array([(v.lower_bound, v.upper_bound, v.objective_coefficient, v.is_integer)
                          for v in proto.variable])
    assert np.array_equal(variables, np.column_stack([model.col_lower, model.col_upper, model.c, model.integer]))
    rows = proto.constraint
    assert np.array_equal([r.lower_bound for r in rows], model.row_lower)
    assert np.array_equal([r.upper_bound for r in rows], model.row_upper)
    assert np.array_equal([len(r.var_index) for r in rows], np.diff(model.A.indptr))
    assert np.array_equal(np.concatenate([list(r.var_index) for r in rows]), model.A.indices)
    assert np.array_equal(np.concatenate([list(r.coefficient) for r in rows]), model.A.data)
    assert np.array_equal(proto.solution_hint.var_index, np.arange(model.n_cols))
    assert np.array_equal(proto.solution_hint.var_value, model.warm_start)


def test_ortools_reads_the_same_model_as_with_its_per_variable_calls(tmp_path: Path) -> None:
    model = replace(random_model(seed=9, n_rows=80, n_cols=150, density=0.05), offset=12.25,
                    warm_start=np.linspace(0.0, 1.0, 150))
    builder = mbh.ModelBuilderHelper()
    assert builder.read_model_from_proto_file(str(mpproto.write_model(model, tmp_path / "m.pb")))
    ours, theirs = mbh.to_mpmodel_proto(builder), mbh.to_mpmodel_proto(per_variable_builder(model))
    for variable in ours.variable:
        if not variable.is_integer:
            variable.ClearField("is_integer")  # written explicitly as false here, left unset by OR-Tools
    assert ours == theirs
    assert not encoded(replace(model, warm_start=None)).HasField("solution_hint")


@pytest.mark.skipif("scip" not in available_solvers(), reason="SCIP not installed")
def test_scip_solves_the_encoded_model_with_its_warm_start() -> None:
    from optimizer.solvers import get_solver
    from optimizer.solvers.base import SolveOptions, Status

    # min -x - y, x + y <= 1.5, x integer in [0, 1], y in [0, 1]: x = 1, y = 0.5, objective -1.5 + offset.
    model = LinearModel(c=np.array([-1.0, -1.0]), A=sp.csr_matrix(np.array([[1.0, 1.0]])),
                        row_lower=np.array([-np.inf]), row_upper=np.array([1.5]), col_lower=np.zeros(2),
                        col_upper=np.ones(2), integer=np.array([True, False]), offset=10.0, name="two columns",
                        warm_start=np.array([1.0, 0.5]))
    result = get_solver("scip").solve(model, SolveOptions())
    assert result.status is Status.OPTIMAL
    assert result.objective == pytest.approx(8.5) and result.x == pytest.approx([1.0, 0.5])
