"""Progress of long solves (issue 11): the channel, HiGHS's callbacks, the pooled loop, the CLI display, --log-json."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

import optimizer
from factory import make_network
from optimizer import progress
from optimizer.cli import main
from optimizer.cli.progress import shown, status_text
from optimizer.io.instances import random_capacitated
from optimizer.model.linear import LinearModel
from optimizer.network import InventorySettings
from optimizer.progress import ProgressEvent
from optimizer.solvers import highs as highs_module
from optimizer.solvers.base import SolveOptions, Status
from optimizer.solvers.highs import HighsSolver

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny"
CAP131 = DATA / "orlib" / "cap131"


def knapsack(offset: float = 0.0) -> LinearModel:
    """A 15-item, 3-constraint 0/1 knapsack (as a minimisation with an offset): HiGHS needs ~160 branch nodes."""
    rng = np.random.default_rng(1)
    weights = rng.integers(10, 100, size=(3, 15)).astype(float)
    profit = weights.mean(axis=0) + rng.integers(0, 10, size=15)
    return LinearModel(c=-profit, A=sp.csr_matrix(weights), row_lower=np.full(3, -np.inf),
                       row_upper=weights.sum(axis=1) / 2, col_lower=np.zeros(15), col_upper=np.ones(15),
                       integer=np.ones(15, bool), offset=float(profit.sum()) + offset)


@pytest.fixture
def last_highs(monkeypatch) -> list:
    """The HiGHS objects the adapter creates (captured when it passes the model)."""
    created: list = []
    original = highs_module.pass_model

    def capture(highs, model, relax=False):
        created.append(highs)
        return original(highs, model, relax)

    monkeypatch.setattr(highs_module, "pass_model", capture)
    return created


def solve_listening(model: LinearModel) -> tuple[list[ProgressEvent], object]:
    events: list[ProgressEvent] = []
    with progress.listening(events.append):
        result = HighsSolver().solve(model, SolveOptions(threads=1))
    return events, result


# -- the channel --------------------------------------------------------------------------------

def test_reporter_reaches_the_listeners_from_another_thread():
    assert progress.reporter() is None and not progress.active()
    events: list[ProgressEvent] = []
    with progress.listening(events.append):
        report = progress.reporter()
        assert report is not None and progress.active()
        worker = threading.Thread(target=lambda: report("mip", objective=10.0, bound=float("-inf"), message="x"))
        worker.start()
        worker.join()
        threading.Thread(target=lambda: progress.emit("lost")).start()  # emit() alone: no listener in a new thread
    progress.emit("after")  # outside the block: nobody listens
    assert [(e.phase, e.objective, e.bound, e.message) for e in events] == [("mip", 10.0, None, "x")]
    assert list(events[0].to_dict()) == ["event", "phase", "seconds", "objective", "bound", "gap", "message"]


# -- HiGHS -----------------------------------------------------------------------------------------

def test_highs_reports_plan_and_bound_while_branching_without_changing_the_search(last_highs):
    model = knapsack()
    quiet = HighsSolver().solve(model, SolveOptions(threads=1))
    quiet_nodes = last_highs[-1].getInfo().mip_node_count
    assert not last_highs[-1].cbMipInterrupt.callbacks and not last_highs[-1].cbMipImprovingSolution.callbacks
    events, result = solve_listening(model)
    assert last_highs[-1].cbMipInterrupt.callbacks and last_highs[-1].cbMipImprovingSolution.callbacks
    # Same search, same answer: the callbacks only read.
    assert quiet_nodes > 10 and last_highs[-1].getInfo().mip_node_count == quiet_nodes
    assert result.objective == quiet.objective and np.array_equal(result.x, quiet.x)
    assert {e.phase for e in events} == {"mip"}
    assert any(e.objective is not None for e in events[:-1]) and any(e.bound is not None for e in events[:-1])
    for event in events:
        if event.objective is not None and event.bound is not None:
            assert event.bound <= event.objective + 1e-9 * abs(event.objective)
    plans = [e.objective for e in events if e.objective is not None]
    assert np.all(np.diff(plans) <= 1e-9 * abs(plans[0]))  # the best plan only improves
    final = events[-1]
    assert (final.objective, final.bound, final.message) == (result.objective, result.bound, "optimal")


def test_highs_progress_includes_the_objective_offset():
    plain, _ = solve_listening(knapsack())
    shifted, result = solve_listening(knapsack(offset=1e6))
    assert result.objective > 1e6

    def improving(events):
        return [e.objective for e in events if e.message.endswith("new best plan")]

    assert improving(plain) and np.allclose(np.array(improving(shifted)) - 1e6, improving(plain), rtol=0, atol=1e-6)


def test_a_failing_listener_does_not_stop_the_solve():
    def broken(event: ProgressEvent) -> None:
        raise OSError("stderr closed")

    with progress.listening(broken):
        result = HighsSolver().solve(knapsack(), SolveOptions(threads=1))
    assert result.status is Status.OPTIMAL


def test_lp_and_quiet_solves_subscribe_no_callback(last_highs):
    lp = replace(knapsack(), integer=np.zeros(15, bool))
    with progress.listening(lambda event: None):
        HighsSolver().solve(lp, SolveOptions())
    assert not last_highs[-1].cbMipInterrupt.callbacks


# -- the pooled cut loop ---------------------------------------------------------------------------

def test_pooled_loop_reports_each_round():
    products = [{"id": "P", "unit_value": 200.0, "holding_rate": 0.3, "shipping_cost_per_km": 0.002}]
    sites = [{"id": f"S{i}", "lon": float(i), "capacity": 400.0, "fixed_cost": 50.0} for i in range(3)]
    regions = [{"id": f"R{r}", "lon": 0.7 * r} for r in range(4)]
    demand = [(f"R{r}", "P", 40.0 + 10 * r, 15.0) for r in range(4)]
    net = make_network(sites, regions, products, demand, single_sourcing=True, period_days=7.0,
                       inventory=InventorySettings(model="pooled", lead_time_days=10.0, review_days=7.0))
    events: list[ProgressEvent] = []
    with progress.listening(events.append):
        result = optimizer.solve(net)
    rounds = [e for e in events if e.phase == "pooled-cuts"]
    assert rounds and rounds[0].message.startswith("round 1:")
    assert rounds[-1].objective == pytest.approx(result.objective, rel=1e-9)
    # A round's MIP shows no approximate cost as a plan, and no bound below the best one known.
    shown = [(e.objective, e.bound) for e in events if e.phase == "mip"]
    assert all(objective is None or objective >= result.objective * (1 - 1e-9) for objective, _ in shown)
    assert all(bound is None or bound <= result.objective * (1 + 1e-9) for _, bound in shown)


# -- the command line ------------------------------------------------------------------------------

class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_one_redrawn_line_that_is_erased_at_the_end():
    screen = Terminal()
    with shown(False, stream=screen):
        progress.emit("mip", objective=88146.787, bound=88094.937, message="12 nodes")
        progress.emit("mip", objective=88146.787, bound=88100.0)
    text = screen.getvalue()
    assert text.count("\r") == 3 and "\n" not in text and text.endswith("\r\x1b[K")
    assert "mip" in text and "best 88,146.79" in text and "bound 88,094.94" in text and "gap 0.06%" in text
    assert status_text(ProgressEvent("lagrangian", 3.0)) == "lagrangian  3.0 s  best -  bound -  gap -"


def test_no_terminal_no_log_no_listener():
    pipe = io.StringIO()
    with shown(False, stream=pipe):
        assert not progress.active()
    with shown(False, live=False, stream=Terminal()):  # e.g. --verbose: the solver log is the display
        assert not progress.active()
    assert pipe.getvalue() == ""


def records(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]  # every stderr line is one JSON object


def test_solve_log_json_keeps_stdout_one_document():
    res = CliRunner().invoke(main, ["solve", str(CAP131), "--format", "orlib", "--json", "--log-json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    log = records(res.stderr)
    steps = [r for r in log if r["event"] == "progress"]
    assert any(r["objective"] is not None for r in steps) and any(r["bound"] is not None for r in steps)
    for r in steps:
        assert set(r) == {"event", "phase", "seconds", "objective", "bound", "gap", "message"}
        if r["objective"] is not None and r["bound"] is not None:
            assert r["bound"] <= r["objective"] * (1 + 1e-9)
    assert log[-1]["event"] == "result" and [r["event"] for r in log].count("result") == 1
    assert {k: log[-1][k] for k in ("status", "objective", "bound", "gap")} == \
        {k: doc[k] for k in ("status", "objective", "bound", "gap")}
    assert log[-1]["check_ok"] is True and log[-1]["open_sites"] == len(doc["open_sites"])


def test_solve_without_a_terminal_shows_no_progress():
    res = CliRunner().invoke(main, ["solve", str(CAP131), "--format", "orlib", "--json"])
    assert res.exit_code == 0 and res.stderr == ""


@pytest.mark.parametrize("args, named", [(["solve", "missing"], "missing"), (["run", "s.yaml"], "NOPE"),
                                         (["run", "ok.yaml", "--store", "a-dir"], "a-dir"),
                                         (["solve", str(TINY), "--out", "notes.txt"], "notes.txt")])
def test_log_json_reports_bad_input_as_an_error_record(tmp_path, monkeypatch, args, named):
    # run's sweep file and store were read before its log started: bad input there gave no error record.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(f"name: s\nbase: {TINY}\nruns:\n  - {{name: x, sites: {{ids: [NOPE]}}}}\n")
    (tmp_path / "ok.yaml").write_text(f"name: s\nbase: {TINY}\n")
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "notes.txt").write_text("user notes")
    res = CliRunner().invoke(main, [*args, "--log-json"])
    assert res.exit_code == 1
    log = records(res.stderr)  # every line a JSON record, for log collectors: no plain "error:" line besides
    assert log[-1]["event"] == "error" and named in log[-1]["message"]
    assert any(named in (p["file"] or "") + p["message"] for p in log[-1]["problems"])


def test_frontier_log_json_reports_each_point(monkeypatch):
    from dataclasses import replace

    from optimizer import frontier

    # Cold starts: a warm-started point of this tiny network is proven at once, without progress of its own.
    cold = replace(frontier.AXES["sites"], warm_start=lambda built, previous: None)
    monkeypatch.setitem(frontier.AXES, "sites", cold)
    res = CliRunner().invoke(main, ["frontier", str(TINY), "--json", "--log-json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    log = records(res.stderr)
    points = [r for r in log if r.get("phase") == "frontier"]
    first = f"p={len(doc['points'])}: optimal"  # the sites axis is solved from the most sites down
    assert len(points) == len(doc["points"]) and points[0]["message"].startswith(first)
    assert any(r["phase"] in ("mip", "sites") for r in log[:-1])  # the solves' own progress in between
    assert log[-1] == {**log[-1], "event": "result", "points": len(doc["points"]), "interrupted": False}


def test_run_log_json_reports_each_finished_run(tmp_path):
    (tmp_path / "s.yaml").write_text(f"name: s\nbase: {TINY}\nruns:\n  - name: more\n    demand: {{scale: 1.1}}\n")
    res = CliRunner().invoke(main, ["run", str(tmp_path / "s.yaml"), "--workers", "1", "--log-json"])
    assert res.exit_code == 0, res.output
    log = records(res.stderr)
    assert sorted(r["message"][:-len(" (1/2)")] for r in log[:-1]) == ["base: optimal", "more: optimal"]
    assert [r["message"][-len("(1/2)"):] for r in log[:-1]] == ["(1/2)", "(2/2)"]
    assert all(r["phase"] == "sweep" and r["objective"] is not None for r in log[:-1])
    assert log[-1]["event"] == "result" and (log[-1]["runs"], log[-1]["solved"]) == (2, 2)
    assert "scenario" in res.stdout  # the summary table is unchanged


def test_known_figures_keep_a_sub_solve_from_showing_a_weaker_bound_or_a_worse_plan():
    events: list[ProgressEvent] = []
    with progress.listening(events.append):
        with progress.known(objective=100.0, bound=90.0):
            progress.emit("mip", objective=120.0, bound=50.0)
            progress.emit("mip", objective=95.0, bound=92.0)
            progress.emit("mip")
        with progress.known(bound=float("-inf")):  # nothing known: events pass unchanged
            progress.emit("mip", objective=120.0)
        with progress.known(objective=100.0, relaxation=True):  # a relaxation's plans are not plans
            progress.emit("mip", objective=95.0, bound=80.0)
        progress.emit("mip", objective=120.0, bound=50.0)
        with progress.quiet():  # a strategy's internal sub-solve
            progress.emit("mip", objective=1.0)
            assert not progress.active() and progress.reporter() is None
    assert [(e.objective, e.bound) for e in events] == [(100.0, 90.0), (95.0, 92.0), (100.0, 90.0), (120.0, None),
                                                         (100.0, 80.0), (120.0, 50.0)]


@pytest.mark.parametrize("strategy", ["compact", "decompose"])
def test_every_reported_plan_and_bound_brackets_the_optimum(strategy, tmp_path):
    """A strategy's internal sub-solves (site knapsacks, transportation problems) stay out of the display."""
    path = tmp_path / "cap.txt"
    path.write_text(random_capacitated(20, 60, seed=3, ratio=1.3))  # unequal capacities: knapsack sub-MIPs
    network = optimizer.load(path, format="orlib")
    events: list[ProgressEvent] = []
    with progress.listening(events.append):
        result = optimizer.solve(network, strategy=strategy)
    assert result.status is Status.OPTIMAL and events
    for event in events:
        assert event.objective is None or event.objective >= result.objective * (1 - 1e-9), event
        assert event.bound is None or event.bound <= result.objective * (1 + 1e-9), event


def test_a_closed_stderr_ends_the_display_not_the_command():
    class Closed(Terminal):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    stream = Closed()
    with shown(True, stream=stream) as display:
        progress.emit("lagrangian", bound=1.0)  # from a strategy, in this thread: nothing catches it there
        display.result({"status": "optimal"})
    assert not display.listening
