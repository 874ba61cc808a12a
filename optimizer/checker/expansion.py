"""The independent checker of an expansion study's plan.

:func:`check_study` verifies, from the study's raw data (its period networks and per-site options)
and nothing of the model side:

* **phasing**: events follow from the held states (a site opens when it becomes held, closes when
  it stops being held; sites existing or forced open in the first period are held before the
  study, and so are sites forced closed in the first period that the base dataset operates:
  existing or forced open there, or forced closed with a closing cost; they close in the first
  period and pay their closing cost there); a site serves exactly when it is held and its last
  opening is at least ``build_periods`` periods old; an opened site stays held for
  ``build_periods + min_open_periods`` periods; no closing before ``earliest_close``; no reopening
  where ``may_reopen`` is false; modules are whole, non-negative, at most ``max_modules`` in total,
  only where ``module_size`` > 0 and only while the site is held; forced statuses of each period;
  committed decisions;
* **every period's plan** with the single-period checker (:func:`optimizer.checker.core.check`) on
  the period's network with each site's capacity raised by its modules (every period's demand,
  capacity, single sourcing, service distance, supply side and re-costing), where only the
  forced statuses of the period bind and closing is charged by the study, not per period; demand
  reported unmet (``unmet_penalty``) is taken out of the demand it must serve (its standard
  deviation scaled alike), and must lie between 0 and the demand;
* **budgets**: capex per period and in total, recomputed from the events and ``expansion.csv``;
* **net present cost**: recomputed per component from the per-period re-costing, the discount
  rate, the residual values and the closing costs, against the claimed components and objective.

:func:`check_uncertain` checks a stochastic study's plan: each demand path's plan as above (on the
path's own networks), **non-anticipativity** (held sites and modules of the first
``shared_periods`` periods identical on every path, so openings and closings are too) and the
expected net present cost (probability-weighted recomputed costs) against the claimed one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.checker.core import CheckReport, check, fmt_num
from optimizer.expansion.study import ExpansionPlan, Study
from optimizer.network import Network

#: Days per year of the checker's own money arithmetic.
YEAR_DAYS = 365.0


@dataclass
class StudyCheck:
    """What the study checker found.

    Attributes:
        ok: No violation.
        violations: One sentence per violation.
        costs: Recomputed net present cost per component, currency.
        objective: Recomputed net present cost, currency.
        periods: The single-period report of each period.
        capex: Recomputed undiscounted capex per period, currency.
    """

    ok: bool
    violations: list[str]
    costs: dict[str, float] = field(default_factory=dict)
    objective: float = math.nan
    periods: list[CheckReport] = field(default_factory=list)
    capex: list[float] = field(default_factory=list)


def check_study(study: Study, plan: ExpansionPlan, *, rel_tol: float = 1e-6) -> StudyCheck:
    """Verify a study plan against the study's raw data and re-cost it (see the module docstring).

    Args:
        study: The study.
        plan: The plan with its claimed costs.
        rel_tol: Relative tolerance, as in :func:`optimizer.checker.core.check`.

    Returns:
        The report; ``ok`` is True when nothing was found.
    """
    violations: list[str] = []
    names = [p.name for p in study.periods]
    sites = study.periods[0].network.sites
    T, ids = len(names), sites.index
    try:
        held = plan.held.loc[ids, names].to_numpy(dtype=bool)
        serving = plan.serving.loc[ids, names].to_numpy(dtype=bool)
        modules = plan.modules.loc[ids, names].to_numpy(dtype=float)
    except KeyError as missing:
        return StudyCheck(False, [f"the plan's site x period tables lack {missing}"])
    before = _operating_before(study, sites)
    previous = np.column_stack([before, held[:, :-1]])
    opens, closes = held & ~previous, previous & ~held
    opts = study.options.loc[ids]
    _check_phasing(study, opts, names, held, serving, opens, closes, before, violations)
    size = opts["module_size"].to_numpy(dtype=float)
    _check_modules(ids, names, opts, size, modules, held, violations)
    _check_committed(study, ids, names, opens, closes, modules, violations)

    capex = opts["opening_capex"].to_numpy(dtype=float) @ opens + opts["module_capex"].to_numpy(dtype=float) @ modules
    for t in range(T):
        limit = float(study.budget_per_period[t]) if len(study.budget_per_period) else math.inf
        if capex[t] > limit + rel_tol * max(1.0, limit):
            violations.append(f"period {names[t]}: capex {fmt_num(capex[t])} exceeds its budget {fmt_num(limit)}")
    if capex.sum() > study.budget_total + rel_tol * max(1.0, study.budget_total):
        violations.append(f"total capex {fmt_num(capex.sum())} exceeds the total budget {fmt_num(study.budget_total)}")

    rate, total_years = study.discount_rate, sum(p.years for p in study.periods)
    costs = {name: 0.0 for name in ("shipping", "fixed", "handling", "holding", "closing", "inbound", "transfer")}
    costs.update(capex=0.0, unmet=0.0)
    reports = []
    for t, period in enumerate(study.periods):
        net = period.network
        report_plan = plan.plans[t]
        served = {str(s) for s in ids[serving[:, t]]}
        if set(map(str, report_plan.open_sites)) != served:
            violations.append(f"period {names[t]}: the plan's open sites differ from the sites that serve")
        unmet = plan.unmet[t] if t < len(plan.unmet) else pd.DataFrame(columns=["region", "product", "quantity"])
        checked, unmet_units = _period_network(net, size * modules[:, : t + 1].sum(axis=1), unmet, study, names[t],
                                               violations)
        report = check(checked, report_plan, rel_tol=rel_tol)
        reports.append(report)
        violations += [f"period {names[t]}: {v}" for v in report.violations]
        years = np.arange(period.start_years, period.start_years + period.years, dtype=float)
        weight = float(np.sum((1.0 + rate) ** -years)) * YEAR_DAYS / net.settings.period_days
        for name, value in report.costs.items():
            costs[name] += weight * value
        costs["unmet"] += weight * unmet_units
        discount = (1.0 + rate) ** -period.start_years
        costs["closing"] += discount * float(net.sites["closing_cost"].to_numpy(dtype=float) @ closes[:, t])
        residual = max(0.0, 1.0 - (total_years - period.start_years) / study.asset_life_years)
        costs["capex"] += capex[t] * (discount - residual * (1.0 + rate) ** -total_years)
    objective = float(sum(costs.values()))
    tol = rel_tol * max(1.0, abs(objective))
    for name, value in costs.items():
        claimed = float(plan.npv_costs.get(name, 0.0))
        if not abs(claimed - value) <= tol:
            violations.append(f"net present {name} cost claimed {fmt_num(claimed)} but recomputed {fmt_num(value)}")
    if not abs(float(plan.objective) - objective) <= tol:
        violations.append(f"net present cost claimed {fmt_num(float(plan.objective))} but recomputed "
                          f"{fmt_num(objective)}")
    return StudyCheck(not violations, violations, costs, objective, reports, [float(v) for v in capex])


def check_uncertain(study: Study, plans: list[ExpansionPlan], *, expected_cost: float,
                    rel_tol: float = 1e-6) -> StudyCheck:
    """Verify a stochastic study's plan: every path's plan, the shared first stage, the expected cost.

    Args:
        study: The study, with its ``uncertainty``.
        plans: One plan per demand path, in the study's path order.
        expected_cost: The claimed expected net present cost, currency.
        rel_tol: Relative tolerance.

    Returns:
        The report; ``objective`` is the recomputed expected net present cost, ``periods`` the
        single-period reports of every path in turn.
    """
    unc = study.uncertainty
    if unc is None or len(plans) != len(unc.paths):
        return StudyCheck(False, ["the plan does not have one plan per demand path of the study"])
    violations: list[str] = []
    reports: list[CheckReport] = []
    objectives = []
    for path, plan in zip(unc.paths, plans):
        checked = check_study(dataclasses.replace(study, periods=path.periods, uncertainty=None), plan, rel_tol=rel_tol)
        violations += [f"path {path.name}: {v}" for v in checked.violations]
        reports += checked.periods
        objectives.append(checked.objective)
    names = [p.name for p in study.periods]
    shared = names[:unc.shared_periods]
    first = plans[0]
    for path, plan in zip(unc.paths[1:], plans[1:]):
        for table in ("held", "modules"):
            mine, theirs = getattr(plan, table), getattr(first, table)
            try:
                differs = mine.loc[theirs.index, shared].to_numpy() != theirs.loc[:, shared].to_numpy()
            except KeyError as missing:
                violations.append(f"path {path.name}: the plan's {table} table lacks {missing}")
                continue
            for i, t in zip(*np.nonzero(differs)):
                violations.append(f"non-anticipativity: site {theirs.index[i]}, period {shared[t]}: {table} is "
                                  f"{mine.loc[theirs.index[i], shared[t]]} on path {path.name} but "
                                  f"{theirs.iat[i, t]} on path {unc.paths[0].name}; the first "
                                  f"{unc.shared_periods} period(s) are decided before the path is known")
    expected = float(sum(p.probability * o for p, o in zip(unc.paths, objectives)))
    if not abs(expected_cost - expected) <= rel_tol * max(1.0, abs(expected)):
        violations.append(f"expected net present cost claimed {fmt_num(expected_cost)} but recomputed "
                          f"{fmt_num(expected)}")
    return StudyCheck(not violations, violations, {}, expected, reports, [])


def _operating_before(study: Study, sites: pd.DataFrame) -> np.ndarray:
    """Sites operating before the study, shape (S,): existing or forced open in the first period, or forced
    closed there while the base dataset (before the study's overrides) operates them (existing or forced
    open, or forced closed with a closing cost, a closure decided outside the model)."""
    status = sites["status"].to_numpy()
    raw = sites if study.base_sites is None else study.base_sites.reindex(sites.index)
    raw_status = raw["status"].to_numpy()
    cost = np.nan_to_num(raw["closing_cost"].to_numpy(dtype=float))
    operated = np.isin(raw_status, ["existing", "forced_open"]) | ((raw_status == "forced_closed") & (cost > 0))
    return np.isin(status, ["existing", "forced_open"]) | ((status == "forced_closed") & operated)


def _check_phasing(study: Study, opts: pd.DataFrame, names: list[str], held: np.ndarray, serving: np.ndarray,
                   opens: np.ndarray, closes: np.ndarray, before: np.ndarray, violations: list[str]) -> None:
    """Serving after the build, minimum time open, earliest close, reopening and forced statuses."""
    ids = opts.index
    T = len(names)
    build = opts["build_periods"].to_numpy(dtype=int)
    span = build + opts["min_open_periods"].to_numpy(dtype=int)
    earliest = opts["earliest_close"].to_numpy(dtype=int)
    reopen = opts["may_reopen"].to_numpy(dtype=bool)
    for i, site in enumerate(ids):
        for t in range(T):
            recent = any(opens[i, k] for k in range(max(0, t - build[i] + 1), t + 1))
            should = held[i, t] and not recent
            if serving[i, t] != should:
                why = "is not held" if not held[i, t] else f"opened within its {build[i]} build period(s)"
                violations.append(f"site {site}, period {names[t]}: serves = {bool(serving[i, t])} but it "
                                  + (why if serving[i, t] else "is held and built"))
            if opens[i, t] and not held[i, t: min(T, t + span[i])].all():
                violations.append(f"site {site} opened in {names[t]} is not held for {span[i]} period(s) "
                                  f"({build[i]} to build + {span[i] - build[i]} open)")
            if closes[i, t] and t < earliest[i]:
                violations.append(f"site {site} closes in {names[t]}, before its earliest_close {names[earliest[i]]}")
        if not reopen[i] and opens[i].sum() > (0 if before[i] else 1):
            violations.append(f"site {site} opens {int(opens[i].sum())} time(s)"
                              + (" although it operated before the study" if before[i] else "")
                              + " but may_reopen is false")
    for t, period in enumerate(study.periods):
        status = period.network.sites.loc[ids, "status"].to_numpy()
        for site in ids[(status == "forced_open") & ~serving[:, t]]:
            violations.append(f"site {site} is forced_open in {names[t]} but does not serve")
        for site in ids[(status == "forced_closed") & serving[:, t]]:
            violations.append(f"site {site} is forced_closed in {names[t]} but serves")


def _check_modules(ids: pd.Index, names: list[str], opts: pd.DataFrame, size: np.ndarray, modules: np.ndarray,
                   held: np.ndarray, violations: list[str]) -> None:
    """Modules whole, non-negative, within max_modules, only where a module size is given and only
    bought while the site is held."""
    most = np.where(size > 0, opts["max_modules"].to_numpy(dtype=float), 0.0)
    for i in np.flatnonzero((modules < 0).any(axis=1) | (modules != np.round(modules)).any(axis=1)):
        violations.append(f"site {ids[i]}: module counts must be whole numbers >= 0")
    for i in np.flatnonzero(modules.sum(axis=1) > most):
        violations.append(f"site {ids[i]} buys {int(modules[i].sum())} module(s) but may buy {int(most[i])}")
    for i, t in zip(*np.nonzero((modules > 0) & ~held)):
        violations.append(f"site {ids[i]} buys a module in {names[t]}, when it is not held (closed)")


def _check_committed(study: Study, ids: pd.Index, names: list[str], opens: np.ndarray, closes: np.ndarray,
                     modules: np.ndarray, violations: list[str]) -> None:
    for decision in study.committed:
        i, t = ids.get_loc(decision.site), decision.period
        done = {"open": opens[i, t], "close": closes[i, t], "modules": modules[i, t] >= decision.modules}
        if not done[decision.action]:
            what = f"{decision.modules} module(s)" if decision.action == "modules" else decision.action
            violations.append(f"committed decision not honoured: {decision.site} {what} in {names[t]}")


def _period_network(net: Network, extra: np.ndarray, unmet: pd.DataFrame, study: Study, name: str,
                    violations: list[str]) -> tuple[Network, float]:
    """The network one period's plan is checked against, and the penalty of its unmet demand per period."""
    sites = net.sites.copy()
    forced = sites["status"].isin(["forced_open", "forced_closed"])
    sites.loc[~forced, "status"] = "candidate"
    sites["closing_cost"] = 0.0
    sites["capacity"] = sites["capacity"].to_numpy(dtype=float) + extra
    demand = net.demand.copy()
    penalty = 0.0
    if len(unmet):
        if study.unmet_penalty is None:
            violations.append(f"period {name}: the plan leaves demand unmet but the study has no unmet_penalty")
        key = pd.MultiIndex.from_frame(demand[["region", "product"]])
        short = unmet.groupby(["region", "product"])["quantity"].sum().reindex(key).fillna(0.0).to_numpy()
        quantity = demand["quantity"].to_numpy(dtype=float)
        if (short < -1e-9).any() or (short > quantity * (1 + 1e-9) + 1e-9).any():
            violations.append(f"period {name}: unmet demand must lie between 0 and the demand of each pair")
        served = np.clip(quantity - short, 0.0, None)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(quantity > 0, served / quantity, 0.0)
        demand["quantity"], demand["std"] = served, demand["std"].to_numpy(dtype=float) * ratio
        penalty = float(study.unmet_penalty or 0.0) * float(np.clip(short, 0.0, None).sum())
    return dataclasses.replace(net, sites=sites, demand=demand), penalty
