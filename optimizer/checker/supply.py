"""The independent checker's supply side: routes from suppliers, links and their costs.

Part of :mod:`optimizer.checker` and bound by the same rule: it re-derives
everything from the raw tables (``suppliers``, ``supply``, ``links``,
``settings.transport``) and takes from :attr:`Network.graph` only *which*
links exist (the graph is the one source of lanes; default links are
generated there).  Link lengths are recomputed with the checker's own
haversine, costs from the raw link parameters:

* a link moves one volume unit for ``cost_per_volume + cost_per_volume_km x km``;
* inbound: per route, quantity x (supplier unit_cost + volume x first link's cost);
* transfer: per route, quantity x volume x the other links' costs;
* a link carrying anything pays its fixed_cost (to inbound, transfer or, for
  site -> region links, shipping);
* conservation: what routes bring to a site equals what it ships to regions,
  per product; supplier and link capacities hold.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd

from optimizer.network import Network
from optimizer.plan import ROUTE_COLUMNS

#: Link kinds by endpoint kinds, the checker's own copy.
_KIND = {("supplier", "site"): "inbound", ("site", "site"): "transfer", ("site", "region"): "outbound"}


def link_parameters(network: Network, km_of: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
                    ) -> pd.DataFrame:
    """Every link of the graph with its kind, km, cost per volume unit, capacity, fixed cost and transit days.

    Args:
        network: The network.
        km_of: The checker's great-circle function (paired, degrees -> km).

    Returns:
        Indexed by (from, to, mode).
    """
    graph = network.graph
    edges = list(graph.edges(keys=True))
    index = pd.MultiIndex.from_tuples(edges, names=["from", "to", "mode"]) if edges else \
        pd.MultiIndex.from_arrays([[], [], []], names=["from", "to", "mode"])
    transport = network.settings.transport
    if network.links is not None:
        raw = network.links.set_index(["from", "to", "mode"]).reindex(index)
    else:  # default links: road at the network-wide rate
        raw = pd.DataFrame({"cost_per_volume": 0.0, "cost_per_volume_km": transport.cost_per_volume_km,
                            "distance_km": np.nan, "capacity": np.inf, "transit_days": np.nan,
                            "fixed_cost": 0.0}, index=index)
    lat = {n: d["lat"] for n, d in graph.nodes(data=True)}
    lon = {n: d["lon"] for n, d in graph.nodes(data=True)}
    frm, to = index.get_level_values(0), index.get_level_values(1)
    great = km_of(np.array([lat[n] for n in frm], dtype=float), np.array([lon[n] for n in frm], dtype=float),
                  np.array([lat[n] for n in to], dtype=float), np.array([lon[n] for n in to], dtype=float))
    given = raw["distance_km"].to_numpy(dtype=float)
    km = np.where(np.isnan(given), great * network.settings.circuity, given)
    kinds = [_KIND.get((graph.nodes[a]["kind"], graph.nodes[b]["kind"]), "") for a, b in zip(frm, to)]
    return pd.DataFrame({
        "kind": kinds, "km": km,
        "cost_per_volume": raw["cost_per_volume"].to_numpy(dtype=float)
        + raw["cost_per_volume_km"].to_numpy(dtype=float) * km,
        "capacity": raw["capacity"].to_numpy(dtype=float), "fixed_cost": raw["fixed_cost"].to_numpy(dtype=float),
        "transit_days": np.where(np.isnan(raw["transit_days"].to_numpy(dtype=float)), km / transport.km_per_day,
                                 raw["transit_days"].to_numpy(dtype=float)),
    }, index=index)


def check_supply(network: Network, flows: pd.DataFrame, routes: pd.DataFrame, links: pd.DataFrame,
                 rel_tol: float, violations: list[str], fmt: Callable[[float], str]) -> dict[str, float]:
    """Check routes, conservation, supplier and link capacities; return the supply-side costs.

    Args:
        network: The network.
        flows: The checker's usable site -> region flows (with ``p``, ``mode`` and ``quantity``).
        routes: The plan's routes.
        links: :func:`link_parameters` of the network.
        rel_tol: Relative tolerance.
        violations: List to append to.
        fmt: Number formatter for messages.

    Returns:
        ``inbound``, ``transfer`` and ``link_fixed_outbound`` costs, currency per period.
    """
    costs = {"inbound": 0.0, "transfer": 0.0, "link_fixed_outbound": 0.0}
    missing = [c for c in ROUTE_COLUMNS if c not in routes.columns]
    if missing:
        violations.append(f"routes table lacks column(s) {', '.join(missing)}")
        return costs
    if not network.has_suppliers:
        if len(routes):
            violations.append(f"the network has no suppliers but the plan has {len(routes)} route(s)")
        return costs
    volume = network.products["volume"].astype(float)
    supply = network.supply.set_index(["supplier", "product"]) if network.supply is not None else pd.DataFrame()
    link_load: dict[tuple[str, str, str], float] = {}
    arrived: dict[tuple[str, str], float] = {}
    shipped_out: dict[tuple[str, str], float] = {}
    for route in routes.itertuples(index=False):
        where = f"route {route.supplier} -> {route.site} ({route.product})"
        q = float(route.quantity)
        if not math.isfinite(q) or q < 0:
            violations.append(f"{where} has quantity {q!r}; it must be a finite number >= 0")
            continue
        if (route.supplier, route.product) not in supply.index:
            violations.append(f"{where}: supplier {route.supplier} does not provide product {route.product}")
            continue
        path, modes = list(route.path), list(route.modes)
        if len(path) < 2 or len(modes) != len(path) - 1 or path[0] != route.supplier or path[-1] != route.site:
            violations.append(f"{where}: path {path} with modes {modes} does not lead from the supplier to the site")
            continue
        legs = list(zip(path[:-1], path[1:], modes))
        unknown = [leg for leg in legs if leg not in links.index]
        if unknown:
            violations.append(f"{where}: link {unknown[0][0]} -> {unknown[0][1]} by {unknown[0][2]} is not in "
                              "the lane graph")
            continue
        params = links.loc[legs]
        if list(params["kind"]) != ["inbound"] + ["transfer"] * (len(legs) - 1):
            violations.append(f"{where}: path {path} must go supplier -> site (-> site ...)")
            continue
        cpv = params["cost_per_volume"].to_numpy() * volume[route.product]
        costs["inbound"] += q * (float(supply.loc[(route.supplier, route.product), "unit_cost"]) + cpv[0])
        costs["transfer"] += q * float(cpv[1:].sum())
        for leg in legs:
            link_load[leg] = link_load.get(leg, 0.0) + q * volume[route.product]
        arrived[(route.site, route.product)] = arrived.get((route.site, route.product), 0.0) + q
        shipped_out[(route.supplier, route.product)] = shipped_out.get((route.supplier, route.product), 0.0) + q
    kept = flows.groupby(["from", "product"])["quantity"].sum().to_dict()
    for key in sorted(set(kept) | set(arrived)):
        a, k = arrived.get(key, 0.0), kept.get(key, 0.0)
        if abs(a - k) > rel_tol * max(1.0, k):
            violations.append(f"site {key[0]}, product {key[1]}: routes bring {fmt(a)} units per period but the "
                              f"site ships {fmt(k)} to regions (flow not conserved)")
    for key, q in shipped_out.items():
        cap = float(supply.loc[key, "capacity"])
        if q > cap + rel_tol * max(1.0, cap):
            violations.append(f"supplier {key[0]}, product {key[1]}: {fmt(q)} units per period exceed its "
                              f"capacity {fmt(cap)}")
    outbound = flows[flows["mode"] != "road"]
    for (site, region, mode), group in outbound.groupby(["from", "to", "mode"]):
        load = float((group["quantity"] * group["product"].map(volume)).sum())
        link_load[(site, region, mode)] = link_load.get((site, region, mode), 0.0) + load
    for leg, load in link_load.items():
        row = links.loc[leg]
        if load > row["capacity"] + rel_tol * max(1.0, row["capacity"]):
            violations.append(f"link {leg[0]} -> {leg[1]} by {leg[2]} carries {fmt(load)} volume units per period, "
                              f"beyond its capacity {fmt(row['capacity'])}")
        if load > rel_tol and row["fixed_cost"] > 0:
            name = {"inbound": "inbound", "transfer": "transfer"}.get(row["kind"], "link_fixed_outbound")
            costs[name] += float(row["fixed_cost"])
    return costs
