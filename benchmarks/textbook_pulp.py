"""The plain textbook PuLP + CBC model of the capacitated facility location problem.

This is the baseline that ``python -m benchmarks run SUITE --baseline`` compares the engine
against (run as ``python -m benchmarks.textbook_pulp FILE --format orlib``, which prints one
JSON document: status, termination, objective, build and solve seconds).  It
is written the way PuLP tutorials write it -- dictionaries of ``LpVariable``
objects, ``lpSum`` expressions and one ``prob +=`` per constraint -- and it
uses the same strong formulation as the engine, so the comparison measures
the modelling layer and the solver, not the formulation:

* ``y[i]`` binary: facility i is open;
* ``x[i][j]`` in [0, 1]: fraction of customer j's demand served by facility i (binary for a
  single-source network, such as a Holmberg file);
* minimise ``sum_i f_i y_i + sum_ij c_ij x_ij`` (``c_ij`` = cost of serving
  j's whole demand from i, currency);
* demand: ``sum_i x_ij = 1`` for every customer j;
* aggregated capacity: ``sum_j d_j x_ij <= s_i y_i`` for every capacitated i;
* strong linking: ``x_ij <= y_i`` for every pair (i, j).

(The engine also adds the valid inequality ``sum_i s_i y_i >= sum_j d_j``;
a textbook model does not.)

CBC runs with PuLP's defaults apart from ``gapRel=1e-9``, so that both sides
prove optimality to the same tolerance.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import pulp

import optimizer
from optimizer.network import Network

#: Relative gap handed to CBC (the engine's default optimality tolerance).
GAP_REL = 1e-9


#: PuLP's solution status -> (status, termination) in the engine's words.
_STATUS = {
    pulp.LpSolutionOptimal: ("optimal", "optimal"),
    pulp.LpSolutionIntegerFeasible: ("feasible", "time_limit"),
    pulp.LpSolutionInfeasible: ("infeasible", "infeasible"),
}


@dataclass
class TextbookResult:
    """Outcome of the textbook model.

    Attributes:
        status: In the engine's words: ``optimal``, ``feasible`` (a plan, not proven),
            ``no_solution`` or ``infeasible``.
        termination: ``optimal``, ``time_limit`` (stopped with or without a plan) or ``infeasible``.
        objective: Total cost, currency (``None`` without a solution).
        build_seconds: Time to create the variables, objective and constraints.
        solve_seconds: Time spent in ``prob.solve`` (writing the model file,
            running CBC, reading the solution back).
    """

    status: str
    termination: str
    objective: float | None
    build_seconds: float
    solve_seconds: float


def solve_textbook(network: Network, time_limit: float | None = None) -> TextbookResult:
    """Build and solve the textbook PuLP model of a one-product benchmark network.

    Args:
        network: A network read by :func:`optimizer.io.orlib.read_orlib`
            or :func:`optimizer.io.orlib.read_sscflp` (one product, ``unit_shipping_cost`` set).
        time_limit: CBC time limit in seconds, ``None`` for none.

    Returns:
        PuLP's status, the objective and the build and solve times.
    """
    start = time.perf_counter()
    facilities = network.site_ids
    customers = network.region_ids
    capacity = dict(zip(facilities, network.sites["capacity"].to_numpy(dtype=float)))
    fixed_cost = dict(zip(facilities, network.sites["fixed_cost"].to_numpy(dtype=float)))
    demand_units = network.demand_matrix[:, 0]
    demand = dict(zip(customers, demand_units))
    whole_cost = np.asarray(network.unit_shipping_cost) * demand_units[None, :]
    cost = {i: dict(zip(customers, row)) for i, row in zip(facilities, whole_cost)}

    prob = pulp.LpProblem("CFLP", pulp.LpMinimize)
    y = pulp.LpVariable.dicts("open", facilities, cat=pulp.LpBinary)
    kind = pulp.LpBinary if network.settings.single_sourcing else pulp.LpContinuous
    x = pulp.LpVariable.dicts("serve", (facilities, customers), lowBound=0, upBound=1, cat=kind)

    prob += pulp.lpSum(fixed_cost[i] * y[i] for i in facilities) + pulp.lpSum(
        cost[i][j] * x[i][j] for i in facilities for j in customers
    )
    for j in customers:
        prob += pulp.lpSum(x[i][j] for i in facilities) == 1, f"demand_{j}"
    for i in facilities:
        if np.isfinite(capacity[i]):
            prob += pulp.lpSum(demand[j] * x[i][j] for j in customers) <= capacity[i] * y[i], f"capacity_{i}"
    for i in facilities:
        for j in customers:
            prob += x[i][j] <= y[i], f"link_{i}_{j}"
    build_seconds = time.perf_counter() - start

    start = time.perf_counter()
    prob.solve(pulp.PULP_CBC_CMD(msg=False, gapRel=GAP_REL, timeLimit=time_limit))
    solve_seconds = time.perf_counter() - start
    status, termination = _STATUS.get(prob.sol_status, ("no_solution", "time_limit"))
    objective = pulp.value(prob.objective) if status in ("optimal", "feasible") else None
    return TextbookResult(
        status=status,
        termination=termination,
        objective=None if objective is None else float(objective),
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
    )


def main(argv: list[str] | None = None) -> int:
    """Read one benchmark file, solve the textbook model and print the result as JSON."""
    parser = argparse.ArgumentParser(description="Solve an OR-Library or Holmberg file with the textbook "
                                                 "PuLP + CBC model; print one JSON document.")
    parser.add_argument("path", help="the benchmark file")
    parser.add_argument("--format", choices=("orlib", "sscflp"), default="orlib", help="file format")
    parser.add_argument("--time-limit", type=float, default=None, help="CBC's time limit, seconds")
    args = parser.parse_args(argv)
    result = solve_textbook(optimizer.load(args.path, format=args.format), time_limit=args.time_limit)
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
