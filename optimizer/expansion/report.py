"""What a study writes: a text summary, per-period tables and the timeline chart.

``--out DIR`` writes ``result.json`` (the ``--json`` document), ``study_sites.csv`` (one row per
site and period: held, serving, decision, modules, capacity, throughput, utilisation),
``study_flows.csv`` and ``study_routes.csv`` (each period's flows and routes, with a ``period``
column), ``study_stock.csv`` (each period's stock per site and product), ``study_costs.csv``
(undiscounted cost per component and period, plus the net present cost of each component),
``timeline.png`` (which site opens, is built, expands or closes when, above the cost by period) and
``map_<period>.png``, each period's plan drawn like the single-period ``map.png``.

A study with ``uncertainty:`` writes ``result.json``, ``study_sites.csv`` and ``study_costs.csv``
with a ``path`` column (the stochastic plan on every demand path) and ``timeline_<path>.png``
for each path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from optimizer.expansion.solve import ExpansionResult, events, period_capacity  # noqa: E402
from optimizer.expansion.stochastic import UncertainResult  # noqa: E402
from optimizer.io.files import replace_file, write_text  # noqa: E402
from optimizer.outputs import PATH_SEPARATOR  # noqa: E402
from optimizer.reports import STUDY_FILES, prepare_output, remove_stale, written_before  # noqa: E402
from optimizer.results import Result, site_table  # noqa: E402
from optimizer.solvers.base import Status  # noqa: E402
from optimizer.stock import plan_stock  # noqa: E402


#: Colours of the timeline's site states.
STATE_COLOURS = {"serving": "#2b8cbe", "building": "#fdae6b", "closed": "#f0f0f0"}


def summary(result: ExpansionResult) -> str:
    """A few lines for the terminal: status, net present cost, gap and each period's decisions."""
    lines = [f"study {result.study.name}: {result.status.value}"
             + (f", net present cost {result.objective:,.0f}" if result.objective is not None else "")
             + (f", bound {result.bound:,.0f}, gap {result.gap:.3%}" if result.gap is not None else "")]
    plan = result.plan
    if plan is not None:
        budget = result.budget_use()
        for t, period in enumerate(result.study.periods):
            ev = events(plan, t)
            bought = {s: int(n) for s, n in plan.modules.iloc[:, t].items() if n > 0}
            parts = [f"{len(plan.plans[t].open_sites)} serving"]
            parts += [f"open {', '.join(ev['open'])}"] if ev["open"] else []
            parts += [f"close {', '.join(ev['close'])}"] if ev["close"] else []
            parts += [f"modules {', '.join(f'{s} x{n}' for s, n in bought.items())}"] if bought else []
            parts += [f"capex {result.period_costs[t]['capex']:,.0f}"]
            cap = budget["per_period"][t] if budget else None
            if cap and cap["binds"]:
                waits = ", ".join(f"{d['site']} {d['action']} {d['capex']:,.0f}" for d in cap["deferred"])
                parts += [f"budget {cap['limit']:,.0f} binds" + (f" ({waits} waits a period)" if waits else "")]
            lines.append(f"  {period.name}: " + "; ".join(parts))
        lines.append("  net present cost by component: "
                     + ", ".join(f"{k} {v:,.0f}" for k, v in result.costs.items() if v))
    if result.check is not None:
        lines.append("check: " + ("plan OK" if result.check.ok else f"REJECTED ({len(result.check.violations)})"))
    lines += [f"  {m}" for m in result.messages]
    return "\n".join(lines)


def uncertain_summary(result: UncertainResult) -> str:
    """A few lines for the terminal: status, expected cost, VSS, the first stage and each path's cost and regret."""
    doc = result.to_dict()
    money = lambda v: "-" if v is None else f"{v:,.0f}"  # noqa: E731
    lines = [f"study {result.study.name} ({len(doc['paths'])} demand paths): {result.status.value}, objective "
             f"{money(result.objective)}, bound {money(result.bound)}"
             + (f", gap {result.gap:.3%}" if result.gap is not None else ""),
             f"  expected net present cost {money(doc['expected_cost'])}; VSS {money(doc['vss']['value'])} in "
             f"[{money(doc['vss']['lower'])}, {money(doc['vss']['upper'])}]"
             + (" (within tolerance)" if doc["vss"]["within_tolerance"] else "")]
    for stage in doc["first_stage"]:
        parts = [f"open {', '.join(stage['opened'])}"] if stage["opened"] else []
        parts += [f"close {', '.join(stage['closed'])}"] if stage["closed"] else []
        parts += [f"modules {', '.join(f'{s} x{n}' for s, n in stage['modules'].items())}"] if stage["modules"] else []
        lines.append(f"  decide now, {stage['period']}: " + ("; ".join(parts) or "no change"))
    for path in doc["paths"]:
        lines.append(f"  path {path['name']} (p={path['probability']:g}): cost {money(path['cost'])}, regret "
                     f"{money((path['regret'] or {}).get('value'))}")
    if result.check is not None:
        lines.append("check: " + ("plan OK" if result.check.ok else f"REJECTED ({len(result.check.violations)})"))
    lines += [f"  {m}" for m in result.messages]
    return "\n".join(lines)


def write_uncertain_outputs(result: UncertainResult, out_dir: str | Path, protected: list[Path]) -> list[Path]:
    """Write a stochastic study's JSON, per-path site and cost tables and per-path timelines into ``out_dir``.

    Raises:
        InputError: The folder may not be written (see :func:`optimizer.reports.prepare_output`).
    """
    out = Path(out_dir)
    unc = result.study.uncertainty
    assert unc is not None
    charts = file_names("timeline", [p.name for p in unc.paths])
    before = written_before(out) if out.is_dir() else None
    targets = prepare_output(out, ("result.json", "study_sites.csv", "study_costs.csv", *charts), protected)
    write_text(out / "result.json", json.dumps(result.to_dict(), indent=2) + "\n")
    if not result.paths:
        remove_stale(out, before, targets[:1])
        return targets[:1]
    sites = pd.concat([site_periods(r).assign(path=p.name) for p, r in zip(unc.paths, result.paths)])
    costs = pd.concat([cost_table(r).assign(path=p.name) for p, r in zip(unc.paths, result.paths)])
    for name, table in (("study_sites.csv", sites), ("study_costs.csv", costs)):
        with replace_file(out / name) as tmp:
            table[["path"] + [c for c in table.columns if c != "path"]].to_csv(tmp, index=False)
    for path_result, chart in zip(result.paths, charts):
        timeline_chart(path_result, out / chart)
    remove_stale(out, before, targets)
    return targets


def site_periods(result: ExpansionResult) -> pd.DataFrame:
    """One row per site and period: state, decision, modules, capacity (volume units per period) and use."""
    study, plan = result.study, result.plan
    assert plan is not None
    frames = []
    for t, period in enumerate(study.periods):
        ev = events(plan, t)
        net = period.network
        flows = plan.plans[t].flows
        volume = flows["product"].map(net.products["volume"]).to_numpy(dtype=float) * flows["quantity"].to_numpy()
        shipped = pd.Series(volume).groupby(flows["from"].to_numpy()).sum()
        capacity = period_capacity(study, plan, t)
        ids = plan.held.index
        held, serving = plan.held.iloc[:, t], plan.serving.iloc[:, t]
        decision = np.where(ids.isin(ev["open"]), "open", np.where(ids.isin(ev["close"]), "close",
                            np.where(serving, "keep", np.where(held, "building", "unused"))))
        throughput = shipped.reindex(ids).fillna(0.0).to_numpy()
        frames.append(pd.DataFrame({
            "period": period.name, "site": ids, "held": held.to_numpy(), "serving": serving.to_numpy(),
            "decision": decision, "modules_bought": plan.modules.iloc[:, t].to_numpy(),
            "modules_total": plan.modules.iloc[:, : t + 1].sum(axis=1).to_numpy(),
            "capacity": capacity.to_numpy(), "throughput_volume": throughput,
            "utilisation": np.where(np.isfinite(capacity) & (capacity > 0), throughput / capacity.to_numpy(), np.nan),
        }))
    return pd.concat(frames, ignore_index=True)


def cost_table(result: ExpansionResult) -> pd.DataFrame:
    """Undiscounted cost per component and study period (currency per study period), then the net present row."""
    rows = [{"period": p.name, "basis": "undiscounted", **result.period_costs[t]}
            for t, p in enumerate(result.study.periods)]
    rows.append({"period": "all", "basis": "net_present", **result.costs})
    table = pd.DataFrame(rows)
    table["total"] = table[[c for c in table.columns if c not in ("period", "basis")]].sum(axis=1)
    return table


def write_study_outputs(result: ExpansionResult, out_dir: str | Path, protected: list[Path]) -> list[Path]:
    """Write the study's JSON, tables and timeline chart into ``out_dir`` (see the module docstring).

    Raises:
        InputError: The folder may not be written (see :func:`optimizer.reports.prepare_output`).
    """
    out = Path(out_dir)
    maps = file_names("map", [p.name for p in result.study.periods])
    before = written_before(out) if out.is_dir() else None
    targets = prepare_output(out, STUDY_FILES + tuple(maps), protected)
    write_text(out / "result.json", json.dumps(result.to_dict(), indent=2) + "\n")
    if result.plan is None:
        remove_stale(out, before, targets[:1])
        return targets[:1]
    plan, study = result.plan, result.study
    flows, routes, stock = [], [], []
    for t, period in enumerate(study.periods):
        p = plan.plans[t]
        flows.append(p.flows.assign(period=period.name))
        r = p.routes.copy()
        for column in ("path", "modes"):
            r[column] = r[column].map(PATH_SEPARATOR.join)
        routes.append(r.assign(period=period.name))
        stock.append(plan_stock(period.network, p.open_sites, p.flows).assign(period=period.name))
    tables = {"study_sites.csv": site_periods(result), "study_flows.csv": _period_first(flows),
              "study_routes.csv": _period_first(routes), "study_stock.csv": _period_first(stock),
              "study_costs.csv": cost_table(result)}
    for name, table in tables.items():
        with replace_file(out / name) as tmp:
            table.to_csv(tmp, index=False)
    timeline_chart(result, out / "timeline.png")
    written = targets[:len(STUDY_FILES)] + _period_maps(result, [out / name for name in maps])
    remove_stale(out, before, written)
    return written


#: Most characters of a period or path name in a file name (the whole name stays well below 255 bytes).
MAX_NAME_CHARS = 120


def file_names(prefix: str, names: list[str]) -> list[str]:
    """``<prefix>_<name>.png`` per name, characters other than letters, digits, ``_ . -`` made ``_`` and the
    name cut to :data:`MAX_NAME_CHARS` (file systems refuse names above 255 bytes); names that come out alike
    get ``_2``, ``_3`` ... so that no file is written twice (periods ``a b`` and ``a?b``)."""
    out: list[str] = []
    for name in names:
        stem = f"{prefix}_{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:MAX_NAME_CHARS]}"
        candidate, k = f"{stem}.png", 1
        while candidate in out:
            k += 1
            candidate = f"{stem}_{k}.png"
        out.append(candidate)
    return out


def _period_maps(result: ExpansionResult, paths: list[Path]) -> list[Path]:
    """Draw each period's plan (sites, flows, routes) as a PNG map, when every place has coordinates; the paths
    written."""
    from optimizer.maps import write_png

    assert result.plan is not None
    for t, (period, path) in enumerate(zip(result.study.periods, paths)):
        net, plan = period.network, result.plan.plans[t]
        places = [net.sites, net.regions] + ([net.suppliers] if net.suppliers is not None else [])
        if any(table[["lat", "lon"]].isna().any().any() for table in places):
            return paths[:t]
        single = Result(status=Status.FEASIBLE, solver=result.solver, objective=plan.objective, costs=plan.costs,
                        open_sites=plan.open_sites, flows=plan.flows, routes=plan.routes,
                        sites=site_table(net, plan), network_name=f"{result.study.name} {period.name}")
        write_png(net, single, path)
    return paths


def _period_first(frames: list[pd.DataFrame]) -> pd.DataFrame:
    table = pd.concat(frames, ignore_index=True)
    return table[["period"] + [c for c in table.columns if c != "period"]]


def timeline_chart(result: ExpansionResult, path: str | Path) -> Path:
    """Draw the timeline (site states, openings, closings, modules) above the cost by period; save as PNG."""
    study, plan = result.study, result.plan
    assert plan is not None
    names = [p.name for p in study.periods]
    active = plan.held.any(axis=1) | pd.Series(plan.held0, index=plan.held.index)
    ids = list(plan.held.index[active.to_numpy()])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 3 + 0.32 * len(ids) + 3.5), dpi=110,
                                      gridspec_kw={"height_ratios": [max(2, 0.32 * len(ids)), 3.5]})
    for row, site in enumerate(ids):
        for t in range(len(names)):
            state = "serving" if plan.serving.at[site, names[t]] else (
                "building" if plan.held.at[site, names[t]] else "closed")
            top.barh(row, 1, left=t, color=STATE_COLOURS[state], edgecolor="white")
            n = int(plan.modules.at[site, names[t]])
            if n:
                top.text(t + 0.5, row, f"+{n} module" + ("s" if n > 1 else ""), ha="center", va="center", fontsize=7)
        for t in range(len(names)):
            ev = events(plan, t)
            if site in ev["open"]:
                top.plot(t + 0.05, row, marker=">", color="#238b45", ms=7)
            if site in ev["close"]:
                top.plot(t + 0.05, row, marker="x", color="#cb181d", ms=7)
    top.set_yticks(range(len(ids)), ids, fontsize=7)
    top.set_xticks(np.arange(len(names)) + 0.5, names)
    top.set_xlim(0, len(names))
    top.invert_yaxis()
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STATE_COLOURS.values()]
    handles += [plt.Line2D([], [], marker=">", color="#238b45", ls=""), plt.Line2D([], [], marker="x", color="#cb181d",
                                                                                 ls="")]
    top.legend(handles, [*STATE_COLOURS, "opens", "closes"], ncol=5, fontsize=7, loc="lower center",
               bbox_to_anchor=(0.5, 1.0), frameon=False)  # just above the axes, under the title
    top.set_title(f"{study.name}: site timeline", pad=20)
    costs = pd.DataFrame(result.period_costs, index=names)
    costs = costs.loc[:, (costs != 0).any(axis=0)]
    costs.plot.bar(stacked=True, ax=bottom, width=0.6, colormap="tab10", rot=0)
    bottom.set_ylabel("currency per study period (undiscounted)")
    bottom.legend(fontsize=7, ncol=4)
    bottom.set_title("cost by period")
    fig.tight_layout()
    with replace_file(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)
