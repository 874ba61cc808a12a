"""``report.html``: the decision report of one plan, one self-contained page that works offline.

KPIs, the cost breakdown (with a waterfall against a base run when one is given), the map
(:mod:`optimizer.report.mapview`), the sortable site P&L, the sensitivity table (when computed,
:mod:`optimizer.runs.sensitivity`), the largest lanes, the assignments and the supplier routes.
Charts are matplotlib PNGs embedded as data URIs; a print stylesheet lays the page out for a PDF.
Long tables show their first rows (the CSV files and ``result.xlsx`` hold all of them).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer.network import Network
from optimizer.outputs import PATH_SEPARATOR
from optimizer.plan import COST_COMPONENTS
from optimizer.report.assets import BASE_CSS, SORT_SCRIPT, map_assets, number, png_bytes, png_img, table
from optimizer.report.mapview import map_section
from optimizer.report.tables import currency, money_unit, period_name, periods_per_year
from optimizer.results import Result

#: Rows shown of the long tables (lanes, assignments, routes); the files hold all of them.
SHOWN_ROWS = 300


@dataclass
class ReportInputs:
    """Everything ``report.html`` shows besides the result itself.

    Attributes:
        pnl: The site P&L (:func:`optimizer.report.tables.site_pnl`).
        lanes: The lane table.
        assignments: The assignment table.
        map_data: The map's data (:func:`optimizer.report.mapview.map_data`); ``None`` without coordinates.
        sensitivity: The sensitivity table (:func:`optimizer.runs.sensitivity.sensitivity_table`), if computed.
        marginal: Estimated marginal values of binding constraints, if computed.
        base: ``(label, costs)`` of a base run for the waterfall, if any.
        meta: Audit trail: software version, input hash, solver version, timestamp.
    """

    pnl: pd.DataFrame
    lanes: pd.DataFrame
    assignments: pd.DataFrame
    map_data: dict | None
    sensitivity: pd.DataFrame | None = None
    marginal: pd.DataFrame | None = None
    base: tuple[str, dict[str, float]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def cost_chart(costs: dict[str, float], unit: str) -> bytes:
    """Horizontal bars of the cost components, PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c for c in COST_COMPONENTS if c in costs] + [c for c in costs if c not in COST_COMPONENTS]
    values = [float(costs[n]) for n in names]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(names) + 1.2))
    ax.barh(names[::-1], values[::-1], color="#3b6ea8")
    for y, v in enumerate(values[::-1]):
        ax.annotate(f"{v:,.0f}", (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlabel(unit)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title("Cost by component")
    ax.margins(x=0.15)
    return png_bytes(fig)


def waterfall_chart(base: dict[str, float], costs: dict[str, float], base_label: str, label: str,
                    unit: str) -> bytes:
    """A waterfall from a base run's total through each component's change to this run's total, PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c for c in COST_COMPONENTS if c in costs or c in base]
    deltas = [float(costs.get(n, 0.0)) - float(base.get(n, 0.0)) for n in names]
    start, end = float(sum(base.values())), float(sum(costs.values()))
    fig, ax = plt.subplots(figsize=(max(7.0, 0.8 * len(names) + 3), 4.2))
    ax.bar(0, start, color="#7f7f7f")
    level = start
    for i, d in enumerate(deltas, start=1):
        ax.bar(i, d, bottom=level, color="#d62728" if d > 0 else "#2ca02c")
        ax.annotate(f"{d:+,.0f}", (i, level + max(d, 0)), xytext=(0, 2), textcoords="offset points", ha="center",
                    fontsize=7)
        level += d
    ax.bar(len(names) + 1, end, color="#3b6ea8")
    ax.set_xticks(range(len(names) + 2), labels=[base_label, *names, label], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(unit)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    low = min(start, end, *(start + np.cumsum(deltas))) if deltas else min(start, end)
    ax.set_ylim(bottom=max(0.0, low - 0.1 * abs(end - start) - 0.02 * max(start, end)))
    ax.set_title(f"From {base_label} to {label}: change by component")
    return png_bytes(fig)


def _money(value: Any) -> str:
    return number(value, 0)


def _kpis(network: Network, result: Result) -> str:
    k = result.kpis
    unit = money_unit(network)
    cards = [("total cost", f"{_money(result.objective)}", unit),
             ("annual cost", f"{_money((result.objective or 0.0) * periods_per_year(network))}",
              f"{currency(network)} per year ({periods_per_year(network):.4g} {period_name(network)}s)"),
             ("open sites", f"{len(result.open_sites)}", f"of {len(network.sites)}")]
    if k:
        cards += [
            ("units delivered", _money(k.get("units_per_period")), f"units per {period_name(network)}"),
            ("mean distance", _money(k.get("mean_distance_km")), "road km to customers, unit-weighted"),
            ("95th percentile distance", _money(k.get("p95_distance_km")), "road km"),
            ("mean transit", number(k.get("mean_transit_days"), 2), "days to customers"),
            ("within service distance", number(k.get("share_within_service_km"), 1, percent=True),
             f"of units within {_money(k.get('service_km'))} km"),
            ("inventory turnover", number(k.get("inventory_turnover"), 1), "per year"),
            ("days of cover", number(k.get("days_of_cover"), 1), "days"),
            ("shipping cost per unit", number(k.get("shipping_cost_per_unit"), 3), f"{currency(network)} per unit"),
            ("mean utilisation", number(k.get("mean_utilisation"), 1, percent=True), "of capacity, open sites"),
        ]
    return '<div class="kpis">' + "".join(f'<div class="kpi"><b>{html.escape(v)}</b>{html.escape(n)}'
                                          f"<br><span>{html.escape(u)}</span></div>" for n, v, u in cards) + "</div>"


def _costs(network: Network, result: Result, inputs: ReportInputs) -> str:
    unit, year = money_unit(network), money_unit(network, annual=True)
    costs = dict(result.costs)
    total = float(sum(costs.values()))
    frame = pd.DataFrame({"component": list(costs) + ["total"], "per_period": list(costs.values()) + [total]})
    frame["per_year"] = frame["per_period"] * periods_per_year(network)
    frame["share"] = frame["per_period"] / total if total else np.nan
    holding = result.cost_details.get("holding", {})
    note = ""
    if holding:
        note = (f'<p class="note">Holding = cycle stock {_money(holding.get("cycle"))} + safety stock '
                f'{_money(holding.get("safety"))} {html.escape(unit)}. A closing cost is one-off: each period '
                f"carries 1/{network.settings.closing_horizon} of it. Annual = per period x "
                f"{periods_per_year(network):.4g}.</p>")
    parts = [table(frame, [("component", "component", str), ("per_period", f"cost ({unit})", _money),
                           ("per_year", f"cost ({year})", _money), ("share", "share of total",
                                                                    lambda v: number(v, 1, percent=True))],
                   "costs", sortable=False), note,
             png_img(cost_chart(costs, unit), "cost by component")]
    if inputs.base is not None:
        label, base_costs = inputs.base
        parts.append(png_img(waterfall_chart(base_costs, costs, label, "this plan", unit),
                             f"waterfall from {label} to this plan"))
    return "\n".join(parts)


def _pnl(network: Network, pnl: pd.DataFrame) -> str:
    unit = money_unit(network)
    per = f"per {period_name(network)}"
    shown = pnl.sort_values("total", ascending=False, kind="stable")
    cols = [("site", "site", str), ("name", "name", str), ("decision", "decision", str), ("reason", "reason", str),
            ("units_served", f"units served ({per})", _money), ("demand_share", "share of demand",
                                                                 lambda v: number(v, 1, percent=True)),
            ("regions_served", "regions", lambda v: number(v)),
            ("utilisation", "utilisation", lambda v: number(v, 1, percent=True))]
    cols += [(c, f"{c.replace('_', ' ')} ({unit})", _money) for c in
             ("shipping", "fixed", "handling", "holding_cycle", "holding_safety", "closing", "inbound", "transfer",
              "total")]
    cols.append(("cost_per_unit", f"cost per unit ({currency(network)})", lambda v: number(v, 3)))
    return (table(shown, cols, "pnl", caption="Click a header to sort.")
            + '<p class="note">Every cost of the plan is charged to one site, so the totals add up to the '
              "objective. Shipping, handling and holding of what a site ships go to that site; inbound (purchase "
              "plus the supplier's link), transfer links, the handling of volume cross-docked onto a link and "
              "link fixed costs go to the <b>receiving site</b>, the one at the link's head (with shortest-path "
              "routing, the site a path ends at).</p>")


def _sensitivity(network: Network, inputs: ReportInputs) -> str:
    if inputs.sensitivity is None:
        return ('<p class="note">Not computed: run <code>optimizer explain PATH</code> or '
                "<code>optimizer solve PATH --explain --out DIR</code>.</p>")
    unit = money_unit(network)
    s = inputs.sensitivity
    cols = [("site", "site", str), ("name", "name", str), ("action", "what if", str),
            ("delta", f"change in cost ({unit})", lambda v: number(v, 0, signed=True)),
            ("status", "re-solve status", str), ("gap", "re-solve gap", lambda v: number(v, 3, percent=True)),
            ("base_gap", "base gap", lambda v: number(v, 3, percent=True)), ("takers", "taken over by", str),
            ("break_even_fixed_cost", f"break-even rent ({unit})", _money), ("note", "note", str)]
    out = [table(s, [c for c in cols if c[0] in s.columns], "sensitivity"),
           '<p class="note">Each row is a re-solve with that one site forced (closed or opened) and everything '
           "else free. A difference smaller than the two solves' gaps (base gap x base cost + re-solve gap x its "
           "cost) is within solver tolerance. Break-even rent: the rent at which opening a candidate would cost "
           "nothing more (its rent minus the change in cost).</p>"]
    if inputs.marginal is not None and len(inputs.marginal):
        m = inputs.marginal
        out.append(table(m, [(c, c.replace("_", " "), (str if m[c].dtype == object else
                                                        (lambda v: number(v, 3))))
                             for c in m.columns], "marginal", caption="Estimated marginal values (LP with sites, "
                                                                       "and single-sourcing assignments, fixed; "
                                                                       "estimates only)"))
    return "\n".join(out)


def _map(data: dict | None) -> str:
    if data is None:
        return '<p class="note">No map: some places have no coordinates (e.g. a cost-matrix instance).</p>'
    return (map_section(data) + '<p class="note">Offline map: no basemap tiles (switch on OpenStreetMap tiles in '
            "the layer control when online). Regions cluster when zoomed out; the "
            f"{len(data['lanes'])} largest of {data['lanes_total']} site-region lanes are drawn.</p>")


def _long(frame: pd.DataFrame, cols: list, table_id: str, what: str, where: str) -> str:
    caption = (f"The {min(len(frame), SHOWN_ROWS):,} {what} of {len(frame):,} shown; all in {where}."
               if len(frame) > SHOWN_ROWS else "")
    return table(frame.head(SHOWN_ROWS), cols, table_id, caption=caption)


def report_page(network: Network, result: Result, inputs: ReportInputs) -> str:
    """The whole ``report.html`` page.

    Args:
        network: The network solved.
        result: A result with a plan.
        inputs: The tables and extras to show.

    Returns:
        The HTML text (UTF-8), with Leaflet, styles, data and charts inlined.
    """
    unit = money_unit(network)
    per = f"per {period_name(network)}"
    title = html.escape(f"{network.name}: network decision report")
    meta = inputs.meta
    gap = "" if result.gap is None else f", gap {result.gap:.4%}"
    check = ("" if result.check is None else
             (" Independent check: passed (plan re-costed from the raw data)." if result.check.ok
              else " <span class=\"warn\">Independent check FAILED.</span>"))
    audit = ", ".join(f"{k.replace('_', ' ')} {html.escape(str(v))}" for k, v in meta.items() if v not in (None, ""))
    proven = "" if result.status.value == "optimal" else (
        ' <span class="warn">This plan is not proven optimal: differences smaller than its gap may not be real.'
        "</span>")
    lanes_cols = [("from", "site", str), ("from_name", "site name", str), ("to", "region", str),
                  ("to_name", "region name", str), ("product", "product", str), ("mode", "mode", str),
                  ("quantity", f"units ({per})", _money), ("volume", f"volume ({per})", lambda v: number(v, 1)),
                  ("km", "km", _money), ("transit_days", "transit days", lambda v: number(v, 2)),
                  ("cost_per_unit", f"cost per unit ({currency(network)})", lambda v: number(v, 3)),
                  ("shipping_cost", f"cost ({unit})", _money)]
    assign_cols = [("region", "region", str), ("region_name", "region name", str), ("site", "site", str),
                   ("site_name", "site name", str), ("units", f"units ({per})", _money),
                   ("share", "share", lambda v: number(v, 1, percent=True)), ("km", "km", _money),
                   ("shipping_cost", f"shipping ({unit})", _money)]
    routes = result.routes.copy()
    route_html = ""
    if len(routes):
        routes["path"] = routes["path"].map(PATH_SEPARATOR.join)
        routes["modes"] = routes["modes"].map(PATH_SEPARATOR.join)
        route_cols = [("supplier", "supplier", str), ("site", "site", str), ("product", "product", str),
                      ("quantity", f"units ({per})", _money), ("path", "path", str), ("modes", "modes", str),
                      ("km", "km", _money), ("transit_days", "transit days", lambda v: number(v, 2)),
                      ("inbound_cost", f"inbound ({unit})", _money), ("transfer_cost", f"transfer ({unit})", _money)]
        route_html = ("<section><h2>Supplier routes</h2>"
                      + _long(routes.sort_values("quantity", ascending=False), route_cols, "routes", "largest routes",
                              "routes.csv") + "</section>")
    body = [
        f"<header><h1>{title}</h1><p class=\"meta\">Status <b>{result.status.value}</b>{gap}; solver "
        f"{html.escape(result.solver)} ({html.escape(result.strategy)}). All amounts in {html.escape(unit)} "
        f"unless a header says otherwise.{check}{proven}</p><p class=\"meta\">{audit}</p></header>",
        f"<section><h2>Key figures</h2>{_kpis(network, result)}</section>",
        f"<section><h2>Cost breakdown ({html.escape(unit)})</h2>{_costs(network, result, inputs)}</section>",
        f"<section><h2>Map</h2>{_map(inputs.map_data)}</section>",
        f"<section><h2>Site P&amp;L ({html.escape(unit)})</h2>{_pnl(network, inputs.pnl)}</section>",
        f"<section><h2>Sensitivity</h2>{_sensitivity(network, inputs)}</section>",
        "<section><h2>Lanes (site to region)</h2>" + _long(inputs.lanes, lanes_cols, "lanes", "largest lanes",
                                                            "plan_lanes.csv and result.xlsx") + "</section>",
        "<section><h2>Assignments</h2>" + _long(inputs.assignments, assign_cols, "assignments", "first assignments",
                                                 "plan_assignments.csv and result.xlsx") + "</section>",
        route_html,
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"{map_assets() if inputs.map_data is not None else ''}\n<style>{BASE_CSS}</style></head><body>\n" + "\n".join(body)
            + f"\n<script>{SORT_SCRIPT}</script>\n</body></html>\n")

