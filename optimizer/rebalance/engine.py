"""Decide the transfers of a rebalancing run at least cost: transfer cost + penalties.

The model, per product ``k`` and participating site ``i``: the site's stock on hand is kept,
sent on or passed through; what ends there, plus stock in transit arriving within the run, is its
final stock, whose penalty (:mod:`optimizer.rebalance.penalty`) is a convex piecewise-linear
function modelled by one band per piece, filled in order.  Three engines, chosen by the inputs:

* ``min_cost_flow`` (links and docks uncapacitated, no MIP option): the products are
  independent; each is a min-cost flow from every site to a sink through the site's bands, over
  the cheapest edge of each linked pair (the flow finds the shortest paths; the shortest-path
  costs themselves are computed once, :func:`optimizer.rebalance.graph.shortest_paths`, for the
  summary).  OR-Tools' ``SimpleMinCostFlow`` solves :data:`BATCH_ARCS` arcs' worth of products at
  once (disjoint copies of the graph in one instance), so 10,000 products are about a thousand calls,
  shared by up to :data:`MAX_WORKERS` forked worker processes.
  Supplies are whole units; costs are scaled to integers of :data:`COST_SCALE` (1e-4 currency per
  unit per edge): the plan is optimal for the rounded costs, so its true cost is within 1e-4 x
  (units moved x edges of their paths + units in each band) of the optimum; every reported cost is
  recomputed in floating point from the plan.
* ``lp`` (some link capacity or dock limit, which all products share): one multi-commodity LP
  over every edge and mode (HiGHS interior point, through :mod:`optimizer.solvers`), without the
  bands an optimum never moves (:func:`_settled_bands`).  Its transfers are rounded
  down to whole units after the path decomposition (never above capacity or stock on hand); the
  LP optimum is the reported bound and the gap says what rounding cost.
* ``mip`` (pack sizes above 1, ``--min-shipment``, per-truck costs or ``--max-transfers``): the
  same model with whole packs per edge, a binary per (edge, product) shipment (min shipment: 0 or
  at least Q units per edge and product; ``--max-transfers`` caps their number), and whole trucks
  per edge (``truck_cost`` per ``truck_capacity`` volume started).  Solved with the time limit;
  the gap is the solver's.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.model.linear import LinearModel
from optimizer.rebalance.flows import decompose
from optimizer.rebalance.graph import TransferGraph
from optimizer.rebalance.inputs import RebalanceInputs
from optimizer.rebalance.penalty import BANDS, band_edges, band_rates, penalty
from optimizer.solvers import get_solver, interrupt
from optimizer.solvers.base import SolveOptions, Status, Termination

#: Integer cost units per currency unit in the min-cost flow (costs rounded to 1e-4).
COST_SCALE = 1e4
#: Arcs per SimpleMinCostFlow instance (products are batched up to this many arcs).
BATCH_ARCS = 40_000  # small instances solve faster per arc (cache); 10,000 products are ~1,000 calls
#: Most worker processes of the min-cost flow (the issue's target machine has 2 cores).
MAX_WORKERS = 2
#: Fewer products than this are decided in the calling process (a fork costs more than it saves).
PARALLEL_PRODUCTS = 500
#: Tasks per worker process (smaller tasks: a finer interrupt, a more even load).
TASKS_PER_WORKER = 8
#: What the worker processes decide on: (inputs, graph, products per batch), set while they run.
_FLOW_STATE: tuple[RebalanceInputs, TransferGraph, int] | None = None
#: HiGHS's algorithm for the multi-commodity LP: interior point (then crossover to a vertex); at 200 sites
#: x 1,000 products (a million columns) dual simplex does not finish within 600 s.
LP_METHOD = "ipm"
#: Columns of the transfers table (transfers.csv), in order.
TRANSFER_COLUMNS = ("from", "to", "product", "quantity", "cost", "path", "modes", "transit_days")


@dataclass(frozen=True)
class Options:
    """Options of a run (the command line's).

    Attributes:
        min_shipment: Least units per (edge, product) shipment, or None.
        max_transfers: Most (edge, product) shipments, or None.
        time_limit: Seconds for the LP / MIP, or None.
    """

    min_shipment: float | None = None
    max_transfers: int | None = None
    time_limit: float | None = None


@dataclass
class Plan:
    """The transfers decided, and how.

    Attributes:
        engine: ``min_cost_flow``, ``lp`` or ``mip``.
        status: ``optimal``, ``feasible`` or ``no_solution``.
        termination: Why the solve stopped (``optimal``, ``time_limit``, ``interrupted``, ...).
        transfers: One row per transfer: ``from``/``to``/``product`` indices (``o``, ``d``, ``k``),
            ``quantity`` (units) and ``edges`` (tuple of edge indices of the path).
        final: Final stock per (site, product), units (on hand kept + received + arriving).
        trucks: Trucks per edge (the MIP with truck costs), else zeros.
        bound: Proven lower bound on the total cost (LP / MIP), else None.
        solve_seconds: Time in the solver (not written to the outputs).
        messages: What happened, in words.
    """

    engine: str
    status: str
    termination: str
    transfers: pd.DataFrame
    final: np.ndarray
    trucks: np.ndarray
    bound: float | None = None
    solve_seconds: float = 0.0
    messages: list[str] = field(default_factory=list)


def choose_engine(inputs: RebalanceInputs, graph: TransferGraph, options: Options, docks: np.ndarray) -> str:
    """``mip`` when an option needs whole packs, shipments or trucks; ``lp`` when capacities couple
    the products; else ``min_cost_flow``."""
    if (inputs.pack_size > 1).any() or options.min_shipment or options.max_transfers is not None \
            or graph.has_trucks:
        return "mip"
    if graph.capacitated or np.isfinite(docks).any():
        return "lp"
    return "min_cost_flow"


def band_capacities(inputs: RebalanceInputs) -> tuple[np.ndarray, np.ndarray]:
    """Units each band takes beyond the stock arriving, (n, m, 7), and the rate of each band, (n, m, 7).

    A band ``[lo, hi)`` of final stock takes ``hi - max(lo, arriving)`` units of stock kept or
    received (at least 0, at most the product's total stock on hand).
    """
    edges = band_edges(inputs.minimum, inputs.target, inputs.maximum)
    total = inputs.on_hand.sum(axis=0).astype(float)[None, :, None]
    arriving = inputs.arriving.astype(float)[:, :, None]
    with np.errstate(invalid="ignore"):
        caps = np.clip(edges[..., 1:] - np.maximum(edges[..., :-1], arriving), 0.0, None)
    caps = np.minimum(np.nan_to_num(caps, nan=0.0), total)  # inf - inf: an empty band above an unlimited max
    shape = inputs.on_hand.shape
    rates = band_rates(*(np.broadcast_to(v[None, :], shape) for v in (inputs.shortage, inputs.below_target,
                                                                       inputs.excess)))
    return caps, rates


def active_products(inputs: RebalanceInputs) -> np.ndarray:
    """Products where a transfer could help: some stock on hand, and a site below target or above max."""
    start = inputs.on_hand + inputs.arriving
    short = (start < inputs.target).any(axis=0)
    over = ((start > inputs.maximum) & (inputs.excess[None, :] > 0)).any(axis=0)
    return np.flatnonzero((inputs.on_hand.sum(axis=0) > 0) & (short | over))


def solve(inputs: RebalanceInputs, graph: TransferGraph, options: Options, docks: np.ndarray) -> Plan:
    """Decide the transfers (see the module docstring).

    Args:
        inputs: The run's arrays.
        graph: The transfer graph.
        options: Command-line options.
        docks: ``max_outbound`` and ``max_inbound`` per participating site, (2, n) units per run.

    Returns:
        The plan.
    """
    engine = choose_engine(inputs, graph, options, docks)
    products = active_products(inputs)
    start = time.perf_counter()
    if engine == "min_cost_flow" or not graph.n_edges or not len(products):
        plan = _solve_flows(inputs, graph, products)  # nothing to decide: no program (HiGHS refuses an empty one)
        if not len(products):
            plan.engine = engine
    else:
        plan = _solve_program(inputs, graph, products, options, docks, engine)
    plan.solve_seconds = time.perf_counter() - start
    plan.messages.insert(0, f"{engine}: {len(products)} of {len(inputs.products)} products need a decision; "
                            f"graph of {len(graph.sites)} sites and {graph.n_edges} edges ({graph.source})")
    return plan


def _empty_transfers() -> pd.DataFrame:
    return pd.DataFrame({"o": pd.Series(dtype=np.int64), "d": pd.Series(dtype=np.int64),
                         "k": pd.Series(dtype=np.int64), "quantity": pd.Series(dtype=float),
                         "edges": pd.Series(dtype=object)})


def _final(inputs: RebalanceInputs, transfers: pd.DataFrame) -> np.ndarray:
    """Final stock after the transfers: on hand - sent + received + arriving."""
    final = (inputs.on_hand + inputs.arriving).astype(float)
    if len(transfers):
        q = transfers["quantity"].to_numpy(dtype=float)
        k = transfers["k"].to_numpy()
        np.subtract.at(final, (transfers["o"].to_numpy(), k), q)
        np.add.at(final, (transfers["d"].to_numpy(), k), q)
    return final


def _frame(rows: list[tuple[int, int, int, float, tuple[int, ...]]]) -> pd.DataFrame:
    if not rows:
        return _empty_transfers()
    o, d, k, q, e = zip(*rows)
    return pd.DataFrame({"o": np.array(o, dtype=np.int64), "d": np.array(d, dtype=np.int64),
                         "k": np.array(k, dtype=np.int64), "quantity": np.array(q, dtype=float),
                         "edges": list(e)})


def _segments(inputs: RebalanceInputs, ks: np.ndarray) -> tuple[np.ndarray, ...]:
    """The bands a site may give from or receive into, per product of ``ks`` (arrays (b, n, 7)).

    Giving empties bands below the starting stock ``F0`` (on hand + arriving), at most the stock on
    hand; receiving fills bands above it.  A give band is kept only when some site would receive at
    a higher rate, a receive band only when some site would give at a lower one (transfers cost >= 0).

    Returns:
        give capacity, give rate, receive capacity, receive rate.
    """
    edges = band_edges(inputs.minimum[:, ks], inputs.target[:, ks], inputs.maximum[:, ks]).transpose(1, 0, 2)
    rates = band_rates(*(np.broadcast_to(v[ks][:, None], edges.shape[:2]) for v in (
        inputs.shortage, inputs.below_target, inputs.excess)))
    lo, hi = edges[..., :-1], edges[..., 1:]
    start = (inputs.on_hand[:, ks] + inputs.arriving[:, ks]).T.astype(float)[..., None]
    floor = start - inputs.on_hand[:, ks].T.astype(float)[..., None]
    total = inputs.on_hand[:, ks].sum(axis=0).astype(float)[:, None, None]
    with np.errstate(invalid="ignore"):
        give = np.clip(np.minimum(hi, start) - np.maximum(lo, floor), 0.0, None)
        take = np.clip(np.minimum(hi, np.inf) - np.maximum(lo, start), 0.0, None)
    give, take = np.nan_to_num(give), np.minimum(np.nan_to_num(take), total)
    best_take = np.where(take > 0, rates, -np.inf).max(axis=(1, 2))[:, None, None]
    least_give = np.where(give > 0, rates, np.inf).min(axis=(1, 2))[:, None, None]
    give = np.where(rates < best_take, give, 0.0)
    take = np.where(rates > least_give, take, 0.0)
    return give, rates, take, rates


def _solve_flows(inputs: RebalanceInputs, graph: TransferGraph, products: np.ndarray,
                 workers: int | None = None) -> Plan:
    """One min-cost flow per product, batched into OR-Tools instances (see the module docstring).

    Per product: a source ``S`` gives through each site's give bands (cost: the penalty the unit
    leaves behind), units travel over the cheapest edge of each linked pair, and reach a sink
    ``T`` through the receive bands (cost: minus the penalty they save); a bypass ``S -> T``
    carries what is not moved.  Costs are shifted to be non-negative (a constant per unit).

    The batches are fixed by the product order alone (:data:`BATCH_ARCS`); with ``workers`` > 1
    (default: :func:`flow_workers`) groups of whole batches run in forked worker processes and
    are joined in order, so the plan is the same whatever the number of workers.
    """
    n = len(inputs.sites)
    per_product = len(graph.cheapest()) + 2 * n * len(BANDS) + 1
    batch = max(1, BATCH_ARCS // max(per_product, 1))
    starts = list(range(0, len(products), batch))
    workers = flow_workers(len(products)) if workers is None else workers
    per_task = 1 if workers == 1 else max(1, -(-len(starts) // (TASKS_PER_WORKER * workers)))
    tasks = [products[starts[t]:starts[t] + per_task * batch] for t in range(0, len(starts), per_task)]
    global _FLOW_STATE
    _FLOW_STATE = (inputs, graph, batch)
    paths: dict[tuple[int, ...], int] = {}
    parts: list[tuple[np.ndarray, ...]] = []
    messages: list[str] = []
    termination = Termination.OPTIMAL
    decided = 0
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 and len(tasks) > 1 else None
    try:
        results = pool.imap(_flow_task, tasks) if pool is not None else map(_flow_task, tasks)
        for ks in tasks:
            result = _next_result(results, pool)
            if result is None:
                termination = Termination.INTERRUPTED
                messages.append(f"interrupted: {decided} of {len(products)} products decided, "
                                "the others keep their stock")
                break
            o, d, k, q, path_index, task_paths = result
            ids = np.array([paths.setdefault(path, len(paths)) for path in task_paths], dtype=np.int64)
            parts.append((o, d, k, q, ids[path_index]))
            decided += len(ks)
    finally:
        _FLOW_STATE = None
        if pool is not None:
            pool.terminate()
            pool.join()
    transfers = _flow_frame(parts, list(paths))
    return Plan("min_cost_flow", Status.FEASIBLE.value if termination is Termination.INTERRUPTED
                else Status.OPTIMAL.value, termination.value, transfers, _final(inputs, transfers),
                np.zeros(graph.n_edges), messages=messages)


def flow_workers(n_products: int) -> int:
    """Worker processes of the min-cost flow: the CPUs this process may use (at most
    :data:`MAX_WORKERS`), or 1 below :data:`PARALLEL_PRODUCTS` products."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus)) if n_products >= PARALLEL_PRODUCTS else 1


def _next_result(results: Iterator, pool: Any) -> tuple | None:
    """The next task's result, or None when an interrupt was requested first."""
    while not interrupt.requested():
        if pool is None:
            return next(results)
        try:
            return results.next(timeout=interrupt.POLL_SECONDS)
        except multiprocessing.TimeoutError:
            continue
    return None


def _flow_frame(parts: list[tuple[np.ndarray, ...]], paths: list[tuple[int, ...]]) -> pd.DataFrame:
    """The transfers of the decided tasks (``edges``: the path's tuple, shared by equal paths)."""
    if not parts or not sum(len(part[0]) for part in parts):
        return _empty_transfers()
    o, d, k, q, ids = (np.concatenate(column) for column in zip(*parts))
    edges = np.empty(len(paths), dtype=object)
    edges[:] = paths
    return pd.DataFrame({"o": o, "d": d, "k": k, "quantity": q, "edges": edges[ids]})


def _flow_task(products: np.ndarray) -> tuple:
    """The transfers of ``products`` (whole batches), as arrays; runs in a worker process or inline.

    Returns:
        origin, destination, product, quantity, index of the path in the list of paths, paths.
    """
    from ortools.graph.python import min_cost_flow

    inputs, graph, batch = _FLOW_STATE
    n = len(inputs.sites)
    best = graph.cheapest()
    best_edge = best.tolist()
    tail, head = graph.tail[best], graph.head[best]
    edge_cost = graph.edges["cost_per_volume"].to_numpy(dtype=float)[best]
    rows: list[tuple[int, int, int, float, tuple[int, ...]]] = []
    for first in range(0, len(products), batch):
        ks = products[first:first + batch]
        give, give_rate, take, take_rate = _segments(inputs, ks)
        useful = (give.sum(axis=(1, 2)) > 0) & (take.sum(axis=(1, 2)) > 0)
        ks, give, give_rate, take, take_rate = ks[useful], give[useful], give_rate[useful], take[useful], \
            take_rate[useful]
        b = len(ks)
        if not b:
            continue
        width = n + 2  # sites, then S, then T
        base = (np.arange(b) * width)[:, None]
        source, sink = base[:, 0] + n, base[:, 0] + n + 1
        low = np.where(give > 0, give_rate, np.inf).min(axis=(1, 2))  # G
        high = np.where(take > 0, take_rate, -np.inf).max(axis=(1, 2))  # R
        supply = np.rint(give.sum(axis=(1, 2))).astype(np.int64)
        node = np.broadcast_to(base[:, :, None] + np.arange(n)[None, :, None], give.shape)
        g_keep, t_keep = give > 0, take > 0
        tails = [(base + tail[None, :]).ravel(), np.broadcast_to(source[:, None, None], give.shape)[g_keep],
                 node[t_keep], source]
        heads = [(base + head[None, :]).ravel(), node[g_keep],
                 np.broadcast_to(sink[:, None, None], take.shape)[t_keep], sink]
        caps = [np.repeat(supply, len(best)), np.rint(give[g_keep]).astype(np.int64),
                np.rint(take[t_keep]).astype(np.int64), supply]
        costs = [(edge_cost[None, :] * inputs.volume[ks][:, None]).ravel(),
                 (give_rate - low[:, None, None])[g_keep], (high[:, None, None] - take_rate)[t_keep], high - low]
        solver = min_cost_flow.SimpleMinCostFlow()
        arcs = solver.add_arcs_with_capacity_and_unit_cost(
            np.concatenate(tails), np.concatenate(heads), np.concatenate(caps),
            np.rint(np.concatenate(costs) * COST_SCALE).astype(np.int64))
        supplies = np.zeros((b, width), dtype=np.int64)
        supplies[:, n], supplies[:, n + 1] = supply, -supply
        solver.set_nodes_supplies(np.arange(b * width), supplies.ravel())
        status = solver.solve()
        if status != solver.OPTIMAL:
            raise ArithmeticError(f"the min-cost flow returned status {status} (costs or stock too large for "
                                  "64-bit integers)")
        flow = solver.flows(arcs[:b * len(best)]).reshape(b, len(best))
        for j in np.flatnonzero(flow.any(axis=1)):
            k = int(ks[j])
            rows += [(o, d, k, q, tuple([best_edge[e] for e in path]))
                     for o, d, q, path in decompose(n, tail, head, flow[j].astype(float))]
    if not rows:
        return tuple(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.int64, float, np.int64)) + ([],)
    o, d, k, q, path = zip(*rows)
    path_index, paths = pd.factorize(pd.Series(path, dtype=object))
    return (np.array(o, dtype=np.int64), np.array(d, dtype=np.int64), np.array(k, dtype=np.int64),
            np.array(q, dtype=float), path_index.astype(np.int64), list(paths))


def _solve_program(inputs: RebalanceInputs, graph: TransferGraph, products: np.ndarray, options: Options,
                   docks: np.ndarray, engine: str) -> Plan:
    """The multi-commodity LP or MIP over every edge (see the module docstring)."""
    model, layout = _build(inputs, graph, products, options, docks, engine == "mip")
    threads = 1  # deterministic
    method = None if engine == "mip" else LP_METHOD
    result = get_solver("highs").solve(model, SolveOptions(time_limit=options.time_limit, threads=threads,
                                                           lp_method=method))
    termination = result.termination.value if result.termination is not None else "numerical"
    n_e, m = graph.n_edges, len(products)
    if not result.status.has_plan:
        return Plan(engine, Status.NO_SOLUTION.value, termination, _empty_transfers(),
                    _final(inputs, _empty_transfers()), np.zeros(n_e), bound=result.bound,
                    messages=[result.message] if result.message else [])
    x = result.x[:n_e * m].reshape(m, n_e)
    packs = inputs.pack_size[products].astype(float)
    units = x * packs[:, None]
    if engine == "mip":
        units = np.rint(x) * packs[:, None]
    rows = []
    for j in np.flatnonzero((units > 1e-7).any(axis=1)):
        k = int(products[j])
        for o, d, q, path in decompose(len(inputs.sites), graph.tail, graph.head, units[j]):
            whole = np.floor(q / packs[j] + 1e-6) * packs[j]  # whole units (packs); LP round-off never adds
            if whole > 0:
                rows.append((o, d, k, float(whole), path))
    transfers = _frame(rows)
    trucks = np.zeros(n_e)
    if layout.get("trucks") is not None:
        trucks[layout["truck_edges"]] = np.rint(result.x[layout["trucks"]])
    status = result.status.value
    messages = [result.message] if result.message else []
    if engine == "lp":
        lp_units = float(units.sum())
        moved = float(transfers["quantity"].sum()) if len(transfers) else 0.0
        if lp_units - moved > 1e-6 * max(1.0, lp_units):
            status = Status.FEASIBLE.value
            messages.append("the LP's fractional transfers were rounded down to whole units "
                            "(the gap is against the LP bound)")
    return Plan(engine, status, termination, transfers, _final(inputs, transfers), trucks, bound=result.bound,
                messages=messages)


def _settled_bands(inputs: RebalanceInputs, products: np.ndarray, caps: np.ndarray, rates: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """The bands an LP optimum need not decide, settled beforehand (the LP keeps its optimum, with
    far fewer columns).

    Transfers cost >= 0, so a band wholly below a site's starting stock whose rate is at least the
    best rate any site could receive at is never given from (it stays full), and a band wholly
    above the start whose rate is at most the least rate any site could give at is never filled.
    Not for the MIP (whole packs may need units from such a band).

    Args:
        inputs: The run's arrays.
        products: The products of the model.
        caps, rates: Band capacities and rates, (m, n, B).

    Returns:
        The capacities left to decide (settled bands 0), the units kept in full bands per (product,
        site), (m, n), and the penalty those units save (currency).
    """
    edges = band_edges(inputs.minimum[:, products], inputs.target[:, products],
                       inputs.maximum[:, products]).transpose(1, 0, 2)
    lo, hi = edges[..., :-1], edges[..., 1:]
    start = (inputs.on_hand + inputs.arriving)[:, products].T.astype(float)[..., None]
    has = caps > 0
    best_take = np.where(has & (hi > start), rates, -np.inf).max(axis=(1, 2))[:, None, None]
    least_give = np.where(has & (lo < start), rates, np.inf).min(axis=(1, 2))[:, None, None]
    full = has & (hi <= start) & (rates >= best_take)
    empty = has & (lo >= start) & (rates <= least_give)
    held = np.where(full, caps, 0.0)
    return np.where(full | empty, 0.0, caps), held.sum(axis=2), float((rates * held).sum())


def _build(inputs: RebalanceInputs, graph: TransferGraph, products: np.ndarray, options: Options,
           docks: np.ndarray, mip: bool) -> tuple[LinearModel, dict]:
    """The LP / MIP of the products in ``products`` (see the module docstring), and where its columns are.

    Columns: flows in packs x[k, e] (product-major), then bands y[k, i, b] with capacity > 0, then
    shipment binaries z[k, e] (min shipment / max transfers), then trucks t[e] (edges with trucks).
    """
    n, n_e, m = len(inputs.sites), graph.n_edges, len(products)
    caps, rates = band_capacities(inputs)
    caps, rates = caps[:, products, :].transpose(1, 0, 2), rates[:, products, :].transpose(1, 0, 2)  # (m, n, B)
    kept, kept_saved = np.zeros((m, n)), 0.0
    if not mip:
        caps, kept, kept_saved = _settled_bands(inputs, products, caps, rates)
    packs = inputs.pack_size[products].astype(float)
    volume = inputs.volume[products]
    total = inputs.on_hand[:, products].sum(axis=0).astype(float)
    edge_cost = graph.edges["cost_per_volume"].to_numpy(dtype=float)
    blocks_c, blocks_lo, blocks_hi, blocks_int = [], [], [], []
    # x[k, e]: packs of product k over edge e
    blocks_c.append((volume[:, None] * packs[:, None] * edge_cost[None, :]).ravel())
    blocks_lo.append(np.zeros(m * n_e))
    blocks_hi.append(np.repeat(np.floor(total / packs), n_e))
    blocks_int.append(np.full(m * n_e, mip))
    keep = caps > 0
    kk, ii, _ = np.nonzero(keep)
    n_y = len(kk)
    blocks_c.append(-rates[keep])
    blocks_lo.append(np.zeros(n_y))
    blocks_hi.append(caps[keep])
    blocks_int.append(np.zeros(n_y, dtype=bool))
    x_k = np.repeat(np.arange(m), n_e)
    x_e = np.tile(np.arange(n_e), m)
    # conservation (k, i): packs x out - packs x in + bands = on hand
    rows = [np.concatenate([x_k * n + graph.tail[x_e], x_k * n + graph.head[x_e], kk * n + ii])]
    cols = [np.concatenate([np.arange(m * n_e), np.arange(m * n_e), m * n_e + np.arange(n_y)])]
    vals = [np.concatenate([packs[x_k], -packs[x_k], np.ones(n_y)])]
    on_hand = (inputs.on_hand[:, products].T - kept).ravel()
    lower, upper = [on_hand], [on_hand]
    row = m * n
    units = packs[x_k]
    capacity = graph.edges["capacity"].to_numpy(dtype=float)
    for e in np.flatnonzero(np.isfinite(capacity)):  # link capacity, volume per run
        sel = x_e == e
        rows.append(np.full(sel.sum(), row))
        cols.append(np.flatnonzero(sel))
        vals.append(volume[x_k[sel]] * units[sel])
        lower.append([-np.inf])
        upper.append([capacity[e]])
        row += 1
    for side, ends in ((0, graph.tail), (1, graph.head)):  # docks, units per run
        for i in np.flatnonzero(np.isfinite(docks[side])):
            sel = ends[x_e] == i
            rows.append(np.full(sel.sum(), row))
            cols.append(np.flatnonzero(sel))
            vals.append(units[sel])
            lower.append([-np.inf])
            upper.append([docks[side][i]])
            row += 1
    n_cols = m * n_e + n_y
    layout: dict = {}
    if mip and (options.min_shipment or options.max_transfers is not None):
        z0 = n_cols
        blocks_c.append(np.zeros(m * n_e))
        blocks_lo.append(np.zeros(m * n_e))
        blocks_hi.append(np.ones(m * n_e))
        blocks_int.append(np.ones(m * n_e, dtype=bool))
        n_cols += m * n_e
        big = total[x_k]
        least = float(options.min_shipment or 0.0)
        # units x <= total z (no shipment without its binary); units x >= least z
        idx = np.arange(m * n_e)
        rows += [row + idx, row + idx, row + m * n_e + idx, row + m * n_e + idx]
        cols += [idx, z0 + idx, idx, z0 + idx]
        vals += [units, -big, units, np.full(m * n_e, -least)]
        lower += [np.full(m * n_e, -np.inf), np.zeros(m * n_e)]
        upper += [np.zeros(m * n_e), np.full(m * n_e, np.inf)]
        row += 2 * m * n_e
        if options.max_transfers is not None:
            rows.append(np.full(m * n_e, row))
            cols.append(z0 + idx)
            vals.append(np.ones(m * n_e))
            lower.append([-np.inf])
            upper.append([float(options.max_transfers)])
            row += 1
    truck_cap = graph.edges["truck_capacity"].to_numpy(dtype=float)
    truck_cost = graph.edges["truck_cost"].to_numpy(dtype=float)
    truck_edges = np.flatnonzero(np.isfinite(truck_cap) & (truck_cost > 0))
    if mip and len(truck_edges):
        t0 = n_cols
        blocks_c.append(truck_cost[truck_edges])
        blocks_lo.append(np.zeros(len(truck_edges)))
        blocks_hi.append(np.full(len(truck_edges), np.inf))
        blocks_int.append(np.ones(len(truck_edges), dtype=bool))
        n_cols += len(truck_edges)
        for j, e in enumerate(truck_edges):  # volume over the edge <= trucks x truck capacity
            sel = x_e == e
            rows += [np.full(sel.sum(), row), [row]]
            cols += [np.flatnonzero(sel), [t0 + j]]
            vals += [volume[x_k[sel]] * units[sel], [-truck_cap[e]]]
            lower.append([-np.inf])
            upper.append([0.0])
            row += 1
        layout.update(trucks=t0 + np.arange(len(truck_edges)), truck_edges=truck_edges)
    matrix = sp.csr_matrix((np.concatenate([np.asarray(v, dtype=float) for v in vals]),
                            (np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]),
                             np.concatenate([np.asarray(c, dtype=np.int64) for c in cols]))), shape=(row, n_cols))
    # the penalty with nothing kept (active products) or everything kept (the others, which do not move)
    start = (inputs.on_hand + inputs.arriving).astype(float)
    start[:, products] = inputs.arriving[:, products]
    parts = penalty(start, inputs.minimum, inputs.target, inputs.maximum, inputs.shortage[None, :],
                    inputs.below_target[None, :], inputs.excess[None, :])
    offset = float(sum(parts[part].sum() for part in ("below_min", "below_target", "excess")))
    offset -= kept_saved
    model = LinearModel(c=np.concatenate(blocks_c), A=matrix, row_lower=np.concatenate(lower).astype(float),
                        row_upper=np.concatenate(upper).astype(float), col_lower=np.concatenate(blocks_lo),
                        col_upper=np.concatenate(blocks_hi), integer=np.concatenate(blocks_int), offset=offset,
                        name="rebalance")
    return model, layout
