"""A one-off closing cost is spread over ``horizon_periods``: each period carries closing_cost / horizon.

Geometry as in test_model_options: shipping one unit costs its distance in degrees of longitude.
S1 (lon 0, rent 500) and S2 (lon 10, rent 600, existing); 10 units at each of lon 0 and lon 10.
Keeping S2 alone costs 600 + 100 = 700 per period; closing it for S1 costs 500 + 100 + C / H.
So the decision flips exactly where C / H crosses the saving of 100 per period.
"""

from __future__ import annotations

import pytest

import optimizer
from factory import KM_PER_DEG, make_network
from optimizer.model.build import build_model
from optimizer.solvers import available_solvers

SOLVERS = available_solvers()
PRODUCT = [{"id": "p", "shipping_cost_per_km": 1.0 / KM_PER_DEG}]
REGIONS = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 10.0}]
DEMAND = [("R1", "p", 10), ("R2", "p", 10)]


def network(closing_cost: float, **settings) -> optimizer.Network:
    sites = [{"id": "S1", "lon": 0.0, "fixed_cost": 500.0},
             {"id": "S2", "lon": 10.0, "fixed_cost": 600.0, "status": "existing", "closing_cost": closing_cost}]
    return make_network(sites, REGIONS, PRODUCT, DEMAND, **settings)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("settings, horizon, decision", [
    ({"horizon_periods": 52}, 52, "close"),    # 5,000 / 52 = 96.15 < 100: close
    ({"horizon_periods": 49}, 49, "keep"),     # 5,000 / 49 = 102.04 > 100: keep
    ({}, 52, "close"),                         # default: one year of weeks (365 / 7 -> 52)
    ({"period_days": 14.0}, 26, "keep"),       # default with fortnights: 26 periods, 192.31 > 100
    ({"horizon_periods": 1}, 1, "keep"),       # the whole cost in one period
])
def test_closing_cost_is_spread_over_the_horizon(solver, settings, horizon, decision):
    net = network(5000.0, **settings)
    assert net.settings.closing_horizon == horizon
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL
    assert result.check is not None and result.check.ok, result.check.violations  # same horizon rule
    decisions = dict(zip(result.sites["site"], result.sites["decision"]))
    assert decisions["S2"] == decision
    if decision == "close":
        assert result.open_sites == ["S1"]
        assert result.costs["closing"] == pytest.approx(5000.0 / horizon)
        assert result.objective == pytest.approx(600.0 + 5000.0 / horizon)
    else:
        assert result.open_sites == ["S2"]
        assert result.costs["closing"] == 0.0 and result.objective == pytest.approx(700.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_issue_case_a_large_one_off_cost_no_longer_keeps_a_site(solver):
    # 200,000 one-off against a saving of 100 x 50 = 5,000 per week: charged in one week it kept S2;
    # spread over the default 52 weeks (3,846.15 per week) it closes S2.
    sites = [{"id": "S1", "lon": 0.0, "fixed_cost": 25_000.0},
             {"id": "S2", "lon": 10.0, "fixed_cost": 30_000.0, "status": "existing", "closing_cost": 200_000.0}]
    net = make_network(sites, REGIONS, PRODUCT, [("R1", "p", 500), ("R2", "p", 500)])
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL and result.check.ok, result.check.violations
    assert result.open_sites == ["S1"]
    assert result.costs["closing"] == pytest.approx(200_000.0 / 52)
    assert result.objective == pytest.approx(25_000.0 + 5_000.0 + 200_000.0 / 52)


@pytest.mark.parametrize("solver", SOLVERS)
def test_forced_closed_site_pays_its_share_every_period(solver):
    sites = [{"id": "S1", "lon": 0.0, "status": "forced_closed", "closing_cost": 3640.0},
             {"id": "S2", "lon": 0.0, "fixed_cost": 5.0}]
    net = make_network(sites, [{"id": "R1", "lon": 0.0}], [{"id": "p"}], [("R1", "p", 10)])
    result = optimizer.solve(net, solver=solver)
    assert result.status is optimizer.Status.OPTIMAL and result.check.ok, result.check.violations
    assert result.costs["closing"] == pytest.approx(70.0)  # 3,640 / 52
    assert result.objective == pytest.approx(75.0)
    assert dict(zip(result.sites["site"], result.sites["decision"])) == {"S1": "close", "S2": "open"}


def test_model_closing_vector_and_offset_use_the_horizon():
    built = build_model(network(5200.0, horizon_periods=13))
    assert built.cost_offsets["closing"] == pytest.approx(400.0)
    assert list(built.cost_vectors["closing"][:2]) == pytest.approx([0.0, -400.0])
