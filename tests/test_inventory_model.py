"""The pooled inventory model: brute force with exact square roots, risk pooling, error and bound."""

from __future__ import annotations

import dataclasses

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.stats import norm

import optimizer
from factory import make_network
from optimizer.errors import InputError
from optimizer.stock import stock_table
from optimizer.model.build import build_model
from optimizer.model.pooled import add_pooled_inventory
from optimizer.strategies.pooled import solve_pooled
from optimizer.network import InventorySettings
from optimizer.solvers import available_solvers, get_solver
from optimizer.solvers.base import SolveOptions

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo"


def solve_fn(name: str = "highs"):
    backend = get_solver(name)
    return lambda lp: backend.solve(lp, SolveOptions())


def random_network(seed: int):
    """3-4 candidate sites, 3-5 regions, 2 products, single sourcing, random std / service / lead / ordering."""
    rng = np.random.default_rng(seed)
    n_sites, n_regions = int(rng.integers(3, 5)), int(rng.integers(3, 6))
    products = [{"id": f"P{k}", "volume": 1.0, "unit_value": float(rng.uniform(50, 400)), "holding_rate": 0.3,
                 "shipping_cost_per_km": float(rng.uniform(0.001, 0.01))} for k in range(2)]
    demand = [(f"R{r}", f"P{k}", float(rng.integers(5, 60))) for r in range(n_regions) for k in range(2)]
    total = sum(q for _, _, q in demand)
    sites = [{"id": f"S{i}", "lat": float(rng.uniform(40, 50)), "lon": float(rng.uniform(0, 10)),
              "capacity": float(rng.uniform(0.5, 1.2) * total), "fixed_cost": float(rng.uniform(20, 200)),
              "handling_cost": float(rng.uniform(0, 1))} for i in range(n_sites)]
    regions = [{"id": f"R{r}", "lat": float(rng.uniform(40, 50)), "lon": float(rng.uniform(0, 10))}
               for r in range(n_regions)]
    net = make_network(sites, regions, products, demand, circuity=1.2, single_sourcing=True, period_days=7.0,
                       inventory=InventorySettings(model="pooled", lead_time_days=10.0, review_days=7.0))
    net.demand["std"] = rng.uniform(0.2, 0.8, len(demand)) * net.demand["quantity"]
    net.products["service_level"] = rng.uniform(0.8, 0.99, 2)
    net.products["ordering_cost"] = [40.0 if seed % 2 == 0 else 0.0, 0.0]
    net.sites["lead_time_days"] = np.where(rng.random(n_sites) < 0.5, np.nan, rng.uniform(3, 20, n_sites))
    return net


def site_holding(net, site: str, served: tuple[str, ...]) -> float:
    """Holding cost of one site serving ``served`` (whole regions), written out with scalar math."""
    T, inv = net.settings.period_days, net.settings.inventory
    lead = net.sites.loc[site, "lead_time_days"]
    lead = inv.lead_time_days if math.isnan(lead) else lead
    total = 0.0
    for prod, row in net.products.iterrows():
        d = net.demand[(net.demand["product"] == prod) & net.demand["region"].isin(served)]
        mean, var = d["quantity"].sum(), (d["std"] ** 2).sum()
        h = row["unit_value"] * row["holding_rate"]
        if row["ordering_cost"] > 0:
            cycle = math.sqrt(2 * row["ordering_cost"] * mean * 365 / T / h) / 2
        else:
            cycle = mean / T * inv.review_days / 2
        safety = max(norm.ppf(row["service_level"]), 0) * math.sqrt(lead / T) * math.sqrt(var)
        total += h * T / 365 * (cycle + safety)
    return total


def brute_force(net) -> float:
    """Cheapest total over every assignment of regions to sites (capacity respected)."""
    sites, regions = net.site_ids, net.region_ids
    dist = net.distance_km
    mix = net.demand_matrix
    ship = net.products["shipping_cost_per_km"].to_numpy()
    memo: dict[tuple[str, tuple[str, ...]], float] = {}
    best = math.inf
    for choice in itertools.product(range(len(sites)), repeat=len(regions)):
        load = np.zeros(len(sites))
        cost = 0.0
        for r, s in enumerate(choice):
            load[s] += mix[r].sum()
            cost += dist[s, r] * (mix[r] @ ship) + net.sites["handling_cost"].iloc[s] * mix[r].sum()
        if np.any(load > net.sites["capacity"].to_numpy() + 1e-9):
            continue
        cost += net.sites["fixed_cost"].to_numpy()[sorted(set(choice))].sum()
        for s in set(choice):
            key = (sites[s], tuple(regions[r] for r in range(len(regions)) if choice[r] == s))
            if key not in memo:
                memo[key] = site_holding(net, *key)
            cost += memo[key]
        best = min(best, cost)
    return best


def pooled_solve(net, solver: str = "highs", **kwargs):
    pooled = add_pooled_inventory(build_model(net))
    return pooled.built, pooled, solve_pooled(pooled, solve_fn(solver), **kwargs)


def plan_flows(built, x) -> pd.DataFrame:
    """Site -> region flows of a solution vector (assignment columns only)."""
    S, C = built.n_sites, len(built.lane_site)
    frac = x[S:S + C]
    rows = []
    for c in np.flatnonzero(frac > 1e-9):
        for p, q in enumerate(built.unit_mix[built.lane_unit[c]] * frac[c]):
            if q > 0:
                rows.append((built.network.site_ids[built.lane_site[c]],
                             built.network.region_ids[built.unit_region[built.lane_unit[c]]],
                             built.network.product_ids[p], q))
    return pd.DataFrame(rows, columns=["from", "to", "product", "quantity"])


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force(seed):
    net = random_network(seed)
    expected = brute_force(net)
    built, pooled, result = pooled_solve(net)
    assert result.objective == pytest.approx(expected, rel=1e-6)
    assert result.error <= 1e-4
    assert result.bound <= expected * (1 + 1e-9)
    assert result.gap <= 1e-4
    # The stock table of the plan costs the same holding as the model's exact evaluation.
    open_sites = [s for i, s in enumerate(net.site_ids) if result.x[i] > 0.5]
    table = stock_table(net, open_sites, plan_flows(built, result.x))
    assert table["holding_cycle"].sum() == pytest.approx(result.cycle, rel=1e-9)
    assert table["holding_safety"].sum() == pytest.approx(result.safety, rel=1e-9)


@pytest.mark.parametrize("solver", available_solvers())
def test_every_solver_agrees_with_brute_force(solver):
    net = random_network(11)
    _, _, result = pooled_solve(net, solver)
    assert result.objective == pytest.approx(brute_force(net), rel=1e-6)


def pooling_pair(std: float):
    """Sites A (lon 0) and B (lon 1), regions R1 at A and R2 at B, 7-day lead time = period."""
    sites = [{"id": "A", "lon": 0.0, "fixed_cost": 0.0}, {"id": "B", "lon": 1.0, "fixed_cost": 0.0}]
    regions = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 1.0}]
    products = [{"id": "P", "unit_value": 100.0, "holding_rate": 0.365, "shipping_cost_per_km": 0.001}]
    net = make_network(sites, regions, products, [("R1", "P", 70.0), ("R2", "P", 70.0)], single_sourcing=True,
                       period_days=7.0, inventory=InventorySettings(model="pooled", lead_time_days=7.0))
    net.demand["std"] = [0.75 * std, std]
    net.products["service_level"] = norm.cdf(2.0)  # z = 2
    return net


def test_risk_pooling_merges_regions_on_one_site():
    """Safety stock 2*(30+40)=140 units on two sites vs 2*sqrt(30^2+40^2)=100 on one: saving 40 units x 0.7
    = 28 per period; R2 served from A costs 70 units x 111.2 km x 0.001 = 7.78 per period, so one site wins.
    """
    net = pooling_pair(40.0)
    built, _, result = pooled_solve(net)
    km = net.distance_km[0, 1]
    assert plan_flows(built, result.x)["from"].nunique() == 1  # both regions on one site
    assert result.safety == pytest.approx(0.7 * 100.0)
    assert result.costs["shipping"] == pytest.approx(70.0 * km * 0.001)
    assert result.cycle == pytest.approx(0.7 * 70.0)  # review 7 days: 35 units per region
    # With little variability, pooling saves less than shipping costs: two sites.
    built, _, result = pooled_solve(pooling_pair(4.0))
    assert plan_flows(built, result.x)["from"].nunique() == 2
    assert result.safety == pytest.approx(0.7 * 2 * 7.0)


def test_costs_extend_to_new_columns_and_replace_linear_holding():
    net = random_network(3).with_settings(days_of_cover=30.0)
    plain = build_model(net)
    pooled = add_pooled_inventory(plain)
    built = pooled.built
    assert built.lp.n_cols > plain.lp.n_cols
    assert all(len(v) == built.lp.n_cols for v in built.cost_vectors.values())
    np.testing.assert_allclose(sum(built.cost_vectors.values()), built.lp.c)
    # No days_of_cover holding left on the assignment columns: only the review-period cycle (product P1).
    np.testing.assert_allclose(built.cost_vectors["holding"][pooled.lane_cols], pooled.review_cycle)
    result = solve_pooled(pooled, solve_fn())
    assert result.objective == pytest.approx(brute_force(net), rel=1e-6)


def test_round_limit_reports_the_error_and_a_valid_bound():
    net = random_network(4)
    expected = brute_force(net)
    _, _, one = pooled_solve(net, max_rounds=1)
    assert one.rounds == 1
    assert one.error == pytest.approx(abs(one.cycle + one.safety - one.estimate) / (one.cycle + one.safety))
    assert one.bound <= expected * (1 + 1e-9)
    assert one.objective >= expected * (1 - 1e-9)


def test_the_loop_stopped_at_its_most_rounds_says_so(monkeypatch):
    # Multi-sourced shares need several rounds of tangents; with one allowed the plan is the best found, not proven.
    import optimizer.strategies.pooled as loop

    net = pooling_pair(40.0).with_settings(single_sourcing=False)
    proven = optimizer.solve(net, strategy="compact")
    assert proven.status is optimizer.Status.OPTIMAL and proven.termination == "optimal"
    monkeypatch.setattr(loop, "MAX_ROUNDS", 1)
    capped = optimizer.solve(net, strategy="compact")
    assert capped.status is optimizer.Status.FEASIBLE
    assert capped.termination == "round_limit"
    assert capped.bound <= proven.objective * (1 + 1e-9) <= capped.objective * (1 + 1e-9)
    assert any("most rounds (1)" in m for m in capped.messages), capped.messages


def test_multi_sourcing_with_ordering_cost_is_refused():
    net = random_network(0).with_settings(single_sourcing=False)
    net.products["ordering_cost"] = [40.0, 0.0]
    with pytest.raises(InputError, match="single_sourcing"):
        add_pooled_inventory(build_model(net))


def test_multi_sourcing_safety_stock_only():
    """Without ordering costs the model also runs multi-sourced (the f^2 sigma^2 rule is convex in f).

    Reference: minimise over the shares f1, f2 of R1, R2 served from A (z = 2, L = period, 0.7 per unit):
    1.4 (||(30 f1, 40 f2)|| + ||(30 (1-f1), 40 (1-f2))||) + 0.001 km 70 (1 - f1 + f2) + cycle 49.
    Splitting both regions in the same proportion pools as well as merging them (an artefact of the
    f^2 rule), so the multi-sourced optimum is below the single-sourced one.
    """
    net = pooling_pair(40.0).with_settings(single_sourcing=False)
    km = net.distance_km[0, 1]

    def cost(f):
        f1, f2 = f
        return (1.4 * (math.hypot(30 * f1, 40 * f2) + math.hypot(30 * (1 - f1), 40 * (1 - f2)))
                + 0.001 * km * 70 * (1 - f1 + f2) + 49.0)

    grid = [(f1, f2) for f1 in np.linspace(0, 1, 101) for f2 in np.linspace(0, 1, 101)]
    start = min(grid, key=cost)
    reference = minimize(cost, start, bounds=[(0, 1), (0, 1)], method="L-BFGS-B").fun
    built, _, result = pooled_solve(net)
    share = {(built.lane_site[c], built.unit_region[built.lane_unit[c]]): result.x[built.n_sites + c]
             for c in range(len(built.lane_site))}
    assert result.error <= 1e-4
    assert result.objective == pytest.approx(cost((share[0, 0], share[0, 1])), rel=1e-9)
    assert reference - 1e-6 <= result.objective <= reference + 1e-4 * (result.cycle + result.safety)
    assert result.objective < 0.7 * 170 + 0.001 * km * 70 - 0.1  # below the single-sourced optimum


def test_demo_pooled_single_sourcing():
    """The demo (its one-echelon core: no suppliers, no links) with pooled inventory and single sourcing:
    converges, error far below 0.5 %."""
    net = dataclasses.replace(optimizer.load(DEMO), suppliers=None, supply=None, links=None)
    net = net.with_settings(single_sourcing=True, inventory=InventorySettings(model="pooled"))
    _, _, result = pooled_solve(net)
    assert result.result.status.value == "optimal" and result.converged
    assert result.error <= 1e-4
    assert result.safety > 0 and result.cycle > 0
    assert result.gap <= 1e-4


def test_warm_start_is_kept_with_exact_stock():
    net = random_network(2)
    plain = build_model(net)
    x = get_solver("highs").solve(plain.lp, SolveOptions()).x
    started = replace(plain, lp=replace(plain.lp, warm_start=x))
    pooled = add_pooled_inventory(started)
    built = pooled.built
    start = built.lp.warm_start
    assert start is not None and len(start) == built.lp.n_cols
    rows = built.lp.A @ start
    assert np.all(rows >= built.lp.row_lower - 1e-9) and np.all(rows <= built.lp.row_upper + 1e-9)
    assert pooled.estimate(start) == pytest.approx(sum(pooled.exact_costs(start)), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_polymatroid_cuts_never_overestimate_binary_assignments(seed):
    """Every extended polymatroid cut, in any lane order, stays below the exact stock at every binary point."""
    net = random_network(seed)
    pooled = add_pooled_inventory(build_model(net))
    built = pooled.built
    assert pooled.binary
    rng = np.random.default_rng(seed)
    blocks = []
    for term in (pooled.cycle, pooled.safety):
        s, p = np.nonzero(term.column >= 0)
        for _ in range(3):
            blocks.append(pooled.polymatroid_cuts(term, s, p, rng.random(len(pooled.lane_cols))))
    cuts = sp.vstack(blocks, format="csr")
    C = len(pooled.lane_cols)
    x = np.zeros(built.lp.n_cols)
    for bits in itertools.product([0.0, 1.0], repeat=C):
        x[pooled.lane_cols] = bits
        lifted = pooled.lift(x)  # stock columns at their exact values
        assert (cuts @ lifted >= -1e-9).all(), bits  # rows read: stock - sum coef * a >= 0


def test_the_loop_of_cuts_stops_at_its_deadline_with_its_plan():
    # With CBC the loop kept solving 1-ms rounds after the time limit (223 s for --time-limit 2), each returning its
    # MIP start, until its 100th round, and said round_limit.
    import time

    from optimizer.solvers.base import Termination

    net = random_network(1)  # six rounds without a deadline
    backend = get_solver("highs")
    calls = []

    def on_the_limit(lp):
        calls.append(1)
        return dataclasses.replace(backend.solve(lp, SolveOptions()), termination=Termination.TIME_LIMIT)

    pooled = add_pooled_inventory(build_model(net))
    stopped = solve_pooled(pooled, on_the_limit)
    assert len(calls) == 1 and stopped.timed_out and not stopped.round_limit and stopped.x is not None
    late = solve_pooled(pooled, solve_fn(), deadline=time.monotonic() - 1.0)
    assert late.rounds == 1 and late.timed_out and late.x is not None  # one round, then the deadline
    assert late.status is optimizer.Status.FEASIBLE
