"""Every model option on a hand-checkable case, on every installed solver.

Geometry: sites and regions on the equator, circuity 1, and a product whose
shipping cost is 1 / KM_PER_DEG per unit per km, so shipping one unit costs
exactly its distance in degrees of longitude.  Each test states the
hand-computed optimum and fails if the option is ignored (the unconstrained
optimum is different).
"""

from __future__ import annotations

import numpy as np
import pytest

import optimizer
from factory import KM_PER_DEG, make_network
from optimizer.solvers import available_solvers

SOLVERS = available_solvers()
PRODUCT = [{"id": "p", "shipping_cost_per_km": 1.0 / KM_PER_DEG}]
TWO_REGIONS = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 10.0}]
DEMAND = [("R1", "p", 10), ("R2", "p", 10)]


def solve_ok(net, solver):
    """Solve and assert an optimal, checker-approved plan."""
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL, result.messages
    assert result.check is not None and result.check.ok, result.check.violations
    assert sum(result.costs.values()) == pytest.approx(result.objective, rel=1e-9)
    return result


def two_sites(**overrides):
    """Sites at lon 0 (S1, fixed 500) and lon 10 (S2, fixed 600); per-site overrides by id."""
    sites = [{"id": "S1", "lon": 0.0, "fixed_cost": 500.0}, {"id": "S2", "lon": 10.0, "fixed_cost": 600.0}]
    for s in sites:
        s.update(overrides.get(s["id"], {}))
    return sites


@pytest.mark.parametrize("solver", SOLVERS)
def test_baseline_one_site(solver):
    # S1 only: 500 + 10 units x 10 deg = 600; S2 only 700; both 1100.
    r = solve_ok(make_network(two_sites(), TWO_REGIONS, PRODUCT, DEMAND), solver)
    assert r.objective == pytest.approx(600.0)
    assert r.open_sites == ["S1"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_forced_open(solver):
    # Forcing S2 open: S2 alone = 600 + 100 = 700 beats both (1100).
    net = make_network(two_sites(S2={"status": "forced_open"}), TWO_REGIONS, PRODUCT, DEMAND)
    r = solve_ok(net, solver)
    assert r.objective == pytest.approx(700.0)
    assert r.open_sites == ["S2"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_forced_closed(solver):
    net = make_network(two_sites(S1={"status": "forced_closed"}), TWO_REGIONS, PRODUCT, DEMAND)
    r = solve_ok(net, solver)
    assert r.objective == pytest.approx(700.0)
    assert r.open_sites == ["S2"]
    # forced closed without a closing cost: nothing operated there, so it is "unused" (not "close")
    assert dict(zip(r.sites["site"], r.sites["decision"])) == {"S1": "unused", "S2": "open"}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("closing_cost, expected, open_sites", [(0.0, 600.0, ["S1"]), (200.0, 700.0, ["S2"])])
def test_closing_cost(solver, closing_cost, expected, open_sites):
    # S2 existing: closing it and opening S1 costs 600 + closing; keeping it costs 700.
    # horizon_periods 1: the whole one-off cost in the period (tests/test_closing_horizon.py spreads it).
    net = make_network(two_sites(S2={"status": "existing", "closing_cost": closing_cost}),
                       TWO_REGIONS, PRODUCT, DEMAND, horizon_periods=1)
    r = solve_ok(net, solver)
    assert r.objective == pytest.approx(expected)
    assert r.open_sites == open_sites
    assert r.costs["closing"] == pytest.approx(closing_cost if open_sites == ["S1"] else 0.0)
    decisions = dict(zip(r.sites["site"], r.sites["decision"]))
    assert decisions["S2"] == ("close" if open_sites == ["S1"] else "keep")


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("setting", ["min_sites", "exact_sites"])
def test_min_and_exact_sites(solver, setting):
    net = make_network(two_sites(), TWO_REGIONS, PRODUCT, DEMAND, **{setting: 2})
    r = solve_ok(net, solver)
    assert r.objective == pytest.approx(1100.0)
    assert r.open_sites == ["S1", "S2"]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("setting", ["max_sites", "exact_sites"])
def test_max_and_exact_sites(solver, setting):
    # Cheap rents make both sites worth opening (100 < 150) unless the count is capped at 1.
    sites = two_sites(S1={"fixed_cost": 50.0}, S2={"fixed_cost": 50.0})
    free = solve_ok(make_network(sites, TWO_REGIONS, PRODUCT, DEMAND), solver)
    assert free.objective == pytest.approx(100.0)
    capped = solve_ok(make_network(sites, TWO_REGIONS, PRODUCT, DEMAND, **{setting: 1}), solver)
    assert capped.objective == pytest.approx(150.0)
    assert len(capped.open_sites) == 1


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_service_km(solver):
    # R2 is 10 deg = 1112 km from S1: with a 1000 km limit only S2 can serve it.
    net = make_network(two_sites(), TWO_REGIONS, PRODUCT, DEMAND, max_service_km=1000.0)
    r = solve_ok(net, solver)
    assert r.objective == pytest.approx(1100.0)
    assert r.open_sites == ["S1", "S2"]
    assert set(zip(r.flows["from"], r.flows["to"])) == {("S1", "R1"), ("S2", "R2")}


@pytest.mark.parametrize("solver", SOLVERS)
def test_single_sourcing(solver):
    # S1 (lon 0) holds 15 volume units; R1 and R2 both sit at lon 0 with 10 units each.
    # Multi-sourcing: 15 from S1 free, 5 from S2 at 10 each = 50.  Single: one region from S2 = 100.
    sites = [{"id": "S1", "lon": 0.0, "capacity": 15.0}, {"id": "S2", "lon": 10.0}]
    regions = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 0.0}]
    multi = solve_ok(make_network(sites, regions, PRODUCT, DEMAND), solver)
    assert multi.objective == pytest.approx(50.0)
    single = solve_ok(make_network(sites, regions, PRODUCT, DEMAND, single_sourcing=True), solver)
    assert single.objective == pytest.approx(100.0)
    assert single.flows.groupby("to")["from"].nunique().max() == 1


@pytest.mark.parametrize("solver", SOLVERS)
def test_single_sourcing_covers_all_products_of_a_region(solver):
    # Two products in R1; S1 can hold only one of them.  Multi: split (cost 10 x 10 deg = 100 for b);
    # single: all of R1 from S2 = 20 units x 10 deg = 200.
    products = [{"id": "a", "shipping_cost_per_km": 1.0 / KM_PER_DEG}, {"id": "b", "shipping_cost_per_km": 1.0 / KM_PER_DEG}]
    sites = [{"id": "S1", "lon": 0.0, "capacity": 10.0}, {"id": "S2", "lon": 10.0}]
    demand = [("R1", "a", 10), ("R1", "b", 10)]
    regions = [{"id": "R1", "lon": 0.0}]
    multi = solve_ok(make_network(sites, regions, products, demand), solver)
    assert multi.objective == pytest.approx(100.0)
    single = solve_ok(make_network(sites, regions, products, demand, single_sourcing=True), solver)
    assert single.objective == pytest.approx(200.0)
    assert set(single.flows["from"]) == {"S2"}


@pytest.mark.parametrize("solver", SOLVERS)
def test_handling_holding_and_fixed_components(solver):
    # 10 units at S1's doorstep: handling 10 x 0.5 vol x 2 = 10; holding 10 x 100 x 0.365 x 10 / 365 = 10.
    sites = [{"id": "S1", "lon": 0.0, "fixed_cost": 5.0, "handling_cost": 2.0}]
    products = [{"id": "p", "volume": 0.5, "unit_value": 100.0, "holding_rate": 0.365, "shipping_cost_per_km": 1.0}]
    net = make_network(sites, [{"id": "R1", "lon": 0.0}], products, [("R1", "p", 10)], days_of_cover=10.0)
    r = solve_ok(net, solver)
    assert r.costs == pytest.approx({"shipping": 0.0, "fixed": 5.0, "handling": 10.0, "holding": 10.0, "closing": 0.0,
                                     "inbound": 0.0, "transfer": 0.0})
    assert r.objective == pytest.approx(25.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_capacity_splits_demand(solver):
    # S1 (cap 12) is next to both regions; the other 8 units come from S2 at 10 deg each = 80.
    sites = [{"id": "S1", "lon": 0.0, "capacity": 12.0}, {"id": "S2", "lon": 10.0}]
    net = make_network(sites, [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 0.0}], PRODUCT, DEMAND)
    r = solve_ok(net, solver)
    assert r.objective == pytest.approx(80.0)
    util = dict(zip(r.sites["site"], r.sites["utilisation"]))
    assert util["S1"] == pytest.approx(1.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_unit_cost_matrix_overrides_distance(solver):
    net = make_network(two_sites(), TWO_REGIONS, PRODUCT, DEMAND)
    net.unit_shipping_cost = np.array([[0.0, 100.0], [1.0, 0.0]])  # S1 -> R2 now costs 100 per unit
    r = solve_ok(net, solver)
    # S2 alone: 600 + 10 x 1 = 610 beats S1 alone (500 + 1000) and both (1100).
    assert r.objective == pytest.approx(610.0)
    assert r.open_sites == ["S2"]


def test_lanes_beyond_service_distance_are_not_built():
    net = make_network(two_sites(), TWO_REGIONS, PRODUCT, DEMAND, max_service_km=1000.0)
    model = optimizer.build(net)
    assert model.lp.n_cols == 2 + 2  # two site columns + one lane per region
    assert 5 * KM_PER_DEG < 1000.0 < 10 * KM_PER_DEG


@pytest.mark.parametrize("solver", SOLVERS)
def test_forced_closed_site_pays_its_closing_cost(solver):
    # S1 is closed by decision (forced_closed) and pays 70; S2 serves R1 (10 units, 1 km of 1.0 per unit-km).
    sites = [{"id": "S1", "lon": 0.0, "status": "forced_closed", "closing_cost": 70.0},
             {"id": "S2", "lon": 0.0, "fixed_cost": 5.0}]
    net = make_network(sites, [{"id": "R1", "lon": 0.0}], [{"id": "p"}], [("R1", "p", 10)], horizon_periods=1)
    r = solve_ok(net, solver)
    assert r.open_sites == ["S2"]
    assert r.costs["closing"] == pytest.approx(70.0) and r.objective == pytest.approx(75.0)
    assert dict(zip(r.sites["site"], r.sites["decision"])) == {"S1": "close", "S2": "open"}
