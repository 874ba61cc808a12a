"""What-if sensitivities of a plan: the cost of closing each open site and of opening each unused one.

Each figure is a **re-solve** with that one site forced (``close=ID``: an open site forced closed;
``open=ID``: a site the plan leaves unused forced open), everything else free, with the same
solver options as the base.  The re-solves are scenarios like any other: they run in parallel
through the sweep runner (:func:`optimizer.runs.runner.run_sweep`) and are cached in the run
store, so asking again costs nothing (runs stopped by their time limit included: the limit is part
of each run's key).  A wall-clock ``budget`` for all re-solves sets each one's time limit.

``delta`` = re-solve cost - base cost, in currency per period.  Both solves stop within their
gaps, so a ``delta`` smaller than ``gap x cost`` of the re-solve plus ``base_gap x base cost``
is *within solver tolerance*: it may not be real.  The ``takers`` of a closure are the sites
that serve its regions in the re-solve; those of an opening, the sites whose regions it takes.
The **break-even rent** of a site forced open is its ``fixed_cost - delta``: at a lower rent,
opening it would pay.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer import outputs
from optimizer.network import Network
from optimizer.results import Result
from optimizer.runs.overrides import merge_overrides
from optimizer.runs.runner import RunReport, run_sweep
from optimizer.runs.scenario import Scenario
from optimizer.runs.store import RunStore

#: Sites shown as takers of one what-if (the rest are counted).
MAX_TAKERS = 5
#: Shortest time limit a re-solve is given by a budget, seconds.
MIN_RUN_SECONDS = 5.0


def forced_scenarios(base: Scenario, network: Network, result: Result, sweep: str,
                     solver: dict[str, Any] | None = None) -> list[tuple[str, str, Scenario]]:
    """One scenario per open site (forced closed) and per unused site (forced open).

    Sites whose status already forces them (``forced_open``, ``forced_closed``) are left out:
    their decision is not the model's.

    Args:
        base: The scenario that was solved (overrides on a base dataset).
        network: Its network.
        result: The base plan.
        sweep: Sweep name under which the re-solves are stored.
        solver: Solver options for every re-solve (``mip_gap``, ``time_limit``), part of each
            run's input hash.

    Returns:
        ``(site, action, scenario)`` with ``action`` ``close`` or ``open``, open sites first.
    """
    status = network.sites["status"].astype(str)
    open_sites = set(result.open_sites)
    extra = {"solver": dict(solver)} if solver else {}
    out = []
    for action, pick in (("close", lambda s: s in open_sites), ("open", lambda s: s not in open_sites)):
        key = "close" if action == "close" else "open"
        for site in network.sites.index.astype(str):
            if status[site] in ("forced_open", "forced_closed") or not pick(site):
                continue
            overrides = merge_overrides(base.overrides, {"sites": {key: [site]}}, extra)
            out.append((site, action, Scenario(name=f"{action}={site}", base=base.base, overrides=overrides,
                                               source=f"{base.source}: explain {action} {site}", sweep=sweep,
                                               position=len(out))))
    return out


def _served(flows: pd.DataFrame | list) -> pd.DataFrame:
    """Units per (site, region) of a flow table or a stored run's flow list."""
    frame = pd.DataFrame(flows)
    if frame.empty:
        return pd.DataFrame(columns=["from", "to", "quantity"])
    return frame.groupby(["from", "to"], as_index=False)["quantity"].sum()


def _takers(site: str, action: str, base: pd.DataFrame, forced: pd.DataFrame) -> str:
    """The sites that take over a closed site's regions, or whose regions an opened site takes."""
    if action == "close":
        regions = set(base.loc[base["from"] == site, "to"])
        moved = forced[forced["to"].isin(regions)]
    else:
        regions = set(forced.loc[forced["from"] == site, "to"])
        moved = base[base["to"].isin(regions)]
    volume = moved[moved["from"] != site].groupby("from")["quantity"].sum().sort_values(ascending=False)
    names = list(volume.index.astype(str))
    return " ".join(names[:MAX_TAKERS]) + (f" (+{len(names) - MAX_TAKERS} more)" if len(names) > MAX_TAKERS else "")


def sensitivity_table(network: Network, result: Result, runs: list[tuple[str, str, RunReport]]) -> pd.DataFrame:
    """The sensitivity rows (:data:`optimizer.outputs.SENSITIVITY`) from the base plan and the re-solves.

    Args:
        network: The base network.
        result: The base plan.
        runs: ``(site, action, report)`` of each re-solve.

    Returns:
        One row per re-solve, in the order given.
    """
    base_cost = float(result.objective or 0.0)
    base_gap = float(result.gap or 0.0)
    base_flows = _served(result.flows)
    rows = []
    for site, action, report in runs:
        rec = report.record
        row: dict[str, Any] = {"site": site, "name": str(network.sites.at[site, "name"]), "action": action,
                               "run": rec.scenario, "status": rec.status, "objective": np.nan, "delta": np.nan,
                               "gap": np.nan, "base_gap": base_gap, "tolerance": np.nan, "within_tolerance": False,
                               "takers": "", "break_even_fixed_cost": np.nan, "note": ""}
        if rec.objective is None or rec.status not in ("optimal", "feasible"):
            row["note"] = (f"no plan with {site} forced {'closed' if action == 'close' else 'open'}: {rec.status}"
                           + (f" ({rec.error})" if rec.error else ""))
            rows.append(row)
            continue
        gap = float(rec.gap or 0.0)
        delta = float(rec.objective) - base_cost
        tolerance = gap * abs(float(rec.objective)) + base_gap * abs(base_cost)
        row.update(objective=float(rec.objective), delta=delta, gap=gap, tolerance=tolerance,
                   within_tolerance=bool(abs(delta) <= tolerance),
                   takers=_takers(site, action, base_flows, _served(rec.flows)))
        if action == "open":
            row["break_even_fixed_cost"] = float(network.sites.at[site, "fixed_cost"]) - delta
        if action == "open" and not row["takers"] and row["break_even_fixed_cost"] > tolerance:
            # no region of its own, yet the plan is cheaper with it below that rent: it carries goods on (a hub)
            row["note"] = "serves no region when forced open: it pays by carrying goods on to other sites"
        elif action == "open" and not row["takers"]:
            row["note"] = "serves no region when forced open: it would not be used at any rent"
        elif row["within_tolerance"]:
            row["note"] = "within solver tolerance: the difference may not be real"
        elif delta < 0:
            row["note"] = "the re-solve found a cheaper plan than the base (the base is not proven optimal)"
        rows.append(row)
    return pd.DataFrame(rows, columns=list(outputs.SENSITIVITY.names))


def per_run_seconds(budget: float, workers: int, runs: int) -> float:
    """The time limit of each re-solve that keeps ``runs`` re-solves on ``workers`` within ``budget`` seconds."""
    return max(MIN_RUN_SECONDS, budget * workers / max(runs, 1))


def explain(base: Scenario, network: Network, result: Result, store: RunStore, *, workers: int = 2,
            solver: dict[str, Any] | None = None, budget: float | None = None, force: bool = False,
            progress: bool = True, on_result: Callable[[RunReport], None] | None = None) -> pd.DataFrame:
    """Re-solve with each site forced and tabulate the sensitivities.

    Args:
        base: The scenario solved (a dataset folder is a scenario without overrides).
        network: Its network.
        result: Its plan.
        store: Where the re-solves are looked up and stored.
        workers: Worker processes.
        solver: Solver options of every re-solve (e.g. ``{"mip_gap": 0.001}``).
        budget: Wall seconds for all the re-solves together: unless ``solver`` sets a ``time_limit``,
            each re-solve gets :func:`per_run_seconds`; one stopped by it keeps its best plan,
            labelled ``feasible`` with its gap (and the difference is flagged when within the gaps).
        force: Solve again even when the store has a run.
        progress: Show a progress bar on stderr (a terminal only).
        on_result: Called with each re-solve's report as it is stored.

    Returns:
        :func:`sensitivity_table` of the re-solves (empty when no site can be forced).
    """
    solver = dict(solver or {})
    n_cases = len(forced_scenarios(base, network, result, "", None))
    if budget is not None and "time_limit" not in solver and n_cases:
        solver["time_limit"] = round(per_run_seconds(budget, workers, n_cases), 1)
    cases = forced_scenarios(base, network, result, f"explain:{network.name}", solver)
    reports = run_sweep([scenario for _, _, scenario in cases], store, workers=workers, force=force,
                        reuse_limited=True, progress=progress, on_result=on_result) if cases else []
    return sensitivity_table(network, result, [(site, action, report)
                                               for (site, action, _), report in zip(cases, reports)])


def default_store(path: str | Path) -> Path:
    """Where ``optimizer explain PATH`` keeps its re-solves: ``PATH.runs.db`` beside the dataset or scenario."""
    path = Path(path)
    return path.parent / f"{path.name if path.is_dir() else path.stem}.runs.db"


def base_scenario(path: str | Path) -> Scenario:
    """The scenario of ``optimizer explain PATH``: a scenario file as it is, a dataset folder without overrides."""
    from optimizer.runs.scenario import load_scenario

    path = Path(path)
    if path.is_dir():
        return Scenario(name="base", base=path.resolve(), overrides={}, source=str(path))
    return load_scenario(path)
