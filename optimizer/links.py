"""Transport links and the lane graph of a multi-echelon network.

:func:`resolve_links` turns links.csv (or, when a network has suppliers but no
links file, a default lane set) into one table with every link's road km,
cost per volume unit and transit days; :func:`build_graph` makes the
``networkx`` multi-digraph of it (a :class:`networkx.MultiDiGraph`, so that
two modes between the same pair of places are two parallel edges keyed by
mode).  The model, the checker and the maps all read lanes from here.

Link kinds, by their endpoints: ``inbound`` (supplier -> site), ``transfer``
(site -> site) and ``outbound`` (site -> region, an extra lane next to the
distance-based ones).  The cost of moving one volume unit over a link is
``cost_per_volume + cost_per_volume_km x km`` currency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.geo import geodesic_km, haversine_km, paired_km

if TYPE_CHECKING:
    import networkx as nx

#: Columns of the resolved link table.
LINK_COLUMNS = ("from", "to", "mode", "kind", "km", "cost_per_volume", "capacity", "transit_days", "fixed_cost")

#: Mode of the default links and of the distance-based site -> region lanes.
ROAD = "road"

#: Link kind by (from kind, to kind).
KINDS = {("supplier", "site"): "inbound", ("site", "site"): "transfer", ("site", "region"): "outbound"}


def node_kinds(network: "Network") -> dict[str, str]:  # noqa: F821
    """Kind (``supplier``, ``site``, ``region``) of every id that may end a link.

    Sites win over regions with the same id; links to such a region cannot be
    written (the reader reports the clash).
    """
    kinds = {str(r): "region" for r in network.regions.index}
    if network.suppliers is not None:
        kinds.update({str(s): "supplier" for s in network.suppliers.index})
    kinds.update({str(s): "site" for s in network.sites.index})
    return kinds


def coordinates(network: "Network") -> pd.DataFrame:  # noqa: F821
    """lat/lon of every supplier, site and region id (sites over regions, as in :func:`node_kinds`)."""
    parts = [network.regions[["lat", "lon"]]]
    if network.suppliers is not None:
        parts.append(network.suppliers[["lat", "lon"]])
    parts.append(network.sites[["lat", "lon"]])
    coords = pd.concat(parts)
    return coords[~coords.index.duplicated(keep="last")]


def road_km(network: "Network", origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:  # noqa: F821
    """Road km between paired node ids: great-circle distance x circuity (NaN without coordinates)."""
    coords = coordinates(network)
    a = coords.reindex(pd.Index(origins, dtype=object))
    b = coords.reindex(pd.Index(destinations, dtype=object))
    if not len(a):
        return np.zeros(0)
    km = paired_km(a["lat"], a["lon"], b["lat"], b["lon"], network.settings.distance_method)
    return km * network.settings.circuity


def default_links(network: "Network") -> pd.DataFrame:  # noqa: F821
    """The lane set used when a network has suppliers but no links.csv.

    Every supplier is linked to every site that is not forced closed, and every
    site to its ``transport.k_nearest`` nearest sites (both directions), all by
    road at ``transport.cost_per_volume_km``.

    Returns:
        A table with the links.csv columns.
    """
    transport = network.settings.transport
    sites = network.sites[network.sites["status"] != "forced_closed"]
    site_ids = np.asarray(sites.index, dtype=object)
    suppliers = np.asarray(network.suppliers.index if network.suppliers is not None else [], dtype=object)
    src = [np.repeat(suppliers, len(site_ids))]
    dst = [np.tile(site_ids, len(suppliers))]
    k = min(transport.k_nearest, len(site_ids) - 1)
    if k > 0:
        method = geodesic_km if network.settings.distance_method == "geodesic" else haversine_km
        lat, lon = sites["lat"].to_numpy(dtype=float), sites["lon"].to_numpy(dtype=float)
        dist = method(lat, lon, lat, lon)
        np.fill_diagonal(dist, np.inf)
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
        a = np.repeat(np.arange(len(site_ids)), k)
        b = nearest.ravel()
        pairs = np.unique(np.concatenate([np.stack([a, b], 1), np.stack([b, a], 1)]), axis=0)
        src.append(site_ids[pairs[:, 0]])
        dst.append(site_ids[pairs[:, 1]])
    frm, to = np.concatenate(src), np.concatenate(dst)
    n = len(frm)
    return pd.DataFrame({
        "from": frm, "to": to, "mode": np.full(n, ROAD, dtype=object),
        "cost_per_volume": np.zeros(n), "cost_per_volume_km": np.full(n, transport.cost_per_volume_km),
        "distance_km": np.full(n, np.nan), "capacity": np.full(n, np.inf),
        "transit_days": np.full(n, np.nan), "fixed_cost": np.zeros(n),
    })


def resolve_links(network: "Network") -> pd.DataFrame:  # noqa: F821
    """Every usable link with its kind, road km, cost per volume unit and transit days.

    Links touching a forced-closed site are dropped.  Without suppliers only
    outbound links (site -> region) matter and the others are dropped too.

    Args:
        network: A validated network.

    Returns:
        One row per link, columns :data:`LINK_COLUMNS`; ``cost_per_volume`` is
        the total currency per volume unit moved over the link.
    """
    raw = network.links
    if raw is None:
        raw = default_links(network) if network.has_suppliers else None
    if raw is None or not len(raw):
        return pd.DataFrame({c: pd.Series(dtype=float if c in LINK_COLUMNS[4:] else object) for c in LINK_COLUMNS})
    kinds = node_kinds(network)
    frm, to = raw["from"].astype(str).to_numpy(dtype=object), raw["to"].astype(str).to_numpy(dtype=object)
    kind = np.array([KINDS.get((kinds.get(a), kinds.get(b)), "") for a, b in zip(frm, to)], dtype=object)
    closed = set(network.sites.index[network.sites["status"] == "forced_closed"])
    keep = (kind != "") & ~pd.Series(frm).isin(closed).to_numpy() & ~pd.Series(to).isin(closed).to_numpy()
    if not network.has_suppliers:
        keep &= kind == "outbound"
    raw, frm, to, kind = raw[keep], frm[keep], to[keep], kind[keep]
    given = raw["distance_km"].to_numpy(dtype=float)
    km = np.where(np.isnan(given), road_km(network, frm, to), given)
    transit = raw["transit_days"].to_numpy(dtype=float)
    transit = np.where(np.isnan(transit), km / network.settings.transport.km_per_day, transit)
    cost = raw["cost_per_volume"].to_numpy(dtype=float) + raw["cost_per_volume_km"].to_numpy(dtype=float) * km
    return pd.DataFrame({
        "from": frm, "to": to, "mode": raw["mode"].astype(str).to_numpy(dtype=object), "kind": kind, "km": km,
        "cost_per_volume": cost, "capacity": raw["capacity"].to_numpy(dtype=float), "transit_days": transit,
        "fixed_cost": raw["fixed_cost"].to_numpy(dtype=float),
    }, columns=list(LINK_COLUMNS)).reset_index(drop=True)


def build_graph(network: "Network") -> nx.MultiDiGraph:  # noqa: F821
    """The lane graph: suppliers, sites and linked regions as nodes, links as edges keyed by mode.

    Node attributes: ``kind``, ``lat``, ``lon``, ``name``.  Edge attributes: the
    resolved link columns plus ``link`` (row of :attr:`Network.link_table`).
    """
    import networkx as nx  # here, not at import: a network without links never builds the graph (start-up time)

    graph = nx.MultiDiGraph(name=network.name)
    for kind, table in (("site", network.sites), ("supplier", network.suppliers)):
        if table is None:
            continue
        graph.add_nodes_from((str(i), {"kind": kind, "lat": float(r.lat), "lon": float(r.lon), "name": str(r.name)})
                             for i, r in zip(table.index, table[["lat", "lon", "name"]].itertuples(index=False)))
    links = network.link_table
    regions = network.regions
    for region in pd.unique(links.loc[links["kind"] == "outbound", "to"]):
        row = regions.loc[region]
        graph.add_node(str(region), kind="region", lat=float(row["lat"]), lon=float(row["lon"]), name=str(row["name"]))
    graph.add_edges_from(
        (r["from"], r["to"], r["mode"], {**r, "link": i})
        for i, r in enumerate(links.to_dict(orient="records"))
    )
    return graph
