"""The ``decompose`` strategy: Lagrangian bound, heuristic plans, site fixing, then a reduced MIP.

1. **Bound.** Subgradient optimisation of the Lagrangian relaxation of the demand rows
   (:mod:`optimizer.strategies.lagrange`), every lane priced in each iteration by one vectorised
   pass.  Every ``L(lambda)`` is a valid lower bound; the best is kept.
2. **Plans.** The relaxation's open sites, repaired until feasible, are costed by the
   transportation LP with lane pricing (:mod:`optimizer.strategies.transport`); then a local
   search over close / open / swap moves.
3. **Fixing.** For each site, a lower bound on every plan that flips it (the relaxation with that
   site forced the other way); a site whose flip bound exceeds the best plan's cost is fixed.
   Then probing: each site still free is forced the other way and the multipliers re-optimised
   for a few steps; one whose bound then exceeds the best plan's cost is fixed too.
4. **Reduced MIP.** When the gap is not yet closed, the model with the fixed sites substituted out
   (their lanes gone if closed) goes to the chosen backend, warm-started with the best plan (in
   proof mode, without primal heuristics, when that plan is within :data:`PROOF_GAP` of the bound).
   Its bound covers the full model: every plan outside it costs more than the incumbent, so the
   reported bound is ``max(Lagrangian, min(reduced MIP bound, incumbent))``.

Supported: one-echelon models (no suppliers, no capacitated or fixed-cost links) with linear
stock, multi- or single sourcing, site counts, forced statuses and service radii.  The
subproblems (site knapsack, transportation LPs) run on HiGHS; the reduced MIP on the backend
asked for.  Budgets count iterations and moves, never seconds, so results are deterministic;
only a user's time limit or an interrupt cuts the work short.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from optimizer import progress
from optimizer.model.build import BuiltModel
from optimizer.solvers import interrupt
from optimizer.solvers.base import (
    SolveOptions,
    Solver,
    SolverResult,
    Status,
    Termination,
    proven_optimal,
    relative_gap,
)
from optimizer.strategies.lagrange import (
    Relaxed,
    SiteProblem,
    SitesInfeasible,
    choose_sites,
    evaluate,
    initial_multipliers,
)
from optimizer.strategies.restrict import restrict
from optimizer.strategies.transport import TransportSolver, local_search, move_estimates, repair

#: Most subgradient iterations.
MAX_ITERATIONS = 300
#: Iterations without a better bound before the step size halves.
PATIENCE = 10
#: The subgradient stops when the step factor falls below this.
MIN_STEP = 1e-5
#: Weight of the previous direction in :func:`_deflect` (1.5, as Camerini, Fratta and Maffioli advise).
DEFLECTION = 1.5
#: Subgradient iterations after which the relaxation's sites are turned into a plan (more often
#: early, when the sites change most; each costs a few transportation LPs).
HEURISTIC_AT = frozenset({5, 10, 20, 30, 45, 60, 80, 100, 130, 160, 200, 250, 300})
#: Most local-search moves (each one transportation LP).
LOCAL_MOVES = 150
#: Most rounds of site fixing, each followed by :data:`REFIX_ITERATIONS` subgradient steps.
FIXING_ROUNDS = 5
#: Subgradient iterations after each round of fixing.
REFIX_ITERATIONS = 120
#: Initial step factor of those iterations (the multipliers are already good).
REFIX_STEP = 0.5
#: Subgradient iterations of each probe (a free site forced the other way, see :func:`_probe`):
#: on capc5000 they fix 9 of the 25 sites the flip bounds leave free, in about 1 s.
PROBE_ITERATIONS = 60
#: Most probing passes over the free sites.
PROBE_PASSES = 3
#: Another pass only when the last one fixed at least this share of the sites it probed (capc5000:
#: 9 of 25, capa8000: 4 of 14; a random tight 100 x 500 instance: 2 of 13, where each pass cost 4 s).
PROBE_PAYOFF = 0.25
#: The reduced MIP runs in proof mode (no primal heuristics) when the best plan is within this
#: relative gap of the Lagrangian bound. On 10 capa/b/c variants after probing: capa10000 17.8 ->
#: 9.7 s, capc5750 36 -> 20 s, capc6500 21 -> 10 s, capa8000 4.9 -> 3.5 s, capc5000 3.9 -> 4.8 s,
#: capb7000 108 -> 102 s, the rest unchanged; the plans were already optimal.
PROOF_GAP = 5e-3


@dataclass
class DecomposeReport:
    """What the decomposition did, for the result's messages.

    Attributes:
        iterations: Subgradient iterations.
        lagrangian_bound: Best Lagrangian bound, currency per period.
        heuristic_objective: Best plan before the reduced MIP, currency per period.
        fixed_open: Sites fixed open by their flip or probing bounds.
        fixed_closed: Sites fixed closed by their flip or probing bounds.
        transport_solves: Transportation LPs (or assignment MIPs) solved.
        mip: Size of the reduced MIP (columns, rows), ``None`` when it was not needed.
        seconds: Wall-clock time per phase.
    """

    iterations: int = 0
    lagrangian_bound: float = float("-inf")
    heuristic_objective: float | None = None
    fixed_open: int = 0
    fixed_closed: int = 0
    transport_solves: int = 0
    mip: tuple[int, int] | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def messages(self) -> list[str]:
        """One line per phase."""
        lines = [f"Strategy decompose: Lagrangian bound {self.lagrangian_bound:,.2f} after {self.iterations} "
                 f"subgradient iteration(s) ({self.seconds.get('bound', 0.0):.2f} s)."]
        if self.heuristic_objective is not None:
            lines.append(f"Heuristic plan {self.heuristic_objective:,.2f} from {self.transport_solves} transportation "
                         f"solve(s) ({self.seconds.get('heuristic', 0.0):.2f} s); {self.fixed_open} site(s) fixed "
                         f"open and {self.fixed_closed} fixed closed by their Lagrangian flip and probing bounds "
                         f"({self.seconds.get('fixing', 0.0):.2f} s).")
        if self.mip is not None:
            lines.append(f"Reduced MIP: {self.mip[0]:,} columns and {self.mip[1]:,} rows "
                         f"({self.seconds.get('mip', 0.0):.2f} s).")
        return lines


class Unsupported(Exception):
    """The decomposition cannot take this model; the caller solves it compact."""


def solve_decomposed(built: BuiltModel, backend: Solver, options: SolveOptions) -> tuple[SolverResult,
                                                                                       DecomposeReport]:
    """Solve a one-echelon model by decomposition (see the module docstring).

    Args:
        built: The model (unchanged).
        backend: Solver of the reduced MIP.
        options: Time limit, gap and threads of the whole solve.

    Returns:
        The result over the full model's columns (objective, valid bound, status, termination)
        and a report of the phases.

    Raises:
        Unsupported: No plan exists with every usable site open, or the site rows alone are
            infeasible: the compact model then proves and explains the infeasibility.
    """
    start = time.monotonic()
    deadline = None if options.time_limit is None else start + options.time_limit
    target_gap = options.effective_gap
    report = DecomposeReport()
    problem = SiteProblem.from_built(built)
    transport = TransportSolver(built, deadline=deadline)

    def out_of_time() -> bool:
        return interrupt.requested() or (deadline is not None and time.monotonic() >= deadline)

    best: dict[str, object] = {"objective": np.inf, "x": None, "open": None}

    def offer(is_open: np.ndarray, result: tuple[float, np.ndarray] | None) -> None:
        if result is not None and result[0] < best["objective"]:  # type: ignore[operator]
            best.update(objective=result[0], x=result[1], open=is_open.copy())
            progress.emit("heuristic", objective=result[0], bound=report.lagrangian_bound)

    try:
        lam = initial_multipliers(problem)
        relaxed = evaluate(problem, lam)
    except SitesInfeasible as error:
        raise Unsupported(f"no set of sites meets the site rows ({error})") from error
    report.lagrangian_bound = relaxed.bound
    usable = problem.y_upper > 0.5
    free = usable & (problem.y_lower < 0.5)
    # Sets of open sites are ranked by their transportation LP (exact with multi-sourcing, a
    # bound with single sourcing, whose plans then come from node-limited assignment MIPs).
    scored: dict[str, object] = {"score": np.inf, "open": None}

    def consider(is_open: np.ndarray, result: tuple[float, np.ndarray] | None) -> None:
        if result is None:
            return
        if result[0] < scored["score"]:  # type: ignore[operator]
            scored.update(score=result[0], open=is_open.copy())
        if not transport.single_sourcing:
            offer(is_open, result)

    def from_relaxation(current: Relaxed) -> None:
        order = np.argsort(current.site_value, kind="stable")
        consider(*repair(transport.score, current.y, order[usable[order]], out_of_time))

    from_relaxation(relaxed)
    if scored["open"] is not None:
        offer(scored["open"], transport.plan(scored["open"]))  # type: ignore[arg-type]
    if best["x"] is None and not out_of_time():
        everything = usable.copy()
        offer(everything, transport.plan(everything))
        if best["x"] is None:
            raise Unsupported("its heuristics found no first plan, from the relaxation's sites or with every usable "
                              "site open (which a site-count limit may forbid)")

    tried = {np.packbits(relaxed.y).tobytes()}

    def heuristic(iteration: int, current: Relaxed) -> None:
        key = np.packbits(current.y).tobytes()
        if (iteration == 0 or iteration in HEURISTIC_AT) and key not in tried:
            tried.add(key)
            from_relaxation(current)

    best_lam, best_relaxed, report.iterations = _subgradient(
        problem, lam, relaxed, lambda: float(best["objective"]), MAX_ITERATIONS, 2.0, heuristic, out_of_time,
        target_gap)
    report.lagrangian_bound = best_relaxed.bound
    heuristic(0, best_relaxed)
    report.seconds["bound"] = time.monotonic() - start

    if not out_of_time() and not _closed(best, best_relaxed.bound, target_gap) and scored["open"] is not None:
        good_enough = best_relaxed.bound + target_gap * abs(best_relaxed.bound) / max(1.0 - target_gap, 1e-12)
        start_plan = transport.score(scored["open"])  # type: ignore[arg-type]
        is_open, score, x = local_search(transport.score, free, scored["open"], float(scored["score"]),  # type: ignore[arg-type]
                                         best_relaxed.site_value, max_moves=LOCAL_MOVES,
                                         good_enough=good_enough if not transport.single_sourcing else -np.inf,
                                         x=None if start_plan is None else start_plan[1],
                                         estimate=lambda plan, sites: move_estimates(built, plan, sites),
                                         lower=lambda sites: _set_bound(problem, best_lam, sites))
        if x is not None:
            consider(is_open, (score, x))
        if transport.single_sourcing and not out_of_time():
            offer(scored["open"], transport.plan(scored["open"]))  # type: ignore[arg-type]
    report.heuristic_objective = float(best["objective"])  # type: ignore[arg-type]
    report.transport_solves = transport.lp_solves
    report.seconds["heuristic"] = time.monotonic() - start - report.seconds["bound"]
    bound = best_relaxed.bound
    x_best: np.ndarray = best["x"]  # type: ignore[assignment]
    termination = Termination.OPTIMAL
    if out_of_time():
        termination = Termination.INTERRUPTED if interrupt.requested() else Termination.TIME_LIMIT
    elif not _closed(best, bound, target_gap):
        fixing_start = time.monotonic()
        fixed, extra = _fixing_rounds(problem, best_lam, lambda: float(best["objective"]), out_of_time)
        report.seconds["fixing"] = time.monotonic() - fixing_start
        report.iterations += extra
        report.fixed_open = int(np.count_nonzero(fixed == 1))
        report.fixed_closed = int(np.count_nonzero(fixed == 0))
        mip_start = time.monotonic()
        with progress.known(objective=float(best["objective"]), bound=bound):  # type: ignore[arg-type]
            near = relative_gap(float(best["objective"]), bound)  # type: ignore[arg-type]
            proof = near is not None and near <= PROOF_GAP
            raw, size = _reduced_mip(built, transport.csc, fixed, x_best, backend, replace(options, proof=proof),
                                     deadline)
        report.seconds["mip"] = time.monotonic() - mip_start
        report.mip = size
        if raw.x is not None and raw.objective is not None and raw.objective < float(best["objective"]):  # type: ignore[arg-type]
            best.update(objective=raw.objective, x=raw.x)
        if raw.bound is not None and np.isfinite(raw.bound):
            bound = max(bound, min(raw.bound, float(best["objective"])))  # type: ignore[arg-type]
        termination = raw.termination or Termination.NUMERICAL
        if termination is Termination.INFEASIBLE:  # the incumbent itself is a plan: a numerical surprise
            termination = Termination.NUMERICAL
    objective = float(best["objective"])  # type: ignore[arg-type]
    if best["x"] is None:  # the clock (or a signal) stopped the search before its first plan
        progress.emit("done", bound=bound)
        return SolverResult(Status.NO_SOLUTION, backend.name, termination=termination, bound=bound,
                            solve_seconds=time.monotonic() - start,
                            message=f"decompose: no plan before it stopped ({termination.value})"), report
    proven = proven_optimal(objective, bound)
    if proven:
        status, termination = Status.OPTIMAL, Termination.OPTIMAL
    else:
        status = Status.FEASIBLE
        if termination is Termination.OPTIMAL:
            termination = Termination.GAP_LIMIT
    progress.emit("done", objective=objective, bound=bound)
    result = SolverResult(status, backend.name, termination=termination, x=best["x"],  # type: ignore[arg-type]
                          objective=objective, bound=bound, solve_seconds=time.monotonic() - start,
                          message=f"decompose ({termination.value})")
    return result, report


def _subgradient(problem: SiteProblem, lam: np.ndarray, relaxed: Relaxed, upper: Callable[[], float],
                 iterations: int, step: float, each: Callable[[int, Relaxed], None] | None,
                 stop: Callable[[], bool], target_gap: float = 0.0) -> tuple[np.ndarray, Relaxed, int]:
    """Maximise the Lagrangian bound by subgradient steps (Polyak's rule towards the incumbent).

    The step factor halves after :data:`PATIENCE` iterations without a better bound; the loop
    ends after ``iterations``, when the factor falls below :data:`MIN_STEP`, when the bound
    proves the incumbent optimal or within ``target_gap``, or when ``stop()`` says so.  Steps use the site problem's
    linear relaxation where it would need a MIP; the best multipliers are then evaluated exactly.

    Args:
        problem: The relaxation's data.
        lam: Starting multipliers.
        relaxed: The exact relaxation at ``lam``.
        upper: The incumbent's cost (the step's target).
        iterations: Most iterations.
        step: Initial step factor.
        each: Called after every iteration with the relaxation there.
        stop: Ends the loop early when it returns True.
        target_gap: Relative gap of the incumbent to the bound at which to stop.

    Returns:
        The best multipliers, the exact relaxation there, and the number of iterations run.
    """
    start_lam, start = lam, relaxed
    relaxed = evaluate(problem, lam, exact=False)  # steps compare bounds of one kind
    best_lam, best_relaxed, stale, done = lam, relaxed, 0, 0
    direction = relaxed.subgradient
    for iteration in range(1, iterations + 1):
        target = upper()
        if stop() or step < MIN_STEP or _within(target, best_relaxed.bound, target_gap):
            break
        direction = _deflect(relaxed.subgradient, direction)
        norm = float(np.dot(direction, direction))  # np.dot: matmul of 1-d arrays may start BLAS threads
        if norm <= 1e-18:
            break
        lam = lam + step * max(target - relaxed.bound, 1e-9 * abs(target)) / norm * direction
        relaxed = evaluate(problem, lam, exact=False)
        done = iteration
        if relaxed.bound > best_relaxed.bound:
            best_lam, best_relaxed, stale = lam, relaxed, 0
            progress.emit("lagrangian", objective=target, bound=relaxed.bound)
        else:
            stale += 1
            if stale >= PATIENCE:  # smaller steps, from the best point rather than where the steps wandered
                step, stale, lam, relaxed = step / 2.0, 0, best_lam, best_relaxed
                direction = relaxed.subgradient
        if each is not None:
            each(iteration, relaxed)
    exact = evaluate(problem, best_lam)  # the exact site problem: a bound at least as good
    if start.bound > exact.bound:
        return start_lam, start, done
    return best_lam, exact, done


def _set_bound(problem: SiteProblem, lam: np.ndarray, is_open: np.ndarray) -> float:
    """A lower bound on every plan with exactly the sites ``is_open`` open: the relaxation at ``lam``
    with the site binaries fixed (``inf`` when the site rows refuse the set)."""
    y = is_open.astype(float)
    try:
        return evaluate(replace(problem, y_lower=y, y_upper=y), lam).bound
    except SitesInfeasible:
        return np.inf


def _deflect(subgradient: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Camerini-Fratta-Maffioli direction: the subgradient plus part of the previous direction when
    they point apart (damps the zig-zag of plain subgradient steps; any direction keeps the bound valid)."""
    dot = float(np.dot(subgradient, previous))
    norm = float(np.dot(previous, previous))
    if dot >= 0.0 or norm <= 0.0:
        return subgradient
    return subgradient + (-DEFLECTION * dot / norm) * previous


def _fixing_rounds(problem: SiteProblem, lam: np.ndarray, upper: Callable[[], float],
                   stop: Callable[[], bool]) -> tuple[np.ndarray, int]:
    """Fix sites by their flip bounds, re-optimise the multipliers on what is left, and repeat.

    Each round's fixings hold for every plan cheaper than the incumbent, so the later rounds
    (on the problem with the earlier fixings) keep that validity.

    Returns:
        -1 (free), 0 (fixed closed) or 1 (fixed open) per site, and the extra iterations run.
    """
    fixed = np.full(problem.n_sites, -1)
    extra = 0
    for _ in range(FIXING_ROUNDS):
        found = _fix_sites(problem, lam, upper())
        new = (found >= 0) & (fixed < 0)
        fixed = np.where(found >= 0, found, fixed)
        if not new.any() or stop() or not (fixed < 0).any():
            break
        problem = _restricted(problem, fixed)
        lam, _, done = _subgradient(problem, lam, evaluate(problem, lam), upper, REFIX_ITERATIONS, REFIX_STEP,
                                    None, stop)
        extra += done
    for _ in range(PROBE_PASSES):  # each pass starts from the fixings of the last
        if not (fixed < 0).any() or stop():
            break
        free = int(np.count_nonzero(fixed < 0))
        probed, done = _probe(_restricted(problem, fixed), lam, fixed, upper(), stop)
        extra += done
        gained = int(np.count_nonzero(probed >= 0)) - int(np.count_nonzero(fixed >= 0))
        fixed = probed
        if gained < PROBE_PAYOFF * free:  # another pass would cost as much and fix fewer
            break
    return fixed, extra


def _restricted(problem: SiteProblem, fixed: np.ndarray) -> SiteProblem:
    """``problem`` with the ``fixed`` sites' bounds set and the lanes of the sites fixed closed dropped
    (they take no part in any plan it describes, and each evaluation gets that much cheaper)."""
    lanes = fixed[problem.lane_site] != 0
    return replace(problem, lane_cost=problem.lane_cost[lanes], lane_site=problem.lane_site[lanes],
                   lane_unit=problem.lane_unit[lanes], lane_volume=problem.lane_volume[lanes],
                   y_lower=np.where(fixed == 1, 1.0, problem.y_lower),
                   y_upper=np.where(fixed == 0, 0.0, problem.y_upper))


def _probe(problem: SiteProblem, lam: np.ndarray, fixed: np.ndarray, incumbent: float,
           stop: Callable[[], bool]) -> tuple[np.ndarray, int]:
    """Fix more sites by probing: each free site in turn is forced the other way than in the
    relaxation at ``lam`` and the multipliers re-optimised for :data:`PROBE_ITERATIONS` steps
    (aiming just past the incumbent); a site whose probed bound exceeds ``incumbent`` is fixed,
    since every plan cheaper than the incumbent keeps it as it is.  ``problem`` already carries the
    earlier fixings (each valid for those plans too), and each new one joins it for the next probes.

    Returns:
        The fixings (as :func:`_fixing_rounds`) and the iterations run.
    """
    relaxed = evaluate(problem, lam)
    margin = 1e-9 * max(1.0, abs(incumbent))
    aim = incumbent + max(1e-5 * abs(incumbent), 1.0)
    fixed = fixed.copy()
    extra = 0
    for i in np.flatnonzero(fixed < 0):
        if stop():
            break
        lower, upper = problem.y_lower.copy(), problem.y_upper.copy()
        lower[i] = upper[i] = 0.0 if relaxed.y[i] else 1.0
        forced = replace(problem, y_lower=lower, y_upper=upper)
        try:
            _, probed, done = _subgradient(forced, lam, evaluate(forced, lam), lambda: aim, PROBE_ITERATIONS,
                                           REFIX_STEP, None, stop)
            bound, extra = probed.bound, extra + done
        except SitesInfeasible:
            bound = np.inf
        if bound > incumbent + margin:
            fixed[i] = int(relaxed.y[i])
            problem = _restricted(problem, fixed)
    return fixed, extra


def _closed(best: dict[str, object], bound: float, target_gap: float) -> bool:
    """Whether the best plan is within the target gap of the bound (or proven optimal)."""
    return _within(float(best["objective"]), bound, target_gap)  # type: ignore[arg-type]


def _within(objective: float, bound: float, target_gap: float) -> bool:
    """Whether ``objective`` is proven optimal by ``bound`` or within ``target_gap`` of it."""
    if proven_optimal(objective, bound):
        return True
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= target_gap


def _fix_sites(problem: SiteProblem, lam: np.ndarray, incumbent: float) -> np.ndarray:
    """Sites whose flip bound exceeds the incumbent: -1 free, 0 fixed closed, 1 fixed open.

    The flip bound of site ``i`` is the relaxation at ``lam`` with ``y_i`` forced to the other
    value than in the relaxation's solution (site knapsacks unchanged, site problem re-solved):
    every plan with that flip costs at least that much, so when it exceeds the incumbent, no
    better plan flips the site.
    """
    relaxed = evaluate(problem, lam)
    base = relaxed.bound - choose_sites(problem, relaxed.site_value)[1]
    margin = 1e-9 * max(1.0, abs(incumbent))
    fixed = np.full(problem.n_sites, -1)
    for i in np.flatnonzero((problem.y_lower < 0.5) & (problem.y_upper > 0.5)):
        lower, upper = problem.y_lower.copy(), problem.y_upper.copy()
        if relaxed.y[i]:
            upper[i] = 0.0
        else:
            lower[i] = 1.0
        try:
            flip = base + choose_sites(replace(problem, y_lower=lower, y_upper=upper), relaxed.site_value)[1]
        except SitesInfeasible:
            flip = np.inf
        if flip > incumbent + margin:
            fixed[i] = int(relaxed.y[i])
    return fixed


def _reduced_mip(built: BuiltModel, csc: sp.csc_matrix, fixed: np.ndarray, incumbent: np.ndarray, backend: Solver,
                 options: SolveOptions, deadline: float | None) -> tuple[SolverResult, tuple[int, int]]:
    """Solve the model with the fixed sites substituted out, warm-started at the incumbent
    (``csc``: the model's matrix in CSC form, already made for the transportation sub-models).

    Returns:
        The result lifted to the full model's columns, and the reduced model's (columns, rows).
    """
    lp = built.lp
    S = built.n_sites
    values = np.zeros(lp.n_cols)
    values[:S] = np.where(fixed == 1, 1.0, 0.0)
    site_kept = fixed != 0  # free and fixed-open sites keep their lanes
    lane_keep = site_kept[built.lane_site]
    keep = np.concatenate([np.flatnonzero(fixed == -1), S + np.flatnonzero(lane_keep),
                           np.arange(S + len(built.lane_site), lp.n_cols)])
    sub = restrict(lp, csc, keep, values, name=f"{lp.name}-reduced")
    model = replace(sub.lp, warm_start=incumbent[sub.cols])
    left = None if deadline is None else max(deadline - time.monotonic(), 1e-3)
    raw = backend.solve(model, replace(options, time_limit=left))
    if raw.x is not None:
        raw = replace(raw, x=sub.lift(raw.x))
    return raw, (sub.lp.n_cols, sub.lp.n_rows)
