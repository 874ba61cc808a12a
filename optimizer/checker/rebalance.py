"""The independent check of a rebalancing plan (``optimizer rebalance``), from the raw tables alone.

Part of :mod:`optimizer.checker` and bound by its rule: nothing here comes from the engine
(:mod:`optimizer.rebalance`), the lane graph code or the solvers.  It reads the transfers as
written (``from``, ``to``, ``product``, ``quantity``, ``cost``, ``path``, ``modes``) and checks:

* every transfer starts and ends at, and passes only through, participating sites, and every hop
  ``A > B`` with its mode is a link of the run's graph: links.csv's site -> site links among the
  participating sites (when it has any), else each participating site with its k nearest
  participating sites by great-circle distance, both ways (ties accepted either way);
* no site sends more of a product than it has on hand; quantities are whole units (whole packs);
* link capacities (``capacity x run_days / period_days`` volume per run) and dock limits
  (``max_outbound`` / ``max_inbound`` units per run, every hop counted at both its ends) hold, as
  do the minimum shipment and the cap on (link, product) shipments when given;
* costs recomputed: each transfer's cost (``quantity x volume x`` the sum over its hops of
  ``cost_per_volume + cost_per_volume_km x km``), the penalties of the final stock (the quarter
  rule of the README, written out here again) and the trucks needed; the reported totals must
  match within :data:`REL_TOL`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer.checker.linkset import great_circle_km
from optimizer.network import Network
from optimizer.outputs import PATH_SEPARATOR

#: Relative tolerance of recomputed costs (of max(1, |value|)).
REL_TOL = 1e-6


@dataclass
class RebalanceCheck:
    """The checker's verdict.

    Attributes:
        ok: No violation found.
        violations: One sentence per violation (ids and numbers named).
        costs: Recomputed costs: ``transfer``, ``trucks`` (the fewest trucks the flows need),
            ``penalty_below_min``, ``penalty_below_target``, ``penalty_excess``, ``total``.
    """

    ok: bool
    violations: list[str] = field(default_factory=list)
    costs: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (first 20 violations)."""
        return {"ok": self.ok, "violations": self.violations[:20], "n_violations": len(self.violations)}


def _links(network: Network, sites: list[str]) -> pd.DataFrame:
    """The run's links with km and cost per volume unit, indexed by (from, to, mode)."""
    raw = network.links
    inside = None if raw is None else raw[raw["from"].isin(sites) & raw["to"].isin(sites)]
    coords = network.sites[["lat", "lon"]].astype(float)
    if inside is None or not len(inside):
        n = len(sites)
        k = min(network.settings.transport.k_nearest, n - 1)
        i, j = np.nonzero(~np.eye(n, dtype=bool))
        xy = coords.loc[sites].to_numpy()
        dist = np.full((n, n), np.inf)
        dist[i, j] = great_circle_km(network, xy[i, 0], xy[i, 1], xy[j, 0], xy[j, 1])
        near = np.zeros((n, n), dtype=bool)
        if k > 0:
            kth = np.sort(dist, axis=1)[:, k - 1]
            near = dist <= kth[:, None] * (1 + 1e-9)
        a, b = np.nonzero(near | near.T)
        ids = np.asarray(sites, dtype=object)
        inside = pd.DataFrame({"from": ids[a], "to": ids[b], "mode": "road", "cost_per_volume": 0.0,
                               "cost_per_volume_km": network.settings.transport.cost_per_volume_km,
                               "distance_km": np.nan, "capacity": np.inf})
    a, b = coords.reindex(inside["from"]), coords.reindex(inside["to"])
    road = great_circle_km(network, a["lat"].to_numpy(), a["lon"].to_numpy(), b["lat"].to_numpy(),
                           b["lon"].to_numpy()) * network.settings.circuity
    given = inside["distance_km"].to_numpy(dtype=float) if "distance_km" in inside else np.full(len(inside), np.nan)
    km = np.where(np.isnan(given), road, given)
    out = pd.DataFrame({
        "per_volume": inside["cost_per_volume"].to_numpy(dtype=float) + inside["cost_per_volume_km"].to_numpy(
            dtype=float) * km,
        "capacity": inside["capacity"].to_numpy(dtype=float) if "capacity" in inside else np.inf,
        "truck_capacity": inside["truck_capacity"].to_numpy(dtype=float) if "truck_capacity" in inside else np.inf,
        "truck_cost": inside["truck_cost"].to_numpy(dtype=float) if "truck_cost" in inside else 0.0,
    }, index=pd.MultiIndex.from_arrays([inside["from"].astype(str), inside["to"].astype(str),
                                        inside["mode"].astype(str)], names=["from", "to", "mode"]))
    return out[~out.index.duplicated()]


def _rates(network: Network, products: list[str]) -> pd.DataFrame:
    """shortage, below-target and excess penalties per unit of each product, from network.yaml's rebalance:."""
    settings = network.settings.rebalance
    value = network.products["unit_value"].reindex(products).astype(float)
    table = pd.DataFrame({key: float(getattr(settings, key)) for key in ("shortage_rate", "target_factor",
                                                                          "excess_rate")}, index=value.index)
    for product, overrides in (settings.products or {}).items():
        if product in table.index:
            for key, rate in overrides.items():
                table.loc[product, key] = float(rate)
    shortage = value * table["shortage_rate"]
    return pd.DataFrame({"shortage": shortage, "below_target": shortage * table["target_factor"],
                         "excess": value * table["excess_rate"]})


def _penalty(final: np.ndarray, minimum: np.ndarray, target: np.ndarray, maximum: np.ndarray,
             rates: pd.DataFrame) -> np.ndarray:
    """below-min, below-target and excess penalties summed over all rows (the README's quarter rule)."""
    below_min = np.zeros(len(final))
    for s, weight in enumerate((1.3, 1.2, 1.1, 1.0)):
        low = np.floor(s * minimum / 4)
        high = np.floor((s + 1) * minimum / 4) if s < 3 else minimum
        below_min += weight * np.maximum(0.0, high - np.maximum(low, final))
    below_target = np.maximum(0.0, target - np.maximum(final, minimum))
    excess = np.where(np.isfinite(maximum), np.maximum(0.0, final - np.where(np.isfinite(maximum), maximum, 0.0)),
                      0.0)
    return np.array([(below_min * rates["shortage"].to_numpy()).sum(),
                     (below_target * rates["below_target"].to_numpy()).sum(),
                     (excess * rates["excess"].to_numpy()).sum()])


def _hops(transfers: pd.DataFrame, bad: list[str]) -> pd.DataFrame:
    """One row per hop of every transfer: ``row``, ``a``, ``b``, ``mode``, ``product``, ``quantity``."""
    frm, to = transfers["from"].astype(str).to_numpy(), transfers["to"].astype(str).to_numpy()
    path, modes = transfers["path"].astype(str).to_numpy(), transfers["modes"].astype(str).to_numpy()
    path_code, path_text = pd.factorize(path)  # each distinct (path, modes) route is split once
    mode_code, mode_text = pd.factorize(modes)
    width = max(len(mode_text), 1)
    routes, which = np.unique(path_code * width + mode_code, return_inverse=True)
    which = which.ravel()
    first, last, a, b, mode, count = [], [], [], [], [], []
    for route, ways_text in zip(path_text[routes // width], mode_text[routes % width]):
        nodes = route.split(PATH_SEPARATOR)  # the writer's separator: an id may itself hold a '>'
        ways = ways_text.split(PATH_SEPARATOR)
        first.append(nodes[0])
        last.append(nodes[-1])
        count.append(len(ways) if len(ways) == len(nodes) - 1 else -1)
        a += nodes[:-1]
        b += nodes[1:]
        mode += ways
    count_array = np.asarray(count, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(np.maximum(count_array, 0))])
    ok = (count_array[which] >= 0) & (np.asarray(first, dtype=object)[which] == frm) & \
        (np.asarray(last, dtype=object)[which] == to)
    bad += [f"transfer {f} -> {t}: path '{r}' with modes '{m}' does not lead from {f} to {t}"
            for f, t, r, m in zip(frm[~ok], to[~ok], path[~ok], modes[~ok])]
    hops = np.where(ok, count_array[which], 0)
    rows_array = np.repeat(np.arange(len(transfers), dtype=np.int64), hops)
    within = np.arange(len(rows_array)) - np.repeat(np.cumsum(hops) - hops, hops)
    at = starts[which[rows_array]] + within
    return pd.DataFrame({"row": rows_array, "a": np.asarray(a, dtype=object)[at],
                         "b": np.asarray(b, dtype=object)[at], "mode": np.asarray(mode, dtype=object)[at],
                         "product": transfers["product"].astype(str).to_numpy()[rows_array],
                         "quantity": transfers["quantity"].to_numpy(dtype=float)[rows_array]})


def check_rebalance(network: Network, transfers: pd.DataFrame, stock: pd.DataFrame, run_days: float,
                    reported: dict[str, float], min_shipment: float | None = None,
                    max_transfers: int | None = None, whole_packs: bool = False) -> RebalanceCheck:
    """Check a rebalancing plan (see the module docstring).

    Args:
        network: The dataset (raw tables and settings).
        transfers: transfers.csv as a table.
        stock: One row per participating (site, product): ``site``, ``product``, ``on_hand``,
            ``arriving`` (in transit within the run), ``min``, ``target``, ``max`` (units).
        run_days: Length of the run, days.
        reported: The plan's reported costs (``transfer``, ``trucks``, ``penalty_*``, ``total``).
        min_shipment: Least units per (link, product) shipment, if set.
        max_transfers: Most (link, product) shipments, if set.
        whole_packs: Quantities must be whole packs of the product's pack_size.

    Returns:
        The verdict with every violation found and the recomputed costs.
    """
    bad: list[str] = []
    sites = sorted(set(stock["site"].unique().tolist()))
    links = _links(network, sites)
    products = network.products
    volume = products["volume"].astype(float)
    pack = products["pack_size"].astype(float) if "pack_size" in products.columns else pd.Series(1.0, products.index)
    key = pd.MultiIndex.from_frame(stock[["site", "product"]])
    q = transfers["quantity"].to_numpy(dtype=float)
    frm = pd.MultiIndex.from_arrays([transfers["from"].astype(str), transfers["product"].astype(str)])
    to = pd.MultiIndex.from_arrays([transfers["to"].astype(str), transfers["product"].astype(str)])
    i_from, i_to = key.get_indexer(frm), key.get_indexer(to)
    unknown = (i_from < 0) | (i_to < 0)
    bad += [f"transfer {a} -> {b} of {p}: a site or product that does not take part in the run"
            for (a, p), (b, _) in zip(frm[unknown], to[unknown])]
    packs = pack.reindex(transfers["product"].astype(str)).fillna(1.0).to_numpy() if whole_packs else 1.0
    wrong = (q <= 0) | (q != np.floor(q)) | (np.mod(q, packs) != 0)
    bad += [f"transfer {a} -> {b} of {p}: quantity {x:g} is not a positive whole number of units (packs)"
            for (a, p), (b, _), x in zip(frm[wrong], to[wrong], q[wrong])]
    hops = _hops(transfers, bad)
    hop_key = pd.MultiIndex.from_arrays([hops["a"], hops["b"], hops["mode"]])
    at = links.index.get_indexer(hop_key)
    off = at < 0
    bad += [f"transfer {transfers['from'].iloc[r]} -> {transfers['to'].iloc[r]} of {p}: hop {a} > {b} by {m} is not "
            "a link between participating sites" for r, a, b, m, p in
            zip(hops["row"][off], hops["a"][off], hops["b"][off], hops["mode"][off], hops["product"][off])]
    per_volume = np.bincount(hops["row"].to_numpy()[~off], weights=links["per_volume"].to_numpy()[at[~off]],
                             minlength=len(transfers))
    cost = q * volume.reindex(transfers["product"].astype(str)).to_numpy(dtype=float) * per_volume
    given = transfers["cost"].to_numpy(dtype=float)
    wrong = np.abs(cost - given) > REL_TOL * np.maximum(1.0, np.abs(cost))
    bad += [f"transfer {a} -> {b} of {p}: cost {g:.6g} but {c:.6g} recomputed"
            for (a, p), (b, _), g, c in zip(frm[wrong], to[wrong], given[wrong], cost[wrong])]
    ok_rows = ~unknown
    sent = np.bincount(i_from[ok_rows], weights=q[ok_rows], minlength=len(key))
    received = np.bincount(i_to[ok_rows], weights=q[ok_rows], minlength=len(key))
    on_hand = stock["on_hand"].to_numpy(dtype=float)
    over = sent > on_hand + 1e-9
    bad += [f"site {s} sends {x:g} units of {p} but has {h:g} on hand"
            for (s, p), x, h in zip(key[over], sent[over], on_hand[over])]
    final = on_hand + stock["arriving"].to_numpy(dtype=float) - sent + received
    hops = hops[~off].assign(volume=lambda h: h["quantity"] * volume.reindex(h["product"]).to_numpy(dtype=float))
    _check_capacities(network, links, hops, run_days, bad)
    per_hop = hops.groupby(["a", "b", "mode", "product"])["quantity"].sum()
    if min_shipment and (per_hop < min_shipment - 1e-9).any():
        bad.append(f"{int((per_hop < min_shipment - 1e-9).sum())} (link, product) shipments below the minimum "
                   f"shipment of {min_shipment:g} units")
    if max_transfers is not None and len(per_hop) > max_transfers:
        bad.append(f"{len(per_hop)} (link, product) shipments, more than the cap of {max_transfers}")
    by_link = hops.groupby(["a", "b", "mode"])["volume"].sum()
    trucks = 0.0
    if len(by_link):
        link = links.loc[by_link.index]
        use = np.isfinite(link["truck_capacity"].to_numpy()) & (link["truck_cost"].to_numpy() > 0)
        trucks = float((np.ceil(by_link.to_numpy()[use] / link["truck_capacity"].to_numpy()[use] - 1e-9)
                        * link["truck_cost"].to_numpy()[use]).sum())
    rates = _rates(network, sorted(set(stock["product"].unique().tolist()))).reindex(stock["product"])
    parts = _penalty(final, stock["min"].to_numpy(dtype=float), stock["target"].to_numpy(dtype=float),
                     stock["max"].to_numpy(dtype=float), rates)
    costs = {"transfer": float(cost.sum()), "trucks": trucks, "penalty_below_min": float(parts[0]),
             "penalty_below_target": float(parts[1]), "penalty_excess": float(parts[2])}
    costs["total"] = float(sum(costs.values()))
    for name, value in costs.items():
        theirs = float(reported.get(name, math.nan))
        if name == "trucks":
            if theirs < value - REL_TOL * max(1.0, value):
                bad.append(f"trucks cost {theirs:.6g} is below the {value:.6g} the flows need")
        elif name != "total" and not abs(theirs - value) <= REL_TOL * max(1.0, abs(value)):
            bad.append(f"{name} cost reported {theirs:.6g}, recomputed {value:.6g}")
    return RebalanceCheck(ok=not bad, violations=bad, costs=costs)


def _check_capacities(network: Network, links: pd.DataFrame, hops: pd.DataFrame, run_days: float,
                      bad: list[str]) -> None:
    """Link capacities per run and dock limits of the sites (every hop counts at both its ends)."""
    scale = run_days / network.settings.period_days
    used = hops.groupby(["a", "b", "mode"])["volume"].sum()
    if len(used):
        cap = links["capacity"].reindex(used.index).to_numpy(dtype=float) * scale
        over = used.to_numpy() > cap * (1 + 1e-9) + 1e-9
        bad += [f"link {a} > {b} ({m}) carries {v:.6g} volume units, above its capacity of {c:.6g} per run"
                for (a, b, m), v, c in zip(used.index[over], used.to_numpy()[over], cap[over])]
    for column, end in (("max_outbound", "a"), ("max_inbound", "b")):
        if column not in network.sites.columns or not len(hops):
            continue
        units = hops.groupby(end)["quantity"].sum()
        limit = network.sites[column].reindex(units.index).to_numpy(dtype=float)
        over = units.to_numpy() > limit + 1e-9
        bad += [f"site {s} {column[4:]} {u:g} units, above its {column} of {x:g}"
                for s, u, x in zip(units.index[over], units.to_numpy()[over], limit[over])]
