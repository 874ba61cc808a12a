"""Site -> region links: a ``road`` link is the pair's road lane, their fixed costs and capacities are checked
without suppliers too, and single sourcing means one lane (one site, one mode) per region."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import optimizer
from factory import KM_PER_DEG, LINK_DEFAULTS, make_network
from optimizer.checker import check
from optimizer.model.build import build_model
from optimizer.plan import Plan
from optimizer.solvers import available_solvers

SOLVERS = available_solvers()


def with_links(net: optimizer.Network, links: list[dict]) -> optimizer.Network:
    """``net`` with site -> region links (records with from, to and any links.csv column), no suppliers."""
    frame = pd.DataFrame([{"from": l["from"], "to": l["to"], **{k: l.get(k, v) for k, v in LINK_DEFAULTS.items()}}
                          for l in links], columns=["from", "to", *LINK_DEFAULTS])
    frame[list(LINK_DEFAULTS)[1:]] = frame[list(LINK_DEFAULTS)[1:]].astype(float)
    return replace(net, links=frame)


def one_lane(**settings) -> optimizer.Network:
    """Site S (rent 10) one degree of longitude from region R, which wants 10 units of p (1 per unit-km)."""
    return make_network([{"id": "S", "fixed_cost": 10.0}], [{"id": "R", "lon": 1.0}],
                        [{"id": "p", "shipping_cost_per_km": 1.0}], [("R", "p", 10.0)], **settings)


def recheck(net: optimizer.Network, flows: pd.DataFrame):
    """The checker's report on a hand-made plan that opens S and claims the checker's own costs."""
    first = check(net, Plan(open_sites=["S"], flows=flows))
    return check(net, Plan(open_sites=["S"], flows=flows, costs=first.costs, objective=first.objective))


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_road_link_replaces_the_distance_based_lane(solver):
    # The link S -> R by road (1 per volume unit) is the pair's road lane: 10 x 1 + rent 10, not the 1,113 km lane.
    net = with_links(one_lane(), [{"from": "S", "to": "R", "cost_per_volume": 1.0}])
    assert len(build_model(net).lane_site) == 1
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL
    assert result.objective == pytest.approx(20.0)
    assert result.check.ok, result.check.violations
    assert list(result.flows["mode"]) == ["road"]
    # Without the link the same plan costs the road distance.
    assert optimizer.solve(one_lane(), solver=solver).objective == pytest.approx(10.0 + 10.0 * KM_PER_DEG)


@pytest.mark.parametrize("solver", SOLVERS)
def test_outbound_link_fixed_cost_is_checked_without_suppliers(solver):
    # Rail S -> R: 1 per volume unit plus 50 when used; the road lane costs 1,113 per unit.
    net = with_links(one_lane(), [{"from": "S", "to": "R", "mode": "rail", "cost_per_volume": 1.0,
                                   "fixed_cost": 50.0}])
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL
    assert result.objective == pytest.approx(70.0)
    assert result.check.ok, result.check.violations


def test_outbound_link_capacity_is_checked_without_suppliers():
    net = with_links(one_lane(), [{"from": "S", "to": "R", "mode": "rail", "cost_per_volume": 1.0,
                                   "capacity": 5.0}])
    over = pd.DataFrame({"from": ["S"], "to": ["R"], "product": ["p"], "quantity": [10.0], "mode": ["rail"]})
    report = recheck(net, over)
    assert not report.ok
    assert report.violations == ["link S -> R by rail carries 10 volume units per period, beyond its capacity 5"]
    result = optimizer.solve(net)  # 5 units by rail, 5 by road
    assert result.check.ok, result.check.violations
    assert result.flows.groupby("mode")["quantity"].sum().to_dict() == pytest.approx({"rail": 5.0, "road": 5.0})


@pytest.mark.parametrize("solver", SOLVERS)
def test_single_sourcing_serves_a_region_over_one_lane(solver):
    # Product a is cheap by rail (1 per volume unit, volume 1) and b by road (0.001 per unit-km, volume 100):
    # one lane for both products costs 10 + min(rail 10 + 1000, road 11,132 + 1,113) = 1,020.
    net = make_network([{"id": "S", "fixed_cost": 10.0}], [{"id": "R", "lon": 1.0}],
                       [{"id": "a", "shipping_cost_per_km": 1.0},
                        {"id": "b", "shipping_cost_per_km": 0.001, "volume": 100.0}],
                       [("R", "a", 10.0), ("R", "b", 10.0)], single_sourcing=True)
    net = with_links(net, [{"from": "S", "to": "R", "mode": "rail", "cost_per_volume": 1.0}])
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL
    assert result.objective == pytest.approx(1020.0)
    assert set(result.flows["mode"]) == {"rail"}
    assert result.check.ok, result.check.violations
    # Each product on its cheaper mode (21.1) is two lanes: the checker refuses it.
    split = pd.DataFrame({"from": ["S", "S"], "to": ["R", "R"], "product": ["a", "b"], "quantity": [10.0, 10.0],
                          "mode": ["rail", "road"]})
    report = recheck(net, split)
    assert report.objective < 1020.0
    assert not report.ok
    assert any("served over 2 lanes (S by rail, S by road)" in v for v in report.violations)
    # Multi-sourced, the same plan is allowed and optimal.
    multi = replace(net, settings=replace(net.settings, single_sourcing=False))
    assert recheck(multi, split).ok
    assert optimizer.solve(multi, solver=solver).objective == pytest.approx(report.objective)


def test_parallel_lanes_of_one_site_pool_nothing():
    # Safety stock only (z = 2, lead time = period, 0.7 per unit and period): R's std 40 gives 80 units, 56 a period,
    # plus review-period cycle stock 24.5.  A free rail link parallel to the road lane must not lower it: half by
    # rail and half by road is still all of R's demand at S (before, the model and the checker took 2 x 0.5**2 of
    # the variance: 64.10).
    from scipy.stats import norm

    from optimizer.network import InventorySettings
    from optimizer.stock import stock_table

    net = make_network([{"id": "S"}], [{"id": "R"}],
                       [{"id": "p", "unit_value": 100.0, "holding_rate": 0.365, "shipping_cost_per_km": 0.001}],
                       [("R", "p", 70.0, 40.0)], period_days=7.0,
                       inventory=InventorySettings(model="pooled", lead_time_days=7.0))
    net.products["service_level"] = norm.cdf(2.0)
    net = with_links(net, [{"from": "S", "to": "R", "mode": "rail"}])
    result = optimizer.solve(net)
    assert result.status is optimizer.Status.OPTIMAL
    assert result.objective == pytest.approx(80.5)
    split = pd.DataFrame({"from": ["S", "S"], "to": ["R", "R"], "product": ["p", "p"], "quantity": [35.0, 35.0],
                          "mode": ["road", "rail"]})
    assert recheck(net, split).objective == pytest.approx(80.5)
    assert stock_table(net, ["S"], split)["safety_stock"].to_list() == pytest.approx([80.0])


def test_a_road_link_s_figures_reach_the_lane_tables_and_kpis():
    # plan_lanes/plan_assignments and the KPIs showed the distance-based lane (111 km, 11 per unit) for a road
    # link of 700 km, 2 days, 1 per volume unit: the lanes no longer added up to the plan's shipping cost.
    from optimizer.report.tables import assignment_table, lane_table

    net = with_links(one_lane(), [{"from": "S", "to": "R", "cost_per_volume": 1.0, "distance_km": 700.0,
                                   "transit_days": 2.0}])
    result = optimizer.solve(net)
    lanes = lane_table(net, result)
    assert lanes[["km", "transit_days", "cost_per_unit", "shipping_cost"]].iloc[0].tolist() == \
        pytest.approx([700.0, 2.0, 1.0, 10.0])
    assert lanes["shipping_cost"].sum() == pytest.approx(result.costs["shipping"])
    assert assignment_table(lanes)["km"].tolist() == pytest.approx([700.0])
    assert (result.kpis["mean_distance_km"], result.kpis["p95_transit_days"]) == pytest.approx((700.0, 2.0))
