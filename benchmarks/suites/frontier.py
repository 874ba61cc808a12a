"""The demo's cost-sites frontier: ``optimizer frontier scenarios/demo --between cost,sites --json``.

One child process runs the command as a user would (start-up included), each point with the
command's own time limit (``--time-limit``, default the command's 60 s per point).  One row per
point: its status (``optimal`` means proven to the default gap of 1e-9), total cost, gap, solve
seconds and whether it was warm-started; the last row is the whole command: wall time, peak
memory, points proven.  Target (issue 11): the whole frontier, every point proven, within
:data:`TARGET_SECONDS`.
"""

from __future__ import annotations

import json
import sys

from benchmarks.measure import ROOT, python, run_child
from benchmarks.options import Options
from benchmarks.report import Column, SuiteResult, number

#: Target wall time of the whole frontier, seconds.
TARGET_SECONDS = 30.0
#: The network.
DATASET = ROOT / "scenarios" / "demo"


def _percent(row: dict) -> str:
    """The gap in percent (``-`` without one)."""
    gap = row.get("gap")
    return "-" if gap is None else f"{100 * gap:.4f} %"


def run(opts: Options) -> SuiteResult:
    """Trace the demo's frontier in one child process; a row per point and a total."""
    columns = [
        Column("p", "p"), Column("status", "status"), Column("total", "total", number("total", ",.2f")),
        Column("gap", "gap", _percent), Column("solve s", "solve_s", number("solve_s", ".1f")),
        Column("warm-started", "warm_started"), Column("wall s", "wall_s", number("wall_s", ".1f")),
        Column("peak RSS MiB", "peak_rss_mib", number("peak_rss_mib", ".0f")),
    ]
    result = SuiteResult("frontier", "optimizer frontier scenarios/demo --between cost,sites", columns)
    argv = python("-m", "optimizer", "frontier", str(DATASET), "--between", "cost,sites", "--json")
    if opts.time_limit is not None:
        argv += ["--time-limit", str(opts.time_limit)]
    print(f"[frontier] {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    child = run_child(argv)
    try:
        doc = json.loads(child.stdout)
    except json.JSONDecodeError:
        result.ok = False
        result.notes.append(f"no JSON document (exit {child.exit_code}): "
                            f"{child.last_error_line()}")
        return result
    points = doc["points"]
    for point in points:
        result.rows.append({"p": point["p"], "status": point["status"], "total": point["total"], "gap": point["gap"],
                            "solve_s": point["solve_seconds"], "warm_started": point["warm_started"]})
    proven = sum(p["status"] in ("optimal", "infeasible") for p in points)
    wall = child.wall_seconds
    met = proven == len(points) and wall <= TARGET_SECONDS
    result.rows.append({"p": "all", "status": f"{proven} of {len(points)} proven", "wall_s": wall,
                        "peak_rss_mib": child.peak_rss_mib})
    result.ok = child.exit_code == 0
    limit = "the command's default" if opts.time_limit is None else f"{opts.time_limit:g} s"
    result.notes.append(f"time limit per point: {limit}; a point it stops is 'feasible' with its gap. "
                        "'proven': optimal to the default gap (1e-9) or proven infeasible.")
    result.notes.append(f"target: every point proven within {TARGET_SECONDS:.0f} s wall (start-up included): "
                        f"{'met' if met else 'NOT met'} ({wall:.1f} s, {proven} of {len(points)} proven).")
    return result
