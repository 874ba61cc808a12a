"""Start-up time of the command line, against a bare interpreter measured in the same run.

The command line imports lazily: ``optimizer --help`` must not load pandas, scipy, SQLAlchemy or
the solvers, and ``optimizer validate`` only what reading a dataset needs.  Targets (issue 10):
``--help`` within 0.3 s of ``python -c pass``, ``validate scenarios/demo`` within 1.5 s of it.
Each command runs ``--repeat`` times (after one run that warms the file cache) in a fresh
interpreter; the median wall time and the largest peak memory are reported.
"""

from __future__ import annotations

import statistics
import sys

from benchmarks.measure import ROOT, python, run_child
from benchmarks.options import Options
from benchmarks.report import Column, SuiteResult, number

#: (label, arguments after the interpreter, allowed seconds above the bare interpreter or None).
COMMANDS: tuple[tuple[str, tuple[str, ...], float | None], ...] = (
    ("python -c pass (baseline)", ("-c", "pass"), None),
    ("optimizer --help", ("-m", "optimizer", "--help"), 0.3),
    ("optimizer validate scenarios/demo", ("-m", "optimizer", "validate", str(ROOT / "scenarios" / "demo")), 1.5),
)


def run(opts: Options) -> SuiteResult:
    """Measure each command; ``ok`` when every target is met."""
    columns = [
        Column("command", "command"), Column("median s", "median_s", number("median_s", ".3f")),
        Column("above baseline s", "above_baseline_s", number("above_baseline_s", ".3f")),
        Column("target s", "target_above_s", number("target_above_s", ".1f")),
        Column("met", "met", lambda r: {True: "yes", False: "NO"}.get(r.get("met"), "")),
        Column("peak RSS MiB", "peak_rss_mib", number("peak_rss_mib", ".1f")),
    ]
    result = SuiteResult("startup", "start-up time of the command line", columns)
    baseline = None
    for label, args, target in COMMANDS:
        print(f"[startup] {label} x{opts.repeat}", file=sys.stderr, flush=True)
        run_child(python(*args))  # warm the file cache
        runs = [run_child(python(*args)) for _ in range(opts.repeat)]
        failed = [r for r in runs if r.exit_code != 0]
        if failed:
            result.notes.append(f"{label}: {failed[0].last_error_line()}")
        median = statistics.median(r.wall_seconds for r in runs)
        baseline = median if baseline is None else baseline
        above = median - baseline
        result.rows.append({"command": label, "median_s": median, "above_baseline_s": above,
                            "target_above_s": target, "met": None if target is None else above <= target and not failed,
                            "peak_rss_mib": max(r.peak_rss_mib for r in runs), "runs": opts.repeat})
    result.ok = all(r["met"] is not False for r in result.rows)
    result.notes.append(f"median of {opts.repeat} runs in fresh interpreters (after one warm-up run each); "
                        "targets are seconds above the bare interpreter measured in the same run.")
    return result
