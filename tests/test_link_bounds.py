"""The big-M of a link's fixed cost is the most volume that can cross the link, not the network's total volume."""

from __future__ import annotations

import math

import numpy as np
import pytest

import optimizer
from factory import make_network, with_suppliers
from optimizer.model.build import build_model
from optimizer.solvers import available_solvers

SOLVERS = available_solvers()


def network(link_to_c: dict, c_capacity: float = math.inf) -> optimizer.Network:
    """Supplier P; sites A, B (lon 0, 0.1: candidates, rent 500) and C (lon 0.2, forced open); region R at C wants
    50 units of x (2 volume units each) and R2 at A 5 units.  Links: P -> C (2 per volume unit, plus ``link_to_c``),
    P -> A and P -> B (100 per volume unit).  Every site has a lane to both regions."""
    sites = [{"id": "A", "lon": 0.0, "fixed_cost": 500.0}, {"id": "B", "lon": 0.1, "fixed_cost": 500.0},
             {"id": "C", "lon": 0.2, "status": "forced_open", "capacity": c_capacity}]
    net = make_network(sites, [{"id": "R", "lon": 0.2}, {"id": "R2", "lon": 0.0}],
                       [{"id": "x", "volume": 2.0, "shipping_cost_per_km": 0.0}], [("R", "x", 50.0), ("R2", "x", 5.0)])
    links = [{"from": "P", "to": "C", "mode": "truck", "cost_per_volume": 2.0, **link_to_c},
             {"from": "P", "to": "A", "mode": "truck", "cost_per_volume": 100.0},
             {"from": "P", "to": "B", "mode": "truck", "cost_per_volume": 100.0}]
    return with_suppliers(net, [{"id": "P", "lon": -1.0}], [("P", "x", math.inf)], links)


def used_coefficient(built) -> float:
    """The coefficient of the P -> C link's "used" binary in its row."""
    routing = built.routing
    links = built.network.link_table
    row = int(np.flatnonzero(((links["from"] == "P") & (links["to"] == "C")).to_numpy())[0])
    assert list(routing.used_links) == [row]
    col = routing.first_col + routing.n_flows
    A = built.lp.A.tocsc()
    (r,) = A[:, col].nonzero()[0]
    return float(A[r, col])


@pytest.mark.parametrize("link, c_capacity, bound", [
    ({"fixed_cost": 50.0}, math.inf, 110.0),                   # all demand (55 units x 2) is reachable from C
    ({"fixed_cost": 50.0, "capacity": 60.0}, math.inf, 60.0),  # the link's capacity
    ({"fixed_cost": 50.0}, 70.0, 70.0),                        # what enters C counts toward C's capacity
])
def test_fixed_cost_link_big_m_is_the_most_volume_that_can_cross_it(link, c_capacity, bound):
    built = build_model(network(link, c_capacity))
    assert used_coefficient(built) == pytest.approx(-bound)
    # the old big-M, the total lane volume (3 sites x 110), is far above
    assert 3 * 110.0 > bound


@pytest.mark.parametrize("solver", SOLVERS)
def test_uncapacitated_fixed_cost_link_carries_the_full_optimum_flow(solver):
    # C serves both regions: all 110 volume units cross P -> C, exactly its bound: 110 x 2 + 50 = 270.
    net = network({"fixed_cost": 50.0})
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL
    assert result.objective == pytest.approx(270.0)
    assert result.open_sites == ["C"]
    assert {tuple(r.path): round(r.quantity, 6) for r in result.routes.itertuples()} == {("P", "C"): 55.0}


@pytest.mark.parametrize("solver", SOLVERS)
def test_outbound_link_bound_is_its_regions_demand_and_leaves_supply_links_alone(solver):
    # An outbound link C -> R2 (fixed cost 5): its bound is R2's demand volume (5 units x 2); the supply-side
    # link P -> C keeps its own bound (110).  Roads cost nothing here, so the link is not worth its fixed cost.
    import pandas as pd
    from dataclasses import replace

    net = network({"fixed_cost": 50.0})
    extra = pd.DataFrame([{**net.links.iloc[0].to_dict(), "from": "C", "to": "R2", "mode": "rail",
                           "cost_per_volume": 0.0, "fixed_cost": 5.0}])
    net = replace(net, links=pd.concat([net.links, extra], ignore_index=True),
                  settings=replace(net.settings, transport=replace(net.settings.transport, routing="arc_flow")))
    built = build_model(net)
    links = net.link_table
    A = built.lp.A.tocsc()
    coefficient = {}
    for j, row in enumerate(built.routing.used_links):
        col = built.routing.first_col + built.routing.n_flows + j
        (r,) = A[:, col].nonzero()[0]
        coefficient[(links.at[int(row), "from"], links.at[int(row), "to"])] = float(A[r, col])
    assert coefficient == pytest.approx({("P", "C"): -110.0, ("C", "R2"): -10.0})
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL
    assert result.objective == pytest.approx(270.0)



def test_a_link_that_carries_nothing_is_never_charged_its_fixed_cost():
    # A solve stopped at a gap left "used" binaries at 1 on links without load: the plan claimed their fixed costs
    # (2,972.71 on a 25 x 300 network), the checker charged none, and the run exited 4 with nothing published.
    import pandas as pd
    from dataclasses import replace

    from optimizer.checker import check
    from optimizer.solvers import get_solver
    from optimizer.solvers.base import SolveOptions

    net = network({"fixed_cost": 50.0})
    extra = pd.DataFrame([{**net.links.iloc[0].to_dict(), "from": "C", "to": "R2", "mode": "rail",
                           "cost_per_volume": 0.0, "fixed_cost": 5.0}])  # never worth its fixed cost
    net = replace(net, links=pd.concat([net.links, extra], ignore_index=True),
                  settings=replace(net.settings, transport=replace(net.settings.transport, routing="arc_flow")))
    built = build_model(net)
    x = get_solver("highs").solve(built.lp, SolveOptions()).x.copy()
    idle = built.routing.first_col + built.routing.n_flows + 1  # C -> R2's binary (P -> C's is the first)
    assert x[idle] == 0.0
    x[idle] = 1.0  # still a solution of the model (the row holds), 5 dearer: what a solver stopped early may return
    assert built.lp.c @ x + built.lp.offset == pytest.approx(275.0)
    rounded = built.round_solution(x)
    assert rounded[idle] == 0.0 and rounded[idle - 1] == 1.0  # P -> C carries 110: kept
    assert sum(built.costs(rounded).values()) == pytest.approx(270.0)
    plan = built.decode(rounded)
    assert check(net, plan).ok
