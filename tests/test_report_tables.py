"""The decision tables: the site P&L re-adds to the objective and charges costs by its documented rule;
lane and assignment tables carry km, transit days, mode, cost and names (all hand-computed)."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest

import optimizer
from factory import KM_PER_DEG, make_network, with_suppliers
from optimizer.kpis import km_per_day
from optimizer.report.tables import assignment_table, lane_table, money_unit, site_pnl

FREE = [{"id": "x", "shipping_cost_per_km": 0.0}]


def hub_network(form: str, **hub) -> optimizer.Network:
    """Supplier S; HUB (lon 0, forced open, handling 2) serves RH (8 units); DC (lon 1, forced open) serves RD
    (10 units).  Links per volume unit: S -> HUB 1, HUB -> DC 1, S -> DC 50."""
    sites = [{"id": "HUB", "lon": 0.0, "status": "forced_open", "handling_cost": 2.0, **hub},
             {"id": "DC", "lon": 1.0, "status": "forced_open"}]
    net = make_network(sites, [{"id": "RD", "lon": 1.0}, {"id": "RH", "lon": 0.0}], FREE,
                       [("RD", "x", 10.0), ("RH", "x", 8.0)], max_service_km=50.0)
    links = [{"from": "S", "to": "HUB", "mode": "truck", "cost_per_volume": 1.0},
             {"from": "HUB", "to": "DC", "mode": "truck", "cost_per_volume": 1.0},
             {"from": "S", "to": "DC", "mode": "truck", "cost_per_volume": 50.0}]
    return with_suppliers(net, [{"id": "S", "lon": -1.0}], [("S", "x", math.inf)], links, routing=form)


def pnl_of(net: optimizer.Network) -> tuple[optimizer.Result, dict]:
    result = optimizer.solve(net)
    assert result.status is optimizer.Status.OPTIMAL, result.messages
    table = site_pnl(net, result)
    assert table["total"].sum() == pytest.approx(result.objective, rel=1e-9, abs=1e-9)
    return result, table.set_index("site").to_dict(orient="index")


def test_arc_flows_charge_each_link_to_the_site_that_receives_over_it():
    # capacity 15 at HUB: it ships 8 to RH and sends 7 on to DC; DC takes 3 more straight from S.
    # HUB: inbound S>HUB 15 x 1 = 15, handling of its own 8 = 16.  DC receives HUB>DC: transfer 7 and HUB's
    # handling of those 7 (14); inbound S>DC 3 x 50 = 150.  Total 31 + 171 = 202.
    _, pnl = pnl_of(hub_network("arc_flow", capacity=15.0))
    assert pnl["HUB"]["inbound"] == pytest.approx(15.0) and pnl["HUB"]["handling"] == pytest.approx(16.0)
    assert pnl["HUB"]["total"] == pytest.approx(31.0)
    assert pnl["DC"]["inbound"] == pytest.approx(150.0) and pnl["DC"]["transfer"] == pytest.approx(7.0)
    assert pnl["DC"]["handling"] == pytest.approx(14.0) and pnl["DC"]["total"] == pytest.approx(171.0)
    assert pnl["HUB"]["units_served"] == 8.0 and pnl["DC"]["demand_share"] == pytest.approx(10 / 18)
    assert pnl["HUB"]["reason"].startswith("forced open")


def test_a_shortest_path_goes_whole_to_the_site_it_ends_at():
    # uncapacitated HUB: all 18 units cross S>HUB.  The path S>HUB>DC (10 units) is one column: its inbound
    # 10, transfer 10 and HUB's transit handling 20 go to DC (40); HUB keeps S>HUB for its own 8 and their
    # handling 16 (24).  With arc flows the S>HUB link (18) is HUB's: HUB 34, DC 30.  Both total 64.
    _, by_path = pnl_of(hub_network("shortest_path"))
    assert (by_path["HUB"]["total"], by_path["DC"]["total"]) == pytest.approx((24.0, 40.0))
    _, by_arc = pnl_of(hub_network("arc_flow"))
    assert (by_arc["HUB"]["total"], by_arc["DC"]["total"]) == pytest.approx((34.0, 30.0))


def test_link_fixed_costs_go_to_the_receiving_site():
    net = hub_network("arc_flow", capacity=15.0)
    links = net.links.copy()
    links.loc[links["to"] == "DC", "fixed_cost"] = 5.0  # both links into DC carry flow: +10 for DC
    result, pnl = pnl_of(replace(net, links=links))
    assert result.objective == pytest.approx(212.0)
    assert pnl["DC"]["total"] == pytest.approx(181.0) and pnl["HUB"]["total"] == pytest.approx(31.0)


def one_echelon(**settings) -> optimizer.Network:
    """A (existing, rent 100, closing 10,400 over 52 periods) at lon 0 and B (candidate, rent 30) at lon 2 on the
    equator; C (lon 1) too dear to open; regions at lon 0 (4 units) and lon 2 (6 units); 10 per unit and degree."""
    sites = [{"id": "A", "name": "Alpha", "lon": 0.0, "fixed_cost": 100.0, "status": "existing",
              "closing_cost": 10400.0, "handling_cost": 0.5},
             {"id": "B", "name": "Beta", "lon": 2.0, "fixed_cost": 30.0, "handling_cost": 0.25},
             {"id": "C", "name": "Gamma", "lon": 1.0, "fixed_cost": 1e6}]
    regions = [{"id": "R0", "name": "West", "lon": 0.0}, {"id": "R2", "name": "East", "lon": 2.0}]
    products = [{"id": "p", "shipping_cost_per_km": 10.0 / KM_PER_DEG, "unit_value": 365.0, "holding_rate": 0.1}]
    return make_network(sites, regions, products, [("R0", "p", 4.0), ("R2", "p", 6.0)], horizon_periods=52,
                        days_of_cover=10.0, **settings)


def test_pnl_of_a_one_echelon_plan_by_hand():
    # B opens (30 + handling 6 x 0.25 + holding 6 x 365 x 0.1 x 10/365 = 6): 37.5 against shipping 6 x 20 = 120
    # from A.  A keeps R0 (100 + 2 + holding 4) = 106; C stays unused.
    result, pnl = pnl_of(one_echelon())
    assert result.open_sites == ["A", "B"]
    assert pnl["A"]["total"] == pytest.approx(106.0) and pnl["B"]["total"] == pytest.approx(37.5)
    assert pnl["B"]["holding"] == pytest.approx(6.0) and pnl["B"]["holding_cycle"] + pnl["B"]["holding_safety"] == \
        pytest.approx(6.0)
    assert pnl["C"]["total"] == 0.0 and pnl["C"]["decision"] == "unused"
    assert pnl["A"]["decision"] == "keep" and "kept" in pnl["A"]["reason"]
    assert pnl["B"]["decision"] == "open" and pnl["B"]["cost_per_unit"] == pytest.approx(37.5 / 6)


def test_a_closed_site_carries_its_closing_cost():
    net = one_echelon()
    sites = net.sites.copy()
    sites.loc["B", "fixed_cost"] = 0.0
    sites.loc["A", "fixed_cost"] = 1000.0  # closing A (10,400 / 52 = 200 per period) and serving R0 from B pays
    result, pnl = pnl_of(replace(net, sites=sites))
    assert result.open_sites == ["B"]
    assert pnl["A"]["decision"] == "close" and pnl["A"]["closing"] == pytest.approx(200.0)
    assert pnl["A"]["total"] == pytest.approx(200.0) and "closed" in pnl["A"]["reason"]


def test_pooled_pnl_readds_exactly():
    net = one_echelon(single_sourcing=True)
    demand = net.demand.assign(std=[2.0, 3.0])
    products = net.products.assign(ordering_cost=5.0)
    net = replace(net, demand=demand, products=products,
                  settings=replace(net.settings, inventory=replace(net.settings.inventory, model="pooled")))
    result, pnl = pnl_of(net)
    stock = result.stock.groupby("site")[["holding_cycle", "holding_safety"]].sum()
    for site in result.open_sites:
        assert pnl[site]["holding_safety"] == pytest.approx(stock.loc[site, "holding_safety"])
        assert pnl[site]["holding_safety"] > 0


def test_lane_and_assignment_tables():
    net = one_echelon(max_service_km=None)
    sites = net.sites.copy()
    sites.loc["B", "fixed_cost"] = 1e6  # A serves both regions: R2 is 2 degrees away
    result = optimizer.solve(replace(net, sites=sites))
    lanes = lane_table(net, result).set_index("to")
    assert lanes.loc["R2", "km"] == pytest.approx(2 * KM_PER_DEG)
    assert lanes.loc["R2", "transit_days"] == pytest.approx(2 * KM_PER_DEG / km_per_day(net))
    assert lanes.loc["R2", "cost_per_unit"] == pytest.approx(20.0) and lanes.loc["R2", "shipping_cost"] == \
        pytest.approx(120.0)
    assert lanes.loc["R2", "mode"] == "road" and lanes.loc["R2", "from_name"] == "Alpha"
    assert lanes.loc["R2", "to_name"] == "East"
    assert list(lane_table(net, result)["to"]) == ["R2", "R0"]  # largest volume first
    served = assignment_table(lane_table(net, result)).set_index("region")
    assert served.loc["R0", "site_name"] == "Alpha" and served.loc["R0", "share"] == 1.0
    assert served.loc["R2", "shipping_cost"] == pytest.approx(120.0)


def test_headers_name_currency_and_period():
    net = one_echelon()
    assert money_unit(net) == "currency per week"
    net = replace(net, settings=replace(net.settings, currency="EUR", period_days=1.0))
    assert money_unit(net) == "EUR per day" and money_unit(net, annual=True) == "EUR per year"


def test_currency_and_service_km_are_read_from_network_yaml(tmp_path):
    import shutil

    shutil.copytree("scenarios/demo", tmp_path / "demo")
    yaml = tmp_path / "demo" / "network.yaml"
    yaml.write_text(yaml.read_text() + "service_km: 800\n")
    net = optimizer.load(tmp_path / "demo")
    assert net.settings.currency == "USD" and net.settings.service_km == 800.0
    from optimizer.kpis import service_km

    assert service_km(net) == 800.0
    assert np.isclose(service_km(replace(net, settings=replace(net.settings, service_km=None))), 1500.0)


def test_frontier_shows_gaps_as_percent_and_explains_infeasible_points(tmp_path):
    from click.testing import CliRunner

    from optimizer.cli import main
    from optimizer.io.instances import write_dataset

    # three sites of capacity 10 for 25 units: one or two sites cannot serve the demand
    sites = [{"id": f"S{i}", "lon": float(i), "capacity": 10.0, "fixed_cost": 5.0} for i in range(3)]
    net = make_network(sites, [{"id": "R", "lon": 1.0}], [{"id": "p", "shipping_cost_per_km": 0.001}],
                       [("R", "p", 25.0)])
    write_dataset(net, tmp_path / "data")
    res = CliRunner().invoke(main, ["frontier", str(tmp_path / "data"), "--between", "cost,sites",
                                    "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "0.000%" in res.output  # the gap column in percent, not 0.00
    assert re.search(r"p=1: infeasible: .*capacity", res.output), res.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "out" / "frontier.csv")
    assert table.loc[table["p"] == 1, "reason"].str.contains("capacity").all()
    assert table.loc[table["p"] == 3, "reason"].isna().all()


def test_marginal_value_of_a_full_site_is_the_cost_it_saves():
    from optimizer.report.marginal import marginal_values

    # A (capacity 10, lon 0) and B (unlimited, lon 2) both forced open; R at lon 0 wants 15 units. Shipping
    # 1 per unit and degree: one more unit of A's capacity saves 2 (a unit no longer shipped from B).
    sites = [{"id": "A", "lon": 0.0, "capacity": 10.0, "status": "forced_open"},
             {"id": "B", "lon": 2.0, "status": "forced_open"}]
    net = make_network(sites, [{"id": "R", "lon": 0.0}], [{"id": "p", "shipping_cost_per_km": 1.0 / KM_PER_DEG}],
                       [("R", "p", 15.0)])
    result = optimizer.solve(net)
    values = marginal_values(net, result).set_index("site")
    assert values.loc["A", "value_per_unit"] == pytest.approx(2.0)
    assert values.loc["A", "note"].startswith("estimate")
    assert "B" not in values.index


def test_closed_sites_have_no_marginal_value():
    from optimizer.report.marginal import marginal_values

    # C (capacity 5) is too far to be worth opening: it must not be listed, whatever its row's dual
    sites = [{"id": "A", "lon": 0.0, "capacity": 10.0, "status": "forced_open"},
             {"id": "B", "lon": 2.0, "status": "forced_open"}, {"id": "C", "lon": 9.0, "capacity": 5.0,
                                                                "fixed_cost": 100.0}]
    net = make_network(sites, [{"id": "R", "lon": 0.0}], [{"id": "p", "shipping_cost_per_km": 1.0 / KM_PER_DEG}],
                       [("R", "p", 15.0)])
    result = optimizer.solve(net)
    assert "C" not in result.open_sites
    assert list(marginal_values(net, result)["site"]) == ["A"]
