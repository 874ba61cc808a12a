"""Trade-off curves: cost by component against a design parameter (the number of open sites, ...).

:func:`frontier` solves the network once per value of an *axis* and tabulates
the status and every cost component; :func:`write_frontier` saves the table
and a stacked chart.  Axes are entries of :data:`AXES`: an :class:`Axis` knows
its default values, how to set a network for one value, and how to warm-start
the next solve from the previous plan.  ``sites`` (exactly ``p`` open sites,
``p = 1..N``) is the first; another axis (e.g. a CO2 cap) is one more entry.

The ``sites`` axis is solved from the most sites down, each ``p`` warm-started from the plan of
the next larger ``p`` less the open site whose closure costs least (estimated from its demand
units' cheapest lanes at the other open sites): a linear program with everything else fixed
places those units (capacities, links and supply respected), each takes its largest share, and
a second one completes the other columns (inbound flows, stock).  The first (largest) ``p``
starts from every usable site open, placed the same way and thinned.  When no site can be
closed that way, or the plan to start from has more than :data:`MAX_DROPS` sites too many
(``--max-sites``, or below points without a plan), the solve starts cold; otherwise every
point has a plan to start from, however short its time limit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from optimizer import api
from optimizer.errors import InputError, Problem
from optimizer.io.files import replace_file
from optimizer.links import ROAD
from optimizer.model.build import BuiltModel
from optimizer.model.linear import LinearModel
from optimizer.network import Network
from optimizer.reports import prepare_output
from optimizer.results import Result
from optimizer.solvers import get_solver, interrupt
from optimizer.solvers.base import SolveOptions

#: Files written by :func:`write_frontier`.
FRONTIER_FILES = ("frontier.csv", "frontier.png")

SolveFn = Callable[[BuiltModel], Result]
WarmStartFn = Callable[[BuiltModel, "Result | None"], "np.ndarray | None"]


@dataclass(frozen=True)
class Axis:
    """One design parameter a frontier can sweep.

    Attributes:
        name: Name used on the command line (``--between cost,NAME``).
        column: Column of the frontier table holding the value.
        label: Axis label of the chart.
        values: Default values for a network, given an optional cap on their number.
        apply: The network set for one value.
        warm_start: Starting solution for a value from the result of the value solved before it
            (``None`` for the first), or ``None`` when none can be built.
        descending: Solve the values from the largest down (rows are listed in ascending order either way).
    """

    name: str
    column: str
    label: str
    values: Callable[[Network, int | None], list[float]]
    apply: Callable[[Network, float], Network]
    warm_start: WarmStartFn
    descending: bool = False


def _site_values(network: Network, limit: int | None) -> list[float]:
    """``1..N``: N usable (not forced-closed) sites, capped by ``limit``."""
    usable = int((network.sites["status"] != "forced_closed").sum())
    return [float(p) for p in range(1, (usable if limit is None else min(usable, limit)) + 1)]


def _exact_sites(network: Network, value: float) -> Network:
    """Exactly ``value`` open sites (the network's own min / max site counts are replaced)."""
    return network.with_settings(exact_sites=int(value), min_sites=None, max_sites=None)


def plan_vector(built: BuiltModel, open_sites: Sequence[str], flows: pd.DataFrame) -> np.ndarray:
    """Site and assignment columns (``[y, a]``, length ``n_sites + n_lanes``) of a plan.

    Args:
        built: The model the vector is for.
        open_sites: Ids of the open sites.
        flows: The plan's site -> region flows (units per period); with a ``mode`` column
            (as decoded plans have) a flow counts only on the lane of its mode.

    Returns:
        ``y`` 0/1 per site, then the fraction of each assignment unit served on each lane.

    Memory is linear in the lanes and flows (no sites x regions x products array).
    """
    net = built.network
    S, C = built.n_sites, len(built.lane_site)
    x = np.zeros(S + C)
    x[:S] = net.sites.index.isin(list(open_sites))
    s = net.sites.index.get_indexer(flows["from"].astype(str))
    r = net.regions.index.get_indexer(flows["to"].astype(str))
    p = net.products.index.get_indexer(flows["product"].astype(str))
    keep = (s >= 0) & (r >= 0) & (p >= 0)
    P = len(net.products)
    unit_k, unit_p = np.nonzero(built.unit_mix > 0)  # each (region, product) with demand is in one unit
    flow_unit = _lookup(built.unit_region[unit_k] * P + unit_p, unit_k, r[keep].astype(np.int64) * P + p[keep])
    lane_key = built.lane_site.astype(np.int64) * len(built.unit_region) + built.lane_unit
    flow_key = s[keep].astype(np.int64) * len(built.unit_region) + flow_unit
    if "mode" in flows:  # a site -> region pair may have a road lane and link lanes of other modes
        modes = np.append(net.link_table["mode"].to_numpy(dtype=object), ROAD).astype(str)
        codes, uniques = pd.factorize(np.concatenate([modes[built.lane_link], flows["mode"].astype(str)[keep]]))
        lane_key = lane_key * len(uniques) + codes[:C]
        flow_key = flow_key * len(uniques) + codes[C:]
    lane_of_flow = _lookup(lane_key, np.arange(C), np.where(flow_unit >= 0, flow_key, -1))
    found = lane_of_flow >= 0  # a flow without a lane (or demand) is ignored
    unit_total = built.unit_mix.sum(axis=1)  # units per period of each assignment unit, shape (K,)
    served = flows["quantity"].to_numpy(dtype=float)[keep][found]
    lane_of_flow = lane_of_flow[found]
    x[S:] = np.bincount(lane_of_flow, weights=served, minlength=C) / unit_total[built.lane_unit]
    x = np.clip(x, 0.0, 1.0)
    integer = built.lp.integer[:S + C]
    x[integer] = np.round(x[integer])
    return x


def _lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``values`` at the position of each query in ``keys`` (unique), -1 where a query is not a key."""
    if not len(keys):
        return np.full(len(queries), -1)
    order = np.argsort(keys, kind="stable")
    pos = np.minimum(np.searchsorted(keys[order], queries), len(keys) - 1)
    return np.where(keys[order][pos] == queries, values[order][pos], -1)


#: Sites tried, least estimated loss first, when one is dropped from a plan (:func:`drop_site`).
DROP_CANDIDATES = 20

#: Most sites a frontier start drops from the plan it comes from: each drop costs linear programs, and a
#: chain from every usable site down to a small ``p`` (``--max-sites``, or below points without a plan)
#: would cost more than the solve it starts.
MAX_DROPS = 3


def place_units(built: BuiltModel, is_open: np.ndarray, shares: np.ndarray, units: np.ndarray) -> np.ndarray | None:
    """A full solution with the sites ``is_open``, every other unit kept on its ``shares`` and each of ``units``
    whole on one lane: the linear program with the rest fixed places them (capacities, inbound links and
    supply respected), each then takes its largest share (cheapest lane on ties; with multi-sourcing the
    shares stay as they are), and :func:`complete_start` fills the other columns.  ``None`` when either
    program is infeasible.

    Args:
        built: The model.
        is_open: Open sites, shape (S,).
        shares: Share of each lane in the current plan, shape (C,) (unchanged).
        units: Assignment units to place.
    """
    lp, S = built.lp, built.n_sites
    C = len(built.lane_site)
    free = np.isin(built.lane_unit, units)
    x = _solve_fixed(lp, np.r_[np.arange(S), S + np.flatnonzero(~free)], np.r_[is_open, shares[~free]])
    if x is None:
        return None
    placed = np.where(free, 0.0, shares)
    lanes = np.flatnonzero(free)
    if not lp.integer[S + lanes].any():  # multi-sourcing: the shares as they are
        placed[lanes] = np.clip(x[S + lanes], 0.0, 1.0)
        return complete_start(built, np.concatenate([is_open.astype(float), placed]))
    c_lane = lp.c[S:S + C]
    order = lanes[np.lexsort((c_lane[lanes], -np.round(x[S + lanes], 9), built.lane_unit[lanes]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = built.lane_unit[order][1:] != built.lane_unit[order][:-1]
    placed[order[first]] = 1.0
    return complete_start(built, np.concatenate([is_open.astype(float), placed]))


def _transfers(built: BuiltModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(from, to) site indices of the site-to-site links that carry goods in solution ``x`` (arc flows;
    none for other routing forms or a vector without flows)."""
    routing = built.routing
    if routing.form != "arc_flow" or len(x) < routing.first_col + routing.n_flows:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    links = built.network.link_table
    moving = routing.flow_link[x[routing.first_col:routing.first_col + routing.n_flows] > 0]
    index = built.network.sites.index
    frm = index.get_indexer(links["from"].to_numpy(dtype=object)[moving])
    to = index.get_indexer(links["to"].to_numpy(dtype=object)[moving])
    between = (frm >= 0) & (to >= 0)
    return frm[between], to[between]


def _supplied_through(transfers: tuple[np.ndarray, np.ndarray], n_sites: int, site: int) -> np.ndarray:
    """Sites whose goods pass through ``site`` over ``transfers`` (see :func:`_transfers`), transitively,
    ``site`` included, shape (n_sites,) bool."""
    frm, to = transfers
    reached = np.zeros(n_sites, dtype=bool)
    reached[site] = True
    while True:
        grown = reached.copy()
        grown[to[reached[frm]]] = True
        if grown.sum() == reached.sum():
            return reached
        reached = grown


def drop_site(built: BuiltModel, x: np.ndarray) -> np.ndarray | None:
    """A full solution: plan ``x`` (``[y, a]`` at least; with its flows, see :func:`_transfers`) with the open
    site of least estimated loss closed.

    The loss of closing a site is what its demand units pay more on their cheapest lane at another
    open site (objective coefficients, capacity ignored) less its own coefficient (fixed cost); sites
    are tried least loss first (at most :data:`DROP_CANDIDATES`), and the first whose units
    :func:`place_units` can place elsewhere is closed; the units of the sites it supplies in ``x``
    (arc flows through it) are placed again with them.  Forced-open sites are never closed.

    Returns:
        The new solution, or ``None`` when no site can be closed.
    """
    lp, S = built.lp, built.n_sites
    C, K = len(built.lane_site), len(built.unit_region)
    if C == 0:
        return None
    is_open = x[:S] > 0.5
    shares = np.asarray(x[S:S + C], dtype=float)
    c_lane = lp.c[S:S + C]
    cost = np.where(is_open[built.lane_site], c_lane, np.inf)
    order = np.lexsort((cost, built.lane_unit))
    starts = np.searchsorted(built.lane_unit[order], np.arange(K + 1))
    count = np.diff(starts)
    best = order[np.minimum(starts[:-1], C - 1)]
    second = order[np.minimum(starts[:-1] + 1, C - 1)]
    best_cost = np.where(count > 0, cost[best], np.inf)
    second_cost = np.where((count > 1) & (built.lane_unit[second] == np.arange(K)), cost[second], np.inf)
    used = np.flatnonzero(shares > 0)
    unit = built.lane_unit[used]
    elsewhere = np.where(built.lane_site[best[unit]] != built.lane_site[used], best_cost[unit], second_cost[unit])
    extra = np.bincount(built.lane_site[used], weights=shares[used] * (elsewhere - c_lane[used]), minlength=S)
    loss = np.where(is_open & (lp.col_lower[:S] < 0.5) & np.isfinite(extra), extra - lp.c[:S], np.inf)
    transfers = _transfers(built, x)
    for site in np.argsort(loss, kind="stable")[:DROP_CANDIDATES]:
        if not np.isfinite(loss[site]):
            break
        still_open = is_open.copy()
        still_open[site] = False
        moved = _supplied_through(transfers, S, site)[built.lane_site[used]]
        full = place_units(built, still_open, shares, np.unique(unit[moved]))
        if full is not None:
            return full
    return None


def complete_start(built: BuiltModel, head: np.ndarray) -> np.ndarray | None:
    """A full starting solution whose first ``len(head)`` columns are ``head``.

    Returns ``head`` itself when the model has no other columns; else solves the
    linear program with those columns fixed (HiGHS).  ``None`` when it is infeasible.
    """
    lp = built.lp
    n = len(head)
    if lp.n_cols == n:
        return head
    return _solve_fixed(lp, np.arange(n), head)


def _solve_fixed(lp: LinearModel, cols: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """The linear relaxation of ``lp`` with columns ``cols`` fixed at ``values`` (HiGHS): its solution,
    ``None`` when it is infeasible."""
    lower, upper = lp.col_lower.copy(), lp.col_upper.copy()
    lower[cols] = upper[cols] = values
    fixed = replace(lp, col_lower=lower, col_upper=upper, integer=np.zeros(lp.n_cols, dtype=bool), warm_start=None)
    raw = get_solver("highs").solve(fixed, SolveOptions())
    return None if raw.x is None or not raw.status.has_plan else np.asarray(raw.x, dtype=float)


def _sites_warm_start(built: BuiltModel, previous: Result | None) -> np.ndarray | None:
    """The previous (larger) plan less its least useful sites down to the model's exact site count; without
    one, every usable site open with each demand unit placed by :func:`place_units`, thinned the same way
    (``None`` when that takes more than :data:`MAX_DROPS` sites).
    The intermediate plans have more sites than the model allows, so they are built on a copy whose rows
    over site columns only (the site counts) are lifted; the last one is completed in ``built`` itself, and
    replaced by the same sites with every unit placed again when that is cheaper."""
    lp, S, target = built.lp, built.n_sites, built.network.settings.exact_sites
    everywhere = lp.col_upper[:S] > 0.5
    count = int(everywhere.sum()) if previous is None else len(previous.open_sites)
    if target is None or not 0 <= count - target <= MAX_DROPS:
        return None
    design_only = np.diff(lp.A[:, S:].tocsr().indptr) == 0
    lifted = replace(built, lp=replace(lp, row_lower=np.where(design_only, -np.inf, lp.row_lower),
                                       row_upper=np.where(design_only, np.inf, lp.row_upper)))
    if previous is None:
        x = place_units(lifted, everywhere, np.zeros(len(built.lane_site)), np.arange(len(built.unit_region)))
    else:
        x = complete_start(lifted, plan_vector(built, previous.open_sites, previous.flows))
    while x is not None and x[:S].sum() > target + 0.5:
        x = drop_site(lifted, x)
    if x is None or abs(x[:S].sum() - target) > 0.5:
        return None
    start = complete_start(built, x[:S + len(built.lane_site)])
    # Every unit placed again for these sites: the rounded relaxation is usually cheaper than the moves.
    again = place_units(built, x[:S] > 0.5, x[S:S + len(built.lane_site)], np.arange(len(built.unit_region)))
    if again is not None and (start is None or lp.c @ again < lp.c @ start):
        return again
    return start


#: Axes by name (``--between cost,NAME``).
AXES: dict[str, Axis] = {
    "sites": Axis(name="sites", column="p", label="number of open sites", values=_site_values,
                  apply=_exact_sites, warm_start=_sites_warm_start, descending=True),
}


def frontier(network: Network, axis: str = "sites", values: Sequence[float] | None = None, *,
             solve: SolveFn | None = None, max_points: int | None = None, warm_start: bool = True,
             progress: Callable[[dict[str, object]], None] | None = None) -> pd.DataFrame:
    """Solve ``network`` once per value of ``axis`` and tabulate the cost components.

    Args:
        network: The network.
        axis: A key of :data:`AXES`.
        values: Values to solve for (default: the axis's, e.g. ``1..N`` sites), in the axis's solve order
            (``sites``: from the largest down).
        solve: Solves a built model (default :func:`optimizer.api.solve` with the network's
            solver settings); the model carries the warm start in ``lp.warm_start``.
            An interrupt request (:mod:`optimizer.solvers.interrupt`) stops the sweep after the
            point being solved (which keeps its best plan).
        max_points: Cap on the number of default values (for ``sites``: the largest ``p``).
        warm_start: Start each solve from a plan built by the axis (``sites``: the next larger ``p``'s plan
            less its least useful sites).
        progress: Called with each finished row.

    Returns:
        One row per value solved, in ascending order of the axis: the axis column, ``status``,
        ``termination`` (why its solve stopped), each cost component (currency per period, NaN
        without a plan), ``total``, ``open_sites`` (ids joined by spaces), ``gap``,
        ``solve_seconds`` and ``warm_started``; ``attrs["axis"]`` is the axis name.

    Raises:
        InputError: Unknown axis.
    """
    if axis not in AXES:
        raise InputError(Problem("--between", f"unknown frontier axis '{axis}'; expected one of {', '.join(AXES)}"))
    spec = AXES[axis]
    solve = solve or api.solve
    rows: list[dict[str, object]] = []
    components: list[str] = []
    previous: Result | None = None
    todo = spec.values(network, max_points) if values is None else list(values)
    for value in (sorted(todo, reverse=True) if spec.descending else todo):
        if interrupt.requested():  # Ctrl-C / SIGTERM: keep the points solved so far
            break
        built = api.build(spec.apply(network, value))
        start = spec.warm_start(built, previous) if warm_start else None
        if start is not None:  # a new model with the warm start; ``built`` itself is never changed
            built = replace(built, lp=replace(built.lp, warm_start=start))
        result = solve(built)
        components += [name for name in result.costs if name not in components]
        row: dict[str, object] = {
            spec.column: int(value) if float(value).is_integer() else float(value),
            "status": result.status.value,
            "termination": None if result.termination is None else result.termination.value,
            **{name: float(v) for name, v in result.costs.items()},
            "total": float(result.objective) if result.objective is not None else float("nan"),
            "open_sites": " ".join(result.open_sites),
            "gap": float(result.gap) if result.gap is not None else float("nan"),
            "solve_seconds": float(result.solve_seconds),
            "warm_started": start is not None,
            "reason": "" if result.has_plan else ("; ".join(result.messages) or result.status.value),
        }
        rows.append(row)
        if progress is not None:
            progress(row)
        if result.has_plan:
            previous = result
    columns = [spec.column, "status", "termination", *components, "total", "open_sites", "gap", "solve_seconds",
               "warm_started", "reason"]
    table = pd.DataFrame(rows, columns=columns).sort_values(spec.column, kind="stable", ignore_index=True)
    table.attrs["axis"] = axis
    return table


def cost_columns(table: pd.DataFrame) -> list[str]:
    """The cost-component columns of a frontier table (between ``status`` / ``termination`` and ``total``)."""
    cols = list(table.columns)
    first = cols.index("termination") if "termination" in cols else cols.index("status") if "status" in cols else -1
    return cols[first + 1:cols.index("total")] if first >= 0 and "total" in cols else []


def write_frontier(table: pd.DataFrame, out_dir: str | Path, protected: Sequence[Path] = ()) -> list[Path]:
    """Write ``frontier.csv`` and a stacked chart ``frontier.png`` of cost by component.

    Args:
        table: A table from :func:`frontier`.
        out_dir: Folder to write into (created if missing).
        protected: Input files that must never be overwritten.

    Returns:
        The paths written.

    Raises:
        InputError: Writing would overwrite an input file or a file optimizer did not write.
    """
    targets = prepare_output(out_dir, FRONTIER_FILES, list(protected))
    with replace_file(targets[0]) as tmp:
        table.to_csv(tmp, index=False)
    _chart(table, targets[1])
    return targets


def _chart(table: pd.DataFrame, path: Path) -> None:
    """Stacked bars of the cost components (currency per period) against the axis values, with the total."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axis = AXES.get(str(table.attrs.get("axis", "")))
    column = axis.column if axis is not None else str(table.columns[0])
    solved = table[table["total"].notna()] if "total" in table else table.iloc[0:0]
    components = [c for c in cost_columns(table) if len(solved) and (solved[c].abs() > 0).any()]
    fig, ax = plt.subplots(figsize=(9, 5))
    x = solved[column].to_numpy(dtype=float)
    bottom = np.zeros(len(solved))
    for name in components:
        heights = solved[name].to_numpy(dtype=float)
        ax.bar(x, heights, bottom=bottom, label=name, width=0.8)
        bottom += heights
    if len(solved):
        ax.plot(x, solved["total"].to_numpy(dtype=float), color="black", marker="o", label="total")
        limited = solved["status"].to_numpy() != "optimal"
        if limited.any():  # stopped by a time limit or a gap: the total is an upper bound on that point's optimum
            ax.scatter(x[limited], solved["total"].to_numpy(dtype=float)[limited], s=120, facecolors="none",
                       edgecolors="#d62728", linewidths=1.8, zorder=5, label="not proven optimal (time limit or gap)")
    missing = table[table["total"].isna()] if "total" in table else table.iloc[0:0]
    for value, status in zip(missing[column], missing["status"]):
        ax.axvline(float(value), color="#d62728", linestyle=":", linewidth=1.2)
        ax.annotate(str(status), (float(value), 0), xytext=(2, 4), textcoords="offset points", rotation=90,
                    fontsize=8, color="#d62728", va="bottom")
    ax.set_xlabel(axis.label if axis is not None else column)
    ax.set_ylabel("cost, currency per period")
    ax.set_title("Cost by component" + (f" against the {axis.label}" if axis is not None else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    with replace_file(path) as tmp:  # never through a symbolic link at path
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
