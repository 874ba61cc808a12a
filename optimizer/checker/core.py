"""The independent checker: verify a plan from the raw tables alone.

:func:`check` re-derives everything it needs from ``network.sites``,
``regions``, ``products``, ``demand``, ``suppliers``, ``supply``, ``links`` (as
given in links.csv), ``settings`` and ``unit_shipping_cost``: it does not use
the model builder, the lane graph code (:mod:`optimizer.links`, the network's
cached ``graph`` and ``link_table``), the cached ``distance_km`` /
``demand_matrix`` or :mod:`optimizer.geo`, so a bug there cannot hide itself.
Distances and the link set come from :mod:`optimizer.checker.linkset`, with
the distance method the settings name (haversine or WGS-84 geodesic).

Cost definitions (currency per period), which the engine's objective must match:

* shipping: sum over flows of quantity x unit cost, where the unit cost is
  ``unit_shipping_cost[site, region]`` (currency per unit) when that matrix
  is given, else road km x the product's ``shipping_cost_per_km``, with
  road km = great-circle km x ``settings.circuity``;
* fixed: sum of ``fixed_cost`` over open sites;
* handling: sum over sites of ``handling_cost`` x throughput, where a site's
  throughput (volume units per period) is what it ships to regions plus what
  it sends on to other sites (routes passing through it);
* holding: sum over flows of quantity x ``unit_value`` x ``holding_rate`` x
  ``days_of_cover`` / 365 (linear inventory model); in the pooled model, cycle
  plus safety stock per site and product (see :mod:`optimizer.checker.stock`);
  stock is based on what a site ships to its regions only;
* closing: ``closing_cost / settings.closing_horizon`` (a one-off cost spread
  over the horizon's periods) for every ``existing`` site that is not open and
  every ``forced_closed`` site;
* inbound and transfer: see :mod:`optimizer.checker.supply` (routes from
  suppliers, goods crossing only open sites, conservation at sites, supplier
  and link capacities).  Flows whose ``mode`` is not ``road`` use a site ->
  region link and cost its cost per volume unit instead of the distance-based
  rate; under ``transport: outbound: links_only`` only such links may serve.

Site decisions are named as in the results: ``open`` (a candidate opened),
``keep`` (an existing site kept), ``close`` (an existing or forced-closed site
not open) and ``unused`` (a candidate not opened).

Tolerances.  Solvers satisfy constraints only up to a feasibility tolerance,
so each constraint is checked as one aggregated row with a slack of
``rel_tol x max(1, |rhs|)``, where ``rhs`` is the row's right-hand side (its
natural scale): never flow by flow, so many small errors cannot add up
unseen.  The rows:

* demand, per (region, product) with demand ``d`` units per period:
  ``|served - d| <= rel_tol x max(1, d)``;
* capacity, per site with capacity ``c``: throughput
  ``<= c + rel_tol x max(1, c)`` volume units;
* closed sources, per region with total demand ``D`` (all products): all flows
  to it from sites that are not open, together, at most ``rel_tol x max(1, D)`` units;
* single sourcing, per region: all flows over its secondary lanes (every site
  and mode but the one carrying the most), together, at most ``rel_tol x max(1, D)`` units;
* closed transit sites, per destination site receiving ``a`` units by route:
  all routes to it that cross (or end at) a site not open, together, at most
  ``rel_tol x max(1, a)`` units;
* conservation per (site, product), supplier capacity per (supplier, product)
  and link capacity per link, each relative to its own right-hand side
  (shipped units, capacity);
* costs, per component and for the objective: within
  ``rel_tol x max(1, |recomputed total|)`` currency.

Lane lengths may exceed ``max_service_km`` by at most :data:`DISTANCE_TOL_KM`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.checker.linkset import ROAD, great_circle_km, link_table
from optimizer.checker.stock import pooled_holding
from optimizer.checker.supply import check_supply
from optimizer.network import Network, Settings
from optimizer.plan import COST_COMPONENTS, FLOW_COLUMNS, Plan

#: Slack allowed on ``max_service_km``, km (rounding of the distance formula).
DISTANCE_TOL_KM = 1e-6

#: Violations shown by :meth:`CheckReport.summary` (the list itself is complete).
SUMMARY_VIOLATIONS = 20

#: Cost components that exist only with suppliers or links.
SUPPLY_COMPONENTS = ("inbound", "transfer")

#: Ids listed in one message before "and N more".
LISTED_IDS = 5


@dataclass
class CheckReport:
    """What the checker found.

    Attributes:
        ok: No violation was found.
        violations: One human-readable sentence per violation, naming ids and numbers.
        costs: Recomputed cost per component, currency per period.
        objective: Recomputed total cost, currency per period.
        n_open: Number of distinct known sites the plan opens.
        n_flows: Number of flow rows in the plan.
        max_demand_error: Largest |served - demand| over (region, product)
            pairs, units per period.
        max_capacity_excess: Largest throughput above capacity over open
            sites, volume units per period (0 when every site is within capacity).
        max_lane_km: Longest road distance of a used lane, km (NaN when unknown).
        seconds: Time the check took.
    """

    ok: bool
    violations: list[str]
    costs: dict[str, float]
    objective: float
    n_open: int = 0
    n_flows: int = 0
    max_demand_error: float = 0.0
    max_capacity_excess: float = 0.0
    max_lane_km: float = math.nan
    seconds: float = 0.0

    def summary(self) -> str:
        """A few lines: verdict, recomputed costs, largest errors and the first violations."""
        verdict = "plan OK" if self.ok else f"plan REJECTED: {len(self.violations)} violation(s)"
        costs = ", ".join(f"{name} {fmt_num(value)}" for name, value in self.costs.items())
        lines = [
            f"{verdict}; {self.n_open} site(s) open, {self.n_flows} flow(s); checked in {self.seconds:.3f} s",
            f"recomputed objective {fmt_num(self.objective)} currency per period ({costs})",
            f"max demand error {self.max_demand_error:.3g} units per period, "
            f"max capacity excess {self.max_capacity_excess:.3g} volume units per period, "
            f"longest lane {fmt_num(self.max_lane_km)} km",
        ]
        lines += [f"  - {v}" for v in self.violations[:SUMMARY_VIOLATIONS]]
        if len(self.violations) > SUMMARY_VIOLATIONS:
            lines.append(f"  ... and {len(self.violations) - SUMMARY_VIOLATIONS} more")
        return "\n".join(lines)


def fmt_num(x: float) -> str:
    """A number for messages: thousands separators, at most 6 significant digits below 1000."""
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"
    return f"{x:.6g}"


def check(network: Network, plan: Plan, *, rel_tol: float = 1e-6) -> CheckReport:
    """Verify a plan against the raw network data and re-cost it.

    Args:
        network: The network the plan claims to solve.
        plan: Open sites, flows and claimed costs.
        rel_tol: Relative tolerance on quantities, capacities and costs (see
            the module docstring for the exact rule).

    Returns:
        The report: ``ok`` is True when no violation was found; recomputed
        costs are filled in either way.
    """
    start = time.perf_counter()
    violations: list[str] = []
    sites, settings = network.sites, network.settings
    links = link_table(network)
    flows = _usable_flows(network, plan.flows, violations)
    flows["on_link"] = _on_link(flows, links)
    demand = _demand_by_pair(network)

    is_open = _open_mask(network, plan.open_sites, violations)
    _check_statuses(sites, is_open, violations)
    _check_counts(settings, int(is_open.sum()), violations)
    max_error = _check_demand(demand, flows, rel_tol, violations)
    region_demand = demand.groupby(level="region").sum()
    _check_closed_sources(network, flows, is_open, region_demand, rel_tol, violations)
    if settings.single_sourcing:
        _check_single_sourcing(flows, region_demand, rel_tol, violations)
    _check_outbound_mode(network, flows, violations)
    supply = check_supply(network, flows, plan.routes, links, is_open, rel_tol, violations, fmt_num)
    throughput = _throughput(network, flows, supply.sent_on)
    max_excess = _check_capacity(network, throughput, is_open, rel_tol, violations)
    lane_km = _road_km(network, flows)
    _check_service_distance(network, flows, lane_km, violations)
    costs = _recost(network, flows, lane_km, throughput, is_open, links, violations)
    costs["shipping"] += supply.costs["link_fixed_outbound"]
    costs["inbound"], costs["transfer"] = supply.costs["inbound"], supply.costs["transfer"]
    objective = float(sum(costs.values()))
    _check_claims(plan, costs, objective, rel_tol, violations)

    used_km = lane_km[np.isfinite(lane_km)]
    return CheckReport(
        ok=not violations,
        violations=violations,
        costs=costs,
        objective=objective,
        n_open=int(is_open.sum()),
        n_flows=len(plan.flows),
        max_demand_error=max_error,
        max_capacity_excess=max_excess,
        max_lane_km=float(used_km.max()) if len(used_km) else math.nan,
        seconds=time.perf_counter() - start,
    )


def _listed(ids: list[str] | pd.Index) -> str:
    """Ids joined by commas, the first few only."""
    ids = [str(i) for i in ids]
    text = ", ".join(ids[:LISTED_IDS])
    return text + (f" and {len(ids) - LISTED_IDS} more" if len(ids) > LISTED_IDS else "")


def _usable_flows(network: Network, raw: pd.DataFrame, violations: list[str]) -> pd.DataFrame:
    """Validate the flow table; return the rows with known ids and finite quantity.

    The result has the flow columns plus integer positions ``s``, ``r``, ``p``
    of the site, region and product in their tables.
    """
    missing = [c for c in FLOW_COLUMNS if c not in raw.columns]
    if missing:
        violations.append(f"flows table lacks column(s) {', '.join(missing)}; expected {', '.join(FLOW_COLUMNS)}")
        raw = pd.DataFrame(columns=list(FLOW_COLUMNS))
    flows = raw[list(FLOW_COLUMNS)].reset_index(drop=True)
    flows["mode"] = raw["mode"].astype(str).to_numpy() if "mode" in raw.columns else "road"
    flows["quantity"] = pd.to_numeric(flows["quantity"], errors="coerce").astype(float)
    keep = np.ones(len(flows), dtype=bool)
    for column, table, what in (
        ("from", network.sites, "site"),
        ("to", network.regions, "region"),
        ("product", network.products, "product"),
    ):
        known = flows[column].isin(table.index).to_numpy()
        if not known.all():
            unknown = [repr(i) for i in pd.unique(flows.loc[~known, column])]
            violations.append(f"{int((~known).sum())} flow(s) name unknown {what} id(s): {_listed(unknown)}")
        keep &= known
    quantity = flows["quantity"].to_numpy()
    bad = ~np.isfinite(quantity)
    if bad.any():
        rows = flows[bad]
        violations.append(f"{int(bad.sum())} flow(s) have a missing or non-finite quantity, e.g. "
                          f"{rows['from'].iloc[0]} -> {rows['to'].iloc[0]} ({rows['product'].iloc[0]}): "
                          f"{raw['quantity'].iloc[int(np.flatnonzero(bad)[0])]!r}")
    keep &= ~bad
    negative = quantity < 0
    for site, region, product, q in flows.loc[negative, list(FLOW_COLUMNS)].itertuples(index=False):
        violations.append(f"flow {site} -> {region} ({product}) has negative quantity {fmt_num(q)} "
                          "units per period")
    dup = flows.duplicated(subset=["from", "to", "product", "mode"], keep="first").to_numpy() & keep
    if dup.any():
        pairs = [f"{r['from']} -> {r['to']} ({r['product']})" for _, r in flows[dup].iterrows()]
        violations.append(f"{len(pairs)} duplicate flow row(s) for the same (from, to, product, mode): "
                          f"{_listed(pairs)}")
    flows = flows[keep].reset_index(drop=True)
    flows["s"] = network.sites.index.get_indexer(flows["from"])
    flows["r"] = network.regions.index.get_indexer(flows["to"])
    flows["p"] = network.products.index.get_indexer(flows["product"])
    return flows


def _demand_by_pair(network: Network) -> pd.Series:
    """Demand in units per period, indexed by (region, product), zero rows dropped."""
    d = network.demand.groupby(["region", "product"], sort=False)["quantity"].sum().astype(float)
    return d[d != 0.0]


def _open_mask(network: Network, open_sites: list[str], violations: list[str]) -> np.ndarray:
    """Boolean mask over the site table of the (known) open sites."""
    ids = pd.Series(list(open_sites), dtype=object)
    unknown = ids[~ids.isin(network.sites.index)]
    if len(unknown):
        violations.append(f"open_sites names unknown site id(s): {_listed(list(map(repr, unknown)))}")
    repeated = pd.unique(ids[ids.duplicated()])
    if len(repeated):
        violations.append(f"open_sites lists site(s) more than once: {_listed(list(repeated))}")
    return network.sites.index.isin(ids).astype(bool)


def _check_statuses(sites: pd.DataFrame, is_open: np.ndarray, violations: list[str]) -> None:
    """Forced-open sites must be open and forced-closed sites must not."""
    status = sites["status"].to_numpy()
    shut = sites.index[(status == "forced_open") & ~is_open]
    if len(shut):
        violations.append(f"site(s) with status forced_open are not open: {_listed(shut)}")
    opened = sites.index[(status == "forced_closed") & is_open]
    if len(opened):
        violations.append(f"site(s) with status forced_closed are open: {_listed(opened)}")


def _check_counts(settings: Settings, n_open: int, violations: list[str]) -> None:
    """Number of open sites against min_sites, max_sites and exact_sites."""
    lo, hi, exact = settings.min_sites, settings.max_sites, settings.exact_sites
    if lo is not None and n_open < lo:
        violations.append(f"{n_open} site(s) open but min_sites = {lo}")
    if hi is not None and n_open > hi:
        violations.append(f"{n_open} site(s) open but max_sites = {hi}")
    if exact is not None and n_open != exact:
        violations.append(f"{n_open} site(s) open but exact_sites = {exact}")


def _check_demand(demand: pd.Series, flows: pd.DataFrame, rel_tol: float, violations: list[str]) -> float:
    """Every (region, product) pair receives its demand; nothing goes where there is none.

    Returns:
        The largest |served - demand|, units per period.
    """
    served = flows.groupby(["to", "product"], sort=False)["quantity"].sum()
    served.index = served.index.set_names(["region", "product"])
    both = pd.concat({"demand": demand, "served": served}, axis=1).fillna(0.0)
    if both.empty:
        return 0.0
    err = both["served"] - both["demand"]
    tol = rel_tol * np.maximum(1.0, both["demand"].abs())
    for (region, product), row in both[err.abs() > tol].iterrows():
        d, s = row["demand"], row["served"]
        if d == 0.0:
            violations.append(f"region {region}, product {product}: {fmt_num(s)} units per period shipped "
                              "but there is no demand")
        elif s < d:
            violations.append(f"region {region}, product {product}: demand {fmt_num(d)} units per period, "
                              f"served {fmt_num(s)} (short by {fmt_num(d - s)})")
        else:
            violations.append(f"region {region}, product {product}: demand {fmt_num(d)} units per period, "
                              f"served {fmt_num(s)} (over by {fmt_num(s - d)})")
    return float(err.abs().max())


def _on_link(flows: pd.DataFrame, links: pd.DataFrame) -> np.ndarray:
    """Which flows use a site -> region link rather than the distance-based lane.

    A flow whose mode is not ``road`` names a link.  A ``road`` flow names the
    link of mode ``road`` when links.csv has one for its pair: such a link is the
    pair's road lane, in place of the distance-based one.
    """
    on_link = (flows["mode"] != ROAD).to_numpy(dtype=bool, copy=True)
    if len(flows):
        keys = pd.MultiIndex.from_arrays([flows["from"], flows["to"], flows["mode"]])
        on_link |= keys.isin(links.index[(links["kind"] == "outbound").to_numpy()])
    return on_link


def _check_outbound_mode(network: Network, flows: pd.DataFrame, violations: list[str]) -> None:
    """Under ``transport: outbound: links_only`` only site -> region links serve regions."""
    if network.settings.transport.outbound != "links_only":
        return
    road = flows[~flows["on_link"].to_numpy(dtype=bool)]
    if len(road):
        lanes = [f"{a} -> {b} ({c})" for a, b, c in road[["from", "to", "product"]].itertuples(index=False)]
        violations.append(f"{len(road)} flow(s) use a distance-based road lane, but transport outbound is "
                          f"links_only (only site -> region links may serve regions): {_listed(lanes)}")


def _throughput(network: Network, flows: pd.DataFrame, sent_on: dict[str, float]) -> np.ndarray:
    """Volume units per period each site handles: shipped to regions plus sent on to other sites."""
    volume = network.products["volume"].to_numpy(dtype=float)
    to_regions = np.bincount(flows["s"].to_numpy(dtype=int),
                             weights=flows["quantity"].to_numpy() * volume[flows["p"].to_numpy(dtype=int)],
                             minlength=len(network.sites))
    onward = pd.Series(sent_on, dtype=float).reindex(network.sites.index).fillna(0.0).to_numpy()
    return to_regions + onward


def _check_capacity(network: Network, throughput: np.ndarray, is_open: np.ndarray, rel_tol: float,
                    violations: list[str]) -> float:
    """Throughput (volume units per period) of every open site within its capacity.

    Returns:
        The largest excess over capacity, volume units per period (0 if none).
    """
    capacity = network.sites["capacity"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        excess = np.where(is_open & np.isfinite(capacity), throughput - capacity, -np.inf)
    over = np.flatnonzero(excess > rel_tol * np.maximum(1.0, np.abs(capacity)))
    for i in over:
        violations.append(f"site {network.sites.index[i]}: throughput {fmt_num(throughput[i])} volume units per "
                          f"period exceeds capacity {fmt_num(capacity[i])} (by {fmt_num(excess[i])})")
    return float(max(0.0, excess.max())) if len(excess) else 0.0


def _not_open_decision(status: str) -> str:
    """The decision word of a site the plan does not open: ``close`` (existing or forced closed) or ``unused``."""
    return "close" if status in ("existing", "forced_closed") else "unused"


def _check_closed_sources(network: Network, flows: pd.DataFrame, is_open: np.ndarray, region_demand: pd.Series,
                          rel_tol: float, violations: list[str]) -> None:
    """Per region: all flows from sites that are not open, together, within the region's tolerance."""
    closed = flows[~is_open[flows["s"].to_numpy(dtype=int)]]
    status = network.sites["status"]
    for region, group in closed.groupby("to", sort=True):
        units = float(group["quantity"].sum())
        if units > rel_tol * max(1.0, float(region_demand.get(region, 0.0))):
            senders = [f"{site} ({_not_open_decision(status[site])})" for site in pd.unique(group["from"])]
            violations.append(f"region {region} receives {fmt_num(units)} units per period from site(s) the plan "
                              f"does not open or keep: {_listed(senders)}")


def _check_single_sourcing(flows: pd.DataFrame, region_demand: pd.Series, rel_tol: float,
                           violations: list[str]) -> None:
    """Per region: all flows over its secondary lanes (every site and mode but the one carrying the most),
    together, within the region's tolerance."""
    by_lane = flows.groupby(["to", "from", "mode"], sort=True)["quantity"].sum()
    for region, sent in by_lane.groupby(level="to", sort=True):
        secondary = float(sent.sum() - sent.max())
        if secondary > rel_tol * max(1.0, float(region_demand.get(region, 0.0))):
            used = sent[sent.to_numpy() > 0].index
            lanes = [f"{site} by {mode}" for site, mode in zip(used.get_level_values("from"),
                                                               used.get_level_values("mode"))]
            violations.append(f"region {region} is served over {len(lanes)} lanes ({_listed(lanes)}) but "
                              "single_sourcing is on: one site and one mode for all its products (secondary lanes "
                              f"carry {fmt_num(secondary)} units per period)")


def _road_km(network: Network, flows: pd.DataFrame) -> np.ndarray:
    """Road km of each flow's lane (great circle x circuity), NaN where a coordinate is missing."""
    s, r = flows["s"].to_numpy(dtype=int), flows["r"].to_numpy(dtype=int)
    sites, regions = network.sites, network.regions
    km = great_circle_km(network, sites["lat"].to_numpy(dtype=float)[s], sites["lon"].to_numpy(dtype=float)[s],
                         regions["lat"].to_numpy(dtype=float)[r], regions["lon"].to_numpy(dtype=float)[r])
    return km * network.settings.circuity


def _check_service_distance(network: Network, flows: pd.DataFrame, lane_km: np.ndarray,
                            violations: list[str]) -> None:
    """Every used lane with known length is within ``max_service_km``."""
    limit = network.settings.max_service_km
    if limit is None:
        return
    beyond = (lane_km > limit + DISTANCE_TOL_KM) & ~flows["on_link"].to_numpy(dtype=bool)
    too_long = flows[beyond].assign(km=lane_km[beyond])
    for (site, region), group in too_long.groupby(["from", "to"], sort=False):
        violations.append(f"lane {site} -> {region} is {fmt_num(group['km'].iloc[0])} road km, "
                          f"beyond max_service_km = {fmt_num(limit)} km")


def _recost(network: Network, flows: pd.DataFrame, lane_km: np.ndarray, throughput: np.ndarray,
            is_open: np.ndarray, links: pd.DataFrame, violations: list[str]) -> dict[str, float]:
    """Cost components of the plan (but inbound and transfer), currency per period, from the raw tables.

    ``throughput`` is each site's volume units per period (to regions and sent on), for handling.
    """
    sites, products, settings = network.sites, network.products, network.settings
    s, r, p = (flows[c].to_numpy(dtype=int) for c in ("s", "r", "p"))
    q = flows["quantity"].to_numpy(dtype=float)
    matrix = network.unit_shipping_cost
    if matrix is not None:
        matrix = np.asarray(matrix, dtype=float)
        expected = (len(sites), len(network.regions))
        if matrix.shape != expected:
            violations.append(f"unit_shipping_cost has shape {matrix.shape}, expected {expected} (sites x regions)")
            unit_cost = np.full(len(q), math.nan)
        else:
            unit_cost = matrix[s, r]
    else:
        unit_cost = lane_km * products["shipping_cost_per_km"].to_numpy(dtype=float)[p]
    on_link = flows["on_link"].to_numpy(dtype=bool)
    if on_link.any():
        keys = list(zip(flows["from"][on_link], flows["to"][on_link], flows["mode"][on_link]))
        known = np.array([k in links.index for k in keys])
        for site, region, mode in [k for k, ok in zip(keys, known) if not ok][:LISTED_IDS]:
            violations.append(f"flow {site} -> {region} uses mode {mode}, but links.csv has no such link "
                              "(or it touches a forced-closed site)")
        per_volume = np.array([links.loc[k, "cost_per_volume"] if ok else math.nan for k, ok in zip(keys, known)])
        unit_cost = unit_cost.astype(float).copy()
        unit_cost[on_link] = per_volume * products["volume"].to_numpy(dtype=float)[p[on_link]]
    unknown = flows[~np.isfinite(unit_cost) & ~on_link]  # unknown links are reported above
    if len(unknown) and matrix is None:
        lanes = [f"{a} -> {b}" for a, b in unknown[["from", "to"]].drop_duplicates().itertuples(index=False)]
        violations.append(f"shipping cost unknown on lane(s) {_listed(lanes)}: a coordinate is missing "
                          "and there is no unit_shipping_cost")
    holding_per_unit = (products["unit_value"].to_numpy(dtype=float) * products["holding_rate"].to_numpy(dtype=float)
                        * settings.days_of_cover / 365.0)
    existing = (sites["status"] == "existing").to_numpy()
    forced_closed = (sites["status"] == "forced_closed").to_numpy()
    if settings.inventory.model == "pooled":
        holding = sum(pooled_holding(network, flows, is_open, links))
    else:
        holding = float(np.sum(q * holding_per_unit[p]))
    return {
        "shipping": float(np.sum(q * unit_cost)),
        "fixed": float(sites["fixed_cost"].to_numpy(dtype=float)[is_open].sum()),
        "handling": float(np.sum(throughput * sites["handling_cost"].to_numpy(dtype=float))),
        "holding": holding,
        "closing": float(sites["closing_cost"].to_numpy(dtype=float)[(existing & ~is_open) | forced_closed].sum())
        / settings.closing_horizon,
    }


def _check_claims(plan: Plan, costs: dict[str, float], objective: float, rel_tol: float,
                  violations: list[str]) -> None:
    """Claimed components and objective against the recomputed ones; components sum to the objective."""
    tol = rel_tol * max(1.0, abs(objective)) if math.isfinite(objective) else 0.0
    for name in COST_COMPONENTS:
        if name not in plan.costs:
            if name in SUPPLY_COMPONENTS and abs(costs[name]) <= tol:
                continue  # plans of single-echelon networks may leave out the supply-side components
            violations.append(f"plan.costs lacks the {name} component")
            continue
        claimed = float(plan.costs[name])
        if not abs(claimed - costs[name]) <= tol:
            violations.append(f"{name} cost claimed {fmt_num(claimed)} but recomputed {fmt_num(costs[name])} "
                              f"currency per period (difference {claimed - costs[name]:.6g}, tolerance {tol:.3g})")
    extra = [k for k in plan.costs if k not in COST_COMPONENTS]
    if extra:
        violations.append(f"plan.costs has unknown component(s) {_listed(extra)}; "
                          f"expected {', '.join(COST_COMPONENTS)}")
    claimed_sum = float(sum(float(v) for v in plan.costs.values()))
    if not abs(claimed_sum - float(plan.objective)) <= tol:
        violations.append(f"claimed components sum to {fmt_num(claimed_sum)} but the claimed objective is "
                          f"{fmt_num(float(plan.objective))} currency per period")
    if not abs(float(plan.objective) - objective) <= tol:
        violations.append(f"objective claimed {fmt_num(float(plan.objective))} but recomputed {fmt_num(objective)} "
                          f"currency per period (difference {float(plan.objective) - objective:.6g})")
