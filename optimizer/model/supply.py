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
    unit, plus the handling of the sites passed through), which is exact when
    no inbound or transfer link has a capacity or a fixed cost and no cheapest
    path passes through a site that may close or is capacitated, and smaller;

* one binary per link with a fixed cost: the link is used.

A site that sends goods on to another site (an intermediate node of a route)
cross-docks them: transit requires the site open, and the volume it sends on
pays its handling cost and counts toward its capacity.  A site's throughput is
therefore what it ships to regions plus what it sends on over site -> site
links; stock still applies to what it ships to its own regions.

Rows: conservation per (site, product), supplier capacity per (supplier,
product), link capacity ``sum_p volume_p flow_lp <= capacity_l (x used_l)``
per capacitated or fixed-cost link, and (arc flows) transit
``sum_p volume_p flow_lp <= U_l y_site`` per site -> site link, where ``U_l``
(:func:`link_bounds`) is the most volume that can cross the link: its
capacity, the capacity of the site it leaves, and the demand volume of the
regions reachable downstream, whichever is least.  The same ``U_l`` is the
big-M of a link's fixed cost.  The transit volume is also added to the
sending site's capacity row and charged its handling cost.  The shortest-path
form cannot choose between paths as sites open and close, so it is exact (and
allowed) only when every intermediate site of a cheapest path is forced open
and uncapacitated; its paths are priced with the intermediate sites' handling.
Costs: ``inbound`` = purchase unit cost + the supplier's link; ``transfer`` =
site -> site links; ``handling`` = transit through sites; link fixed costs go
to the component of the link's kind (outbound links: ``shipping``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

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

    ``auto`` picks ``shortest_path`` when it is exact: no inbound or transfer link has a capacity or
    fixed cost, and every site a cheapest path passes through is forced open and uncapacitated
    (transit needs the site open and uses its capacity, which one fixed path cannot adapt to).

    Raises:
        InputError: ``shortest_path`` was asked for but is not exact for this network.
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
    if wanted == "arc_flow" or (wanted == "auto" and len(limited)):
        return "arc_flow"
    transit = _transit_paths(network, cheapest_paths(network))
    if wanted == "shortest_path" and transit:
        (supplier, site), via = next(iter(transit.items()))
        raise InputError(Problem(
            "network.yaml", f"routing shortest_path cannot make transit sites open or respect their capacity, and "
            f"{len(transit)} cheapest path(s) pass through a site that may close or is capacitated (e.g. "
            f"{supplier} -> {site} through {', '.join(via)}); use routing: arc_flow or auto",
            field="transport.routing"))
    return "arc_flow" if transit else "shortest_path"


def _transit_paths(network: Network, paths: dict[tuple[str, str], list[int]]) -> dict[tuple[str, str], list[str]]:
    """Paths through intermediate sites that are not forced open or have a finite capacity: (supplier, site) -> those."""
    sites = network.sites
    free = set(sites.index[(sites["status"] == "forced_open").to_numpy() & ~np.isfinite(sites["capacity"].to_numpy(
        dtype=float))])
    to = network.link_table["to"].to_numpy(dtype=object)
    out: dict[tuple[str, str], list[str]] = {}
    for key, rows in paths.items():
        via = [str(to[r]) for r in rows[:-1] if to[r] not in free]
        if via:
            out[key] = via
    return out


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
    """Cheapest path (link-table rows) from every supplier to every reachable site over inbound/transfer links.

    A path's cost per volume unit is that of its links plus the handling cost of every site it passes through.
    """
    links = network.link_table
    import networkx as nx  # here, not at import: only networks with suppliers need it (start-up time)

    graph = nx.DiGraph()
    supply_side = links[links["kind"] != "outbound"]
    best = supply_side.sort_values("cost_per_volume", kind="stable").drop_duplicates(["from", "to"])
    handling = network.sites["handling_cost"].astype(float)
    transit = best["from"].map(handling).fillna(0.0).to_numpy(dtype=float)  # suppliers handle nothing
    graph.add_weighted_edges_from(zip(best["from"], best["to"], best["cost_per_volume"].to_numpy(dtype=float) + transit))
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


def link_bounds(network: Network, lane_site: np.ndarray, lane_unit: np.ndarray, unit_mix: np.ndarray,
                lane_link: np.ndarray, lane_volume: np.ndarray) -> np.ndarray:
    """The most volume (volume units per period) that can cross each link of the link table, shape (L,).

    The least of the link's capacity, the capacities of the sites it leaves and enters (a site's shipments to
    regions and what it sends on count toward its capacity, and it receives no more than that) and what can
    cross it usefully in a plan without flow cycles:

    * site -> region link: the volume of the demand units it can serve;
    * supplier -> site and site -> site links, per product: the demand of the regions served by the sites
      reachable from the link's end, capped (from a supplier) by the supplier's capacity or (from a site) by the
      capacity of the suppliers that can reach the site.

    An optimal plan never needs more (any flow cycle can be cancelled at no extra cost), so the bound is a valid
    big-M for link fixed costs and for transit through a site.
    """
    links = network.link_table
    L = len(links)
    volume = network.products["volume"].to_numpy(dtype=float)
    capacity = links["capacity"].to_numpy(dtype=float)
    site_capacity = network.sites["capacity"].to_numpy(dtype=float)
    site_index = network.sites.index
    from_site = site_index.get_indexer(links["from"].to_numpy(dtype=object))
    to_site = site_index.get_indexer(links["to"].to_numpy(dtype=object))
    bound = np.full(L, np.inf)
    on_link = lane_link >= 0
    outbound = (links["kind"] == "outbound").to_numpy()
    served = np.bincount(lane_link[on_link], weights=lane_volume[on_link], minlength=L)
    bound[outbound] = served[outbound]  # a site -> region link carries at most the demand units it serves
    if network.has_suppliers:
        down, up = _reach(network, lane_site, lane_unit, unit_mix, from_site, to_site)
        provides, sup_capacity, _ = supply_matrices(network)
        sup_capacity = np.where(provides, sup_capacity, 0.0)
        sup_idx = network.suppliers.index.get_indexer(links["from"].to_numpy(dtype=object))
        inbound = (sup_idx >= 0) & (to_site >= 0)
        per_product = np.minimum(sup_capacity[sup_idx[inbound]], down[to_site[inbound]])
        bound[inbound] = np.minimum(bound[inbound], _volume(per_product, volume))
        transfer = (from_site >= 0) & (to_site >= 0)
        per_product = np.minimum(up[from_site[transfer]], down[to_site[transfer]])
        bound[transfer] = np.minimum(bound[transfer], _volume(per_product, volume))
    leaves_site, enters_site = from_site >= 0, to_site >= 0
    bound[leaves_site] = np.minimum(bound[leaves_site], site_capacity[from_site[leaves_site]])
    # what enters a site is shipped or sent on by it, and both count toward its capacity
    bound[enters_site] = np.minimum(bound[enters_site], site_capacity[to_site[enters_site]])
    total = float(unit_mix.sum(axis=0) @ volume)  # no acyclic flow carries more than all the demand
    return np.minimum(np.minimum(bound, capacity), total)


def _volume(per_product: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Row sums of units x volume per unit (infinite where any positive-volume entry is infinite)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(per_product).any(axis=1), np.inf, np.nan_to_num(per_product, posinf=0.0) @ volume)


def _reach(network: Network, lane_site: np.ndarray, lane_unit: np.ndarray, unit_mix: np.ndarray,
           from_site: np.ndarray, to_site: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site, units per period of each product: what the sites reachable from it (itself included) can serve,
    and what the suppliers that can reach it provide (inf when one of them is unlimited); both (S, P)."""
    S, K = len(network.sites), len(unit_mix)
    transfer = (from_site >= 0) & (to_site >= 0)
    adjacency = sp.csr_matrix((np.ones(int(transfer.sum())), (from_site[transfer], to_site[transfer])), shape=(S, S))
    n_comp, comp = connected_components(adjacency, directed=True, connection="strong")
    member = sp.csr_matrix((np.ones(S), (comp, np.arange(S))), shape=(n_comp, S))
    comp_adj = ((member @ adjacency @ member.T) > 0).astype(float)
    reach = sp.identity(n_comp, format="csr")  # component -> components reachable from it
    while True:
        grown = ((reach + reach @ comp_adj) > 0).astype(float)
        if grown.nnz == reach.nnz:
            break
        reach = grown
    serves = sp.csr_matrix((np.ones(len(lane_site)), (lane_site, lane_unit)), shape=(S, K))
    comp_units = ((reach @ (member @ serves)) > 0).astype(float)  # (n_comp, K) units servable downstream
    down = (comp_units @ unit_mix)[comp]
    links = network.link_table
    sup_idx = network.suppliers.index.get_indexer(links["from"].to_numpy(dtype=object))
    inbound = (sup_idx >= 0) & (to_site >= 0)
    n_sup = len(network.suppliers)
    sup_comp = sp.csr_matrix((np.ones(int(inbound.sum())), (sup_idx[inbound], comp[to_site[inbound]])),
                             shape=(n_sup, n_comp))
    sup_reach = (((sup_comp @ reach) > 0).astype(float) @ member).toarray() > 0  # (n_sup, S)
    provides, capacity, _ = supply_matrices(network)
    capacity = np.where(provides, capacity, 0.0)
    infinite = (sup_reach.T.astype(float) @ np.isinf(capacity).astype(float)) > 0
    up = np.where(infinite, np.inf, sup_reach.T.astype(float) @ np.where(np.isinf(capacity), 0.0, capacity))
    return down, up


def add_routing(network: Network, first_col: int, lane_cols: np.ndarray, lane_site: np.ndarray,
                lane_unit: np.ndarray, unit_mix: np.ndarray, lane_link: np.ndarray, site_cols: np.ndarray,
                cap_row_of_site: np.ndarray, rows: Triplets) -> Routing:
    """Add the routing columns' rows to ``rows`` and return the columns' description.

    Args:
        network: The network.
        first_col: Index of the first routing column.
        lane_cols: Column index of each assignment lane.
        lane_site: Site index of each lane.
        lane_unit: Assignment-unit index of each lane.
        unit_mix: Units per period of each product in each assignment unit, (K, P).
        lane_link: Link-table row of each lane (-1 for distance-based lanes).
        site_cols: Column index of each site's open binary.
        cap_row_of_site: Global row index of each site's capacity row, -1 for uncapacitated sites.
        rows: Row triplets to extend.

    Returns:
        The routing columns.
    """
    form = routing_form(network)
    links = network.link_table
    P = len(network.products)
    volume = network.products["volume"].to_numpy(dtype=float)
    handling = network.sites["handling_cost"].to_numpy(dtype=float)
    lane_mix = unit_mix[lane_unit]
    lane_volume = lane_mix @ volume
    bounds = link_bounds(network, lane_site, lane_unit, unit_mix, lane_link, lane_volume)
    empty = np.zeros(0, dtype=np.int64)
    flow_product, flow_link = empty, empty
    flow_supplier = flow_site = np.zeros(0, dtype=object)
    paths: dict[tuple[str, str], list[int]] = {}
    costs = {"inbound": np.zeros(0), "transfer": np.zeros(0), "shipping": np.zeros(0), "handling": np.zeros(0)}
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
            via = network.sites.index.get_indexer(frm[li])  # the site a transfer flow leaves, -1 from a supplier
            costs["handling"] = np.where(via >= 0, handling[via] * volume[flow_product], 0.0)
            flow_sup_idx = sup
        else:
            paths = cheapest_paths(network)
            keys = list(paths)
            pair_sup = suppliers.get_indexer([k[0] for k in keys])
            pair_site = network.sites.index.get_indexer([k[1] for k in keys])
            cpv = links["cost_per_volume"].to_numpy(dtype=float)
            first_leg = np.array([cpv[paths[k][0]] for k in keys]) if keys else np.zeros(0)
            rest = np.array([cpv[paths[k][1:]].sum() for k in keys]) if keys else np.zeros(0)
            through = network.sites.index.get_indexer(links["to"].to_numpy(dtype=object))
            transit = np.array([handling[through[paths[k][:-1]]].sum() for k in keys]) if keys else np.zeros(0)
            ok = provides[pair_sup] if keys else np.zeros((0, P), dtype=bool)
            pi, flow_product = np.nonzero(ok)
            flow_sup_idx, flow_site_idx = pair_sup[pi], pair_site[pi]
            flow_supplier = np.asarray(suppliers, dtype=object)[flow_sup_idx]
            flow_site = np.asarray(network.sites.index, dtype=object)[flow_site_idx]
            costs["inbound"] = unit_cost[flow_sup_idx, flow_product] + first_leg[pi] * volume[flow_product]
            costs["transfer"] = rest[pi] * volume[flow_product]
            costs["handling"] = transit[pi] * volume[flow_product]
        costs["shipping"] = np.zeros(len(flow_product))
        flow_cols = first_col + np.arange(len(flow_product))
        _conservation(network, form, links, flow_cols, flow_link, flow_product, flow_site_idx, lane_cols,
                      lane_site, lane_mix, rows)
        _supplier_capacity(flow_cols, flow_sup_idx, flow_product, capacity, P, rows)
        if form == "arc_flow":
            _transit(network, flow_cols, flow_link, flow_product, volume, bounds, site_cols, cap_row_of_site, rows)
    n_flows = len(flow_product)
    used_links = _link_limits(network, form, first_col, n_flows, flow_link, flow_product, volume, lane_cols,
                              lane_link, lane_volume, bounds, rows)
    kind = links["kind"].to_numpy(dtype=object)[used_links]
    fixed = links["fixed_cost"].to_numpy(dtype=float)[used_links]
    for name, link_kind in (("inbound", "inbound"), ("transfer", "transfer"), ("shipping", "outbound")):
        costs[name] = np.concatenate([costs[name], np.where(kind == link_kind, fixed, 0.0)])
    costs["handling"] = np.concatenate([costs["handling"], np.zeros(len(used_links))])
    return Routing(form=form, first_col=first_col, flow_product=flow_product, flow_link=flow_link,
                   flow_supplier=flow_supplier, flow_site=flow_site, paths=paths, used_links=used_links,
                   costs=costs)


def _transit(network: Network, flow_cols: np.ndarray, flow_link: np.ndarray, flow_product: np.ndarray,
             volume: np.ndarray, bounds: np.ndarray, site_cols: np.ndarray, cap_row_of_site: np.ndarray,
             rows: Triplets) -> None:
    """Only open sites send goods on, and transit uses the sending site's capacity (arc flows).

    Per supply-side link ``l`` leaving site ``i``: ``sum_p volume_p flow_lp <= U_l y_i`` with ``U_l`` from
    :func:`link_bounds`; the same volume is added to site ``i``'s capacity row (when it has one).  Per link ``l``
    into site ``j`` the valid inequality ``sum_p volume_p flow_lp <= U_l y_j`` (a closed site receives nothing,
    since it neither ships nor sends on) tightens the relaxation.
    """
    links = network.link_table
    index = network.sites.index
    via = index.get_indexer(links["from"].to_numpy(dtype=object)[flow_link])
    out = np.flatnonzero(via >= 0)
    capped = cap_row_of_site[via[out]] >= 0
    rows.rows.append(cap_row_of_site[via[out][capped]].astype(np.int64))
    rows.cols.append(flow_cols[out][capped].astype(np.int64))
    rows.vals.append(volume[flow_product[out]][capped])
    for end in ("from", "to"):
        site = index.get_indexer(links[end].to_numpy(dtype=object)[flow_link])
        sel = np.flatnonzero(site >= 0)
        if not len(sel):
            continue
        link_rows, local = np.unique(flow_link[sel], return_inverse=True)
        link_site = index.get_indexer(links[end].to_numpy(dtype=object)[link_rows])
        n = len(link_rows)
        rows.add(np.concatenate([local, np.arange(n)]),
                 np.concatenate([flow_cols[sel], site_cols[link_site]]),
                 np.concatenate([volume[flow_product[sel]], -bounds[link_rows]]),
                 np.full(n, -np.inf), np.zeros(n))


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
                 lane_volume: np.ndarray, bounds: np.ndarray, rows: Triplets) -> np.ndarray:
    """Capacity rows (and "used" binaries for fixed costs) of links; returns the links with a binary.

    A fixed-cost link's row is ``sum volume x flow <= U_l x used_l`` with ``U_l`` the most volume that can cross
    it (:func:`link_bounds`), never larger than its capacity.
    """
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
    arc = row_of[flow_link] >= 0 if form == "arc_flow" else np.zeros(len(flow_link), dtype=bool)  # path flows: none
    lane = (lane_link >= 0) & (row_of[np.maximum(lane_link, 0)] >= 0)
    used_cols = first_col + n_flows + np.arange(len(used))
    rows.add(
        np.concatenate([row_of[flow_link[arc]], row_of[lane_link[lane]], row_of[used]]),
        np.concatenate([first_col + np.flatnonzero(arc), lane_cols[lane], used_cols]),
        np.concatenate([volume[flow_product[arc]], lane_volume[lane], -bounds[used]]),
        np.full(len(limited), -np.inf),
        np.where(fixed[limited] > 0, 0.0, capacity[limited]),
    )
    return used
