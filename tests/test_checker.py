"""Tests of the independent checker: hand-computed plans, one test per violation, properties."""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer.checker.core as checker_module
from optimizer.checker import CheckReport, check
from optimizer.network import InventorySettings, Network, Settings
from optimizer.plan import COST_COMPONENTS, Plan

#: km per degree of longitude on the equator, sphere of radius 6371.0088 km.
DEG_KM = 6371.0088 * math.pi / 180  # 111.19508 km

SITE_DEFAULTS = {"lat": 0.0, "lon": 0.0, "capacity": math.inf, "fixed_cost": 0.0, "handling_cost": 0.0,
                 "status": "candidate", "closing_cost": 0.0}
PRODUCT_DEFAULTS = {"unit_value": 0.0, "volume": 1.0, "weight_kg": 0.0, "holding_rate": 0.0,
                    "shipping_cost_per_km": 1.0}


def make_net(sites: dict[str, dict[str, Any]], regions: dict[str, tuple[float, float]],
             products: dict[str, dict[str, Any]], demand: list[tuple[str, str, float]],
             unit_shipping_cost: np.ndarray | None = None, **setting: Any) -> Network:
    """A network from plain dicts (ids -> attributes); settings default to circuity 1, no holding."""
    site_df = pd.DataFrame([{"id": k, "name": k, **SITE_DEFAULTS, **v} for k, v in sites.items()]).set_index("id")
    region_df = pd.DataFrame([{"id": k, "name": k, "lat": lat, "lon": lon} for k, (lat, lon) in regions.items()])
    product_df = pd.DataFrame([{"id": k, "name": k, **PRODUCT_DEFAULTS, **v} for k, v in products.items()])
    demand_df = pd.DataFrame([{"region": r, "product": p, "quantity": float(q), "std": 0.0} for r, p, q in demand],
                             columns=["region", "product", "quantity", "std"])
    base: dict[str, Any] = {"circuity": 1.0, "days_of_cover": 0.0}
    base.update(setting)
    return Network(site_df, region_df.set_index("id"), product_df.set_index("id"), demand_df,
                   settings=Settings(**base), unit_shipping_cost=unit_shipping_cost, name="t")


def flows(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    """A flow table from (from, to, product, quantity) tuples."""
    return pd.DataFrame(rows, columns=["from", "to", "product", "quantity"])


def plan_with(open_sites: list[str], flow_table: pd.DataFrame, costs: dict[str, float]) -> Plan:
    """A plan claiming ``costs`` and their sum."""
    return Plan(open_sites=open_sites, flows=flow_table, costs=dict(costs), objective=sum(costs.values()))


# --- The hand-computed reference network -------------------------------------------------------

def hand_network(**setting: Any) -> Network:
    """Three sites and two regions on the equator, two products."""
    return make_net(
        sites={
            "W1": {"lon": 0.0, "capacity": 100.0, "fixed_cost": 1000.0, "handling_cost": 2.0,
                   "status": "existing", "closing_cost": 500.0},
            "W2": {"lon": 2.0, "fixed_cost": 800.0, "handling_cost": 1.0},
            "W3": {"lon": 1.0, "capacity": 50.0, "fixed_cost": 300.0, "handling_cost": 0.5,
                   "status": "existing", "closing_cost": 200.0},
        },
        regions={"R1": (0.0, 1.0), "R2": (0.0, 3.0)},
        products={
            "A": {"unit_value": 10.0, "volume": 2.0, "holding_rate": 0.2, "shipping_cost_per_km": 0.01},
            "B": {"unit_value": 50.0, "volume": 0.5, "holding_rate": 0.365, "shipping_cost_per_km": 0.02},
        },
        demand=[("R1", "A", 20), ("R1", "B", 10), ("R2", "A", 5), ("R2", "B", 0)],
        **{"circuity": 1.5, "days_of_cover": 14.0, **setting},
    )


HAND_FLOWS = flows(("W1", "R1", "A", 20.0), ("W1", "R1", "B", 10.0), ("W2", "R2", "A", 5.0))
#: Both used lanes span 1 degree of longitude: road km = DEG_KM x circuity 1.5.
LANE_KM = DEG_KM * 1.5  # 166.79262 km
HAND_COSTS = {
    # 20 A x 0.01 + 10 B x 0.02 + 5 A x 0.01 = 0.45 currency per road km
    "shipping": (20 * 0.01 + 10 * 0.02 + 5 * 0.01) * LANE_KM,
    # W1 + W2 open
    "fixed": 1000.0 + 800.0,
    # W1: (20 x 2 + 10 x 0.5) volume x 2 = 90; W2: 5 x 2 volume x 1 = 10
    "handling": 90.0 + 10.0,
    # A: 10 x 0.2 x 14 / 365 = 28/365 per unit, 25 units; B: 50 x 0.365 x 14 / 365 = 0.7 per unit, 10 units
    "holding": 25 * 28 / 365 + 10 * 0.7,
    # W3 is existing and closed: its one-off 200 spread over the default horizon of round(365 / 7) = 52 periods
    "closing": 200.0 / 52,
    # no suppliers: nothing is bought or transferred
    "inbound": 0.0,
    "transfer": 0.0,
}


def hand_plan(**changes: Any) -> Plan:
    """The correct plan for :func:`hand_network`, with some fields replaced."""
    plan = plan_with(["W1", "W2"], HAND_FLOWS.copy(), HAND_COSTS)
    for key, value in changes.items():
        setattr(plan, key, value)
    return plan


def test_hand_computed_plan_is_accepted_with_hand_costs() -> None:
    report = check(hand_network(), hand_plan())
    assert report.ok, report.violations
    assert report.costs == pytest.approx(HAND_COSTS, rel=1e-12)
    assert report.costs["shipping"] == pytest.approx(75.05668, rel=1e-6)
    assert report.objective == pytest.approx(1800 + 100 + 200 / 52 + 75.05668 + 700 / 365 + 7, rel=1e-9)
    assert report.n_open == 2 and report.n_flows == 3
    assert report.max_lane_km == pytest.approx(LANE_KM, rel=1e-12)
    assert report.max_demand_error == 0.0 and report.max_capacity_excess == 0.0
    assert report.summary().startswith("plan OK")


def test_geodesic_distance_on_the_equator() -> None:
    # On the WGS-84 equator one degree of longitude is a x pi / 180 with a = 6378.137 km.
    net = hand_network(distance_method="geodesic")
    lane_km = 6378.137 * math.pi / 180 * 1.5
    costs = {**HAND_COSTS, "shipping": 0.45 * lane_km}
    report = check(net, plan_with(["W1", "W2"], HAND_FLOWS.copy(), costs))
    assert report.ok, report.violations
    assert report.max_lane_km == pytest.approx(lane_km, rel=1e-9)
    # The haversine costs are now off by 0.11 %, far beyond tolerance.
    assert not check(net, hand_plan()).ok


def test_unit_shipping_cost_matrix_without_coordinates() -> None:
    # OR-Library style: no coordinates, shipping cost per unit from the matrix (sites x regions).
    matrix = np.array([[3.0, 7.0], [4.0, 1.5]])
    net = make_net(
        sites={"1": {"lat": math.nan, "lon": math.nan, "capacity": 30.0, "fixed_cost": 100.0},
               "2": {"lat": math.nan, "lon": math.nan, "capacity": 30.0, "fixed_cost": 120.0}},
        regions={"a": (math.nan, math.nan), "b": (math.nan, math.nan)},
        products={"1": {}},
        demand=[("a", "1", 20), ("b", "1", 25)],
        unit_shipping_cost=matrix,
        max_service_km=10.0,  # no coordinates: the limit cannot apply
    )
    # a: 20 from site 1 (3.0 each); b: 10 from site 1 (7.0 each) + 15 from site 2 (1.5 each)
    costs = {"shipping": 20 * 3.0 + 10 * 7.0 + 15 * 1.5, "fixed": 100.0 + 120.0,
             "handling": 0.0, "holding": 0.0, "closing": 0.0}
    plan = plan_with(["1", "2"], flows(("1", "a", "1", 20.0), ("1", "b", "1", 10.0), ("2", "b", "1", 15.0)), costs)
    report = check(net, plan)
    assert report.ok, report.violations
    assert report.objective == 152.5 + 220.0
    assert math.isnan(report.max_lane_km)


def test_empty_plan_for_network_without_demand() -> None:
    net = hand_network()
    net.demand = net.demand.iloc[0:0]
    # Nothing open: both existing sites close (500 + 200, over 52 periods).
    costs = {"shipping": 0.0, "fixed": 0.0, "handling": 0.0, "holding": 0.0, "closing": 700.0 / 52}
    report = check(net, plan_with([], flows(), costs))
    assert report.ok, report.violations


def test_tolerance_is_relative_to_demand() -> None:
    # 20 units with error 1e-5 (5e-7 relative) passes; error 1e-4 (5e-6 relative) fails.
    ok = hand_plan(flows=flows(("W1", "R1", "A", 20.00001), ("W1", "R1", "B", 10.0), ("W2", "R2", "A", 5.0)))
    ok.costs = check(hand_network(), ok).costs
    ok.objective = sum(ok.costs.values())
    assert check(hand_network(), ok).ok
    bad = hand_plan(flows=flows(("W1", "R1", "A", 20.0001), ("W1", "R1", "B", 10.0), ("W2", "R2", "A", 5.0)))
    bad.costs = check(hand_network(), bad).costs
    bad.objective = sum(bad.costs.values())
    report = check(hand_network(), bad)
    assert report.violations == ["region R1, product A: demand 20 units per period, served 20.0001 (over by 0.0001)"]
    assert report.max_demand_error == pytest.approx(1e-4)


# --- One test per violation type -----------------------------------------------------------------

def violations_of(plan: Plan, net: Network | None = None) -> list[str]:
    """The violations the checker finds."""
    report = check(net if net is not None else hand_network(), plan)
    assert report.ok is (not report.violations)
    return report.violations


def only(plan: Plan, fragment: str, net: Network | None = None) -> str:
    """The single violation of ``plan`` (costs re-claimed so only the planted defect remains)."""
    net = net if net is not None else hand_network()
    plan.costs = check(net, plan).costs
    plan.objective = sum(plan.costs.values())
    found = violations_of(plan, net)
    assert len(found) == 1, found
    assert fragment in found[0], found[0]
    return found[0]


def test_unknown_ids_in_flows() -> None:
    for row, word in ((("W9", "R1", "A", 1.0), "site id(s): 'W9'"), (("W1", "R9", "A", 1.0), "region id(s): 'R9'"),
                      (("W1", "R1", "Z", 1.0), "product id(s): 'Z'")):
        plan = hand_plan(flows=pd.concat([HAND_FLOWS, flows(row)], ignore_index=True))
        only(plan, word)


def test_negative_and_non_finite_quantities() -> None:
    plan = hand_plan(flows=pd.concat([HAND_FLOWS, flows(("W2", "R1", "B", -1.0))], ignore_index=True))
    found = violations_of(plan)
    assert "flow W2 -> R1 (B) has negative quantity -1 units per period" in found
    assert any("served 9 (short by 1)" in v for v in found)
    plan = hand_plan(flows=pd.concat([HAND_FLOWS, flows(("W2", "R1", "B", math.nan))], ignore_index=True))
    only(plan, "1 flow(s) have a missing or non-finite quantity, e.g. W2 -> R1 (B)")
    plan = hand_plan(flows=pd.concat([HAND_FLOWS, flows(("W2", "R1", "B", math.inf))], ignore_index=True))
    only(plan, "non-finite quantity")


def test_duplicate_flow_rows() -> None:
    table = flows(("W1", "R1", "A", 10.0), ("W1", "R1", "A", 10.0), ("W1", "R1", "B", 10.0), ("W2", "R2", "A", 5.0))
    assert only(hand_plan(flows=table), "duplicate") == \
        "1 duplicate flow row(s) for the same (from, to, product, mode): W1 -> R1 (A)"


def test_missing_flow_columns() -> None:
    found = violations_of(hand_plan(flows=HAND_FLOWS.drop(columns=["product"])))
    assert found[0] == "flows table lacks column(s) product; expected from, to, product, quantity"


def test_unmet_demand_and_dropped_flow() -> None:
    dropped = hand_plan(flows=HAND_FLOWS.iloc[[0, 1]].copy())
    assert only(dropped, "R2") == "region R2, product A: demand 5 units per period, served 0 (short by 5)"


def test_shipment_without_demand() -> None:
    # R2 has a B row with quantity 0; and (R1, C) does not exist at all: both count as no demand.
    plan = hand_plan(flows=pd.concat([HAND_FLOWS, flows(("W2", "R2", "B", 2.0))], ignore_index=True))
    assert only(plan, "no demand") == "region R2, product B: 2 units per period shipped but there is no demand"


def test_capacity_exceeded() -> None:
    # W3 (capacity 50) opened instead of W1, serving R1: 20 x 2 + 10 x 0.5 = 45 volume, fine; add R2 A: +10 = 55.
    net = hand_network()
    table = flows(("W3", "R1", "A", 20.0), ("W3", "R1", "B", 10.0), ("W3", "R2", "A", 5.0))
    assert only(hand_plan(open_sites=["W3"], flows=table), "capacity", net) == \
        "site W3: throughput 55 volume units per period exceeds capacity 50 (by 5)"
    report = check(net, hand_plan(open_sites=["W3"], flows=table))
    assert report.max_capacity_excess == pytest.approx(5.0)


def test_flow_from_site_not_open() -> None:
    plan = hand_plan(open_sites=["W1"])
    assert only(plan, "not open") == \
        "region R2 receives 5 units per period from site(s) the plan does not open or keep: W2 (unused)"


def test_open_sites_unknown_and_repeated() -> None:
    only(hand_plan(open_sites=["W1", "W2", "W7"]), "unknown site id(s): 'W7'")
    only(hand_plan(open_sites=["W1", "W2", "W1"]), "more than once: W1")


def test_forced_statuses() -> None:
    net = hand_network()
    net.sites.loc["W3", "status"] = "forced_open"
    assert only(hand_plan(), "forced_open", net) == "site(s) with status forced_open are not open: W3"
    net = hand_network()
    net.sites.loc["W2", "status"] = "forced_closed"
    assert only(hand_plan(), "forced_closed", net) == "site(s) with status forced_closed are open: W2"


@pytest.mark.parametrize(("setting", "message"), [
    ({"min_sites": 3}, "2 site(s) open but min_sites = 3"),
    ({"max_sites": 1}, "2 site(s) open but max_sites = 1"),
    ({"exact_sites": 1}, "2 site(s) open but exact_sites = 1"),
])
def test_site_counts(setting: dict[str, int], message: str) -> None:
    assert only(hand_plan(), "site(s) open", hand_network(**setting)) == message
    assert check(hand_network(**{k: 2 for k in setting}), hand_plan()).ok


def test_single_sourcing() -> None:
    net = hand_network(single_sourcing=True)
    assert check(net, hand_plan()).ok
    split = flows(("W1", "R1", "A", 20.0), ("W2", "R1", "B", 10.0), ("W2", "R2", "A", 5.0))
    assert only(hand_plan(flows=split), "single", net) == \
        "region R1 is served over 2 lanes (W1 by road, W2 by road) but single_sourcing is on: one site and " \
        "one mode for all its products (secondary lanes carry 10 units per period)"
    # The same split is fine without single sourcing.
    plan = hand_plan(flows=split.copy())
    plan.costs = check(hand_network(), plan).costs
    plan.objective = sum(plan.costs.values())
    assert check(hand_network(), plan).ok


def test_max_service_km() -> None:
    # Used lanes are 166.79 km; W2 -> R1 would be 1 degree too.
    assert check(hand_network(max_service_km=167.0), hand_plan()).ok
    assert violations_of(hand_plan(), hand_network(max_service_km=166.0)) == [
        "lane W1 -> R1 is 166.793 road km, beyond max_service_km = 166 km",
        "lane W2 -> R2 is 166.793 road km, beyond max_service_km = 166 km",
    ]


def test_cost_claims() -> None:
    wrong = plan_with(["W1", "W2"], HAND_FLOWS.copy(), {**HAND_COSTS, "fixed": 1801.0})
    found = violations_of(wrong)
    assert len(found) == 2
    assert found[0].startswith("fixed cost claimed 1,801 but recomputed 1,800 currency per period")
    assert found[1].startswith("objective claimed")
    missing = hand_plan(costs={k: v for k, v in HAND_COSTS.items() if k != "closing"})
    assert "plan.costs lacks the closing component" in violations_of(missing)
    extra = hand_plan(costs={**HAND_COSTS, "penalty": 0.0})
    assert violations_of(extra) == ["plan.costs has unknown component(s) penalty; expected "
                                    "shipping, fixed, handling, holding, closing, inbound, transfer"]
    unsummed = hand_plan(objective=sum(HAND_COSTS.values()) + 0.01)
    found = violations_of(unsummed)
    assert len(found) == 2 and "claimed components sum to" in found[0] and "objective claimed" in found[1]


def test_shipping_cost_unknown_without_coordinates_or_matrix() -> None:
    net = hand_network()
    net.regions.loc["R2", "lat"] = math.nan
    found = violations_of(hand_plan(), net)
    assert "shipping cost unknown on lane(s) W2 -> R2: a coordinate is missing and there is no unit_shipping_cost" \
        in found
    assert math.isnan(check(net, hand_plan()).costs["shipping"])


def test_summary_lists_violations() -> None:
    report = check(hand_network(), hand_plan(open_sites=["W1"]))
    text = report.summary()
    assert text.startswith("plan REJECTED: ") and "  - region R2 receives 5 units per period from site(s)" in text
    many = CheckReport(ok=False, violations=[f"v{i}" for i in range(25)], costs={}, objective=0.0)
    assert many.summary().endswith("... and 5 more")


# --- Independence from the model side -------------------------------------------------------------

CHECKER_PACKAGE = Path(checker_module.__file__).parent

#: Modules the checker must not import (the model side and the code it shares).
FORBIDDEN = ("optimizer.model", "optimizer.links", "optimizer.geo", "optimizer.solvers", "optimizer.strategies",
             "optimizer.stock")


def imported_modules(source: str, package: str) -> set[str]:
    """Every module a source imports: absolute, relative (resolved against ``package``), names imported
    from a package (``from optimizer import links`` -> ``optimizer.links``) and string arguments of
    ``importlib.import_module`` / ``__import__``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__"):
                found.add(node.args[0].value)
    return found


def forbidden_imports(source: str, package: str = "optimizer.checker") -> list[str]:
    """The imports of ``source`` that reach the model side (:data:`FORBIDDEN`)."""
    return sorted(m for m in imported_modules(source, package)
                  if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


CHECKER_MODULES = sorted(CHECKER_PACKAGE.rglob("*.py"))


def package_of(path: Path) -> str:
    """The dotted package a checker source file belongs to (for its relative imports)."""
    return ".".join(("optimizer", "checker", *path.parent.relative_to(CHECKER_PACKAGE).parts))


def test_every_checker_module_is_scanned() -> None:
    assert {"__init__", "core", "stock", "supply", "linkset"} <= {path.stem for path in CHECKER_MODULES}


@pytest.mark.parametrize("path", CHECKER_MODULES, ids=lambda p: str(p.relative_to(CHECKER_PACKAGE)))
def test_checker_module_imports_nothing_from_the_model_side(path: Path) -> None:
    assert forbidden_imports(path.read_text(), package_of(path)) == []


@pytest.mark.parametrize("planted", [
    "from optimizer.links import resolve_links",
    "import optimizer.geo",
    "import optimizer.solvers.highs as h",
    "from optimizer import links",
    "from optimizer import plan, model",
    "from ..stock import site_lead_times",
    "from .. import strategies",
    "from ..model.build import build_model",
    "importlib.import_module('optimizer.geo')",
    "def f():\n    from optimizer.links import build_graph\n    return build_graph",
])
def test_import_scan_catches_a_planted_import(planted: str) -> None:
    source = CHECKER_MODULES[0].read_text() + "\n" + planted + "\n"
    assert forbidden_imports(source), planted
    # The checker's own modules of the same short name are fine.
    assert forbidden_imports("from .stock import pooled_holding\nfrom optimizer.checker.linkset import ROAD") == []


class PoisonedNetwork(Network):
    """A network whose derived tables and lane graph must not be read by the checker."""

    @property
    def distance_km(self) -> np.ndarray:  # type: ignore[override]
        raise AssertionError("checker used network.distance_km")

    @property
    def demand_matrix(self) -> np.ndarray:  # type: ignore[override]
        raise AssertionError("checker used network.demand_matrix")

    @property
    def graph(self) -> Any:  # type: ignore[override]
        raise AssertionError("checker used network.graph (built by optimizer.links)")

    @property
    def link_table(self) -> pd.DataFrame:  # type: ignore[override]
        raise AssertionError("checker used network.link_table (built by optimizer.links)")


def poisoned(net: Network) -> PoisonedNetwork:
    """The same raw tables and settings in a :class:`PoisonedNetwork`."""
    return PoisonedNetwork(net.sites, net.regions, net.products, net.demand, net.settings, net.unit_shipping_cost,
                           net.name, net.source, net.suppliers, net.supply, net.links)


def supplied_network(links: pd.DataFrame | None) -> Network:
    """The hand network with supplier P (lon -1) providing A and B, pooled stock, default or given links."""
    from factory import with_suppliers

    net = with_suppliers(hand_network(max_service_km=500.0, single_sourcing=True), [{"id": "P", "lon": -1.0}],
                         [("P", "A", math.inf, 2.0), ("P", "B", math.inf, 3.0)])
    demand = net.demand.assign(std=[2.0, 1.0, 0.5, 0.0])
    settings = dataclasses.replace(net.settings, inventory=InventorySettings(model="pooled", lead_time_days=2.0))
    return dataclasses.replace(net, links=links, demand=demand, settings=settings)


@pytest.mark.parametrize("links", ["default", "links.csv"])
def test_checker_uses_only_raw_tables(links: str) -> None:
    plain = hand_network(max_service_km=500.0, single_sourcing=True)
    assert check(poisoned(plain), hand_plan()).ok
    given = None
    if links == "links.csv":
        given = pd.DataFrame([{"from": f, "to": t, "mode": m, "cost_per_volume": 1.0, "cost_per_volume_km": 0.0,
                               "distance_km": np.nan, "capacity": np.inf, "transit_days": 1.0, "fixed_cost": 5.0}
                              for f, t, m in (("P", "W1", "rail"), ("W1", "W2", "road"), ("W2", "R2", "barge"))])
    net = supplied_network(given)
    mode = "rail" if given is not None else "road"
    routes = pd.DataFrame([
        {"supplier": "P", "site": "W1", "product": "A", "quantity": 20.0, "path": ["P", "W1"], "modes": [mode]},
        {"supplier": "P", "site": "W1", "product": "B", "quantity": 10.0, "path": ["P", "W1"], "modes": [mode]},
        {"supplier": "P", "site": "W2", "product": "A", "quantity": 5.0, "path": ["P", "W1", "W2"],
         "modes": [mode, "road"]},
    ]).assign(km=0.0, transit_days=0.0, inbound_cost=0.0, transfer_cost=0.0)
    table = HAND_FLOWS.assign(mode=["road", "road", "barge" if given is not None else "road"])
    plan = hand_plan(flows=table, routes=routes)
    expected = check(net, plan)  # the checker on the ordinary network
    plan.costs, plan.objective = expected.costs, expected.objective
    report = check(poisoned(net), plan)
    assert report.ok, report.violations
    assert report.costs == expected.costs and report.costs["inbound"] > 0 and report.costs["transfer"] > 0


def test_engine_plan_passes_the_checker() -> None:
    # End to end: the engine's objective must follow the same cost definitions.
    from optimizer.api import solve

    net = hand_network(max_service_km=400.0)
    result = solve(net, run_check=False)
    plan = Plan(result.open_sites, result.flows, result.costs, result.objective)
    report = check(net, plan)
    assert report.ok, report.violations


# --- Properties --------------------------------------------------------------------------------------

def reference_costs(net: Network, plan: Plan) -> dict[str, float]:
    """Plain-loop cost definitions, a third implementation to compare with."""
    s, r, p, st_ = net.sites, net.regions, net.products, net.settings
    ship = handle = hold = 0.0
    for row in plan.flows.itertuples(index=False):
        site, region, product, q = row
        if net.unit_shipping_cost is not None:
            unit = net.unit_shipping_cost[s.index.get_loc(site), r.index.get_loc(region)]
        else:
            phi1, phi2 = math.radians(s.at[site, "lat"]), math.radians(r.at[region, "lat"])
            dlam = math.radians(r.at[region, "lon"] - s.at[site, "lon"])
            a = math.sin((phi2 - phi1) / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
            km = 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, a))) * st_.circuity
            unit = km * p.at[product, "shipping_cost_per_km"]
        ship += q * unit
        handle += q * p.at[product, "volume"] * s.at[site, "handling_cost"]
        hold += q * p.at[product, "unit_value"] * p.at[product, "holding_rate"] * st_.days_of_cover / 365
    fixed = sum(s.at[i, "fixed_cost"] for i in plan.open_sites)
    closing = sum(s.at[i, "closing_cost"] for i in s.index if (s.at[i, "status"] == "existing"
                  and i not in plan.open_sites) or s.at[i, "status"] == "forced_closed") / st_.closing_horizon
    return {"shipping": ship, "fixed": fixed, "handling": handle, "holding": hold, "closing": closing,
            "inbound": 0.0, "transfer": 0.0}


@st.composite
def networks_and_plans(draw: st.DrawFn) -> tuple[Network, Plan]:
    """A random small network and a feasible plan for it, claiming reference costs."""
    n_s, n_r, n_p = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    money = st.floats(0.0, 1000.0)
    coord = (st.floats(-60.0, 60.0), st.floats(-180.0, 180.0))
    statuses = [draw(st.sampled_from(["candidate", "existing", "forced_open", "forced_closed"])) for _ in range(n_s)]
    if all(x == "forced_closed" for x in statuses):
        statuses[0] = "candidate"
    site_ids = [f"S{i}" for i in range(n_s)]
    usable = [i for i in site_ids if statuses[site_ids.index(i)] != "forced_closed"]
    chosen = draw(st.lists(st.sampled_from(usable), min_size=1, unique=True))
    open_sites = sorted(set(chosen) | {i for i, x in zip(site_ids, statuses) if x == "forced_open"})
    products = {f"P{k}": {"unit_value": draw(money), "volume": draw(st.floats(0.1, 5.0)),
                          "holding_rate": draw(st.floats(0.0, 0.5)), "shipping_cost_per_km": draw(st.floats(0.0, 0.1))}
                for k in range(n_p)}
    regions = {f"R{j}": (draw(coord[0]), draw(coord[1])) for j in range(n_r)}
    demand, rows = [], []
    for region in regions:
        for product in products:
            q = draw(st.one_of(st.just(0.0), st.floats(1.0, 1000.0)))
            demand.append((region, product, q))
            if q > 0:
                first = draw(st.sampled_from(open_sites))
                split = draw(st.one_of(st.just(1.0), st.floats(0.1, 0.9)))
                second = draw(st.sampled_from([s for s in open_sites if s != first] or [first]))
                rows.append((first, region, product, q * split))
                if split < 1.0 and second != first:
                    rows.append((second, region, product, q * (1 - split)))
                elif split < 1.0:
                    rows[-1] = (first, region, product, q)
    table = flows(*rows)
    throughput = {s: 0.0 for s in site_ids}
    for site, _, product, q in rows:
        throughput[site] += q * products[product]["volume"]
    sites = {}
    for i, status in zip(site_ids, statuses):
        room = draw(st.one_of(st.just(math.inf), st.floats(1.0, 2.0)))
        sites[i] = {"lat": draw(coord[0]), "lon": draw(coord[1]), "status": status,
                    "capacity": room * max(throughput[i], 1.0), "fixed_cost": draw(st.floats(1.0, 1000.0)),
                    "handling_cost": draw(st.floats(0.0, 3.0)), "closing_cost": draw(money)}
    matrix = draw(st.one_of(st.none(), st.just(np.arange(n_s * n_r, dtype=float).reshape(n_s, n_r) / 3.0)))
    net = make_net(sites, regions, products, demand, unit_shipping_cost=matrix,
                   circuity=draw(st.floats(1.0, 2.0)), days_of_cover=draw(st.floats(0.0, 30.0)))
    plan = Plan(open_sites, table)
    plan.costs = reference_costs(net, plan)
    plan.objective = sum(plan.costs.values())
    return net, plan


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(networks_and_plans())
def test_feasible_plans_are_accepted(case: tuple[Network, Plan]) -> None:
    net, plan = case
    report = check(net, plan)
    assert report.ok, report.violations
    assert report.costs == pytest.approx({"inbound": 0.0, "transfer": 0.0, **plan.costs}, rel=1e-9, abs=1e-9)


@PROPERTY
@given(networks_and_plans(), st.data())
def test_perturbed_flow_is_rejected(case: tuple[Network, Plan], data: st.DataObject) -> None:
    net, plan = case
    if plan.flows.empty:
        return
    k = data.draw(st.integers(0, len(plan.flows) - 1))
    q = plan.flows.at[k, "quantity"]
    # Any change above 1e-6 x demand (demand >= q >= 0.1) breaks the demand row; keep the flow positive.
    delta = data.draw(st.floats(1e-4, 0.5)) * q * data.draw(st.sampled_from([-1.0, 1.0]))
    plan.flows.at[k, "quantity"] = q + delta
    plan.costs = reference_costs(net, plan)
    plan.objective = sum(plan.costs.values())
    report = check(net, plan)
    assert any(f"region {plan.flows.at[k, 'to']}, product {plan.flows.at[k, 'product']}: demand" in v
               for v in report.violations), report.violations


@PROPERTY
@given(networks_and_plans(), st.data())
def test_dropped_flow_is_rejected(case: tuple[Network, Plan], data: st.DataObject) -> None:
    net, plan = case
    if plan.flows.empty:
        return
    k = data.draw(st.integers(0, len(plan.flows) - 1))
    region, product = plan.flows.at[k, "to"], plan.flows.at[k, "product"]
    plan.flows = plan.flows.drop(index=k).reset_index(drop=True)
    plan.costs = reference_costs(net, plan)
    plan.objective = sum(plan.costs.values())
    report = check(net, plan)
    assert any(f"region {region}, product {product}: demand" in v and "short by" in v for v in report.violations)


@PROPERTY
@given(networks_and_plans(), st.sampled_from(COST_COMPONENTS + ("objective",)))
def test_cost_claim_off_by_one_percent_is_rejected(case: tuple[Network, Plan], target: str) -> None:
    net, plan = case
    if target == "objective":
        plan.objective *= 1.01
        expected = "objective claimed"
    else:
        # 1 % of the total, put on one component (which may be 0); the objective stays consistent.
        plan.costs[target] += 0.01 * plan.objective
        plan.objective = sum(plan.costs.values())
        expected = f"{target} cost claimed"
    report = check(net, plan)
    assert not report.ok
    assert any(v.startswith(expected) for v in report.violations), report.violations
