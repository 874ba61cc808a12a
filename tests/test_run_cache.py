"""The run cache: keyed on the software versions, honest software_version, runs cut short by a limit
solved again (unless --reuse-limited), and stores of the previous schema migrated or refused."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from importlib import metadata
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import optimizer
import optimizer.runs.runner as runner
from optimizer.cli.run import run
from optimizer.errors import InputError
from optimizer.runs import cache
from optimizer.runs.scenario import package_source_hash
from optimizer.runs.store import SCHEMA_VERSION, RunStore, store_url

TINY = Path(__file__).parent / "data" / "tiny"


def test_software_versions_are_the_installed_ones():
    versions = cache.software_versions()
    assert set(versions) == {"highspy", "ortools", "pulp", "cbc", "numpy", "scipy", "pandas", "networkx", "pyproj"}
    for key, dist in cache.VERSIONED_PACKAGES.items():
        assert versions[key] == metadata.version(dist)
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", versions["cbc"]), versions["cbc"]  # the binary's version line


def test_every_version_is_part_of_the_key():
    versions = cache.software_versions()
    key = cache.run_key("0" * 64, versions)
    assert key == cache.run_key("0" * 64, dict(reversed(list(versions.items()))))  # order does not matter
    for name in versions:
        assert cache.run_key("0" * 64, {**versions, name: "0.0.0-other"}) != key, name
    assert cache.run_key("1" * 64, versions) != key


def test_software_version_is_the_installed_version_and_source_hash():
    try:
        release = metadata.version("warehouse-optimizer")
    except metadata.PackageNotFoundError:
        release = optimizer.__version__
    assert cache.software_version() == f"{release}+src.{package_source_hash()[:12]}"


SWEEP = """\
name: limits
base: tiny
overrides: {solver: {time_limit: 60, mip_gap: 0.01}}
runs:
  - {name: time-limited, demand: {scale: 1.1}}
  - {name: gap-limited, demand: {scale: 1.2}}
  - {name: interrupted, demand: {scale: 1.3}}
  - {name: unknown-feasible, demand: {scale: 1.4}}
  - {name: unknown-within-gap, demand: {scale: 1.5}}
"""
#: How each run is marked after the first sweep: (status, termination, gap).
MARKS = {
    "time-limited": ("feasible", "time_limit", 0.05),
    "gap-limited": ("feasible", "gap_limit", 0.008),
    "interrupted": ("feasible", "interrupted", 0.2),
    "unknown-feasible": ("feasible", None, 0.05),  # no termination recorded, a time limit set, gap above mip_gap
    "unknown-within-gap": ("feasible", None, 0.005),  # no termination recorded, within its own mip_gap
}
RESOLVED = {"time-limited", "interrupted", "unknown-feasible"}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.db")
    pg = request.getfixturevalue("postgres_url")
    _drop_all(pg)
    return pg


def _drop_all(url: str) -> None:
    engine = sa.create_engine(store_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS run_flows, runs, meta, claims")
    engine.dispose()


def invoke(*args: object):
    return CliRunner().invoke(run, [str(a) for a in args], catch_exceptions=False)


def streamed(result) -> dict[str, dict]:
    return {row["scenario"]: row for row in map(json.loads, result.stdout.splitlines())}


def mark(url: str, names: dict[str, tuple[str, str | None, float]]) -> None:
    """Set status, termination and gap of the latest run of each named scenario (as a limited solve leaves them)."""
    engine = sa.create_engine(store_url(url))
    with engine.begin() as conn:
        for name, (status, termination, gap) in names.items():
            latest = conn.execute(sa.text("SELECT max(run_id) FROM runs WHERE scenario = :n"), {"n": name}).scalar()
            conn.execute(sa.text("UPDATE runs SET status = :s, termination = :t, gap = :g WHERE run_id = :r"),
                         {"s": status, "t": termination, "g": gap, "r": latest})
    engine.dispose()


def test_limited_runs_are_solved_again_unless_reuse_limited(tmp_path: Path, store_location: str):
    shutil.copytree(TINY, tmp_path / "tiny")
    sweep = tmp_path / "limits.yaml"
    sweep.write_text(SWEEP)
    first = invoke(sweep, "--workers", 1, "--store", store_location, "--json")
    assert first.exit_code == 0, first.output
    rows = streamed(first)
    assert all(row["status"] == "optimal" and not row["cached"] for row in rows.values())
    assert {row["software_version"] for row in rows.values()} == {cache.software_version()}
    with RunStore(store_location) as store:
        stored = store.get_run(rows["base"]["run_id"])
        assert stored.versions == cache.software_versions()

    mark(store_location, MARKS)
    again = streamed(invoke(sweep, "--workers", 1, "--store", store_location, "--json"))
    assert {name for name, row in again.items() if not row["cached"]} == RESOLVED
    for name in RESOLVED:  # solved again: a new run
        assert again[name]["run_id"] != rows[name]["run_id"] and again[name]["status"] == "optimal"
    for name in set(MARKS) - RESOLVED:  # final: the stored run as it was
        assert again[name]["run_id"] == rows[name]["run_id"] and again[name]["status"] == "feasible"
        assert again[name]["termination"] == MARKS[name][1]

    mark(store_location, {name: MARKS[name] for name in RESOLVED})
    kept = streamed(invoke(sweep, "--workers", 1, "--store", store_location, "--json", "--reuse-limited"))
    assert all(row["cached"] for row in kept.values())
    assert kept["time-limited"]["termination"] == "time_limit" and kept["time-limited"]["status"] == "feasible"
    assert kept["time-limited"]["run_id"] == again["time-limited"]["run_id"]


def test_a_version_change_solves_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shutil.copytree(TINY, tmp_path / "tiny")
    sweep = tmp_path / "limits.yaml"
    sweep.write_text("name: v\nbase: tiny\n")
    store = tmp_path / "runs.db"
    assert not streamed(invoke(sweep, "--workers", 1, "--store", store, "--json"))["base"]["cached"]
    assert streamed(invoke(sweep, "--workers", 1, "--store", store, "--json"))["base"]["cached"]
    upgraded = {**cache.software_versions(), "highspy": "99.0.0"}
    monkeypatch.setattr(runner.cache, "software_versions", lambda: upgraded)
    assert not streamed(invoke(sweep, "--workers", 1, "--store", store, "--json"))["base"]["cached"]


#: The run store's tables as the previous release (schema version 1) created them.
V1_DDL = {
    "sqlite": [
        'CREATE TABLE meta ("key" VARCHAR(64) NOT NULL, value TEXT NOT NULL, PRIMARY KEY ("key"))',
        "CREATE TABLE runs (run_id INTEGER NOT NULL, sweep TEXT NOT NULL, scenario TEXT NOT NULL, "
        "inputs_hash VARCHAR(128) NOT NULL, definition JSON NOT NULL, status VARCHAR(32) NOT NULL, objective FLOAT, "
        "bound FLOAT, gap FLOAT, costs JSON NOT NULL, open_sites JSON NOT NULL, kpis JSON NOT NULL, "
        "build_seconds FLOAT NOT NULL, solve_seconds FLOAT NOT NULL, software_version VARCHAR(64) NOT NULL, "
        "error TEXT, created_at DATETIME NOT NULL, PRIMARY KEY (run_id))",
        "CREATE INDEX ix_runs_inputs_hash ON runs (inputs_hash)",
        "CREATE INDEX ix_runs_sweep_scenario ON runs (sweep, scenario)",
        'CREATE TABLE run_flows (run_id INTEGER NOT NULL, "from" TEXT NOT NULL, "to" TEXT NOT NULL, '
        "product TEXT NOT NULL, quantity FLOAT NOT NULL, extra JSON, "
        "FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE)",
        "CREATE INDEX ix_run_flows_run_id ON run_flows (run_id)",
    ],
    "postgresql": [
        "CREATE TABLE meta (key VARCHAR(64) NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key))",
        "CREATE TABLE runs (run_id SERIAL NOT NULL, sweep TEXT NOT NULL, scenario TEXT NOT NULL, "
        "inputs_hash VARCHAR(128) NOT NULL, definition JSON NOT NULL, status VARCHAR(32) NOT NULL, objective FLOAT, "
        "bound FLOAT, gap FLOAT, costs JSON NOT NULL, open_sites JSON NOT NULL, kpis JSON NOT NULL, "
        "build_seconds FLOAT NOT NULL, solve_seconds FLOAT NOT NULL, software_version VARCHAR(64) NOT NULL, "
        "error TEXT, created_at TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (run_id))",
        "CREATE INDEX ix_runs_inputs_hash ON runs (inputs_hash)",
        "CREATE INDEX ix_runs_sweep_scenario ON runs (sweep, scenario)",
        'CREATE TABLE run_flows (run_id INTEGER NOT NULL, "from" TEXT NOT NULL, "to" TEXT NOT NULL, '
        "product TEXT NOT NULL, quantity FLOAT NOT NULL, extra JSON, "
        "FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE)",
        "CREATE INDEX ix_run_flows_run_id ON run_flows (run_id)",
    ],
}
V1_ROWS = [
    "INSERT INTO meta (key, value) VALUES ('schema_version', '1'), "
    "('application', 'warehouse-optimizer run store')",
    "INSERT INTO runs (sweep, scenario, inputs_hash, definition, status, objective, bound, gap, costs, open_sites, "
    "kpis, build_seconds, solve_seconds, software_version, error, created_at) VALUES ('old', 'base', '"
    + "a" * 64 + "', '{\"name\": \"base\"}', 'optimal', 100.0, 100.0, 0.0, '{\"fixed\": 100.0}', '[\"AMS\"]', "
    "'{}', 0.1, 0.2, '0.1.0', NULL, '2026-01-01 00:00:00')",
    "INSERT INTO run_flows (run_id, \"from\", \"to\", product, quantity, extra) VALUES (1, 'AMS', 'R-AMS', 'p', 120.0, NULL)",
]


def _old_store(location: str) -> str:
    """A store as the previous release wrote it, with one run."""
    engine = sa.create_engine(store_url(location))
    with engine.begin() as conn:
        for statement in V1_DDL[engine.dialect.name] + V1_ROWS:
            conn.exec_driver_sql(statement)
    engine.dispose()
    return location


def test_a_version_1_store_is_migrated_and_its_runs_stay_readable(tmp_path: Path, store_location: str):
    location = _old_store(store_location)
    with RunStore(location) as store:
        old = store.get_run(1)
        assert (old.scenario, old.objective, old.software_version) == ("base", 100.0, "0.1.0")
        assert old.termination is None and old.versions == {}
        assert old.flows == [{"from": "AMS", "to": "R-AMS", "product": "p", "quantity": 120.0}]
        assert store.claims().empty
    with RunStore(location) as store:  # opened again: nothing left to migrate
        assert len(store.runs()) == 1
    engine = sa.create_engine(store_url(location))
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
    engine.dispose()
    assert version == str(SCHEMA_VERSION) == "2"
    assert {"termination", "versions"} <= columns

    shutil.copytree(TINY, tmp_path / "tiny")  # and a sweep adds its runs beside the old one
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: new\nbase: tiny\n")
    assert invoke(sweep, "--workers", 1, "--store", location).exit_code == 0
    with RunStore(location) as store:
        assert sorted(store.runs()["sweep"]) == ["new", "old"]


def test_a_store_from_a_newer_optimizer_is_refused(tmp_path: Path):
    path = tmp_path / "runs.db"
    RunStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(InputError) as info:
        RunStore(path)
    message = str(info.value)
    assert str(path) in message and "schema version 3" in message and "newer optimizer" in message
