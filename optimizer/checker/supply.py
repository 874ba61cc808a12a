"""The independent checker's supply side: routes from suppliers, links and their costs.

Part of :mod:`optimizer.checker` and bound by the same rule: it re-derives
everything from the raw tables (``suppliers``, ``supply``, ``links``,
``settings.transport``) through the checker's own link set
(:mod:`optimizer.checker.linkset`):

* a link moves one volume unit for ``cost_per_volume + cost_per_volume_km x km``;
* inbound: per route, quantity x (supplier unit_cost + volume x first link's cost);
* transfer: per route, quantity x volume x the other links' costs;
* a link carrying anything pays its fixed_cost (to inbound, transfer or, for
  site -> region links, shipping);
* goods cross only open sites: every site on a route after the supplier (the
  sites it passes through and the site it ends at) must be open; the volume a
  site sends on to other sites counts toward its throughput (handling, capacity);
* conservation: what routes bring to a site equals what it ships to regions,
  per product; supplier and link capacities hold.

Tolerances are aggregate (see :mod:`optimizer.checker.core`): per (site,
product) conservation row, per (supplier, product), per link, and per
destination site for the routes that cross sites not open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from optimizer.network import Network
from optimizer.plan import ROUTE_COLUMNS


@dataclass
class SupplySide:
    """What the supply-side check found besides violations.

    Attributes:
        costs: ``inbound``, ``transfer`` and ``link_fixed_outbound`` costs, currency per period.
        sent_on: Volume units per period each site sends on to other sites (routes
            passing through it), by site id.
    """

    costs: dict[str, float] = field(default_factory=lambda: {"inbound": 0.0, "transfer": 0.0,
                                                             "link_fixed_outbound": 0.0})
    sent_on: dict[str, float] = field(default_factory=dict)


@dataclass
class ClosedCrossings:
    """Routes that cross (or end at) sites not open, per destination site.

    Attributes:
        units: Units per period of those routes.
        sites: The sites not open that they cross.
        example: The first such route's path.
    """

    units: dict[str, float] = field(default_factory=dict)
    sites: dict[str, set[str]] = field(default_factory=dict)
    example: dict[str, list[str]] = field(default_factory=dict)

    def add(self, destination: str, quantity: float, shut: list[str], path: list[str]) -> None:
        """Record one route of ``quantity`` units to ``destination`` crossing the sites ``shut``."""
        self.units[destination] = self.units.get(destination, 0.0) + quantity
        self.sites.setdefault(destination, set()).update(shut)
        self.example.setdefault(destination, path)


def _tol(rel_tol: float, rhs: float) -> float:
    """Allowed violation of a row with right-hand side ``rhs``: ``rel_tol x max(1, |rhs|)``."""
    return rel_tol * max(1.0, abs(rhs))


def check_supply(network: Network, flows: pd.DataFrame, routes: pd.DataFrame, links: pd.DataFrame,
                 is_open: np.ndarray, rel_tol: float, violations: list[str],
                 fmt: Callable[[float], str]) -> SupplySide:
    """Check routes, transit sites, conservation, supplier and link capacities; return the supply-side costs.

    Args:
        network: The network.
        flows: The checker's usable site -> region flows (with ``mode``, ``on_link``, ``product`` and
            ``quantity``).
        routes: The plan's routes.
        links: The checker's own link table (:func:`optimizer.checker.linkset.link_table`).
        is_open: Boolean mask over the site table of the plan's open sites.
        rel_tol: Relative tolerance.
        violations: List to append to.
        fmt: Number formatter for messages.

    Returns:
        The supply-side costs and the volume each site sends on.
    """
    side = SupplySide()
    costs = side.costs
    missing = [c for c in ROUTE_COLUMNS if c not in routes.columns]
    if missing:
        violations.append(f"routes table lacks column(s) {', '.join(missing)}")
        return side
    volume = network.products["volume"].astype(float)
    if not network.has_suppliers:
        if len(routes):
            violations.append(f"the network has no suppliers but the plan has {len(routes)} route(s)")
        _charge_links(flows, links, {}, volume, costs, rel_tol, violations, fmt)  # site -> region links
        return side
    supply = network.supply.set_index(["supplier", "product"]) if network.supply is not None else pd.DataFrame()
    unit_cost = supply["unit_cost"].astype(float).to_dict() if len(supply) else {}
    vol = volume.to_dict()
    kind_of = dict(zip(links.index, links["kind"]))
    cpv_of = dict(zip(links.index, links["cost_per_volume"].astype(float)))
    open_ids = set(network.sites.index[is_open])
    link_load: dict[tuple[str, str, str], float] = {}
    arrived: dict[tuple[str, str], float] = {}
    shipped_out: dict[tuple[str, str], float] = {}
    into: dict[str, float] = {}
    crossing = ClosedCrossings()
    for route in routes.itertuples(index=False):
        where = f"route {route.supplier} -> {route.site} ({route.product})"
        q = float(route.quantity)
        if not math.isfinite(q) or q < 0:
            violations.append(f"{where} has quantity {q!r}; it must be a finite number >= 0")
            continue
        if (route.supplier, route.product) not in unit_cost:
            violations.append(f"{where}: supplier {route.supplier} does not provide product {route.product}")
            continue
        path, modes = list(route.path), list(route.modes)
        if len(path) < 2 or len(modes) != len(path) - 1 or path[0] != route.supplier or path[-1] != route.site:
            violations.append(f"{where}: path {path} with modes {modes} does not lead from the supplier to the site")
            continue
        legs = list(zip(path[:-1], path[1:], modes))
        unknown = [leg for leg in legs if leg not in kind_of]
        if unknown:
            violations.append(f"{where}: link {unknown[0][0]} -> {unknown[0][1]} by {unknown[0][2]} is not in "
                              "the lane graph")
            continue
        if [kind_of[leg] for leg in legs] != ["inbound"] + ["transfer"] * (len(legs) - 1):
            violations.append(f"{where}: path {path} must go supplier -> site (-> site ...)")
            continue
        v = vol[route.product]
        costs["inbound"] += q * (unit_cost[(route.supplier, route.product)] + cpv_of[legs[0]] * v)
        costs["transfer"] += q * sum(cpv_of[leg] * v for leg in legs[1:])
        for leg in legs:
            link_load[leg] = link_load.get(leg, 0.0) + q * v
        for site in path[1:-1]:
            side.sent_on[site] = side.sent_on.get(site, 0.0) + q * v
        arrived[(route.site, route.product)] = arrived.get((route.site, route.product), 0.0) + q
        shipped_out[(route.supplier, route.product)] = shipped_out.get((route.supplier, route.product), 0.0) + q
        into[route.site] = into.get(route.site, 0.0) + q
        shut = [site for site in path[1:] if site not in open_ids]
        if shut:
            crossing.add(route.site, q, shut, path)
    _check_transit(crossing, into, rel_tol, violations, fmt)
    kept = flows.groupby(["from", "product"])["quantity"].sum().to_dict()
    for key in sorted(set(kept) | set(arrived)):
        a, k = arrived.get(key, 0.0), kept.get(key, 0.0)
        if abs(a - k) > _tol(rel_tol, k):
            violations.append(f"site {key[0]}, product {key[1]}: routes bring {fmt(a)} units per period but the "
                              f"site ships {fmt(k)} to regions (flow not conserved)")
    for key, q in shipped_out.items():
        cap = float(supply.loc[key, "capacity"])
        if q > cap + _tol(rel_tol, cap):
            violations.append(f"supplier {key[0]}, product {key[1]}: {fmt(q)} units per period exceed its "
                              f"capacity {fmt(cap)}")
    _charge_links(flows, links, link_load, volume, costs, rel_tol, violations, fmt)
    return side


def _check_transit(crossing: ClosedCrossings, into: dict[str, float], rel_tol: float, violations: list[str],
                   fmt: Callable[[float], str]) -> None:
    """Routes crossing or ending at sites not open, aggregated per destination site.

    All routes to one site that cross a site not open (or end at it while it is
    not open) may carry together at most ``rel_tol x max(1, units arriving at the site)``.
    """
    for site in sorted(crossing.units):
        if crossing.units[site] > _tol(rel_tol, into[site]):
            violations.append(f"routes to site {site} carry {fmt(crossing.units[site])} units per period through "
                              f"site(s) {', '.join(sorted(crossing.sites[site]))} that the plan does not open or "
                              f"keep (e.g. path {' > '.join(map(str, crossing.example[site]))}); goods cross only "
                              "open sites")


def _charge_links(flows: pd.DataFrame, links: pd.DataFrame, link_load: dict[tuple[str, str, str], float],
                  volume: pd.Series, costs: dict[str, float], rel_tol: float, violations: list[str],
                  fmt: Callable[[float], str]) -> None:
    """Add the site -> region link loads, check every link's capacity and charge fixed costs of used links."""
    outbound = flows[flows["on_link"].to_numpy(dtype=bool)]
    for (site, region, mode), group in outbound.groupby(["from", "to", "mode"]):
        if (site, region, mode) not in links.index:
            continue  # reported by the shipping re-cost
        load = float((group["quantity"] * group["product"].map(volume)).sum())
        link_load[(site, region, mode)] = link_load.get((site, region, mode), 0.0) + load
    for leg, load in link_load.items():
        row = links.loc[leg]
        if load > row["capacity"] + _tol(rel_tol, row["capacity"]):
            violations.append(f"link {leg[0]} -> {leg[1]} by {leg[2]} carries {fmt(load)} volume units per period, "
                              f"beyond its capacity {fmt(row['capacity'])}")
        if load > rel_tol and row["fixed_cost"] > 0:
            name = {"inbound": "inbound", "transfer": "transfer"}.get(row["kind"], "link_fixed_outbound")
            costs[name] += float(row["fixed_cost"])
