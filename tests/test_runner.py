"""Sweeps through ``optimizer run``: process pool vs Dask, the cache, failing scenarios, kills."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from distributed import LocalCluster

import optimizer.runs.runner as runner
from optimizer import api
from optimizer.cli.run import run
from optimizer.runs.scenario import Scenario, build_network
from optimizer.runs.store import RunStore
from optimizer.runs.sweep import load_sweep

TINY = Path(__file__).parent / "data" / "tiny"

SWEEP = """\
name: tiny-sweep
base: tiny
runs:
  - {name: demand+20%, demand: {scale: 1.2}}
  - {name: rents+50%, sites: {scale: {fixed_cost: 1.5}}}
  - {name: all-closed, sites: {close: [AMS, BRU, PAR]}}   # infeasible
generate:
  - p_range: {from: 1, to: 3}
"""
NAMES = ["base", "demand+20%", "rents+50%", "all-closed", "p=1", "p=2", "p=3"]


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A sweep of 7 scenarios (one infeasible) on a copy of the tiny dataset."""
    shutil.copytree(TINY, tmp_path / "tiny")
    path = tmp_path / "tiny-sweep.yaml"
    path.write_text(SWEEP)
    return path


def invoke(*args: object):
    return CliRunner().invoke(run, [str(a) for a in args], catch_exceptions=False)


def json_lines(stdout: str) -> dict[str, dict]:
    """The --json stream by scenario; every line must be one JSON object."""
    rows = [json.loads(line) for line in stdout.splitlines()]
    return {row["scenario"]: row for row in rows}


def test_process_pool_and_dask_give_the_same_runs(sweep: Path, tmp_path: Path):
    pool = invoke(sweep, "--workers", 2, "--store", tmp_path / "pool.db", "--json")
    dask = invoke(sweep, "--workers", 2, "--cluster", "local", "--store", tmp_path / "dask.db", "--json")
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:  # an existing scheduler, reached by its address
        remote = invoke(sweep, "--cluster", cluster.scheduler_address, "--store", tmp_path / "remote.db", "--json")
    assert pool.exit_code == dask.exit_code == remote.exit_code == 2  # one scenario is infeasible
    by_pool, by_dask, by_remote = json_lines(pool.stdout), json_lines(dask.stdout), json_lines(remote.stdout)
    assert sorted(by_pool) == sorted(by_dask) == sorted(by_remote) == sorted(NAMES)
    for name in NAMES:
        a = by_pool[name]
        for b in (by_dask[name], by_remote[name]):
            assert a["status"] == b["status"] and not a["cached"] and not b["cached"]
            if a["objective"] is None:
                assert b["objective"] is None
            else:
                assert b["objective"] == pytest.approx(a["objective"], rel=1e-6)
            assert a["inputs_hash"] == b["inputs_hash"]
        for key in ("scenario", "status", "objective", "gap", "costs", "open_sites", "solve_seconds", "cached",
                    "run_id", "inputs_hash", "error"):
            assert key in a
    assert by_pool["all-closed"]["status"] == "infeasible" and "forced closed" in by_pool["all-closed"]["error"]
    assert by_pool["rents+50%"]["objective"] > by_pool["base"]["objective"]
    assert len(by_pool["p=3"]["open_sites"]) == 3

    with RunStore(tmp_path / "pool.db") as store:
        runs = store.runs(sweep="tiny-sweep")
        assert sorted(runs["scenario"]) == sorted(NAMES)
        base = store.get_run(by_pool["base"]["run_id"])
        assert base.flows and sum(f["quantity"] for f in base.flows if f["to"] == "R-AMS") == pytest.approx(120.0)
        assert base.definition["name"] == "base" and base.software_version


def test_rerun_takes_every_run_from_the_store(sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = tmp_path / "runs.db"
    first = invoke(sweep, "--workers", 2, "--store", store, "--json")
    assert first.exit_code == 2

    def no_solving(self):
        raise AssertionError("an executor was started although every run is in the store")

    with monkeypatch.context() as patch:
        patch.setattr(runner.Executors, "get", no_solving)
        again = invoke(sweep, "--store", store, "--json")
    assert again.exit_code == 2
    rows, before = json_lines(again.stdout), json_lines(first.stdout)
    assert all(row["cached"] for row in rows.values())
    assert {n: r["run_id"] for n, r in rows.items()} == {n: r["run_id"] for n, r in before.items()}

    forced = invoke(sweep, "--workers", 2, "--store", store, "--json", "--force")
    assert not any(row["cached"] for row in json_lines(forced.stdout).values())
    with RunStore(store) as opened:
        assert len(opened.runs(latest_only=False)) == 14 and len(opened.runs()) == 7


def test_table_default_store_and_refusal_of_other_files(sweep: Path):
    result = invoke(sweep, "--workers", 1)
    assert result.exit_code == 2
    for word in ("scenario", "status", "objective", *NAMES, "1 without a plan", "all-closed: infeasible"):
        assert word in result.stdout
    default = sweep.parent / "tiny-sweep.runs.db"
    assert default.exists() and len(RunStore(default).runs()) == 7

    default.write_text("my notes, not a run store\n")
    refused = invoke(sweep, "--workers", 1, "--json")
    assert refused.exit_code == 1
    assert "tiny-sweep.runs.db" in refused.stderr and "cannot open the run store" in refused.stderr
    assert json.loads(refused.stdout)["status"] == "input_error"
    assert default.read_text() == "my notes, not a run store\n"

    bad_cluster = invoke(sweep, "--cluster", "nowhere")
    assert bad_cluster.exit_code == 1 and "--cluster" in bad_cluster.stderr


def test_all_plans_exit_zero(tmp_path: Path):
    shutil.copytree(TINY, tmp_path / "tiny")
    path = tmp_path / "ok.yaml"
    path.write_text("name: ok\nbase: tiny\nruns:\n  - {name: demand+10%, demand: {scale: 1.1}}\n")
    result = invoke(path, "--workers", 1, "--store", tmp_path / "ok.db")
    assert result.exit_code == 0, result.output
    assert "2 runs: 2 solved, 0 from the store, 0 without a plan" in result.stdout


def test_failing_scenario_is_recorded_and_others_complete(tmp_path: Path):
    base = TINY.resolve()
    scenarios = [
        Scenario("ok", base, {"demand": {"scale": 1.1}}, "test", "s"),
        Scenario("unknown-site", base, {"sites": {"close": ["NOWHERE"]}}, "test.yaml", "s"),
        Scenario("same-input-as-ok", base, {"demand": {"scale": 1.1}}, "test", "s"),
    ]
    with RunStore(tmp_path / "runs.db") as store:
        reports = runner.run_sweep(scenarios, store, workers=1, progress=False)
        assert [r.record.scenario for r in reports] == ["ok", "unknown-site", "same-input-as-ok"]
        ok, bad, same = reports
        assert ok.record.status == "optimal" and not ok.cached
        assert bad.record.status == "error" and "NOWHERE" in bad.record.error and "test.yaml" in bad.record.error
        assert same.cached and same.record.objective == ok.record.objective  # reused, not solved again
        stored = store.runs().set_index("scenario")
        assert stored.loc["unknown-site", "status"] == "error"
        assert stored.loc["same-input-as-ok", "objective"] == ok.record.objective
        assert len(store.get_run(int(stored.loc["same-input-as-ok", "run_id"])).flows) == len(ok.record.flows)


def test_no_test_hook_in_the_package():
    source = Path(runner.__file__).read_text()
    assert "OPTIMIZER_TEST" not in source and "KILL_AFTER" not in source and "os.kill" not in source


def test_killed_sweep_keeps_finished_runs_and_resumes(sweep: Path, tmp_path: Path):
    store = tmp_path / "runs.db"
    arguments = [str(sweep), "--workers", "2", "--store", str(store), "--json"]
    hooks = str(Path(__file__).parent / "run_hooks.py")  # SIGKILLs the sweep right after its 3rd stored run
    killed = subprocess.run([sys.executable, hooks, "kill-after", "3", "--", *arguments], capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    with RunStore(store) as opened:
        survivors = opened.runs(latest_only=False)
        assert len(survivors) == 3 and opened.count()[0] == 3
        flows_after_kill = {r.scenario: len(opened.get_run(int(r.run_id)).flows) for r in survivors.itertuples()}
    assert len(json_lines(killed.stdout)) == 2  # the 3rd run was stored, then the process died

    command = [sys.executable, "-c", "from optimizer.cli.run import run; run()", *arguments]
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 2, resumed.stderr
    rows = json_lines(resumed.stdout)
    assert sorted(rows) == sorted(NAMES)
    assert sorted(n for n, r in rows.items() if r["cached"]) == sorted(flows_after_kill)

    _, scenarios = load_sweep(sweep)
    for scenario in scenarios:  # every run stored before the kill has all its flows
        if scenario.name in flows_after_kill:
            expected = len(api.solve(build_network(scenario), threads=1).flows)
            assert flows_after_kill[scenario.name] == expected


def test_postgresql_store(sweep: Path, postgres_url: str):
    url = postgres_url
    with RunStore(url) as store:
        before = len(store.runs(latest_only=False))
    first = invoke(sweep, "--workers", 2, "--store", url, "--json", "--force")
    assert first.exit_code == 2
    again = invoke(sweep, "--workers", 2, "--store", url, "--json")
    assert all(row["cached"] for row in json_lines(again.stdout).values())
    with RunStore(url) as store:
        assert len(store.runs(latest_only=False)) == before + 7
        assert store.get_run(json_lines(first.stdout)["p=2"]["run_id"]).open_sites == ["AMS", "BRU"]


def test_ctrl_c_exits_6_not_1_with_the_finished_runs_stored(sweep: Path, tmp_path: Path, monkeypatch):
    # Click turns a KeyboardInterrupt into "Aborted!" and exit 1, which reads as bad input.
    import optimizer.cli.run as cli_run

    real = cli_run.run_sweep

    def interrupted(scenarios, store, **options):
        real(scenarios[:1], store, **options)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_run, "run_sweep", interrupted)
    res = invoke(sweep, "--workers", 1, "--store", tmp_path / "s.db", "--json")
    assert res.exit_code == 6, res.output
    assert len(json_lines(res.stdout)) == 1 and "1 of 7 run(s) finished and stored" in res.stderr
