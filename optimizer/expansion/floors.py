"""Period floors: a lower bound on each study period's operating cost, from a single-period solve.

Whatever a study decides, its plan in period ``t`` is a plan of that period's network in which

* only sites that can serve in ``t`` serve: those held before the study, and candidates whose
  ``build_periods`` have passed by ``t`` when opened in the first period;
* each site holds at most its base capacity plus all its modules;
* closing costs and capex are not operating costs (the study charges them on its own columns).

So the optimum of the *relaxed period network* (:func:`relaxed_period`: candidates that cannot serve
yet forced closed, every module's capacity added, no closing cost) is a lower bound on the period's
operating cost per period, and its solver bound (from :func:`optimizer.api.solve`, the single-period
strategies: the site tree or the decomposition, with pooled stock at its exact square roots) is a
valid one.  :func:`with_floors` adds one row per period, ``weighted block costs >= weight x floor``,
to the study model: a valid inequality for every plan (with stock columns at their exact values),
which lifts the LP relaxation's fractional sites to the cost of a real design.  On the demo study
it raised the LP bound from 1.8152e9 to 1.8244e9 (the plan found: 1.8366e9).

With ``unmet_penalty`` the study may leave demand unserved at a price the single-period model does
not have, so no floors are derived (:func:`period_floors` returns ``None`` and says why).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp

from optimizer.expansion.model import ExpansionModel
from optimizer.expansion.study import Study
from optimizer.network import Network
from optimizer.plan import COST_COMPONENTS
from optimizer.solvers.base import Status


@dataclasses.dataclass(frozen=True)
class Floors:
    """Lower bounds of each period's operating cost.

    Attributes:
        floor: Per study period, currency per period (``-inf`` where the solve found no bound), shape (T,).
        seconds: Wall time of the single-period solves.
        serving: Which sites serve in each period's plan (sites x periods, bool; a period without a plan
            serves none): a design each period would choose on its own, ignoring capex.
    """

    floor: np.ndarray
    seconds: float
    serving: np.ndarray


def relaxed_period(study: Study, t: int) -> Network:
    """Period ``t``'s network relaxed as the module docstring says (a new network; the study is unchanged)."""
    network = study.periods[t].network
    sites = network.sites.copy()
    sites["capacity"] = sites["capacity"].to_numpy(dtype=float) + study.module_capacity()
    sites["closing_cost"] = 0.0
    status = sites["status"].to_numpy(dtype=object).copy()
    not_yet = ~study.initially_held() & (study.options["build_periods"].to_numpy(dtype=int) > t)
    status[not_yet & (status != "forced_closed")] = "forced_closed"
    sites["status"] = status
    return dataclasses.replace(network, sites=sites)


def period_floors(study: Study, *, solver: str, mip_gap: float, time_limit: float | None,
                  threads: int | None) -> Floors | None:
    """Solve every relaxed period network; ``None`` when floors do not apply (``unmet_penalty``).

    Args:
        study: The study.
        solver: Backend name.
        mip_gap: Relative gap of each single-period solve.
        time_limit: Seconds for all periods together (shared equally), ``None`` for none.
        threads: Solver threads.
    """
    from optimizer.api import build, solve

    if study.unmet_penalty is not None:
        return None
    start = time.perf_counter()
    floors = []
    T = study.n_periods
    sites = study.base.sites.index
    serving = np.zeros((len(sites), T), dtype=bool)
    for t in range(T):
        limit = None if time_limit is None else max(1.0, (start + time_limit - time.perf_counter()) / (T - t))
        built = build(relaxed_period(study, t))
        result = solve(built, solver=solver, mip_gap=mip_gap, time_limit=limit, threads=threads, run_check=False)
        offset = sum(built.cost_offsets[n] for n in COST_COMPONENTS if n != "closing")
        bound = result.bound if result.bound is not None and np.isfinite(result.bound) else -np.inf
        if result.status is Status.INFEASIBLE:
            bound = np.inf  # no plan can serve the period: the study is infeasible too
        floors.append(bound - offset)
        serving[sites.get_indexer(list(result.open_sites)), t] = True
    return Floors(np.array(floors, dtype=float), time.perf_counter() - start, serving)


def with_floors(model: ExpansionModel, floors: Floors) -> ExpansionModel:
    """A new model with ``block costs_t >= weight_t x floor_t`` for every period with a finite floor."""
    rows, lower = [], []
    for t, block in enumerate(model.blocks):
        if np.isfinite(floors.floor[t]):
            cols = np.arange(block.first_col, block.first_col + block.n_cols)
            coef = model.lp.c[cols]
            keep = coef != 0
            rows.append(sp.csr_matrix((coef[keep], (np.zeros(int(keep.sum()), dtype=np.int64), cols[keep])),
                                      shape=(1, model.lp.n_cols)))
            lower.append(block.weight * floors.floor[t])
    if not rows:
        return model
    lp = dataclasses.replace(model.lp, A=sp.vstack([model.lp.A, *rows], format="csr"),
                             row_lower=np.concatenate([model.lp.row_lower, lower]),
                             row_upper=np.concatenate([model.lp.row_upper, np.full(len(lower), np.inf)]))
    return dataclasses.replace(model, lp=lp)
