"""The benchmark runner: child-process measurements, tables, RESULTS.md sections, --json."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.__main__ import main
from benchmarks.measure import ROOT, Solve, python, run_child
from benchmarks.report import RESULTS_HEADER, Column, SuiteResult, markdown_table, record_section
from benchmarks.suites import solves
from benchmarks.suites.ladder import parse_size
from benchmarks.textbook_pulp import solve_textbook
from optimizer.io.orlib import read_sscflp

DATA = Path(__file__).parent / "data"


def runner(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


# --- measuring a child ----------------------------------------------------------------------------


def test_peak_memory_is_the_childs_not_this_processs():
    ballast = np.ones(48 * 2**20)  # 384 MiB resident here: a plain fork-and-wait4 would report at least that
    small = run_child(python("-c", "pass"))
    big = run_child(python("-c", "import numpy; a = numpy.ones(32 * 2**20); print(a.sum())"))
    assert ballast.sum() > 0
    assert small.exit_code == 0 and small.peak_rss_mib < 150
    assert big.stdout.strip() == str(float(32 * 2**20))
    assert big.peak_rss_mib > small.peak_rss_mib + 200  # its 256 MiB array is counted


def test_a_child_past_its_wall_limit_is_killed():
    run = run_child(python("-c", "import time; time.sleep(60)"), wall_limit=0.5)
    assert run.killed and run.wall_seconds < 10


def test_a_failing_child_reports_its_last_stderr_line():
    run = run_child(python("-c", "import sys; sys.exit('bad thing')"))
    assert run.exit_code == 1 and run.last_error_line() == "bad thing"


# --- speed-ups and tables ---------------------------------------------------------------------------


def test_a_baseline_that_does_not_finish_gets_a_lower_bound_speedup():
    slow = solves._baseline_cells("compact", Solve("feasible", "time_limit", wall_seconds=21.0), 20.0, 2.0, None)
    fast = solves._baseline_cells("pulp", Solve("optimal", "optimal", wall_seconds=5.0), 20.0, 2.0, None)
    row = slow | fast
    assert solves.speedup_cell("compact")(row) == "≥ 10.0×"
    assert solves.speedup_cell("pulp")(row) == "2.5×"
    total = solves.totals([row | {"wall_s": 2.0, "build_s": 0.1, "solve_s": 1.0}], True, True)
    assert total["compact_speedup"] == 10.0 and not total["compact_finished"]
    assert total["pulp_speedup"] == 2.5 and total["pulp_finished"]


def test_markdown_table_aligns_numbers_right():
    cols = [Column("name", "name"), Column("s", "s")]
    table = markdown_table(cols, [{"name": "a", "s": 1.5}, {"name": "b", "s": None}])
    assert table.splitlines() == ["| name | s |", "|---|---:|", "| a | 1.5 |", "| b | - |"]


def test_parse_size():
    assert parse_size("50x1000") == (50, 1000) and parse_size("1,000x20,000") == (1000, 20000)
    with pytest.raises(ValueError, match="not a size"):
        parse_size("50by1000")


# --- RESULTS.md -------------------------------------------------------------------------------------


def test_a_suite_rewrites_only_its_own_section(tmp_path):
    path = tmp_path / "RESULTS.md"
    record_section(path, "orlib", "## orlib\n\nold table\n")
    record_section(path, "ladder", "## ladder\n\nladder table\n")
    path.write_text(path.read_text() + "\nA note written by hand.\n")
    record_section(path, "orlib", "## orlib\n\nnew table\n")
    text = path.read_text()
    assert text.startswith(RESULTS_HEADER)
    assert "new table" in text and "old table" not in text
    assert "ladder table" in text and text.endswith("A note written by hand.\n")
    assert text.index("<!-- suite:orlib -->") < text.index("new table") < text.index("<!-- /suite:orlib -->")
    assert text.index("<!-- /suite:orlib -->") < text.index("<!-- suite:ladder -->")  # stays where it was
    assert text.count("<!-- suite:orlib -->") == 1


def test_a_section_with_a_missing_end_marker_is_refused(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("<!-- suite:orlib -->\nhalf a section\n")
    with pytest.raises(ValueError, match="without"):
        record_section(path, "orlib", "new")
    assert path.read_text() == "<!-- suite:orlib -->\nhalf a section\n"


# --- the command line ----------------------------------------------------------------------------


def test_runner_on_two_instances_prints_and_records_a_table(tmp_path, capsys):
    results = tmp_path / "RESULTS.md"
    code = main(["run", "orlib", "--instances", "cap41,cap42", "--results", str(results),
                 "--csv-dir", str(tmp_path / "csv")])
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = [line for line in out.out.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| instance | size | status | build s | solve s | wall s | objective | bound | gap |")
    assert [line.split(" | ")[0] for line in lines[1:]] == ["| cap41", "| cap42", "| total"]
    assert "| 1,040,444.375 |" in lines[1] and "| ok |" in lines[1]
    assert "[orlib 1/2] cap41" in out.err
    assert "<!-- suite:orlib -->" in results.read_text() and "| cap42 |" in results.read_text()
    with (tmp_path / "csv" / "orlib.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["instance"] for r in rows] == ["cap41", "cap42", "total"]
    assert float(rows[0]["objective"]) == pytest.approx(1040444.375) and float(rows[0]["wall_s"]) > 0
    assert float(rows[0]["peak_rss_mib"]) > 20


def test_json_prints_one_document_and_progress_goes_to_stderr(tmp_path):
    results, csv_dir = tmp_path / "RESULTS.md", tmp_path / "csv"
    done = runner("run", "orlib", "--instances", "cap41,nope", "--json", "--no-record", "--results", str(results),
                  "--csv-dir", str(csv_dir))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    (suite,) = doc["suites"]
    assert suite["suite"] == "orlib" and suite["ok"] and doc["ok"]
    assert suite["rows"][0]["instance"] == "cap41" and suite["rows"][0]["status"] == "optimal"
    assert suite["skipped"] == ["skipped: unknown instance(s) nope"]
    assert {"cpu", "cores", "ram_gib", "python", "highs", "date"} <= doc["machine"].keys()
    assert "[orlib 1/1] cap41" in done.stderr and "skipped: unknown instance(s) nope" in done.stderr
    assert not results.exists() and not csv_dir.exists()  # --no-record


def test_missing_shared_folder_is_skipped_by_name(tmp_path):
    done = runner("run", "capabc", "--shared", str(tmp_path / "nowhere"), "--no-record")
    assert done.returncode == 2
    assert f"skipped: {tmp_path / 'nowhere' / 'orlib' / 'capacity_variants'} not found" in done.stderr


def test_unknown_suite_is_an_error():
    assert main(["run", "no-such-suite"]) == 2


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP 3 announces its 4.0 API
def test_textbook_model_single_sources_a_holmberg_instance():
    res = solve_textbook(read_sscflp(DATA / "sscflp" / "p1"))
    assert res.status == "optimal" and res.objective == pytest.approx(8848.0)


def test_suite_result_to_dict_turns_non_finite_numbers_into_null():
    result = SuiteResult("x", "t", [], rows=[{"a": float("nan"), "b": 1.0}])
    assert result.to_dict()["rows"] == [{"a": None, "b": 1.0}]
