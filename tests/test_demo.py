"""The bundled demo: optimal, real trade-offs, and reproducible from its generator.

Solving the demo to proven optimality takes minutes since transit needs open sites (the rail hubs
must be open to cross-dock), so the tests that solve it are marked ``slow``.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import optimizer

DEMO = Path(__file__).parent.parent / "scenarios" / "demo"


@pytest.mark.slow
def test_demo_optimal_with_trade_offs():
    net = optimizer.load(DEMO)
    base = optimizer.solve(net)
    assert base.status is optimizer.Status.OPTIMAL and base.check.ok
    assert 3 <= len(base.open_sites) <= len(net.sites) // 2  # some, far from all
    assert base.costs["holding"] > 0 and base.costs["shipping"] > 0
    assert base.costs["inbound"] > 0 and base.costs["transfer"] > 0 and len(base.transfers) > 0
    dearer = net.sites.assign(fixed_cost=net.sites["fixed_cost"] * 1.5)
    rent_up = optimizer.solve(replace(net, sites=dearer))
    assert rent_up.status is optimizer.Status.OPTIMAL
    assert len(rent_up.open_sites) < len(base.open_sites)
    grown = net.demand.assign(quantity=net.demand["quantity"] * 1.5)
    supply_up = net.supply.assign(capacity=net.supply["capacity"] * 1.5)
    fast = replace(net.settings, single_sourcing=False, inventory=replace(net.settings.inventory, model="linear"))
    demand_up = optimizer.solve(replace(net, demand=grown, supply=supply_up, settings=fast))
    assert demand_up.status is optimizer.Status.OPTIMAL and demand_up.check.ok
    assert set(demand_up.open_sites) != set(optimizer.solve(replace(net, settings=fast)).open_sites)


@pytest.mark.slow
def test_demo_reports_pooled_stock_and_kpis():
    result = optimizer.solve(optimizer.load(DEMO))
    doc = result.to_dict()
    holding = doc["cost_details"]["holding"]
    assert holding["cycle"] > 0 and holding["safety"] > 0
    assert holding["cycle"] + holding["safety"] == pytest.approx(doc["costs"]["holding"], rel=1e-9)
    assert holding["approximation_error"] < 0.005
    assert result.check.ok  # the checker recomputes the square roots itself
    stock = result.stock
    assert set(stock["site"]) == set(result.open_sites)
    assert (stock["reorder_point"] > stock["safety_stock"]).all() and (stock["days_of_cover"] > 0).all()
    for key in ("inventory_turnover", "days_of_cover", "mean_distance_km", "p95_distance_km", "mean_transit_days",
                "p95_transit_days", "shipping_cost_per_unit", "share_within_service_km"):
        assert doc["kpis"][key] is not None and doc["kpis"][key] >= 0, key


def test_demo_files_match_generator():
    proc = subprocess.run([sys.executable, str(DEMO.parent / "make_demo.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
