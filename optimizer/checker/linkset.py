"""The independent checker's own link set and distances, derived from the raw tables alone.

Part of :mod:`optimizer.checker` and bound by its rule: nothing here comes from
:mod:`optimizer.links`, :mod:`optimizer.geo`, :attr:`Network.graph` or
:attr:`Network.link_table`.  The rules are the ones the dataset format states:

* great-circle km by ``settings.distance_method``: ``haversine`` on a sphere of
  radius :data:`EARTH_RADIUS_KM`, or ``geodesic`` on the WGS-84 ellipsoid (PROJ's
  :class:`pyproj.Geod`, vectorised); road km = great-circle km x ``settings.circuity``;
* a link's kind follows its endpoints: supplier -> site ``inbound``, site -> site
  ``transfer``, site -> region ``outbound`` (an id that is both a site and a
  region is the site); links touching a forced-closed site do not exist, and
  without suppliers only outbound links do;
* a link's ``distance_km`` defaults to its road km, its ``transit_days`` to
  road km / ``transport.km_per_day``; moving one volume unit over it costs
  ``cost_per_volume + cost_per_volume_km x km``;
* without links.csv (and with suppliers), the default links: every supplier ->
  every site, and every site linked both ways to its ``transport.k_nearest``
  nearest sites by great-circle distance, all by ``road`` at
  ``transport.cost_per_volume_km``.  Ties at the k-th distance are accepted
  either way: a pair is linked when its distance is within
  :data:`TIE_REL_TOL` (relative) of either endpoint's k-th nearest distance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.network import Network

#: Mean Earth radius (IUGG), km; the checker's own copy.
EARTH_RADIUS_KM = 6371.0088

#: Mode of the default links and of the distance-based site -> region lanes.
ROAD = "road"

#: Link kinds by endpoint kinds, the checker's own copy.
KIND = {("supplier", "site"): "inbound", ("site", "site"): "transfer", ("site", "region"): "outbound"}

#: Relative slack on the k-th nearest distance when deciding which default links exist (ties).
TIE_REL_TOL = 1e-9

#: Columns of :func:`link_table`'s result (indexed by from, to, mode).
COLUMNS = ("kind", "km", "cost_per_volume", "capacity", "fixed_cost", "transit_days")


def sphere_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine km between paired points (element-wise, broadcasting), sphere of radius :data:`EARTH_RADIUS_KM`.

    Args:
        lat1, lon1, lat2, lon2: Degrees.

    Returns:
        km, NaN where a coordinate is missing.
    """
    phi1, phi2 = np.radians(np.asarray(lat1, dtype=float)), np.radians(np.asarray(lat2, dtype=float))
    dlam = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def ellipsoid_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """WGS-84 geodesic km between paired points (PROJ's Karney algorithm, one vectorised call).

    Args:
        lat1, lon1, lat2, lon2: Degrees, shape (n,).

    Returns:
        km, shape (n,); NaN where a coordinate is missing.
    """
    from pyproj import Geod

    lat1, lon1, lat2, lon2 = (np.array(v, dtype=float) for v in (lat1, lon1, lat2, lon2))
    _, _, metres = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    return np.asarray(metres, dtype=float) / 1000.0


def great_circle_km(network: Network, lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                    lon2: np.ndarray) -> np.ndarray:
    """Great-circle km between paired points by the network's ``distance_method``."""
    if network.settings.distance_method == "geodesic":
        return ellipsoid_km(lat1, lon1, lat2, lon2)
    return sphere_km(lat1, lon1, lat2, lon2)


def node_kinds(network: Network) -> dict[str, str]:
    """Kind (``supplier``, ``site``, ``region``) of every id that may end a link; sites win over regions."""
    kinds = {str(r): "region" for r in network.regions.index}
    if network.suppliers is not None:
        kinds.update({str(s): "supplier" for s in network.suppliers.index})
    kinds.update({str(s): "site" for s in network.sites.index})
    return kinds


def node_coordinates(network: Network) -> pd.DataFrame:
    """lat / lon (degrees) of every region, supplier and site id, with the same precedence as :func:`node_kinds`."""
    parts = [network.regions[["lat", "lon"]]]
    if network.suppliers is not None:
        parts.append(network.suppliers[["lat", "lon"]])
    parts.append(network.sites[["lat", "lon"]])
    coords = pd.concat(parts)
    return coords[~coords.index.duplicated(keep="last")].astype(float)


def _nearest_pairs(network: Network, site_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Site -> site default links: each site both ways with its k nearest (ties within tolerance included)."""
    k = min(network.settings.transport.k_nearest, len(site_ids) - 1)
    if k <= 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=object)
    coords = network.sites.loc[site_ids, ["lat", "lon"]].to_numpy(dtype=float)
    n = len(site_ids)
    i, j = np.triu_indices(n, 1)
    upper = great_circle_km(network, coords[i, 0], coords[i, 1], coords[j, 0], coords[j, 1])
    dist = np.full((n, n), np.inf)
    dist[i, j] = upper
    dist[j, i] = upper
    kth = np.partition(dist, k - 1, axis=1)[:, k - 1]
    with np.errstate(invalid="ignore"):
        near = dist <= kth[:, None] + TIE_REL_TOL * np.maximum(1.0, kth[:, None])
    a, b = np.nonzero(near | near.T)
    return site_ids[a], site_ids[b]


def default_links(network: Network) -> pd.DataFrame:
    """The lane set of a network with suppliers and no links.csv, with the links.csv columns."""
    transport = network.settings.transport
    sites = network.sites.index[network.sites["status"] != "forced_closed"]
    site_ids = np.asarray(sites, dtype=object)
    suppliers = np.asarray(network.suppliers.index, dtype=object)
    near_from, near_to = _nearest_pairs(network, site_ids)
    frm = np.concatenate([np.repeat(suppliers, len(site_ids)), near_from])
    to = np.concatenate([np.tile(site_ids, len(suppliers)), near_to])
    n = len(frm)
    return pd.DataFrame({
        "from": frm, "to": to, "mode": np.full(n, ROAD, dtype=object), "cost_per_volume": np.zeros(n),
        "cost_per_volume_km": np.full(n, transport.cost_per_volume_km), "distance_km": np.full(n, np.nan),
        "capacity": np.full(n, np.inf), "transit_days": np.full(n, np.nan), "fixed_cost": np.zeros(n),
    })


def link_table(network: Network) -> pd.DataFrame:
    """Every link that exists, with kind, road km, cost per volume unit, capacity, fixed cost and transit days.

    Args:
        network: The network (only its raw tables and settings are read).

    Returns:
        Indexed by (from, to, mode), columns :data:`COLUMNS`; ``cost_per_volume`` is
        the total currency per volume unit moved over the link.
    """
    raw = network.links
    if raw is None and network.has_suppliers:
        raw = default_links(network)
    empty_index = pd.MultiIndex.from_arrays([[], [], []], names=["from", "to", "mode"])
    if raw is None or not len(raw):
        return pd.DataFrame({c: pd.Series(dtype=object if c == "kind" else float) for c in COLUMNS},
                            index=empty_index)
    kinds = node_kinds(network)
    frm = raw["from"].astype(str).to_numpy(dtype=object)
    to = raw["to"].astype(str).to_numpy(dtype=object)
    kind = np.array([KIND.get((kinds.get(a), kinds.get(b)), "") for a, b in zip(frm, to)], dtype=object)
    closed = set(network.sites.index[network.sites["status"] == "forced_closed"])
    keep = (kind != "") & ~np.isin(frm, list(closed)) & ~np.isin(to, list(closed))
    if not network.has_suppliers:
        keep &= kind == "outbound"
    raw, frm, to, kind = raw[keep], frm[keep], to[keep], kind[keep]
    coords = node_coordinates(network)
    a, b = coords.reindex(pd.Index(frm, dtype=object)), coords.reindex(pd.Index(to, dtype=object))
    road = great_circle_km(network, a["lat"].to_numpy(), a["lon"].to_numpy(), b["lat"].to_numpy(),
                           b["lon"].to_numpy()) * network.settings.circuity
    given = raw["distance_km"].to_numpy(dtype=float)
    km = np.where(np.isnan(given), road, given)
    transit = raw["transit_days"].to_numpy(dtype=float)
    index = pd.MultiIndex.from_arrays([frm, to, raw["mode"].astype(str).to_numpy(dtype=object)],
                                      names=["from", "to", "mode"])
    return pd.DataFrame({
        "kind": kind, "km": km,
        "cost_per_volume": raw["cost_per_volume"].to_numpy(dtype=float)
        + raw["cost_per_volume_km"].to_numpy(dtype=float) * km,
        "capacity": raw["capacity"].to_numpy(dtype=float), "fixed_cost": raw["fixed_cost"].to_numpy(dtype=float),
        "transit_days": np.where(np.isnan(transit), km / network.settings.transport.km_per_day, transit),
    }, index=index)
