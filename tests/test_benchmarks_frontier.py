"""The frontier benchmark suite: a row per point, the whole command's row, the 30 s target."""

from __future__ import annotations

import json

from benchmarks.measure import ChildRun
from benchmarks.options import Options
from benchmarks.suites import frontier


def point(p: int, status: str, total: float | None, gap: float | None) -> dict:
    return {"p": p, "status": status, "termination": status, "total": total, "gap": gap, "solve_seconds": 1.5,
            "warm_started": p > 2, "open_sites": "", "reason": ""}


def fake_run(points: list[dict], wall: float, seen: list[list[str]]):
    def run_child(argv, wall_limit=None):
        seen.append(list(argv))
        return ChildRun(wall, 200.0, 0, json.dumps({"network": "demo", "axis": "sites", "points": points}), "")
    return run_child


def test_rows_and_target(monkeypatch):
    seen: list[list[str]] = []
    points = [point(1, "infeasible", None, None), point(2, "optimal", 10.0, 1e-10), point(3, "feasible", 9.0, 0.01)]
    monkeypatch.setattr(frontier, "run_child", fake_run(points, 12.0, seen))
    result = frontier.run(Options(time_limit=5.0))
    assert seen[0][-2:] == ["--time-limit", "5.0"] and "--json" in seen[0]
    assert [r["p"] for r in result.rows] == [1, 2, 3, "all"]
    assert result.rows[-1]["status"] == "2 of 3 proven" and result.rows[-1]["wall_s"] == 12.0
    assert result.ok and any("NOT met" in note for note in result.notes)  # a point not proven

    monkeypatch.setattr(frontier, "run_child", fake_run(points[:2], 12.0, seen))
    assert any(": met" in note for note in frontier.run(Options()).notes)
    assert "--time-limit" not in seen[-1]
    monkeypatch.setattr(frontier, "run_child", fake_run(points[:2], 31.0, seen))
    assert any("NOT met" in note for note in frontier.run(Options()).notes)  # too slow


def test_a_command_without_json_fails_the_suite(monkeypatch):
    monkeypatch.setattr(frontier, "run_child", lambda argv, wall_limit=None: ChildRun(1.0, 100.0, 1, "", "error: boom"))
    result = frontier.run(Options())
    assert not result.ok and "boom" in result.notes[0]
