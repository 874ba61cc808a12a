"""Inventory formulas: cycle stock, safety stock with risk pooling, reorder points, holding cost.

Pure, numpy-vectorised functions (every argument may be a scalar or an array
that broadcasts) plus :func:`stock_table`, which applies them to a plan.

Conventions (the pooled inventory model, :mod:`optimizer.model.pooled`):

* A period is ``period_days`` days; demand means and standard deviations are
  in units per period, and demand of different regions is independent.
* Safety stock of a site and product is
  ``z(service level) * sqrt(lead_time_days / period_days) * sqrt(sum of the
  per-period demand variances of the regions the site serves)`` -- the
  square-root law behind risk pooling.  ``z`` is clipped at 0 (a service level
  below 50 % holds no negative stock).
* **Split regions** (multi-sourcing): a site serving a fraction ``f`` of a
  region's demand of a product carries variance ``f**2 * sigma**2`` (the site
  serves a fixed share of the region's random demand, so its share of the
  standard deviation is ``f * sigma``).  With single sourcing ``f`` is 0 or 1.
  ``f`` is the site's share whatever the modes it ships by: splitting a region's
  demand between a site's road lane and its rail link pools nothing.
* Cycle stock is half the order quantity.  With an ordering cost ``K > 0`` the
  order quantity is the EOQ ``sqrt(2 K D / h)`` (``D`` annual demand in units,
  ``h = unit_value * holding_rate`` in currency per unit per year); with
  ``K = 0`` (or ``h = 0``, where the EOQ is unbounded) the site orders every
  ``review_days`` days, so the order quantity is daily demand x review_days.
* Holding cost per period = ``h * stock * period_days / 365`` (currency per period).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer import outputs
from optimizer.network import InventorySettings, Network

#: Days per year used to annualise demand and holding rates.
DAYS_PER_YEAR = 365.0
#: Columns of :func:`stock_table`.
STOCK_COLUMNS = outputs.STOCK.names


def inventory_settings(network: Network) -> InventorySettings:
    """The network's ``inventory:`` settings (defaults when the settings have none)."""
    return getattr(network.settings, "inventory", None) or InventorySettings()


def z_value(service_level: np.ndarray | float) -> np.ndarray:
    """Safety factor for a cycle service level (standard normal quantile, clipped at 0).

    Args:
        service_level: Probability of no stock-out per replenishment cycle, in (0, 1).

    Returns:
        ``max(Phi^-1(service_level), 0)``.
    """
    from scipy.special import ndtri  # the standard normal quantile; imported here to keep start-up fast

    return np.maximum(ndtri(np.asarray(service_level, dtype=float)), 0.0)


def annual_holding_cost(unit_value: np.ndarray | float, holding_rate: np.ndarray | float) -> np.ndarray:
    """Holding cost of one unit for one year, currency per unit per year."""
    return np.asarray(unit_value, dtype=float) * np.asarray(holding_rate, dtype=float)


def order_quantity(demand_per_period: np.ndarray | float, ordering_cost: np.ndarray | float,
                   holding_per_year: np.ndarray | float, period_days: float,
                   review_days: float) -> np.ndarray:
    """Replenishment order quantity in units: the EOQ, or the review-period rule.

    Args:
        demand_per_period: Mean demand, units per period.
        ordering_cost: Cost of one order, currency (``K``).
        holding_per_year: Holding cost, currency per unit per year (``h``).
        period_days: Length of a period, days.
        review_days: Order interval used where ``K == 0`` or ``h == 0``, days.

    Returns:
        ``sqrt(2 K D / h)`` with ``D`` the annual demand where ``K > 0`` and
        ``h > 0``, else daily demand x ``review_days``.
    """
    demand = np.asarray(demand_per_period, dtype=float)
    K = np.asarray(ordering_cost, dtype=float)
    h = np.asarray(holding_per_year, dtype=float)
    annual = demand * DAYS_PER_YEAR / period_days
    eoq_applies = (K > 0) & (h > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        eoq = np.sqrt(2.0 * K * annual / np.where(eoq_applies, h, 1.0))
    return np.where(eoq_applies, eoq, demand / period_days * review_days)


def cycle_stock(quantity: np.ndarray | float) -> np.ndarray:
    """Average cycle stock of a sawtooth with order quantity ``quantity``: ``Q / 2`` units."""
    return np.asarray(quantity, dtype=float) / 2.0


def lead_time_factor(lead_time_days: np.ndarray | float, period_days: float) -> np.ndarray:
    """``sqrt(lead time in periods)``: scales a per-period standard deviation to the lead time."""
    return np.sqrt(np.asarray(lead_time_days, dtype=float) / period_days)


def safety_stock(z: np.ndarray | float, lead_time_days: np.ndarray | float, period_days: float,
                 variance_per_period: np.ndarray | float) -> np.ndarray:
    """Safety stock in units: ``z * sqrt(L / period) * sqrt(pooled variance per period)``.

    Args:
        z: Safety factor (see :func:`z_value`).
        lead_time_days: Replenishment lead time, days.
        period_days: Length of a period, days.
        variance_per_period: Sum of the per-period demand variances served, units^2.

    Returns:
        Safety stock, units.
    """
    return (np.asarray(z, dtype=float) * lead_time_factor(lead_time_days, period_days)
            * np.sqrt(np.asarray(variance_per_period, dtype=float)))


def reorder_point(demand_per_period: np.ndarray | float, lead_time_days: np.ndarray | float,
                  period_days: float, safety: np.ndarray | float) -> np.ndarray:
    """Reorder point in units: mean lead-time demand plus safety stock."""
    return (np.asarray(demand_per_period, dtype=float) * np.asarray(lead_time_days, dtype=float) / period_days
            + np.asarray(safety, dtype=float))


def holding_cost_per_period(unit_value: np.ndarray | float, holding_rate: np.ndarray | float,
                            stock: np.ndarray | float, period_days: float) -> np.ndarray:
    """Cost of holding ``stock`` units for one period, currency per period."""
    return annual_holding_cost(unit_value, holding_rate) * np.asarray(stock, dtype=float) * period_days / DAYS_PER_YEAR


def product_parameters(network: Network) -> pd.DataFrame:
    """Per-product inventory inputs with defaults applied.

    Returns:
        Indexed by product id: ``service_level`` (default 0.95), ``ordering_cost``
        (currency per order, default 0), ``z``, ``holding_per_year`` (currency per unit per year).
    """
    products = network.products
    service = _column(products, "service_level", 0.95)
    ordering = _column(products, "ordering_cost", 0.0)
    return pd.DataFrame(
        {
            "service_level": service,
            "ordering_cost": ordering,
            "z": z_value(service),
            "holding_per_year": annual_holding_cost(products["unit_value"].to_numpy(dtype=float),
                                                    products["holding_rate"].to_numpy(dtype=float)),
        },
        index=products.index,
    )


def site_lead_times(network: Network) -> np.ndarray:
    """Replenishment lead time of every site, days.

    A site's own ``lead_time_days`` when given; else the settings' ``lead_time_days``
    (order processing) plus, when the network has suppliers, the fewest transit
    days over the links from any supplier to the site.
    """
    default = inventory_settings(network).lead_time_days
    own = _column(network.sites, "lead_time_days", np.nan)
    inbound = np.zeros(len(own))
    if network.has_suppliers:
        inbound = np.full(len(own), np.nan)
        links = network.link_table
        supply_side = links[links["kind"] != "outbound"]
        import networkx as nx  # here, not at import: only networks with suppliers need it (start-up time)

        graph = nx.DiGraph()
        fastest = supply_side.sort_values("transit_days", kind="stable").drop_duplicates(["from", "to"])
        graph.add_weighted_edges_from(zip(fastest["from"], fastest["to"], fastest["transit_days"]))
        sources = [s for s in network.suppliers.index if s in graph]
        if sources:
            days = nx.multi_source_dijkstra_path_length(graph, sources)
            inbound = np.array([days.get(site, np.nan) for site in network.sites.index], dtype=float)
        inbound = np.nan_to_num(inbound, nan=0.0)  # unreachable sites ship nothing
    return np.where(np.isnan(own), default + inbound, own)


def demand_std_matrix(network: Network) -> np.ndarray:
    """Demand standard deviation in units per period, shape (n_regions, n_products)."""
    out = np.zeros((len(network.regions), len(network.products)))
    demand = network.demand
    if len(demand) and "std" in demand.columns:
        r = network.regions.index.get_indexer(demand["region"])
        p = network.products.index.get_indexer(demand["product"])
        out[r, p] = np.nan_to_num(demand["std"].to_numpy(dtype=float))
    return out


def stock_table(network: Network, open_sites: list[str], flows: pd.DataFrame) -> pd.DataFrame:
    """Stock each open site holds for each product it ships, with its holding cost.

    Only site -> region flows count (rows whose ``from`` is a site and ``to`` a
    region).  The variance of a region split over several sites follows the
    ``f**2 * sigma**2`` rule of the module docstring.

    Args:
        network: The network the plan is for.
        open_sites: Ids of the open sites; flows from other sites are ignored.
        flows: Columns ``from``, ``to``, ``product``, ``quantity`` (units per period).

    Returns:
        One row per (site, product) with positive throughput, in site then product
        table order, with :data:`STOCK_COLUMNS`: demand and std in units per period,
        lead time in days, stocks and reorder point in units, days of cover in days,
        holding and ordering costs in currency per period.
    """
    T = float(network.settings.period_days)
    review = inventory_settings(network).review_days
    sites, regions, products = network.sites.index, network.regions.index, network.products.index
    is_open = sites.isin(open_sites)
    s = sites.get_indexer(flows["from"].astype(str)) if len(flows) else np.zeros(0, dtype=int)
    r = regions.get_indexer(flows["to"].astype(str)) if len(flows) else np.zeros(0, dtype=int)
    p = products.get_indexer(flows["product"].astype(str)) if len(flows) else np.zeros(0, dtype=int)
    keep = (s >= 0) & (r >= 0) & (p >= 0)
    keep[keep] &= is_open[s[keep]]
    s, r, p = s[keep], r[keep], p[keep]
    q = flows["quantity"].to_numpy(dtype=float)[keep] if len(flows) else np.zeros(0)

    shape = (len(sites), len(products))
    mean = np.zeros(shape)
    np.add.at(mean, (s, p), q)
    # A site's share of a region's demand counts once, whatever the modes it ships by.
    R, P = len(regions), len(products)
    key, inverse = np.unique((s.astype(np.int64) * R + r) * P + p, return_inverse=True)
    served = np.bincount(inverse.ravel(), weights=q, minlength=len(key))
    ks, kr, kp = key // (R * P), key // P % R, key % P
    region_demand = network.demand_matrix[kr, kp]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(region_demand > 0, served / region_demand, 0.0)
    variance = np.zeros(shape)
    np.add.at(variance, (ks, kp), share**2 * demand_std_matrix(network)[kr, kp] ** 2)

    si, pi = np.nonzero(mean > 0)
    params = product_parameters(network)
    lead = site_lead_times(network)[si]
    demand = mean[si, pi]
    value = products_column(network, "unit_value")[pi]
    rate = products_column(network, "holding_rate")[pi]
    K = params["ordering_cost"].to_numpy()[pi]
    Q = order_quantity(demand, K, params["holding_per_year"].to_numpy()[pi], T, review)
    cycle = cycle_stock(Q)
    safety = safety_stock(params["z"].to_numpy()[pi], lead, T, variance[si, pi])
    return pd.DataFrame(
        {
            "site": sites.to_numpy()[si].astype(str),
            "product": products.to_numpy()[pi].astype(str),
            "demand_per_period": demand,
            "std_per_period": np.sqrt(variance[si, pi]),
            "lead_time_days": lead,
            "order_quantity": Q,
            "cycle_stock": cycle,
            "safety_stock": safety,
            "reorder_point": reorder_point(demand, lead, T, safety),
            "days_of_cover": (cycle + safety) / (demand / T),
            "holding_cycle": holding_cost_per_period(value, rate, cycle, T),
            "holding_safety": holding_cost_per_period(value, rate, safety, T),
            "ordering_cost": np.where(Q > 0, K * demand / np.where(Q > 0, Q, 1.0), 0.0),
        },
        columns=list(STOCK_COLUMNS),
    )


def cover_stock_table(network: Network, open_sites: list[str], flows: pd.DataFrame) -> pd.DataFrame:
    """The stock of the linear model: each open site holds ``days_of_cover`` days of its throughput.

    Same columns as :func:`stock_table`; the cover stock is reported as cycle stock
    and there is no safety stock (the linear model does not size it).
    """
    table = stock_table(network, open_sites, flows)
    T = float(network.settings.period_days)
    cover = float(network.settings.days_of_cover)
    p = network.products.index.get_indexer(table["product"])
    stock = table["demand_per_period"].to_numpy(dtype=float) / T * cover
    value, rate = products_column(network, "unit_value")[p], products_column(network, "holding_rate")[p]
    return table.assign(
        order_quantity=np.nan, cycle_stock=stock, safety_stock=0.0, reorder_point=np.nan, days_of_cover=cover,
        holding_cycle=holding_cost_per_period(value, rate, stock, T), holding_safety=0.0, ordering_cost=0.0,
    )


def plan_stock(network: Network, open_sites: list[str], flows: pd.DataFrame) -> pd.DataFrame:
    """The stock table of a plan under the network's inventory model (pooled or linear)."""
    if inventory_settings(network).model == "pooled":
        return stock_table(network, open_sites, flows)
    return cover_stock_table(network, open_sites, flows)


def products_column(network: Network, name: str) -> np.ndarray:
    """A numeric products column as floats, in product table order."""
    return network.products[name].to_numpy(dtype=float)


def _column(table: pd.DataFrame, name: str, default: float) -> np.ndarray:
    """A numeric column with blanks (NaN) or a missing column replaced by ``default``."""
    if name not in table.columns:
        return np.full(len(table), float(default))
    values = table[name].to_numpy(dtype=float)
    return np.where(np.isnan(values), float(default), values)
