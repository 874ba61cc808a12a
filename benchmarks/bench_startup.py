"""Start-up time of the command line, against a bare interpreter measured in the same run.

The command line imports lazily: ``optimizer --help`` must not load pandas, scipy,
SQLAlchemy or the solvers, and ``optimizer validate`` only what reading a dataset needs.
Targets (issue 10): ``--help`` within 0.3 s of ``python -c pass``, ``validate
scenarios/demo`` within 1.5 s of it, both in the same environment.

Usage (from the repository root)::

    python benchmarks/bench_startup.py                 # 7 runs of each, the table
    python benchmarks/bench_startup.py --runs 15 --json
    python benchmarks/bench_startup.py --importtime    # also where --help's import time goes

Each command runs in a fresh interpreter (``sys.executable``); the table shows the median
wall-clock seconds, the median above the bare interpreter, the target and the peak memory
(max RSS of the child, MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: (label, arguments after the interpreter, allowed seconds above the bare interpreter or None).
COMMANDS: tuple[tuple[str, tuple[str, ...], float | None], ...] = (
    ("python -c pass (baseline)", ("-c", "pass"), None),
    ("optimizer --help", ("-m", "optimizer", "--help"), 0.3),
    ("optimizer validate scenarios/demo", ("-m", "optimizer", "validate", str(ROOT / "scenarios" / "demo")), 1.5),
)


def run_once(args: tuple[str, ...]) -> tuple[float, float]:
    """Run ``python ARGS`` once; return (wall seconds, the child's max RSS in MiB)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed with exit code {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss / 1024.0


def import_profile(limit: int = 12) -> list[tuple[str, float]]:
    """The slowest cumulative imports of ``import optimizer.cli`` (module, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import optimizer.cli"],
                          capture_output=True, text=True, env=env, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((parts[2].strip(), int(parts[1]) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:limit]


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table (or JSON) and return 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (median reported)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--importtime", action="store_true", help="show the slowest imports of optimizer.cli")
    opts = parser.parse_args(argv)
    rows = []
    baseline = None
    for label, args, target in COMMANDS:
        run_once(args)  # warm the file cache
        samples = [run_once(args) for _ in range(opts.runs)]
        median = statistics.median(s for s, _ in samples)
        rss = max(m for _, m in samples)
        if baseline is None:
            baseline = median
        above = median - baseline
        rows.append({"command": label, "median_s": median, "above_baseline_s": above, "target_above_s": target,
                     "met": None if target is None else above <= target, "peak_rss_mib": rss})
    missed = any(row["met"] is False for row in rows)
    if opts.json:
        doc = {"runs": opts.runs, "python": sys.version.split()[0], "rows": rows}
        if opts.importtime:
            doc["slowest_imports"] = import_profile()
        print(json.dumps(doc))
        return 1 if missed else 0
    print(f"{'command':<36} {'median s':>9} {'above base':>11} {'target':>7} {'met':>4} {'peak MiB':>9}")
    for row in rows:
        target = "" if row["target_above_s"] is None else f"{row['target_above_s']:.1f}"
        met = "" if row["met"] is None else ("yes" if row["met"] else "NO")
        print(f"{row['command']:<36} {row['median_s']:>9.3f} {row['above_baseline_s']:>11.3f} {target:>7} "
              f"{met:>4} {row['peak_rss_mib']:>9.1f}")
    if opts.importtime:
        print("\nslowest cumulative imports of `import optimizer.cli` (s):")
        for module, seconds in import_profile():
            print(f"  {seconds:7.3f}  {module}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
