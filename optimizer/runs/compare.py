"""Compare stored runs side by side: costs, open sites and KPIs, with differences to a base run.

:func:`compare_runs` turns the table of :meth:`optimizer.runs.store.RunStore.runs` (one row per run,
the :class:`~optimizer.runs.store.RunRecord` fields as columns) into a :class:`Comparison`;
:func:`text_report` and :func:`json_document` render it, and :func:`write_comparison` writes
``compare.csv``, ``compare.json``, two charts (``cost_breakdown.png``: stacked cost components
per run; ``open_sites.png``: which site is open in which run) and ``compare.html``, one
self-contained page holding the table and both charts.

Differences are to the base run: ``<value>_diff`` = value - base value (same unit), and
``<value>_diff_pct`` = 100 x difference / |base value| (percent; empty when the base value is 0
or missing).  Costs are in the dataset's ``currency`` per period (``annual``: per year, x
365 / period_days), named in every header.

Honesty: a run that stopped at a gap is only known to lie within ``gap x objective`` of its
optimum, so an objective difference smaller than ``gap_a x obj_a + gap_b x obj_b`` (the
``tolerance`` column) is flagged ``within solver tolerance``; and when either plan is not proven
optimal, the split of the difference into components is labelled ``plans not proven`` (two plans of
nearly the same cost may differ a lot by component).  Runs keep the order of their sweep.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, OptimizerError, Problem
from optimizer.io.files import replace_file, write_bytes, write_text
from optimizer.report.assets import png_bytes
from optimizer.reports import prepare_output

if TYPE_CHECKING:
    from optimizer.runs.store import RunStore

#: Files written by :func:`write_comparison`.
COMPARE_FILES = ("compare.csv", "compare.json", "cost_breakdown.png", "open_sites.png", "compare.html")
#: Statuses of runs that carry a plan.
PLAN_STATUSES = ("optimal", "feasible")
#: Cost components in display order (others follow in order of first appearance).
COST_ORDER = ("shipping", "fixed", "handling", "holding", "closing", "inbound", "transfer")
#: Heat map codes of :attr:`Comparison.open_matrix`.
CLOSED, OPEN, OPENED, CLOSED_VS_BASE = 0, 1, 2, 3


@dataclass(frozen=True)
class Units:
    """The money unit of a comparison.

    Attributes:
        currency: network.yaml's ``currency`` (``currency`` when unnamed).
        period: The period's name (``week``).
        per_year: Periods per year (365 / period_days).
        annual: Whether costs are shown per year.
        run_per_year: Periods per year of each compared run, in the order of the runs given to
            :func:`units_of` (runs solved with different period lengths are compared per year).
    """

    currency: str = "currency"
    period: str = "period"
    per_year: float = float("nan")
    annual: bool = False
    run_per_year: tuple[float, ...] = ()

    @property
    def money(self) -> str:
        """``USD per week`` (``USD per year`` when annual)."""
        return f"{self.currency} per {'year' if self.annual else self.period}"


def units_of(runs: pd.DataFrame, annual: bool = False) -> Units:
    """The money unit of stored runs: each run's currency and period length as stored with it (runs stored
    before these were recorded: read from its dataset, network.yaml and overrides, as the files are now).

    Args:
        runs: Stored runs (with their ``definition``).
        annual: Show costs per year.

    Returns:
        The units; ``currency per period`` when no run's basis can be found.

    Raises:
        InputError: ``annual`` is asked for and a run's period length cannot be found; the runs were
            solved with different period lengths and ``annual`` is not asked for; or in different currencies.
    """
    from optimizer.report.tables import period_days_name
    from optimizer.stock import DAYS_PER_YEAR

    definitions = list(runs["definition"]) if "definition" in runs else [None] * len(runs)
    bases = [_run_basis(d) for d in definitions]
    if not bases or any(b is None for b in bases):
        if annual:
            missing = next((d for d, b in zip(definitions, bases) if b is None), None)
            where = missing.get("base") if isinstance(missing, dict) else None
            raise InputError(Problem("--annual", f"cannot read the runs' dataset ({where}) for its period_days; "
                                                 "compare without --annual", field="--annual"))
        known = [b for b in bases if b is not None]
        bases = known[:1] * len(bases) if known and all(b == known[0] for b in known) else []
        if not bases:
            return Units()
    currencies = sorted({b[0] for b in bases})
    if len(currencies) > 1:
        raise InputError(Problem("--runs", f"the runs are in different currencies ({', '.join(currencies)}); "
                                           "compare runs of one currency", field="--runs"))
    days = sorted({b[1] for b in bases})
    if len(days) > 1 and not annual:
        raise InputError(Problem("--annual", "the runs were solved with different period lengths "
                                             f"({', '.join(f'{d:g}' for d in days)} days): compare them per year "
                                             "with --annual", field="--annual"))
    return Units(currencies[0], period_days_name(days[0]), DAYS_PER_YEAR / days[0], annual,
                 tuple(DAYS_PER_YEAR / b[1] for b in bases))


def _run_basis(definition: Any) -> tuple[str, float] | None:
    """A stored run's (currency, period_days): as recorded with the run, else from its dataset as it is now."""
    from optimizer.report.tables import currency
    from optimizer.runs.scenario import Scenario, build_network

    if not isinstance(definition, dict):
        return None
    units = definition.get("units")
    if isinstance(units, dict) and isinstance(units.get("period_days"), (int, float)):
        return str(units.get("currency") or "currency"), float(units["period_days"])
    try:
        network = build_network(Scenario(name=str(definition["name"]), base=Path(definition["base"]),
                                         overrides=definition.get("overrides") or {}, source="run store"))
    except (OptimizerError, KeyError, TypeError, OSError):
        return None
    return currency(network), float(network.settings.period_days)


@dataclass
class Comparison:
    """Runs side by side.

    Attributes:
        base: Label of the base run.
        table: One row per run (label ``run``): status, objective, cost components, open-site
            counts, sites opened / closed against the base, KPIs, each with ``_diff`` and
            ``_diff_pct`` columns; ``tolerance`` (gap x objective of the run and of the base),
            ``within_tolerance`` and ``objective_note`` (``within solver tolerance``), and
            ``components_note`` (``plans not proven`` when either plan is not proven optimal).
        costs: Cost components per run (rows: run labels), currency per period; a component a run
            does not report is 0, and every component is NaN for runs without a plan.
        open_matrix: Run x site codes: :data:`CLOSED`, :data:`OPEN` (as in the base),
            :data:`OPENED` (open here, closed in the base), :data:`CLOSED_VS_BASE` (closed here,
            open in the base); NaN rows for runs without a plan.
        components: Cost component names, in column order.
        kpis: KPI names, in column order.
        units: The money unit of every cost.
    """

    base: str
    table: pd.DataFrame
    costs: pd.DataFrame
    open_matrix: pd.DataFrame
    components: list[str]
    kpis: list[str]
    units: Units = Units()


def run_labels(runs: pd.DataFrame) -> list[str]:
    """Labels of stored runs: the scenario name, or ``sweep/scenario`` when several sweeps are present."""
    if runs["sweep"].nunique() > 1:
        return [f"{sweep}/{name}" if sweep else str(name) for sweep, name in zip(runs["sweep"], runs["scenario"])]
    return [str(name) for name in runs["scenario"]]


def stored_runs(store: RunStore, sweep: str | None = None) -> pd.DataFrame:
    """The latest run of each scenario in ``store`` (:meth:`RunStore.runs`), or a clear error.

    Args:
        store: An open run store.
        sweep: Only runs of this sweep.

    Returns:
        The runs table.

    Raises:
        InputError: A stored run's JSON (definition, costs, open sites, KPIs, flows) is
            corrupted; the problem names the store and the run.
    """
    try:
        return store.runs(sweep=sweep)
    except ValueError as error:  # json.JSONDecodeError: a stored JSON value no longer parses
        reason = str(error)
    bad = _corrupted_runs(store, sweep)
    where = (", ".join(f"run {run_id} ({sweep_name} / {scenario})" for run_id, sweep_name, scenario in bad[:5])
             if bad else "a stored run")
    raise InputError(Problem(store.display, f"the stored JSON of {where} is corrupted ({reason}); delete "
                                            "that run or run its sweep again with --force", field="STORE"))


def _corrupted_runs(store: RunStore, sweep: str | None) -> list[tuple[int, str, str]]:
    """``(run_id, sweep, scenario)`` of every stored run whose JSON columns do not decode."""
    import sqlalchemy as sa

    query = "SELECT run_id, sweep, scenario FROM runs" + (" WHERE sweep = :sweep" if sweep is not None else "")
    try:
        with store.engine.connect() as conn:
            keys = conn.execute(sa.text(query + " ORDER BY run_id"), {"sweep": sweep}).all()
    except sa.exc.SQLAlchemyError:
        return []
    bad = []
    for run_id, sweep_name, scenario in keys:
        try:
            store.get_run(run_id)
        except ValueError:
            bad.append((int(run_id), str(sweep_name), str(scenario)))
    return bad


def select_runs(runs: pd.DataFrame, requested: list[str]) -> pd.DataFrame:
    """The runs named in ``requested``, in that order.

    Each requested item is a comma-separated list of run labels; since grid run names contain
    commas themselves (``demand=high,rents=up``), the longest run of consecutive parts that is a
    known label is taken each time.

    Args:
        runs: Stored runs (:meth:`RunStore.runs`).
        requested: ``--runs`` values.

    Returns:
        The selected rows; when nothing is requested, all rows in the order of their sweep file
        (the ``position`` stored in each run's definition; sweeps in the order first stored),
        else, for runs stored without positions, in natural order of their labels (``p=8``
        before ``p=10``); never the order the runs happened to finish in.

    Raises:
        InputError: A requested name is not a stored run.
    """
    labels = run_labels(runs)
    if not requested:
        def natural(i: int) -> list[Any]:
            return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", labels[i])]

        positions = [d.get("position") if isinstance(d, dict) else None
                     for d in (runs["definition"] if "definition" in runs else [None] * len(runs))]
        if all(isinstance(p, int) and not isinstance(p, bool) for p in positions):
            first = {sweep: i for i, sweep in reversed(list(enumerate(runs["sweep"])))}
            return runs.iloc[sorted(range(len(runs)), key=lambda i: (first[runs["sweep"].iloc[i]], positions[i]))]
        return runs.iloc[sorted(range(len(runs)), key=natural)]
    position = {label: i for i, label in enumerate(labels)}
    chosen: list[int] = []
    for item in requested:
        parts = [p.strip() for p in item.split(",")]
        start = 0
        while start < len(parts):
            end = next((e for e in range(len(parts), start, -1) if ",".join(parts[start:e]) in position), None)
            if end is None:
                shown = ", ".join(labels[:20]) + (" ..." if len(labels) > 20 else "")
                raise InputError(Problem("--runs", f"no stored run named '{parts[start]}'; stored runs: {shown}",
                                         field="--runs"))
            chosen.append(position[",".join(parts[start:end])])
            start = end
    return runs.iloc[list(dict.fromkeys(chosen))]


def _diff(frame: pd.DataFrame, column: str, base_row: int) -> None:
    """Add ``<column>_diff`` and ``<column>_diff_pct`` next to ``column``."""
    values = frame[column].astype(float)
    reference = values.iloc[base_row]
    frame[f"{column}_diff"] = values - reference
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (values - reference) / abs(reference)
    frame[f"{column}_diff_pct"] = pct if np.isfinite(reference) and reference != 0 else np.nan


def _float(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def compare_runs(runs: pd.DataFrame, base: str | None = None, units: Units | None = None) -> Comparison:
    """Compare runs side by side.

    Args:
        runs: Stored runs, one per row, with the RunRecord columns (``sweep``, ``scenario``,
            ``status``, ``objective``, ``gap``, ``costs``, ``open_sites``, ``kpis``, ``solve_seconds``,
            ``error``).
        base: Label (or scenario name) of the base run; default: the run named ``base``, else the first.
        units: The money unit (:func:`units_of`); with ``annual``, costs and objectives are
            multiplied by the periods per year.  Default: ``currency per period``.

    Returns:
        The comparison; the base run comes first, the others keep their order.

    Raises:
        InputError: There are no runs, or ``base`` is not one of them.
    """
    if runs.empty:
        raise InputError(Problem("store", "no stored runs to compare (check --sweep and --runs)"))
    runs = runs.reset_index(drop=True)
    labels = run_labels(runs)
    names = [str(s) for s in runs["scenario"]]
    wanted = base if base is not None else ("base" if "base" in names else labels[0])
    matches = [i for i, (label, name) in enumerate(zip(labels, names)) if wanted in (label, name)]
    if not matches:
        raise InputError(Problem("--base", f"no compared run named '{wanted}'; runs: {', '.join(labels)}",
                                 field="--base"))
    order = [matches[0]] + [i for i in range(len(runs)) if i != matches[0]]  # the base run first
    runs, labels, names = runs.iloc[order].reset_index(drop=True), [labels[i] for i in order], [names[i] for i in order]
    base_row = 0
    units = units or Units()
    scales = np.ones(len(order))
    if units.annual:  # each run's own periods per year (runs of different period lengths)
        scales = (np.asarray(units.run_per_year)[order] if len(units.run_per_year) == len(order)
                  else np.full(len(order), units.per_year))
    has_plan = runs["status"].isin(PLAN_STATUSES).to_numpy()

    cost_dicts = [c if isinstance(c, dict) else {} for c in runs["costs"]]
    found = list(dict.fromkeys(k for c in cost_dicts for k in c))
    components = [c for c in COST_ORDER if c in found] + [c for c in found if c not in COST_ORDER]
    costs = pd.DataFrame([[_float(c.get(k, 0.0)) * f for k in components] for c, f in zip(cost_dicts, scales)],
                         index=labels, columns=components)
    costs.loc[~has_plan] = np.nan
    kpi_dicts = [k if isinstance(k, dict) else {} for k in runs["kpis"]]
    kpis = list(dict.fromkeys(k for d in kpi_dicts for k in d))

    open_lists = [list(s) if isinstance(s, (list, tuple)) and plan else []
                  for s, plan in zip(runs["open_sites"], has_plan)]
    base_open = set(open_lists[base_row])
    table = pd.DataFrame({"run": labels, "sweep": runs["sweep"].astype(str), "scenario": names,
                          "status": runs["status"].astype(str),
                          "objective": [_float(v) * f for v, f in zip(runs["objective"], scales)]})
    _diff(table, "objective", base_row)
    gaps = np.array([_float(v) for v in runs["gap"]])
    gaps = np.where(np.isnan(gaps) & (table["status"] == "optimal").to_numpy(), 0.0, gaps)
    spread = gaps * table["objective"].abs().to_numpy()
    table["tolerance"] = spread + spread[base_row]
    others = np.arange(len(table)) != base_row
    table["within_tolerance"] = (table["objective_diff"].abs() <= table["tolerance"]).to_numpy() & others
    table["objective_note"] = np.where(table["within_tolerance"], "within solver tolerance", "")
    proven = (table["status"] == "optimal").to_numpy()
    unproven = others & has_plan & has_plan[base_row] & ~(proven & proven[base_row])
    table["components_note"] = np.where(unproven, "plans not proven", "")
    for name in components:
        table[f"cost_{name}"] = costs[name].to_numpy()
        _diff(table, f"cost_{name}", base_row)
    table["open_sites"] = [float(len(s)) if plan else math.nan for s, plan in zip(open_lists, has_plan)]
    _diff(table, "open_sites", base_row)
    table["opened"] = [" ".join(sorted(set(s) - base_open)) if plan else "" for s, plan in zip(open_lists, has_plan)]
    table["closed"] = [" ".join(sorted(base_open - set(s))) if plan else "" for s, plan in zip(open_lists, has_plan)]
    for name in kpis:
        table[f"kpi_{name}"] = [_float(d.get(name)) for d in kpi_dicts]
        _diff(table, f"kpi_{name}", base_row)
    table["gap"] = [_float(v) for v in runs["gap"]]
    table["solve_seconds"] = [_float(v) for v in runs["solve_seconds"]]
    table["error"] = [str(e) if isinstance(e, str) else "" for e in runs["error"]]

    sites = sorted({s for lst in open_lists for s in lst} | base_open,
                   key=lambda s: (-sum(s in lst for lst in open_lists), s))
    matrix = np.full((len(labels), len(sites)), np.nan)
    for i, (lst, plan) in enumerate(zip(open_lists, has_plan)):
        if plan:
            here = np.array([s in lst for s in sites], dtype=bool)
            before = np.array([s in base_open for s in sites], dtype=bool)
            matrix[i] = np.select([here & before, here, before], [OPEN, OPENED, CLOSED_VS_BASE], CLOSED)
    open_matrix = pd.DataFrame(matrix, index=labels, columns=sites)
    return Comparison(base=labels[base_row], table=table, costs=costs, open_matrix=open_matrix,
                      components=components, kpis=kpis, units=units)


def _cell(value: Any) -> Any:
    """A JSON-safe cell: NaN and inf become None, numpy scalars Python ones."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def json_document(comparison: Comparison) -> dict[str, Any]:
    """The comparison as one JSON-ready document: ``base``, ``components``, ``kpis``, ``runs`` (table rows)."""
    rows = [{k: _cell(v) for k, v in row.items()} for row in comparison.table.to_dict(orient="records")]
    for row in rows:
        row["opened"] = row["opened"].split() if row["opened"] else []
        row["closed"] = row["closed"].split() if row["closed"] else []
    u = comparison.units
    return {"base": comparison.base, "unit": u.money, "currency": u.currency, "annual": u.annual,
            "components": comparison.components, "kpis": comparison.kpis, "runs": rows}


def _money(value: float, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:+,.0f}" if signed else f"{value:,.0f}"


def _pct(value: float) -> str:
    return f"{value:+.2f}%" if math.isfinite(value) else "-"


def _render(header: list[str], rows: list[list[str]]) -> list[str]:
    """A plain text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    return ["  ".join(str(cell).ljust(w) if i == 0 else str(cell).rjust(w)
                      for i, (cell, w) in enumerate(zip(r, widths))).rstrip() for r in [header] + rows]


def text_report(comparison: Comparison) -> str:
    """The comparison as plain text tables (costs in the comparison's money unit, named in each header)."""
    t = comparison.table
    unit = comparison.units.money
    base = t.loc[t["run"] == comparison.base].iloc[0]
    lines = [f"Base run: {comparison.base} ({base['status']}, objective {_money(base['objective'])} {unit}); "
             "differences are to it.", ""]
    rows = [[r.run, r.status, _money(r.objective), _money(r.objective_diff, True), _pct(r.objective_diff_pct),
             _money(r.tolerance), r.objective_note or "-",
             "-" if not math.isfinite(r.open_sites) else f"{r.open_sites:.0f}", r.opened or "-", r.closed or "-"]
            for r in t.itertuples()]
    lines += _render(["run", "status", f"objective ({unit})", "diff", "diff %", "tolerance", "note", "open",
                      "opened", "closed"], rows)
    if comparison.components:
        lines += ["", f"Cost components, {unit} (difference to the base run):"]
        rows = [[r["run"]] + [f"{_money(r[f'cost_{c}'])} ({_money(r[f'cost_{c}_diff'], True)})"
                              for c in comparison.components] + [r["components_note"] or "-"]
                for r in t.to_dict(orient="records")]
        lines += _render(["run"] + comparison.components + ["note"], rows)
    if comparison.kpis:
        lines += ["", "KPIs (difference to the base run in percent):"]
        rows = [[r["run"]] + [("-" if not math.isfinite(r[f"kpi_{k}"]) else f"{r[f'kpi_{k}']:,.4g}")
                              + f" ({_pct(r[f'kpi_{k}_diff_pct'])})" for k in comparison.kpis]
                for r in t.to_dict(orient="records")]
        lines += _render(["run"] + comparison.kpis, rows)
    lines += ["", "tolerance = gap x objective of the run + gap x objective of the base: a smaller difference is "
                  "within solver tolerance (it may not be real). 'plans not proven': a plan is not proven optimal, so "
                  "its split into components may differ from the optimum's."]
    failed = t[t["error"] != ""]
    if len(failed):
        lines += ["", "Runs without a plan:"] + [f"  {r.run}: {r.status}: {r.error}" for r in failed.itertuples()]
    return "\n".join(lines)


def _cost_chart(comparison: Comparison) -> bytes:
    """Stacked bars of the cost components per run, PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    costs = comparison.costs
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(costs) + 2.5), 5.5))
    bottom = np.zeros(len(costs))
    colours = plt.get_cmap("tab10")
    for i, name in enumerate(comparison.components):
        values = np.nan_to_num(costs[name].to_numpy(dtype=float))
        ax.bar(range(len(costs)), values, bottom=bottom, label=name, color=colours(i % 10))
        bottom += values
    for i, status in enumerate(comparison.table["status"]):
        if status not in PLAN_STATUSES:
            ax.annotate(status, (i, 0), rotation=90, ha="center", va="bottom", fontsize=8, color="firebrick")
    base = comparison.table.index[comparison.table["run"] == comparison.base][0]
    ax.axhline(bottom[base], color="black", linewidth=0.8, linestyle="--", label=f"base total ({comparison.base})")
    ax.set_xticks(range(len(costs)), labels=list(costs.index), rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"cost, {comparison.units.money}")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title("Cost breakdown per run")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return png_bytes(fig)


def _open_chart(comparison: Comparison) -> bytes:
    """Heat map run x site: open, opened / closed against the base, closed; PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    matrix = comparison.open_matrix
    colours = ["#eeeeee", "#3b6ea8", "#2ca02c", "#d62728"]
    labels = ["closed", "open (as in base)", "opened vs base", "closed vs base"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.28 * matrix.shape[1] + 3.5), max(3.0, 0.3 * len(matrix) + 1.8)))
    cmap = ListedColormap(colours).with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(matrix.to_numpy(dtype=float)), aspect="auto", cmap=cmap,
              norm=BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5], 4), interpolation="nearest")
    ax.set_xticks(range(matrix.shape[1]), labels=list(matrix.columns), rotation=90, fontsize=7)
    ax.set_yticks(range(len(matrix)), labels=list(matrix.index), fontsize=7)
    ax.set_xticks(np.arange(-0.5, matrix.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, len(matrix)), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    ax.set_title(f"Open sites per run (base: {comparison.base}; blank rows: no plan)")
    ax.legend(handles=[Patch(color=c, label=t) for c, t in zip(colours, labels)], fontsize=8,
              loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return png_bytes(fig)


#: Waterfalls drawn in compare.html (the first runs with a plan after the base).
WATERFALLS = 6


def _html(comparison: Comparison, cost_png: bytes, open_png: bytes) -> str:
    """One self-contained page: the table (units in its headers), the charts and waterfalls as base64 PNGs."""
    from optimizer.report.assets import BASE_CSS, png_img
    from optimizer.report.page import waterfall_chart

    unit = comparison.units.money
    shown = comparison.table.drop(columns=["sweep", "scenario"])

    def fmt(column: str) -> Any:
        if column.endswith("_pct"):
            return lambda v: _pct(v)
        if column in ("gap",):
            return lambda v: f"{v:.4%}" if math.isfinite(v) else "-"
        if column.startswith("kpi_") or column == "solve_seconds":
            return lambda v: f"{v:,.4g}" if math.isfinite(v) else "-"
        return lambda v: _money(v, signed=column.endswith("_diff"))

    formatters = {c: fmt(c) for c in shown.columns if shown[c].dtype.kind == "f"}
    money = [c for c in shown.columns if (c == "objective" or c.startswith("cost_") or c == "tolerance"
                                          or c == "objective_diff") and not c.endswith("_pct")]
    table = shown.to_html(index=False, na_rep="-", formatters=formatters, escape=True, border=0)
    for column in money:
        table = table.replace(f"<th>{column}</th>", f"<th>{column} ({html.escape(unit)})</th>", 1)
    images = "".join(f"<figure>{png_img(data, alt)}</figure>"
                     for alt, data in (("cost breakdown per run", cost_png), ("open sites per run", open_png)))
    t = comparison.table
    base = t.loc[t["run"] == comparison.base].iloc[0]
    base_costs = comparison.costs.loc[comparison.base].to_dict()
    falls = []
    if base["status"] in PLAN_STATUSES:
        for run in [r for r, status in zip(t["run"], t["status"]) if r != comparison.base
                    and status in PLAN_STATUSES][:WATERFALLS]:
            falls.append(f"<figure>{png_img(waterfall_chart(base_costs, comparison.costs.loc[run].to_dict(), comparison.base, run, unit), f'waterfall from {comparison.base} to {run}')}</figure>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Run comparison</title>"
        f"<style>{BASE_CSS}th{{position:static}}</style></head><body><section>\n"
        f"<h1>Run comparison ({html.escape(unit)})</h1><p>Base run: <b>{html.escape(comparison.base)}</b>. Costs in "
        f"{html.escape(unit)}; <code>_diff</code> columns are differences to the base run, <code>_diff_pct</code> "
        "in percent. Runs keep the order of their sweep.</p><p class=\"note\"><code>tolerance</code> = gap x "
        "objective of the run + gap x objective of the base: an objective difference smaller than it is marked "
        "<b>within solver tolerance</b> (it may not be real). When either plan is not proven optimal, the "
        "differences by component are marked <b>plans not proven</b>: plans of nearly the same cost can split "
        "it very differently.</p>\n"
        f"<div class=\"wrap\">{table}</div>\n{images}\n"
        + (f"<h2>From the base run to each run, by component ({html.escape(unit)})</h2>{''.join(falls)}" if falls else "")
        + "\n</section></body></html>\n"
    )


def write_comparison(comparison: Comparison, out_dir: str | Path) -> list[Path]:
    """Write :data:`COMPARE_FILES` into ``out_dir``.

    Args:
        comparison: The comparison.
        out_dir: Folder to write into; created if missing.

    Returns:
        The paths written.

    Raises:
        InputError: The folder holds one of these files and was not written by optimizer
            (it has no ``.optimizer-output`` marker).
    """
    cost_png, open_png = _cost_chart(comparison), _open_chart(comparison)
    targets = prepare_output(out_dir, COMPARE_FILES)
    with replace_file(targets[0]) as tmp:
        comparison.table.to_csv(tmp, index=False)
    write_text(targets[1], json.dumps(json_document(comparison), indent=2, allow_nan=False) + "\n")
    write_bytes(targets[2], cost_png)
    write_bytes(targets[3], open_png)
    write_text(targets[4], _html(comparison, cost_png, open_png))
    return targets
