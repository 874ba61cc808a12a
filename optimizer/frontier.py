"""Trade-off curves: cost by component against a design parameter (the number of open sites, ...).

:func:`frontier` solves the network once per value of an *axis* and tabulates
the status and every cost component; :func:`write_frontier` saves the table
and a stacked chart.  Axes are entries of :data:`AXES`: an :class:`Axis` knows
its default values, how to set a network for one value, and how to warm-start
the next solve from the previous plan.  ``sites`` (exactly ``p`` open sites,
``p = 1..N``) is the first; another axis (e.g. a CO2 cap) is one more entry.

The ``sites`` axis warm-starts ``p`` from the plan of ``p - 1``: the same
assignment plus the closed site with the largest estimated saving (its fixed
cost against the cheaper lanes it offers, ignoring capacity), to which every
demand unit it serves more cheaply is moved while its capacity allows.  Any
other model columns (inbound flows, stock) are completed by a linear program
with the sites and assignments fixed; if that fails the solve starts cold.
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
from optimizer.network import Network
from optimizer.reports import prepare_output
from optimizer.results import Result
from optimizer.solvers import get_solver, interrupt
from optimizer.solvers.base import SolveOptions

#: Files written by :func:`write_frontier`.
FRONTIER_FILES = ("frontier.csv", "frontier.png")

SolveFn = Callable[[BuiltModel], Result]
WarmStartFn = Callable[[BuiltModel, Result], "np.ndarray | None"]


@dataclass(frozen=True)
class Axis:
    """One design parameter a frontier can sweep.

    Attributes:
        name: Name used on the command line (``--between cost,NAME``).
        column: Column of the frontier table holding the value.
        label: Axis label of the chart.
        values: Default values for a network, given an optional cap on their number.
        apply: The network set for one value.
        warm_start: Starting solution for a value from the previous value's result
            (``None`` when none can be built).
    """

    name: str
    column: str
    label: str
    values: Callable[[Network, int | None], list[float]]
    apply: Callable[[Network, float], Network]
    warm_start: WarmStartFn


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


def add_best_site(built: BuiltModel, x: np.ndarray) -> np.ndarray | None:
    """``x`` (``[y, a]``) with the closed site of largest estimated saving opened and given demand.

    The saving of a closed site is the sum over demand units of how much cheaper its lane
    is than the unit's current cost (objective coefficients), minus its own coefficient
    (fixed cost); units then move to it, best saving first, while its capacity allows.

    Returns:
        The new vector, or ``None`` when no site can be opened.
    """
    lp, S = built.lp, built.n_sites
    C, K = len(built.lane_site), len(built.unit_region)
    closed = np.flatnonzero((x[:S] < 0.5) & (lp.col_upper[:S] > 0.5))
    if len(closed) == 0:
        return None
    c_lane = lp.c[S:S + C]
    current = np.bincount(built.lane_unit, weights=c_lane * x[S:S + C], minlength=K)
    saving = current[built.lane_unit] - c_lane  # per lane, if the unit moved there
    gain = np.bincount(built.lane_site, weights=np.maximum(saving, 0.0), minlength=S) - lp.c[:S]
    site = closed[np.argmax(gain[closed])]
    out = x.copy()
    out[site] = 1.0
    lanes = np.flatnonzero((built.lane_site == site) & (saving > 0))
    lanes = lanes[np.argsort(-saving[lanes], kind="stable")]
    volume = built.unit_mix[built.lane_unit[lanes]] @ built.network.products["volume"].to_numpy(dtype=float)
    capacity = float(built.network.sites["capacity"].iloc[site])
    moved = lanes[np.cumsum(volume) <= capacity]
    out[S:S + C][np.isin(built.lane_unit, built.lane_unit[moved])] = 0.0
    out[S + moved] = 1.0
    return out


def complete_start(built: BuiltModel, head: np.ndarray) -> np.ndarray | None:
    """A full starting solution whose first ``len(head)`` columns are ``head``.

    Returns ``head`` itself when the model has no other columns; else solves the
    linear program with those columns fixed (HiGHS).  ``None`` when it is infeasible.
    """
    lp = built.lp
    n = len(head)
    if lp.n_cols == n:
        return head
    lower, upper = lp.col_lower.copy(), lp.col_upper.copy()
    lower[:n] = upper[:n] = head
    fixed = replace(lp, col_lower=lower, col_upper=upper, integer=np.zeros(lp.n_cols, dtype=bool), warm_start=None)
    raw = get_solver("highs").solve(fixed, SolveOptions())
    return None if raw.x is None or not raw.status.has_plan else np.asarray(raw.x, dtype=float)


def _sites_warm_start(built: BuiltModel, previous: Result) -> np.ndarray | None:
    """The previous plan plus the best extra sites up to the model's exact site count."""
    S, target = built.n_sites, built.network.settings.exact_sites
    head = plan_vector(built, previous.open_sites, previous.flows)
    if target is None or head[:S].sum() > target:
        return None
    grown: np.ndarray | None = head
    while grown is not None and grown[:S].sum() < target:
        grown = add_best_site(built, grown)
    if grown is None:
        return None
    y_only = np.concatenate([grown[:S], head[S:]])  # same sites, no demand moved
    for start in (grown, y_only):
        full = complete_start(built, start)
        if full is not None:
            return full
    return None


#: Axes by name (``--between cost,NAME``).
AXES: dict[str, Axis] = {
    "sites": Axis(name="sites", column="p", label="number of open sites", values=_site_values,
                  apply=_exact_sites, warm_start=_sites_warm_start),
}


def frontier(network: Network, axis: str = "sites", values: Sequence[float] | None = None, *,
             solve: SolveFn | None = None, max_points: int | None = None, warm_start: bool = True,
             progress: Callable[[dict[str, object]], None] | None = None) -> pd.DataFrame:
    """Solve ``network`` once per value of ``axis`` and tabulate the cost components.

    Args:
        network: The network.
        axis: A key of :data:`AXES`.
        values: Values to solve for (default: the axis's, e.g. ``1..N`` sites).
        solve: Solves a built model (default :func:`optimizer.api.solve` with the network's
            solver settings); the model carries the warm start in ``lp.warm_start``.
            An interrupt request (:mod:`optimizer.solvers.interrupt`) stops the sweep after the
            point being solved (which keeps its best plan).
        max_points: Cap on the number of default values (for ``sites``: the largest ``p``).
        warm_start: Start each solve from the previous value's plan.
        progress: Called with each finished row.

    Returns:
        One row per value solved: the axis column, ``status``, ``termination`` (why its solve
        stopped), each cost component (currency per period, NaN without a plan), ``total``,
        ``open_sites`` (ids joined by spaces),
        ``gap``, ``solve_seconds`` and ``warm_started``; ``attrs["axis"]`` is the axis name.

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
    for value in (spec.values(network, max_points) if values is None else list(values)):
        if interrupt.requested():  # Ctrl-C / SIGTERM: keep the points solved so far
            break
        built = api.build(spec.apply(network, value))
        start = spec.warm_start(built, previous) if warm_start and previous is not None else None
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
    table = pd.DataFrame(rows, columns=columns)
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
