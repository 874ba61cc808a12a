"""The bundled demo: optimal, real trade-offs, and reproducible from its generator."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import optimizer

DEMO = Path(__file__).parent.parent / "scenarios" / "demo"


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
    demand_up = optimizer.solve(replace(net, demand=grown, supply=supply_up))
    assert demand_up.status is optimizer.Status.OPTIMAL and demand_up.check.ok
    assert set(demand_up.open_sites) != set(base.open_sites)


def test_demo_files_match_generator():
    proc = subprocess.run([sys.executable, str(DEMO.parent / "make_demo.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
