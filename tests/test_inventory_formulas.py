"""Inventory formulas: hand-computed values, stockpyl cross-checks, stock table and risk pooling."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from stockpyl.eoq import economic_order_quantity
from stockpyl.newsvendor import newsvendor_normal
from stockpyl.rq import r_q_eoqss_approximation

from factory import make_network
from optimizer import stock as inv
from optimizer.network import InventorySettings

# (service level, ordering cost K, unit value, holding rate, demand per period, std per period,
#  lead time days, period days)
CASES = [
    (0.95, 100.0, 20.0, 0.25, 1000.0, 150.0, 7.0, 7.0),
    (0.90, 50.0, 5.0, 0.20, 200.0, 40.0, 14.0, 7.0),
    (0.99, 400.0, 120.0, 0.30, 35.0, 12.0, 3.0, 7.0),
    (0.80, 10.0, 2.0, 0.18, 5000.0, 900.0, 21.0, 30.0),
    (0.975, 250.0, 45.0, 0.25, 1300.0, 150.0, 30.4, 365.0 / 12),
    (0.70, 8.0, 1.0, 0.225, 1300.0 / 52, 150.0 / math.sqrt(52), 7.0, 7.0),
    (0.999, 1000.0, 320.0, 0.30, 28363.0, 6049.6, 10.0, 7.0),
    (0.60, 75.0, 15.0, 0.40, 90.0, 30.0, 1.0, 1.0),
    (0.85, 30.0, 9.5, 0.22, 480.0, 75.0, 45.0, 14.0),
]


@pytest.mark.parametrize("sl,K,value,rate,d,sd,lead,T", CASES)
def test_eoq_and_reorder_point_match_stockpyl(sl, K, value, rate, d, sd, lead, T):
    """EOQ and the (r, Q) "EOQ + safety stock" reorder point agree with stockpyl, time unit = one period."""
    h_year = inv.annual_holding_cost(value, rate)
    h_period = h_year * T / 365.0
    stockout = h_period * sl / (1.0 - sl)  # critical ratio p / (p + h) = service level
    r_ref, q_ref = r_q_eoqss_approximation(h_period, stockout, K, d, sd, lead / T)
    q = inv.order_quantity(d, K, h_year, T, review_days=7.0)
    safety = inv.safety_stock(inv.z_value(sl), lead, T, sd**2)
    r = inv.reorder_point(d, lead, T, safety)
    assert q == pytest.approx(q_ref, rel=1e-9)
    assert r == pytest.approx(r_ref, rel=1e-9)
    # Annual units: same EOQ from stockpyl's plain EOQ.
    assert q == pytest.approx(economic_order_quantity(K, h_year, d * 365.0 / T)[0], rel=1e-9)


@pytest.mark.parametrize("sl,K,value,rate,d,sd,lead,T", CASES)
def test_safety_stock_matches_stockpyl_newsvendor(sl, K, value, rate, d, sd, lead, T):
    """Base-stock level of a normal newsvendor over the lead time = mean lead-time demand + safety stock."""
    h = 1.0
    mu, sigma = d * lead / T, sd * math.sqrt(lead / T)
    level, _ = newsvendor_normal(h, h * sl / (1 - sl), mu, sigma)
    assert inv.safety_stock(inv.z_value(sl), lead, T, sd**2) == pytest.approx(level - mu, rel=1e-9, abs=1e-9)


def test_hand_values():
    assert inv.z_value(0.5) == pytest.approx(0.0)
    assert inv.z_value(0.95) == pytest.approx(1.6448536269514722)
    assert inv.z_value(0.3) == 0.0  # below 50 %: no negative safety stock
    # EOQ: K=8, h=0.225/yr, D=1300/yr (stockpyl example 3.1): Q = 304.0468; with period = year.
    assert inv.order_quantity(1300.0, 8.0, 0.225, 365.0, 7.0) == pytest.approx(304.0467800264368)
    # Review rule when K = 0: 70 units per 7-day period, review 14 days -> Q = 140, cycle 70.
    assert inv.order_quantity(70.0, 0.0, 5.0, 7.0, 14.0) == pytest.approx(140.0)
    assert inv.cycle_stock(140.0) == pytest.approx(70.0)
    # h = 0 falls back to the review rule as well.
    assert inv.order_quantity(70.0, 10.0, 0.0, 7.0, 14.0) == pytest.approx(140.0)
    # 2 z sqrt(4) sqrt(9 + 16) = 2 * 2 * 5 = 20 with z = 2, L = 28 days, period 7 days.
    assert inv.safety_stock(2.0, 28.0, 7.0, 25.0) == pytest.approx(20.0)
    # 100 units at 50 x 0.2 = 10 per unit per year, for 73 days = 200.
    assert inv.holding_cost_per_period(50.0, 0.2, 100.0, 73.0) == pytest.approx(200.0)


def pooling_network(single_site: bool):
    """Two regions with equal demand and std served from one site or from two."""
    sites = [{"id": "A", "lon": 0.0}] + ([] if single_site else [{"id": "B", "lon": 1.0}])
    regions = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 1.0}]
    products = [{"id": "P", "unit_value": 100.0, "holding_rate": 0.365}]
    net = make_network(sites, regions, products, [("R1", "P", 70.0), ("R2", "P", 70.0)], period_days=7.0)
    net.demand["std"] = [30.0, 40.0]
    net.products["service_level"] = 0.975
    net.sites["lead_time_days"] = 28.0
    return net


def flows(rows):
    return pd.DataFrame(rows, columns=["from", "to", "product", "quantity"])


def test_risk_pooling_square_root_rule():
    """Merging two regions on one site: safety stock z*2*sqrt(30^2+40^2) = 10 z instead of z*2*(30+40) = 140 z."""
    z = inv.z_value(0.975)
    merged = inv.stock_table(pooling_network(True), ["A"],
                             flows([("A", "R1", "P", 70.0), ("A", "R2", "P", 70.0)]))
    apart = inv.stock_table(pooling_network(False), ["A", "B"],
                            flows([("A", "R1", "P", 70.0), ("B", "R2", "P", 70.0)]))
    assert merged["safety_stock"].sum() == pytest.approx(z * 2 * 50.0)
    assert apart["safety_stock"].sum() == pytest.approx(z * 2 * 70.0)
    # holding: 100 x 0.365 = 36.5 per unit-year, x 7/365 = 0.7 per unit per period
    assert merged["holding_safety"].sum() == pytest.approx(0.7 * z * 100.0)
    # cycle stock is the same either way with the review rule (7 days: 70/2 per region)
    assert merged["cycle_stock"].sum() == pytest.approx(apart["cycle_stock"].sum()) == pytest.approx(70.0)


def test_stock_table_columns_and_values():
    net = pooling_network(False)
    net.products["ordering_cost"] = 50.0
    net = net.with_settings(inventory=InventorySettings(review_days=14.0))
    table = inv.stock_table(net, ["A", "B"], flows([("A", "R1", "P", 70.0), ("B", "R2", "P", 70.0)]))
    assert list(table.columns) == list(inv.STOCK_COLUMNS)
    row = table.set_index("site").loc["A"]
    annual = 70.0 * 365 / 7
    q = math.sqrt(2 * 50.0 * annual / 36.5)
    safety = inv.z_value(0.975) * 2 * 30.0
    assert row["order_quantity"] == pytest.approx(q)
    assert row["cycle_stock"] == pytest.approx(q / 2)
    assert row["safety_stock"] == pytest.approx(safety)
    assert row["reorder_point"] == pytest.approx(70.0 * 4 + safety)
    assert row["days_of_cover"] == pytest.approx((q / 2 + safety) / 10.0)
    assert row["holding_cycle"] == pytest.approx(0.7 * q / 2)
    assert row["ordering_cost"] == pytest.approx(50.0 * 70.0 / q)
    assert row["lead_time_days"] == 28.0


def test_split_region_variance_rule_and_defaults():
    """A region split 25/75 over two sites: std f*sigma at each; blank lead times take the settings value."""
    net = pooling_network(False)
    net.sites["lead_time_days"] = [np.nan, 14.0]
    net = net.with_settings(inventory=InventorySettings(lead_time_days=7.0))
    table = inv.stock_table(net, ["A", "B"], flows([("A", "R1", "P", 17.5), ("B", "R1", "P", 52.5),
                                                    ("B", "R2", "P", 70.0)])).set_index("site")
    assert table.loc["A", "std_per_period"] == pytest.approx(0.25 * 30.0)
    assert table.loc["B", "std_per_period"] == pytest.approx(math.sqrt((0.75 * 30.0) ** 2 + 40.0**2))
    assert table.loc["A", "lead_time_days"] == 7.0
    assert table.loc["B", "lead_time_days"] == 14.0
    assert table.loc["A", "safety_stock"] == pytest.approx(inv.z_value(0.975) * 0.25 * 30.0)


def test_stock_table_ignores_closed_sites_and_non_region_flows():
    net = pooling_network(False)
    table = inv.stock_table(net, ["A"], flows([("A", "R1", "P", 70.0), ("B", "R2", "P", 70.0),
                                               ("A", "B", "P", 10.0)]))
    assert table["site"].tolist() == ["A"]
    assert table["demand_per_period"].tolist() == [70.0]


def test_missing_inventory_columns_use_defaults():
    """Networks without service_level / ordering_cost / lead_time_days columns: 0.95, 0, settings value."""
    net = pooling_network(True)
    net.products = net.products.drop(columns=["service_level"])
    net.sites = net.sites.drop(columns=["lead_time_days"])
    table = inv.stock_table(net, ["A"], flows([("A", "R1", "P", 70.0)]))
    assert table["safety_stock"].iloc[0] == pytest.approx(inv.z_value(0.95) * 1.0 * 30.0)  # L = 7 = period
