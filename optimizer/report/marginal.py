"""Estimated marginal values of site capacity, from the plan's LP.

The model is a MIP, so it has no exact shadow prices.  The estimate fixes the plan's integer
decisions (open sites; with single sourcing the assignments; the "used" binaries of fixed-cost
links at 1) and solves what is left as a linear program (HiGHS); the dual of a row is what one
more unit of its right-hand side would save **with those decisions kept**.  Pooled stock enters
through its square roots linearised at the plan (the tangents there): with multi-sourcing the shares
may move, and the stock they carry is priced to first order.  Re-optimising the
sites could save more: these are estimates, and labelled so everywhere they are shown.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from optimizer.frontier import plan_vector
from optimizer.model.build import BuiltModel
from optimizer.model.pooled import add_pooled_inventory
from optimizer.network import Network
from optimizer.results import Result
from optimizer.solvers.lp_session import LPSession

#: Utilisation from which a site counts as full.
FULL = 0.999


def _duals(built: BuiltModel, x_head: np.ndarray) -> np.ndarray | None:
    """Row duals of the LP with the integer columns of ``x_head`` fixed (link binaries at 1); None if not optimal."""
    lp = built.lp
    lower, upper = lp.col_lower.astype(float).copy(), lp.col_upper.astype(float).copy()
    n = len(x_head)
    head_int = lp.integer[:n]
    lower[:n][head_int] = upper[:n][head_int] = x_head[head_int]
    rest = np.flatnonzero(lp.integer[n:]) + n
    lower[rest] = upper[rest] = 1.0
    outcome = LPSession(replace(lp, col_lower=lower, col_upper=upper)).solve(np.zeros(0, dtype=np.int64),
                                                                             np.zeros(0), np.zeros(0))
    return outcome.row_dual if outcome.status == "optimal" else None


def marginal_values(network: Network, result: Result) -> pd.DataFrame:
    """Estimated marginal values of the capacity of each full (or binding) site.

    Args:
        network: The network solved.
        result: A result with a plan.

    Returns:
        Columns ``constraint``, ``site``, ``value_per_unit`` (currency per period saved by one
        more volume unit of capacity), ``utilisation`` and ``note``
        (``estimate: ...``).  Empty when the LP cannot be solved.
    """
    from optimizer import api

    built = api.build(network)
    head = plan_vector(built, result.open_sites, result.flows)
    if network.settings.inventory.model == "pooled":  # the stock's cost, linearised at the plan
        pooled = add_pooled_inventory(built)
        built = pooled.refine(np.concatenate([head, np.zeros(pooled.built.lp.n_cols - len(head))])).built
    duals = _duals(built, head)
    columns = ["constraint", "site", "value_per_unit", "utilisation", "note"]
    if duals is None:
        return pd.DataFrame(columns=columns)
    K, C = len(built.unit_region), len(built.lane_site)
    capacity = network.sites["capacity"].to_numpy(dtype=float)
    capped = np.flatnonzero(np.isfinite(capacity))
    util = result.sites.set_index("site")["utilisation"]
    rows = []
    note = "estimate: the LP with the plan's sites (and single-sourcing assignments) fixed" + \
        (", stock linearised at the plan" if network.settings.inventory.model == "pooled" else "")
    open_sites = set(result.open_sites)
    for k, i in enumerate(capped):
        site = str(network.sites.index[i])
        if site not in open_sites:  # a closed site's row only restates that it ships nothing
            continue
        value = -float(duals[K + C + k])
        if float(util.get(site, 0.0)) >= FULL or abs(value) > 1e-9:
            rows.append(("site capacity (per volume unit)", site, value, float(util.get(site, np.nan)), note))
    return pd.DataFrame(rows, columns=columns)
