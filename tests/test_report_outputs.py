"""``solve --out`` writes the decision report: report.html, map.html, result.xlsx and the new tables; pages are
self-contained (no external URL is loaded); a dataset folder can take output twice; the audit trail."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer import outputs
from optimizer.cli import main
from optimizer.reports import OUTPUT_MARKER

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def tiny_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "out"
    res = run("solve", TINY, "--out", out)
    assert res.exit_code == 0, res.output
    return out


def test_out_writes_the_report_files(tiny_out):
    for name in ("report.html", "map.html", "map.png", "result.xlsx", "plan_site_pnl.csv", "plan_lanes.csv",
                 "plan_assignments.csv"):
        assert (tiny_out / name).is_file(), name
    for table in (outputs.SITE_PNL, outputs.LANES, outputs.ASSIGNMENTS):
        with open(tiny_out / table.file, newline="") as handle:
            assert tuple(next(csv.reader(handle))) == table.names, table.file


def test_pages_load_nothing_from_the_network(tiny_out):
    for name in ("report.html", "map.html"):
        text = (tiny_out / name).read_text(encoding="utf-8")
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?:", text), name
        assert "L.map(" in text and "markerClusterGroup" in text  # Leaflet and the clusters are inlined
        assert "@media print" in text


def test_pnl_readds_to_the_objective_in_the_files(tiny_out):
    doc = json.loads((tiny_out / "result.json").read_text())
    with open(tiny_out / "plan_site_pnl.csv", newline="") as handle:
        total = sum(float(row["total"]) for row in csv.DictReader(handle))
    assert total == pytest.approx(doc["objective"], rel=1e-9)


def test_workbook_has_one_sheet_per_table_with_units(tiny_out):
    from openpyxl import load_workbook

    book = load_workbook(tiny_out / "result.xlsx")
    assert {"summary", "costs", "site_pnl", "lanes", "assignments", "routes", "stock", "sites"} <= set(book.sheetnames)
    headers = [c.value for c in book["site_pnl"][1]]
    assert "total (currency per week)" in headers and "units_served (units per week)" in headers
    assert "km (km)" in [c.value for c in book["lanes"][1]]
    assert book["site_pnl"].tables and book["lanes"].tables  # Excel tables
    summary = {r[0].value: r[1].value for r in book["summary"].iter_rows(min_row=2)}
    assert summary["status"] == "optimal" and summary["software_version"]


def test_a_name_like_a_formula_is_text_in_the_workbook(tmp_path):
    # openpyxl stores any string starting with '=' as a formula: a site named =cmd|' /C calc'!A0 became a live
    # (DDE) formula in four sheets.
    import zipfile

    from openpyxl import load_workbook

    data = tmp_path / "tiny"
    shutil.copytree(TINY, data)
    name = "=cmd|' /C calc'!A0"
    (data / "sites.csv").write_text((data / "sites.csv").read_text().replace("Brussels", f'"{name}"'))
    res = run("solve", data, "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    book = load_workbook(tmp_path / "out" / "result.xlsx")
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value in (name, f"'{name}")]
    assert cells and all(c.data_type == "s" for c in cells)
    with zipfile.ZipFile(tmp_path / "out" / "result.xlsx") as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in sheet for sheet in sheets)


def test_an_out_folder_never_mixes_two_runs(tmp_path):
    # A run without a plan into the folder of a run with one left the earlier report, maps, workbook and tables
    # beside the new result.json; its CSVs lacked their headers and plan_costs.csv said total 0.
    from optimizer import outputs as declared

    out, data = tmp_path / "out", tmp_path / "tiny"
    shutil.copytree(TINY, data)  # --explain keeps its re-solves beside the dataset
    assert run("solve", data, "--out", out, "--explain").exit_code == 0
    assert (out / "sensitivity.csv").is_file() and (out / "report.html").is_file()
    infeasible = tmp_path / "inf"
    shutil.copytree(TINY, infeasible)
    (infeasible / "network.yaml").write_text("constraints:\n  max_service_km: 1\n")
    assert run("solve", infeasible, "--out", out).exit_code == 2
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        ["plan_costs.csv", "plan_flows.csv", "plan_sites.csv", "result.json", "routes.csv", "stock.csv"]
    for table in (declared.SITES, declared.FLOWS, declared.ROUTES, declared.STOCK):
        with open(out / table.file, newline="") as handle:
            assert tuple(next(csv.reader(handle))) == table.names, table.file
    assert (out / "plan_costs.csv").read_text().splitlines()[-1] == "total,"


def test_result_json_has_the_audit_trail(tiny_out):
    audit = json.loads((tiny_out / "result.json").read_text())["audit"]
    assert re.fullmatch(r"[0-9a-f]{64}", audit["inputs_hash"])
    assert audit["solver"] == "highs" and audit["solver_version"]
    assert audit["software_version"] and audit["created"].endswith("Z")


def test_a_dataset_folder_takes_output_twice(tmp_path):
    data = tmp_path / "tiny"
    shutil.copytree(TINY, data)
    inputs = sorted(p.name for p in data.iterdir())
    for _ in range(2):
        res = run("solve", data, "--out", data)
        assert res.exit_code == 0, res.output
    marker = (data / OUTPUT_MARKER).read_text()
    assert "report.html" in marker and not any(name in marker.splitlines() for name in inputs)
    # an input file is still never replaced, even in a marked folder
    (data / "report.html").unlink()
    shutil.copy(data / "sites.csv", data / "report.html")
    lines = [line for line in marker.splitlines() if line != "report.html"]
    (data / OUTPUT_MARKER).write_text("\n".join(lines) + "\n")
    res = run("solve", data, "--out", data)
    assert res.exit_code == 1 and "report.html" in res.output


@pytest.mark.parametrize("decimal", [",", "."])
def test_semicolon_csv_is_rejected_with_a_hint(tmp_path, decimal):
    # With decimal points (or whole numbers) the file has no comma at all: it once missed the hint.
    data = tmp_path / "tiny"
    shutil.copytree(TINY, data)
    text = (data / "products.csv").read_text()
    rows = [line.split(",") for line in text.strip().splitlines()]
    (data / "products.csv").write_text("\n".join(";".join(cell.replace(".", decimal) for cell in row) for row in rows)
                                       + "\n")
    res = run("validate", data)
    assert res.exit_code == 1
    assert "separated by semicolons" in res.output and "decimal" in res.output and "products.csv" in res.output


@pytest.mark.parametrize("character", ["\x07", "\x00", "\x1b"])
def test_a_control_character_in_a_csv_is_refused_before_any_output(tmp_path, character):
    # A BEL in a region name once passed validation and crashed the Excel workbook after most outputs were written.
    data = tmp_path / "tiny"
    shutil.copytree(TINY, data)
    lines = (data / "regions.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("name")] += character + "area"
    lines[2] = ",".join(cells)
    (data / "regions.csv").write_text("\n".join(lines) + "\n")
    res = run("solve", data, "--out", tmp_path / "out", "--json")
    assert res.exit_code == 1
    problem = json.loads(res.stdout)["problems"][0]
    assert (problem["file"].endswith("regions.csv"), problem["line"], problem["field"]) == (True, 3, "name")
    assert f"U+{ord(character):04X}" in problem["message"]
    assert not (tmp_path / "out").exists()


def test_report_draws_a_waterfall_from_a_base_run(tiny_out, tmp_path):
    out = tmp_path / "again"
    res = run("solve", TINY, "--out", out, "--base-run", tiny_out)
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f'alt="waterfall from {tiny_out.name} to this plan"' in page
    bad = run("solve", TINY, "--out", tmp_path / "x", "--base-run", tmp_path / "nowhere")
    assert bad.exit_code == 1 and "--base-run" in bad.output


def _no_solve(monkeypatch):
    """Make any solve fail the test: a bad --out or --base-run must be reported before the solve."""
    from optimizer import api

    def refuse(*args, **kwargs):
        raise AssertionError("solved before checking the output options")

    monkeypatch.setattr(api, "solve", refuse)


@pytest.mark.parametrize("out_of", [lambda tmp: tmp / "a-file" / "out", lambda tmp: tmp / ("x" * 300)])
def test_a_bad_out_is_reported_before_the_solve(tmp_path, monkeypatch, out_of):
    (tmp_path / "a-file").write_text("user data")
    _no_solve(monkeypatch)
    for command in ("solve", "frontier", "explain"):
        res = run(command, TINY, "--out", out_of(tmp_path), "--json")
        assert res.exit_code == 1, (command, res.output)
        doc = json.loads(res.stdout)
        assert doc["status"] == "input_error" and "Traceback" not in res.output
    assert (tmp_path / "a-file").read_text() == "user data"


def test_an_unreadable_path_is_named_never_a_traceback(tmp_path):
    long_name = tmp_path / ("d" * 300)  # stat() fails with 'File name too long', not 'not found'
    for args in (["validate", long_name], ["solve", long_name], ["compare", long_name]):
        res = run(*args, "--json")
        assert res.exit_code == 1 and "Traceback" not in res.output, res.output
        doc = json.loads(res.stdout)
        assert doc["status"] == "input_error" and "name too long" in doc["message"].lower()


def test_base_run_must_be_a_plain_file_and_needs_out(tmp_path, monkeypatch):
    import os

    fifo = tmp_path / "result.json"
    os.mkfifo(fifo)  # reading it would block forever
    _no_solve(monkeypatch)
    res = run("solve", TINY, "--out", tmp_path / "out", "--base-run", fifo)
    assert res.exit_code == 1 and "--base-run" in res.output and "pipe" in res.output, res.output
    res = run("solve", TINY, "--base-run", fifo)
    assert res.exit_code == 1 and "give --out too" in res.output, res.output


def test_a_marker_cannot_name_files_outside_its_folder(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "photo.png").write_bytes(b"\x89PNG user's photo")
    out = tmp_path / "data" / "out"
    (out / "map_x").mkdir(parents=True)
    (out / OUTPUT_MARKER).write_text("map_x/../../../victim/photo.png\nresult.json\n")
    res = run("solve", TINY, "--out", out)
    assert res.exit_code == 0, res.output
    assert (victim / "photo.png").read_bytes() == b"\x89PNG user's photo"
