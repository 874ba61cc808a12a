"""Steps return new objects: a built model solved any number of times, by any solver, gives the same plan.

Issue 10, defects 1 (a model solved twice returned a worse plan labelled optimal: the pooled stock
columns and cuts were added to the same ``BuiltModel`` again), 9 (a bound above the objective was
clipped away, so the error passed as gap 0) and 10 (a time-limited pooled solve dropped the plan of
an earlier round when a later round found none).
"""

from __future__ import annotations

import dataclasses

from dataclasses import FrozenInstanceError, replace
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from click.testing import CliRunner

import optimizer
from factory import make_network
from optimizer.cli import main
from optimizer.model.build import build_model
from optimizer.model.pooled import add_pooled_inventory
from optimizer.network import InventorySettings
from optimizer.solvers import available_solvers
from optimizer.solvers.base import SolverResult, Status
from optimizer.solvers.highs import HighsSolver

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo"


def single_echelon_demo() -> optimizer.Network:
    """The demo's sites, regions, products and pooled stock without its suppliers and links (seconds to solve;
    the full demo, where goods cross only open sites, takes minutes)."""
    return dataclasses.replace(optimizer.load(DEMO), suppliers=None, supply=None, links=None)
TINY = Path(__file__).parent / "data" / "tiny"
SOLVERS = available_solvers()


def issue_example():
    """Issue 10, defect 1: sites at lon 0 and 1 on the equator, a region beside each with 70 units a week
    (std 7.5 and 10), unit value 100, holding rate 0.365, service level Phi(2), single sourcing, pooled
    stock, lead time 7 days.

    One site serving both: safety 2 * sqrt(7.5^2 + 10^2) = 25 units, cycle stock (7-day review) 70 units,
    holding 0.7 per unit and week: 0.7 * 95 = 66.5, plus 70 units x 111.19 km x 0.001 = 7.78 shipping
    for the far region: 74.28.  Two sites: safety 2 * (7.5 + 10) = 35, 0.7 * 105 = 73.50, no long
    shipping: two sites win, 73.50 per week.
    """
    sites = [{"id": "A", "lon": 0.0}, {"id": "B", "lon": 1.0}]
    regions = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 1.0}]
    products = [{"id": "P", "unit_value": 100.0, "holding_rate": 0.365, "shipping_cost_per_km": 0.001}]
    net = make_network(sites, regions, products, [("R1", "P", 70.0, 7.5), ("R2", "P", 70.0, 10.0)],
                       single_sourcing=True, period_days=7.0,
                       inventory=InventorySettings(model="pooled", lead_time_days=7.0))
    net.products["service_level"] = NormalDist().cdf(2.0)
    return net


def snapshot(built) -> dict[str, object]:
    """Copies of everything a solve could change in a built model."""
    lp = built.lp
    return {"arrays": [np.array(a) for a in (lp.c, lp.row_lower, lp.row_upper, lp.col_lower, lp.col_upper,
                                              lp.integer)],
            "A": lp.A.copy(), "warm_start": lp.warm_start,
            "costs": {k: np.array(v) for k, v in built.cost_vectors.items()}}


def assert_unchanged(built, before: dict[str, object]) -> None:
    after = snapshot(built)
    for a, b in zip(before["arrays"], after["arrays"]):  # type: ignore[arg-type]
        np.testing.assert_array_equal(a, b)
    assert (before["A"] != after["A"]).nnz == 0 and before["A"].shape == after["A"].shape  # type: ignore[union-attr]
    assert set(before["costs"]) == set(after["costs"])  # type: ignore[arg-type]
    for name, vector in before["costs"].items():  # type: ignore[union-attr]
        np.testing.assert_array_equal(vector, after["costs"][name])  # type: ignore[index]


@pytest.mark.parametrize("solver", SOLVERS)
def test_issue_example_solved_twice_gives_the_same_optimum(solver):
    model = optimizer.build(issue_example())
    before = snapshot(model)
    first = optimizer.solve(model, solver=solver)
    second = optimizer.solve(model, solver=solver)
    assert_unchanged(model, before)
    for result in (first, second):
        assert result.status is Status.OPTIMAL and result.check.ok
        assert result.objective == pytest.approx(73.50, abs=1e-6)
        assert sorted(result.open_sites) == ["A", "B"]


def test_one_model_by_every_solver_and_again():
    model = optimizer.build(issue_example())
    results = [optimizer.solve(model, solver=name) for name in [*SOLVERS, SOLVERS[0]]]
    assert [r.status for r in results] == [Status.OPTIMAL] * len(results)
    assert [r.objective for r in results] == pytest.approx([73.50] * len(results), abs=1e-6)
    assert [r.model_size for r in results] == [results[0].model_size] * len(results)


@pytest.mark.parametrize("solver, full", [
    ("highs", False),  # the demo's one-echelon core: seconds
    *[pytest.param(s, False, marks=pytest.mark.slow) for s in SOLVERS if s != "highs"],
    pytest.param("highs", True, marks=pytest.mark.slow),  # the full demo: minutes per solve
])
def test_demo_solved_twice_gives_the_same_objective(solver, full):
    model = optimizer.build(optimizer.load(DEMO) if full else single_echelon_demo())
    first = optimizer.solve(model, solver=solver)
    second = optimizer.solve(model, solver=solver)
    assert first.status is Status.OPTIMAL and second.status is Status.OPTIMAL
    assert second.objective == pytest.approx(first.objective, rel=1e-9)
    assert second.check.ok and second.model_size == first.model_size


def test_add_pooled_inventory_returns_a_new_model():
    built = build_model(issue_example())
    before = snapshot(built)
    pooled = add_pooled_inventory(built)
    again = add_pooled_inventory(built)
    assert_unchanged(built, before)
    assert pooled.built is not built and pooled.built.lp.n_cols > built.lp.n_cols
    assert again.built.lp.n_cols == pooled.built.lp.n_cols and again.n_cuts == pooled.n_cuts
    refined = pooled.refine(np.zeros(pooled.built.lp.n_cols) + pooled.built.lp.col_upper.clip(max=1.0))
    assert refined.built.lp.n_rows >= pooled.built.lp.n_rows and pooled.n_cuts == again.n_cuts


def test_built_model_cannot_be_changed_in_place():
    built = build_model(issue_example())
    with pytest.raises(FrozenInstanceError):
        built.lp = built.lp  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        built.lp.warm_start = np.zeros(built.lp.n_cols)  # type: ignore[misc]
    with pytest.raises(TypeError):
        built.cost_vectors["holding"] = np.zeros(built.lp.n_cols)  # type: ignore[index]
    for values in (built.lp.c, built.lp.col_upper, built.cost_vectors["shipping"], built.lane_site):
        with pytest.raises(ValueError, match="read-only"):
            values[0] = values[0]
    assert replace(built.lp, warm_start=np.zeros(built.lp.n_cols)).warm_start is not None
    assert built.lp.warm_start is None


# ----------------------------------------------------------------------------- defect 9: a bound above the plan


def bound_above(monkeypatch: pytest.MonkeyPatch, excess: float) -> None:
    """HiGHS answers with a bound ``excess`` above its objective (as a wrong model or solver would)."""
    original = HighsSolver.solve

    def lying(self, model, options) -> SolverResult:
        result = original(self, model, options)
        if result.objective is None:
            return result
        return replace(result, bound=result.objective + excess)

    monkeypatch.setattr(HighsSolver, "solve", lying)


def test_bound_above_objective_is_reported_not_clipped(monkeypatch):
    bound_above(monkeypatch, 5.0)  # the backend's bound: the whole MIP, not the site tree's LPs
    result = optimizer.solve(optimizer.load(TINY), solver="highs", strategy="compact")
    assert result.bound == pytest.approx(result.objective + 5.0)
    assert result.bound_violated
    assert any("bound" in m and "above" in m for m in result.messages)
    res = CliRunner().invoke(main, ["solve", str(TINY), "--json", "--solver", "highs", "--strategy", "compact"],
                                catch_exceptions=False)
    assert res.exit_code == 4


def test_pooled_bound_above_objective_is_reported_not_clipped(monkeypatch):
    bound_above(monkeypatch, 1.0)
    result = optimizer.solve(issue_example(), solver="highs")
    assert result.objective == pytest.approx(73.50, abs=1e-6)
    assert result.bound == pytest.approx(74.50, abs=1e-6) and result.bound_violated


def test_tiny_bound_excess_within_tolerance_is_not_an_error(monkeypatch):
    bound_above(monkeypatch, 1e-9)  # the backend's bound: the whole MIP, not the site tree's LPs
    result = optimizer.solve(optimizer.load(TINY), solver="highs", strategy="compact")
    assert not result.bound_violated and result.gap == 0.0
    res = CliRunner().invoke(main, ["solve", str(TINY), "--json", "--solver", "highs", "--strategy", "compact"],
                                catch_exceptions=False)
    assert res.exit_code == 0


# ----------------------------------------------------------------------------- defect 10: keep every round's plan




def test_pooled_keeps_the_plan_of_an_earlier_round(monkeypatch):
    """Round 1 finds a plan, round 2 hits the time limit without one: the plan of round 1 is returned."""
    original = HighsSolver.solve
    calls: list[int] = []

    def first_only(self, model, options) -> SolverResult:
        calls.append(1)
        if len(calls) == 1:
            return original(self, model, options)
        return SolverResult(Status.NO_SOLUTION, "highs", message="time limit reached before any feasible solution")

    monkeypatch.setattr(HighsSolver, "solve", first_only)
    net = single_echelon_demo()
    result = optimizer.solve(net, solver="highs", time_limit=600)
    assert len(calls) >= 2, "the demo should need more than one round of cuts"
    assert result.status is Status.FEASIBLE and result.has_plan and result.check.ok
    assert result.objective is not None and result.bound is not None and result.bound <= result.objective
