"""Explain, in words, why a network admits no plan.

:func:`explain_infeasibility` looks for simple, provable causes in the raw
data (site counts, forced statuses, distances, capacities, single sourcing),
each stated on one line with ids and numbers.  It is called when the solver
reports infeasibility and can also be used before solving.  The causes it
looks for are sufficient, not necessary: an empty list means no single cause
was found, not that the network is feasible.

"Usable" sites are those not forced closed.  A region can reach a usable site
when the road distance is at most ``max_service_km`` (or unknown, or there
is no limit), exactly as the model builder creates lanes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from optimizer.checker import fmt_num
from optimizer.network import Network

#: Messages of one kind (one per region or group) before "... and N more".
MAX_MESSAGES = 10

#: Relative slack when comparing demand volume with capacity.
VOLUME_TOL = 1e-9

#: Above this many regions with demand, region groups are not searched (cost grows as regions^2 x sites).
MAX_GROUP_REGIONS = 2000

#: Ids listed in one message before "and N more".
LISTED_IDS = 8


def explain_infeasibility(network: Network) -> list[str]:
    """Reasons, one line each, why no plan can satisfy every constraint of ``network``.

    Args:
        network: The network (validated).

    Returns:
        Human-readable reasons with ids and numbers (volume units per period,
        km); empty when no specific reason was found.
    """
    sites = network.sites
    usable = (sites["status"] != "forced_closed").to_numpy()
    demand = network.demand_matrix  # (regions, products), units per period
    volume = demand @ network.products["volume"].to_numpy(dtype=float)  # per region, volume units per period
    needy = np.flatnonzero((demand > 0).any(axis=1))

    reasons = _count_reasons(network, usable)
    if len(needy) and not usable.any():
        what = "there are no sites" if not len(sites) else f"every site ({_listed(sites.index)}) is forced closed"
        reasons.append(f"{what}, but {len(needy)} region(s) have demand "
                       f"({fmt_num(volume.sum())} volume units per period)")
        return reasons
    reach = _reach(network, usable)
    reasons += _unreachable(network, reach, usable, needy)
    reachable = needy[reach[:, needy].any(axis=0)]
    reasons += _capacity_reasons(network, reach, usable, volume, reachable)
    if network.settings.single_sourcing:
        reasons += _single_source_reasons(network, reach, volume, reachable)
    if network.has_suppliers:
        reasons += _supply_reasons(network, demand.sum(axis=0))
        reasons += _inbound_reasons(network, usable, float(volume.sum()))
    return reasons


def _inbound_reasons(network: Network, usable: np.ndarray, total_volume: float) -> list[str]:
    """Goods enter the sites only over supplier -> site links: when every such link into a usable site has a
    capacity, and they total less than the demand's volume, nothing can serve it all."""
    links = network.link_table
    inbound = links[(links["kind"] == "inbound") & links["to"].isin(network.sites.index[usable])]
    capacity = inbound["capacity"].to_numpy(dtype=float)
    if not len(inbound) or not np.all(np.isfinite(capacity)) or not _short(float(capacity.sum()), total_volume):
        return []
    return [f"goods reach the sites only over supplier -> site links, whose capacities total "
            f"{fmt_num(float(capacity.sum()))} volume units per period, below the demand's {fmt_num(total_volume)} "
            "(links.csv)"]


def _supply_reasons(network: Network, demand_by_product: np.ndarray) -> list[str]:
    """Products whose suppliers cannot provide their total demand (or that no supplier provides)."""
    supply = network.supply if network.supply is not None else pd.DataFrame(columns=["product", "capacity"])
    available = supply.groupby("product")["capacity"].sum().reindex(network.products.index, fill_value=0.0)
    lines = []
    for product, need, have in zip(network.products.index, demand_by_product, available.to_numpy(dtype=float)):
        if need > have * (1 + VOLUME_TOL):
            what = "no supplier provides it" if have == 0 else f"its suppliers provide at most {fmt_num(have)}"
            lines.append(f"product {product}: demand totals {fmt_num(need)} units per period but {what} "
                         "(supply.csv)")
    return _capped(lines, "products short of supply")


def _listed(ids: list[str] | pd.Index) -> str:
    """Ids joined by commas, the first few only."""
    ids = [str(i) for i in ids]
    text = ", ".join(ids[:LISTED_IDS])
    return text + (f" and {len(ids) - LISTED_IDS} more" if len(ids) > LISTED_IDS else "")


def _capped(lines: list[str], what: str) -> list[str]:
    """The first :data:`MAX_MESSAGES` lines, plus one line counting the rest."""
    if len(lines) <= MAX_MESSAGES:
        return lines
    return lines[:MAX_MESSAGES] + [f"... and {len(lines) - MAX_MESSAGES} more {what}"]


def _count_reasons(network: Network, usable: np.ndarray) -> list[str]:
    """Contradictions between min/max/exact_sites, forced statuses and the number of sites."""
    s = network.settings
    status = network.sites["status"].to_numpy()
    out: list[str] = []
    if s.min_sites is not None and s.max_sites is not None and s.min_sites > s.max_sites:
        out.append(f"min_sites = {s.min_sites} is larger than max_sites = {s.max_sites}")
    if s.exact_sites is not None:
        if s.min_sites is not None and s.exact_sites < s.min_sites:
            out.append(f"exact_sites = {s.exact_sites} is smaller than min_sites = {s.min_sites}")
        if s.max_sites is not None and s.exact_sites > s.max_sites:
            out.append(f"exact_sites = {s.exact_sites} is larger than max_sites = {s.max_sites}")
    n_usable = int(usable.sum())
    closed = network.sites.index[~usable]
    closed_text = f" ({len(closed)} forced closed: {_listed(closed)})" if len(closed) else ""
    for name, need in (("min_sites", s.min_sites), ("exact_sites", s.exact_sites)):
        if need is not None and need > n_usable:
            out.append(f"{name} = {need} but only {n_usable} of {len(status)} site(s) may open{closed_text}")
    forced = network.sites.index[status == "forced_open"]
    for name, limit in (("max_sites", s.max_sites), ("exact_sites", s.exact_sites)):
        if limit is not None and len(forced) > limit:
            out.append(f"{len(forced)} site(s) are forced open ({_listed(forced)}) but {name} = {limit}")
    return out


def _reach(network: Network, usable: np.ndarray) -> np.ndarray:
    """Which usable site can serve which region, shape (n_sites, n_regions)."""
    reach = np.repeat(usable[:, None], len(network.regions), axis=1)
    limit = network.settings.max_service_km
    if limit is not None:
        reach &= ~(network.distance_km > limit)  # unknown (NaN) distances keep the lane, as in the model
    return reach


def _unreachable(network: Network, reach: np.ndarray, usable: np.ndarray, needy: np.ndarray) -> list[str]:
    """Regions with demand but no usable site within ``max_service_km``."""
    limit = network.settings.max_service_km
    dist = network.distance_km
    product_ids = network.products.index
    demand = network.demand_matrix
    lines = []
    for r in needy[~reach[:, needy].any(axis=0)]:
        d = np.where(usable, dist[:, r], np.inf)
        nearest = int(np.argmin(d))
        products = _listed(product_ids[demand[r] > 0])
        lines.append(f"region {network.regions.index[r]} has demand (products {products}) but no site that is not "
                     f"forced closed lies within max_service_km = {fmt_num(limit)} km; the nearest, "
                     f"{network.sites.index[nearest]}, is {fmt_num(d[nearest])} km away by road")
    return _capped(lines, "regions out of reach of every site")


def _capacity_reasons(network: Network, reach: np.ndarray, usable: np.ndarray, volume: np.ndarray,
                      needy: np.ndarray) -> list[str]:
    """Total capacity, capacity of the best k sites, and capacity within reach of region groups."""
    s = network.settings
    capacity = network.sites["capacity"].to_numpy(dtype=float)
    total_volume = float(volume.sum())
    total_capacity = float(capacity[usable].sum())
    if _short(total_capacity, total_volume):
        return [f"total capacity of the sites not forced closed is {fmt_num(total_capacity)} volume units per "
                f"period, less than the total demand volume {fmt_num(total_volume)} "
                f"(short by {fmt_num(total_volume - total_capacity)} volume units per period)"]
    limits = [(name, k) for name, k in (("max_sites", s.max_sites), ("exact_sites", s.exact_sites)) if k is not None]
    if limits:
        name, k = min(limits, key=lambda item: item[1])
        best = _best_capacity(network, usable, capacity, k)
        if best is not None and _short(best, total_volume):
            return [f"with {name} = {k}, the largest capacity any {k} site(s) can offer is {fmt_num(best)} volume "
                    f"units per period{_forced_note(network, k)}, less than the total demand volume "
                    f"{fmt_num(total_volume)} (short by {fmt_num(total_volume - best)})"]
    return _group_reasons(network, reach, capacity, volume, needy)


def _short(capacity: float, volume: float) -> bool:
    """Capacity is below volume by more than rounding."""
    return volume - capacity > VOLUME_TOL * max(1.0, volume)


def _best_capacity(network: Network, usable: np.ndarray, capacity: np.ndarray, k: int) -> float | None:
    """Largest total capacity of k open sites (forced-open ones included), None if k leaves no choice to test."""
    forced = (network.sites["status"] == "forced_open").to_numpy()
    if k < forced.sum() or k >= usable.sum():
        return None
    others = np.sort(capacity[usable & ~forced])[::-1]
    return float(capacity[forced].sum() + others[: k - int(forced.sum())].sum())


def _forced_note(network: Network, k: int) -> str:
    """Explains that forced-open sites take some of the k places."""
    forced = network.sites.index[network.sites["status"] == "forced_open"]
    return f" (the {len(forced)} forced-open site(s) {_listed(forced)} take {len(forced)} of the {k} places)" \
        if len(forced) else ""


def _group_reasons(network: Network, reach: np.ndarray, capacity: np.ndarray, volume: np.ndarray,
                   needy: np.ndarray) -> list[str]:
    """Groups of regions whose demand volume exceeds the capacity of every site able to reach them.

    Two kinds of group are tested: connected parts of the region-site reach
    graph, and, for each region r, every region whose reachable sites are
    among r's reachable sites (their demand can only go to r's sites).
    """
    region_ids = network.regions.index
    site_ids = network.sites.index
    lines: list[str] = []
    seen: set[frozenset[int]] = set()

    def report(group: np.ndarray, site_mask: np.ndarray) -> None:
        key = frozenset(group.tolist())
        cap, vol = float(capacity[site_mask].sum()), float(volume[group].sum())
        if key in seen or not _short(cap, vol):
            return
        seen.add(key)
        who = f"region {region_ids[group[0]]} needs" if len(group) == 1 else \
            f"{len(group)} regions ({_listed(region_ids[group])}) need"
        lines.append(f"{who} {fmt_num(vol)} volume units per period but the only sites within max_service_km "
                     f"({_listed(site_ids[site_mask])}) have only {fmt_num(cap)} capacity "
                     f"(short by {fmt_num(vol - cap)})")

    R = reach[:, needy]  # (sites, needy regions)
    S, n = R.shape
    site, region = np.nonzero(R)  # graph nodes: sites 0..S-1, then needy regions S..S+n-1
    graph = coo_matrix((np.ones(len(site)), (site, S + region)), shape=(S + n, S + n))
    n_parts, label = connected_components(graph, directed=False)
    if n_parts > 1:
        for part in range(n_parts):
            regions = np.flatnonzero(label[S:] == part)
            if len(regions):
                report(needy[regions], label[:S] == part)
    if n <= MAX_GROUP_REGIONS:
        inside = R.T.astype(np.float32) @ (~R).astype(np.float32) == 0  # inside[a, b]: sites(a) within sites(b)
        for j in range(n):
            report(needy[inside[:, j]], R[:, j])
    return _capped(lines, "region groups short of capacity")


def _single_source_reasons(network: Network, reach: np.ndarray, volume: np.ndarray, needy: np.ndarray) -> list[str]:
    """With single sourcing, regions whose whole volume fits in no reachable site."""
    capacity = network.sites["capacity"].to_numpy(dtype=float)
    lines = []
    for r in needy:
        cap = np.where(reach[:, r], capacity, -np.inf)
        best = int(np.argmax(cap))
        if reach[best, r] and _short(cap[best], volume[r]):
            lines.append(f"single sourcing: region {network.regions.index[r]} needs {fmt_num(volume[r])} volume units "
                         f"per period from one site, but the largest site within reach, {network.sites.index[best]}, "
                         f"has capacity {fmt_num(cap[best])}")
    return _capped(lines, "regions too large for any single site")
