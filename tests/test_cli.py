"""The ``optimizer`` command through click's runner, and once as a real process."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import optimizer.model.build as build_module
from optimizer.cli import main
from optimizer.solvers.base import SolverResult, Status

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
CAP41 = DATA / "orlib" / "cap41"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_solve_json_is_one_clean_document():
    res = run("solve", TINY, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # the whole of stdout parses: nothing else was printed
    for key in ("status", "objective", "bound", "gap", "solver", "build_seconds", "solve_seconds",
                "costs", "open_sites", "flows"):
        assert key in doc
    assert doc["status"] == "optimal"
    assert sum(doc["costs"].values()) == pytest.approx(doc["objective"], rel=1e-9)
    assert set(doc["costs"]) == {"shipping", "fixed", "handling", "holding", "closing", "inbound", "transfer"}
    assert doc["open_sites"] and doc["flows"]
    assert set(doc["flows"][0]) == {"from", "to", "product", "quantity", "mode"}
    assert doc["check"]["ok"] is True


def test_solve_human_summary(tmp_path):
    res = run("solve", TINY)
    assert res.exit_code == 0
    for word in ("Status", "optimal", "Objective", "Open sites", "shipping", "Check"):
        assert word in res.stdout
    # The money unit is the network's (it always said "currency per period").
    shutil.copytree(TINY, tmp_path / "eur")
    (tmp_path / "eur" / "network.yaml").write_text((TINY / "network.yaml").read_text() + "currency: EUR\n")
    res = run("solve", tmp_path / "eur")
    assert "(EUR per week)" in res.stdout and "Costs (EUR per week)" in res.stdout


def test_orlib_cap41_matches_published_optimum():
    res = run("solve", CAP41, "--format", "orlib", "--json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["objective"] == pytest.approx(1040444.375, rel=1e-6)
    assert doc["flows"][0]["product"] == "1"
    # re-cost the printed plan from the raw file: fixed costs of the open warehouses plus, for each
    # flow, its share of the customer's demand times the cost of allocating all of it there
    tokens = CAP41.read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    fixed = [float(tokens[3 + 2 * i]) for i in range(m)]
    rest = tokens[2 + 2 * m:]
    demand = [float(rest[j * (m + 1)]) for j in range(n)]
    allocation = [[float(c) for c in rest[j * (m + 1) + 1:(j + 1) * (m + 1)]] for j in range(n)]
    recost = sum(fixed[int(i) - 1] for i in doc["open_sites"]) + sum(
        f["quantity"] / demand[int(f["to"]) - 1] * allocation[int(f["to"]) - 1][int(f["from"]) - 1]
        for f in doc["flows"])
    assert recost == pytest.approx(doc["objective"], rel=1e-9)
    assert sum(f["quantity"] for f in doc["flows"]) == pytest.approx(sum(demand), rel=1e-9)


@pytest.mark.parametrize("solver", ["highs", "cbc", "scip"])
def test_solver_option(solver):
    from optimizer.solvers import available_solvers

    if solver not in available_solvers():
        pytest.skip(f"{solver} not installed")
    doc = json.loads(run("solve", CAP41, "--format", "orlib", "--json", "--solver", solver).stdout)
    assert doc["solver"] == solver
    assert doc["objective"] == pytest.approx(1040444.375, rel=1e-6)


def test_user_gap_labels_plan_feasible_or_optimal_honestly():
    doc = json.loads(run("solve", CAP41, "--format", "orlib", "--json", "--mip-gap", "0.2").stdout)
    assert doc["status"] in ("feasible", "optimal")
    if doc["status"] == "optimal":
        assert doc["gap"] <= 1e-9


def test_out_dir_writes_tables_and_protects_inputs(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(TINY, data)
    before = digest(data)
    out = tmp_path / "out"
    res = run("solve", data, "--out", out)
    assert res.exit_code == 0
    for name in ("result.json", "plan_sites.csv", "plan_flows.csv", "plan_costs.csv"):
        assert (out / name).stat().st_size > 0
    assert json.loads((out / "result.json").read_text())["status"] == "optimal"
    assert run("solve", data, "--out", out).exit_code == 0  # our own folder may be rewritten
    # Writing into a folder with files we did not write is refused; the input is never touched.
    (data / "plan_flows.csv").write_text("mine\n")
    refused = run("solve", data, "--out", data)
    assert refused.exit_code == 1
    assert "refusing" in refused.stderr
    assert (data / "plan_flows.csv").read_text() == "mine\n"
    after = digest(data)
    after.pop("plan_flows.csv")
    assert after == before


def tiny_with_first_site(data: Path, column: str, value: str) -> Path:
    """A copy of the tiny dataset at ``data`` whose first site has ``value`` in ``column``."""
    shutil.copytree(TINY, data)
    lines = (data / "sites.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index(column)] = value
    lines[1] = ",".join(row)
    (data / "sites.csv").write_text("\n".join(lines) + "\n")
    return data


def test_bad_input_exit_1_with_message_and_json(tmp_path):
    data = tiny_with_first_site(tmp_path / "bad", "capacity", "-5")
    res = run("solve", data)
    assert res.exit_code == 1
    assert "sites.csv" in res.stderr and "line 2" in res.stderr and "capacity" in res.stderr
    assert "Traceback" not in res.output
    doc = json.loads(run("solve", data, "--json").stdout)
    assert doc["status"] == "input_error"
    assert doc["problems"][0]["line"] == 2


def test_missing_path_and_validate(tmp_path):
    res = run("solve", tmp_path / "nowhere")
    assert res.exit_code == 1 and "nowhere" in res.stderr
    assert run("validate", TINY).exit_code == 0
    bad = tmp_path / "bad"
    shutil.copytree(TINY, bad)
    (bad / "regions.csv").write_text("id,name,lat,lon\nA,a,95,0\nA,b,0,200\n")
    res = run("validate", bad, "--json")
    assert res.exit_code == 1
    problems = json.loads(res.stdout)["problems"]
    assert len(problems) >= 3  # lat out of range, lon out of range, duplicate id


def test_infeasible_exit_2_explained(tmp_path):
    data = tmp_path / "inf"
    shutil.copytree(TINY, data)
    (data / "network.yaml").write_text("constraints:\n  max_service_km: 1\n")
    res = run("solve", data, "--json")
    assert res.exit_code == 2
    doc = json.loads(res.stdout)
    assert doc["status"] == "infeasible"
    assert doc["messages"] and "km" in " ".join(doc["messages"])


@pytest.mark.parametrize("command", ["frontier", "explain"])
def test_nothing_to_tabulate_is_explained_in_one_json_document(tmp_path, command):
    # Every site forced closed: frontier had no p to solve (exit 5, an empty table, no reason) and explain printed
    # its reason on stderr only.
    data = tmp_path / "closed"
    shutil.copytree(TINY, data)
    sites = (data / "sites.csv").read_text().splitlines()
    header = sites[0].split(",")
    rows = [row.split(",") for row in sites[1:]]
    for row in rows:
        row[header.index("status")] = "forced_closed"
    (data / "sites.csv").write_text("\n".join([sites[0], *(",".join(r) for r in rows)]) + "\n")
    res = run(command, data, "--json")
    assert res.exit_code == 2, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "infeasible" and "forced closed" in " ".join(doc["messages"])
    text = run(command, data)
    assert text.exit_code == 2 and "forced closed" in text.output


def test_no_plan_exit_5(monkeypatch):
    from optimizer.solvers.highs import HighsSolver

    monkeypatch.setattr(HighsSolver, "solve",
                        lambda self, model, options: SolverResult(Status.NO_SOLUTION, "highs", message="time limit"))
    res = run("solve", TINY, "--json", "--strategy", "compact")  # the backend's answer, not the site tree's
    assert res.exit_code == 5
    assert json.loads(res.stdout)["status"] == "no_solution"


def test_checker_rejection_exit_4(monkeypatch):
    original = build_module.BuiltModel.decode

    def corrupt(self, x):
        plan = original(self, x)
        plan.flows.loc[0, "quantity"] *= 0.5  # a plan that no longer meets demand
        return plan

    monkeypatch.setattr(build_module.BuiltModel, "decode", corrupt)
    res = run("solve", TINY, "--json")
    assert res.exit_code == 4
    assert "CHECK FAILED" in res.stderr
    assert json.loads(res.stdout)["check"]["ok"] is False


def test_real_process_stdout_is_pure_json():
    proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(CAP41), "--format", "orlib", "--json",
                           "--solver", "highs", "--verbose"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"


def test_solve_and_validate_a_scenario_file(tmp_path):
    scenario = tmp_path / "rents-up.yaml"
    scenario.write_text(f"name: rents-up\nbase: {TINY}\nsites: {{scale: {{fixed_cost: 1.5}}}}\n")
    base = json.loads(run("solve", TINY, "--json").stdout)
    res = run("solve", scenario, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "optimal" and doc["check"]["ok"]
    assert doc["costs"]["fixed"] == pytest.approx(base["costs"]["fixed"] * 1.5) or doc["open_sites"] != base["open_sites"]
    assert run("validate", scenario).exit_code == 0
    scenario.write_text(f"base: {TINY}\nsites: {{ids: [NOPE], set: {{capacity: 1}}}}\n")
    res = run("validate", scenario, "--json")
    assert res.exit_code == 1
    problem = json.loads(res.stdout)["problems"][0]
    assert "NOPE" in problem["message"] and problem["file"].endswith("rents-up.yaml")


# ---------------------------------------------------------------- issue 10, defect 18: usage errors are bad input

@pytest.mark.parametrize(("args", "field"), [
    (["solve", TINY, "--time-limit", "0"], "--time-limit"),
    (["solve", TINY, "--threads", "0"], "--threads"),
    (["solve", TINY, "--mip-gap", "1"], "--mip-gap"),
    # click's FloatRange lets nan and inf through: nan once made CBC call a feasible dataset infeasible.
    (["solve", TINY, "--time-limit", "nan"], "--time-limit"),
    (["solve", TINY, "--mip-gap", "nan"], "--mip-gap"),
    (["solve", TINY, "--time-limit", "inf"], "--time-limit"),
    (["frontier", TINY, "--time-limit", "nan"], "--time-limit"),
    (["explain", TINY, "--budget", "nan"], "--budget"),
    (["rebalance", TINY, "--inventory", "x.csv", "--out", "o", "--run-days", "inf"], "--run-days"),
    (["rebalance", TINY, "--inventory", "x.csv", "--out", "o", "--min-shipment", "nan"], "--min-shipment"),
    (["solve", TINY, "--no-such-option"], "--no-such-option"),
    (["solve", TINY, "--solver", "gurobi"], "--solver"),
    (["run", TINY / "sweep.yaml", "--workers", "0"], "--workers"),
    (["frontier", TINY, "--no-such-option"], "--no-such-option"),
    (["compare", "x.db", "--no-such-option"], "--no-such-option"),
    (["no-such-command"], None),
])
def test_usage_errors_exit_1_with_a_json_document(args, field):
    """Click's exit 2 would read as "infeasible"; a usage error is bad input (exit 1), and --json gets JSON."""
    res = run(*args)
    assert res.exit_code == 1 and res.stdout == "" and "Error:" in res.stderr
    res = run(*args, "--json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)  # the whole of stdout: one document
    assert doc["status"] == "input_error" and doc["problems"][0]["field"] == field
    assert doc["message"].startswith("usage error: ")


def test_help_still_exits_0():
    res = run("--help")
    assert res.exit_code == 0 and "solve" in res.stdout
    assert run("solve", "--help").exit_code == 0


def test_unreadable_folder_exits_1_with_json(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(TINY, data)

    def deny(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("os.listdir", deny)  # tests run as root, whom chmod 000 does not stop
    for command in ("solve", "validate"):
        res = run(command, data, "--json")
        assert res.exit_code == 1, res.output
        doc = json.loads(res.stdout)
        assert doc["problems"][0]["message"] == "dataset folder cannot be read: Permission denied"


# ---------------------------------------------------------------- output safety

def test_out_never_writes_through_a_symlink(tmp_path):
    out = tmp_path / "out"
    assert run("solve", TINY, "--out", out).exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    for name in ("result.json", "plan_sites.csv", "map.png", "map.html"):
        (out / name).unlink()
        (out / name).symlink_to(victim)
    res = run("solve", TINY, "--out", out)
    assert res.exit_code == 0, res.output
    assert victim.read_text() == "keep me\n"
    assert not (out / "result.json").is_symlink()
    assert json.loads((out / "result.json").read_text())["status"] == "optimal"
    assert not (out / "map.png").is_symlink() and (out / "map.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".optimizer-output") == []


def test_out_symlink_in_a_foreign_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (out / "result.json").symlink_to(victim)
    res = run("solve", TINY, "--out", out)
    assert res.exit_code == 1 and "refusing" in res.stderr and victim.read_text() == "keep me\n"


def test_out_below_a_file_or_unwritable_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x\n")
    res = run("solve", TINY, "--out", blocker / "sub", "--json")
    assert res.exit_code == 1 and "Traceback" not in res.output
    doc = json.loads(res.stdout)
    assert doc["problems"][0]["file"] == str(blocker / "sub") and "cannot be created" in doc["message"]

    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)  # a read-only folder (root ignores chmod)
    res = run("solve", TINY, "--out", tmp_path / "ro", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert "cannot be written: Permission denied" in doc["message"]


# ---------------------------------------------------------------- values that would break the solver

def _scenario(tmp_path, text):
    shutil.copytree(TINY, tmp_path / "tiny")
    path = tmp_path / "s.yaml"
    path.write_text("base: tiny\n" + text)
    return path


@pytest.mark.parametrize(("text", "field"), [
    ("demand: {scale: 1e250}\n", "demand.scale"),
    ("sites: {set: {fixed_cost: 1e308}}\n", "sites.set.fixed_cost"),
    ("name: a\x00b\n", None),
    ("name: a\x07b\n", None),
])
def test_scenario_values_that_break_the_solver_are_input_errors(tmp_path, text, field):
    res = run("solve", _scenario(tmp_path, text), "--json")
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "input_error" and doc["problems"][0]["field"] == field
    assert doc["problems"][0]["line"] == 2


def test_huge_fixed_cost_in_a_dataset_is_an_input_error_not_no_plan(tmp_path):
    data = tiny_with_first_site(tmp_path / "data", "fixed_cost", "1e308")
    res = run("solve", data, "--json")
    assert res.exit_code == 1
    assert json.loads(res.stdout)["problems"][0]["field"] == "fixed_cost"


@pytest.mark.parametrize("option", [["--explain"], ["--base-run", "nowhere"], ["--strategy", "decompose"],
                                    ["--log-json"]])
def test_options_a_study_does_not_take_are_refused_not_ignored(option):
    study = Path(__file__).parents[1] / "scenarios" / "demo-expansion.yaml"
    res = run("solve", study, *option, "--json")
    assert res.exit_code == 1, res.output
    problem = json.loads(res.stdout)["problems"][0]
    assert problem["field"] == option[0] and "expansion study" in problem["message"]
