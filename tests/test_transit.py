"""Transit through a site: only open sites cross-dock, and transit pays handling and uses capacity.

A site's throughput is what it ships to its regions plus what it sends on over site -> site links;
its handling cost applies to that throughput and its capacity bounds it; any site a route passes
through must be open.  Hand-checked on every installed solver, with both routing forms where they
apply.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import optimizer
from factory import make_network, with_suppliers
from optimizer.errors import InputError
from optimizer.model.build import build_model
from optimizer.solvers import available_solvers

SOLVERS = available_solvers()
FREE = [{"id": "x", "shipping_cost_per_km": 0.0}]  # shipping costs nothing: only inbound, transfer, handling


def hub_network(hub: dict, dc: dict | None = None, demand_hub: float = 0.0, **settings) -> optimizer.Network:
    """Supplier S; sites HUB (lon 0) and DC (lon 1, forced open); region RD at DC (10 units), RH at HUB.

    Links per volume unit: S -> HUB 1, HUB -> DC 1, S -> DC 50.  Lanes longer than 50 km do not exist, so HUB
    alone can serve RH and DC alone RD.
    """
    sites = [{"id": "HUB", "lon": 0.0, **hub}, {"id": "DC", "lon": 1.0, "status": "forced_open", **(dc or {})}]
    regions = [{"id": "RD", "lon": 1.0}] + ([{"id": "RH", "lon": 0.0}] if demand_hub else [])
    demand = [("RD", "x", 10.0)] + ([("RH", "x", demand_hub)] if demand_hub else [])
    net = make_network(sites, regions, FREE, demand, max_service_km=50.0, **settings)
    links = [{"from": "S", "to": "HUB", "mode": "truck", "cost_per_volume": 1.0},
             {"from": "HUB", "to": "DC", "mode": "truck", "cost_per_volume": 1.0},
             {"from": "S", "to": "DC", "mode": "truck", "cost_per_volume": 50.0}]
    return with_suppliers(net, [{"id": "S", "lon": -1.0}], [("S", "x", math.inf)], links)


def solve_ok(net, solver: str = "highs") -> optimizer.Result:
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL, result.messages
    assert sum(result.costs.values()) == pytest.approx(result.objective, rel=1e-9)
    # the independent checker applies the same rules (transit through open sites, handling of transit)
    assert result.check is not None and result.check.ok, result.check.violations
    return result


def routes(result: optimizer.Result) -> dict[tuple[str, ...], float]:
    return {tuple(r.path): round(float(r.quantity), 6) for r in result.routes.itertuples()}


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_closed_site_does_not_cross_dock(solver):
    # HUB existing, rent 1000, closing 500 (one period's horizon).  Keep: 1000 + S>HUB>DC 10 x 2 = 1020.
    # Close: 500 + S>DC 10 x 50 = 1000.  Before the fix the plan closed HUB and still routed through it (520).
    net = hub_network({"status": "existing", "fixed_cost": 1000.0, "closing_cost": 500.0}, horizon_periods=1)
    result = solve_ok(net, solver)
    assert result.open_sites == ["DC"]
    assert routes(result) == {("S", "DC"): 10.0}
    assert result.objective == pytest.approx(1000.0)
    assert result.costs["closing"] == pytest.approx(500.0) and result.costs["inbound"] == pytest.approx(500.0)
    decisions = dict(zip(result.sites["site"], result.sites["decision"]))
    assert decisions == {"HUB": "close", "DC": "open"}


@pytest.mark.parametrize("solver", SOLVERS)
def test_transit_through_an_open_hub_when_it_pays(solver):
    # The same with HUB's rent at 400: keeping it (400 + 20) beats closing it (500 + 500).
    net = hub_network({"status": "existing", "fixed_cost": 400.0, "closing_cost": 500.0}, horizon_periods=1)
    result = solve_ok(net, solver)
    assert result.open_sites == ["HUB", "DC"]
    assert routes(result) == {("S", "HUB", "DC"): 10.0}
    assert result.objective == pytest.approx(420.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_transit_pays_handling_and_uses_capacity(solver):
    # HUB forced open, handling 2 per volume unit, capacity 15; it serves RH (8 units) itself, so only 7 units
    # of RD's 10 can pass through it; the other 3 go direct at 50.
    # inbound S>HUB 15 x 1 + S>DC 3 x 50 = 165; transfer HUB>DC 7 x 1 = 7; handling at HUB 2 x (8 + 7) = 30.
    net = hub_network({"status": "forced_open", "handling_cost": 2.0, "capacity": 15.0}, demand_hub=8.0)
    result = solve_ok(net, solver)
    assert routes(result) == {("S", "HUB"): 8.0, ("S", "HUB", "DC"): 7.0, ("S", "DC"): 3.0}
    assert result.costs["inbound"] == pytest.approx(165.0)
    assert result.costs["transfer"] == pytest.approx(7.0)
    assert result.costs["handling"] == pytest.approx(30.0)
    assert result.objective == pytest.approx(202.0)
    hub = result.sites.set_index("site").loc["HUB"]
    assert hub["throughput_volume"] == pytest.approx(15.0) and hub["transit_volume"] == pytest.approx(7.0)
    assert hub["utilisation"] == pytest.approx(1.0)
    assert result.kpis["mean_utilisation"] == pytest.approx(1.0)  # HUB is the only capacitated site; transit counts


@pytest.mark.parametrize("solver", SOLVERS)
def test_routing_forms_agree_on_transit_handling(solver):
    # HUB forced open and uncapacitated: its transit is always allowed, so the shortest path (priced with HUB's
    # handling 2) is exact.  All 18 units pass S>HUB (18), 10 go on to DC (10), HUB handles 18: 18 + 10 + 36 = 64.
    net = hub_network({"status": "forced_open", "handling_cost": 2.0}, demand_hub=8.0)
    assert build_model(net).routing.form == "shortest_path"
    results = {}
    for form in ("arc_flow", "shortest_path"):
        variant = replace(net, settings=replace(net.settings, transport=replace(net.settings.transport, routing=form)))
        results[form] = solve_ok(variant, solver)
        assert results[form].objective == pytest.approx(64.0)
        assert routes(results[form]) == {("S", "HUB"): 8.0, ("S", "HUB", "DC"): 10.0}
        assert results[form].costs["handling"] == pytest.approx(36.0)


def test_shortest_path_is_refused_when_a_transit_site_may_close():
    net = hub_network({"status": "existing", "fixed_cost": 400.0, "closing_cost": 500.0})
    assert build_model(net).routing.form == "arc_flow"  # auto
    forced = replace(net, settings=replace(net.settings, transport=replace(net.settings.transport,
                                                                          routing="shortest_path")))
    with pytest.raises(InputError, match="S -> DC through HUB"):
        build_model(forced)


def test_transit_rows_link_flow_out_of_a_site_to_its_open_binary():
    net = hub_network({"status": "existing", "fixed_cost": 400.0, "closing_cost": 500.0})
    built = build_model(net)
    links = net.link_table
    hub_to_dc = int(np.flatnonzero((links["from"] == "HUB").to_numpy())[0])
    col = built.routing.first_col + int(np.flatnonzero(built.routing.flow_link == hub_to_dc)[0])
    A = built.lp.A.tocsc()
    rows = A[:, col].nonzero()[0]
    # Among the rows of the HUB -> DC flow: one bounds it by 10 volume units (RD's demand) x y_HUB.
    hub = list(net.site_ids).index("HUB")
    linked = [r for r in rows if A[r, hub] != 0 and built.lp.row_upper[r] == 0 and A[r, col] == 1.0]
    assert any(A[r, hub] == pytest.approx(-10.0) for r in linked), [(r, A[r, hub]) for r in rows]
