"""The output tables, declared once: columns, types, units and descriptions.

Like the input schema (:mod:`optimizer.schema`), these declarations are the single
source of the column lists the engine uses (``FLOW_COLUMNS``, ``ROUTE_COLUMNS``,
``SITE_COLUMNS``, ``STOCK_COLUMNS`` are derived from them), of the writers' column
order and of the output documentation: ``docs/OUTPUTS.md`` is the output of
``python -m optimizer.outputs`` (a test fails when the two drift apart, and another
checks that every CSV the CLI writes has exactly the declared header).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

#: Cost components, in currency per planning period, in report order.
COST_COMPONENTS = ("shipping", "fixed", "handling", "holding", "closing", "inbound", "transfer")

#: How a path of ids (and its modes) is written in one text column: ``PORT-LAX > DC-ONT``.
PATH_SEPARATOR = " > "


@dataclass(frozen=True)
class OutputColumn:
    """One column of an output table.

    Attributes:
        name: Column name as written in the header.
        type: ``text``, ``number``, ``whole number``, ``true/false`` or ``list``.
        description: One sentence for the docs.
        unit: Unit of a number (``units per period``, ``currency per period``), if any.
    """

    name: str
    type: str
    description: str
    unit: str = ""


@dataclass(frozen=True)
class OutputTable:
    """One output table (a CSV file the CLI writes, and the pandas table behind it).

    Attributes:
        file: File name in the output folder.
        description: What one row is.
        columns: The columns, in order.
        dynamic: A note on columns that depend on the run (e.g. one per cost component), if any.
    """

    file: str
    description: str
    columns: tuple[OutputColumn, ...]
    dynamic: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(column.name for column in self.columns)


_C = OutputColumn
PER_PERIOD = "units per period"
MONEY = "currency per period"

SITES = OutputTable("plan_sites.csv", "One row per site of sites.csv, in its order (no rows without a plan).", (
    _C("site", "text", "Site id."),
    _C("name", "text", "Display name."),
    _C("status", "text", "Status given in sites.csv (candidate, existing, forced_open, forced_closed)."),
    _C("decision", "text", "`open` (a candidate or forced site opened), `keep` (an existing site kept), `close` "
                           "(an existing site the plan closes, or a forced-closed site that pays a closing cost) or "
                           "`unused` (a candidate left closed, or a forced-closed site without closing cost)."),
    _C("open", "true/false", "Whether the site operates in the plan."),
    _C("throughput_volume", "number", "Volume the site handles: what it ships to regions plus transit_volume.",
       "volume units per period"),
    _C("transit_volume", "number", "Volume the site receives and sends on to other sites (cross-docked; it pays "
                                   "the site's handling cost and uses its capacity).", "volume units per period"),
    _C("capacity", "number", "Capacity from sites.csv (`inf` for unlimited).", "volume units per period"),
    _C("utilisation", "number", "throughput_volume / capacity (blank for unlimited sites).", "fraction"),
))

FLOWS = OutputTable("plan_flows.csv", "One row per (site, region, product, lane) with a positive flow.", (
    _C("from", "text", "Site id."),
    _C("to", "text", "Region id."),
    _C("product", "text", "Product id."),
    _C("quantity", "number", "Units shipped.", PER_PERIOD),
    _C("mode", "text", "`road` for the distance-based lane, else the mode of the site -> region link."),
))

COSTS = OutputTable("plan_costs.csv", "One row per cost component, then the total (blank without a plan).", (
    _C("component", "text", f"One of {', '.join(COST_COMPONENTS)}, or `total`."),
    _C("currency_per_period", "number", "Cost of the component.", MONEY),
))

ROUTES = OutputTable("routes.csv", "One row per route by which stock reaches a site from a supplier.", (
    _C("supplier", "text", "Supplier id (the first node of the path)."),
    _C("site", "text", "Site id the route delivers to (the last node)."),
    _C("product", "text", "Product id."),
    _C("quantity", "number", "Units carried.", PER_PERIOD),
    _C("path", "list", "Node ids from the supplier to the site, written `A > B > C`; every node between the "
                       "first and the last is an open site."),
    _C("modes", "list", "Mode of each link of the path, written `rail > truck`."),
    _C("km", "number", "Length of the path.", "km"),
    _C("transit_days", "number", "Time on the links of the path.", "days"),
    _C("inbound_cost", "number", "Purchase cost plus the supplier's link for this route.", MONEY),
    _C("transfer_cost", "number", "Site -> site links of this route.", MONEY),
))

STOCK = OutputTable("stock.csv", "One row per (open site, product) the site ships.", (
    _C("site", "text", "Site id."),
    _C("product", "text", "Product id."),
    _C("demand_per_period", "number", "Demand the site serves.", PER_PERIOD),
    _C("std_per_period", "number", "Standard deviation of that demand, pooled over the regions served.",
       PER_PERIOD),
    _C("lead_time_days", "number", "Replenishment lead time.", "days"),
    _C("order_quantity", "number", "Order quantity (EOQ, or review_days of demand).", "units"),
    _C("cycle_stock", "number", "Average cycle stock (half the order quantity).", "units"),
    _C("safety_stock", "number", "Safety stock for the product's service level.", "units"),
    _C("reorder_point", "number", "Demand over the lead time plus safety stock.", "units"),
    _C("days_of_cover", "number", "Average stock / daily demand.", "days"),
    _C("holding_cycle", "number", "Holding cost of the cycle stock.", MONEY),
    _C("holding_safety", "number", "Holding cost of the safety stock.", MONEY),
    _C("ordering_cost", "number", "Ordering cost (cost per order x orders); reported, not in the objective.", MONEY),
))

FRONTIER = OutputTable("frontier.csv", "One row per point of `optimizer frontier` (e.g. each number of sites).", (
    _C("p", "whole number", "The axis value: with `--between cost,sites`, the exact number of open sites."),
    _C("status", "text", "optimal, feasible, no_solution or infeasible."),
    _C("termination", "text",
       "Why the point's solve stopped (optimal, gap_limit, time_limit, round_limit, interrupted, ...)."),
    _C("total", "number", "Total cost (empty without a plan).", MONEY),
    _C("open_sites", "list", "Open site ids, separated by spaces."),
    _C("gap", "number", "Relative gap of the point's solve (empty when unknown).", "fraction"),
    _C("solve_seconds", "number", "Solver time of the point.", "seconds"),
    _C("warm_started", "true/false", "Whether the solve started from a constructed plan: for p sites, the next larger p's plan "
       "less its least useful sites (the largest p: every usable site open, thinned)."),
    _C("reason", "text", "Why the point has no plan (the solver's explanation, e.g. capacity short); empty with a "
                         "plan."),
), dynamic="One column per cost component (currency per period) follows `termination`, before `total`.")

# The decision report (issue 14): site P&L, lanes, assignments, sensitivity.
_PNL_COSTS = ("shipping", "fixed", "handling", "holding_cycle", "holding_safety", "closing", "inbound", "transfer")
SITE_PNL = OutputTable("plan_site_pnl.csv", "One row per site of sites.csv, in its order: the site's P&L. Every "
                       "cost of the plan is charged to one site, so `total` sums to the objective: inbound, transfer, "
                       "the handling of volume cross-docked onto a link and link fixed costs go to the site at the "
                       "link's head (the receiving site; with shortest-path routing, the site a path ends at).", (
    _C("site", "text", "Site id."),
    _C("name", "text", "Display name."),
    _C("status", "text", "Status given in sites.csv."),
    _C("decision", "text", "open, keep, close or unused (as in plan_sites.csv)."),
    _C("reason", "text", "Why: forced by its status, an existing site kept or closed, a candidate opened or not."),
    _C("throughput_volume", "number", "Volume the site handles, transit included.", "volume units per period"),
    _C("capacity", "number", "Capacity from sites.csv (`inf` for unlimited).", "volume units per period"),
    _C("utilisation", "number", "throughput_volume / capacity.", "fraction"),
    _C("regions_served", "whole number", "Regions the site ships to."),
    _C("units_served", "number", "Units the site ships to regions.", PER_PERIOD),
    _C("demand_share", "number", "units_served / all units delivered.", "fraction"),
    *(_C(name, "number", f"{name.replace('_', ' ').capitalize()} charged to the site.", MONEY) for name in _PNL_COSTS[:5]),
    _C("holding", "number", "holding_cycle + holding_safety.", MONEY),
    *(_C(name, "number", f"{name.capitalize()} charged to the site.", MONEY) for name in _PNL_COSTS[5:]),
    _C("total", "number", "Sum of the components (holding counted once).", MONEY),
    _C("cost_per_unit", "number", "total / units_served (empty when it serves none).", "currency per unit"),
))

LANES = OutputTable("plan_lanes.csv", "One row per site -> region flow, largest volume first.", (
    _C("from", "text", "Site id."),
    _C("from_name", "text", "Site name."),
    _C("to", "text", "Region id."),
    _C("to_name", "text", "Region name."),
    _C("product", "text", "Product id."),
    _C("mode", "text", "`road` for the distance-based lane, else the mode of the site -> region link."),
    _C("quantity", "number", "Units shipped.", PER_PERIOD),
    _C("volume", "number", "quantity x product volume.", "volume units per period"),
    _C("km", "number", "Road km (great-circle x circuity), or the link's km; empty for cost matrices.", "km"),
    _C("transit_days", "number", "km / transport km_per_day, or the link's transit_days.", "days"),
    _C("cost_per_unit", "number", "Shipping cost of one unit on the lane.", "currency per unit"),
    _C("shipping_cost", "number", "quantity x cost_per_unit.", MONEY),
))

ASSIGNMENTS = OutputTable("plan_assignments.csv", "One row per (region, serving site), by region then share.", (
    _C("region", "text", "Region id."),
    _C("region_name", "text", "Region name."),
    _C("site", "text", "Site id."),
    _C("site_name", "text", "Site name."),
    _C("units", "number", "Units the site delivers to the region, all products.", PER_PERIOD),
    _C("share", "number", "units / the region's units.", "fraction"),
    _C("km", "number", "Unit-weighted distance.", "km"),
    _C("shipping_cost", "number", "Shipping on these lanes.", MONEY),
))

SENSITIVITY = OutputTable("sensitivity.csv", "One row per forced re-solve of `optimizer explain` / `solve --explain`: "
                          "each open site closed, each unused candidate opened.", (
    _C("site", "text", "Site id."),
    _C("name", "text", "Site name."),
    _C("action", "text", "`close` (an open site forced closed) or `open` (an unused site forced open)."),
    _C("run", "text", "Name of the re-solve in the run store (`close=ID` or `open=ID`)."),
    _C("status", "text", "Status of the re-solve (optimal, feasible, infeasible, ...)."),
    _C("objective", "number", "Cost of the re-solve's plan.", MONEY),
    _C("delta", "number", "objective - the base plan's cost: what forcing the site costs.", MONEY),
    _C("gap", "number", "Relative gap of the re-solve.", "fraction"),
    _C("base_gap", "number", "Relative gap of the base solve.", "fraction"),
    _C("tolerance", "number", "gap x objective + base_gap x base cost: differences below it may not be real.",
       MONEY),
    _C("within_tolerance", "true/false", "Whether |delta| <= tolerance."),
    _C("takers", "list", "Sites that take over the closed site's regions, or that the opened site replaces; spaces."),
    _C("break_even_fixed_cost", "number", "For `open`: the rent at which opening the site would cost nothing "
                                          "more (its fixed_cost - delta).", MONEY),
    _C("note", "text", "Why a figure is missing (infeasible, no plan)."),
))

#: Every declared output table, in the order the docs list them.
TABLES: tuple[OutputTable, ...] = (SITES, FLOWS, COSTS, ROUTES, STOCK, FRONTIER, SITE_PNL, LANES, ASSIGNMENTS,
                                   SENSITIVITY)


def format_markdown() -> str:
    """The output documentation (docs/OUTPUTS.md) rendered from the declarations."""
    lines = [
        "# Output tables",
        "",
        "<!-- Generated from optimizer/outputs.py by `python -m optimizer.outputs > docs/OUTPUTS.md`; "
        "do not edit. -->",
        "",
        "`optimizer solve --out DIR` writes these CSV files (full precision, comma separated, one header "
        "row); the Python API returns the same tables as pandas DataFrames (`result.sites`, "
        "`result.flows`, `result.routes`, `result.stock`). A period is the dataset's `period_days`.",
    ]
    for table in TABLES:
        lines += ["", f"## {table.file}", "", table.description + (f" {table.dynamic}" if table.dynamic else ""),
                  "", "| column | type | unit | description |", "|---|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {c.unit} | {c.description} |" for c in table.columns]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(format_markdown())
