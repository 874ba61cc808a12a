"""The decision tables of a plan: the per-site P&L, the lane table and the assignment table.

**Site P&L.**  Every cost of the plan is charged to exactly one site, so the P&L re-adds to the
objective (:func:`optimizer.model.attribution.site_costs` has the column-by-column rule):

* ``shipping``, ``handling`` and ``holding`` of what a site ships to its regions: that site
  (holding split into ``holding_cycle`` and ``holding_safety`` from the stock table, which holds
  the exact square-root stock of the pooled model);
* ``fixed`` and ``closing``: the site itself;
* **inbound, transfer and link fixed costs go to the receiving site**: purchase plus the
  supplier's link to the site at the head of that link; a site -> site link's cost, and the
  handling of the volume a site cross-docks onto it, to the site at its head (the one that
  receives it); a link's fixed cost to the site at its head (an outbound link's to the site that
  serves over it).  With ``shortest_path`` routing a whole path goes to the site it ends at.

Amounts are currency per period; quantities units (or volume units) per period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer import outputs
from optimizer.kpis import lane_figures
from optimizer.model.build import lane_shipping_cost
from optimizer.network import Network
from optimizer.plan import COST_COMPONENTS
from optimizer.results import Result

#: Cost columns of the site P&L, in order (``holding`` = ``holding_cycle`` + ``holding_safety``).
PNL_COSTS = ("shipping", "fixed", "handling", "holding_cycle", "holding_safety", "holding", "closing", "inbound",
             "transfer")

#: Period lengths with a name, days -> word.
_PERIOD_NAMES = {1.0: "day", 7.0: "week", 14.0: "fortnight", 30.0: "month", 30.4375: "month", 31.0: "month",
                 91.3125: "quarter", 365.0: "year", 365.25: "year"}


def currency(network: Network) -> str:
    """The currency named in network.yaml (``currency``), else the word ``currency``."""
    return str(getattr(network.settings, "currency", None) or "currency")


def period_name(network: Network) -> str:
    """The planning period in words: ``week`` for 7 days, else ``period of N days``."""
    return period_days_name(float(network.settings.period_days))


def period_days_name(days: float) -> str:
    """A period of ``days`` days in words: ``week`` for 7, else ``period of N days``."""
    return _PERIOD_NAMES.get(days, f"period of {days:g} days")


def money_unit(network: Network, annual: bool = False) -> str:
    """The unit of money amounts in headers, e.g. ``USD per week`` (``USD per year`` when ``annual``)."""
    return f"{currency(network)} per {'year' if annual else period_name(network)}"


def periods_per_year(network: Network) -> float:
    """Planning periods in a year: 365 / ``period_days``."""
    return 365.0 / float(network.settings.period_days)


def _reason(status: str, decision: str, closing: float) -> str:
    """Why a site has its decision, from its status in sites.csv and the plan."""
    if status == "forced_open":
        return "forced open (status forced_open in sites.csv)"
    if status == "forced_closed":
        return ("forced closed (status forced_closed), pays its closing cost" if decision == "close"
                else "forced closed (status forced_closed)")
    if decision == "keep":
        return "existing site kept (closing it would cost more)"
    if decision == "close":
        return ("existing site closed: cheaper without it, closing cost included" if closing > 0
                else "existing site closed: cheaper without it")
    if decision == "open":
        return "candidate opened: it lowers the total cost"
    return "candidate not opened: opening it would not lower the total cost"


def site_pnl(network: Network, result: Result) -> pd.DataFrame:
    """The per-site P&L of a plan: one row per site of sites.csv, in its order.

    Args:
        network: The network solved.
        result: A result with a plan (and its ``site_costs``).

    Returns:
        Columns ``site``, ``name``, ``status``, ``decision``, ``reason``, ``throughput_volume``,
        ``capacity``, ``utilisation``, ``regions_served``, ``units_served`` (units per period),
        ``demand_share`` (fraction of all units), the :data:`PNL_COSTS` (currency per period),
        ``total`` and ``cost_per_unit`` (total / units served).  The ``total`` column sums to
        ``result.objective``.

    Raises:
        ValueError: The result has no plan or no per-site costs.
    """
    if not result.has_plan or result.site_costs.empty:
        raise ValueError("the site P&L needs a result with a plan and its per-site costs")
    sites = result.sites.set_index("site")
    ids = network.sites.index.astype(str)
    flows = result.flows
    units = flows.groupby("from")["quantity"].sum().reindex(ids, fill_value=0.0)
    regions = flows.groupby("from")["to"].nunique().reindex(ids, fill_value=0)
    stock = result.stock.groupby("site")[["holding_cycle", "holding_safety"]].sum().reindex(ids, fill_value=0.0)
    costs = result.site_costs.reindex(ids, fill_value=0.0)
    table = pd.DataFrame({
        "site": ids,
        "name": network.sites["name"].astype(str).to_numpy(),
        "status": sites.loc[ids, "status"].to_numpy(),
        "decision": sites.loc[ids, "decision"].to_numpy(),
    })
    table["reason"] = [_reason(s, d, c) for s, d, c in zip(table["status"], table["decision"],
                                                          costs["closing"].to_numpy())]
    table["throughput_volume"] = sites.loc[ids, "throughput_volume"].to_numpy(dtype=float)
    table["capacity"] = sites.loc[ids, "capacity"].to_numpy(dtype=float)
    table["utilisation"] = sites.loc[ids, "utilisation"].to_numpy(dtype=float)
    table["regions_served"] = regions.to_numpy(dtype=int)
    table["units_served"] = units.to_numpy(dtype=float)
    total_units = float(units.sum())
    table["demand_share"] = table["units_served"] / total_units if total_units > 0 else 0.0
    for name in PNL_COSTS:
        if name in ("holding_cycle", "holding_safety"):
            table[name] = stock[name].to_numpy(dtype=float)
        elif name == "holding":
            table[name] = table["holding_cycle"] + table["holding_safety"]
        else:
            table[name] = costs[name].to_numpy(dtype=float)
    table["total"] = table[[c for c in COST_COMPONENTS]].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["cost_per_unit"] = np.where(table["units_served"] > 0, table["total"] / table["units_served"], np.nan)
    return table[list(outputs.SITE_PNL.names)]


def with_sensitivity(pnl: pd.DataFrame, sensitivity: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The P&L with each site's reason completed by its what-if: what closing (or opening) it would cost.

    Args:
        pnl: :func:`site_pnl`.
        sensitivity: :func:`optimizer.runs.sensitivity.sensitivity_table`.
        unit: The money unit (``USD per week``).

    Returns:
        A copy of ``pnl``.
    """
    out = pnl.copy()
    existing = set(out.loc[out["status"] == "existing", "site"])
    what = {}
    for row in sensitivity.itertuples(index=False):
        verb = "closing" if row.action == "close" else ("keeping" if row.site in existing else "opening")
        if np.isfinite(row.delta):
            text = f"{verb} it: {row.delta:+,.0f} {unit} (re-solve)"
            if row.within_tolerance:
                text += ", within solver tolerance"
        else:
            text = f"{verb} it: {row.status}"
        what[row.site] = text
    out["reason"] = [f"{r}; {what[s]}" if s in what else r for s, r in zip(out["site"], out["reason"])]
    return out


def lane_table(network: Network, result: Result) -> pd.DataFrame:
    """The site -> region flows with names, distance, transit time, mode and cost.

    Args:
        network: The network solved.
        result: A result with a plan.

    Returns:
        One row per flow (``result.flows``), sorted by volume (largest first): ``from``,
        ``from_name``, ``to``, ``to_name``, ``product``, ``mode``, ``quantity`` (units per period),
        ``volume`` (volume units per period), ``km`` (road km, or the link's km; NaN for a cost
        matrix without coordinates), ``transit_days``, ``cost_per_unit`` (shipping, currency per
        unit) and ``shipping_cost`` (currency per period).
    """
    flows = result.flows
    net = network
    s = net.sites.index.get_indexer(flows["from"].astype(str))
    r = net.regions.index.get_indexer(flows["to"].astype(str))
    p = net.products.index.get_indexer(flows["product"].astype(str))
    mode = flows["mode"].astype(str).to_numpy() if "mode" in flows else np.full(len(flows), "road", dtype=object)
    volume = net.products["volume"].to_numpy(dtype=float)[p]
    quantity = flows["quantity"].to_numpy(dtype=float)
    per_unit = lane_shipping_cost(net, s, r)[np.arange(len(flows)), p] if len(flows) else np.zeros(0)
    km, days, link_cost = lane_figures(net, flows)
    on_link = ~np.isnan(link_cost)
    per_unit = np.where(on_link, link_cost * volume, per_unit)
    table = pd.DataFrame({
        "from": flows["from"].astype(str).to_numpy(),
        "from_name": net.sites["name"].astype(str).to_numpy()[s] if len(flows) else [],
        "to": flows["to"].astype(str).to_numpy(),
        "to_name": net.regions["name"].astype(str).to_numpy()[r] if len(flows) else [],
        "product": flows["product"].astype(str).to_numpy(),
        "mode": mode,
        "quantity": quantity,
        "volume": quantity * volume,
        "km": km,
        "transit_days": days,
        "cost_per_unit": per_unit,
        "shipping_cost": quantity * per_unit,
    })
    return table.sort_values(["volume", "from", "to", "product"], ascending=[False, True, True, True],
                             kind="stable").reset_index(drop=True)[list(outputs.LANES.names)]


def assignment_table(lanes: pd.DataFrame) -> pd.DataFrame:
    """Which site(s) serve each region: one row per (region, site), from the lane table.

    Args:
        lanes: :func:`lane_table`.

    Returns:
        Columns ``region``, ``region_name``, ``site``, ``site_name``, ``units`` (units per
        period), ``share`` (of the region's units), ``km`` (unit-weighted), ``shipping_cost``
        (currency per period), sorted by region then share (largest first).
    """
    if not len(lanes):
        return pd.DataFrame(columns=list(outputs.ASSIGNMENTS.names))
    work = lanes.assign(km_units=lanes["km"] * lanes["quantity"])
    grouped = work.groupby(["to", "to_name", "from", "from_name"], as_index=False, sort=False).agg(
        units=("quantity", "sum"), km_units=("km_units", "sum"), shipping_cost=("shipping_cost", "sum"))
    grouped["share"] = grouped["units"] / grouped.groupby("to")["units"].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        grouped["km"] = grouped["km_units"] / grouped["units"]
    out = grouped.rename(columns={"to": "region", "to_name": "region_name", "from": "site", "from_name": "site_name"})
    out = out[list(outputs.ASSIGNMENTS.names)]
    return out.sort_values(["region", "share"], ascending=[True, False], kind="stable").reset_index(drop=True)
