"""``optimizer rebalance``: hand-checked plans, the engines, the checker, bad input, cron safety."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.checker.rebalance import check_rebalance
from optimizer.cli.main import main
from optimizer.io.dataset import read_dataset
from optimizer.rebalance import job
from optimizer.rebalance.graph import build_graph

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scenarios" / "demo"
DEMO_INVENTORY = ROOT / "scenarios" / "demo-rebalance" / "inventory.csv"
HOOKS = Path(__file__).parent / "rebalance_hooks.py"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text.strip() + "\n")
    return path


def chain(tmp_path: Path, hop_cost: float, extra_links: str = "", products: str = "P,100,1,1,1") -> Path:
    """Sites A, B, C (existing) and X (a candidate) on the equator; links A -> B -> C at ``hop_cost``
    per volume unit and 1 day each, plus a cheap A -> X -> C that must never be used."""
    data = tmp_path / "data"
    data.mkdir()
    write(data, "sites.csv", """
id,lat,lon,fixed_cost,status
A,0,0,0,existing
B,0,1,0,existing
C,0,2,0,forced_open
X,0,1.5,0,candidate
""")
    write(data, "regions.csv", "id,lat,lon\nR,0,0")
    write(data, "products.csv", "id,unit_value,volume,pack_size,shipping_cost_per_km\n" + products)
    write(data, "demand.csv", "region,product,quantity\nR,P,1")
    write(data, "links.csv", f"""
from,to,mode,cost_per_volume,transit_days
A,B,road,{hop_cost},1
B,C,rail,{hop_cost},1
A,X,road,0,1
X,C,road,0,1
{extra_links}
""")
    return data


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["rebalance", *map(str, args)])
    return result.exit_code, result.output


def rebalance(data: Path, out: Path, inventory: str, targets: str, *extra: str) -> dict:
    inv = write(data.parent, "inventory.csv", inventory)
    tgt = write(data.parent, "targets.csv", targets)
    code, output = run([data, "--inventory", inv, "--targets", tgt, "--out", out, "--json", *extra])
    assert code == 0, output
    return json.loads(output)


INVENTORY = "site,product,on_hand\nA,P,10\nB,P,0\nC,P,0"
TARGETS = "site,product,target,min\nA,P,0,0\nB,P,0,0\nC,P,10,10"


def test_deficit_filled_over_a_two_hop_path(tmp_path):
    # shortage 0.1 x 100 = 10 per unit below min (13, 12, 11, 10 by quarter); two hops cost 2 per unit
    summary = rebalance(chain(tmp_path, 1.0), tmp_path / "out", INVENTORY, TARGETS)
    rows = pd.read_csv(tmp_path / "out" / "transfers.csv")
    assert rows.to_dict(orient="records") == [{"from": "A", "to": "C", "product": "P", "quantity": 10, "cost": 20.0,
                                               "path": "A > B > C", "modes": "road > rail", "transit_days": 2.0}]
    assert summary["costs"]["total"] == pytest.approx(20.0)
    assert summary["shortfalls"] == [] and summary["check"]["ok"]


def test_deficit_left_unfilled_when_the_transfer_costs_more_than_its_penalty(tmp_path):
    # 2 x 20 = 40 per unit, above the largest penalty of 13: nothing moves, 10 x (2x1.3 + 3x1.2 + 2x1.1 + 3x1.0)
    summary = rebalance(chain(tmp_path, 20.0), tmp_path / "out", INVENTORY, TARGETS)
    assert (tmp_path / "out" / "transfers.csv").read_text() == \
        "from,to,product,quantity,cost,path,modes,transit_days\n"
    assert summary["costs"]["penalty_below_min"] == pytest.approx(114.0)
    (short,) = summary["shortfalls"]
    assert (short["site"], short["reason"], short["short_of_min"]) == ("C", "not_worth", 10.0)
    assert short["transfer_cost"] == pytest.approx(40.0) and short["penalty_saved"] == pytest.approx(13.0)


def test_deficit_filled_only_where_the_penalty_pays_for_the_transfer(tmp_path):
    # 11.5 per unit: the emptiest two quarters (13, 12 per unit; units 0..4) pay, the others (11, 10) do not
    summary = rebalance(chain(tmp_path, 5.75), tmp_path / "out", INVENTORY, TARGETS)
    assert summary["units_moved"] == 5
    assert summary["costs"]["transfer"] == pytest.approx(57.5)
    assert summary["costs"]["penalty_below_min"] == pytest.approx(2 * 11 + 3 * 10)
    assert summary["shortfalls"][0]["reason"] == "not_worth"


def test_shortage_is_shared_by_the_quarter_rule(tmp_path):
    # 8 units for two sites with min 8 each, free links: each ends with 4 (the emptiest quarters first)
    data = chain(tmp_path, 0.0, "C,B,road,0,1")
    summary = rebalance(data, tmp_path / "out", "site,product,on_hand\nA,P,8\nB,P,0\nC,P,0",
                        "site,product,target,min\nA,P,0,0\nB,P,8,8\nC,P,8,8")
    final = {s["site"]: s["final"] for s in summary["shortfalls"]}
    assert final == {"B": 4.0, "C": 4.0}


def test_in_transit_stock_counts_at_its_destination_within_the_run(tmp_path):
    data = chain(tmp_path, 1.0)
    transit = write(tmp_path, "in_transit.csv", "from,to,product,quantity,arrival_days\nV,C,P,6,0.5\nV,C,P,50,3")
    summary = rebalance(data, tmp_path / "out", INVENTORY, TARGETS, "--in-transit", transit)
    assert summary["units_moved"] == 4  # 6 arrive within the 1-day run; the 50 arriving in 3 days do not count


def test_link_capacity_makes_an_lp_and_the_rest_is_left_for_capacity(tmp_path):
    # capacity 21 volume units per 7-day period = 3 per 1-day run on A -> B
    data = chain(tmp_path, 1.0)
    links = (data / "links.csv").read_text().replace("transit_days\n", "transit_days,capacity\n")
    (data / "links.csv").write_text(links.replace(",1\n", ",1,\n").replace("A,B,road,1.0,1,", "A,B,road,1.0,1,21"))
    summary = rebalance(data, tmp_path / "out", INVENTORY, TARGETS)
    assert summary["engine"] == "lp" and summary["units_moved"] == 3
    assert summary["shortfalls"][0]["reason"] == "capacity"
    assert summary["bound"] == pytest.approx(summary["objective"])


def test_pack_size_and_min_shipment_make_a_mip(tmp_path):
    data = chain(tmp_path, 1.0, products="P,100,1,4,1")
    summary = rebalance(data, tmp_path / "out", INVENTORY, TARGETS)
    assert summary["engine"] == "mip" and summary["units_moved"] == 8  # whole packs of 4
    summary = rebalance(data, tmp_path / "out2", INVENTORY, TARGETS, "--min-shipment", "12")
    assert summary["units_moved"] == 0 and summary["check"]["ok"]


@pytest.mark.parametrize("extra", [[], ["--min-shipment", "2"]])
def test_a_balanced_network_is_an_optimal_run_with_nothing_to_move(tmp_path, extra):
    # Every site at its target and a link capacity (the lp engine; with --min-shipment the mip): nothing needs a
    # decision, so the run publishes an empty plan (it once built an empty program, exit 5 every night).
    data = chain(tmp_path, 1.0)
    links = (data / "links.csv").read_text().replace("transit_days\n", "transit_days,capacity\n")
    (data / "links.csv").write_text(links.replace(",1\n", ",1,\n").replace("A,B,road,1.0,1,", "A,B,road,1.0,1,21"))
    balanced = "site,product,target,min\nA,P,10,10\nB,P,0,0\nC,P,0,0"
    summary = rebalance(data, tmp_path / "out", INVENTORY, balanced, *extra)
    assert summary["engine"] == ("mip" if extra else "lp")
    assert summary["status"] == "optimal" and summary["units_moved"] == 0 and summary["check"]["ok"]
    assert (tmp_path / "out" / "transfers.csv").exists()


def test_max_transfers_caps_link_product_shipments(tmp_path):
    data = chain(tmp_path, 1.0, "A,C,road,3,1")
    summary = rebalance(data, tmp_path / "out", INVENTORY, TARGETS, "--max-transfers", "1")
    rows = pd.read_csv(tmp_path / "out" / "transfers.csv")
    assert summary["engine"] == "mip" and rows["path"].tolist() == ["A > C"]  # one hop instead of two


def test_demo_transfers_never_exceed_stock_and_follow_edges_between_operating_sites(tmp_path):
    code, output = run([DEMO, "--inventory", DEMO_INVENTORY, "--out", tmp_path / "out"])
    assert code == 0, output
    rows = pd.read_csv(tmp_path / "out" / "transfers.csv")
    assert len(rows)
    inventory = pd.read_csv(DEMO_INVENTORY).set_index(["site", "product"])["on_hand"]
    sent = rows.groupby(["from", "product"])["quantity"].sum()
    assert (sent <= inventory.reindex(sent.index)).all()
    network = read_dataset(DEMO)
    operating = set(network.sites.index[network.sites["status"].isin(["existing", "forced_open"])])
    graph = build_graph(network, sorted(set(inventory.index.get_level_values(0))), 1.0)
    edges = set(zip(graph.edges["from"], graph.edges["to"], graph.edges["mode"]))
    for path, modes in zip(rows["path"], rows["modes"]):
        nodes = path.split(" > ")
        assert set(nodes) <= operating
        assert all(hop in edges for hop in zip(nodes[:-1], nodes[1:], modes.split(" > ")))
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["transfers_sha256"] == hashlib.sha256((tmp_path / "out" / "transfers.csv").read_bytes()).hexdigest()


def test_outputs_are_byte_identical_for_the_same_inputs(tmp_path):
    for out in ("one", "two"):
        assert run([DEMO, "--inventory", DEMO_INVENTORY, "--out", tmp_path / out])[0] == 0
    for name in ("transfers.csv", "summary.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_every_run_is_recorded_in_the_run_store(tmp_path):
    from optimizer.runs.store import RunStore

    for _ in range(2):
        assert run([DEMO, "--inventory", DEMO_INVENTORY, "--out", tmp_path / "out"])[0] == 0
    with RunStore(tmp_path / "out" / job.STORE_FILE) as store:
        runs = store.runs(sweep="rebalance", latest_only=False)
        assert len(runs) == 2 and runs["inputs_hash"].nunique() == 1
        flows = store.flows(int(runs["run_id"].iloc[-1]))
    assert len(flows) == len(pd.read_csv(tmp_path / "out" / "transfers.csv"))


def _cli(*args: object) -> list[str]:
    return [sys.executable, str(HOOKS), *map(str, args)]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def test_a_second_concurrent_run_on_the_same_folder_exits_3(tmp_path):
    out, gate = tmp_path / "out", tmp_path / "go"
    first = subprocess.Popen(_cli("gate", gate, "--", DEMO, "--inventory", DEMO_INVENTORY, "--out", out),
                             env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / job.LOCK_FILE).exists() or f"pid {first.pid}" not in (out / job.LOCK_FILE).read_text():
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.05)
        code, output = run([DEMO, "--inventory", DEMO_INVENTORY, "--out", out])
        assert code == 3 and "holds .optimizer.lock" in output
        assert not (out / "transfers.csv").exists()
        # --log-json: the final record says locked, and stderr holds JSON records only
        logged = CliRunner().invoke(main, ["rebalance", str(DEMO), "--inventory", str(DEMO_INVENTORY), "--out",
                                           str(out), "--log-json"])
        records = [json.loads(line) for line in logged.stderr.splitlines()]
        assert logged.exit_code == 3 and records[-1]["event"] == "result" and records[-1]["status"] == "locked"
    finally:
        gate.touch()
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert run([DEMO, "--inventory", DEMO_INVENTORY, "--out", out])[0] == 0  # the lock is free again


def test_a_run_killed_mid_write_leaves_the_previous_outputs_intact(tmp_path):
    out = tmp_path / "out"
    assert run([DEMO, "--inventory", DEMO_INVENTORY, "--out", out])[0] == 0
    before = {name: (out / name).read_bytes() for name in job.OUTPUT_FILES}
    changed = write(tmp_path, "inventory.csv", DEMO_INVENTORY.read_text().replace("DC-SEA,ELEC,10760",
                                                                                  "DC-SEA,ELEC,20760"))
    killed = subprocess.run(_cli("kill-mid-write", "-", "--", DEMO, "--inventory", changed, "--out", out),
                            env=_env(), capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert list((out / "runs").glob(".tmp-*"))  # the half-written set exists, but is not current
    after = {name: (out / name).read_bytes() for name in job.OUTPUT_FILES}
    assert after == before
    summary = json.loads(after["summary.json"])
    assert summary["transfers_sha256"] == hashlib.sha256(after["transfers.csv"]).hexdigest()
    assert run([DEMO, "--inventory", changed, "--out", out])[0] == 0  # the next run tidies and publishes
    assert not list((out / "runs").glob(".tmp-*"))
    assert (out / "transfers.csv").read_bytes() != before["transfers.csv"]


def test_the_output_folder_refuses_files_it_did_not_make(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "transfers.csv").write_text("mine\n")
    code, output = run([DEMO, "--inventory", DEMO_INVENTORY, "--out", out])
    assert code == 1 and "refusing to replace it" in output
    assert (out / "transfers.csv").read_text() == "mine\n"


@pytest.mark.parametrize("inventory, line, field, words", [
    ("site,product,on_hand\nDC-SEA,ELEC,10\nDC-XXX,ELEC,5", 3, "site", "'DC-XXX' is not an id in sites.csv"),
    ("site,product,on_hand\nDC-PDX,ELEC,10", 2, "site", "site 'DC-PDX' is candidate"),
    ("site,product,on_hand\nDC-SEA,ELEC,1.5", 2, "on_hand", "not a whole number"),
    ("site,product,on_hand\nDC-SEA,ELEC,-3", 2, "on_hand", "negative"),
    ("site,product,on_hand\nDC-SEA,ELEC,3\nDC-SEA,ELEC,4", 3, "site", "duplicate"),
    ("site,product,on_hand\nDC-SEA,NOPE,3", 2, "product", "'NOPE' is not an id in products.csv"),
])
def test_bad_inventory_names_file_line_and_field(tmp_path, inventory, line, field, words):
    path = write(tmp_path, "inventory.csv", inventory)
    code, output = run([DEMO, "--inventory", path, "--out", tmp_path / "out", "--json"])
    assert code == 1
    document = json.loads(output.splitlines()[-1])
    (problem,) = document["problems"]
    assert (problem["file"], problem["line"], problem["field"]) == (str(path), line, field)
    assert words in problem["message"]


def test_bad_targets_name_file_line_and_field(tmp_path):
    inventory = write(tmp_path, "inventory.csv", "site,product,on_hand\nDC-SEA,ELEC,10")
    targets = write(tmp_path, "targets.csv", "site,product,target,min\nDC-SEA,ELEC,5,9\nDC-ONT,ELEC,5,1")
    code, output = run([DEMO, "--inventory", inventory, "--targets", targets, "--out", tmp_path / "o", "--json"])
    assert code == 1
    problems = json.loads(output.splitlines()[-1])["problems"]
    assert {(p["line"], p["field"]) for p in problems} == {(2, "min"), (3, "site")}
    assert any("not in the inventory file" in p["message"] for p in problems)


def test_the_checker_rejects_a_tampered_plan_and_the_cli_exits_4(tmp_path, monkeypatch):
    from optimizer.rebalance import summary

    original = summary.transfer_table

    def tampered(*args):
        table = original(*args)
        table.loc[0, "quantity"] += 10**6
        return table

    monkeypatch.setattr(summary, "transfer_table", tampered)
    code, output = run([DEMO, "--inventory", DEMO_INVENTORY, "--out", tmp_path / "out"])
    assert code == 4 and "on hand" in output
    assert not (tmp_path / "out" / "transfers.csv").exists()  # a rejected plan is not published


def test_checker_flags_hops_that_are_not_links_and_wrong_costs(tmp_path):
    data = chain(tmp_path, 1.0)
    network = read_dataset(data)
    stock = pd.DataFrame({"site": ["A", "B", "C"], "product": "P", "on_hand": [10, 0, 0], "arriving": 0,
                          "min": [0, 0, 10], "target": [0, 0, 10], "max": float("inf")})
    plan = pd.DataFrame({"from": ["A"], "to": ["C"], "product": ["P"], "quantity": [10], "cost": [20.0],
                         "path": ["A > B > C"], "modes": ["road > rail"], "transit_days": [2.0]})
    costs = {"transfer": 20.0, "trucks": 0.0, "penalty_below_min": 0.0, "penalty_below_target": 0.0,
             "penalty_excess": 0.0}
    assert check_rebalance(network, plan, stock, 1.0, costs).ok
    via_x = plan.assign(path=["A > X > C"], modes=["road > road"], cost=[0.0])
    report = check_rebalance(network, via_x, stock, 1.0, {**costs, "transfer": 0.0})
    assert not report.ok and any("X > C" in v for v in report.violations)
    report = check_rebalance(network, plan.assign(cost=[19.0]), stock, 1.0, costs)
    assert not report.ok and any("recomputed" in v for v in report.violations)


def test_worker_processes_and_batches_do_not_change_the_plan(tmp_path, monkeypatch):
    """The min-cost flow's batches are fixed by the product order: forked workers give the same plan,
    and the summary's reasons and the transfers are those of one process."""
    import numpy as np

    from benchmarks.suites.rebalance import write_case
    from optimizer.rebalance import engine
    from optimizer.rebalance.inputs import read_inputs
    from optimizer.rebalance.summary import csv_text, transfer_table

    write_case(tmp_path, 12, 40, capacitated=False)
    network = read_dataset(tmp_path / "data")
    inputs = read_inputs(network, tmp_path / "inventory.csv", tmp_path / "targets.csv")
    graph = build_graph(network, inputs.sites, 1.0)
    monkeypatch.setattr(engine, "BATCH_ARCS", 1)  # one product per batch: many tasks
    products = engine.active_products(inputs)
    alone, forked = (engine._solve_flows(inputs, graph, products, workers=w) for w in (1, 2))
    assert len(alone.transfers) > 20
    assert csv_text(transfer_table(alone, inputs, graph)) == csv_text(transfer_table(forked, inputs, graph))
    assert np.array_equal(alone.final, forked.final)


def test_plain_csv_texts_read_as_the_csv_module_reads_them(tmp_path):
    """The reader's fast path (no quotes, no blanks) gives the same columns as the csv module's path."""
    import numpy as np

    from optimizer.io import csvtable
    from optimizer.schema import INVENTORY

    text = "site,product,on_hand\nA,P1,3\nB,P1,0.5e1\nC,P2,\nD,P2,-1\nE,P3,1_0\n"
    for name, body in (("plain.csv", text), ("crlf.csv", text.replace("\n", "\r\n")),
                       ("quoted.csv", text.replace("A,", '"A",'))):
        problems: list = []
        path = tmp_path / name
        path.write_bytes(body.encode())
        parsed = csvtable.parse_table(INVENTORY, path, name, problems)
        assert (csvtable._plain_cells(body) is None) == (name == "quoted.csv")
        assert list(parsed.values["site"]) == ["A", "B", "C", "D", "E"]
        assert np.array_equal(parsed.values["on_hand"], [3, 5, np.nan, np.nan, np.nan], equal_nan=True)
        assert sorted(p.line for p in problems) == [4, 5, 6], problems


def test_settled_bands_keep_the_lp_optimum(tmp_path, monkeypatch):
    """The LP without the bands settled beforehand has the same optimum (and more columns)."""
    import numpy as np

    from benchmarks.suites.rebalance import write_case
    from optimizer.rebalance import engine
    from optimizer.rebalance.inputs import read_inputs
    from optimizer.solvers import get_solver
    from optimizer.solvers.base import SolveOptions

    write_case(tmp_path, 12, 30, capacitated=True)
    network = read_dataset(tmp_path / "data")
    inputs = read_inputs(network, tmp_path / "inventory.csv", tmp_path / "targets.csv")
    graph = build_graph(network, inputs.sites, 1.0)
    products, docks = engine.active_products(inputs), np.full((2, len(inputs.sites)), np.inf)
    settled, _ = engine._build(inputs, graph, products, engine.Options(), docks, False)
    monkeypatch.setattr(engine, "_settled_bands", lambda inputs, products, caps, rates: (
        caps, np.zeros(caps.shape[:2]), 0.0))
    full, _ = engine._build(inputs, graph, products, engine.Options(), docks, False)
    assert settled.A.shape[1] < full.A.shape[1]
    optima = [get_solver("highs").solve(model, SolveOptions(threads=1)).objective for model in (settled, full)]
    assert optima[0] == pytest.approx(optima[1], rel=1e-9)


def test_the_run_store_keeps_a_flow_table_as_it_keeps_flow_rows(tmp_path):
    """A table of transfers is stored in bulk, with the same columns and JSON text as its rows would be."""
    import sqlalchemy as sa

    from optimizer.runs.store import RunRecord, RunStore

    table = pd.DataFrame({"from": ["A", "B\u00e9"], "to": ["C", 'D"'], "product": ["P", "Q"], "quantity": [3.0, 1.0],
                          "cost": [0.1 + 0.2, 1e-300], "path": ["A > C", 'B\u00e9 > D"'], "modes": ["road", "rail"],
                          "transit_days": [1.5, 2.0], "count": [1, 2]})
    with RunStore(tmp_path / "runs.db") as store:
        ids = [store.save(RunRecord("s", "x", "h", {}, "optimal", 1.0, None, None, flows=flows))
               for flows in (table, table.to_dict(orient="records"), table.assign(cost=[float("nan"), 1.0]))]
        stored = [store.flows(i) for i in ids]
        with store.engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT run_id, extra FROM run_flows ORDER BY run_id, rowid").fetchall()
    pd.testing.assert_frame_equal(stored[0], stored[1])
    pd.testing.assert_frame_equal(stored[0], table)
    assert [r[1] for r in raw if r[0] == ids[0]] == [r[1] for r in raw if r[0] == ids[1]]
    assert stored[2]["cost"].isna().iloc[0]  # a non-finite value takes the general path (null)


@pytest.mark.parametrize("cells", [["0"], ["007", "10", "999999999999999"], ["1234567890123456789", "5"],
                                   [str(3 ** k) for k in range(30)]])
def test_whole_number_columns_read_as_float_reads_them(cells):
    import numpy as np

    from optimizer.io.csvtable import _whole_numbers

    assert np.array_equal(_whole_numbers("\n".join(cells), len(cells)), [float(c) for c in cells])


def test_targets_without_a_file_take_the_lead_time_with_supplier_transit():
    # Without targets.csv, min is the pooled safety stock over the solve's lead time: order processing plus the
    # fastest transit from a supplier (it once left the transit out, under-protecting sites far from a port).
    from dataclasses import replace

    import numpy as np

    from optimizer.rebalance.inputs import pooled_targets
    from optimizer.stock import site_lead_times

    net = read_dataset(Path(__file__).parents[1] / "scenarios" / "demo")
    sites = net.sites.index[net.sites["status"].isin(["existing", "forced_open"])]
    lead = site_lead_times(net)
    assert (lead > net.settings.inventory.lead_time_days).any()  # the demo's ports are days away
    safety, target = pooled_targets(net, sites, net.products.index)
    explicit = replace(net, sites=net.sites.assign(lead_time_days=lead))
    assert np.array_equal(pooled_targets(explicit, sites, net.products.index)[0], safety)
    without = replace(net, sites=net.sites.assign(lead_time_days=net.settings.inventory.lead_time_days))
    assert (pooled_targets(without, sites, net.products.index)[0] < safety).any()


def test_an_id_holding_a_greater_than_sign_is_checked_right(tmp_path):
    # Paths are written as 'a > b'; the checker split them on every '>', so a site named '<b>x</b>' made a valid
    # plan fail its check (exit 4, nothing published).
    data = chain(tmp_path, 1.0)
    for name in ("sites.csv", "links.csv"):
        (data / name).write_text((data / name).read_text().replace("C,", "<b>C</b>,").replace(",C,", ",<b>C</b>,"))
    summary = rebalance(data, tmp_path / "out", INVENTORY.replace("C,P", "<b>C</b>,P"),
                        TARGETS.replace("C,P", "<b>C</b>,P"))
    assert summary["check"]["ok"] and summary["units_moved"] == 10


def test_a_bad_store_or_runs_in_the_way_publishes_nothing(tmp_path):
    # A store that is a folder was opened only after the plan was published (transfers changed, run not recorded,
    # exit 1); a file named runs in the output folder crashed with a traceback.
    data = chain(tmp_path, 1.0)
    inv, tgt = write(tmp_path, "inventory.csv", INVENTORY), write(tmp_path, "targets.csv", TARGETS)
    (tmp_path / "a-folder.db").mkdir()
    code, output = run([data, "--inventory", inv, "--targets", tgt, "--out", tmp_path / "o1", "--json",
                        "--store", tmp_path / "a-folder.db"])
    assert code == 1 and "is a folder" in output and "Traceback" not in output
    assert not (tmp_path / "o1" / "current").exists() and not (tmp_path / "o1" / "runs").exists()
    (tmp_path / "o2").mkdir()
    (tmp_path / "o2" / "runs").write_text("user notes\n")
    code, output = run([data, "--inventory", inv, "--targets", tgt, "--out", tmp_path / "o2", "--json"])
    assert code == 1 and "runs" in output and "Traceback" not in output
    assert (tmp_path / "o2" / "runs").read_text() == "user notes\n" and not (tmp_path / "o2" / "current").exists()


def test_a_plan_that_cannot_be_published_is_recorded_with_the_reason(tmp_path, monkeypatch):
    from optimizer.runs.store import RunStore

    def refuse(folder, name, files):
        raise PermissionError(13, "Permission denied", str(folder / "runs"))

    monkeypatch.setattr(job, "publish", refuse)
    data = chain(tmp_path, 1.0)
    inv, tgt = write(tmp_path, "inventory.csv", INVENTORY), write(tmp_path, "targets.csv", TARGETS)
    code, output = run([data, "--inventory", inv, "--targets", tgt, "--out", tmp_path / "out", "--json"])
    assert code == 1 and "could not be published" in output and "Traceback" not in output
    with RunStore(tmp_path / "out" / job.STORE_FILE) as store:
        runs = store.runs(sweep="rebalance", latest_only=False)
    assert len(runs) == 1 and "Permission denied" in runs["error"].iloc[0]
