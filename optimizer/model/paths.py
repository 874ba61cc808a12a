"""Read routes (supplier -> ... -> site paths with quantities) out of a solved model.

With shortest-path routing every flow column already is a route.  With arc
flows the per-link flows are decomposed into paths, product by product: walk
from a supplier along links that still carry flow until a site that still
needs stock for its own regions, take the smallest amount on the way, repeat
(zero-cost cycles, which an optimal solution may contain, are cancelled; flow
that ends where nothing is needed is the solver's rounding surplus and is dropped,
within the checker's tolerance).  Every step empties an arc or a site's need, so
the walk ends.  Routes never end at or pass through a site the plan has closed:
flows the solver left on links into or out of closed sites (within its
tolerances) are dropped before the decomposition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.model.supply import ROUTE_EPS, Routing
from optimizer.network import Network
from optimizer.plan import ROUTE_COLUMNS


def decode_routes(network: Network, routing: Routing, flows: pd.DataFrame, xr: np.ndarray,
                  open_sites: set[str]) -> pd.DataFrame:
    """Routes of a solution.

    Args:
        network: The network.
        routing: The routing columns of the model.
        flows: The plan's site -> region flows (to know what each site keeps).
        xr: Solution values of the routing columns.
        open_sites: Ids of the plan's open sites; no route ends at or passes through another site.

    Returns:
        One row per (supplier, site, product, path), columns :data:`~optimizer.plan.ROUTE_COLUMNS`.
    """
    if routing.form == "none" or not routing.n_flows:
        return pd.DataFrame(columns=list(ROUTE_COLUMNS))
    x = np.asarray(xr[:routing.n_flows], dtype=float)
    closed = set(network.sites.index) - open_sites
    product_ids = np.asarray(network.product_ids, dtype=object)
    found: list[tuple[str, str, str, float, list[int]]] = []
    if routing.form == "shortest_path":
        to = network.link_table["to"].to_numpy(dtype=object)
        for j in np.flatnonzero(x > ROUTE_EPS):
            key = (routing.flow_supplier[j], routing.flow_site[j])
            if closed.intersection(to[routing.paths[key]]):
                continue
            found.append((key[0], key[1], product_ids[routing.flow_product[j]], float(x[j]), routing.paths[key]))
    else:
        kept = flows.groupby(["from", "product"])["quantity"].sum()
        links = network.link_table
        touches_closed = (links["from"].isin(closed) | links["to"].isin(closed)).to_numpy()[routing.flow_link]
        for p in np.unique(routing.flow_product):
            sel = (routing.flow_product == p) & (x > ROUTE_EPS) & ~touches_closed
            product = product_ids[p]
            sinks = kept.xs(product, level="product").to_dict() if product in kept.index.get_level_values(1) else {}
            found += [(s, t, product, q, path) for s, t, q, path in
                      _decompose(links, routing.flow_link[sel], x[sel], sinks, set(network.suppliers.index))]
    return _route_table(network, found)


def _decompose(links: pd.DataFrame, link_rows: np.ndarray, amounts: np.ndarray, sinks: dict[str, float],
               suppliers: set[str]) -> list[tuple[str, str, float, list[int]]]:
    """Split one product's link flows into supplier -> site paths.

    Returns:
        ``(supplier, site, quantity, link rows)`` per path.
    """
    frm = links["from"].to_numpy(dtype=object)
    to = links["to"].to_numpy(dtype=object)
    out: dict[str, dict[int, float]] = {}
    for row, amount in zip(link_rows, amounts):
        out.setdefault(frm[row], {})[int(row)] = float(amount)
    need = {k: float(v) for k, v in sinks.items()}
    paths: list[tuple[str, str, float, list[int]]] = []
    budget = len(link_rows) + len(need) + 1  # each extraction empties an arc or a need
    for supplier in sorted(s for s in out if s in suppliers):
        while any(a > ROUTE_EPS for a in out[supplier].values()):
            budget -= 1
            if budget < 0:
                raise RuntimeError("route decomposition did not finish: an extraction emptied no arc or need")
            node, path, seen = supplier, [], {supplier: 0}
            while True:
                if path and need.get(node, 0.0) > ROUTE_EPS:
                    break
                arcs = [r for r, a in out.get(node, {}).items() if a > ROUTE_EPS]
                if not arcs:
                    break
                row = arcs[0]
                path.append(row)
                node = to[row]
                if node in seen:  # a cycle: cancel it and continue from where it started
                    cycle = path[seen[node]:]
                    amount = min(out[frm[r]][r] for r in cycle)
                    for r in cycle:
                        out[frm[r]][r] -= amount
                    del path[seen[node]:]
                    seen = {k: v for k, v in seen.items() if v <= seen[node]}
                    continue
                seen[node] = len(path)
            if not path:
                break
            sink = need.get(node, 0.0)
            amount = min(out[frm[r]][r] for r in path)
            if sink > ROUTE_EPS:
                amount = min(amount, sink)
                need[node] = sink - amount
                paths.append((supplier, str(node), amount, path))
            # else: a dead end that needs nothing, i.e. the solver's rounding surplus: dropped
            for r in path:
                out[frm[r]][r] -= amount
    return paths


def _route_table(network: Network, found: list[tuple[str, str, str, float, list[int]]]) -> pd.DataFrame:
    """The route rows with nodes, modes, km, transit days and cost split into inbound and transfer."""
    links = network.link_table
    volume = network.products["volume"]
    unit_cost = {}
    if network.supply is not None:
        unit_cost = dict(zip(zip(network.supply["supplier"], network.supply["product"]),
                             network.supply["unit_cost"].astype(float)))
    records = []
    for supplier, site, product, quantity, path in found:
        legs = links.iloc[path]
        cpv = legs["cost_per_volume"].to_numpy(dtype=float) * float(volume[product])
        records.append({
            "supplier": supplier, "site": site, "product": product, "quantity": quantity,
            "path": [str(legs["from"].iloc[0]), *map(str, legs["to"])],
            "modes": [str(m) for m in legs["mode"]],
            "km": float(legs["km"].sum()), "transit_days": float(legs["transit_days"].sum()),
            "inbound_cost": quantity * (unit_cost.get((supplier, product), 0.0) + cpv[0]),
            "transfer_cost": quantity * float(cpv[1:].sum()),
        })
    return pd.DataFrame(records, columns=list(ROUTE_COLUMNS))
