"""Sweep benchmark: the speed-up of N worker processes over one.

Runs one sweep (default ``scenarios/demo-sweep.yaml``) with 1 worker and with N
workers on the local process pool, and optionally on a Dask LocalCluster of N
workers, each into its own temporary run store with the cache off (every
scenario is solved), and prints::

    executor | workers | runs | wall s | speed-up vs 1 worker | objectives identical | parent peak MB

Each configuration runs in a fresh child process, so timings include starting
the workers and the peak memory (max RSS) is that of the sweep's parent process
alone.  "objectives identical" compares every scenario's status and objective
with the 1-worker run (relative tolerance 1e-6).

Usage::

    python benchmarks/bench_sweep.py                        # demo sweep, 1 vs os.cpu_count() workers
    python benchmarks/bench_sweep.py --runs 12 --workers 2  # first 12 scenarios only
    python benchmarks/bench_sweep.py --only base,p=9,fuel-20%   # these scenarios only
    python benchmarks/bench_sweep.py --cluster-local        # also on a Dask LocalCluster
    python benchmarks/bench_sweep.py path/to/sweep.yaml --json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SWEEP = ROOT / "scenarios" / "demo-sweep.yaml"
#: Relative tolerance for "objectives identical".
REL_TOL = 1e-6


def run_one(sweep: Path, runs: int | None, only: list[str] | None, executor: str, workers: int) -> dict[str, Any]:
    """Run the sweep once in this process, into a temporary store, solving every scenario.

    Args:
        sweep: The sweep file.
        runs: Only the first ``runs`` scenarios (``None``: all).
        only: Only the scenarios with these names (``None``: all).
        executor: ``pool`` (local process pool) or ``dask`` (Dask LocalCluster).
        workers: Worker processes.

    Returns:
        Wall seconds, runs, statuses and objectives by scenario, and the parent's peak RSS in MB.
    """
    from optimizer.runs.runner import run_sweep
    from optimizer.runs.store import RunStore
    from optimizer.runs.sweep import load_sweep

    _, scenarios = load_sweep(sweep)
    if only:
        missing = sorted(set(only) - {s.name for s in scenarios})
        if missing:
            raise SystemExit(f"{sweep}: no scenarios named {', '.join(missing)}")
        scenarios = [s for s in scenarios if s.name in only]
    scenarios = scenarios[:runs] if runs else scenarios
    with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "bench.db") as store:
        start = time.perf_counter()
        reports = run_sweep(scenarios, store, workers=workers, cluster="local" if executor == "dask" else None,
                            force=True, progress=False)
        wall = time.perf_counter() - start
    return {
        "executor": executor, "workers": workers, "runs": len(reports), "wall_seconds": wall,
        "results": {r.record.scenario: [r.record.status, r.record.objective] for r in reports},
        "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def _same(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> bool:
    """True when both runs have the same scenarios, statuses and objectives (within REL_TOL)."""
    if a.keys() != b.keys():
        return False
    for name, (status, objective) in a.items():
        other_status, other_objective = b[name]
        if status != other_status or (objective is None) != (other_objective is None):
            return False
        if objective is not None and not math.isclose(objective, other_objective, rel_tol=REL_TOL, abs_tol=1e-9):
            return False
    return True


def main() -> None:
    """Parse the arguments, run every configuration in a child process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", nargs="?", type=Path, default=DEFAULT_SWEEP, help="sweep YAML file")
    parser.add_argument("--runs", type=int, default=None, help="only the first N scenarios")
    parser.add_argument("--only", default=None, help="comma-separated scenario names to run (default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="N (default: the CPU count)")
    parser.add_argument("--cluster-local", action="store_true", help="also run on a Dask LocalCluster")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--one", nargs=2, metavar=("EXECUTOR", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:  # child mode: one configuration, result as JSON on stdout
        only = args.only.split(",") if args.only else None
        print(json.dumps(run_one(args.sweep, args.runs, only, args.one[0], int(args.one[1]))))
        return

    configs = [("pool", 1), ("pool", args.workers)] + ([("dask", args.workers)] if args.cluster_local else [])
    rows = []
    for executor, workers in configs:
        command = [sys.executable, __file__, str(args.sweep), "--one", executor, str(workers)]
        if args.runs:
            command += ["--runs", str(args.runs)]
        if args.only:
            command += ["--only", args.only]
        print(f"running {executor} x{workers} ...", file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{executor} x{workers} failed:\n{done.stderr}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))

    baseline = rows[0]
    for row in rows:
        row["speed_up"] = baseline["wall_seconds"] / row["wall_seconds"]
        row["objectives_identical"] = _same(baseline["results"], row["results"])
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "results"} for r in rows], indent=2))
        return
    solved = sum(1 for status, _ in baseline["results"].values() if status in ("optimal", "feasible"))
    print(f"sweep: {args.sweep}  ({baseline['runs']} runs, {solved} with a plan; cache off; "
          f"{os.cpu_count()} CPUs)")
    print(f"{'executor':<13} {'workers':>7} {'runs':>5} {'wall s':>9} {'speed-up':>9} "
          f"{'objectives identical':>21} {'parent peak MB':>15}")
    for row in rows:
        name = "process pool" if row["executor"] == "pool" else "dask local"
        print(f"{name:<13} {row['workers']:>7} {row['runs']:>5} {row['wall_seconds']:>9.2f} "
              f"{row['speed_up']:>8.2f}x {'yes' if row['objectives_identical'] else 'NO':>21} "
              f"{row['parent_peak_mb']:>15.0f}")


if __name__ == "__main__":
    main()
