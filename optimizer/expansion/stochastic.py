"""Two-stage stochastic expansion studies: a few demand paths, one first stage for all of them.

A study with ``uncertainty:`` has named demand paths with probabilities (each path is the study
with its own demand, :meth:`~optimizer.expansion.study.Study.path_study`).  The decisions of the
first ``shared_periods`` periods (held sites, hence openings and closings, and modules) are taken
before the path is known; the later ones adapt to each path.

**Model** (:func:`build_stochastic`): one :func:`~optimizer.expansion.model.build_study_model`
per path, stacked block-diagonally with the first stage's columns *shared*: each path's columns
are mapped to global columns, and the ``u``, ``o``, ``c``, ``m`` columns of the first
``shared_periods`` periods of every path map to those of the first path (so non-anticipativity
holds by construction, with no extra rows).  Objective: ``(1 - w) x sum_k p_k cost_k + w x eta``
with ``eta >= cost_k`` for every path (the epigraph of the dearest path; only with
``worst_case_weight`` ``w`` > 0).

**Solve** (:func:`solve_uncertain`), each step within a share of the time limit:

1. *expected-value plan* (EV): the study of the expected path (probability-weighted demand,
   :meth:`~optimizer.expansion.study.Study.expected_study`) solved alone;
2. *EEV*: the EV plan's first stage fixed, each path solved: the expected cost of deciding on the
   expected path only; its per-path plans together are a feasible stochastic plan, the start of
3. *the recourse problem* (RP): the stochastic model, warm-started;
4. *wait-and-see*: each path solved alone (its own optimum ``WS_k``, with its bound), with the
   time the recourse problem leaves.

The RP's bound is the best of the MIP's and of the paths' bounds combined like the objective
(each path's LP relaxation with its stock cuts, or its wait-and-see bound: the wait-and-see
problem relaxes non-anticipativity).

**Reported**: the stochastic plan's cost on each path (exact stock) and its expected cost; the
value of the stochastic solution ``VSS = EEV - RP`` with the interval
``[EEV_lower - RP_upper, EEV_upper - RP_lower]`` from each solve's bound and plan ("within
tolerance" when it contains 0); the regret of the plan on each path, its cost there minus the
path's own optimum, in ``[cost_k - WS_upper_k, cost_k - WS_lower_k]`` (``WS_upper_k``: the better of
the path's own plan and the stochastic plan's part on it, itself a plan for the path).  The independent checker
(:func:`optimizer.checker.expansion.check_uncertain`) verifies every path's plan and the
non-anticipativity of the first stage.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from optimizer.checker.expansion import StudyCheck, check_uncertain
from optimizer.expansion.model import NPV_COMPONENTS, ExpansionModel, build_study_model
from optimizer.expansion.solve import (DEFAULT_GAP, ExpansionResult, FirstStage, _decode, _exact_objective, _lift,
                                       _lp_cuts, _num, _round, events, solve_study)
from optimizer.expansion.study import Study
from optimizer.model.linear import LinearModel
from optimizer.solvers import get_solver
from optimizer.solvers.base import BOUND_TOLERANCE, SolveOptions, Status, Termination, proven_optimal, relative_gap

#: Shares of the time limit: the expected-value plan, EEV (all paths), wait-and-see (all paths,
#: solved last with what the recourse problem leaves). The recourse problem has the rest.
TIME_SHARES = {"expected_value": 0.1, "eev": 0.2, "wait_and_see": 0.35}
#: Share of the target gap the expected-value, EEV and wait-and-see solves aim for.
STEP_GAP_SHARE = 0.5
#: Share of the target gap the wait-and-see solves aim for: below it, the full model runs with their time,
#: and its bound (with the LP's) bounds the recourse problem from below.
WAIT_AND_SEE_GAP_SHARE = 0.2


@dataclass(frozen=True)
class StochasticModel:
    """The stochastic study's MIP and its maps.

    Attributes:
        paths: Each path's study model (with its stock cuts).
        columns: Global column of each path's columns, one array per path.
        lp: The whole model.
        eta: Column of the dearest path's cost (``None`` without a worst-case weight).
        probabilities: The paths' probabilities.
        weight: The worst-case weight ``w``.
    """

    paths: tuple[ExpansionModel, ...]
    columns: tuple[np.ndarray, ...]
    lp: LinearModel
    eta: int | None
    probabilities: np.ndarray
    weight: float

    def path_x(self, x: np.ndarray, k: int) -> np.ndarray:
        """Path ``k``'s solution within the global solution ``x``."""
        return np.asarray(x, dtype=float)[self.columns[k]]

    def combine(self, xs: list[np.ndarray]) -> np.ndarray:
        """The global solution of per-path solutions that agree on the first stage."""
        x = np.zeros(self.lp.n_cols)
        for k, xk in enumerate(xs):
            x[self.columns[k]] = xk
        if self.eta is not None:
            x[self.eta] = max(float(m.lp.c @ xk) for m, xk in zip(self.paths, xs))
        return x


def objective_of(costs: np.ndarray, probabilities: np.ndarray, weight: float) -> float:
    """``(1 - w) x expected + w x max`` of per-path costs."""
    costs = np.asarray(costs, dtype=float)
    return float((1.0 - weight) * probabilities @ costs + weight * costs.max())


def shared_columns(model: ExpansionModel, n: int) -> np.ndarray:
    """A path model's first-stage columns (``u``, ``o``, ``c``, ``m`` of the first ``n`` periods)."""
    return np.concatenate([a[:, :n].ravel() for a in (model.u, model.o, model.c, model.m)])


def build_stochastic(paths: list[ExpansionModel], probabilities: np.ndarray, shared: int,
                     weight: float = 0.0) -> StochasticModel:
    """Stack the path models with shared first-stage columns (see the module docstring).

    Args:
        paths: One study model per path (same sites and periods).
        probabilities: The paths' probabilities.
        shared: Number of first periods whose decisions are shared.
        weight: Worst-case weight in [0, 1].
    """
    anchor = shared_columns(paths[0], shared)
    columns: list[np.ndarray] = []
    n = 0
    for k, model in enumerate(paths):
        gid = np.full(model.lp.n_cols, -1, dtype=np.int64)
        if k:
            gid[shared_columns(model, shared)] = columns[0][anchor]
        free = gid < 0
        gid[free] = n + np.arange(int(free.sum()))
        n += int(free.sum())
        columns.append(gid)
    eta = n if weight > 0 else None
    n_cols = n + (eta is not None)
    rows, cols, vals, row_lower, row_upper = [], [], [], [], []
    c = np.zeros(n_cols)
    lower, upper = np.full(n_cols, -np.inf), np.full(n_cols, np.inf)
    integer = np.zeros(n_cols, dtype=np.int64)
    offset = 0
    for k, (model, gid) in enumerate(zip(paths, columns)):
        A = model.lp.A.tocoo()
        rows.append(A.row + offset)
        cols.append(gid[A.col])
        vals.append(A.data)
        row_lower.append(model.lp.row_lower)
        row_upper.append(model.lp.row_upper)
        offset += model.lp.n_rows
        np.add.at(c, gid, (1.0 - weight) * probabilities[k] * model.lp.c)
        np.maximum.at(lower, gid, model.lp.col_lower)
        np.minimum.at(upper, gid, model.lp.col_upper)
        np.add.at(integer, gid, model.lp.integer.astype(np.int64))
    if eta is not None:  # cost_k - eta <= 0
        for k, (model, gid) in enumerate(zip(paths, columns)):
            nz = np.flatnonzero(model.lp.c)
            rows.append(np.full(len(nz) + 1, offset))
            cols.append(np.append(gid[nz], eta))
            vals.append(np.append(model.lp.c[nz], -1.0))
            row_lower.append(np.array([-np.inf]))
            row_upper.append(np.array([0.0]))
            offset += 1
        c[eta] = weight
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(offset, n_cols))
    lp = LinearModel(c=c, A=A, row_lower=np.concatenate(row_lower), row_upper=np.concatenate(row_upper),
                     col_lower=lower, col_upper=upper, integer=integer > 0, name=paths[0].study.name)
    return StochasticModel(tuple(paths), tuple(columns), lp, eta, np.asarray(probabilities, dtype=float), weight)


@dataclass
class UncertainResult:
    """The outcome of a stochastic study solve.

    Attributes:
        study: The study (with its uncertainty).
        status: ``optimal``, ``feasible``, ``infeasible`` or ``no_solution`` (of the recourse problem).
        termination: Why the recourse problem's solve stopped.
        objective: ``(1 - w) x expected + w x dearest`` net present cost of the stochastic plan, currency.
        bound: Lower bound of the recourse problem, currency.
        gap: Relative gap of ``objective`` to ``bound``.
        paths: The stochastic plan on each path (a deterministic result each, checked there).
        wait_and_see: Each path solved alone.
        expected_value: The plan made for the expected path.
        eev: The expected-value plan's first stage, re-evaluated on each path.
        check: The checker's verdict (every path and non-anticipativity).
        solver: Backend name.
        solve_seconds: Wall time of every step.
        messages: What happened, in words.
    """

    study: Study
    status: Status
    termination: Termination | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    paths: list[ExpansionResult] = field(default_factory=list)
    wait_and_see: list[ExpansionResult] = field(default_factory=list)
    expected_value: ExpansionResult | None = None
    eev: list[ExpansionResult] = field(default_factory=list)
    check: StudyCheck | None = None
    solver: str = ""
    solve_seconds: float = 0.0
    messages: list[str] = field(default_factory=list)

    @property
    def plan(self) -> Any:
        """The first path's plan (``None`` without a plan), for the exit-code logic shared with studies."""
        return self.paths[0].plan if self.paths else None

    def _combined(self, values: list[float | None]) -> float | None:
        unc = self.study.uncertainty
        assert unc is not None
        if any(v is None or not np.isfinite(v) for v in values):
            return None
        return objective_of(np.array(values, dtype=float), unc.probabilities, unc.worst_case_weight)

    def vss(self) -> dict[str, Any]:
        """``value`` (EEV - RP), ``lower``, ``upper`` and ``within_tolerance`` (the interval holds 0, to
        :data:`~optimizer.solvers.base.BOUND_TOLERANCE`)."""
        eev_up = self._combined([r.objective for r in self.eev]) if self.eev else None
        eev_low = self._combined([r.bound for r in self.eev]) if self.eev else None
        if eev_up is None or self.objective is None or self.bound is None:
            return {"value": None, "lower": None, "upper": None, "within_tolerance": None,
                    "eev": _num(eev_up), "eev_lower": _num(eev_low)}
        bound = min(self.bound, self.objective)  # a bound a hair above the plan (solver tolerance) is the plan's cost
        lower = None if eev_low is None else min(eev_low, eev_up) - self.objective
        upper = eev_up - bound
        tol = BOUND_TOLERANCE * max(1.0, abs(eev_up))  # a difference in the last digits is no value
        return {"value": eev_up - self.objective, "lower": lower, "upper": upper,
                "within_tolerance": None if lower is None else bool(lower <= tol and -tol <= upper),
                "eev": eev_up, "eev_lower": eev_low}

    def regret(self, k: int) -> dict[str, float | None]:
        """The stochastic plan's cost on path ``k`` minus the path's own optimum, with its interval."""
        cost, alone = self.paths[k].objective, self.wait_and_see[k] if self.wait_and_see else None
        if cost is None or alone is None:
            return {"value": None, "lower": None, "upper": None}
        best = cost if alone.objective is None else min(cost, alone.objective)  # the plan's path k is a plan for k
        return {"value": cost - best, "lower": cost - best, "upper": None if alone.bound is None else cost - alone.bound}

    def first_stage(self) -> list[dict[str, Any]]:
        """The shared decisions, period by period (held sites, openings, closings, modules)."""
        unc = self.study.uncertainty
        if not self.paths or self.paths[0].plan is None or unc is None:
            return []
        plan = self.paths[0].plan
        out = []
        for t in range(unc.shared_periods):
            ev = events(plan, t)
            out.append({"period": self.study.periods[t].name,
                        "held": [str(s) for s in plan.held.index[plan.held.iloc[:, t].to_numpy(dtype=bool)]],
                        "opened": ev["open"], "closed": ev["close"],
                        "modules": {str(s): int(n) for s, n in plan.modules.iloc[:, t].items() if n > 0}})
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document (``kind: "expansion"``, ``uncertain: true``)."""
        unc = self.study.uncertainty
        assert unc is not None
        prob = unc.probabilities
        costs = dict.fromkeys(NPV_COMPONENTS, 0.0)
        paths = []
        for k, path in enumerate(unc.paths):
            result = self.paths[k] if self.paths else None
            for name in costs:
                costs[name] += prob[k] * (result.costs.get(name, 0.0) if result is not None else np.nan)
            alone = self.wait_and_see[k] if self.wait_and_see else None
            paths.append({
                "name": path.name, "probability": path.probability,
                "cost": _num(result.objective if result is not None else None),
                "costs": {} if result is None else {n: _num(v) for n, v in result.costs.items()},
                "periods": [] if result is None else result.to_dict()["periods"],
                "wait_and_see": None if alone is None else {"cost": _num(alone.objective), "bound": _num(alone.bound),
                                                            "status": alone.status.value},
                "expected_value_plan_cost": _num(self.eev[k].objective) if self.eev else None,
                "regret": {n: _num(v) for n, v in self.regret(k).items()} if self.paths else None,
            })
        path_costs = [r.objective for r in self.paths]
        ev = self.expected_value
        return {
            "kind": "expansion", "uncertain": True, "study": self.study.name, "status": self.status.value,
            "termination": None if self.termination is None else self.termination.value,
            "objective": _num(self.objective), "bound": _num(self.bound), "gap": _num(self.gap),
            "expected_cost": _num(float(prob @ np.array(path_costs))) if path_costs and None not in path_costs
            else None,
            "worst_path_cost": _num(max(path_costs)) if path_costs and None not in path_costs else None,
            "shared_periods": unc.shared_periods, "worst_case_weight": unc.worst_case_weight,
            "first_stage": self.first_stage(),
            "costs": {n: _num(v) for n, v in costs.items()} if self.paths else {},
            "paths": paths,
            "vss": {n: (_num(v) if not isinstance(v, bool) and v is not None else v) for n, v in self.vss().items()},
            "expected_value_plan": None if ev is None else {
                "objective": _num(ev.objective), "bound": _num(ev.bound), "status": ev.status.value,
                "first_stage": [] if ev.plan is None else [
                    {"period": self.study.periods[t].name, "opened": events(ev.plan, t)["open"],
                     "closed": events(ev.plan, t)["close"],
                     "modules": {str(s): int(n) for s, n in ev.plan.modules.iloc[:, t].items() if n > 0}}
                    for t in range(unc.shared_periods)]},
            "solver": self.solver, "solve_seconds": round(self.solve_seconds, 6),
            "check": None if self.check is None else {"ok": self.check.ok, "violations": list(self.check.violations)},
            "messages": list(self.messages),
        }


def solve_uncertain(study: Study, *, solver: str | None = None, time_limit: float | None = None,
                    mip_gap: float | None = None, threads: int | None = None, verbose: bool = False,
                    run_check: bool = True) -> UncertainResult:
    """Solve a stochastic study: wait-and-see, expected-value plan, EEV, then the recourse problem.

    Args:
        study: A validated study with ``uncertainty``.
        solver: Backend name.
        time_limit: Seconds for every step together (shares: :data:`TIME_SHARES`).
        mip_gap: Relative gap of every step (default: the first period's ``solver:`` setting).
        threads: Solver threads.
        verbose: Solver logs to stderr.
        run_check: Run the independent checker on the stochastic plan.

    Returns:
        The result (see :class:`UncertainResult`).
    """
    unc = study.uncertainty
    assert unc is not None
    start = time.perf_counter()
    defaults = study.base.settings.solver
    backend = get_solver(solver or defaults.name)
    limit = time_limit if time_limit is not None else defaults.time_limit
    gap = mip_gap if mip_gap is not None else (defaults.mip_gap if defaults.mip_gap is not None else DEFAULT_GAP)
    options = SolveOptions(mip_gap=gap, threads=threads if threads is not None else defaults.threads, verbose=verbose)
    deadline = None if limit is None else start + limit
    prob, n, w = unc.probabilities, unc.shared_periods, unc.worst_case_weight
    studies = [study.path_study(k) for k in range(len(unc.paths))]
    result = UncertainResult(study=study, status=Status.NO_SOLUTION, solver=backend.name)

    def seconds_for(share: float, parts: int = 1) -> float | None:
        return None if limit is None else max(1.0, share * limit / parts)

    def remaining() -> float | None:
        return None if deadline is None else max(1.0, deadline - time.perf_counter())

    # the steps aim below the target gap (:data:`STEP_GAP_SHARE`): their plans make the stochastic plan
    common = {"solver": backend.name, "mip_gap": gap * STEP_GAP_SHARE, "threads": options.threads,
              "verbose": verbose, "run_check": False}
    result.expected_value = ev = solve_study(study.expected_study(),
                                             time_limit=seconds_for(TIME_SHARES["expected_value"]), **common)
    if ev.plan is not None:
        first = FirstStage.of(ev.plan, n)
        result.eev = [solve_study(s, time_limit=seconds_for(TIME_SHARES["eev"], len(studies)), fixed=first, **common)
                      for s in studies]
        if any(r.plan is None for r in result.eev):
            result.messages.append("The expected-value plan's first stage has no plan on path(s) "
                                   + ", ".join(p.name for p, r in zip(unc.paths, result.eev) if r.plan is None)
                                   + ": its EEV is infinite.")
    else:
        result.messages.append(f"The expected path has no plan ({ev.status.value}): no EEV and no VSS.")

    models, relaxed = [], []
    for s in studies:
        model, lp_bound, _, _ = _lp_cuts(build_study_model(s), backend, options)
        models.append(model)
        relaxed.append(lp_bound)
    stochastic = build_stochastic(models, prob, n, w)
    candidates: list[tuple[float, list[np.ndarray]]] = []
    warm = None
    if result.eev and all(r.x is not None for r in result.eev):
        xs = [_lift(m, r.x) for m, r in zip(models, result.eev)]
        candidates.append((objective_of(np.array([r.objective for r in result.eev]), prob, w), xs))
        warm = stochastic.combine(xs)
    rp_seconds = None if deadline is None else max(1.0, remaining() - seconds_for(TIME_SHARES["wait_and_see"]))
    raw = backend.solve(dataclasses.replace(stochastic.lp, warm_start=warm),
                        dataclasses.replace(options, time_limit=rp_seconds))
    result.termination = raw.termination
    result.messages.append(f"Recourse problem ({stochastic.lp.n_cols:,} columns, {stochastic.lp.n_rows:,} rows): "
                           f"{raw.status.value}, bound {raw.bound if raw.bound is not None else float('nan'):,.0f}.")
    if raw.x is not None:
        xs = [_round(m, stochastic.path_x(raw.x, k)) for k, m in enumerate(models)]
        candidates.append((objective_of(np.array([_exact_objective(m, x) for m, x in zip(models, xs)]), prob, w), xs))
    alone_gap = {**common, "mip_gap": gap * WAIT_AND_SEE_GAP_SHARE}  # their bounds serve the recourse bound
    result.wait_and_see = [solve_study(s, time_limit=None if deadline is None else remaining() / (len(studies) - k),
                                       **alone_gap) for k, s in enumerate(studies)]
    result.solve_seconds = time.perf_counter() - start
    if raw.status is Status.INFEASIBLE and not candidates:
        result.status = Status.INFEASIBLE
        result.messages.append("No first stage serves every path: " + "; ".join(
            f"path {p.name}: {r.status.value}" for p, r in zip(unc.paths, result.wait_and_see)))
        return result
    if not candidates:
        result.messages.append("No stochastic plan found within the limits.")
        return result
    objective, xs = min(candidates, key=lambda item: item[0])
    bounds = [raw.bound if raw.bound is not None else -np.inf, objective_of(np.array(relaxed), prob, w)]
    alone = [max(r.bound, lp) if r.bound is not None else lp for r, lp in zip(result.wait_and_see, relaxed)]
    bounds.append(objective_of(np.array(alone, dtype=float), prob, w))
    result.bound = float(max(bounds)) if np.isfinite(max(bounds)) else None
    for k, (model, x) in enumerate(zip(models, xs)):
        path = ExpansionResult(study=studies[k], status=Status.FEASIBLE, solver=backend.name, x=x)
        _decode(model, x, path)
        path.bound = None
        result.paths.append(path)
    result.objective = objective_of(np.array([p.objective for p in result.paths]), prob, w)
    if result.bound is not None:
        result.gap = relative_gap(result.objective, result.bound)
    optimal = result.bound is not None and proven_optimal(result.objective, result.bound,
                                                          1e-6 * abs(result.objective))
    result.status = Status.OPTIMAL if optimal else Status.FEASIBLE
    if run_check:
        result.check = check_uncertain(study, [p.plan for p in result.paths], expected_cost=float(
            prob @ np.array([p.objective for p in result.paths])))
    result.solve_seconds = time.perf_counter() - start
    return result
