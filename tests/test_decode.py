"""The decoder never emits a flow from, nor a route to or through, a site the plan has closed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from factory import make_network, with_suppliers
from optimizer.model.build import build_model


def two_sites_network(**settings):
    """S1 and S2 (candidates) can both serve R (10 units of x, 3 units of y)."""
    sites = [{"id": "S1", "lon": 0.0, "fixed_cost": 5.0}, {"id": "S2", "lon": 1.0, "fixed_cost": 5.0}]
    products = [{"id": "x", "volume": 2.0}, {"id": "y"}]
    return make_network(sites, [{"id": "R", "lon": 0.0}], products, [("R", "x", 10.0), ("R", "y", 3.0)], **settings)


def test_shares_left_on_a_closed_site_are_moved_to_the_open_ones():
    built = build_model(two_sites_network())
    S = built.n_sites
    x = np.zeros(built.lp.n_cols)
    x[0] = 1.0  # S1 open, S2 closed
    lanes = {(int(built.lane_site[c]), int(built.lane_unit[c])): S + c for c in range(len(built.lane_site))}
    for unit in range(len(built.unit_region)):
        x[lanes[(0, unit)]] = 0.999999
        x[lanes[(1, unit)]] = 1e-6  # within the solver's tolerance of y = 0
    plan = built.decode(x)
    assert plan.open_sites == ["S1"]
    assert set(plan.flows["from"]) == {"S1"}
    served = plan.flows.groupby("product")["quantity"].sum().to_dict()
    assert served == pytest.approx({"x": 10.0, "y": 3.0}, rel=1e-12)
    # the costs are those of the cleaned plan: S1's shipping only (0 km), its rent
    assert plan.costs["fixed"] == pytest.approx(5.0) and plan.costs["shipping"] == pytest.approx(0.0, abs=1e-12)


def test_routes_never_end_at_or_pass_through_a_closed_site():
    net = make_network([{"id": "HUB", "lon": 0.0, "fixed_cost": 100.0},
                        {"id": "DC", "lon": 1.0, "status": "forced_open"}],
                       [{"id": "R", "lon": 1.0}], [{"id": "x", "shipping_cost_per_km": 0.0}], [("R", "x", 10.0)],
                       max_service_km=50.0)
    net = with_suppliers(net, [{"id": "S", "lon": -1.0}], [("S", "x", math.inf)],
                         [{"from": "S", "to": "HUB", "cost_per_volume": 1.0},
                          {"from": "HUB", "to": "DC", "cost_per_volume": 1.0},
                          {"from": "S", "to": "DC", "cost_per_volume": 50.0}],
                         routing="arc_flow")
    built = build_model(net)
    S = built.n_sites
    x = np.zeros(built.lp.n_cols)
    x[list(net.site_ids).index("DC")] = 1.0  # HUB closed
    x[S] = 1.0  # R served by DC (its only lane)
    links = net.link_table
    flow = {(links.at[int(r), "from"], links.at[int(r), "to"]): built.routing.first_col + j
            for j, r in enumerate(built.routing.flow_link)}
    x[flow[("S", "HUB")]] = 1e-5  # a sliver through the closed HUB, within tolerances
    x[flow[("HUB", "DC")]] = 1e-5
    x[flow[("S", "DC")]] = 10.0 - 1e-5
    plan = built.decode(x)
    assert plan.open_sites == ["DC"]
    assert len(plan.routes) == 1
    route = plan.routes.iloc[0]
    assert route["path"] == ["S", "DC"] and route["quantity"] == pytest.approx(10.0, rel=1e-5)
