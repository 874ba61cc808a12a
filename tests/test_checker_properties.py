"""Properties of the checker's aggregate tolerances on random valid plans (hypothesis).

The random networks and plans come from ``test_checker.networks_and_plans``: each
plan is feasible and claims costs from a plain-loop reference implementation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimizer.checker import check
from optimizer.network import Network
from optimizer.plan import Plan
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
