"""Results: the typed outcome of a solve, as tidy tables keyed by the dataset's ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer import outputs
from optimizer.checker import CheckReport
from optimizer.network import Network
from optimizer.plan import FLOW_COLUMNS, ROUTE_COLUMNS, Plan
from optimizer.solvers.base import Status, Termination, bound_exceeds

#: Columns of :attr:`Result.sites`.
SITE_COLUMNS = outputs.SITES.names

#: The decisions of :func:`site_table`: a candidate opened (or a forced-open site), an existing site kept, a
#: site that operates today closed (an existing site the plan closes, or a forced-closed site that pays a
#: closing cost), and a site not used (a candidate never opened, or a forced-closed site without closing cost).
DECISIONS = ("open", "keep", "close", "unused")


@dataclass
class Result:
    """The outcome of :func:`optimizer.solve`.

    Attributes:
        status: Outcome (``optimal``, ``feasible``, ``no_solution``, ``infeasible``).
        solver: Backend that produced it.
        termination: Why the solve stopped (``optimal``, ``gap_limit``, ``time_limit``, ``round_limit``,
            ``interrupted``, ``infeasible``, ``unbounded``, ``numerical``), ``None`` if unknown.
        objective: Total cost of the plan, currency per period (``None`` without a plan).
        bound: Best proven lower bound on the total cost (``None`` if unknown).
        gap: (objective - bound) / |objective| (``None`` if unknown).
        build_seconds: Time to build the model.
        solve_seconds: Time spent in the solver.
        costs: Cost components, currency per period, summing to ``objective``.
        open_sites: Ids of the sites open in the plan.
        flows: Tidy flow table (``from``, ``to``, ``product``, ``quantity`` in units per period, ``mode``).
        routes: How stock reaches each site from suppliers (:data:`~optimizer.plan.ROUTE_COLUMNS`);
            empty without suppliers.
        sites: One row per site: status, decision (open / keep / close / unused),
            throughput (volume units per period), capacity and utilisation (fraction).
        stock: Stock per (site, product): cycle and safety stock (units), reorder point, days of
            cover and their holding cost (currency per period); see :func:`optimizer.stock.stock_table`.
        cost_details: Breakdown of components: ``holding`` = ``{cycle, safety}`` (currency per
            period, summing to ``costs["holding"]``) and, in the pooled model, its ``approximation_error``.
        kpis: Key performance indicators (see :func:`optimizer.kpis.kpis`).
        check: The independent checker's report (``None`` when not run or no plan).
        messages: Explanations (why infeasible, why no plan, solver notes).
        model_size: Number of variables, integer variables and constraints.
        network_name: Name of the solved network.
        strategy: The solve strategy that ran (``compact``, ``sites`` or ``decompose``, see
            :mod:`optimizer.strategies.select`).
        site_costs: Each cost component charged to the sites (index: site id; currency per period;
            :func:`optimizer.model.attribution.site_costs`), empty without a plan.
    """

    status: Status
    solver: str
    termination: Termination | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    costs: dict[str, float] = field(default_factory=dict)
    open_sites: list[str] = field(default_factory=list)
    flows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(FLOW_COLUMNS)))
    routes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ROUTE_COLUMNS)))
    stock: pd.DataFrame = field(default_factory=pd.DataFrame)
    cost_details: dict[str, dict[str, float]] = field(default_factory=dict)
    kpis: dict[str, float] = field(default_factory=dict)
    sites: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(SITE_COLUMNS)))
    check: CheckReport | None = None
    messages: list[str] = field(default_factory=list)
    model_size: dict[str, int] = field(default_factory=dict)
    network_name: str = ""
    strategy: str = "compact"
    site_costs: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def has_plan(self) -> bool:
        """True when the result carries a plan (optimal or feasible)."""
        return self.status.has_plan

    @property
    def bound_violated(self) -> bool:
        """True when the reported lower bound lies above the plan's cost (beyond the solvers' tolerance,
        :data:`optimizer.solvers.base.BOUND_TOLERANCE`): an error, reported as it is and never clipped."""
        return bound_exceeds(self.objective, self.bound)

    @property
    def plan(self) -> Plan:
        """The plan in checker form."""
        return Plan(open_sites=list(self.open_sites), flows=self.flows, costs=dict(self.costs),
                    objective=float(self.objective or 0.0), routes=self.routes)

    @property
    def transfers(self) -> pd.DataFrame:
        """The routes that pass from site to site (paths longer than supplier -> site)."""
        return self.routes[self.routes["path"].map(len) > 2] if len(self.routes) else self.routes

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``--json`` document)."""
        return {
            "network": self.network_name,
            "status": self.status.value,
            "termination": None if self.termination is None else self.termination.value,
            "objective": _num(self.objective),
            "bound": _num(self.bound),
            "gap": _num(self.gap),
            "solver": self.solver,
            "strategy": self.strategy,
            "build_seconds": round(self.build_seconds, 6),
            "solve_seconds": round(self.solve_seconds, 6),
            "costs": {k: _num(v) for k, v in self.costs.items()},
            "cost_details": {k: {n: _num(v) for n, v in d.items()} for k, d in self.cost_details.items()},
            "kpis": {k: _num(v) for k, v in self.kpis.items()},
            "open_sites": list(self.open_sites),
            "flows": [_row(r) for r in self.flows.to_dict(orient="records")],
            "routes": [_row(r) for r in self.routes.to_dict(orient="records")],
            "transfers": [_row(r) for r in self.transfers.to_dict(orient="records")],
            "sites": [_row(r) for r in self.sites.to_dict(orient="records")],
            "stock": [_row(r) for r in self.stock.to_dict(orient="records")],
            "check": None if self.check is None else {"ok": self.check.ok, "violations": list(self.check.violations)},
            "messages": list(self.messages),
            "model_size": dict(self.model_size),
        }


def _num(value: float | None) -> float | None:
    """JSON-safe number: ``None`` for missing or non-finite values."""
    if value is None or not np.isfinite(value):
        return None
    return float(value)


def _row(record: dict[str, Any]) -> dict[str, Any]:
    """Make one table row JSON-safe (numpy scalars to Python, inf to None)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, (bool, np.bool_)):
            out[key] = bool(value)
        elif isinstance(value, (int, float, np.integer, np.floating)):
            out[key] = _num(float(value))
        else:
            out[key] = value
    return out


def site_table(network: Network, plan: Plan) -> pd.DataFrame:
    """Per-site decisions and utilisation for ``plan``.

    ``decision`` is one of :data:`DECISIONS`: ``keep`` for an open existing site, ``open`` for any other open
    site, ``close`` for an existing site the plan closes and for a ``forced_closed`` site with a closing cost
    (a closure decided outside the model, which the plan pays for), ``unused`` for every other closed site (a
    candidate never opened, or a ``forced_closed`` site with no closing cost: nothing operated there).
    ``throughput_volume`` is what the site ships to its regions plus ``transit_volume``, what it sends on to
    other sites (both volume units per period); ``utilisation`` is throughput / capacity.

    Args:
        network: The network solved.
        plan: The plan.

    Returns:
        One row per site with :data:`SITE_COLUMNS`.
    """
    sites = network.sites
    is_open = sites.index.isin(plan.open_sites)
    status = sites["status"].to_numpy()
    existing = status == "existing"
    pays = (status == "forced_closed") & (sites["closing_cost"].to_numpy(dtype=float) > 0)
    decision = np.where(is_open, np.where(existing, "keep", "open"), np.where(existing | pays, "close", "unused"))
    volume = network.products["volume"]
    shipped = (
        plan.flows.assign(v=plan.flows["quantity"] * plan.flows["product"].map(volume).to_numpy(dtype=float))
        .groupby("from")["v"].sum()
        .reindex(sites.index, fill_value=0.0)
        .to_numpy(dtype=float)
    )
    transit = transit_volume(network, plan.routes)
    throughput = shipped + transit
    capacity = sites["capacity"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(np.isfinite(capacity) & (capacity > 0), throughput / capacity, np.nan)
    return pd.DataFrame(
        {
            "site": sites.index.astype(str),
            "name": sites["name"].to_numpy(),
            "status": status,
            "decision": decision,
            "open": is_open,
            "throughput_volume": throughput,
            "transit_volume": transit,
            "capacity": capacity,
            "utilisation": utilisation,
        },
        columns=list(SITE_COLUMNS),
    )


def transit_volume(network: Network, routes: pd.DataFrame) -> np.ndarray:
    """Volume (volume units per period) each site sends on to other sites: the routes passing through it.

    Args:
        network: The network.
        routes: Route table (:data:`~optimizer.plan.ROUTE_COLUMNS`).

    Returns:
        One value per site, in the order of ``network.sites``.
    """
    out = np.zeros(len(network.sites))
    if routes is None or not len(routes):
        return out
    volume = routes["quantity"].to_numpy(dtype=float) * routes["product"].map(network.products["volume"]).to_numpy(
        dtype=float)
    via = routes["path"].map(lambda path: list(path[1:-1]))
    counts = via.map(len).to_numpy()
    nodes = np.array([node for path in via for node in path], dtype=object)
    if not len(nodes):
        return out
    idx = network.sites.index.get_indexer(nodes)
    np.add.at(out, idx[idx >= 0], np.repeat(volume, counts)[idx >= 0])
    return out
