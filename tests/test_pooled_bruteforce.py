"""Pooled stock (square-root safety and cycle stock) on tiny single-sourcing networks against brute force.

Every set of open sites and every assignment of regions to them is costed by the independent checker
(recomputed from the raw tables: fixed, handling, transport and the exact pooled holding cost); the
cheapest plan that keeps the capacities must be what branching on sites (``strategy="sites"``: the site
tree, its square-root cuts at the nodes and the loop of MIPs per site plan) and the compact loop of whole
MIPs (``strategy="compact"``) both prove optimal, also with an exact site count (a frontier point).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import optimizer
from factory import KM_PER_DEG, make_network
from optimizer.checker import check
from optimizer.network import InventorySettings
from optimizer.plan import Plan


def pooled_network(seed: int, **settings) -> optimizer.Network:
    """3 candidate sites, 4 regions, 2 products with demand spread (std), pooled stock, single sourcing."""
    rng = np.random.default_rng(seed)
    n_sites, n_regions = 3, 4
    products = [{"id": "A", "volume": 1.0, "unit_value": float(rng.uniform(50, 400)), "holding_rate": 0.3,
                 "shipping_cost_per_km": 0.002},
                {"id": "B", "volume": 0.5, "unit_value": float(rng.uniform(50, 400)), "holding_rate": 0.25,
                 "shipping_cost_per_km": 0.001}]
    demand = [(f"R{j}", p, float(rng.uniform(5, 40)), float(rng.uniform(2, 12)))
              for j in range(n_regions) for p in ("A", "B")]
    total = sum(q * (1.0 if p == "A" else 0.5) for _, p, q, _ in demand)
    sites = [{"id": f"S{i}", "lon": float(rng.uniform(0, 6)), "capacity": float(rng.uniform(0.35, 0.9) * total),
              "fixed_cost": float(rng.uniform(20, 200)), "handling_cost": float(rng.uniform(0.1, 1.0))}
             for i in range(n_sites)]
    regions = [{"id": f"R{j}", "lon": float(rng.uniform(0, 6))} for j in range(n_regions)]
    return make_network(sites, regions, products, demand, single_sourcing=True, circuity=1.0,
                        max_service_km=10 * KM_PER_DEG, period_days=7.0,
                        inventory=InventorySettings(model="pooled", lead_time_days=3.0, review_days=7.0), **settings)


def brute_force(net: optimizer.Network) -> float:
    """The least checker-recomputed cost over every site set (within the site counts) and assignment."""
    sites, regions = list(net.sites.index), list(net.regions.index)
    demand = net.demand.reset_index() if "region" not in net.demand.columns else net.demand
    exact = net.settings.exact_sites
    best = math.inf
    for subset in itertools.product([0, 1], repeat=len(sites)):
        opened = [s for s, o in zip(sites, subset) if o]
        if not opened or (exact is not None and len(opened) != exact):
            continue
        for assign in itertools.product(opened, repeat=len(regions)):
            site_of = dict(zip(regions, assign))
            flows = pd.DataFrame({"from": [site_of[r] for r in demand["region"]], "to": demand["region"].to_numpy(),
                                  "product": demand["product"].to_numpy(),
                                  "quantity": demand["quantity"].to_numpy(dtype=float)})
            flows = flows[flows["quantity"] > 0]
            report = check(net, Plan(open_sites=opened, flows=flows))
            if report.max_capacity_excess <= 1e-9 and report.max_demand_error <= 1e-9:
                best = min(best, report.objective)
    return best


@pytest.mark.parametrize("exact_sites", [None, 2], ids=["free", "p=2"])
@pytest.mark.parametrize("seed", range(5))
def test_pooled_strategies_match_brute_force(seed, exact_sites):
    net = pooled_network(seed, exact_sites=exact_sites)
    expected = brute_force(net)
    for strategy in ("sites", "compact"):
        result = optimizer.solve(net, strategy=strategy)
        if math.isinf(expected):
            assert result.status is optimizer.Status.INFEASIBLE, (strategy, result.messages)
            continue
        assert result.strategy == strategy, result.messages
        assert result.status is optimizer.Status.OPTIMAL, (strategy, result.messages)
        assert result.check.ok, result.check.violations
        assert result.objective == pytest.approx(expected, rel=1e-7), strategy
        assert result.bound <= result.objective * (1 + 1e-9)
