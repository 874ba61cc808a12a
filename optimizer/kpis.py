"""Monitoring KPIs of a plan: inventory turnover, fulfilment distance and time, cost per unit, utilisation.

All distances are road km (great-circle km x ``circuity``, as the model uses), or a site -> region
link's own km and transit days for a flow on that link, and are weighted by the units delivered on
each site -> region flow.  Networks whose
shipping cost is a given matrix (OR-Library / Holmberg formats, no coordinates)
have NaN for every distance and transit-time KPI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.network import Network

#: Truck speed for transit days when the settings give none (``transport.km_per_day``), road km per day.
TRUCK_KM_PER_DAY = 800.0
#: Service distance for ``share_within_service_km`` when neither ``service_km`` nor ``max_service_km`` is set,
#: road km (documented with network.yaml's ``service_km`` key).
DEFAULT_SERVICE_KM = 500.0
#: Percentile reported for distance and transit time.
PERCENTILE = 95.0


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value whose cumulative weight share reaches ``q`` percent (inverted weighted CDF).

    Args:
        values: Observations.
        weights: Non-negative weights, same shape.
        q: Percentile in [0, 100].

    Returns:
        The percentile, NaN when the total weight is 0 or any value is NaN.
    """
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    total = weights.sum()
    if total <= 0 or np.isnan(values).any():
        return float("nan")
    order = np.argsort(values, kind="stable")
    share = np.cumsum(weights[order]) / total
    return float(values[order][np.searchsorted(share, q / 100.0 - 1e-12)])


def km_per_day(network: Network) -> float:
    """Transit speed: the settings' ``transport.km_per_day`` if present, else :data:`TRUCK_KM_PER_DAY`."""
    transport = getattr(network.settings, "transport", None)
    return float(getattr(transport, "km_per_day", TRUCK_KM_PER_DAY))


def service_km(network: Network) -> float:
    """Service distance: network.yaml's ``service_km``, else ``max_service_km``, else :data:`DEFAULT_SERVICE_KM`."""
    for limit in (getattr(network.settings, "service_km", None), network.settings.max_service_km):
        if limit is not None:
            return float(limit)
    return DEFAULT_SERVICE_KM


def lane_figures(network: Network, flows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each site -> region flow's km, transit days and, where it travels on an outbound link, that link's
    cost per volume unit (NaN elsewhere).

    A flow on a links.csv site -> region link (whatever its mode, ``road`` included: such a link replaces
    the pair's distance-based lane) takes the link's km and transit days; any other flow takes the road
    km (NaN for a cost matrix without coordinates) at :func:`km_per_day`.

    Args:
        network: The network solved.
        flows: ``from`` (site), ``to`` (region), optional ``mode`` (default ``road``) per row.

    Returns:
        ``(km, transit_days, link_cost_per_volume)``, one value per row of ``flows``.
    """
    s = network.sites.index.get_indexer(flows["from"].astype(str))
    r = network.regions.index.get_indexer(flows["to"].astype(str))
    n = len(flows)
    if network.unit_shipping_cost is None and n:
        km = np.where((s >= 0) & (r >= 0), network.distance_km[np.maximum(s, 0), np.maximum(r, 0)], np.nan)
    else:
        km = np.full(n, np.nan)
    days = km / km_per_day(network)
    cost = np.full(n, np.nan)
    links = network.link_table
    if n and len(links):
        outbound = links[links["kind"] == "outbound"].set_index(["from", "to", "mode"])
        mode = flows["mode"].astype(str).to_numpy() if "mode" in flows else np.full(n, "road", dtype=object)
        found = outbound.reindex(pd.MultiIndex.from_arrays([flows["from"].astype(str).to_numpy(),
                                                            flows["to"].astype(str).to_numpy(), mode]))
        on_link = found["cost_per_volume"].notna().to_numpy()
        km[on_link] = found["km"].to_numpy(dtype=float)[on_link]
        days[on_link] = found["transit_days"].to_numpy(dtype=float)[on_link]
        cost[on_link] = found["cost_per_volume"].to_numpy(dtype=float)[on_link]
    return km, days, cost


def kpis(network: Network, open_sites: list[str], flows: pd.DataFrame, stock: pd.DataFrame,
         costs: dict[str, float], transit: np.ndarray | None = None) -> dict[str, float]:
    """Key performance indicators of a plan.

    Args:
        network: The network the plan is for.
        open_sites: Ids of the open sites.
        flows: Columns ``from``, ``to``, ``product``, ``quantity`` (units per period); only
            site -> region rows count.
        stock: The plan's stock table (:func:`optimizer.stock.stock_table`).
        costs: Cost components, currency per period.
        transit: Volume each site sends on to other sites (volume units per period, one per site in
            table order; see :func:`optimizer.results.transit_volume`); it counts toward utilisation.

    Returns:
        ``units_per_period`` (units delivered); ``stock_units`` (cycle + safety);
        ``inventory_turnover`` (per year: annual cost of goods / stock value, or units when
        no product has a value); ``days_of_cover`` (365 / turnover, days);
        ``mean_distance_km`` and ``p95_distance_km`` (demand-weighted road km);
        ``mean_transit_days`` and ``p95_transit_days`` (km / :func:`km_per_day`);
        ``service_km`` (see :func:`service_km`) and ``share_within_service_km`` (fraction of
        units delivered within it); ``shipping_cost_per_unit`` (currency per unit);
        ``open_sites``; ``mean_utilisation`` (throughput volume, transit included, / capacity averaged
        over the open capacitated sites, NaN when none is capacitated).
    """
    net = network
    T = float(net.settings.period_days)
    s = net.sites.index.get_indexer(flows["from"].astype(str))
    r = net.regions.index.get_indexer(flows["to"].astype(str))
    p = net.products.index.get_indexer(flows["product"].astype(str))
    keep = (s >= 0) & (r >= 0) & (p >= 0)
    s, r, p = s[keep], r[keep], p[keep]
    q = flows["quantity"].to_numpy(dtype=float)[keep]
    units = float(q.sum())

    value = net.products["unit_value"].to_numpy(dtype=float)
    stock_units = stock["cycle_stock"].to_numpy(dtype=float) + stock["safety_stock"].to_numpy(dtype=float)
    stock_value = float(stock_units @ value[net.products.index.get_indexer(stock["product"].astype(str))])
    if stock_value > 0:
        turnover = float(q @ value[p]) * 365.0 / T / stock_value
    else:
        turnover = units * 365.0 / T / stock_units.sum() if stock_units.sum() > 0 else float("nan")

    km, days, _ = lane_figures(net, flows[keep])
    mean_km = float(km @ q / units) if units > 0 else float("nan")
    limit = service_km(net)

    volume = net.products["volume"].to_numpy(dtype=float)
    throughput = np.zeros(len(net.sites))
    np.add.at(throughput, s, q * volume[p])
    if transit is not None:
        throughput += np.asarray(transit, dtype=float)
    capacity = net.sites["capacity"].to_numpy(dtype=float)
    is_open = net.sites.index.isin(open_sites)
    capped = is_open & np.isfinite(capacity) & (capacity > 0)
    return {
        "units_per_period": units,
        "stock_units": float(stock_units.sum()),
        "inventory_turnover": turnover,
        "days_of_cover": 365.0 / turnover if turnover > 0 else float("nan"),
        "mean_distance_km": mean_km,
        "p95_distance_km": weighted_percentile(km, q, PERCENTILE),
        "mean_transit_days": float(days @ q / units) if units > 0 else float("nan"),
        "p95_transit_days": weighted_percentile(days, q, PERCENTILE),
        "service_km": limit,
        "share_within_service_km": float(q[km <= limit].sum() / units) if units > 0 and not np.isnan(km).any()
        else float("nan"),
        "shipping_cost_per_unit": float(costs.get("shipping", np.nan)) / units if units > 0 else float("nan"),
        "open_sites": float(is_open.sum()),
        "mean_utilisation": float(np.mean(throughput[capped] / capacity[capped])) if capped.any() else float("nan"),
    }
