"""The Python API: load a network, build its model, solve it, check the plan.

The CLI is a thin layer over these functions; notebooks call them directly::

    import optimizer
    net = optimizer.load("scenarios/demo")
    result = optimizer.solve(net, time_limit=60)
    result.flows.head()
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.errors import InputError, Problem
from optimizer.io import FORMATS

if TYPE_CHECKING:  # the heavy modules are imported where they are used, so that the CLI starts fast
    from optimizer.model.build import BuiltModel
    from optimizer.network import Network
    from optimizer.results import Result
    from optimizer.strategies.pooled import PooledSolve
    from optimizer.solvers.base import Termination

__all__ = ["FORMATS", "build", "load", "solve", "validate"]

#: Relative accuracy of the pooled inventory model's holding cost (the cutting-plane loop's tolerance).
#: A pooled plan is ``optimal`` when the last MIP is proven within the solvers' gap (relative 1e-9,
#: absolute 1e-6) and the model's holding cost at the plan is within this fraction of the exact
#: square-root cost; its exact objective then lies within this fraction of the holding cost above the
#: proven bound (see :mod:`optimizer.solvers.base` for the one definition of ``optimal``).
POOLED_REL_TOL = 1e-6

#: MIP gap of the pooled model's first cutting-plane rounds (they only place cuts).
POOLED_ROUGH_GAP = 2e-3

#: File suffixes read as scenario files by :func:`load`.
SCENARIO_SUFFIXES = (".yaml", ".yml")

def load(path: str | Path, format: str = "dataset") -> Network:
    """Read a network from disk.

    Args:
        path: A dataset folder or a scenario YAML file (``format="dataset"``; a scenario is
            a base dataset plus overrides, see docs/SCENARIOS.md), or an OR-Library
            capacitated warehouse location file (``"orlib"``), or a Holmberg
            single-source file (``"sscflp"``).
        format: One of :data:`FORMATS`.

    Returns:
        The validated network.

    Raises:
        InputError: The input is missing or invalid (every problem is listed).
    """
    path = Path(path)
    if format == "dataset" and path.suffix.lower() in SCENARIO_SUFFIXES and path.is_file():
        from optimizer.runs.scenario import build_network, load_scenario

        return build_network(load_scenario(path))
    if format == "dataset":
        from optimizer.io.dataset import read_dataset

        return read_dataset(path)
    if format in ("orlib", "sscflp"):
        from optimizer.io.orlib import read_orlib, read_sscflp

        return read_orlib(path) if format == "orlib" else read_sscflp(path)
    raise InputError(Problem(str(path), f"unknown format '{format}'; expected one of {', '.join(FORMATS)}"))


def validate(path: str | Path) -> list[Problem]:
    """Every problem found in a dataset folder or scenario YAML file (empty when valid)."""
    path = Path(path)
    if path.suffix.lower() in SCENARIO_SUFFIXES and path.is_file():
        try:
            load(path)
        except InputError as error:
            return list(error.problems)
        return []
    from optimizer.io.dataset import validate_dataset

    return validate_dataset(path)


def build(network: Network) -> BuiltModel:
    """Build the MIP for ``network`` (see :mod:`optimizer.model.build`)."""
    from optimizer.model.build import build_model

    return build_model(network)


def solve(
    network: Network | BuiltModel,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    verbose: bool = False,
    run_check: bool = True,
    strategy: str | None = None,
) -> Result:
    """Build (if needed) and solve the model, decode the plan and check it.

    Settings not given here fall back to the network's ``solver:`` settings.

    Args:
        network: A network, or a model already built with :func:`build`.
        solver: Backend name (``highs``, ``cbc``, ``scip``).
        time_limit: Seconds; on expiry the best plan found is returned as ``feasible``.
        mip_gap: Relative gap at which to stop (default: prove optimality to 1e-9).
        threads: Solver threads.
        verbose: Send the solver log to stderr.
        run_check: Run the independent checker on the plan.
        strategy: ``auto``, ``compact``, ``sites`` or ``decompose`` (see :mod:`optimizer.strategies.select`);
            default: the network's ``solver.strategy``.  A fallback to ``compact`` is stated in
            ``messages``.

    Returns:
        The result: ``status`` (``optimal`` as defined in :mod:`optimizer.solvers.base`) and
        ``termination`` (why the solve stopped); ``result.check.ok`` is False if the checker
        rejected the plan; ``result.bound_violated`` is True (and a message says so) if the bound
        lies above the plan's cost.  The model passed in is never changed: a built model can be
        solved again, by any solver, with the same result.  Within
        :func:`optimizer.solvers.interrupt.handle_signals`, SIGINT / SIGTERM stop the solve and
        return the best plan so far (``feasible``, termination ``interrupted``).

    Raises:
        InputError: The network is invalid, or its model holds figures no solver can represent.
        ModelTooLargeError: The compact model would not fit in the available memory (the message
            says how large it would be and what to change).
    """
    import numpy as np

    from optimizer.checker import check
    from optimizer.kpis import kpis
    from optimizer.model.attribution import site_costs
    from optimizer.model.build import BuiltModel, build_model
    from optimizer.model.linear import CrossedBoundsError
    from optimizer.model.pooled import add_pooled_inventory
    from optimizer.model.size import check_fits
    from optimizer.results import Result, site_table, transit_volume
    from optimizer.solvers import get_solver
    from optimizer.solvers.blas import one_blas_thread
    from optimizer.solvers.base import SolveOptions, Status, Termination, proven_optimal, relative_gap
    from optimizer.stock import plan_stock
    from optimizer.strategies.decompose import Unsupported, solve_decomposed
    from optimizer.strategies.pooled import solve_pooled_model
    from optimizer.strategies.select import choose
    from optimizer.strategies.sites import solve_by_sites

    built = network if isinstance(network, BuiltModel) else build_model(network)
    net = built.network
    defaults = net.settings.solver
    backend = get_solver(solver or defaults.name)
    options = SolveOptions(
        time_limit=time_limit if time_limit is not None else defaults.time_limit,
        mip_gap=mip_gap if mip_gap is not None else defaults.mip_gap,
        threads=threads if threads is not None else defaults.threads,
        verbose=verbose,
    )
    pooled = None
    chosen, notes = choose(built, strategy or defaults.strategy, backend.name)
    with one_blas_thread():  # see optimizer.solvers.blas
        try:  # every backend validates the model first (crossed bounds, NaN, magnitudes)
            raw = None
            solved = built
            if chosen == "decompose":
                try:
                    raw, report = solve_decomposed(built, backend, options)
                    notes += report.messages()
                except Unsupported as why:
                    notes.append(f"Strategy decompose stopped ({why}): solved compact instead.")
                    chosen = "compact"
            if raw is None:
                check_fits(net)  # the compact model in the solver: refuse before it exhausts memory
                if net.settings.inventory.model == "pooled":
                    pooled, pooled_notes = solve_pooled_model(add_pooled_inventory(built), backend, options,
                                                              rel_tol=POOLED_REL_TOL, rough_gap=POOLED_ROUGH_GAP,
                                                              by_sites=chosen == "sites")
                    notes += pooled_notes
                    raw = replace(pooled.result, status=pooled.status, x=pooled.x,
                                  solve_seconds=pooled.solve_seconds, bound=pooled.bound,
                                  termination=_pooled_termination(pooled))
                    solved = pooled.model.built if pooled.model is not None else built
                elif chosen == "sites":
                    raw, tree_notes = solve_by_sites(built, backend, options)
                    notes += tree_notes
                else:
                    raw = backend.solve(built.lp, options)
        except CrossedBoundsError:
            reasons = _explain(net)  # e.g. min_sites above max_sites set from Python
            if not reasons:
                raise
            return Result(status=Status.INFEASIBLE, solver=backend.name, termination=Termination.INFEASIBLE,
                          build_seconds=built.build_seconds, messages=reasons, network_name=net.name)
    model_lp = solved.lp
    result = Result(
        status=raw.status,
        solver=backend.name,
        termination=raw.termination,
        bound=raw.bound,
        build_seconds=built.build_seconds,
        solve_seconds=raw.solve_seconds,
        model_size={
            "variables": model_lp.n_cols,
            "integer_variables": model_lp.n_integer,
            "constraints": model_lp.n_rows,
            "nonzeros": int(model_lp.A.nnz),
        },
        network_name=net.name,
        strategy=chosen,
        messages=list(notes),
    )
    if raw.status is Status.INFEASIBLE:
        reasons = _explain(net)
        result.messages += reasons or [
            "The solver proved that no plan satisfies all constraints together, and no single cause was found: "
            "review site counts, forced statuses, capacities, single sourcing and max_service_km together."
        ]
        return result
    if raw.status is Status.NO_SOLUTION or raw.x is None:
        if raw.termination is Termination.INTERRUPTED:
            result.messages += ["Interrupted before any plan was found."]
        elif raw.termination in (Termination.UNBOUNDED, Termination.NUMERICAL):
            result.messages += [f"No plan: the solver stopped on {raw.termination.value} trouble ({raw.message})."]
        else:
            result.messages += [f"No plan found within the limits ({raw.message or 'limit reached'})."]
        return result

    x = solved.round_solution(raw.x)
    plan = solved.decode(x)
    if pooled is not None:  # the exact square-root holding cost, not the model's tangent estimate
        plan.costs, plan.objective = pooled.costs, float(pooled.objective)
        result.messages.append(
            f"Pooled inventory: {pooled.rounds} round(s) of cuts ({pooled.n_cuts} cuts); the model's "
            f"holding cost is within {pooled.error:.2e} of the exact square-root cost.")
        if pooled.round_limit:
            result.messages.append(
                f"The loop of cuts stopped at its most rounds ({pooled.rounds}) before the holding cost was exact "
                f"within {POOLED_REL_TOL:g}: the best plan found, not proven optimal.")
    result.objective = plan.objective
    result.costs = plan.costs
    result.open_sites = plan.open_sites
    result.flows = plan.flows
    result.routes = plan.routes
    result.stock = plan_stock(net, plan.open_sites, plan.flows)
    result.cost_details = {"holding": {"cycle": float(result.stock["holding_cycle"].sum()),
                                       "safety": float(result.stock["holding_safety"].sum())}}
    if pooled is not None:
        result.cost_details["holding"]["approximation_error"] = float(pooled.error)
    result.kpis = kpis(net, plan.open_sites, plan.flows, result.stock, plan.costs, transit_volume(net, plan.routes))
    result.sites = site_table(net, plan)
    result.site_costs = site_costs(solved, x)
    result.bound = raw.bound if raw.bound is not None and np.isfinite(raw.bound) else None
    result.gap = relative_gap(result.objective, result.bound)
    if result.status is Status.OPTIMAL:  # the plan's exact cost against the proven bound
        slack = POOLED_REL_TOL * plan.costs.get("holding", 0.0) if pooled is not None else 0.0
        if not proven_optimal(result.objective, result.bound, slack):
            result.status = Status.FEASIBLE
    if result.bound_violated:
        result.messages.append(
            f"ERROR: the solver's bound {result.bound!r} lies above the plan's cost {result.objective!r}: a lower "
            "bound can never exceed a feasible plan's cost, so the model, the costing or the solver is wrong; "
            "do not trust this plan.")
    if result.termination is Termination.INTERRUPTED:
        result.messages.append(
            "Interrupted: the best plan found so far is returned, not proven optimal"
            + (f" (gap {result.gap:.3%})." if result.gap is not None else "."))
    elif result.status is Status.FEASIBLE:
        result.messages.append(
            "Best plan found within the limits, not proven optimal"
            + (f" (gap {result.gap:.3%})." if result.gap is not None else ".")
        )
    if run_check:
        result.check = check(net, plan)
    return result


def _explain(network: Network) -> list[str]:
    """Why ``network`` has no plan (:func:`optimizer.diagnose.explain_infeasibility`, imported only
    for an infeasible model: it keeps start-up fast)."""
    from optimizer.diagnose import explain_infeasibility

    return explain_infeasibility(network)


def _pooled_termination(pooled: PooledSolve) -> Termination | None:
    """Why the pooled loop stopped: an interrupt, its most rounds (``round_limit``), else the last round's own
    termination.

    A plan found in an earlier round survives a last round that found none (e.g. on the time
    limit): the termination is then that round's (``time_limit``).
    """
    from optimizer.solvers.base import Termination

    if pooled.interrupted:
        return Termination.INTERRUPTED
    if pooled.round_limit:
        return Termination.ROUND_LIMIT
    if pooled.timed_out:
        return Termination.TIME_LIMIT
    return pooled.result.termination
