"""The supply side of the model: suppliers -> sites over the lane graph, and link limits.

Added to the location-allocation model of :mod:`optimizer.model.build` when
the network has suppliers (and, for link capacities and fixed costs, when
links.csv has site -> region links).  Columns come after the assignment columns:

* routing flows, units per period, one per (route, product), in one of two forms:

  - ``arc_flow``: one column per (inbound or transfer link, product); flow is
    conserved at every site: what arrives (from suppliers and other sites)
    equals what leaves (to other sites) plus what the site ships to regions;
  - ``shortest_path``: one column per (supplier, site, product) carried on the
    cheapest path of the lane graph (networkx Dijkstra on cost per volume
    unit), which is exact when no inbound or transfer link has a capacity or a
    fixed cost, and much smaller;

* one binary per link with a fixed cost: the link is used.

Goods passing through a site on their way elsewhere are not handled there:
a site's capacity, handling and stock apply to what it ships to regions (in a
steady period this equals what it receives for its own regions).

Rows: conservation per (site, product), supplier capacity per (supplier,
product), link capacity ``sum_p volume_p flow_lp <= capacity_l (x used_l)``
per capacitated or fixed-cost link.  Costs: ``inbound`` = purchase unit cost
+ the supplier's link; ``transfer`` = site -> site links; link fixed costs go
to the component of the link's kind (outbound links: ``shipping``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.network import Network

#: Routing forms.
ROUTINGS = ("arc_flow", "shortest_path")

#: Flows below this (units per period) are dropped when decoding routes.
ROUTE_EPS = 1e-7


@dataclass
class Triplets:
    """Sparse rows under construction (global row and column indices)."""

    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)
    lo: list[np.ndarray] = field(default_factory=list)
    hi: list[np.ndarray] = field(default_factory=list)
    n_rows: int = 0

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Add rows numbered ``0..len(lo)-1`` locally (shifted to the next free row)."""
        self.rows.append(np.asarray(rows, dtype=np.int64) + self.n_rows)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=float))
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.n_rows += len(lo)


@dataclass
class Routing:
    """The routing columns and what is needed to read them back.

    Attributes:
        form: ``arc_flow`` or ``shortest_path`` (``none`` without suppliers).
        first_col: Index of the first routing column.
        flow_product: Product index of each flow column.
        flow_link: ``arc_flow``: link-table row of each flow column.
        flow_supplier: ``shortest_path``: supplier id of each flow column.
        flow_site: ``shortest_path``: site id of each flow column.
        paths: ``shortest_path``: (supplier, site) -> list of link-table rows along the path.
        used_links: Link-table rows that have a "used" binary, in column order after the flows.
        costs: Objective coefficients per cost component for the routing columns.
    """

    form: str
    first_col: int
    flow_product: np.ndarray
    flow_link: np.ndarray
    flow_supplier: np.ndarray
    flow_site: np.ndarray
    paths: dict[tuple[str, str], list[int]]
    used_links: np.ndarray
    costs: dict[str, np.ndarray]

    @property
    def n_flows(self) -> int:
        """Number of flow columns."""
        return len(self.flow_product)

    @property
    def n_cols(self) -> int:
        """Number of routing columns (flows then link binaries)."""
        return self.n_flows + len(self.used_links)


def routing_form(network: Network) -> str:
    """The routing form to use (resolving ``auto``); ``none`` without suppliers.

    Raises:
        InputError: ``shortest_path`` was asked for but a link has a capacity or fixed cost.
    """
    if not network.has_suppliers:
        return "none"
    links = network.link_table
    supply_side = links[links["kind"] != "outbound"]
    limited = supply_side[np.isfinite(supply_side["capacity"]) | (supply_side["fixed_cost"] > 0)]
    wanted = network.settings.transport.routing
    if wanted == "shortest_path" and len(limited):
        first = limited.iloc[0]
        raise InputError(Problem(
            "network.yaml", f"routing shortest_path cannot respect link capacities or fixed costs, and "
            f"{len(limited)} link(s) have them (e.g. {first['from']} -> {first['to']} by {first['mode']}); "
            "use routing: arc_flow or auto", field="transport.routing"))
    if wanted == "auto":
        return "arc_flow" if len(limited) else "shortest_path"
    return wanted


def supply_matrices(network: Network) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Supplier x product arrays: provides (bool), capacity (units per period), unit cost (currency per unit)."""
    n_s, n_p = len(network.suppliers), len(network.products)
    provides = np.zeros((n_s, n_p), dtype=bool)
    capacity = np.zeros((n_s, n_p))
    unit_cost = np.zeros((n_s, n_p))
    supply = network.supply
    if supply is not None and len(supply):
        s = network.suppliers.index.get_indexer(supply["supplier"])
        p = network.products.index.get_indexer(supply["product"])
        provides[s, p] = True
        capacity[s, p] = supply["capacity"].to_numpy(dtype=float)
        unit_cost[s, p] = supply["unit_cost"].to_numpy(dtype=float)
    return provides, capacity, unit_cost


def cheapest_paths(network: Network) -> dict[tuple[str, str], list[int]]:
    """Cheapest path (link-table rows) from every supplier to every reachable site over inbound/transfer links."""
    links = network.link_table
    graph = nx.DiGraph()
    supply_side = links[links["kind"] != "outbound"]
    best = supply_side.sort_values("cost_per_volume", kind="stable").drop_duplicates(["from", "to"])
    graph.add_weighted_edges_from(zip(best["from"], best["to"], best["cost_per_volume"]))
    row_of = dict(zip(zip(best["from"], best["to"]), best.index))
    sites = set(network.sites.index)
    out: dict[tuple[str, str], list[int]] = {}
    for supplier in network.suppliers.index:
        if supplier not in graph:
            continue
        for target, nodes in nx.single_source_dijkstra_path(graph, supplier).items():
            if target in sites:
                out[(supplier, target)] = [int(row_of[(a, b)]) for a, b in zip(nodes[:-1], nodes[1:])]
    return out


def add_routing(network: Network, first_col: int, lane_cols: np.ndarray, lane_site: np.ndarray,
                lane_mix: np.ndarray, lane_link: np.ndarray, lane_volume: np.ndarray, site_cols: np.ndarray,
                rows: Triplets) -> Routing:
    """Add the routing columns' rows to ``rows`` and return the columns' description.

    Args:
        network: The network.
        first_col: Index of the first routing column.
        lane_cols: Column index of each assignment lane.
        lane_site: Site index of each lane.
        lane_mix: Units per period of each product carried when the lane serves its whole unit, (C, P).
        lane_link: Link-table row of each lane (-1 for distance-based lanes).
        lane_volume: Volume units per period of each lane at full service, (C,).
        site_cols: Column index of each site's open binary.
        rows: Row triplets to extend.

    Returns:
        The routing columns.
    """
    form = routing_form(network)
    links = network.link_table
    P = len(network.products)
    volume = network.products["volume"].to_numpy(dtype=float)
    empty = np.zeros(0, dtype=np.int64)
    flow_product, flow_link = empty, empty
    flow_supplier = flow_site = np.zeros(0, dtype=object)
    paths: dict[tuple[str, str], list[int]] = {}
    costs = {"inbound": np.zeros(0), "transfer": np.zeros(0), "shipping": np.zeros(0)}
    flow_site_idx = flow_sup_idx = empty
    if form != "none":
        provides, capacity, unit_cost = supply_matrices(network)
        suppliers = network.suppliers.index
        if form == "arc_flow":
            supply_side = links.index[links["kind"] != "outbound"].to_numpy()
            frm = links["from"].to_numpy(dtype=object)[supply_side]
            sup_idx = suppliers.get_indexer(frm)
            ok = np.where(sup_idx[:, None] >= 0, provides[np.maximum(sup_idx, 0)], True)  # (L, P)
            li, flow_product = np.nonzero(ok)
            flow_link = supply_side[li]
            cpv = links["cost_per_volume"].to_numpy(dtype=float)[flow_link] * volume[flow_product]
            sup = sup_idx[li]
            inbound = sup >= 0
            purchase = np.where(inbound, unit_cost[np.maximum(sup, 0), flow_product], 0.0)
            costs["inbound"] = np.where(inbound, purchase + cpv, 0.0)
            costs["transfer"] = np.where(inbound, 0.0, cpv)
            flow_sup_idx = sup
        else:
            paths = cheapest_paths(network)
            keys = list(paths)
            pair_sup = suppliers.get_indexer([k[0] for k in keys])
            pair_site = network.sites.index.get_indexer([k[1] for k in keys])
            cpv = links["cost_per_volume"].to_numpy(dtype=float)
            first_leg = np.array([cpv[paths[k][0]] for k in keys]) if keys else np.zeros(0)
            rest = np.array([cpv[paths[k][1:]].sum() for k in keys]) if keys else np.zeros(0)
            ok = provides[pair_sup] if keys else np.zeros((0, P), dtype=bool)
            pi, flow_product = np.nonzero(ok)
            flow_sup_idx, flow_site_idx = pair_sup[pi], pair_site[pi]
            flow_supplier = np.asarray(suppliers, dtype=object)[flow_sup_idx]
            flow_site = np.asarray(network.sites.index, dtype=object)[flow_site_idx]
            costs["inbound"] = unit_cost[flow_sup_idx, flow_product] + first_leg[pi] * volume[flow_product]
            costs["transfer"] = rest[pi] * volume[flow_product]
        costs["shipping"] = np.zeros(len(flow_product))
        flow_cols = first_col + np.arange(len(flow_product))
        _conservation(network, form, links, flow_cols, flow_link, flow_product, flow_site_idx, lane_cols,
                      lane_site, lane_mix, rows)
        _supplier_capacity(flow_cols, flow_sup_idx, flow_product, capacity, P, rows)
    n_flows = len(flow_product)
    used_links = _link_limits(network, form, first_col, n_flows, flow_link, flow_product, volume, lane_cols,
                              lane_link, lane_volume, rows)
    kind = links["kind"].to_numpy(dtype=object)[used_links]
    fixed = links["fixed_cost"].to_numpy(dtype=float)[used_links]
    for name, link_kind in (("inbound", "inbound"), ("transfer", "transfer"), ("shipping", "outbound")):
        costs[name] = np.concatenate([costs[name], np.where(kind == link_kind, fixed, 0.0)])
    return Routing(form=form, first_col=first_col, flow_product=flow_product, flow_link=flow_link,
                   flow_supplier=flow_supplier, flow_site=flow_site, paths=paths, used_links=used_links,
                   costs=costs)


def _conservation(network: Network, form: str, links: pd.DataFrame, flow_cols: np.ndarray, flow_link: np.ndarray,
                  flow_product: np.ndarray, flow_site_idx: np.ndarray, lane_cols: np.ndarray,
                  lane_site: np.ndarray, lane_mix: np.ndarray, rows: Triplets) -> None:
    """What reaches a site equals what it sends on plus what it ships to regions, per (site, product)."""
    S, P = len(network.sites), len(network.products)
    site_index = network.sites.index
    lane_c, lane_p = np.nonzero(lane_mix > 0)
    r = [lane_site[lane_c] * P + lane_p]
    c = [lane_cols[lane_c]]
    v = [-lane_mix[lane_c, lane_p]]
    if form == "arc_flow":
        to_site = site_index.get_indexer(links["to"].to_numpy(dtype=object)[flow_link])
        from_site = site_index.get_indexer(links["from"].to_numpy(dtype=object)[flow_link])
        into, out = to_site >= 0, from_site >= 0
        r += [to_site[into] * P + flow_product[into], from_site[out] * P + flow_product[out]]
        c += [flow_cols[into], flow_cols[out]]
        v += [np.ones(int(into.sum())), -np.ones(int(out.sum()))]
    else:
        r.append(flow_site_idx * P + flow_product)
        c.append(flow_cols)
        v.append(np.ones(len(flow_cols)))
    rows.add(np.concatenate(r), np.concatenate(c), np.concatenate(v), np.zeros(S * P), np.zeros(S * P))


def _supplier_capacity(flow_cols: np.ndarray, flow_sup_idx: np.ndarray, flow_product: np.ndarray,
                       capacity: np.ndarray, P: int, rows: Triplets) -> None:
    """Units leaving each supplier per product within its capacity (finite capacities only)."""
    from_supplier = flow_sup_idx >= 0
    key = flow_sup_idx[from_supplier] * P + flow_product[from_supplier]
    finite = np.flatnonzero(np.isfinite(capacity.ravel()))
    if not len(finite):
        return
    row_of = np.full(capacity.size, -1)
    row_of[finite] = np.arange(len(finite))
    keep = row_of[key] >= 0
    rows.add(row_of[key[keep]], flow_cols[from_supplier][keep], np.ones(int(keep.sum())),
             np.full(len(finite), -np.inf), capacity.ravel()[finite])


def _link_limits(network: Network, form: str, first_col: int, n_flows: int, flow_link: np.ndarray,
                 flow_product: np.ndarray, volume: np.ndarray, lane_cols: np.ndarray, lane_link: np.ndarray,
                 lane_volume: np.ndarray, rows: Triplets) -> np.ndarray:
    """Capacity rows (and "used" binaries for fixed costs) of links; returns the links with a binary."""
    links = network.link_table
    capacity = links["capacity"].to_numpy(dtype=float)
    fixed = links["fixed_cost"].to_numpy(dtype=float)
    carried = np.zeros(len(links), dtype=bool)
    if form == "arc_flow":
        carried[flow_link] = True
    carried[lane_link[lane_link >= 0]] = True
    limited = np.flatnonzero(carried & (np.isfinite(capacity) | (fixed > 0)))
    used = limited[fixed[limited] > 0]
    if not len(limited):
        return used
    row_of = np.full(len(links), -1)
    row_of[limited] = np.arange(len(limited))
    arc = row_of[flow_link] >= 0 if form == "arc_flow" else np.zeros(n_flows, dtype=bool)
    lane = (lane_link >= 0) & (row_of[np.maximum(lane_link, 0)] >= 0)
    big_m = float(lane_volume.sum()) if len(lane_volume) else 0.0
    bound = np.where(np.isfinite(capacity[used]), capacity[used], big_m)
    used_cols = first_col + n_flows + np.arange(len(used))
    rows.add(
        np.concatenate([row_of[flow_link[arc]], row_of[lane_link[lane]], row_of[used]]),
        np.concatenate([first_col + np.flatnonzero(arc), lane_cols[lane], used_cols]),
        np.concatenate([volume[flow_product[arc]], lane_volume[lane], -bound]),
        np.full(len(limited), -np.inf),
        np.where(fixed[limited] > 0, 0.0, capacity[limited]),
    )
    return used
