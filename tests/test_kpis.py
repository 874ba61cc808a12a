"""KPIs computed by hand on tiny networks on the equator (road km = KM_PER_DEG x degrees)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from factory import KM_PER_DEG, make_network
from optimizer.stock import stock_table
from optimizer.kpis import DEFAULT_SERVICE_KM, TRUCK_KM_PER_DAY, kpis, weighted_percentile
from optimizer.network import TransportSettings


def network(**settings):
    sites = [{"id": "A", "lon": 0.0, "capacity": 200.0}, {"id": "B", "lon": 10.0},
             {"id": "C", "lon": 5.0, "capacity": 50.0}]
    regions = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 2.0}, {"id": "R3", "lon": 10.0}, {"id": "R4", "lon": 4.0}]
    products = [{"id": "P", "unit_value": 10.0, "holding_rate": 0.365, "volume": 2.0},
                {"id": "Q", "unit_value": 30.0, "holding_rate": 0.365, "volume": 1.0}]
    demand = [("R1", "P", 60.0), ("R2", "P", 20.0), ("R3", "Q", 10.0), ("R4", "Q", 10.0)]
    return make_network(sites, regions, products, demand, period_days=7.0, **settings)


FLOWS = pd.DataFrame([("A", "R1", "P", 60.0), ("A", "R2", "P", 20.0), ("B", "R3", "Q", 10.0),
                      ("B", "R4", "Q", 10.0)], columns=["from", "to", "product", "quantity"])


def test_hand_computed_kpis():
    net = network()
    stock = stock_table(net, ["A", "B"], FLOWS)
    out = kpis(net, ["A", "B"], FLOWS, stock, {"shipping": 500.0})
    # Review 7 days = period, no std: cycle stock = half a period of demand: P 40 units, Q 10 units.
    assert out["stock_units"] == pytest.approx(50.0)
    # Annual cost of goods: (80 x 10 + 20 x 30) x 365/7; stock value 40 x 10 + 10 x 30 = 700.
    assert out["inventory_turnover"] == pytest.approx(1400.0 * 365 / 7 / 700.0)
    assert out["days_of_cover"] == pytest.approx(3.5)
    # Distances (deg): R1 0 (60 units), R2 2 (20), R3 0 (10), R4 6 (10): mean 100/100 deg.
    assert out["units_per_period"] == 100.0
    assert out["mean_distance_km"] == pytest.approx(1.0 * KM_PER_DEG)
    assert out["p95_distance_km"] == pytest.approx(6.0 * KM_PER_DEG)  # the last 10 % is at 6 deg
    assert out["mean_transit_days"] == pytest.approx(KM_PER_DEG / 600.0)  # the settings' km_per_day
    assert out["service_km"] == DEFAULT_SERVICE_KM
    # 500 km = 4.5 deg: R4 (6 deg) is outside -> 90 %.
    assert out["share_within_service_km"] == pytest.approx(0.9)
    assert out["shipping_cost_per_unit"] == pytest.approx(5.0)
    assert out["open_sites"] == 2.0
    # A: 80 units x 2 volume / 200 = 0.8; B uncapacitated; C closed.
    assert out["mean_utilisation"] == pytest.approx(0.8)


def test_settings_change_service_distance_and_speed():
    net = network(max_service_km=2.5 * KM_PER_DEG, transport=TransportSettings(km_per_day=KM_PER_DEG))
    out = kpis(net, ["A", "B"], FLOWS, stock_table(net, ["A", "B"], FLOWS), {"shipping": 0.0})
    assert out["service_km"] == pytest.approx(2.5 * KM_PER_DEG)
    assert out["share_within_service_km"] == pytest.approx(0.9)
    assert out["p95_transit_days"] == pytest.approx(6.0)


def test_default_speed_when_settings_have_none():
    net = network()
    object.__setattr__(net.settings, "transport", None)
    out = kpis(net, ["A", "B"], FLOWS, stock_table(net, ["A", "B"], FLOWS), {"shipping": 0.0})
    assert out["mean_transit_days"] == pytest.approx(KM_PER_DEG / TRUCK_KM_PER_DAY)


def test_unit_cost_networks_have_no_distances_and_unit_turnover():
    net = network()
    net.unit_shipping_cost = np.ones((3, 4))
    net.products["unit_value"] = 0.0
    out = kpis(net, ["A", "B"], FLOWS, stock_table(net, ["A", "B"], FLOWS), {"shipping": 100.0})
    for key in ("mean_distance_km", "p95_distance_km", "mean_transit_days", "share_within_service_km"):
        assert math.isnan(out[key])
    assert out["inventory_turnover"] == pytest.approx(100.0 * 365 / 7 / 50.0)  # units / stock units
    assert out["shipping_cost_per_unit"] == pytest.approx(1.0)


def test_weighted_percentile():
    assert weighted_percentile(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0]), 50) == 2.0
    assert weighted_percentile(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0]), 25) == 1.0
    assert weighted_percentile(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0]), 95) == 3.0
    assert math.isnan(weighted_percentile(np.array([1.0]), np.array([0.0]), 50))
