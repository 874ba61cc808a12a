"""The Python API: load a network, build its model, solve it, check the plan.

The CLI is a thin layer over these functions; notebooks call them directly::

    import optimizer
    net = optimizer.load("scenarios/demo")
    result = optimizer.solve(net, time_limit=60)
    result.flows.head()
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optimizer.checker import check
from optimizer.diagnose import explain_infeasibility
from optimizer.errors import InputError, Problem
from optimizer.io.dataset import read_dataset, validate_dataset
from optimizer.io.orlib import read_orlib, read_sscflp
from optimizer.model.build import BuiltModel, build_model
from optimizer.network import Network
from optimizer.results import Result, site_table
from optimizer.solvers import get_solver
from optimizer.solvers.base import SolveOptions, Status, relative_gap

#: Input formats understood by :func:`load`.
FORMATS = ("dataset", "orlib", "sscflp")


def load(path: str | Path, format: str = "dataset") -> Network:
    """Read a network from disk.

    Args:
        path: A dataset folder (``format="dataset"``), or an OR-Library
            capacitated warehouse location file (``"orlib"``), or a Holmberg
            single-source file (``"sscflp"``).
        format: One of :data:`FORMATS`.

    Returns:
        The validated network.

    Raises:
        InputError: The input is missing or invalid (every problem is listed).
    """
    path = Path(path)
    if format == "dataset":
        return read_dataset(path)
    if format == "orlib":
        return read_orlib(path)
    if format == "sscflp":
        return read_sscflp(path)
    raise InputError(Problem(str(path), f"unknown format '{format}'; expected one of {', '.join(FORMATS)}"))


def validate(path: str | Path) -> list[Problem]:
    """Every problem found in a dataset folder (empty when valid)."""
    return validate_dataset(Path(path))


def build(network: Network) -> BuiltModel:
    """Build the MIP for ``network`` (see :mod:`optimizer.model.build`)."""
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

    Returns:
        The result; ``result.check.ok`` is False if the checker rejected the plan.
    """
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
    raw = backend.solve(built.lp, options)
    result = Result(
        status=raw.status,
        solver=backend.name,
        bound=raw.bound,
        build_seconds=built.build_seconds,
        solve_seconds=raw.solve_seconds,
        model_size={
            "variables": built.lp.n_cols,
            "integer_variables": built.lp.n_integer,
            "constraints": built.lp.n_rows,
            "nonzeros": int(built.lp.A.nnz),
        },
        network_name=net.name,
    )
    if raw.status is Status.INFEASIBLE:
        reasons = explain_infeasibility(net)
        result.messages = reasons or [
            "The solver proved that no plan satisfies all constraints together, and no single cause was found: "
            "review site counts, forced statuses, capacities, single sourcing and max_service_km together."
        ]
        return result
    if raw.status is Status.NO_SOLUTION or raw.x is None:
        result.messages = [f"No plan found within the limits ({raw.message or 'limit reached'})."]
        return result

    x = built.round_solution(raw.x)
    plan = built.decode(x)
    result.objective = plan.objective
    result.costs = plan.costs
    result.open_sites = plan.open_sites
    result.flows = plan.flows
    result.routes = plan.routes
    result.sites = site_table(net, plan)
    if raw.bound is not None and np.isfinite(raw.bound):
        result.bound = min(raw.bound, plan.objective) if raw.status is Status.OPTIMAL else raw.bound
    result.gap = relative_gap(result.objective, result.bound)
    if raw.status is Status.FEASIBLE:
        result.messages.append(
            "Best plan found within the limits, not proven optimal"
            + (f" (gap {result.gap:.3%})." if result.gap is not None else ".")
        )
    if run_check:
        result.check = check(net, plan)
    return result

