"""A sweep on 1 worker against N workers (and optionally a Dask LocalCluster of N workers).

Each configuration is one child process ``optimizer run SWEEP --json --force --store TMP/runs.db
--workers W [--cluster local]`` into its own temporary store, so every scenario is solved; its
wall time and peak memory (the largest process: the parent or one of the workers it reaped) are
measured, and every scenario's status and objective is compared with the 1-worker run (relative
tolerance 1e-6).  ``--instances a,b`` runs only these scenarios (written as a sweep of its own,
with the same base and overrides).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from benchmarks.measure import python, run_child
from benchmarks.options import Options
from benchmarks.report import Column, SuiteResult, number

#: Relative tolerance of "objectives identical".
REL_TOL = 1e-6


def sweep_subset(sweep: Path, names: tuple[str, ...], folder: Path) -> tuple[Path, list[str]]:
    """A sweep file in ``folder`` with only the named scenarios of ``sweep``, and the unknown names."""
    from optimizer.runs.sweep import load_sweep

    name, scenarios = load_sweep(sweep)
    by_name = {s.name: s for s in scenarios}
    runs = [{"name": n, **by_name[n].overrides} for n in names if n in by_name]
    path = folder / "subset.yaml"
    base = str(scenarios[0].base) if scenarios else ""
    path.write_text(yaml.safe_dump({"name": name, "base": base, "include_base": False, "runs": runs},
                                   sort_keys=False))
    return path, [n for n in names if n not in by_name]


def _configuration(sweep: Path, executor: str, workers: int, folder: Path) -> dict[str, Any]:
    """Run the sweep once in a child process; wall time, memory, and each scenario's result."""
    argv = python("-m", "optimizer", "run", str(sweep), "--json", "--force", "--workers", str(workers),
                  "--store", str(folder / f"{executor}-{workers}.db"))
    if executor == "dask":
        argv += ["--cluster", "local"]
    run = run_child(argv)
    results = {}
    for line in run.stdout.splitlines():
        if line.strip():
            doc = json.loads(line)
            results[doc["scenario"]] = (doc["status"], doc["objective"])
    solved = sum(status in ("optimal", "feasible") for status, _ in results.values())
    return {"executor": "process pool" if executor == "pool" else "dask local", "workers": workers,
            "runs": len(results), "with_plan": solved, "wall_s": run.wall_seconds, "peak_rss_mib": run.peak_rss_mib,
            "exit_code": run.exit_code, "results": results,
            "error": None if run.exit_code in (0, 2) else run.last_error_line()}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Both runs have the same scenarios, statuses and objectives (within :data:`REL_TOL`)."""
    if a.keys() != b.keys():
        return False
    for name, (status, objective) in a.items():
        other_status, other = b[name]
        if status != other_status or (objective is None) != (other is None):
            return False
        if objective is not None and not math.isclose(objective, other, rel_tol=REL_TOL, abs_tol=1e-9):
            return False
    return True


def run(opts: Options) -> SuiteResult:
    """1 worker, N workers (and Dask with N workers); speed-ups over 1 worker."""
    columns = [
        Column("executor", "executor"), Column("workers", "workers"), Column("runs", "runs"),
        Column("with a plan", "with_plan"), Column("wall s", "wall_s", number("wall_s", ".1f")),
        Column("speed-up", "speedup", lambda r: "-" if r.get("speedup") is None else f"{r['speedup']:.2f}×"),
        Column("objectives identical", "identical"),
        Column("peak RSS MiB", "peak_rss_mib", number("peak_rss_mib", ".0f")),
    ]
    result = SuiteResult("sweep", f"{opts.sweep_file.name}: 1 worker against {opts.workers}", columns)
    configs = [("pool", 1), ("pool", opts.workers)] + ([("dask", opts.workers)] if opts.dask else [])
    with tempfile.TemporaryDirectory(prefix="sweep-") as tmp:
        sweep = opts.sweep_file
        if opts.instances is not None:
            sweep, unknown = sweep_subset(sweep, opts.instances, Path(tmp))
            result.skipped += [f"skipped: no scenario named {n} in {opts.sweep_file}" for n in unknown]
        for executor, workers in configs:
            print(f"[sweep] {executor} x{workers}", file=sys.stderr, flush=True)
            result.rows.append(_configuration(sweep, executor, workers, Path(tmp)))
    first = result.rows[0]["results"]
    for row in result.rows:
        row["speedup"] = result.rows[0]["wall_s"] / row["wall_s"] if row["wall_s"] else None
        row["identical"] = _same(first, row.pop("results"))
    result.ok = all(r["identical"] and r["error"] is None and r["runs"] for r in result.rows)
    result.notes = [f"{r['executor']} x{r['workers']}: {r['error']}" for r in result.rows if r["error"]]
    result.notes.append(f"sweep {opts.sweep_file} with the cache off (--force), each configuration in a child "
                        "process into its own store; wall s includes starting the workers.")
    return result
