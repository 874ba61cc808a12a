"""Multi-echelon networks: suppliers -> sites -> regions with routed transfers (hand-checked)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import optimizer
from optimizer.checker import check
from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.model.build import build_model
from optimizer.solvers import available_solvers
from factory import make_network, with_suppliers

SOLVERS = available_solvers()
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo"


def detour_network(p_capacity: float = math.inf, direct: dict | None = None, **transport) -> optimizer.Network:
    """Supplier P feeds site C (which alone can serve region R) directly or via A or B.

    Product x: 2 volume units per unit, 50 units demanded at R.  Per volume unit:
    P -> C costs 2 (capacity 60 volume = 30 units), P -> A -> C costs 1 + 3, P -> B -> C 1 + 6.
    Goods pass through A or B only if it is open (rent 1 per period; tests/test_transit.py prices
    dearer openings, handling and capacity of transit).
    """
    sites = [{"id": "A", "lon": 1.0, "fixed_cost": 1.0}, {"id": "B", "lon": 2.0, "fixed_cost": 1.0},
             {"id": "C", "lon": 3.0, "status": "forced_open"}]
    net = make_network(sites, [{"id": "R", "lon": 3.0}], [{"id": "x", "volume": 2.0}], [("R", "x", 50.0)],
                       max_service_km=50.0)
    links = [
        {"from": "P", "to": "C", "mode": "truck", "cost_per_volume": 2.0, "capacity": 60.0, **(direct or {})},
        {"from": "P", "to": "A", "mode": "rail", "cost_per_volume": 1.0},
        {"from": "A", "to": "C", "mode": "truck", "cost_per_volume": 3.0},
        {"from": "P", "to": "B", "mode": "truck", "cost_per_volume": 1.0},
        {"from": "B", "to": "C", "mode": "truck", "cost_per_volume": 6.0},
    ]
    return with_suppliers(net, [{"id": "P", "lon": 0.0}], [("P", "x", p_capacity, 0.5)], links, **transport)


def solve_ok(net: optimizer.Network, solver: str = "highs") -> optimizer.Result:
    result = optimizer.solve(net, solver=solver)
    assert result.status.value == "optimal", result.messages
    assert result.check is not None and result.check.ok, result.check.violations
    return result


def route_set(result: optimizer.Result) -> dict[tuple[str, ...], float]:
    return {tuple(r.path): round(float(r.quantity), 6) for r in result.routes.itertuples()}


@pytest.mark.parametrize("solver", SOLVERS)
def test_capacitated_link_forces_a_detour(solver):
    result = solve_ok(detour_network(), solver)
    # 30 units direct (30 x 2 vol x 2 = 120), 20 via A (20 x 2 x 1 inbound = 40, 20 x 2 x 3 transfer = 120),
    # plus the purchase cost 50 x 0.5 = 25, plus A's rent 1: goods pass through A only if it is open.
    assert result.costs["inbound"] == pytest.approx(120 + 40 + 25)
    assert result.costs["transfer"] == pytest.approx(120)
    assert result.objective == pytest.approx(306)
    assert route_set(result) == {("P", "C"): 30.0, ("P", "A", "C"): 20.0}
    via_a = result.routes[result.routes["path"].map(len) == 3].iloc[0]
    assert via_a["modes"] == ["rail", "truck"]
    assert result.open_sites == ["A", "C"]  # A cross-docks, so it is open
    assert len(result.transfers) == 1


def test_uncapacitated_routing_forms_agree_and_auto_picks_shortest_path():
    net = detour_network(direct={"capacity": math.inf})
    assert build_model(net).routing.form == "shortest_path"
    path_result = solve_ok(net)
    arc_built = build_model(replace(net, settings=replace(net.settings, transport=replace(
        net.settings.transport, routing="arc_flow"))))
    assert arc_built.routing.form == "arc_flow"
    arc_result = solve_ok(arc_built)
    assert path_result.objective == pytest.approx(50 * 2 * 2 + 25)
    assert arc_result.objective == pytest.approx(path_result.objective, rel=1e-9)
    assert route_set(path_result) == route_set(arc_result) == {("P", "C"): 50.0}


def test_shortest_path_is_refused_with_capacitated_links():
    with pytest.raises(InputError, match="routing shortest_path cannot respect link capacities"):
        build_model(detour_network(routing="shortest_path"))


@pytest.mark.parametrize("solver", SOLVERS)
def test_supplier_capacity_brings_in_the_second_supplier(solver):
    net = detour_network(p_capacity=40.0)
    links = pd.concat([net.links, pd.DataFrame([{**net.links.iloc[0].to_dict(), "from": "Q", "cost_per_volume": 10.0,
                                                  "capacity": math.inf}])], ignore_index=True)
    suppliers = pd.concat([net.suppliers, pd.DataFrame({"name": ["Q"], "lat": [0.0], "lon": [3.1]},
                                                       index=pd.Index(["Q"], name="id"))])
    supply = pd.concat([net.supply, pd.DataFrame([{"supplier": "Q", "product": "x", "capacity": math.inf,
                                                   "unit_cost": 0.5}])], ignore_index=True)
    result = solve_ok(replace(net, suppliers=suppliers, supply=supply, links=links), solver)
    # P: 30 direct (120) + 10 via A (20 inbound + 60 transfer); Q: 10 x 2 x 10 = 200; purchase 50 x 0.5.
    assert route_set(result) == {("P", "C"): 30.0, ("P", "A", "C"): 10.0, ("Q", "C"): 10.0}
    assert result.costs["inbound"] == pytest.approx(120 + 20 + 200 + 25)
    assert result.costs["transfer"] == pytest.approx(60)


@pytest.mark.parametrize("fixed, path", [(50.0, ("P", "C")), (250.0, ("P", "A", "C"))])
def test_link_fixed_cost_decides_the_route(fixed, path):
    result = solve_ok(detour_network(direct={"capacity": math.inf, "fixed_cost": fixed}))
    assert route_set(result) == {path: 50.0}
    direct = 50 * 2 * 2 + fixed + 25
    via_a = 50 * 2 * (1 + 3) + 25 + 1  # A's rent: transit needs it open
    assert result.objective == pytest.approx(min(direct, via_a))


def test_region_link_is_an_extra_outbound_lane():
    net = detour_network(direct={"capacity": math.inf})
    regions = pd.concat([net.regions, pd.DataFrame({"name": ["R2"], "lat": [0.0], "lon": [4.0]},
                                                   index=pd.Index(["R2"], name="id"))])
    demand = pd.concat([net.demand, pd.DataFrame([{"region": "R2", "product": "x", "quantity": 10.0, "std": 0.0}])],
                       ignore_index=True)
    links = pd.concat([net.links, pd.DataFrame([{**net.links.iloc[0].to_dict(), "from": "C", "to": "R2",
                                                  "mode": "rail", "cost_per_volume": 0.1}])], ignore_index=True)
    result = solve_ok(replace(net, regions=regions, demand=demand, links=links))
    flow = result.flows[result.flows["to"] == "R2"].iloc[0]
    assert (flow["from"], flow["mode"], flow["quantity"]) == ("C", "rail", pytest.approx(10.0))
    # R2 lies 111 km away, beyond max_service_km = 50: only the link serves it, at 10 x 2 vol x 0.1 = 2.
    assert result.costs["shipping"] == pytest.approx(2.0)
    only_links = replace(net, regions=regions, demand=demand, links=links,
                         settings=replace(net.settings, transport=replace(net.settings.transport,
                                                                          outbound="links_only")))
    assert optimizer.solve(only_links).status.value == "infeasible"  # R has no link


def test_checker_rejects_broken_routes():
    net = detour_network()
    plan = solve_ok(net).plan
    bad_link = plan.routes.copy()
    bad_link.at[bad_link.index[0], "path"] = ["P", "B", "C"]
    bad_link.at[bad_link.index[0], "modes"] = ["rail", "truck"]
    found = check(net, replace(plan, routes=bad_link)).violations
    assert any("P -> B by rail is not in the lane graph" in v for v in found), found
    short = plan.routes.copy()
    short["quantity"] = short["quantity"] * 0.5
    found = check(net, replace(plan, routes=short)).violations
    assert any("flow not conserved" in v for v in found), found
    over = plan.routes.copy()
    over.loc[over["path"].map(len) == 2, "quantity"] = 50.0
    over = over[over["path"].map(len) == 2]
    found = check(net, replace(plan, routes=over)).violations
    assert any("P -> C by truck carries 100 volume units per period, beyond its capacity 60" in v for v in found)


def test_checker_rejects_supplier_overuse():
    net = detour_network(p_capacity=40.0)
    plan = solve_ok(detour_network()).plan
    found = check(net, plan).violations
    assert any("supplier P, product x: 50 units per period exceed its capacity 40" in v for v in found), found


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-out")
    res = CliRunner().invoke(main, ["solve", str(DEMO), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


@pytest.mark.slow
def test_demo_routes_follow_the_graph_and_conserve_flow(demo_out):
    out, doc = demo_out
    net = optimizer.load(DEMO)
    routes = pd.read_csv(out / "routes.csv")
    assert len(routes) and len(doc["transfers"]) > 0
    graph = net.graph
    open_sites = set(doc["open_sites"])
    for row in routes.itertuples():
        nodes, modes = row.path.split(" > "), row.modes.split(" > ")
        assert nodes[0] == row.supplier and nodes[-1] == row.site
        assert set(nodes[1:]) <= open_sites, row.path  # goods pass only through (and end at) open sites
        for a, b, mode in zip(nodes[:-1], nodes[1:], modes):
            assert graph.has_edge(a, b, key=mode), (a, b, mode)
    arrived = routes.groupby(["site", "product"])["quantity"].sum()
    flows = pd.read_csv(out / "plan_flows.csv")
    shipped = flows.groupby(["from", "product"])["quantity"].sum()
    shipped.index = shipped.index.set_names(["site", "product"])
    # what reaches a site = what it ships + what it sends on (routes passing through it)
    volume = net.products["volume"]
    sent_on = {}
    for row in routes.itertuples():
        for node in row.path.split(" > ")[1:-1]:
            sent_on[(node, row.product)] = sent_on.get((node, row.product), 0.0) + row.quantity
    assert sent_on
    both = pd.concat({"in": arrived, "out": shipped}, axis=1).fillna(0.0)
    assert np.allclose(both["in"], both["out"], rtol=1e-6, atol=1e-6)
    sites = pd.read_csv(out / "plan_sites.csv").set_index("site")
    for site in sites.index:
        own = float(flows.loc[flows["from"] == site].assign(v=lambda f: f["quantity"] * f["product"].map(volume))["v"]
                    .sum())
        transit = sum(q * float(volume[p]) for (s, p), q in sent_on.items() if s == site)
        assert sites.at[site, "transit_volume"] == pytest.approx(transit, rel=1e-9, abs=1e-9)
        assert sites.at[site, "throughput_volume"] == pytest.approx(own + transit, rel=1e-9, abs=1e-9)
    modes = {m for ms in routes["modes"] for m in ms.split(" > ")}
    assert {"rail", "truck"} <= modes
    assert sum(doc["costs"].values()) == pytest.approx(doc["objective"], rel=1e-9)
    assert doc["costs"]["inbound"] > 0 and doc["costs"]["transfer"] > 0
    assert doc["check"]["ok"]


@pytest.mark.slow
def test_demo_maps(demo_out):
    out, doc = demo_out
    html = (out / "map.html").read_text(encoding="utf-8")
    decisions = {s["site"]: s["decision"] for s in doc["sites"]}
    assert set(decisions.values()) <= {"open", "keep", "close", "unused"}
    assert "close" in decisions.values() and "keep" in decisions.values()
    for site, decision in decisions.items():
        assert re.search(rf"site {re.escape(site)} \(.*?\): {decision}\b", html), (site, decision)
        assert (decision in ("open", "keep")) == (site in doc["open_sites"])
    assert not re.search(r"\): closed\b", html)  # one vocabulary: close (operating today) or unused
    for supplier in ("PORT-LAX", "PORT-SAV", "PORT-NYC"):
        assert f"supplier {supplier}" in html
    png = (out / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_demo_arc_flow_and_shortest_path_agree_without_link_capacities():
    """Without site -> site links (so that no route needs a transit site open) both forms are exact."""
    net = optimizer.load(DEMO)
    net = replace(net, settings=replace(net.settings, single_sourcing=False,
                                        inventory=replace(net.settings.inventory, model="linear")))
    direct = net.links[~net.links["from"].isin(net.sites.index)]
    free = replace(net, links=direct.assign(capacity=math.inf))
    results = {}
    for form in ("arc_flow", "shortest_path"):
        variant = replace(free, settings=replace(free.settings, transport=replace(free.settings.transport,
                                                                                  routing=form)))
        built = build_model(variant)
        assert built.routing.form == form
        results[form] = (solve_ok(built), built.lp.n_cols)
    assert results["arc_flow"][0].objective == pytest.approx(results["shortest_path"][0].objective, rel=1e-7)
    assert results["shortest_path"][1] <= results["arc_flow"][1]  # every path is one link here
    # With the rail capacities the routes cost more.
    assert solve_ok(replace(net, links=direct)).objective > results["arc_flow"][0].objective
    # With the site -> site links, shortest paths would pass through sites that may close: refused.
    with pytest.raises(InputError, match="cannot make transit sites open"):
        build_model(replace(net, links=net.links.assign(capacity=math.inf), settings=replace(
            net.settings, transport=replace(net.settings.transport, routing="shortest_path"))))


def test_default_links_without_links_file():
    net = detour_network()
    net = replace(net, links=None, settings=replace(net.settings, transport=replace(
        net.settings.transport, cost_per_volume_km=0.01, k_nearest=1)))
    links = net.link_table
    assert set(links.loc[links["kind"] == "inbound", "to"]) == {"A", "B", "C"}
    assert {("A", "B"), ("B", "A"), ("B", "C"), ("C", "B")} <= set(zip(links["from"], links["to"]))
    result = solve_ok(net)
    # Direct P -> C: 3 degrees at 0.01 per volume km, 100 volume units, plus purchase.
    assert result.objective == pytest.approx(3 * 111.19508 * 0.01 * 100 + 25, rel=1e-5)


def test_supply_shortage_is_explained():
    result = optimizer.solve(detour_network(p_capacity=45.0))
    assert result.status.value == "infeasible"
    assert any("product x: demand totals 50 units per period but its suppliers provide at most 45" in m
               for m in result.messages), result.messages


def test_dataset_folder_with_supply_files_solves(tmp_path):
    import shutil

    folder = tmp_path / "tiny"
    shutil.copytree(ROOT / "tests" / "data" / "tiny", folder)
    (folder / "suppliers.csv").write_text("id,name,lat,lon\nP1,Port of Rotterdam,51.95,4.14\n")
    (folder / "supply.csv").write_text("supplier,product,capacity,unit_cost\nP1,BOX,,1\nP1,PAL,,2\n")
    (folder / "links.csv").write_text("from,to,mode,cost_per_volume,cost_per_volume_km,capacity\n"
                                      "P1,AMS,truck,,0.05,\nP1,BRU,rail,2,0.01,40\nBRU,PAR,truck,,0.05,\n")
    net = optimizer.load(folder)
    assert net.has_suppliers and len(net.link_table) == 3
    result = solve_ok(net)
    assert set(result.routes["site"]) <= set(result.open_sites)
    assert result.costs["inbound"] > 0
    assert (folder / "links.csv").read_text().startswith("from,to,mode")  # inputs untouched


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_networks_arc_flow_equals_shortest_path(seed):
    from optimizer.io.instances import random_multi_echelon

    from optimizer.model.supply import _transit_paths, cheapest_paths

    net = random_multi_echelon(8, 30, 2, 2, seed)
    assert build_model(net).routing.form == "arc_flow" or not _transit_paths(net, cheapest_paths(net))
    # Shortest paths are exact only when every site a cheapest path passes through is forced open and
    # uncapacitated (transit needs the site open and uses its capacity): make those sites so.
    via = {site for sites in _transit_paths(net, cheapest_paths(net)).values() for site in sites}
    sites = net.sites.copy()
    sites.loc[sorted(via), "status"] = "forced_open"
    sites.loc[sorted(via), "capacity"] = math.inf
    net = replace(net, sites=sites)
    objectives = {}
    for form in ("arc_flow", "shortest_path"):
        variant = replace(net, settings=replace(net.settings, transport=replace(net.settings.transport,
                                                                                routing=form)))
        objectives[form] = solve_ok(variant).objective
    assert objectives["arc_flow"] == pytest.approx(objectives["shortest_path"], rel=1e-7)
    capped = random_multi_echelon(8, 30, 2, 2, seed, link_capacity=50.0)
    assert build_model(capped).routing.form == "arc_flow"
    tight = optimizer.solve(capped)
    if tight.has_plan:  # tighter links can only cost more
        assert tight.check.ok and tight.objective >= objectives["arc_flow"] * (1 - 1e-9)


def test_decomposition_ends_with_a_rounding_surplus():
    """Flow that reaches a site beyond its need (solver rounding) is dropped, not walked forever."""
    from optimizer.model.paths import _decompose

    links = pd.DataFrame({"from": ["P", "A", "B", "C"], "to": ["A", "B", "C", "A"]})
    # P -> A 10.00001; A -> B 5.00001; B -> C 1 and C -> A 1 (a cycle through A); A and B need 5 each.
    found = _decompose(links, np.array([0, 1, 2, 3]), np.array([10.00001, 5.00001, 1.0, 1.0]), {"A": 5.0, "B": 5.0},
                       {"P"})
    delivered = {}
    for supplier, site, quantity, path in found:
        assert supplier == "P" and [links.loc[r, "to"] for r in path][-1] == site
        delivered[site] = delivered.get(site, 0.0) + quantity
    assert delivered == pytest.approx({"A": 5.0, "B": 5.0})


@pytest.mark.parametrize("limit", [{"capacity": 5.0}, {"fixed_cost": 3.0}])
def test_shortest_paths_with_a_limited_site_to_region_link(limit):
    # A capacity or fixed cost on a site -> region link is allowed with shortest-path routing (only supply-side
    # links must be free); building the model once crashed on it, and auto picks shortest paths here.
    from factory import make_network, with_suppliers

    net = make_network([{"id": "S0", "lat": 40.0, "lon": -100.0, "fixed_cost": 10.0, "handling_cost": 1.0,
                         "status": "forced_open"}], [{"id": "R0", "lat": 41.0, "lon": -100.0}],
                       [{"id": "P0", "unit_value": 10.0, "holding_rate": 0.1, "shipping_cost_per_km": 0.01}],
                       [("R0", "P0", 10.0)])
    links = [{"from": "U0", "to": "S0", "cost_per_volume": 1.0},
             {"from": "S0", "to": "R0", "mode": "rail", "cost_per_volume": 0.5, **limit}]
    results = {}
    for routing in ("shortest_path", "arc_flow", "auto"):
        routed = with_suppliers(net, [{"id": "U0", "lat": 42.0, "lon": -100.0}], [("U0", "P0", float("inf"), 1.0)],
                                links, routing=routing)
        results[routing] = optimizer.solve(routed)
        assert results[routing].status is optimizer.Status.OPTIMAL and results[routing].check.ok
    assert results["shortest_path"].objective == pytest.approx(results["arc_flow"].objective, rel=1e-9)
    assert results["auto"].objective == pytest.approx(results["arc_flow"].objective, rel=1e-9)
