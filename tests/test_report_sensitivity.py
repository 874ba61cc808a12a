"""Sensitivities: each "close / open this site" figure equals a direct forced solve; re-solves are cached in the
run store; the n_plus_1 generator mirrors n_minus_1; explain on the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import optimizer
from optimizer.cli import main
from optimizer.runs.scenario import Scenario, build_network
from optimizer.runs.sensitivity import base_scenario, explain, sensitivity_table
from optimizer.runs.store import RunStore
from optimizer.runs.sweep import load_sweep

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny"


@pytest.fixture()
def tiny(tmp_path) -> Path:
    shutil.copytree(TINY, tmp_path / "tiny")
    return tmp_path / "tiny"


def test_each_figure_is_a_forced_solve(tiny, tmp_path):
    base = base_scenario(tiny)
    network = optimizer.load(tiny)
    result = optimizer.solve(network, threads=1)
    with RunStore(tmp_path / "s.db") as store:
        table = explain(base, network, result, store, workers=2, progress=False)
        again = []
        explain(base, network, result, store, workers=2, progress=False, on_result=again.append)
    assert again and all(report.cached for report in again)  # the second time, every re-solve is cached
    free = set(network.sites.index[network.sites["status"].isin(["candidate", "existing"])])
    assert set(table.loc[table["action"] == "close", "site"]) == set(result.open_sites) & free
    assert set(table.loc[table["action"] == "open", "site"]) == free - set(result.open_sites)
    for row in table.itertuples():
        key = "close" if row.action == "close" else "open"
        forced = build_network(Scenario(name=row.run, base=tiny, overrides={"sites": {key: [row.site]}},
                                        source="test"))
        direct = optimizer.solve(forced, threads=1)
        assert direct.status is optimizer.Status.OPTIMAL
        assert row.objective == pytest.approx(direct.objective, rel=1e-9)
        assert row.delta == pytest.approx(direct.objective - result.objective, rel=1e-9, abs=1e-6)
        assert row.delta >= -1e-6  # the base is optimal: forcing a site never helps
        assert row.status == "optimal" and row.gap == 0.0 and not row.within_tolerance
        if row.action == "open":
            fixed = float(network.sites.at[row.site, "fixed_cost"])
            assert row.break_even_fixed_cost == pytest.approx(fixed - row.delta)
        if row.action == "close":  # the takers serve the closed site's regions in the forced plan
            regions = set(result.flows.loc[result.flows["from"] == row.site, "to"])
            servers = set(direct.flows.loc[direct.flows["to"].isin(regions), "from"])
            assert set(row.takers.split()) == servers


def test_a_difference_inside_the_gaps_is_flagged():
    from types import SimpleNamespace

    net = optimizer.load(TINY)
    result = optimizer.solve(net)
    result.gap = 0.01

    def report(objective: float, gap: float):
        record = SimpleNamespace(scenario="close=X", status="feasible", objective=objective, gap=gap, error=None,
                                 flows=result.flows.to_dict(orient="records"))
        return SimpleNamespace(record=record)

    site = result.open_sites[0]
    inside = result.objective * 1.015   # 1.5 % < 1 % of each cost together
    outside = result.objective * 1.05
    table = sensitivity_table(net, result, [(site, "close", report(inside, 0.01)), (site, "close", report(outside, 0.01))])
    assert list(table["within_tolerance"]) == [True, False]
    assert "tolerance" in table.loc[0, "note"]


def test_n_plus_1_mirrors_n_minus_1(tmp_path):
    shutil.copytree(TINY, tmp_path / "tiny")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: tiny\ngenerate:\n  - n_plus_1: {sites: candidates}\n  - n_minus_1: {sites: [AMS]}\n")
    _, scenarios = load_sweep(sweep)
    network = optimizer.load(TINY)
    candidates = list(network.sites.index[network.sites["status"] == "candidate"])
    names = [s.name for s in scenarios]
    assert names == ["base"] + [f"open={c}" for c in candidates] + ["close=AMS"]
    opened = build_network(scenarios[1])
    assert opened.sites.at[candidates[0], "status"] == "forced_open"
    sweep.write_text("base: tiny\ngenerate:\n  - n_plus_1: {sites: [NOPE]}\n")
    with pytest.raises(optimizer.InputError, match="unknown site id 'NOPE'"):
        load_sweep(sweep)


def test_explain_command(tiny, tmp_path):
    res = CliRunner().invoke(main, ["explain", str(tiny), "--json", "--store", str(tmp_path / "e.db"),
                                    "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "optimal" and doc["sensitivity"] and "marginal_values" in doc
    assert {row["action"] for row in doc["sensitivity"]} <= {"close", "open"}
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="sensitivity"' in html and (tmp_path / "out" / "sensitivity.csv").is_file()
    text = CliRunner().invoke(main, ["explain", str(tiny), "--store", str(tmp_path / "e.db")])
    assert text.exit_code == 0 and "per period" in text.output and "break-even rent" in text.output


def test_the_pnl_reason_names_the_what_if(tiny, tmp_path):
    import csv

    res = CliRunner().invoke(main, ["solve", str(tiny), "--explain", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "What if" in res.output and "break-even rent" in res.output
    with open(tmp_path / "out" / "plan_site_pnl.csv", newline="") as handle:
        reasons = {row["site"]: row["reason"] for row in csv.DictReader(handle)}
    assert "closing it: +" in reasons["BRU"] and "(re-solve)" in reasons["BRU"]
    assert (tiny.parent / "tiny.runs.db").is_file()  # solve --explain keeps its re-solves beside the dataset


def test_a_budget_sets_each_re_solve_time_limit(tiny, tmp_path):
    from optimizer.runs.sensitivity import per_run_seconds

    assert per_run_seconds(480, 2, 40) == 24.0 and per_run_seconds(10, 1, 100) == 5.0
    network = optimizer.load(tiny)
    result = optimizer.solve(network, threads=1)
    seen = []
    with RunStore(tmp_path / "b.db") as store:
        explain(base_scenario(tiny), network, result, store, workers=1, budget=30.0, progress=False,
                on_result=seen.append)
    n = len(seen)
    expected = round(per_run_seconds(30.0, 1, n), 1)
    assert n and all(r.record.definition["overrides"]["solver"]["time_limit"] == expected for r in seen)


def test_a_hub_that_serves_no_region_is_not_called_useless(tmp_path):
    # H only carries goods from the supplier on to D (free links U -> H -> D against 10 per unit on U -> D): with a
    # rent below its break-even (1,000) the plan opens it.  The note once said it would not be used at any rent.
    data = tmp_path / "hub"
    data.mkdir()
    files = {"sites.csv": "id,lat,lon,fixed_cost,status\nH,0,1,2000,candidate\nD,0,2,100,candidate\n",
             "regions.csv": "id,lat,lon\nR,0,2.01\n", "demand.csv": "region,product,quantity\nR,P,100\n",
             "products.csv": "id,volume,shipping_cost_per_km\nP,1,1\n", "suppliers.csv": "id,lat,lon\nU,0,0\n",
             "supply.csv": "supplier,product,unit_cost\nU,P,0\n",
             "links.csv": "from,to,cost_per_volume\nU,H,0\nH,D,0\nU,D,10\n", "network.yaml": "period_days: 7\n"}
    for name, text in files.items():
        (data / name).write_text(text)
    res = CliRunner().invoke(main, ["explain", str(data), "--json", "--store", str(tmp_path / "e.db")])
    assert res.exit_code == 0, res.output
    row = next(r for r in json.loads(res.stdout)["sensitivity"] if r["site"] == "H")
    assert row["action"] == "open" and row["takers"] == "" and row["break_even_fixed_cost"] == pytest.approx(1000)
    assert "carrying goods on" in row["note"] and "any rent" not in row["note"]
    cheaper = (data / "sites.csv").read_text().replace("2000", "999")
    (data / "sites.csv").write_text(cheaper)
    assert "H" in optimizer.solve(optimizer.load(data)).open_sites  # below the break-even it opens


def test_pooled_marginal_values_price_the_stock(tmp_path):
    # Multi-sourced pooled stock: one more unit at the full site A moves demand and its safety stock there. The
    # estimate once came from the linear model without stock (2.224, the shipping saving alone); re-solves with the
    # capacity moved by +-0.01 (both sites forced open, so the sites are fixed) give 2.1136.
    from optimizer.report.marginal import marginal_values

    def folder(capacity: float) -> Path:
        data = tmp_path / f"pool{capacity}"
        data.mkdir()
        files = {"sites.csv": f"id,lat,lon,capacity,fixed_cost,status\nA,40.0,-100.0,{capacity},0,forced_open\n"
                              "B,42.0,-100.0,inf,0,forced_open\n",
                 "regions.csv": "id,lat,lon\nR1,40.0,-100.0\nR2,40.1,-100.0\n",
                 "demand.csv": "region,product,quantity,std\nR1,P,60,30\nR2,P,60,30\n",
                 "products.csv": "id,unit_value,volume,holding_rate,shipping_cost_per_km,service_level\n"
                                 "P,100,1,1.0,0.01,0.95\n",
                 "network.yaml": "period_days: 7\ncircuity: 1.0\ndays_of_cover: 0\n"
                                 "inventory: {model: pooled, lead_time_days: 7, review_days: 7}\n"}
        for name, text in files.items():
            (data / name).write_text(text)
        return data

    net = optimizer.load(folder(50.0))
    value = marginal_values(net, optimizer.solve(net)).set_index("site").at["A", "value_per_unit"]
    less, more = (optimizer.solve(optimizer.load(folder(c))).objective for c in (49.99, 50.01))
    assert value == pytest.approx((less - more) / 0.02, rel=1e-4)
