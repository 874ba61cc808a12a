"""What a rebalancing plan does, in the two output files: ``transfers.csv`` and ``summary.json``.

Both are deterministic: the same inputs give byte-identical files (no timestamps, no timings; rows
in site and product order; floats in Python's shortest round-trip form).

Every deficit left (final stock below target) is explained by one reason, checked in this order:

* ``no_stock``: no participating site ends the run above its own target: stock is short overall,
  and what there is was shared by the sharing rule (:mod:`optimizer.rebalance.penalty`);
* ``unreachable``: sites with stock to spare exist, but no path of the graph leads from them here;
* ``not_worth``: the cheapest path from a site with stock to spare costs at least the penalty one
  more unit would save here (plus the excess penalty it would save there); ``transfer_cost`` and
  ``penalty_saved`` (currency per unit) are given;
* ``capacity``: a transfer would pay, but link or dock capacities are used up (the ``lp`` engine;
  this includes the rounding of its fractional transfers down to whole units);
* ``mip_options``: a transfer would pay, but pack sizes, the minimum shipment, truck costs or the
  cap on transfers make it not worth it or not allowed (the ``mip`` engine);
* ``interrupted``: the run was stopped before this product was decided.

Stock left above max (with an excess penalty) is explained the same way (``no_room``: no site
reachable from here is below its max).
"""

from __future__ import annotations

import hashlib
import json
import math
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

import numpy as np
import pandas as pd

from optimizer.outputs import PATH_SEPARATOR
from optimizer.rebalance.engine import TRANSFER_COLUMNS, Plan
from optimizer.rebalance.graph import TransferGraph
from optimizer.rebalance.inputs import RebalanceInputs, describe
from optimizer.rebalance.penalty import marginal_rate, penalty

#: A transfer "pays" only when it saves more than this (currency per unit): the min-cost flow's rounding.
PAYS_TOLERANCE = 1e-3
#: Reason of a deficit that a transfer would have paid for, by engine.
BLOCKED_BY = {"lp": "capacity", "mip": "mip_options", "min_cost_flow": "not_worth"}


def transfer_table(plan: Plan, inputs: RebalanceInputs, graph: TransferGraph) -> pd.DataFrame:
    """transfers.csv as a table: one row per (origin, destination, product, path), in site and product order."""
    if not len(plan.transfers):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TRANSFER_COLUMNS})
    path_id, paths = pd.factorize(plan.transfers["edges"])  # few distinct paths: strings built once each
    rows = plan.transfers[["k", "o", "d"]].assign(p=path_id, quantity=plan.transfers["quantity"])
    rows = rows.groupby(["k", "o", "d", "p"], sort=False, as_index=False)["quantity"].sum()
    rows = rows.sort_values(["o", "d", "k"], kind="stable")
    edges = graph.edges
    cost_per_volume = edges["cost_per_volume"].to_numpy(dtype=float)
    transit = edges["transit_days"].to_numpy(dtype=float)
    modes = edges["mode"].to_numpy(dtype=object)
    heads = edges["to"].to_numpy(dtype=object)
    tails = edges["from"].to_numpy(dtype=object)
    path_text = np.array([PATH_SEPARATOR.join([tails[p[0]], *heads[list(p)]]) for p in paths], dtype=object)
    mode_text = np.array([PATH_SEPARATOR.join(modes[list(p)]) for p in paths], dtype=object)
    path_cost = np.array([cost_per_volume[list(p)].sum() for p in paths])
    path_days = np.array([float(transit[list(p)].sum()) for p in paths])
    sites = np.asarray(inputs.sites, dtype=object)
    o, d, k, p = (rows[c].to_numpy() for c in ("o", "d", "k", "p"))
    quantity = rows["quantity"].to_numpy(dtype=float)
    frame = pd.DataFrame({
        "from": sites[o], "to": sites[d], "product": np.asarray(inputs.products, dtype=object)[k],
        "quantity": quantity.astype(np.int64), "cost": quantity * inputs.volume[k] * path_cost[p],
        "path": path_text[p], "modes": mode_text[p], "transit_days": path_days[p],
    }, columns=list(TRANSFER_COLUMNS))
    rank = np.unique(path_text.astype(str), return_inverse=True)[1].ravel()  # path order by its text
    return frame.iloc[np.lexsort((rank[p], k, d, o))].reset_index(drop=True)


def csv_text(table: pd.DataFrame) -> str:
    """transfers.csv's text (``\\n`` line ends, full float precision)."""
    return table.to_csv(index=False, lineterminator="\n")


def sha256(text: str) -> str:
    """SHA-256 hex digest of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _penalties(inputs: RebalanceInputs, final: np.ndarray) -> dict[str, np.ndarray]:
    return penalty(final, inputs.minimum, inputs.target, inputs.maximum, inputs.shortage[None, :],
                   inputs.below_target[None, :], inputs.excess[None, :])


def costs(plan: Plan, inputs: RebalanceInputs, graph: TransferGraph, table: pd.DataFrame) -> dict[str, float]:
    """The plan's cost by part (currency per run), recomputed in floating point, and its total."""
    parts = _penalties(inputs, plan.final)
    out = {"transfer": float(table["cost"].sum()) if len(table) else 0.0,
           "trucks": float((plan.trucks * graph.edges["truck_cost"].to_numpy(dtype=float)).sum()),
           "penalty_below_min": float(parts["below_min"].sum()),
           "penalty_below_target": float(parts["below_target"].sum()),
           "penalty_excess": float(parts["excess"].sum())}
    out["total"] = float(sum(out.values()))
    return out


def _reasons(plan: Plan, inputs: RebalanceInputs, dist: np.ndarray) -> tuple[list[dict], list[dict]]:
    """Deficits (below target) and excesses (above max, when penalised) left, each with its reason."""
    final = plan.final
    rate = marginal_rate(final, inputs.minimum, inputs.target, inputs.maximum, inputs.shortage[None, :],
                         inputs.below_target[None, :], inputs.excess[None, :])
    spare = final > inputs.target
    over = final > inputs.maximum
    room = final < inputs.maximum
    decided = np.ones(len(inputs.products), dtype=bool)
    if plan.termination == "interrupted":
        moved = np.zeros(len(inputs.products), dtype=bool)
        moved[plan.transfers["k"].to_numpy()] = True
        decided = moved
    shortfalls, excesses = [], []
    short_i, short_k = np.nonzero(final < inputs.target)
    reason = np.full(len(short_i), "", dtype=object)
    cost_best, saved_best = np.full(len(short_i), np.nan), np.full(len(short_i), np.nan)
    by_product = np.argsort(short_k, kind="stable")
    bounds = np.flatnonzero(np.diff(short_k[by_product], prepend=-1, append=-1))
    for lo, hi in zip(bounds[:-1], bounds[1:]):  # per product: its deficits against its givers at once
        at = by_product[lo:hi]
        k, sinks = int(short_k[at[0]]), short_i[at]
        givers = np.flatnonzero(spare[:, k])  # never a deficit site itself
        if not len(givers):
            reason[at] = "no_stock"
            continue
        cost = dist[np.ix_(givers, sinks)] * inputs.volume[k]
        saved = rate[sinks, k][None, :] + np.where(over[givers, k], inputs.excess[k], 0.0)[:, None]
        best = np.argmax(saved - cost, axis=0)
        column = np.arange(len(sinks))
        cost_best[at], saved_best[at] = cost[best, column], saved[best, column]
        pays = saved_best[at] - cost_best[at] > PAYS_TOLERANCE
        reason[at] = np.where(~decided[k], "interrupted", np.where(pays, BLOCKED_BY[plan.engine], "not_worth"))
        reason[at[~np.isfinite(cost).any(axis=0)]] = "unreachable"
    columns = (final[short_i, short_k], inputs.minimum[short_i, short_k], inputs.target[short_i, short_k])
    for i, k, left, low, goal, why, cost_k, saved_k in zip(
            short_i.tolist(), short_k.tolist(), *(c.astype(float).tolist() for c in columns), reason.tolist(),
            cost_best.tolist(), saved_best.tolist()):
        record: dict[str, Any] = {"site": inputs.sites[i], "product": inputs.products[k], "final": left,
                                  "min": low, "target": goal, "short_of_min": max(0.0, low - left),
                                  "short_of_target": goal - left}
        if why not in ("no_stock", "unreachable"):
            record["transfer_cost"], record["penalty_saved"] = cost_k, saved_k
        record["reason"] = why
        shortfalls.append(record)
    over_i, over_k = np.nonzero(over & (inputs.excess[None, :] > 0))
    for i, k in zip(over_i.tolist(), over_k.tolist()):
        takers = room[:, k].copy()
        takers[i] = False
        record = {"site": inputs.sites[i], "product": inputs.products[k], "final": float(final[i, k]),
                  "max": float(inputs.maximum[i, k]), "above_max": float(final[i, k] - inputs.maximum[i, k])}
        if not takers.any() or not np.isfinite(dist[i, takers]).any():
            record["reason"] = "no_room"
        else:
            cost = dist[i, takers] * inputs.volume[k]
            saved = inputs.excess[k] + np.maximum(rate[takers, k], 0.0)
            best = int(np.argmax(saved - cost))
            record["transfer_cost"], record["penalty_saved"] = float(cost[best]), float(saved[best])
            pays = saved[best] - cost[best] > PAYS_TOLERANCE
            record["reason"] = "interrupted" if not decided[k] else BLOCKED_BY[plan.engine] if pays else "not_worth"
        excesses.append(record)
    return shortfalls, excesses


def summary_document(plan: Plan, inputs: RebalanceInputs, graph: TransferGraph, dist: np.ndarray,
                     table: pd.DataFrame, network_name: str, check: dict[str, Any] | None) -> dict[str, Any]:
    """summary.json's content (see the README's "Rebalancing" section)."""
    figures = costs(plan, inputs, graph, table)
    bound = plan.bound
    gap = None
    if bound is not None and np.isfinite(bound):
        gap = max(0.0, figures["total"] - bound) / max(abs(figures["total"]), 1e-10) if figures["total"] else 0.0
    shortfalls, excesses = _reasons(plan, inputs, dist)
    reasons: dict[str, int] = {}
    for record in shortfalls:
        reasons[record["reason"]] = reasons.get(record["reason"], 0) + 1
    parts = _penalties(inputs, plan.final)
    return {
        "network": network_name, "status": plan.status, "termination": plan.termination, "engine": plan.engine,
        "inputs": describe(inputs), "graph": {"source": graph.source, "sites": len(graph.sites),
                                              "edges": graph.n_edges},
        "transfers": len(table), "units_moved": int(table["quantity"].sum()) if len(table) else 0,
        "costs": figures, "objective": figures["total"], "bound": bound if bound is None else float(bound), "gap": gap,
        "short_of_min_units": float(parts["short_of_min"].sum()),
        "short_of_target_units": float(parts["short_of_target"].sum()),
        "above_max_units": float(parts["above_max"].sum()),
        "deficits_by_reason": dict(sorted(reasons.items())),
        "shortfalls": shortfalls, "excess": excesses,
        "check": check, "messages": list(plan.messages),
    }


def summary_text(document: dict[str, Any], transfers_sha256: str) -> str:
    """summary.json's text: the document plus ``transfers_sha256`` (of transfers.csv's bytes)."""
    document = {**document, "transfers_sha256": transfers_sha256}
    lists = {key: document[key] for key in RECORD_LISTS if document.get(key)}
    text = json.dumps({**document, **{key: [] for key in lists}}, indent=1, allow_nan=False) + "\n"
    for key, records in lists.items():  # the long lists of flat records, written as json.dumps(indent=1) would
        text = text.replace(f"\n {json.dumps(key)}: [],", f"\n {json.dumps(key)}: [\n{_records_text(records)}\n ],", 1)
    return text


#: The summary's lists of flat records (one per deficit or excess left), written by :func:`_records_text`.
RECORD_LISTS = ("shortfalls", "excess")


def _records_text(records: list[dict[str, Any]]) -> str:
    """Flat records as items of a top-level list in ``json.dumps(..., indent=1)`` (text, numbers, None)."""
    key_text: dict[str, str] = {}

    def value(v: Any) -> str:
        if type(v) is float:
            if not math.isfinite(v):
                raise ValueError(f"Out of range float values are not JSON compliant: {v!r}")
            return float.__repr__(v)
        if type(v) is str:
            return encode_basestring_ascii(v)
        return json.dumps(v, allow_nan=False)

    def item(record: dict[str, Any]) -> str:
        return "  {\n" + ",\n".join(
            f"   {key_text.get(k) or key_text.setdefault(k, encode_basestring_ascii(k))}: {value(v)}"
            for k, v in record.items()) + "\n  }"

    return ",\n".join(map(item, records))
