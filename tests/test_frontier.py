"""The cost-vs-sites frontier: each point equals a direct solve; warm starts; files; the CLI command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import optimizer
from optimizer.cli.frontier import frontier_command
from optimizer.frontier import AXES, complete_start, cost_columns, drop_site, frontier, plan_vector, write_frontier
from optimizer.model.build import build_model
from optimizer.model.pooled import add_pooled_inventory
from optimizer.network import InventorySettings
from optimizer.reports import OUTPUT_MARKER
from optimizer.strategies.sites import feasible

SITES = """id,name,lat,lon,capacity,fixed_cost,handling_cost,status,closing_cost
AMS,Amsterdam,52.37,4.90,400,5000,1.5,existing,2000
BRU,Brussels,50.85,4.35,,4000,1.0,candidate,
PAR,Paris,48.86,2.35,300,6000,,candidate,0
LYS,Lyon,45.76,4.84,250,3000,0.5,candidate,0
CGN,Cologne,50.94,6.96,inf,4500,1.2,forced_closed,0
"""
REGIONS = """id,name,lat,lon
R-AMS,Amsterdam,52.37,4.90
R-RTM,Rotterdam,51.92,4.48
R-LIL,Lille,50.63,3.06
R-PAR,Paris,48.86,2.35
R-LYS,Lyon,45.76,4.84
"""
PRODUCTS = """id,unit_value,volume,holding_rate,shipping_cost_per_km
BOX,50,0.5,0.2,0.05
PAL,200,2,0.25,0.2
"""
DEMAND = """region,product,quantity,std
R-AMS,BOX,100,10
R-AMS,PAL,20,5
R-RTM,BOX,80,8
R-LIL,BOX,60,12
R-PAR,PAL,50,9
R-LYS,BOX,90,20
"""


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "net"
    folder.mkdir()
    for name, text in (("sites.csv", SITES), ("regions.csv", REGIONS), ("products.csv", PRODUCTS),
                       ("demand.csv", DEMAND)):
        (folder / name).write_text(text)
    (folder / "network.yaml").write_text("name: frontier-test\nperiod_days: 7\n")
    return folder


def test_each_point_equals_a_direct_solve(dataset):
    net = optimizer.load(dataset)
    table = frontier(net)
    assert table["p"].tolist() == [1, 2, 3, 4]  # CGN is forced closed
    assert table["status"].tolist() == ["optimal"] * 4
    assert table["warm_started"].tolist() == [True] * 4  # p = 4 starts from every usable site, the rest from p + 1
    for p, total, sites in zip(table["p"], table["total"], table["open_sites"]):
        direct = optimizer.solve(net.with_settings(exact_sites=int(p)))
        assert total == pytest.approx(direct.objective, rel=1e-9)
        assert len(sites.split()) == p
    components = cost_columns(table)
    assert {"shipping", "fixed", "handling", "holding", "closing"} <= set(components)
    np.testing.assert_allclose(table[components].sum(axis=1), table["total"], rtol=1e-9)
    # Transport falls and rent rises from one to four sites.
    assert table["shipping"].iloc[-1] < table["shipping"].iloc[0]
    assert table["fixed"].iloc[-1] > table["fixed"].iloc[0]
    # Cold starts give the same optima.
    cold = frontier(net, warm_start=False)
    np.testing.assert_allclose(cold["total"], table["total"], rtol=1e-9)


def test_infeasible_values_are_recorded_and_skipped(dataset):
    net = optimizer.load(dataset)
    net.sites.loc[["PAR", "LYS"], "status"] = "forced_open"
    table = frontier(net, values=[1, 2, 3])
    assert table["status"].tolist() == ["infeasible", "optimal", "optimal"]
    assert np.isnan(table["total"].iloc[0])
    assert table["warm_started"].tolist() == [False, True, True]  # p = 1 cannot drop a forced-open site


def test_every_point_starts_from_a_feasible_plan_no_better_than_its_optimum(dataset):
    net = optimizer.load(dataset)
    previous = None
    for p in (4, 3, 2, 1):
        built = build_model(net.with_settings(exact_sites=p))
        start = AXES["sites"].warm_start(built, previous)
        assert start is not None and feasible(built.lp, start)
        previous = optimizer.solve(built)
        assert built.lp.c @ start + built.lp.offset >= previous.objective - 1e-6
        assert int(start[:built.n_sites].sum()) == p


@pytest.mark.parametrize("single_sourcing", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_warm_starts_through_links_and_transfers_keep_every_optimum(seed, single_sourcing):
    # Suppliers, capacitated rail, transfers between sites (arc flows): a site that supplies others is
    # closed with their demand placed again; each point equals a cold solve.
    from test_site_tree import two_echelon

    net = two_echelon(seed, n_sites=5, n_regions=10, single_sourcing=single_sourcing)
    warm = frontier(net)
    cold = frontier(net, warm_start=False)
    assert warm["status"].tolist() == cold["status"].tolist()
    proven = warm["status"] == "optimal"
    assert proven.any() and warm.loc[proven, "warm_started"].any()  # a rounding that breaks a capacity: cold
    np.testing.assert_allclose(warm.loc[proven, "total"], cold.loc[proven, "total"], rtol=1e-9)


def test_a_start_far_below_every_usable_site_is_not_built(monkeypatch):
    # p = 2 first, of 8 sites (--max-sites 2): the chain from every site open would take 6 drops (each a few
    # linear programs), and again for every point below one without a plan; no start is built that far.
    from test_site_tree import two_echelon

    from optimizer import frontier as module

    calls: list[int] = []
    real = module.drop_site
    monkeypatch.setattr(module, "drop_site", lambda built, x: calls.append(1) or real(built, x))
    table = frontier(two_echelon(0, n_sites=8, n_regions=10), values=[2])
    assert table["status"].tolist() == ["optimal"] and not table["warm_started"].any() and calls == []
    frontier(two_echelon(0, n_sites=8, n_regions=10), values=[8, 7])
    assert len(calls) == 1  # one drop from 8 to 7 (8 starts from every site open, thinned by none)


def test_drop_site_closes_the_cheapest_to_lose_and_respects_capacity(dataset):
    net = optimizer.load(dataset)
    built = build_model(net)
    S = built.n_sites
    sites = list(net.sites.index)
    x = np.zeros(S + len(built.lane_site))
    x[[sites.index(s) for s in ("AMS", "BRU", "PAR", "LYS")]] = 1.0
    cost = built.lp.c[S:S + len(built.lane_site)]
    for unit in range(len(built.unit_region)):  # each unit on its cheapest lane at an open site
        lanes = np.flatnonzero((built.lane_unit == unit) & (x[built.lane_site] > 0.5))
        x[S + lanes[np.argmin(cost[lanes])]] = 1.0
    C = len(built.lane_site)
    dropped = drop_site(built, x)[:S + C]
    closed = [sites[i] for i in np.flatnonzero((x[:S] > 0.5) & (dropped[:S] < 0.5))]
    assert len(closed) == 1 and dropped[:S].sum() == 3
    served = np.bincount(built.lane_unit, weights=dropped[S:], minlength=len(built.unit_region))
    np.testing.assert_allclose(served, 1.0)
    assert np.all(dropped[S:][dropped[:S][built.lane_site] < 0.5] == 0)  # nothing left on the closed site
    volume = built.unit_mix @ net.products["volume"].to_numpy()
    load = np.bincount(built.lane_site, weights=dropped[S:] * volume[built.lane_unit], minlength=S)
    assert np.all(load <= net.sites["capacity"].to_numpy() + 1e-9)
    # The estimate picks the site whose closure costs least (fixed cost saved against dearer lanes).
    losses = {}
    for site in ("AMS", "BRU", "PAR", "LYS"):
        i = sites.index(site)
        moved = x.copy()
        moved[i] = 0.0
        on = np.flatnonzero(moved[S:] > 0)
        for lane in on[built.lane_site[on] == i]:
            others = np.flatnonzero((built.lane_unit == built.lane_unit[lane]) & (moved[built.lane_site] > 0.5))
            moved[S + lane] = 0.0
            moved[S + others[np.argmin(cost[others])]] = 1.0
        losses[site] = built.lp.c @ moved - built.lp.c @ x
    assert closed[0] == min(losses, key=losses.get)
    # A forced-open site is never closed, and nothing can be dropped when every open site is forced.
    net.sites["status"] = "forced_open"
    assert drop_site(build_model(net.with_settings()), x) is None


def test_plan_vector_reproduces_the_objective(dataset):
    net = optimizer.load(dataset).with_settings(exact_sites=2)
    built = build_model(net)
    result = optimizer.solve(built)
    x = plan_vector(built, result.open_sites, result.flows)
    assert built.lp.c @ x + built.lp.offset == pytest.approx(result.objective, rel=1e-9)


@pytest.mark.parametrize("single_sourcing", [False, True])
def test_plan_vector_is_the_solution(dataset, single_sourcing):
    built = build_model(optimizer.load(dataset).with_settings(exact_sites=2, single_sourcing=single_sourcing))
    result = optimizer.solve(built)
    x = plan_vector(built, result.open_sites, result.flows)
    assert built.lp.c @ x + built.lp.offset == pytest.approx(result.objective, rel=1e-9)
    assert np.all(x[:built.n_sites] == np.isin(built.network.site_ids, result.open_sites))
    served = np.bincount(built.lane_unit, weights=x[built.n_sites:], minlength=len(built.unit_region))
    np.testing.assert_allclose(served, 1.0)  # every unit fully served, on lanes of open sites only
    assert np.all(x[built.n_sites:][x[:built.n_sites][built.lane_site] < 0.5] == 0)


def test_plan_vector_memory_is_linear_in_lanes():
    import tracemalloc

    from factory import KM_PER_DEG, make_network

    rng = np.random.default_rng(3)
    S, R, P = 100, 8000, 3
    lon = rng.uniform(0, S - 1, R)
    net = make_network([{"id": f"S{i}", "lon": float(i)} for i in range(S)],
                       [{"id": f"R{j}", "lon": float(v)} for j, v in enumerate(lon)],
                       [{"id": f"P{k}"} for k in range(P)],
                       [(f"R{j}", f"P{k}", 1.0) for j in range(R) for k in range(P)],
                       max_service_km=1.5 * KM_PER_DEG, single_sourcing=True)
    built = build_model(net)
    nearest = np.rint(lon).astype(int)
    flows = pd.DataFrame({"from": np.repeat([f"S{i}" for i in nearest], P),
                          "to": np.repeat([f"R{j}" for j in range(R)], P),
                          "product": np.tile([f"P{k}" for k in range(P)], R), "quantity": 1.0, "mode": "road"})
    tracemalloc.start()
    x = plan_vector(built, sorted(set(flows["from"])), flows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < S * R * P * 8 / 2  # a dense sites x regions x products array alone would take 19 MB
    lanes = np.flatnonzero(x[S:] > 0)
    assert len(lanes) == R and np.all(built.lane_site[lanes] == nearest[built.unit_region[built.lane_unit[lanes]]])


def test_complete_start_fills_extra_columns(dataset):
    net = optimizer.load(dataset).with_settings(single_sourcing=True, exact_sites=2,
                                                inventory=InventorySettings(model="pooled"))
    result = optimizer.solve(net)
    head = plan_vector(build_model(net), result.open_sites, result.flows)
    pooled = add_pooled_inventory(build_model(net))
    built = pooled.built
    full = complete_start(built, head)
    assert full is not None and len(full) == built.lp.n_cols
    np.testing.assert_allclose(full[:len(head)], head)
    A = built.lp.A @ full
    assert np.all(A >= built.lp.row_lower - 1e-7) and np.all(A <= built.lp.row_upper + 1e-7)
    assert pooled.estimate(full) <= sum(pooled.exact_costs(full)) + 1e-7


def test_write_frontier_and_refuse_foreign_files(dataset, tmp_path):
    table = frontier(optimizer.load(dataset), max_points=2)
    out = tmp_path / "out"
    paths = write_frontier(table, out)
    assert [p.name for p in paths] == ["frontier.csv", "frontier.png"]
    assert (out / OUTPUT_MARKER).exists()
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = pd.read_csv(paths[0])
    assert back["p"].tolist() == [1, 2]
    write_frontier(table, out)  # our own folder: may overwrite
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "frontier.csv").write_text("mine\n")
    with pytest.raises(optimizer.errors.InputError, match="did not write"):
        write_frontier(table, foreign)
    assert (foreign / "frontier.csv").read_text() == "mine\n"
    with pytest.raises(optimizer.errors.InputError, match="input file"):
        write_frontier(table, dataset.parent, protected=[dataset.parent / "frontier.csv"])


def test_cli_json_and_out(dataset, tmp_path):
    out = tmp_path / "curve"
    result = CliRunner().invoke(frontier_command, [str(dataset), "--between", "cost,sites", "--max-sites", "3",
                                                   "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["axis"] == "sites" and doc["column"] == "p"
    assert [pt["p"] for pt in doc["points"]] == [1, 2, 3]
    assert all(pt["status"] == "optimal" and pt["termination"] == "optimal" for pt in doc["points"])
    assert "shipping" in doc["components"]
    assert (out / "frontier.csv").exists() and (out / "frontier.png").exists()
    assert "p=1: optimal" in result.stderr


def test_cli_text_and_errors(dataset, tmp_path):
    runner = CliRunner()
    text = runner.invoke(frontier_command, [str(dataset), "--max-sites", "2"])
    assert text.exit_code == 0
    assert "shipping" in text.stdout and "optimal" in text.stdout
    bad = runner.invoke(frontier_command, [str(dataset), "--between", "cost,co2"])
    assert bad.exit_code == 2 and "cost,AXIS" in bad.output
    missing = runner.invoke(frontier_command, [str(tmp_path / "nope"), "--json"])
    assert missing.exit_code == 1
    assert json.loads(missing.stdout)["status"] == "input_error"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "frontier.png").write_text("x")
    refused = runner.invoke(frontier_command, [str(dataset), "--max-sites", "1", "--out", str(foreign)])
    assert refused.exit_code == 1 and "did not write" in refused.stderr


def test_all_infeasible_exits_2(dataset):
    (dataset / "network.yaml").write_text("constraints:\n  max_service_km: 1\n")
    result = CliRunner().invoke(frontier_command, [str(dataset), "--max-sites", "2", "--json"])
    assert result.exit_code == 2
    assert {pt["status"] for pt in json.loads(result.stdout)["points"]} == {"infeasible"}


def test_cli_mip_gap_reaches_every_solve(dataset, monkeypatch):
    import optimizer.api as api_module

    seen = []
    original = api_module.solve

    def spy(network, **kwargs):
        seen.append(kwargs.get("mip_gap"))
        return original(network, **kwargs)

    monkeypatch.setattr(api_module, "solve", spy)
    result = CliRunner().invoke(frontier_command, [str(dataset), "--max-sites", "2", "--mip-gap", "0.05", "--json"])
    assert result.exit_code == 0, result.output
    assert seen and set(seen) == {0.05}


def test_sigterm_stops_the_sweep_and_keeps_the_points_solved(dataset, monkeypatch):
    """Issue 10, defect 15: SIGTERM during a frontier ends the sweep after the point being solved, exit 6."""
    import os
    import signal

    import optimizer.api as api_module
    from optimizer.solvers import interrupt

    original = api_module.solve

    def signalled(network, **kwargs):
        result = original(network, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # as systemd or cron would, during the first point
        return result

    monkeypatch.setattr(api_module, "solve", signalled)
    before = signal.getsignal(signal.SIGTERM)
    try:
        result = CliRunner().invoke(frontier_command, [str(dataset), "--max-sites", "3", "--json"])
    finally:
        interrupt.clear()
    assert signal.getsignal(signal.SIGTERM) is before
    assert result.exit_code == 6, result.output
    doc = json.loads(result.stdout)
    assert [pt["p"] for pt in doc["points"]] == [3]  # the sites axis is solved from the most sites down
    assert doc["points"][0]["total"] is not None
