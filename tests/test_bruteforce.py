"""Tiny random networks against brute-force enumeration.

For every subset of open sites allowed by the statuses and site counts, the
cheapest allocation is found independently (a transportation LP on
quantities with scipy's ``linprog`` for multi-sourcing; every assignment of
regions to open sites for single sourcing), costed from the raw tables with
a separate distance formula.  The engine's optimum must equal the best.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog

import optimizer
from factory import make_network
from optimizer.solvers import available_solvers


#: Periods a one-off closing cost is spread over: the default horizon, one year of the default 7-day periods.
HORIZON = round(365 / 7)


def road_km(a, b, circuity):
    """Great-circle km (haversine, scalar math) times circuity."""
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h)) * circuity


def random_network(seed: int, single: bool):
    rng = np.random.default_rng(seed)
    n_sites, n_regions = int(rng.integers(3, 5)), int(rng.integers(3, 6))
    products = [
        {"id": f"P{k}", "volume": float(rng.uniform(0.5, 2.0)), "unit_value": float(rng.uniform(1, 50)),
         "holding_rate": 0.25, "shipping_cost_per_km": float(rng.uniform(0.001, 0.01))}
        for k in range(2)
    ]
    demand = [(f"R{r}", f"P{k}", float(rng.integers(0, 30))) for r in range(n_regions) for k in range(2)]
    total_volume = sum(q * products[int(p[1])]["volume"] for _, p, q in demand)
    statuses = ["candidate", "candidate", "existing", "forced_open", "forced_closed"]
    sites = []
    for i in range(n_sites):
        status = statuses[int(rng.integers(0, len(statuses)))] if i else "candidate"
        sites.append({
            "id": f"S{i}", "lat": float(rng.uniform(40, 50)), "lon": float(rng.uniform(0, 10)),
            "capacity": float(rng.uniform(0.4, 1.2) * total_volume), "fixed_cost": float(rng.uniform(50, 400)),
            "handling_cost": float(rng.uniform(0, 1)), "status": status,
            "closing_cost": float(rng.uniform(0, 200 * HORIZON)) if status == "existing" else 0.0,
        })
    regions = [{"id": f"R{r}", "lat": float(rng.uniform(40, 50)), "lon": float(rng.uniform(0, 10))}
               for r in range(n_regions)]
    settings = {"days_of_cover": 7.0, "circuity": 1.3, "single_sourcing": single}
    if rng.random() < 0.4:
        settings["max_sites"] = 2
    return make_network(sites, regions, products, demand, **settings), (sites, regions, products, demand, settings)


def brute_force(raw) -> float:
    sites, regions, products, demand, settings = raw
    S, R, P = len(sites), len(regions), len(products)
    q = np.zeros((R, P))
    for r, p, quantity in demand:
        q[int(r[1:]), int(p[1:])] = quantity
    vol = np.array([p["volume"] for p in products])
    unit = np.zeros((S, R, P))  # cost per unit on each lane
    for i, s in enumerate(sites):
        for r, g in enumerate(regions):
            km = road_km((s["lat"], s["lon"]), (g["lat"], g["lon"]), settings["circuity"])
            for k, p in enumerate(products):
                unit[i, r, k] = (km * p["shipping_cost_per_km"] + s["handling_cost"] * p["volume"]
                                 + p["unit_value"] * p["holding_rate"] * settings["days_of_cover"] / 365)
    best = math.inf
    for subset in itertools.product([0, 1], repeat=S):
        if any(s["status"] == "forced_open" and not o for s, o in zip(sites, subset)):
            continue
        if any(s["status"] == "forced_closed" and o for s, o in zip(sites, subset)):
            continue
        if sum(subset) > settings.get("max_sites", S):
            continue
        opened = [i for i in range(S) if subset[i]]
        if not opened:
            continue
        # A closing cost is one-off, spread over the default horizon: one year of 7-day periods, 365 / 7 -> 52.
        base = sum(sites[i]["fixed_cost"] for i in opened) + sum(
            s["closing_cost"] for s, o in zip(sites, subset) if s["status"] == "existing" and not o) / HORIZON
        if settings["single_sourcing"]:
            alloc = math.inf
            for assign in itertools.product(opened, repeat=R):
                load = {i: 0.0 for i in opened}
                for r, i in enumerate(assign):
                    load[i] += q[r] @ vol
                if all(load[i] <= sites[i]["capacity"] + 1e-9 for i in opened):
                    alloc = min(alloc, sum(q[r] @ unit[i, r] for r, i in enumerate(assign)))
        else:
            # Transportation LP on quantities x[i, r, k] for open sites.
            n = len(opened) * R * P
            cost = np.array([unit[i, r, k] for i in opened for r in range(R) for k in range(P)])
            a_eq = np.zeros((R * P, n))
            a_ub = np.zeros((len(opened), n))
            col = 0
            for oi, i in enumerate(opened):
                for r in range(R):
                    for k in range(P):
                        a_eq[r * P + k, col] = 1.0
                        a_ub[oi, col] = vol[k]
                        col += 1
            res = linprog(cost, A_ub=a_ub, b_ub=[sites[i]["capacity"] for i in opened],
                          A_eq=a_eq, b_eq=q.ravel(), bounds=(0, None), method="highs")
            alloc = res.fun if res.status == 0 else math.inf
        best = min(best, base + alloc)
    return best


@pytest.mark.parametrize("strategy", ["compact", "sites", "decompose"])
@pytest.mark.parametrize("solver", available_solvers())
@pytest.mark.parametrize("single", [False, True], ids=["multi", "single"])
@pytest.mark.parametrize("seed", range(6))
def test_engine_matches_brute_force(seed, single, solver, strategy):
    net, raw = random_network(seed, single)
    expected = brute_force(raw)
    result = optimizer.solve(net, solver=solver, strategy=strategy)
    if math.isinf(expected):
        assert result.status is optimizer.Status.INFEASIBLE
        assert result.messages
        return
    assert result.status is optimizer.Status.OPTIMAL
    # branching on sites needs HiGHS: other solvers fall back to compact and say so
    assert result.strategy == (strategy if strategy != "sites" or solver == "highs" else "compact"), result.messages
    assert result.check.ok, result.check.violations
    assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-6)
