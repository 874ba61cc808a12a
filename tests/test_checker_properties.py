"""Properties of the checker's aggregate tolerances on random valid plans (hypothesis).

The random networks and plans come from ``test_checker.networks_and_plans``: each
plan is feasible and claims costs from a plain-loop reference implementation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimizer.checker import check
from optimizer.network import Network
from optimizer.plan import ROUTE_COLUMNS, Plan
from factory import make_network, with_suppliers
from test_checker import networks_and_plans, reference_costs

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reclaim(net: Network, plan: Plan) -> Plan:
    """The plan claiming the reference costs of its (changed) flows."""
    plan.costs = reference_costs(net, plan)
    plan.objective = sum(plan.costs.values())
    return plan


@PROPERTY
@given(networks_and_plans(), st.data())
def test_perturbation_within_tolerance_is_accepted(case: tuple[Network, Plan], data: st.DataObject) -> None:
    # Every flow moved by up to half the tolerance of its own size: each demand row moves by at most
    # 0.5e-6 of its demand and each site's throughput by 0.5e-6 of itself (at most its capacity).
    net, plan = case
    assume(not plan.flows.empty)
    factors = data.draw(st.lists(st.floats(-0.5e-6, 0.5e-6), min_size=len(plan.flows), max_size=len(plan.flows)))
    plan.flows["quantity"] = plan.flows["quantity"] * (1.0 + np.array(factors))
    report = check(net, reclaim(net, plan))
    assert report.ok, report.violations


def add_closed_noise(net: Network, plan: Plan, data: st.DataObject, total_share: float) -> tuple[Plan, str]:
    """Move ``total_share`` x max(1, region demand) units of one region's demand to sites that are not open.

    The noise is split evenly over every site that is not open; the flow it is taken from keeps
    the demand row exact.  Returns the plan and the region.
    """
    closed = [s for s in net.sites.index if s not in plan.open_sites]
    assume(closed and not plan.flows.empty)
    k = data.draw(st.integers(0, len(plan.flows) - 1))
    region, product = plan.flows.at[k, "to"], plan.flows.at[k, "product"]
    region_demand = float(net.demand.loc[net.demand["region"] == region, "quantity"].sum())
    total = total_share * max(1.0, region_demand)
    plan.flows.at[k, "quantity"] -= total
    noise = pd.DataFrame({"from": closed, "to": region, "product": product, "quantity": total / len(closed)})
    plan.flows = pd.concat([plan.flows, noise], ignore_index=True)
    return reclaim(net, plan), region


@PROPERTY
@given(networks_and_plans(), st.data())
def test_noise_from_closed_sites_within_tolerance_is_accepted(case: tuple[Network, Plan],
                                                               data: st.DataObject) -> None:
    net, plan = case
    plan, _ = add_closed_noise(net, plan, data, data.draw(st.floats(1e-9, 0.9e-6)))
    report = check(net, plan)
    assert report.ok, report.violations


@PROPERTY
@given(networks_and_plans(), st.data())
def test_noise_from_closed_sites_beyond_tolerance_is_rejected(case: tuple[Network, Plan],
                                                               data: st.DataObject) -> None:
    # The region's total from closed sites is what counts, however thinly it is spread.
    net, plan = case
    plan, region = add_closed_noise(net, plan, data, data.draw(st.floats(1.1e-6, 1e-3)))
    report = check(net, plan)
    assert any(v.startswith(f"region {region} receives") for v in report.violations), report.violations


@st.composite
def chain_plans(draw: st.DrawFn) -> tuple[Network, Plan, bool]:
    """A chain P -> S0 -> S1 -> ... -> Sn of links, region R at Sk served by Sk over the route P > S0 > ... > Sk.

    Returns the network, the plan (claiming the checker's own costs) and whether every site on the
    route is open.
    """
    n = draw(st.integers(1, 6))
    k = draw(st.integers(0, n - 1))
    statuses = [draw(st.sampled_from(["candidate", "existing"])) for _ in range(n)]
    opened = [draw(st.booleans()) for _ in range(n)]
    opened[k] = True
    sites = [{"id": f"S{i}", "lon": float(i), "status": statuses[i], "handling_cost": draw(st.floats(0.0, 3.0)),
              "closing_cost": draw(st.floats(0.0, 100.0)), "fixed_cost": draw(st.floats(0.0, 100.0))}
             for i in range(n)]
    quantity = draw(st.floats(1.0, 1000.0))
    net = make_network(sites, [{"id": "R", "lon": float(k)}], [{"id": "x", "volume": draw(st.floats(0.1, 3.0))}],
                       [("R", "x", quantity)])
    links = [{"from": "P", "to": "S0", "cost_per_volume": 1.0}] + \
        [{"from": f"S{i}", "to": f"S{i + 1}", "cost_per_volume": draw(st.floats(0.0, 5.0))} for i in range(n - 1)]
    net = with_suppliers(net, [{"id": "P", "lon": -1.0}], [("P", "x", float("inf"), 2.0)], links)
    path = ["P"] + [f"S{i}" for i in range(k + 1)]
    routes = pd.DataFrame([{"supplier": "P", "site": f"S{k}", "product": "x", "quantity": quantity, "path": path,
                            "modes": ["road"] * (len(path) - 1), "km": 0.0, "transit_days": 0.0,
                            "inbound_cost": 0.0, "transfer_cost": 0.0}], columns=list(ROUTE_COLUMNS))
    flows = pd.DataFrame([(f"S{k}", "R", "x", quantity)], columns=["from", "to", "product", "quantity"])
    plan = Plan([f"S{i}" for i in range(n) if opened[i]], flows, routes=routes)
    costs = check(net, plan).costs
    plan.costs, plan.objective = costs, sum(costs.values())
    return net, plan, all(opened[: k + 1])


@PROPERTY
@given(chain_plans())
def test_a_route_is_accepted_exactly_when_it_crosses_only_open_sites(case: tuple[Network, Plan, bool]) -> None:
    net, plan, all_open = case
    report = check(net, plan)
    assert report.ok is all_open, report.violations
    if not all_open:
        assert [v for v in report.violations if "goods cross only open sites" in v]
    # Every site on the route but the last handles what it sends on.
    path, quantity = plan.routes.at[0, "path"], plan.routes.at[0, "quantity"]
    volume = float(net.products.at["x", "volume"])
    handling = net.sites["handling_cost"]
    assert report.costs["handling"] == pytest.approx(quantity * volume * sum(handling[s] for s in path[1:]),
                                                     rel=1e-12)
