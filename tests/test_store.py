"""The run store on SQLite and on a real PostgreSQL server: round trips, atomic saves, concurrent writers."""

from __future__ import annotations

import hashlib
import math
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest

import optimizer.runs.store as store_module
from optimizer.errors import InputError
from optimizer.runs.store import RUN_COLUMNS, RunRecord, RunStore, StoreError, store_url




def record(scenario: str, n_flows: int = 3, sweep: str = "s", objective: float | None = 100.0,
           inputs_hash: str | None = None, status: str = "optimal") -> RunRecord:
    flows = [{"from": f"site{i % 4}", "to": f"r{i}", "product": "p1", "quantity": 1.5 * i} for i in range(n_flows)]
    return RunRecord(
        sweep=sweep, scenario=scenario,
        inputs_hash=inputs_hash or hashlib.sha256(scenario.encode()).hexdigest(),
        definition={"name": scenario, "base": "/data/demo", "overrides": {"demand": {"scale": 1.2}}, "sweep": sweep},
        status=status, objective=objective, bound=objective, gap=0.0 if objective is not None else None,
        costs={"shipping": 60.0, "fixed": 40.0} if objective is not None else {},
        open_sites=["site0", "site2"] if objective is not None else [], flows=flows,
        kpis={"share_within_1_day": 0.9}, build_seconds=0.01, solve_seconds=0.5, software_version="0.1.0",
    )


def test_save_get_runs_round_trip(url: str):
    with RunStore(url) as store:
        first = record("a", n_flows=5)
        first.flows[0]["leg"] = "outbound"  # an extra flow field survives the round trip
        run_a = store.save(first)
        assert first.run_id == run_a and first.created_at is not None
        failed = record("bad", n_flows=0, objective=None, status="error")
        failed.error = "sites.csv: unknown site 'X'"
        store.save(failed)
        again = record("a", n_flows=2)
        again.objective = 90.0
        run_a2 = store.save(again)
        assert run_a2 > run_a

        got = store.get(first.inputs_hash)  # the latest run with that hash
        assert got is not None and got.run_id == run_a2 and got.objective == 90.0 and len(got.flows) == 2
        assert got.created_at.tzinfo is not None
        assert got.created_at.utcoffset() == timedelta(0)
        old = store.get_run(run_a)
        assert old.flows[0] == {"from": "site0", "to": "r0", "product": "p1", "quantity": 0.0, "leg": "outbound"}
        assert [f["quantity"] for f in old.flows] == [0.0, 1.5, 3.0, 4.5, 6.0]
        assert old.definition == first.definition and old.costs == first.costs and old.kpis == first.kpis
        assert old.open_sites == ["site0", "site2"] and old.software_version == "0.1.0"
        assert store.get("0" * 64) is None

        latest = store.runs()
        assert list(latest.columns) == list(RUN_COLUMNS)
        assert list(latest["scenario"]) == ["bad", "a"] and list(latest["objective"].fillna(-1)) == [-1, 90.0]
        assert latest.set_index("scenario").loc["bad", "error"] == "sites.csv: unknown site 'X'"
        assert len(store.runs(latest_only=False)) == 3
        assert list(store.runs(scenarios=["a"], latest_only=False)["run_id"]) == [run_a, run_a2]
        assert store.runs(sweep="other").empty
        assert list(store.flows(run_a2).columns) == ["from", "to", "product", "quantity"]
        with pytest.raises(InputError, match="no run with id 999"):
            store.get_run(999)
        assert store.count() == (3, 7)


def test_non_finite_numbers_are_stored_as_missing(url: str):
    with RunStore(url) as store:
        rec = record("nan")
        rec.gap, rec.bound = math.nan, -math.inf
        rec.costs = {"shipping": math.inf, "fixed": 1.0}
        got = store.get_run(store.save(rec))
    assert got.gap is None and got.bound is None and got.costs == {"shipping": None, "fixed": 1.0}


def test_failed_flow_insert_leaves_no_half_run(url: str):
    with RunStore(url) as store:
        store.save(record("kept"))
        broken = record("broken", n_flows=50)
        broken.flows[-1]["product"] = None  # the last flow row violates NOT NULL: the insert fails part-way
        with pytest.raises(StoreError, match="could not store run 'broken'"):
            store.save(broken)
        assert broken.run_id is None
        assert store.count() == (1, 3)
        assert list(store.runs(latest_only=False)["scenario"]) == ["kept"]


def test_crash_between_run_row_and_flows_leaves_no_half_run(url: str, monkeypatch: pytest.MonkeyPatch):
    def exploding_rows(run_id, flows):
        yield {"run_id": run_id, "from": "site0", "to": "r0", "product": "p1", "quantity": 1.0, "extra": None}
        raise RuntimeError("process died while writing flows")

    with RunStore(url) as store:
        monkeypatch.setattr(store_module, "_flow_rows", exploding_rows)
        with pytest.raises(RuntimeError, match="process died"):
            store.save(record("half", n_flows=10))
        monkeypatch.undo()
        assert store.count() == (0, 0)
        store.save(record("whole", n_flows=10))  # the store still works afterwards
        assert store.count() == (1, 10)


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_store import record
    from optimizer.runs.store import RunStore
    url, tag, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    store = RunStore(url)  # both may create the tables at once
    (gate / tag).touch()  # ready
    while not (gate / "go").exists():  # start writing together, so that the writes overlap
        time.sleep(0.005)
    for i in range(20):
        store.save(record(f"{{tag}}-{{i:02d}}", n_flows=200, sweep=tag))
    """
)


def test_two_concurrent_writers_lose_nothing(url: str, tmp_path: Path):
    code = WRITER.format(tests=str(Path(__file__).parent))
    gate = tmp_path / "gate"
    gate.mkdir()
    writers = [subprocess.Popen([sys.executable, "-c", code, url, tag, str(gate)], stderr=subprocess.PIPE, text=True)
               for tag in ("left", "right")]
    deadline = time.monotonic() + 60
    while not all((gate / t).exists() for t in ("left", "right")) and time.monotonic() < deadline:
        time.sleep(0.01)
    (gate / "go").touch()
    for proc in writers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with RunStore(url) as store:
        runs = store.runs(latest_only=False)
        assert len(runs) == 40
        assert sorted(runs["scenario"]) == sorted(f"{t}-{i:02d}" for t in ("left", "right") for i in range(20))
        assert store.count() == (40, 40 * 200)
        assert all(len(store.get_run(int(r)).flows) == 200 for r in runs["run_id"])


def test_refuses_a_file_that_is_not_a_store(tmp_path: Path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database, keep me\n" * 50)
    with pytest.raises(InputError, match="notes.txt.*cannot open the run store"):
        RunStore(text_file)
    assert text_file.read_text().startswith("not a database, keep me")

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (id TEXT)")
    with pytest.raises(InputError, match="other.db.*not a run store.*customers"):
        RunStore(other)
    with sqlite3.connect(other) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["customers"]


def test_schema_version_is_recorded_and_checked(tmp_path: Path):
    path = tmp_path / "runs.db"
    RunStore(path).close()
    with sqlite3.connect(path) as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        assert meta["schema_version"] == str(store_module.SCHEMA_VERSION)
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(InputError, match="schema version 99"):
        RunStore(path)


def test_unopenable_stores_are_clear_errors(tmp_path: Path):
    with pytest.raises(InputError, match=r"postgresql\+psycopg://someone:\*\*\*@127.0.0.1:1/x.*cannot open"):
        RunStore("postgresql://someone:secret@127.0.0.1:1/x")
    with pytest.raises(InputError, match="nosuchdriver://x.*cannot open"):
        RunStore("nosuchdriver://x")
    with pytest.raises(InputError, match="does not exist"):
        RunStore(tmp_path / "missing-folder" / "runs.db")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(InputError, match="a-file is a file, not a folder"):
        RunStore(tmp_path / "a-file" / "runs.db")


def test_store_urls():
    assert store_url("runs.db").drivername == "sqlite"
    assert Path(store_url("runs.db").database).is_absolute()
    assert store_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert store_url("sqlite:///x.db").database == "x.db"
