"""The independent checker's inventory side: the pooled model's holding cost, recomputed exactly.

Part of :mod:`optimizer.checker` and bound by its rule (raw tables only, no
code shared with the model).  For every open site and product it ships:

* demand ``D`` = units per period shipped; variance = sum over the regions served of
  ``(share of the region's demand)**2 x std**2``, the share summed over the modes it ships by;
* lead time = the site's ``lead_time_days``, else ``inventory.lead_time_days`` plus the
  fewest transit days over inbound and transfer links from any supplier (when there are
  suppliers; the checker's own Dijkstra over its own link set,
  :func:`optimizer.checker.linkset.link_table`);
* cycle stock = EOQ / 2 with ``EOQ = sqrt(2 K (D x 365 / period_days) / h)`` when the
  product's ordering cost ``K`` and ``h = unit_value x holding_rate`` are positive, else
  ``D / period_days x review_days / 2``;
* safety stock = ``max(0, z(service_level)) x sqrt(lead time / period_days) x sqrt(variance)``;
* holding cost = ``h x (cycle + safety) x period_days / 365`` per period.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

from optimizer.network import Network


def lead_times(network: Network, links: pd.DataFrame) -> dict[str, float]:
    """Lead time of every site, days (see the module docstring).

    Args:
        network: The network.
        links: The checker's own link table, indexed by (from, to, mode).
    """
    import networkx as nx  # here, not at import: most checks never need the graph (start-up time)

    inventory = network.settings.inventory
    graph = nx.DiGraph()
    if network.has_suppliers:
        supply_side = links[links["kind"].isin(["inbound", "transfer"])]
        for (a, b, _), days in supply_side["transit_days"].items():
            if not graph.has_edge(a, b) or graph[a][b]["weight"] > days:
                graph.add_edge(a, b, weight=float(days))
    sources = [s for s in (network.suppliers.index if network.has_suppliers else []) if s in graph]
    transit = nx.multi_source_dijkstra_path_length(graph, sources) if sources else {}
    own = network.sites["lead_time_days"] if "lead_time_days" in network.sites.columns else \
        pd.Series(np.nan, index=network.sites.index)
    return {str(site): float(value) if not math.isnan(value)
            else inventory.lead_time_days + float(transit.get(site, 0.0)) for site, value in own.items()}


def pooled_holding(network: Network, flows: pd.DataFrame, is_open: np.ndarray,
                   links: pd.DataFrame) -> tuple[float, float]:
    """Cycle and safety stock holding cost of the plan's flows, currency per period.

    Stock is based on what each open site ships to its regions (goods it sends on are not stocked there).
    """
    settings, products = network.settings, network.products
    T, review = float(settings.period_days), float(settings.inventory.review_days)
    demand = network.demand.groupby(["region", "product"])["quantity"].sum()
    std = network.demand.groupby(["region", "product"])["std"].sum()
    open_ids = set(network.sites.index[is_open])
    lead = lead_times(network, links)
    served: dict[tuple[str, str, str], float] = {}  # a site's share of a region, whatever the modes
    for site, region, product, q in flows[["from", "to", "product", "quantity"]].itertuples(index=False):
        if site in open_ids and q > 0:
            served[(site, region, product)] = served.get((site, region, product), 0.0) + q
    totals: dict[tuple[str, str], list[float]] = {}
    for (site, region, product), q in served.items():
        d = float(demand.get((region, product), 0.0))
        share = q / d if d > 0 else 0.0
        entry = totals.setdefault((site, product), [0.0, 0.0])
        entry[0] += q
        entry[1] += share ** 2 * float(std.get((region, product), 0.0)) ** 2
    cycle_cost = safety_cost = 0.0
    for (site, product), (mean, variance) in totals.items():
        row = products.loc[product]
        h = float(row["unit_value"]) * float(row["holding_rate"])
        K = float(row.get("ordering_cost", 0.0))
        if K > 0 and h > 0:
            cycle = math.sqrt(2.0 * K * mean * 365.0 / T / h) / 2.0
        else:
            cycle = mean / T * review / 2.0
        level = float(row.get("service_level", 0.95))
        z = max(0.0, NormalDist().inv_cdf(level))
        safety = z * math.sqrt(lead[site] / T) * math.sqrt(variance)
        cycle_cost += h * cycle * T / 365.0
        safety_cost += h * safety * T / 365.0
    return cycle_cost, safety_cost
