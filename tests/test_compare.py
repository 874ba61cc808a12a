"""``optimizer compare``: the table against hand-made runs in a SQLite store, the files, the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from click.testing import CliRunner

from optimizer.cli.compare import compare
from optimizer.runs.compare import CLOSED, CLOSED_VS_BASE, OPEN, OPENED, COMPARE_FILES, compare_runs, select_runs, \
    write_comparison
from optimizer.errors import InputError
from optimizer.reports import OUTPUT_MARKER
from optimizer.runs.store import RunRecord, RunStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def record(scenario: str, objective: float | None, costs: dict[str, float], open_sites: list[str],
           sweep: str = "s", status: str = "optimal", kpis: dict[str, float] | None = None,
           error: str | None = None) -> RunRecord:
    return RunRecord(sweep=sweep, scenario=scenario, inputs_hash=f"{sweep}/{scenario}/{objective}",
                     definition={"name": scenario, "sweep": sweep}, status=status, objective=objective,
                     bound=objective, gap=0.0 if objective is not None else None, costs=costs,
                     open_sites=open_sites, flows=[{"from": "A", "to": "r", "product": "p", "quantity": 1.0}],
                     kpis=kpis or {}, build_seconds=0.1, solve_seconds=0.5, software_version="0.1.0", error=error)


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    with RunStore(path) as s:
        s.save(record("rents-up", 9999.0, {"shipping": 9999.0, "fixed": 0.0}, ["A"]))  # superseded below
        s.save(record("base", 1000.0, {"shipping": 400.0, "fixed": 600.0}, ["A", "B"], kpis={"km": 100.0}))
        s.save(record("rents-up", 1100.0, {"shipping": 400.0, "fixed": 700.0}, ["A", "B"], kpis={"km": 100.0}))
        s.save(record("close=B", 1300.0, {"shipping": 500.0, "fixed": 800.0}, ["A", "C"], kpis={"km": 150.0}))
        s.save(record("short", None, {}, [], status="infeasible", error="capacity short by 5"))
        s.save(record("demand=high,rents=up", 2000.0, {"shipping": 900.0, "fixed": 800.0, "closing": 300.0},
                      ["C"], kpis={"km": 80.0}))
        s.save(record("base", 5.0, {"shipping": 5.0}, ["Z"], sweep="other"))
    return path


def runs_of(path: Path, sweep: str | None = "s"):
    with RunStore(path) as s:
        return s.runs(sweep=sweep)


def test_table_numbers_against_hand_made_runs(store):
    comparison = compare_runs(runs_of(store))
    t = comparison.table.set_index("run")
    assert comparison.base == "base" and list(t.index)[0] == "base"
    assert list(t.index) == ["base", "rents-up", "close=B", "short", "demand=high,rents=up"]
    assert comparison.components == ["shipping", "fixed", "closing"]
    assert t.at["rents-up", "objective"] == 1100  # the latest run of rents-up, not the superseded one
    assert t.at["close=B", "objective_diff"] == 300 and t.at["close=B", "objective_diff_pct"] == pytest.approx(30)
    assert t.at["close=B", "cost_fixed_diff"] == 200
    assert t.at["close=B", "cost_fixed_diff_pct"] == pytest.approx(100 * 200 / 600)
    assert t.at["close=B", "cost_shipping_diff_pct"] == pytest.approx(25)
    assert (t.at["close=B", "opened"], t.at["close=B", "closed"]) == ("C", "B")
    assert t.at["demand=high,rents=up", "cost_closing"] == 300 and t.at["base", "cost_closing"] == 0
    assert math.isnan(t.at["demand=high,rents=up", "cost_closing_diff_pct"])  # base value 0: no percentage
    assert (t.at["demand=high,rents=up", "opened"], t.at["demand=high,rents=up", "closed"]) == ("C", "A B")
    assert t.at["demand=high,rents=up", "open_sites_diff"] == -1
    assert t.at["close=B", "kpi_km_diff"] == 50 and t.at["close=B", "kpi_km_diff_pct"] == pytest.approx(50)
    assert t.at["short", "status"] == "infeasible" and math.isnan(t.at["short", "objective_diff"])
    assert t.at["short", "error"] == "capacity short by 5"
    m = comparison.open_matrix
    assert list(m.columns) == ["A", "B", "C"]
    assert m.loc["close=B"].tolist() == [OPEN, CLOSED_VS_BASE, OPENED]
    assert m.loc["demand=high,rents=up"].tolist() == [CLOSED_VS_BASE, CLOSED_VS_BASE, OPENED]
    assert m.loc["short"].isna().all() and m.loc["base"].tolist() == [OPEN, OPEN, CLOSED]


def test_other_base_and_several_sweeps(store):
    t = compare_runs(runs_of(store), base="rents-up").table.set_index("run")
    assert t.index[0] == "rents-up" and t.at["base", "objective_diff"] == -100
    both = compare_runs(runs_of(store, sweep=None))
    assert both.base == "s/base" and "other/base" in set(both.table["run"])


def test_select_runs_with_commas_in_names(store):
    runs = runs_of(store)
    chosen = select_runs(runs, ["demand=high,rents=up,base", "close=B"])
    assert list(chosen["scenario"]) == ["demand=high,rents=up", "base", "close=B"]
    numbered = runs.assign(scenario=["p=10", "p=9", "x", "p=100", "a"])
    assert list(select_runs(numbered, [])["scenario"]) == ["a", "p=9", "p=10", "p=100", "x"]
    with pytest.raises(InputError, match="no stored run named 'nope'"):
        select_runs(runs, ["base,nope"])
    with pytest.raises(InputError, match="no compared run named 'x'"):
        compare_runs(runs, base="x")


def test_written_files(store, tmp_path):
    out = tmp_path / "out"
    written = write_comparison(compare_runs(runs_of(store)), out)
    assert [p.name for p in written] == list(COMPARE_FILES) and (out / OUTPUT_MARKER).exists()
    for name in ("cost_breakdown.png", "open_sites.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        height, width = plt.imread(out / name).shape[:2]
        assert height > 100 and width > 100
    doc = json.loads((out / "compare.json").read_text())
    assert doc["base"] == "base" and [r["run"] for r in doc["runs"]][:2] == ["base", "rents-up"]
    close = doc["runs"][2]
    assert close["opened"] == ["C"] and close["closed"] == ["B"] and close["objective_diff"] == 300
    assert doc["runs"][3]["objective"] is None
    page = (out / "compare.html").read_text()
    assert page.count("data:image/png;base64,") >= 2 and "http" not in page.replace("http-equiv", "")
    assert "close=B" in page and "<table" in page
    csv = (out / "compare.csv").read_text().splitlines()
    assert len(csv) == 6 and csv[0].startswith("run,sweep,scenario,status,objective,objective_diff")
    write_comparison(compare_runs(runs_of(store)), out)  # our own folder: may overwrite


def test_refuses_to_overwrite_foreign_files(store, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "compare.csv").write_text("precious\n")
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_comparison(compare_runs(runs_of(store)), out)
    assert (out / "compare.csv").read_text() == "precious\n"


def invoke(*args: str):
    return CliRunner().invoke(compare, [str(a) for a in args])


def test_cli_json_and_text(store, tmp_path):
    result = invoke(store, "--sweep", "s", "--runs", "base,close=B", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [r["run"] for r in doc["runs"]] == ["base", "close=B"] and doc["runs"][1]["objective_diff_pct"] == 30
    result = invoke(store, "--sweep", "s", "--json")
    assert [r["run"] for r in json.loads(result.stdout)["runs"]] == [
        "base", "close=B", "demand=high,rents=up", "rents-up", "short"]  # base, then by name
    result = invoke(store, "--sweep", "s", "--out", tmp_path / "cmp")
    assert result.exit_code == 0
    assert "Base run: base" in result.stdout and "close=B" in result.stdout and "+30.00%" in result.stdout
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == sorted(COMPARE_FILES + (OUTPUT_MARKER,))


def test_cli_errors(store, tmp_path):
    result = invoke(tmp_path / "missing.db", "--json")
    assert result.exit_code == 1 and "run store not found" in result.stderr
    assert json.loads(result.stdout)["status"] == "input_error"
    assert not (tmp_path / "missing.db").exists()
    result = invoke(store, "--sweep", "nope")
    assert result.exit_code == 1 and "holds no runs of sweep 'nope'" in result.stderr
    result = invoke(store, "--sweep", "s", "--base", "zzz")
    assert result.exit_code == 1 and "no compared run named 'zzz'" in result.stderr


@pytest.mark.parametrize("column", ["costs", "definition", "open_sites", "kpis"])
def test_a_corrupted_stored_json_names_the_run_and_store(store, column):
    """Issue 10, defect 17: one corrupted byte in a stored JSON value gave a traceback."""
    import sqlite3

    with sqlite3.connect(store) as con:
        (run_id, text), = con.execute(f"SELECT run_id, {column} FROM runs WHERE scenario = 'close=B'").fetchall()
        con.execute(f"UPDATE runs SET {column} = ? WHERE run_id = ?", (text[:-1] + "#", run_id))
    res = CliRunner().invoke(compare, [str(store), "--sweep", "s", "--json"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "input_error"
    (problem,) = doc["problems"]
    assert problem["file"] == str(store) and f"run {run_id} (s / close=B)" in problem["message"]
    assert "corrupted" in problem["message"]


def test_each_run_is_annualised_with_its_own_stored_period(tmp_path):
    # Runs solved weekly and fortnightly: per year each uses its own period length, as stored with the run (it once
    # used the first run's dataset, read from disk at compare time, for all of them).
    from optimizer.runs.compare import units_of

    path = tmp_path / "periods.db"
    with RunStore(path) as s:
        for name, days in (("base", 7.0), ("fortnight", 14.0)):
            rec = record(name, 1400.0, {"fixed": 1400.0}, ["A"])
            rec.definition = {**rec.definition, "units": {"currency": "EUR", "period_days": days}}
            s.save(rec)
    runs = runs_of(path)
    table = compare_runs(runs, units=units_of(runs, annual=True)).table.set_index("run")
    assert table.at["base", "objective"] == pytest.approx(1400 * 365 / 7)
    assert table.at["fortnight", "objective"] == pytest.approx(1400 * 365 / 14)
    with pytest.raises(InputError, match="different period lengths"):
        units_of(runs)


def test_a_sweep_stores_each_run_s_currency_and_period(tmp_path):
    import shutil

    from optimizer.runs.runner import run_sweep
    from optimizer.runs.sweep import load_sweep

    data = tmp_path / "tiny"
    shutil.copytree(Path(__file__).parent / "data" / "tiny", data)
    (tmp_path / "s.yaml").write_text("name: s\nbase: tiny\nruns: [{name: fortnight, settings: {period_days: 14}}]\n")
    with RunStore(tmp_path / "s.db") as s:
        run_sweep(load_sweep(tmp_path / "s.yaml")[1], s, workers=1, progress=False)
        runs = s.runs(sweep="s")
    assert {name: d["units"]["period_days"] for name, d in zip(runs["scenario"], runs["definition"])} == \
        {"base": 7.0, "fortnight": 14.0}


def test_compare_only_reads_the_store(store, tmp_path):
    # compare turned an empty file into a 40 KB run store (then said it held no runs), and could not read a store
    # it was not allowed to write: it created the tables and switched the file to WAL on opening.
    empty = tmp_path / "notes.db"
    empty.write_bytes(b"")
    result = invoke(empty, "--json")
    assert result.exit_code == 1 and "holds no runs" in result.stderr
    assert empty.read_bytes() == b""
    other = tmp_path / "other.db"
    import sqlite3
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text)")
    before = other.read_bytes()
    assert invoke(other, "--json").exit_code == 1
    assert other.read_bytes() == before and not Path(f"{other}-wal").exists()
    with RunStore(store, read_only=True) as s:
        assert len(s.runs(sweep="s")) > 0
