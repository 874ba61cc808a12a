"""Sweeps that stay correct when things go wrong: threaded Dask workers, a worker killed mid-solve,
the same sweep started twice at once on one store, and claims left by dead sweeps."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from distributed import Client, LocalCluster

import optimizer.runs.runner as runner
import run_hooks
from optimizer import api
from optimizer.runs import cache
from optimizer.runs.scenario import Scenario, build_network, input_hash
from optimizer.runs.store import Claimant, RunStore, store_url

TINY = Path(__file__).parent / "data" / "tiny"
HOOKS = Path(__file__).parent / "run_hooks.py"


def scenarios(names: list[str]) -> list[Scenario]:
    """One scenario per name on the tiny dataset, each with its own demand scale (so its own input)."""
    base = TINY.resolve()
    return [Scenario(name, base, {"demand": {"scale": 1 + i / 10}}, "test", "s") for i, name in enumerate(names)]


def expected_objectives(runs: list[Scenario]) -> dict[str, float]:
    """Each scenario solved directly, in this process."""
    return {s.name: api.solve(build_network(s), threads=1).objective for s in runs}


def test_dask_worker_with_two_threads_solves_one_scenario_at_a_time(tmp_path: Path):
    runs = scenarios(["a", "b", "c", "d"])
    log = tmp_path / "intervals.jsonl"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        with Client(cluster) as client:  # record each solve's interval inside the worker process
            client.run(run_hooks.record_intervals, str(log))
        with RunStore(tmp_path / "dask.db") as store:
            dask = runner.run_sweep(runs, store, cluster=cluster.scheduler_address, progress=False)
    with RunStore(tmp_path / "pool.db") as store:
        pool = runner.run_sweep(runs, store, workers=2, progress=False)
    for a, b in zip(pool, dask):
        assert a.record.status == b.record.status == "optimal"
        assert b.record.objective == pytest.approx(a.record.objective, rel=1e-9)
        assert a.record.inputs_hash == b.record.inputs_hash
    solves = log.read_text().splitlines()
    assert len(solves) == len(runs)  # every scenario was solved in the two-thread worker
    assert run_hooks.overlapping(log) == []  # ... one at a time


def test_a_worker_killed_mid_solve_costs_only_its_own_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    names = ["a", "b", run_hooks.KILLER, "c", "d", "e"]
    runs = scenarios(names)
    monkeypatch.setattr(runner, "solve_task", run_hooks.solve_or_die)  # the killer SIGKILLs its worker
    with RunStore(tmp_path / "runs.db") as store:
        reports = runner.run_sweep(runs, store, workers=2, progress=False)
        stored = store.runs().set_index("scenario")
    expected = expected_objectives([s for s in runs if s.name != run_hooks.KILLER])
    by_name = {r.record.scenario: r.record for r in reports}
    assert sorted(stored.index) == sorted(names)
    for name, objective in expected.items():
        assert by_name[name].status == "optimal", by_name[name].error
        assert by_name[name].objective == pytest.approx(objective, rel=1e-9)
        assert stored.loc[name, "status"] == "optimal" and pd.isna(stored.loc[name, "error"])
    killed = by_name[run_hooks.KILLER]
    assert killed.status == "error"
    assert killed.error == "worker process died (signal 9, SIGKILL) while solving this scenario"
    assert stored.loc[run_hooks.KILLER, "status"] == "error"


SWEEP = """\
name: twice
base: tiny
runs:
  - {name: demand+20%, demand: {scale: 1.2}}
  - {name: rents+50%, sites: {scale: {fixed_cost: 1.5}}}
  - {name: same-as-demand+20%, demand: {scale: 1.2}}
generate:
  - p_range: {from: 1, to: 3}
"""


def test_the_same_sweep_twice_at_once_stores_each_run_once(tmp_path: Path):
    shutil.copytree(TINY, tmp_path / "tiny")
    sweep = tmp_path / "twice.yaml"
    sweep.write_text(SWEEP)
    store = tmp_path / "runs.db"
    gate = tmp_path / "gate"
    gate.mkdir()
    arguments = [str(sweep), "--workers", "1", "--store", str(store), "--json"]
    sweeps = [subprocess.Popen([sys.executable, str(HOOKS), "gate", str(gate), "--", *arguments],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + 120
    while len(list(gate.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    (gate / "go").touch()  # both start together
    outputs = [proc.communicate(timeout=300) for proc in sweeps]
    for proc, (_, err) in zip(sweeps, outputs):
        assert proc.returncode == 0, err
    names = ["base", "demand+20%", "rents+50%", "same-as-demand+20%", "p=1", "p=2", "p=3"]
    streams = [{row["scenario"]: row for row in map(json.loads, out.splitlines())} for out, _ in outputs]
    for stream in streams:
        assert sorted(stream) == sorted(names)
    with RunStore(store) as opened:
        runs = opened.runs(latest_only=False)
        assert sorted(runs["scenario"]) == sorted(names)  # one stored run per scenario, not two
        assert opened.claims().empty
    first, second = streams
    assert {n: r["run_id"] for n, r in first.items()} == {n: r["run_id"] for n, r in second.items()}
    # no run was solved by both sweeps: each reused what the other solved
    assert not [n for n in names if not first[n]["cached"] and not second[n]["cached"]]
    assert first["same-as-demand+20%"]["cached"] and second["same-as-demand+20%"]["cached"]




def dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims_are_exclusive_and_expire_with_their_sweep(url: str):
    alive, other = Claimant("alive"), Claimant("other")
    with RunStore(url) as store:
        assert store.claim("h1", "s", "x", alive)
        assert store.claim("h1", "s", "x", alive)  # held already
        assert not store.claim("h1", "s", "x", other)  # a live sweep holds it
        store.release(alive, ["h1"])
        assert store.claim("h1", "s", "x", other)

        dead = Claimant("dead", pid=dead_pid())
        assert store.claim("h2", "s", "y", dead)
        assert store.claim("h2", "s", "y", alive)  # its process is gone: taken over
        elsewhere = Claimant("elsewhere", pid=1, host="another-host")
        assert store.claim("h3", "s", "z", elsewhere)
        assert not store.claim("h3", "s", "z", alive)  # cannot see that host's processes: wait
        engine = sa.create_engine(store_url(url))
        with engine.begin() as conn:  # its heartbeat stopped long ago
            conn.execute(sa.text("UPDATE claims SET heartbeat_at = :t WHERE owner = 'elsewhere'"),
                         {"t": datetime.now(timezone.utc) - timedelta(hours=1)})
        engine.dispose()
        assert store.claim("h3", "s", "z", alive)
        claims = store.claims().set_index("inputs_hash")
        assert dict(claims["owner"]) == {"h1": "other", "h2": "alive", "h3": "alive"}


def test_a_claim_left_by_a_killed_sweep_does_not_block(tmp_path: Path):
    runs = scenarios(["a", "b"])
    with RunStore(tmp_path / "runs.db") as store:
        digest = input_hash(runs[0], build_network(runs[0]), runner.SOLVER_OPTIONS)
        key = cache.run_key(digest, {**cache.software_versions(), "optimizer": cache.software_version()})
        assert store.claim(key, "s", "a", Claimant("killed", pid=dead_pid()))
        reports = runner.run_sweep(runs, store, workers=1, progress=False)
        assert [r.record.status for r in reports] == ["optimal", "optimal"] and not reports[0].cached
        assert store.claims().empty


class _DiesWhenUnpickled:
    """Stands in for a network: unpickling it (in a worker, before the solve starts) ends the process."""

    def __reduce__(self):
        return (os._exit, (3,))


def test_workers_that_die_while_starting_stop_the_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(runner, "build_network", lambda scenario: _DiesWhenUnpickled())
    monkeypatch.setattr(runner, "input_hash", lambda scenario, network, options: "f" * 64)
    with RunStore(tmp_path / "runs.db") as store:
        with pytest.raises(runner.RunnerError, match=r"die while starting \(exit code 3\).*__main__"):
            runner.run_sweep(scenarios(["a"]), store, workers=1, progress=False)
        assert store.claims().empty and store.count() == (0, 0)
