"""The independent checker on its own: link set, distances and the rules it enforces (hand-built plans).

Every plan here is written by hand with hand-computed costs, so the tests do not
depend on the engine (except the end-to-end geodesic tests, which solve).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from geopy.distance import geodesic

import optimizer
from optimizer.checker import check
from optimizer.checker.linkset import link_table
from optimizer.cli import main
from optimizer.network import InventorySettings, Network
from optimizer.plan import ROUTE_COLUMNS, Plan
from optimizer.solvers import available_solvers
from factory import KM_PER_DEG, make_network, with_suppliers

SOLVERS = available_solvers()

#: Cost of the default links, currency per volume unit per road km (TransportSettings default).
DEFAULT_CPVK = 0.05


def route_table(*rows: tuple[str, str, str, float, list[str], list[str]]) -> pd.DataFrame:
    """Routes from (supplier, site, product, quantity, path, modes); the reported km / costs are not checked."""
    records = [{"supplier": s, "site": d, "product": p, "quantity": q, "path": path, "modes": modes, "km": 0.0,
                "transit_days": 0.0, "inbound_cost": 0.0, "transfer_cost": 0.0} for s, d, p, q, path, modes in rows]
    return pd.DataFrame(records, columns=list(ROUTE_COLUMNS))


def flow_table(*rows: tuple[str, str, str, float] | tuple[str, str, str, float, str]) -> pd.DataFrame:
    """Flows from (from, to, product, quantity[, mode]) tuples; mode defaults to road."""
    return pd.DataFrame([(*r, "road") if len(r) == 4 else r for r in rows],
                        columns=["from", "to", "product", "quantity", "mode"])


def plan_of(open_sites: list[str], flows: pd.DataFrame, costs: dict[str, float],
            routes: pd.DataFrame | None = None) -> Plan:
    """A plan claiming the given costs (missing components 0) and their sum."""
    full = {"shipping": 0.0, "fixed": 0.0, "handling": 0.0, "holding": 0.0, "closing": 0.0, "inbound": 0.0,
            "transfer": 0.0, **costs}
    return Plan(open_sites, flows, full, float(sum(full.values())),
                routes if routes is not None else route_table())


def reclaimed(net: Network, plan: Plan) -> Plan:
    """The plan claiming the checker's own costs, so that only the planted defect can remain."""
    costs = check(net, plan).costs
    return replace(plan, costs=costs, objective=float(sum(costs.values())))


# --- Defect 2: distances by the method the settings name ------------------------------------------------

PARIS, LYON, MADRID = (48.8566, 2.3522), (45.7640, 4.8357), (40.4168, -3.7038)


def france_spain(distance_method: str = "geodesic") -> Network:
    """Two sites in France, a region at each, one supplier in Spain on default links."""
    sites = [{"id": "PAR", "lat": PARIS[0], "lon": PARIS[1], "fixed_cost": 1000.0},
             {"id": "LYS", "lat": LYON[0], "lon": LYON[1], "fixed_cost": 1000.0}]
    regions = [{"id": "R-PAR", "lat": PARIS[0], "lon": PARIS[1]}, {"id": "R-LYS", "lat": LYON[0], "lon": LYON[1]}]
    net = make_network(sites, regions, [{"id": "x", "volume": 2.0, "shipping_cost_per_km": 0.01}],
                       [("R-PAR", "x", 10.0), ("R-LYS", "x", 30.0)], circuity=1.2, distance_method=distance_method)
    return with_suppliers(net, [{"id": "MAD", "lat": MADRID[0], "lon": MADRID[1]}], [("MAD", "x", math.inf, 1.5)])


def test_geodesic_links_are_measured_geodesically() -> None:
    # Only LYS open, serving both regions, supplied straight from Madrid by the default road link.
    net = france_spain()
    madrid_lyon = geodesic(MADRID, LYON).km * 1.2
    paris_lyon = geodesic(PARIS, LYON).km * 1.2
    links = link_table(net)
    assert links.loc[("MAD", "LYS", "road"), "km"] == pytest.approx(madrid_lyon, rel=1e-12)
    assert links.loc[("LYS", "PAR", "road"), "km"] == pytest.approx(paris_lyon, rel=1e-12)
    plan = plan_of(
        ["LYS"], flow_table(("LYS", "R-PAR", "x", 10.0), ("LYS", "R-LYS", "x", 30.0)),
        {"shipping": 10 * 0.01 * paris_lyon, "fixed": 1000.0,
         "inbound": 40 * (1.5 + 2.0 * DEFAULT_CPVK * madrid_lyon)},
        route_table(("MAD", "LYS", "x", 40.0, ["MAD", "LYS"], ["road"])))
    report = check(net, plan)
    assert report.ok, report.violations
    # The same plan priced by haversine is 0.2 % off on the 1,000 km inbound link: rejected.
    hav = check(france_spain("haversine"), plan)
    assert any(v.startswith("inbound cost claimed") for v in hav.violations), hav.violations


def write_dataset(folder: Path, net: Network) -> Path:
    """Write a network as a dataset folder (sites, regions, products, demand, suppliers, supply)."""
    folder.mkdir()
    sites = net.sites.drop(columns=["lead_time_days"]).reset_index()
    sites["capacity"] = ""
    sites.to_csv(folder / "sites.csv", index=False)
    net.regions.reset_index().to_csv(folder / "regions.csv", index=False)
    net.products[["name", "unit_value", "volume", "weight_kg", "holding_rate", "shipping_cost_per_km"]] \
        .reset_index().to_csv(folder / "products.csv", index=False)
    net.demand[["region", "product", "quantity"]].to_csv(folder / "demand.csv", index=False)
    net.suppliers.reset_index().to_csv(folder / "suppliers.csv", index=False)
    net.supply.assign(capacity="").to_csv(folder / "supply.csv", index=False)
    (folder / "network.yaml").write_text(f"name: fr-es\ncircuity: {net.settings.circuity}\n"
                                         f"distance_method: {net.settings.distance_method}\n")
    return folder


def test_cli_solves_the_geodesic_example_and_the_checker_agrees(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "fr-es", france_spain())
    res = CliRunner().invoke(main, ["solve", str(data), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "optimal" and doc["check"]["ok"], doc["check"]
    madrid_lyon = geodesic(MADRID, LYON).km * 1.2
    assert doc["open_sites"] == ["LYS"]
    assert doc["costs"]["inbound"] == pytest.approx(40 * (1.5 + 2.0 * DEFAULT_CPVK * madrid_lyon), rel=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
def test_geodesic_network_with_suppliers_solves_and_checks(solver: str) -> None:
    # Both sites open is dearer than one (fixed 1000 each); LYS is nearer Madrid and to the bigger region.
    net = france_spain()
    result = optimizer.solve(net, solver=solver)
    assert result.status.value == "optimal", result.messages
    assert result.check is not None and result.check.ok, result.check.violations
    assert result.open_sites == ["LYS"]
    madrid_lyon = geodesic(MADRID, LYON).km * 1.2
    assert result.costs["inbound"] == pytest.approx(40 * (1.5 + 2.0 * DEFAULT_CPVK * madrid_lyon), rel=1e-9)
    assert result.costs["shipping"] == pytest.approx(10 * 0.01 * geodesic(PARIS, LYON).km * 1.2, rel=1e-9)


# --- Defect 5: the checker's own default links ---------------------------------------------------------

def tie_network() -> Network:
    """Sites on the equator: C at lon 0 has A (lon 1) and B (lon -1) equally near; D (lon -1.5) is B's nearest.

    With k_nearest 1 the default site links are C-A or C-B (a tie at C), A-C (A's nearest), B-D and D-B.
    Supplier P sits at lon -3; region R at B.
    """
    sites = [{"id": i, "lon": lon} for i, lon in (("C", 0.0), ("A", 1.0), ("B", -1.0), ("D", -1.5))]
    net = make_network(sites, [{"id": "R", "lon": -1.0}], [{"id": "x"}], [("R", "x", 10.0)])
    return with_suppliers(net, [{"id": "P", "lon": -3.0}], [("P", "x", math.inf)], k_nearest=1)


def test_default_links_are_the_checkers_own_and_accept_distance_ties() -> None:
    net = tie_network()
    links = link_table(net)
    transfer = sorted((a, b) for a, b, _ in links.index[links["kind"] == "transfer"])
    assert transfer == [("A", "C"), ("B", "C"), ("B", "D"), ("C", "A"), ("C", "B"), ("D", "B")]
    inbound = sorted(b for a, b, _ in links.index[links["kind"] == "inbound"])
    assert inbound == ["A", "B", "C", "D"]
    assert links.loc[("P", "D", "road"), "km"] == pytest.approx(1.5 * KM_PER_DEG, rel=1e-12)
    assert links.loc[("P", "D", "road"), "transit_days"] == pytest.approx(1.5 * KM_PER_DEG / 600.0, rel=1e-12)

    # Route P > C > B over the tied link C -> B: 3 + 1 degrees of road at 0.05 per volume unit per km.
    routes = route_table(("P", "B", "x", 10.0, ["P", "C", "B"], ["road", "road"]))
    plan = plan_of(["B", "C"], flow_table(("B", "R", "x", 10.0)),
                   {"inbound": 10 * DEFAULT_CPVK * 3 * KM_PER_DEG, "transfer": 10 * DEFAULT_CPVK * KM_PER_DEG},
                   routes)
    report = check(net, plan)
    assert report.ok, report.violations
    # A -> B is no default link (neither is among the other's nearest).
    bad = reclaimed(net, replace(plan, open_sites=["A", "B"],
                                 routes=route_table(("P", "B", "x", 10.0, ["P", "A", "B"], ["road", "road"]))))
    assert "route P -> B (x): link A -> B by road is not in the lane graph" in check(net, bad).violations


def test_links_csv_defaults_and_forced_closed_sites() -> None:
    net = tie_network()
    given = pd.DataFrame([
        {"from": "P", "to": "C", "mode": "sea", "cost_per_volume": 1.0, "cost_per_volume_km": 0.01,
         "distance_km": np.nan, "capacity": np.inf, "transit_days": np.nan, "fixed_cost": 0.0},
        {"from": "C", "to": "B", "mode": "rail", "cost_per_volume": 0.0, "cost_per_volume_km": 0.0,
         "distance_km": 500.0, "capacity": 7.0, "transit_days": 2.0, "fixed_cost": 30.0},
        {"from": "P", "to": "D", "mode": "road", "cost_per_volume": 0.0, "cost_per_volume_km": 0.0,
         "distance_km": np.nan, "capacity": np.inf, "transit_days": np.nan, "fixed_cost": 0.0},
        {"from": "A", "to": "R", "mode": "barge", "cost_per_volume": 0.5, "cost_per_volume_km": 0.0,
         "distance_km": np.nan, "capacity": np.inf, "transit_days": np.nan, "fixed_cost": 0.0},
    ])
    sites = net.sites.copy()
    sites.loc["D", "status"] = "forced_closed"
    links = link_table(replace(net, links=given, sites=sites, settings=replace(net.settings, circuity=1.5)))
    assert list(links.index) == [("P", "C", "sea"), ("C", "B", "rail"), ("A", "R", "barge")]  # D's link dropped
    assert list(links["kind"]) == ["inbound", "transfer", "outbound"]
    assert links.loc[("P", "C", "sea"), "km"] == pytest.approx(3 * KM_PER_DEG * 1.5, rel=1e-12)
    assert links.loc[("P", "C", "sea"), "cost_per_volume"] == pytest.approx(1.0 + 0.01 * 3 * KM_PER_DEG * 1.5)
    assert links.loc[("P", "C", "sea"), "transit_days"] == pytest.approx(3 * KM_PER_DEG * 1.5 / 600.0)
    assert links.loc[("C", "B", "rail")].to_dict() == {"kind": "transfer", "km": 500.0, "cost_per_volume": 0.0,
                                                      "capacity": 7.0, "fixed_cost": 30.0, "transit_days": 2.0}
    # Without suppliers only the outbound link exists.
    alone = replace(net, links=given, suppliers=None, supply=None)
    assert list(link_table(alone).index) == [("A", "R", "barge")]


# --- Defect 4: links_only --------------------------------------------------------------------------------

def outbound_network(outbound: str, link_mode: str = "rail") -> Network:
    """Site W at lon 0, region R at lon 1 (10 units of x, volume 2); a W -> R link costing 3 per volume unit."""
    net = make_network([{"id": "W"}], [{"id": "R", "lon": 1.0}], [{"id": "x", "volume": 2.0,
                                                                     "shipping_cost_per_km": 0.01}],
                       [("R", "x", 10.0)])
    link = pd.DataFrame([{"from": "W", "to": "R", "mode": link_mode, "cost_per_volume": 3.0,
                          "cost_per_volume_km": 0.0, "distance_km": np.nan, "capacity": np.inf,
                          "transit_days": np.nan, "fixed_cost": 0.0}])
    transport = replace(net.settings.transport, outbound=outbound)
    return replace(net, links=link, settings=replace(net.settings, transport=transport))


def test_links_only_rejects_road_lanes() -> None:
    road = plan_of(["W"], flow_table(("W", "R", "x", 10.0)), {"shipping": 10 * 0.01 * KM_PER_DEG})
    rail = plan_of(["W"], flow_table(("W", "R", "x", 10.0, "rail")), {"shipping": 10 * 2.0 * 3.0})
    assert check(outbound_network("distance_and_links"), road).ok
    assert check(outbound_network("distance_and_links"), rail).ok
    assert check(outbound_network("links_only"), rail).ok
    assert check(outbound_network("links_only"), road).violations == [
        "1 flow(s) use a distance-based road lane, but transport outbound is links_only (only site -> region "
        "links may serve regions): W -> R (x)"]


def test_flow_on_a_link_that_does_not_exist() -> None:
    plan = plan_of(["W"], flow_table(("W", "R", "x", 10.0, "barge")), {"shipping": 0.0})
    found = check(outbound_network("distance_and_links"), plan).violations
    assert found[:2] == [
        "flow W -> R uses mode barge, but links.csv has no such link (or it touches a forced-closed site)",
        "shipping cost claimed 0 but recomputed nan currency per period (difference nan, tolerance 0)"]


def test_links_only_road_link_is_the_link() -> None:
    # A site -> region link whose mode is road serves under links_only, at the link's price.
    net = outbound_network("links_only", link_mode="road")
    assert check(net, plan_of(["W"], flow_table(("W", "R", "x", 10.0)), {"shipping": 60.0})).ok


# --- Defect 13: goods cross only open sites ---------------------------------------------------------------

def hub_network(hub_capacity: float = math.inf) -> Network:
    """The issue's reproducer: HUB existing (closing 500), links S -> HUB (1), HUB -> DC (1), S -> DC (50).

    DC (forced open) serves region R (20 units of x, volume 1); handling costs 2 at HUB, 3 at DC.
    """
    sites = [{"id": "HUB", "lon": 1.0, "status": "existing", "closing_cost": 500.0, "handling_cost": 2.0,
              "fixed_cost": 10.0, "capacity": hub_capacity},
             {"id": "DC", "lon": 2.0, "status": "forced_open", "handling_cost": 3.0}]
    net = make_network(sites, [{"id": "R", "lon": 2.0}], [{"id": "x", "shipping_cost_per_km": 0.0}],
                       [("R", "x", 20.0)], horizon_periods=10)
    links = [{"from": "S", "to": "HUB", "cost_per_volume": 1.0}, {"from": "HUB", "to": "DC", "cost_per_volume": 1.0},
             {"from": "S", "to": "DC", "cost_per_volume": 50.0}]
    return with_suppliers(net, [{"id": "S", "lon": 0.0}], [("S", "x", math.inf)], links)


VIA_HUB = route_table(("S", "DC", "x", 20.0, ["S", "HUB", "DC"], ["road", "road"]))
DIRECT = route_table(("S", "DC", "x", 20.0, ["S", "DC"], ["road"]))


def test_route_through_a_closed_site_is_rejected() -> None:
    # HUB closed (pays 500 / 10 periods) yet crossed: the plan.
    plan = reclaimed(hub_network(), plan_of(["DC"], flow_table(("DC", "R", "x", 20.0)), {}, VIA_HUB))
    assert check(hub_network(), plan).violations == [
        "routes to site DC carry 20 units per period through site(s) HUB that the plan does not open or keep "
        "(e.g. path S > HUB > DC); goods cross only open sites"]
    direct = plan_of(["DC"], flow_table(("DC", "R", "x", 20.0)),
                     {"closing": 50.0, "handling": 60.0, "inbound": 1000.0}, DIRECT)
    assert check(hub_network(), direct).ok


def test_transit_through_an_open_site_pays_handling_and_uses_capacity() -> None:
    # HUB kept: fixed 10; handling 20 volume x 2 at HUB (sent on) + 20 x 3 at DC (shipped to R).
    costs = {"fixed": 10.0, "handling": 40.0 + 60.0, "inbound": 20.0, "transfer": 20.0}
    plan = plan_of(["DC", "HUB"], flow_table(("DC", "R", "x", 20.0)), costs, VIA_HUB)
    report = check(hub_network(), plan)
    assert report.ok, report.violations
    assert report.costs["handling"] == 100.0
    # The HUB's capacity bounds what it sends on.
    assert check(hub_network(hub_capacity=15.0), plan).violations == [
        "site HUB: throughput 20 volume units per period exceeds capacity 15 (by 5)"]
    # Handling charged on the regions' volume only is rejected.
    cheap = plan_of(["DC", "HUB"], flow_table(("DC", "R", "x", 20.0)), {**costs, "handling": 60.0}, VIA_HUB)
    assert any(v.startswith("handling cost claimed 60") for v in check(hub_network(), cheap).violations)


def test_transit_tolerance_is_per_destination() -> None:
    # Noise through the closed HUB passes (1e-8 of DC's arrivals); 1,000 routes of 0.99e-6 each do not.
    def plan_with_noise(n: int, share: float) -> Plan:
        noise = [("S", "DC", "x", 20.0 * share, ["S", "HUB", "DC"], ["road", "road"])] * n
        routes = route_table(("S", "DC", "x", 20.0 * (1 - n * share), ["S", "DC"], ["road"]), *noise)
        return reclaimed(hub_network(), plan_of(["DC"], flow_table(("DC", "R", "x", 20.0)), {}, routes))

    assert check(hub_network(), plan_with_noise(1, 1e-8)).ok
    found = check(hub_network(), plan_with_noise(1000, 0.99e-6)).violations
    assert len(found) == 1 and found[0].startswith("routes to site DC carry 0.0198 units per period through site(s) "
                                                   "HUB"), found


def test_lead_time_uses_the_checkers_own_links() -> None:
    # Pooled stock: DC's lead time = 3 days + fastest transit S -> HUB -> DC (1 + 1 day) vs S -> DC (5 days).
    net = hub_network()
    links = net.links.copy()
    links["transit_days"] = [1.0, 1.0, 5.0]
    products = net.products.assign(unit_value=100.0, holding_rate=0.365)
    demand = net.demand.assign(std=4.0)
    inventory = InventorySettings(model="pooled", lead_time_days=3.0, review_days=7.0)
    net = replace(net, links=links, products=products, demand=demand,
                  settings=replace(net.settings, inventory=inventory, single_sourcing=True))
    z = 1.6448536269514722  # service level 0.95
    h = 100.0 * 0.365  # currency per unit per year
    cycle = 20.0 / 7.0 * 7.0 / 2.0  # units
    safety = z * math.sqrt(5.0 / 7.0) * 4.0
    # HUB kept open (fixed 10), the goods go direct (20 x 50).
    plan = plan_of(["DC", "HUB"], flow_table(("DC", "R", "x", 20.0)),
                   {"fixed": 10.0, "handling": 60.0, "inbound": 1000.0,
                    "holding": h * (cycle + safety) * 7.0 / 365.0}, DIRECT)
    report = check(net, plan)
    assert report.ok, report.violations


# --- Defect 12: the closing-cost horizon -----------------------------------------------------------------

@pytest.mark.parametrize(("setting", "periods"), [({"horizon_periods": 10}, 10), ({}, 52),
                                                  ({"period_days": 1.0}, 365), ({"period_days": 400.0}, 1)])
def test_closing_cost_is_spread_over_the_horizon(setting: dict[str, Any], periods: int) -> None:
    # E1 existing (closing 1,040) is closed, F forced closed (closing 520); W serves R.
    sites = [{"id": "W", "status": "forced_open"}, {"id": "E1", "status": "existing", "closing_cost": 1040.0},
             {"id": "F", "status": "forced_closed", "closing_cost": 520.0}]
    net = make_network(sites, [{"id": "R"}], [{"id": "x"}], [("R", "x", 1.0)], **setting)
    flows = flow_table(("W", "R", "x", 1.0))
    assert check(net, plan_of(["W"], flows, {"closing": 1560.0 / periods})).ok
    if periods > 1:
        found = check(net, plan_of(["W"], flows, {"closing": 1560.0})).violations
        assert any(v.startswith(f"closing cost claimed 1,560 but recomputed {1560.0 / periods:.6g}") for v in found)


# --- Defect 3: aggregate tolerances -------------------------------------------------------------------------

def many_sites(n_closed: int, status: str = "candidate", capacity: float = 1000.0) -> Network:
    """Site W0 and ``n_closed`` other sites at the same place, one region with 1,000 units; single sourcing."""
    sites = [{"id": "W0", "capacity": capacity}] + [{"id": f"C{i}", "status": status} for i in range(n_closed)]
    return make_network(sites, [{"id": "R"}], [{"id": "x"}], [("R", "x", 1000.0)], single_sourcing=True)


def spread_plan(net: Network, share: float, n: int) -> Plan:
    """W0 ships most of R's demand; ``n`` sites not open ship ``share`` of it each."""
    rows = [("W0", "R", "x", 1000.0 * (1 - n * share))] + [(f"C{i}", "R", "x", 1000.0 * share) for i in range(n)]
    return reclaimed(net, plan_of(["W0"], flow_table(*rows), {}))


def test_many_closed_sites_each_below_tolerance_are_rejected_together() -> None:
    # The example: 1,000 closed sites each shipping 0.99e-6 of R's demand (0.1 % in all).
    net = many_sites(1000)
    found = check(net, spread_plan(net, 0.99e-6, 1000)).violations
    assert len(found) == 2, found
    assert found[0].startswith("region R receives 0.99 units per period from site(s) the plan does not open or "
                               "keep: C0 (unused), C1 (unused)")
    assert found[1].startswith("region R is served over 1001 lanes") and "secondary lanes carry 0.99 units" in found[1]


def test_decision_words_name_closed_sites() -> None:
    net = many_sites(2, status="existing")
    found = check(net, spread_plan(net, 1e-3, 2)).violations
    assert found[0] == "region R receives 2 units per period from site(s) the plan does not open or keep: " \
                       "C0 (close), C1 (close)"


def test_solver_noise_is_still_accepted() -> None:
    # Errors of the size a solver leaves (1e-8 relative) on every row at once.
    net = many_sites(3, capacity=1000.0 - 5e-4)
    rows = [("W0", "R", "x", 1000.0 * (1 + 1e-9) - 3e-5)] + [(f"C{i}", "R", "x", 1e-5) for i in range(3)]
    plan = reclaimed(net, plan_of(["W0"], flow_table(*rows), {}))
    report = check(net, plan)
    assert report.ok, report.violations
    assert report.max_demand_error == pytest.approx(1e-6, rel=1e-3)
    assert report.max_capacity_excess == pytest.approx(5e-4 - 3e-5 + 1e-6, rel=1e-3)
