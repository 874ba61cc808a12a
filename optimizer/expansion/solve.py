"""Solve an expansion study: a relax-and-fix plan, the bound from the full model, the checked plan.

0. **Period floors** (:mod:`optimizer.expansion.floors`): each period's relaxed single-period network is
   solved with the single-period strategies, and its bound becomes a floor under the period's
   operating cost (a valid inequality; not with ``unmet_penalty``).
1. **Stock cuts** (pooled periods): the full model's LP relaxation is solved and the extended
   polymatroid cuts it violates are added, block by block (every cut is valid).  Its value is the
   first lower bound.
2. **Plan by relax-and-fix** over the two kinds of integer columns (:func:`_plan_heuristic`):
   the design (every period's study decisions) is chosen with the assignments relaxed, restricted
   to the sites the LP relaxation or the period floors use, and started from the floors' designs
   (or else the LP's) rounded period by period within the budgets (:func:`_rounded_design`); then
   the design is fixed and the assignments are made integer.  Each plan adds stock cuts tight at it.
   The design keeps every study decision whole (held, opening, closing, modules): the site columns
   then are too, as ``y = u - recent openings``.
3. **Full model**: when the plan is not within the gap of the bound, the whole MIP, warm-started
   from it, within what is left of the time limit.  The study's bound is always the full model's
   (its LP relaxation with the stock cuts and the floors, or its MIP bound when better), so the gap (the
   plan's exact net present cost, square roots evaluated, against that bound) is honest whatever
   the heuristic did.  A better plan it finds replaces the heuristic's.

No plan is kept that breaks the model: every candidate (the heuristic's, the full model's), its stock
columns at their exact values, must keep the model's bounds, integrality and rows
(:func:`optimizer.strategies.pooled.plan_fits`) before its cost is compared; one that does not is
dropped with a message.  A bound above the kept plan's cost is never clipped away: it is named in an
``ERROR`` message and flagged by :attr:`ExpansionResult.bound_violated` (the CLI's exit code 4).

The plan is decoded per period (flows, routes, stock from the blocks), and the independent checker
(:func:`optimizer.checker.expansion.check_study`) verifies and re-costs it.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer.checker.expansion import StudyCheck, check_study
from optimizer.expansion.floors import period_floors, with_floors
from optimizer.expansion.model import NPV_COMPONENTS, ExpansionModel, build_study_model, period_costs, with_block_cuts
from optimizer.expansion.study import DAYS_PER_YEAR, ExpansionPlan, Study
from optimizer.model.linear import LinearModel
from optimizer.plan import COST_COMPONENTS
from optimizer.solvers import get_solver
from optimizer.solvers.base import (SolveOptions, Solver, Status, Termination, bound_exceeds, proven_optimal,
                                    relative_gap)
from optimizer.strategies.pooled import plan_fits

#: Rounds of LP cut separation before the plan is searched.
LP_ROUNDS = 2
#: Relative tolerance of a violated stock cut at the LP.
LP_CUT_TOL = 1e-4
#: Relative error of the model's holding cost at a plan below which no more cuts are added.
HOLDING_TOL = 1e-6
#: Most re-solves of the assignment step for stock cuts.
STEP_ROUNDS = 3
#: A site the LP relaxation holds below this in every period is left out of the heuristic's design step.
SUPPORT_TOL = 1e-3
#: Most share of a site's capacity the design step keeps free for whole regions (single sourcing).
PACKING_MARGIN = 0.05
#: LP holding levels above which the rounded design holds a site, tried in turn for a feasible start.
ROUNDING_THRESHOLDS = (0.5, 0.25, 0.05)
#: A held site stays in the rounded design while the LP holds it at least this share of the threshold.
KEEP_SHARE = 0.25
#: Share of the target gap the design step aims for.
DESIGN_GAP_SHARE = 0.3
#: Share of the target gap the assignment step aims for.
ASSIGN_GAP_SHARE = 0.2
#: Share of the study's gap each period floor's single-period solve aims for.
FLOOR_GAP_SHARE = 0.25
#: Share of the study's time limit the period floors may take.
FLOOR_TIME_SHARE = 0.2
#: Default relative gap of a study without a mip_gap setting.
DEFAULT_GAP = 1e-4


@dataclass
class ExpansionResult:
    """The outcome of a study solve.

    Attributes:
        study: The study.
        status: ``optimal``, ``feasible``, ``infeasible`` or ``no_solution``.
        termination: Why the full model's solve stopped.
        objective: Net present cost of the plan (exact stock), currency.
        bound: Lower bound from the full model, currency.
        gap: Relative gap of ``objective`` to ``bound``.
        plan: The plan, ``None`` without one.
        costs: Net present cost per component (:data:`NPV_COMPONENTS`), summing to ``objective``.
        period_costs: Per study period: its undiscounted cost per component over the whole period
            (currency), plus ``capex`` (undiscounted, gross) and ``closing`` in the period.
        solver: Backend name.
        build_seconds: Time to build the model.
        solve_seconds: Time in the solver (all steps).
        check: The checker's verdict.
        messages: What happened, in words.
        model_size: Columns, integer columns, rows, nonzeros of the full model.
        x: The plan's solution vector (columns of :func:`~optimizer.expansion.model.build_study_model`).
    """

    study: Study
    status: Status
    termination: Termination | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    plan: ExpansionPlan | None = None
    costs: dict[str, float] = field(default_factory=dict)
    period_costs: list[dict[str, float]] = field(default_factory=list)
    solver: str = ""
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    check: StudyCheck | None = None
    messages: list[str] = field(default_factory=list)
    model_size: dict[str, int] = field(default_factory=dict)
    x: np.ndarray | None = None

    @property
    def bound_violated(self) -> bool:
        """True when the bound lies above the plan's cost (beyond the solvers' tolerance,
        :data:`optimizer.solvers.base.BOUND_TOLERANCE`): an error, reported as it is and never clipped."""
        return bound_exceeds(self.objective, self.bound)

    def budget_use(self) -> dict[str, Any] | None:
        """Capex against the budgets (:func:`budget_use`), ``None`` without a plan."""
        if not self.period_costs:
            return None
        return budget_use(self.study, [row["capex"] for row in self.period_costs], self.plan)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document (``kind: "expansion"``)."""
        study, plan = self.study, self.plan
        periods = []
        for t, period in enumerate(study.periods):
            entry: dict[str, Any] = {"name": period.name, "years": period.years}
            if plan is not None:
                caps = period_capacity(study, plan, t)
                entry.update({
                    "costs": {k: _num(v) for k, v in self.period_costs[t].items()},
                    "open_sites": list(plan.plans[t].open_sites),
                    "building_sites": [s for s in plan.held.index[plan.held.iloc[:, t] & ~plan.serving.iloc[:, t]]],
                    "opened": events(plan, t)["open"], "closed": events(plan, t)["close"],
                    "modules": {s: int(n) for s, n in plan.modules.iloc[:, t].items() if n > 0},
                    "capacity": {s: _num(caps[s]) for s in plan.plans[t].open_sites},
                    "capex": _num(self.period_costs[t]["capex"]),
                    "unmet_units": _num(float(plan.unmet[t]["quantity"].sum())),
                })
            periods.append(entry)
        return {
            "kind": "expansion",
            "study": study.name,
            "status": self.status.value,
            "termination": None if self.termination is None else self.termination.value,
            "objective": _num(self.objective),
            "bound": _num(self.bound),
            "gap": _num(self.gap),
            "solver": self.solver,
            "build_seconds": round(self.build_seconds, 6),
            "solve_seconds": round(self.solve_seconds, 6),
            "costs": {k: _num(v) for k, v in self.costs.items()},
            "budget": self.budget_use(),
            "periods": periods,
            "check": None if self.check is None else {"ok": self.check.ok, "violations": list(self.check.violations)},
            "messages": list(self.messages),
            "model_size": dict(self.model_size),
        }


@dataclass(frozen=True)
class FirstStage:
    """The decisions of a study's first ``n`` periods: held sites and modules bought (openings and
    closings follow from the held states).

    Attributes:
        held: Sites x first periods, bool.
        modules: Sites x first periods, whole numbers.
    """

    held: np.ndarray
    modules: np.ndarray

    @classmethod
    def of(cls, plan: ExpansionPlan, n: int) -> FirstStage:
        """The first ``n`` periods' decisions of ``plan``."""
        return cls(plan.held.iloc[:, :n].to_numpy(dtype=bool), plan.modules.iloc[:, :n].to_numpy(dtype=int))

    def apply(self, model: ExpansionModel) -> ExpansionModel:
        """``model`` with these decisions fixed."""
        n = self.held.shape[1]
        lower, upper = model.lp.col_lower.copy(), model.lp.col_upper.copy()
        for cols, values in ((model.u[:, :n], self.held.astype(float)), (model.m[:, :n], self.modules.astype(float))):
            lower[cols] = upper[cols] = values
        return dataclasses.replace(model, lp=dataclasses.replace(model.lp, col_lower=lower, col_upper=upper))


def budget_use(study: Study, capex: list[float], plan: ExpansionPlan | None = None) -> dict[str, Any]:
    """Capex spent against the budgets: per period and in total, with the slack and whether it binds.

    A budget *binds* when its slack leaves no room for an investment: the cheapest one (an opening
    or a module) any site could make, or, for a period's budget, one the plan makes in the next
    period (listed in ``deferred``: the slack could not have paid for it a period earlier).
    """
    opts = study.options
    prices = np.concatenate([opts["opening_capex"].to_numpy(dtype=float),
                             opts["module_capex"].to_numpy(dtype=float)[(opts["max_modules"] > 0).to_numpy()]])
    smallest = float(prices[prices > 0].min()) if (prices > 0).any() else 0.0
    made = _investments(study, plan) if plan is not None else [[] for _ in study.periods]

    def entry(limit: float, spent: float, later: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        slack = limit - spent
        deferred = [item for item in later or [] if np.isfinite(limit) and item["capex"] > slack + 1e-9]
        out = {"limit": _num(limit), "spent": float(spent), "slack": _num(slack),
               "binds": bool(np.isfinite(limit) and (slack < smallest - 1e-9 or deferred))}
        return out if later is None else {**out, "deferred": deferred}

    T = study.n_periods
    return {"smallest_investment": smallest, "total": entry(study.budget_total, float(sum(capex))),
            "per_period": [{"period": p.name, **entry(float(study.budget_per_period[t]), capex[t],
                                                      made[t + 1] if t + 1 < T else [])}
                           for t, p in enumerate(study.periods)]}


def _investments(study: Study, plan: ExpansionPlan) -> list[list[dict[str, Any]]]:
    """Per period, the plan's single investments: ``{"site", "action" (open / module), "capex"}``."""
    sites = list(plan.held.index)
    price = {kind: np.nan_to_num(study.options[f"{kind}_capex"].reindex(sites).to_numpy(dtype=float))
             for kind in ("opening", "module")}
    held = plan.held.to_numpy(dtype=bool)
    before = np.column_stack([plan.held0.astype(bool), held[:, :-1]])
    modules = plan.modules.to_numpy(dtype=int)
    out = []
    for t in range(held.shape[1]):
        items = [{"site": sites[i], "action": "open", "capex": float(price["opening"][i])}
                 for i in np.flatnonzero(held[:, t] & ~before[:, t])]
        items += [{"site": sites[i], "action": "module", "capex": float(price["module"][i])}
                  for i in np.flatnonzero(modules[:, t] > 0)]
        out.append(items)
    return out


def _num(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def events(plan: ExpansionPlan, t: int) -> dict[str, list[str]]:
    """Sites opened and closed in period ``t`` (from the held states)."""
    now = plan.held.iloc[:, t].to_numpy(dtype=bool)
    before = plan.held0 if t == 0 else plan.held.iloc[:, t - 1].to_numpy(dtype=bool)
    ids = plan.held.index
    return {"open": [str(s) for s in ids[now & ~before]], "close": [str(s) for s in ids[before & ~now]]}


def period_capacity(study: Study, plan: ExpansionPlan, t: int) -> pd.Series:
    """Capacity of every site in period ``t`` with the modules bought so far, volume units per period."""
    base = study.periods[t].network.sites["capacity"].astype(float)
    modules = plan.modules.iloc[:, : t + 1].sum(axis=1)
    return base + modules * study.options["module_size"].astype(float)


def solve_study(study: Study, *, solver: str | None = None, time_limit: float | None = None,
                mip_gap: float | None = None, threads: int | None = None, verbose: bool = False,
                run_check: bool = True, fixed: FirstStage | None = None) -> ExpansionResult:
    """Build and solve the study's MIP, decode and check its plan.

    Settings not given fall back to the first period's ``solver:`` settings.

    Args:
        study: A validated study.
        solver: Backend name.
        time_limit: Seconds for the whole solve (heuristic and full model).
        mip_gap: Relative gap at which to stop (default: :data:`DEFAULT_GAP`).
        threads: Solver threads.
        verbose: Solver logs to stderr.
        run_check: Run the independent checker.
        fixed: Decisions of the first periods to keep (a stochastic study's first stage).

    Returns:
        The result; ``gap`` compares the plan's exact net present cost with the full model's bound.
    """
    start = time.perf_counter()
    defaults = study.base.settings.solver
    backend = get_solver(solver or defaults.name)
    limit = time_limit if time_limit is not None else defaults.time_limit
    gap = mip_gap if mip_gap is not None else (defaults.mip_gap if defaults.mip_gap is not None else DEFAULT_GAP)
    options = SolveOptions(mip_gap=gap, threads=threads if threads is not None else defaults.threads,
                           verbose=verbose)
    model = build_study_model(study)
    if fixed is not None:
        model = fixed.apply(model)
    build_seconds = time.perf_counter() - start
    deadline = None if limit is None else start + limit
    result = ExpansionResult(study=study, status=Status.NO_SOLUTION, solver=backend.name, build_seconds=build_seconds)
    result.model_size = {"variables": model.lp.n_cols, "integer_variables": model.lp.n_integer,
                         "constraints": model.lp.n_rows, "nonzeros": int(model.lp.A.nnz)}
    seconds = 0.0

    def remaining() -> float | None:
        return None if deadline is None else max(1.0, deadline - time.perf_counter())

    floors = period_floors(study, solver=backend.name, mip_gap=gap * FLOOR_GAP_SHARE,
                           time_limit=None if limit is None else FLOOR_TIME_SHARE * limit, threads=options.threads)
    model, lp_bound, lp_x, spent = _lp_cuts(model, backend, options)
    seconds += spent
    if floors is not None:  # the floors' rows are dense: they enter the bound's LP, not the heuristic's MIPs
        seconds += floors.seconds
        result.messages.append(f"Period floors (single-period solves, {floors.seconds:.1f} s): "
                               + ", ".join(f"{p.name} {f:,.0f}" for p, f in zip(study.periods, floors.floor)) + ".")
        raw = backend.solve(dataclasses.replace(with_floors(model, floors).lp,
                                                integer=np.zeros(model.lp.n_cols, dtype=bool)),
                            dataclasses.replace(options, mip_gap=None))
        seconds += raw.solve_seconds
        if raw.x is not None and raw.objective is not None:
            lp_bound = max(lp_bound, raw.objective)
    model, x_heur, spent, note = _plan_heuristic(model, backend, options, remaining, lp_x,
                                                 None if floors is None else floors.serving)
    seconds += spent
    result.messages.append(note)
    bound = lp_bound
    best_x, best_obj = None, np.inf
    if x_heur is not None and _fits(model, x_heur):
        best_x, best_obj = x_heur, _exact_objective(model, x_heur)
    elif x_heur is not None:
        result.messages.append("The heuristic plan breaks a row of the study model and is not kept.")
    raw = None
    if best_x is None or relative_gap(best_obj, bound) > options.effective_gap or bound_exceeds(best_obj, bound):
        warm = None if best_x is None else _lift(model, best_x)
        full = model if floors is None else with_floors(model, floors)
        raw = backend.solve(dataclasses.replace(full.lp, warm_start=warm),
                            dataclasses.replace(options, time_limit=remaining()))
        seconds += raw.solve_seconds
        if raw.bound is not None and np.isfinite(raw.bound):
            bound = max(bound, raw.bound)
        result.messages.append(f"Full model: {raw.status.value} ({raw.termination.value if raw.termination else '-'}"
                               f"), bound {raw.bound if raw.bound is not None else float('nan'):,.0f}.")
    else:
        result.messages.append("The heuristic plan is within the gap of the LP bound: the full model was not needed.")
    if raw is not None and raw.status is Status.INFEASIBLE:
        result.status, result.termination = Status.INFEASIBLE, Termination.INFEASIBLE
        result.messages += explain_infeasible(study)
        result.solve_seconds = seconds
        return result
    if raw is not None and raw.x is not None:
        x_full = _round(model, raw.x)
        objective = _exact_objective(model, x_full) if _fits(model, x_full) else np.inf
        if not np.isfinite(objective):
            result.messages.append("The full model's plan, rounded, breaks a row of the study model and is not kept.")
        elif objective < best_obj - 1e-9 * abs(objective):
            best_x, best_obj = x_full, objective
            result.messages.append("The full model improved the relax-and-fix plan.")
    gap_now = relative_gap(best_obj, bound) if best_x is not None else None
    result.termination = raw.termination if raw is not None else (
        Termination.OPTIMAL if gap_now is not None and gap_now <= 1e-9 else Termination.GAP_LIMIT)
    result.solve_seconds = seconds
    if best_x is None:
        result.messages.append("No plan found within the limits"
                               + (f" ({raw.message or 'limit reached'})." if raw is not None else "."))
        return result
    result.bound = bound
    result.x = best_x
    _decode(model, best_x, result)
    result.gap = relative_gap(result.objective, bound)
    optimal = proven_optimal(result.objective, bound, 1e-6 * result.costs["holding"])
    result.status = Status.OPTIMAL if optimal else Status.FEASIBLE
    if result.bound_violated:
        result.messages.append(
            f"ERROR: the study's bound {bound!r} lies above the plan's net present cost {result.objective!r}: a "
            "lower bound can never exceed a feasible plan's cost, so the model, the costing or the solver is "
            "wrong; do not trust this plan.")
    elif not optimal:
        result.messages.append("Best plan found within the limits, not proven optimal"
                               + (f" (gap {result.gap:.3%})." if result.gap is not None else "."))
    if run_check and result.plan is not None:
        result.check = check_study(study, result.plan)
    return result


def _fits(model: ExpansionModel, x: np.ndarray) -> bool:
    """Whether plan ``x``, its stock columns at their exact values (which keep every stock cut), keeps the
    study model's bounds, integrality and rows (:func:`~optimizer.strategies.pooled.plan_fits`)."""
    return plan_fits(model.lp, _lift(model, x))


def _round(model: ExpansionModel, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float).copy()
    x[model.lp.integer] = np.round(x[model.lp.integer])
    x[np.abs(x) < 1e-9] = 0.0
    return np.clip(x, model.lp.col_lower, model.lp.col_upper)


def _exact_holding(model: ExpansionModel, x: np.ndarray) -> np.ndarray:
    """Holding cost per period at ``x`` with exact square-root stock, currency per period, shape (T,)."""
    out = []
    for t, block in enumerate(model.blocks):
        xb = model.block_x(x, t)
        out.append(sum(block.pooled.exact_costs(xb)) if block.pooled is not None
                   else float(block.built.cost_vectors["holding"] @ xb))
    return np.array(out)


def _exact_objective(model: ExpansionModel, x: np.ndarray) -> float:
    return float(sum(model.npv_costs(x, _exact_holding(model, x)).values()))


def _lift(model: ExpansionModel, x: np.ndarray) -> np.ndarray:
    """``x`` with every stock column at its exact value (feasible for every stock cut)."""
    out = np.asarray(x, dtype=float).copy()
    for t, block in enumerate(model.blocks):
        if block.pooled is not None:
            out[block.cols()] = block.pooled.lift(out[block.cols()])
    return out


def _refine_all(model: ExpansionModel, x: np.ndarray) -> ExpansionModel:
    """Stock cuts tight at ``x`` in every pooled block where the model is low."""
    for t, block in enumerate(model.blocks):
        if block.pooled is not None:
            model = with_block_cuts(model, t, block.pooled.refine(model.block_x(x, t), HOLDING_TOL))
    return model


def _lp_cuts(model: ExpansionModel, backend: Solver,
             options: SolveOptions) -> tuple[ExpansionModel, float, np.ndarray | None, float]:
    """Separate stock cuts at the LP relaxation; returns the model, the best LP bound, the last LP
    solution and the seconds spent."""
    bound, seconds, x = -np.inf, 0.0, None
    pooled = any(b.pooled is not None for b in model.blocks)
    for _ in range(LP_ROUNDS if pooled else 1):
        lp = dataclasses.replace(model.lp, integer=np.zeros(model.lp.n_cols, dtype=bool))
        raw = backend.solve(lp, dataclasses.replace(options, mip_gap=None))
        seconds += raw.solve_seconds
        if raw.x is None:
            break
        bound = max(bound, raw.objective if raw.objective is not None else -np.inf)
        x = raw.x
        before = model.lp.n_rows
        for t, block in enumerate(model.blocks):
            if block.pooled is not None:
                model = with_block_cuts(model, t, block.pooled.separate(model.block_x(raw.x, t), LP_CUT_TOL))
        if model.lp.n_rows == before:
            break
    return model, bound, x, seconds


def _lane_columns(model: ExpansionModel) -> np.ndarray:
    """Global columns of every block's assignment lanes."""
    S = model.u.shape[0]
    return np.concatenate([b.first_col + S + np.arange(len(b.built.lane_site)) for b in model.blocks])


def _design_columns(model: ExpansionModel) -> np.ndarray:
    """Global columns of the design: study variables and every block's site columns."""
    S = model.u.shape[0]
    return np.concatenate([model.u.ravel(), model.o.ravel(), model.c.ravel(), model.m.ravel()]
                          + [b.first_col + np.arange(S) for b in model.blocks])


def _with_packing_margin(model: ExpansionModel) -> LinearModel:
    """The model with room for whole regions on each site (single sourcing).

    The design step splits regions between sites; whole regions must then fit (a bin packing), so
    the design keeps a quarter of the site's largest region free, at most :data:`PACKING_MARGIN` of
    its capacity.
    """
    A = model.lp.A.tolil(copy=True)
    S = model.u.shape[0]
    changed = False
    for t, block in enumerate(model.blocks):
        net = model.study.periods[t].network
        if not net.settings.single_sourcing or not len(block.cap_rows):
            continue
        built = block.built
        volume = built.unit_mix @ net.products["volume"].to_numpy(dtype=float)
        largest = np.zeros(S)
        np.maximum.at(largest, built.lane_site, volume[built.lane_unit])
        capacity = net.sites["capacity"].to_numpy(dtype=float)
        for i in np.flatnonzero(block.cap_rows >= 0):
            A[block.cap_rows[i], block.first_col + i] = -capacity[i] + min(0.25 * largest[i],
                                                                             PACKING_MARGIN * capacity[i])
            changed = True
    return dataclasses.replace(model.lp, A=A.tocsr()) if changed else model.lp


def _rounded_design(model: ExpansionModel, lp_x: np.ndarray, threshold: float) -> np.ndarray:
    """Which sites are held in each period, rounded from the LP relaxation ``lp_x`` within the rules.

    Period by period, a site is wanted when the LP holds it at least ``threshold`` (a site held
    already: :data:`KEEP_SHARE` of it; or a forced status or committed decision says so).  It opens
    while the period's and the total budget allow (those the LP serves with in the period first,
    else later); only sites operating before the study close (when the LP does and
    ``earliest_close`` allows), so that capacity never shrinks as demand grows, and no site
    reopens.  Returns held (sites x periods, bool).
    """
    study, lp = model.study, model.lp
    S, T = model.u.shape
    x = np.asarray(lp_x, dtype=float)
    earliest = study.options["earliest_close"].to_numpy(dtype=int)
    y = np.stack([b.first_col + np.arange(S) for b in model.blocks], axis=1)
    must_open = (lp.col_lower[y] > 0.5) | (lp.col_lower[model.o] > 0.5) | (lp.col_lower[model.u] > 0.5)
    must_shut = (lp.col_upper[y] < 0.5) | (lp.col_lower[model.c] > 0.5) | (lp.col_upper[model.u] < 0.5)
    held = np.zeros((S, T), dtype=bool)
    before = study.initially_held()
    prev = before.copy()
    left = study.budget_total
    for t in range(T):
        budget = min(left, study.budget_per_period[t])
        level = np.where(prev, threshold * KEEP_SHARE, threshold)
        want = ((x[model.u[:, t]] >= level) | must_open[:, t]) & ~must_shut[:, t]
        now = prev.copy()
        for i in np.argsort(-(2.0 * x[y[:, t]] + x[model.u[:, t]]), kind="stable"):  # serving now first
            if want[i] and not prev[i] and not before[i] and not held[i].any() \
                    and model.capex_open[i] <= budget + 1e-9:
                now[i] = True
                budget -= model.capex_open[i]
            elif not want[i] and prev[i] and before[i] and t >= earliest[i] and lp.col_upper[model.c[i, t]] > 0.5:
                now[i] = False
        left -= float(model.capex_open @ (now & ~prev))
        held[:, t] = prev = now
    return held


def _design_start(model: ExpansionModel, lp: LinearModel, integer: np.ndarray, lp_x: np.ndarray | None,
                  serving: np.ndarray | None, backend: Solver, options: SolveOptions, share: Any) -> np.ndarray | None:
    """A feasible start for the design step: :func:`_rounded_design` of the period floors' designs
    (``serving``, sites x periods), then of the LP relaxation at falling thresholds, each completed
    (modules, assignments, flows, stock) by one small MIP restricted to the sites the rounding holds, when
    it holds them: it may leave some of them out, and keep sites operating before the study open where the
    rounding closes them, so that the modules a tight budget needs still fit; ``None`` when none fits."""
    rounded = []
    if serving is not None:
        rounded.append(_rounded_design(model, _wanted(model, serving), 0.5))
    if lp_x is not None:
        rounded += [_rounded_design(model, lp_x, threshold) for threshold in ROUNDING_THRESHOLDS]
    keep = model.study.initially_held()[:, None] & (lp.col_upper[model.u] > 0.5)
    for held in rounded:  # the completion chooses among the rounded sites (and keeps the old ones) within the budgets
        upper = lp.col_upper.copy()
        upper[model.u] = np.minimum(upper[model.u], held | keep)
        raw = backend.solve(dataclasses.replace(lp, col_upper=upper, integer=integer),
                            dataclasses.replace(options, time_limit=share(0.15)))
        if raw.x is not None:
            return np.asarray(raw.x, dtype=float)
    return None


def _wanted(model: ExpansionModel, serving: np.ndarray) -> np.ndarray:
    """A solution-shaped vector for :func:`_rounded_design` from which sites serve in each period: a site
    serves where ``serving`` says, and is held from ``build_periods`` before it first serves."""
    x = np.zeros(model.lp.n_cols)
    S, T = model.u.shape
    build = model.study.options["build_periods"].to_numpy(dtype=int)
    held = serving.copy()
    for i in np.flatnonzero(serving.any(axis=1) & ~model.study.initially_held()):
        first = int(np.argmax(serving[i]))
        held[i, max(0, first - build[i]):first] = True
    x[model.u] = held
    for t, block in enumerate(model.blocks):
        x[block.first_col + np.arange(S)] = serving[:, t]
    return x


def _plan_heuristic(model: ExpansionModel, backend: Solver, options: SolveOptions, remaining: Any,
                    lp_x: np.ndarray | None, serving: np.ndarray | None = None,
                    ) -> tuple[ExpansionModel, np.ndarray | None, float, str]:
    """A plan in two steps: the design with fractional assignments, then the assignments with the design fixed.

    1. **Design**: the full model with its assignment lanes continuous (a region may split between
       sites; with single sourcing each site keeps some room for whole regions,
       :func:`_with_packing_margin`, unless that makes the design infeasible) and without the sites
       neither the LP relaxation ``lp_x`` nor the period floors' designs (``serving``) use, so
       only the study's decisions are integer: every period, the phasing, the budgets and the
       capacity modules are decided together, over the whole horizon;
    2. **Assignments**: the design fixed (which sites are held and serve, modules, events), the
       full model again: it falls apart into one assignment problem per period.  Each plan adds
       stock cuts tight at it; the step is re-solved while the model's holding cost is off, and the
       plan of lowest exact cost is kept.

    Returns:
        The model with the cuts added, the plan (``None`` without one), the solver seconds and a message.
    """
    seconds = 0.0
    integer = model.lp.integer.copy()
    integer[_lane_columns(model)] = False
    S = model.u.shape[0]
    for block in model.blocks:  # y = u - recent openings: integer, as u and o are (o, c stay integer: model.py)
        integer[block.first_col:block.first_col + S] = False
    gap = options.effective_gap

    def share(part: float) -> float | None:
        return None if remaining() is None else max(1.0, part * remaining())

    upper = model.lp.col_upper.copy()
    if lp_x is not None:  # sites the LP relaxation never holds are left out of the design step
        used = (np.asarray(lp_x)[model.u] > SUPPORT_TOL).any(axis=1) | model.study.initially_held()
        if serving is not None:
            used |= serving.any(axis=1)
        unused = np.flatnonzero(~used)
        upper[model.u[unused].ravel()] = 0.0
        for block in model.blocks:
            upper[block.first_col + unused] = 0.0
    tries = [(_with_packing_margin(model), upper), (model.lp, upper), (model.lp, model.lp.col_upper)]
    for k, (lp, bounds) in enumerate(tries):  # with room for whole regions, else without, else every site
        start = _design_start(model, lp, integer, lp_x, serving, backend, options, share)
        if start is None and k < len(tries) - 1:
            continue  # no rounded design fits this variant: try the next
        raw = backend.solve(dataclasses.replace(lp, integer=integer, col_upper=bounds, warm_start=start),
                            dataclasses.replace(options, mip_gap=gap * DESIGN_GAP_SHARE, time_limit=share(0.7)))
        seconds += raw.solve_seconds
        if raw.status is not Status.INFEASIBLE:
            break
    if raw.x is None:
        return model, None, seconds, f"Heuristic design step found no plan ({raw.status.value})."
    design = _design_columns(model)
    lower, upper = model.lp.col_lower.copy(), model.lp.col_upper.copy()
    values = np.asarray(raw.x, dtype=float)[design]
    lower[design] = upper[design] = np.where(model.lp.integer[design], np.round(values), np.round(values, 6))
    best, best_obj = None, np.inf
    for _ in range(STEP_ROUNDS):
        found, spent = _assign_by_period(model, lower, upper, backend,
                                         dataclasses.replace(options, mip_gap=gap * ASSIGN_GAP_SHARE), share(0.6))
        seconds += spent
        if found is None:
            break
        x = _round(model, found)
        objective = _exact_objective(model, x) if _fits(model, x) else np.inf  # a plan that breaks a row: never kept
        if objective < best_obj:
            best, best_obj = x, objective
        refined = _refine_all(model, x)
        if refined.lp.n_rows == model.lp.n_rows:
            break
        model = refined
    if best is None:
        return model, None, seconds, ("Heuristic assignment step found no plan with the design of the relaxed "
                                      "assignments; the full model is solved without it.")
    return model, best, seconds, (f"Heuristic plan (design with relaxed assignments, then the assignments) in "
                                  f"{seconds:.1f} s of solver time.")


def _assign_by_period(model: ExpansionModel, lower: np.ndarray, upper: np.ndarray, backend: Solver,
                      options: SolveOptions, time_limit: float | None) -> tuple[np.ndarray | None, float]:
    """The assignment step with the design fixed (``lower == upper`` on its columns): one MIP per period.

    With the design fixed no row joins two periods, so the model falls apart into one problem per
    period block (its columns and its unmet shares; the fixed columns move to the row bounds).  Each
    is solved on its own to ``options.mip_gap`` (the sum is then within that gap too), which is far
    quicker than the stacked MIP.  Returns the solution (``None`` if a period has none) and the
    solver seconds; falls back to the stacked MIP if some row still joins two periods.
    """
    lp = model.lp
    fixed = lower == upper
    owner = np.full(lp.n_cols, -1)
    for t, block in enumerate(model.blocks):
        owner[block.cols()] = t
        owner[model.z[t]] = t
    A = lp.A
    free_part = A[:, np.flatnonzero(~fixed)].tocsr()
    free_owner = owner[~fixed]
    rows = np.repeat(np.arange(lp.n_rows), np.diff(free_part.indptr))
    row_owner = np.full(lp.n_rows, -1)  # the period of a row's free columns; -1 for a row without any
    np.maximum.at(row_owner, rows, free_owner[free_part.indices])
    row_min = np.full(lp.n_rows, len(model.blocks))
    np.minimum.at(row_min, rows, free_owner[free_part.indices])
    if (free_owner < 0).any() or ((row_owner >= 0) & (row_min != row_owner)).any():
        raw = backend.solve(dataclasses.replace(lp, col_lower=lower, col_upper=upper),
                            dataclasses.replace(options, time_limit=time_limit))
        return raw.x, raw.solve_seconds
    x = np.where(fixed, lower, 0.0)
    shift = A[:, np.flatnonzero(fixed)] @ x[fixed]
    start, seconds = time.perf_counter(), 0.0
    T = len(model.blocks)
    for t in range(T):
        cols = np.flatnonzero(~fixed & (owner == t))
        rows_t = np.flatnonzero(row_owner == t)
        if not len(cols):
            continue
        left = None if time_limit is None else max(1.0, (start + time_limit - time.perf_counter()) / (T - t))
        sub = LinearModel(c=lp.c[cols], A=A[rows_t][:, cols], row_lower=lp.row_lower[rows_t] - shift[rows_t],
                          row_upper=lp.row_upper[rows_t] - shift[rows_t], col_lower=lower[cols],
                          col_upper=upper[cols], integer=lp.integer[cols], name=f"{lp.name}-{t}")
        raw = backend.solve(sub, dataclasses.replace(options, time_limit=left))
        seconds += raw.solve_seconds
        if raw.x is None:
            return None, seconds
        x[cols] = raw.x
    return x, seconds


def _decode(model: ExpansionModel, x: np.ndarray, result: ExpansionResult) -> None:
    """Fill the result's plan, costs and per-period costs from solution ``x``."""
    study = model.study
    S, T = model.u.shape
    ids = study.base.sites.index
    names = [p.name for p in study.periods]
    holding = _exact_holding(model, x)
    plans, unmet, period_rows = [], [], []
    serving = np.zeros((S, T), dtype=bool)
    capex = model.capex(x)
    for t, block in enumerate(model.blocks):
        xb = block.built.round_solution(model.block_x(x, t))
        plan = block.built.decode(xb)
        costs = period_costs(block, xb)
        costs["holding"] = float(holding[t])
        plan.costs = costs
        plan.objective = float(sum(costs.values()))
        plans.append(plan)
        serving[:, t] = xb[:S] > 0.5
        net = study.periods[t].network
        share = x[model.z[t]] if len(model.z[t]) else np.zeros(0)
        units = block.built.unit_mix[share > 1e-9] * share[share > 1e-9, None]
        r, p = np.nonzero(units > 0)
        unmet.append(pd.DataFrame({
            "region": np.asarray(net.region_ids, dtype=object)[block.built.unit_region[share > 1e-9][r]],
            "product": np.asarray(net.product_ids, dtype=object)[p], "quantity": units[r, p]}))
        scale = DAYS_PER_YEAR * study.periods[t].years / net.settings.period_days
        row = {name: scale * costs[name] for name in COST_COMPONENTS}
        row["closing"] = float(model.closing[:, t] @ x[model.c[:, t]])
        row["capex"] = float(capex[t])
        row["unmet"] = scale * (float(study.unmet_penalty * block.unit_units @ share) if len(share) else 0.0)
        period_rows.append(row)
    held = pd.DataFrame(np.round(x[model.u]).astype(bool), index=ids, columns=names)
    plan = ExpansionPlan(held=held, serving=pd.DataFrame(serving, index=ids, columns=names),
                         modules=pd.DataFrame(np.round(x[model.m]).astype(int), index=ids, columns=names),
                         plans=plans, unmet=unmet, held0=study.initially_held())
    result.costs = model.npv_costs(x, holding)
    plan.npv_costs = dict(result.costs)
    plan.objective = result.objective = float(sum(result.costs.values()))
    result.plan = plan
    result.period_costs = period_rows


def explain_infeasible(study: Study) -> list[str]:
    """Why a study has no plan, per period where a cause is found (else a general sentence)."""
    from optimizer.diagnose import explain_infeasibility

    out = []
    for period in study.periods:
        out += [f"Period {period.name}: {reason}" for reason in explain_infeasibility(period.network)]
    if not out:
        out.append("The solver proved that no study plan satisfies every constraint together and no single "
                   "period is infeasible on its own: review the budgets, build periods, committed decisions, "
                   "closing and reopening rules together (an unmet_penalty lets demand go unserved instead).")
    return out


__all__ = ["NPV_COMPONENTS", "ExpansionResult", "solve_study"]
