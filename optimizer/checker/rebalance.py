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


def _penalty(final: float, minimum: float, target: float, maximum: float, rate: pd.Series) -> tuple[float, ...]:
    """below-min, below-target and excess penalty of one final stock (the README's quarter rule)."""
    below_min = 0.0
    for s, weight in enumerate((1.3, 1.2, 1.1, 1.0)):
        low, high = math.floor(s * minimum / 4), math.floor((s + 1) * minimum / 4) if s < 3 else minimum
        below_min += weight * rate["shortage"] * max(0.0, high - max(low, final))
    below_target = rate["below_target"] * max(0.0, target - max(final, minimum))
    excess = rate["excess"] * max(0.0, final - maximum) if math.isfinite(maximum) else 0.0
    return below_min, below_target, excess


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
    sites = sorted(set(stock["site"]))
    links = _links(network, sites)
    products = network.products
    volume = products["volume"].astype(float)
    pack = products["pack_size"].astype(float) if "pack_size" in products.columns else pd.Series(1.0, products.index)
    key = pd.MultiIndex.from_frame(stock[["site", "product"]])
    final = pd.Series(stock["on_hand"].to_numpy(dtype=float) + stock["arriving"].to_numpy(dtype=float), index=key)
    sent = pd.Series(0.0, index=key)
    hop_units: dict[tuple[str, str, str, str], float] = {}
    transfer_cost = 0.0
    for row in transfers.itertuples(index=False):
        frm, to, product, q = str(row[0]), str(row[1]), str(row[2]), float(row[3])
        nodes = [s.strip() for s in str(row[5]).split(">")]
        modes = [s.strip() for s in str(row[6]).split(">")]
        where = f"transfer {frm} -> {to} of {product}"
        if (frm, product) not in final.index or (to, product) not in final.index:
            bad.append(f"{where}: a site or product that does not take part in the run")
            continue
        if q <= 0 or q != math.floor(q) or (whole_packs and q % pack.get(product, 1.0)):
            bad.append(f"{where}: quantity {q:g} is not a positive whole number of units (packs)")
        if nodes[0] != frm or nodes[-1] != to or len(modes) != len(nodes) - 1:
            bad.append(f"{where}: path '{row[5]}' with modes '{row[6]}' does not lead from {frm} to {to}")
            continue
        per_volume = 0.0
        for a, b, mode in zip(nodes[:-1], nodes[1:], modes):
            if (a, b, mode) not in links.index:
                bad.append(f"{where}: hop {a} > {b} by {mode} is not a link between participating sites")
                continue
            per_volume += float(links.loc[(a, b, mode), "per_volume"])
            hop_units[(a, b, mode, product)] = hop_units.get((a, b, mode, product), 0.0) + q
        cost = q * float(volume[product]) * per_volume
        transfer_cost += cost
        if abs(cost - float(row[4])) > REL_TOL * max(1.0, abs(cost)):
            bad.append(f"{where}: cost {float(row[4]):.6g} but {cost:.6g} recomputed")
        sent[(frm, product)] += q
        final[(frm, product)] -= q
        final[(to, product)] += q
    over = sent > stock["on_hand"].to_numpy(dtype=float) + 1e-9
    bad += [f"site {s} sends {sent[(s, p)]:g} units of {p} but has {h:g} on hand"
            for (s, p), h in zip(sent.index[over], stock["on_hand"].to_numpy()[over])]
    _check_capacities(network, links, hop_units, volume, run_days, bad)
    per_hop = pd.Series(hop_units, dtype=float)
    if min_shipment and len(per_hop) and (per_hop < min_shipment - 1e-9).any():
        bad.append(f"{int((per_hop < min_shipment - 1e-9).sum())} (link, product) shipments below the minimum "
                   f"shipment of {min_shipment:g} units")
    if max_transfers is not None and len(per_hop) > max_transfers:
        bad.append(f"{len(per_hop)} (link, product) shipments, more than the cap of {max_transfers}")
    trucks = 0.0
    if len(per_hop):
        by_link = (per_hop * volume.reindex(per_hop.index.get_level_values(3)).to_numpy()).groupby(level=[0, 1, 2]).sum()
        for link, vol in by_link.items():
            cap, cost = links.loc[link, "truck_capacity"], links.loc[link, "truck_cost"]
            if math.isfinite(cap) and cost > 0:
                trucks += math.ceil(vol / cap - 1e-9) * cost
    rates = _rates(network, sorted(set(stock["product"])))
    parts = np.zeros(3)
    for (s, p), f, lo, tg, hi in zip(final.index, final.to_numpy(), stock["min"], stock["target"], stock["max"]):
        parts += _penalty(f, float(lo), float(tg), float(hi), rates.loc[p])
    costs = {"transfer": transfer_cost, "trucks": trucks, "penalty_below_min": float(parts[0]),
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


def _check_capacities(network: Network, links: pd.DataFrame, hop_units: dict[tuple[str, str, str, str], float],
                      volume: pd.Series, run_days: float, bad: list[str]) -> None:
    """Link capacities per run and dock limits of the sites."""
    link_volume: dict[tuple[str, str, str], float] = {}
    out_units: dict[str, float] = {}
    in_units: dict[str, float] = {}
    for (a, b, mode, product), q in hop_units.items():
        link_volume[(a, b, mode)] = link_volume.get((a, b, mode), 0.0) + q * float(volume[product])
        out_units[a] = out_units.get(a, 0.0) + q
        in_units[b] = in_units.get(b, 0.0) + q
    scale = run_days / network.settings.period_days
    for link, used in link_volume.items():
        cap = float(links.loc[link, "capacity"]) * scale
        if used > cap * (1 + 1e-9) + 1e-9:
            bad.append(f"link {link[0]} > {link[1]} ({link[2]}) carries {used:.6g} volume units, above its "
                       f"capacity of {cap:.6g} per run")
    for column, used in (("max_outbound", out_units), ("max_inbound", in_units)):
        if column not in network.sites.columns:
            continue
        for site, units in used.items():
            limit = float(network.sites.loc[site, column])
            if units > limit + 1e-9:
                bad.append(f"site {site} {column[4:]} {units:g} units, above its {column} of {limit:g}")
