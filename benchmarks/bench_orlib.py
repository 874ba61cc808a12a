"""Benchmark: the engine against a textbook PuLP + CBC model on OR-Library's capacitated instances.

Usage::

    python benchmarks/bench_orlib.py                       # the 37 small cap instances
    python benchmarks/bench_orlib.py --instances cap41,cap131 --solver cbc
    python benchmarks/bench_orlib.py --large --shared /path/to/benchmarks --time-limit 600
    python benchmarks/bench_orlib.py --json > results.json

Each instance is solved twice: by the engine through its public API
(``optimizer.load`` + ``optimizer.solve``) and by the textbook model of
:mod:`textbook_pulp`.  Every solve runs in a fresh worker process, so that
its peak memory can be measured on its own (see ``benchmarks/README.md``).
A table goes to stdout, progress to stderr; ``--json`` prints JSON instead of
the table.  The exit code is 1 if an objective misses its published optimum
and 2 if no instance was run.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import pulp

import optimizer
from textbook_pulp import GAP_REL, solve_textbook

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "tests" / "data" / "orlib"
DEFAULT_SHARED = Path("/work/shared/benchmarks")
#: An objective within this relative error of the published optimum matches it
#: (the published values are rounded to 3 decimals).
MATCH_RTOL = 1e-6
#: With --time-limit T, a worker still running after WALL_FACTOR * T + WALL_SLACK seconds is killed.
WALL_FACTOR = 1.5
WALL_SLACK = 30.0
#: ru_maxrss is in kilobytes on Linux and in bytes on macOS.
RSS_UNIT_BYTES = 1 if sys.platform == "darwin" else 1024


@dataclass
class Instance:
    """One benchmark instance: its name, file and published optimum."""

    name: str
    path: Path
    optimum: float


@dataclass
class Row:
    """Measurements of one instance (times in seconds, memory in MB)."""

    instance: str
    optimum: float
    size: str = ""
    engine_status: str = ""
    engine_objective: float | None = None
    engine_gap: float | None = None
    engine_seconds: float | None = None
    engine_build_seconds: float | None = None
    engine_check_ok: bool | None = None
    engine_peak_mb: float | None = None
    engine_error: str | None = None
    pulp_status: str = ""
    pulp_objective: float | None = None
    pulp_seconds: float | None = None
    pulp_build_seconds: float | None = None
    pulp_peak_mb: float | None = None
    pulp_error: str | None = None

    @property
    def engine_error_rel(self) -> float | None:
        """|engine objective - published| / |published|."""
        return _rel(self.engine_objective, self.optimum)

    @property
    def pulp_error_rel(self) -> float | None:
        """|PuLP objective - published| / |published|."""
        return _rel(self.pulp_objective, self.optimum)

    @property
    def speedup(self) -> float | None:
        """PuLP time / engine time."""
        if self.engine_seconds and self.pulp_seconds is not None:
            return self.pulp_seconds / self.engine_seconds
        return None

    def matched(self, with_pulp: bool) -> bool:
        """True when every objective that was computed matches the published optimum."""
        errors = [self.engine_error_rel] + ([self.pulp_error_rel] if with_pulp else [])
        return all(e is not None and e <= MATCH_RTOL for e in errors)


def _rel(value: float | None, optimum: float) -> float | None:
    return None if value is None else abs(value - optimum) / abs(optimum)


# --- instances ---------------------------------------------------------------------------


def read_optima(path: Path) -> list[dict[str, str]]:
    """Rows of an ``optima.csv`` (``instance,capacity,optimum,source``), empty if absent."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def small_instances(data: Path) -> list[Instance]:
    """The cap instances of ``data/optima.csv`` whose capacities are those in the file."""
    return [Instance(r["instance"], data / r["instance"], float(r["optimum"]))
            for r in read_optima(data / "optima.csv") if not r["capacity"]]


def large_instances(shared: Path) -> list[Instance]:
    """capa/capb/capc (uncapacitated) and their capacity variants, from the shared folder."""
    out = []
    for r in read_optima(shared / "orlib" / "optima.csv"):
        if r["capacity"] == "inf":
            out.append(Instance(r["instance"], shared / "orlib" / r["instance"], float(r["optimum"])))
        elif r["capacity"]:
            name = r["instance"] + r["capacity"]
            out.append(Instance(name, shared / "orlib" / "capacity_variants" / name, float(r["optimum"])))
    return out


# --- isolated runs -----------------------------------------------------------------------


def engine_run(path: str, solver: str, time_limit: float | None) -> dict[str, Any]:
    """Load and solve one instance with the engine's public API."""
    net = optimizer.load(path, format="orlib")
    res = optimizer.solve(net, solver=solver, time_limit=time_limit)
    return {
        "size": f"{len(net.sites)}x{len(net.regions)}",
        "engine_status": str(res.status),
        "engine_objective": res.objective,
        "engine_gap": res.gap,
        "engine_seconds": res.build_seconds + res.solve_seconds,
        "engine_build_seconds": res.build_seconds,
        "engine_check_ok": None if res.check is None else bool(res.check.ok),
    }


def pulp_run(path: str, time_limit: float | None) -> dict[str, Any]:
    """Load one instance and solve the textbook PuLP model."""
    res = solve_textbook(optimizer.load(path, format="orlib"), time_limit=time_limit)
    return {
        "pulp_status": res.status,
        "pulp_objective": res.objective,
        "pulp_seconds": res.build_seconds + res.solve_seconds,
        "pulp_build_seconds": res.build_seconds,
    }


class SubprocessPeak:
    """Samples the peak resident memory (VmHWM) of this process's child processes.

    CBC runs as a separate program, so ``getrusage`` of the worker does not see
    it (and ``RUSAGE_CHILDREN`` would report the worker's own size at fork
    time).  A thread reads ``/proc/<child>/status`` every ``interval``
    seconds, skipping children not yet exec'd; elsewhere than Linux the peak
    stays 0.
    """

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "SubprocessPeak":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        pid = os.getpid()
        children = Path(f"/proc/{pid}/task/{threading.main_thread().native_id}/children")
        try:
            own_exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            return
        while not self._stop.wait(self.interval):
            try:
                pids = children.read_text().split()
            except OSError:
                return
            for child in pids:
                try:
                    if os.readlink(f"/proc/{child}/exe") == own_exe:
                        continue  # forked but not yet exec'd: still shares this process's memory
                    status = Path(f"/proc/{child}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))


def _worker(conn: Any, fn: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> None:
    """Run ``fn`` and send back its result plus the peak memory it added, in MB."""
    if hasattr(os, "setpgid"):
        os.setpgid(0, 0)  # own process group, so that a runaway solver subprocess can be killed with it
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with SubprocessPeak() as children:
        try:
            out = fn(*args)
        except Exception as exc:  # reported in the table, the benchmark goes on
            out = {"error": f"{type(exc).__name__}: {exc}"}
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * RSS_UNIT_BYTES
    out["peak_mb"] = (grown + children.peak_kb * 1024) / 2**20
    conn.send(out)
    conn.close()


def isolated(fn: Callable[..., dict[str, Any]], *args: Any, wall_limit: float | None = None) -> dict[str, Any]:
    """Run ``fn(*args)`` in a fresh worker process and return its result dict.

    Args:
        fn: A module-level function returning a dict.
        *args: Its arguments.
        wall_limit: Seconds after which the worker and its subprocesses are
            killed (CBC does not always stop at its own time limit); ``None`` waits.

    Returns:
        ``fn``'s dict plus ``peak_mb``, or ``error`` if the worker failed.
    """
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(send, fn, args))
    proc.start()
    send.close()
    if not receive.poll(wall_limit):
        if hasattr(os, "killpg"):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.kill()
        proc.join()
        return {"error": f"killed after {wall_limit:.0f} s wall clock (the solver overran its time limit)",
                "peak_mb": None}
    try:
        out = receive.recv()
    except EOFError:
        out = {"error": "worker process died", "peak_mb": None}
    proc.join()
    if proc.exitcode not in (0, None) and "error" not in out:
        out["error"] = f"worker exit code {proc.exitcode}"
    return out


def measure(inst: Instance, solver: str, time_limit: float | None, with_pulp: bool) -> Row:
    """Solve one instance with the engine and (optionally) the textbook model."""
    row = Row(inst.name, inst.optimum)
    wall = None if time_limit is None else WALL_FACTOR * time_limit + WALL_SLACK
    out = isolated(engine_run, str(inst.path), solver, time_limit, wall_limit=wall)
    row.engine_peak_mb = out.pop("peak_mb")
    row.engine_error = out.pop("error", None)
    for key, value in out.items():
        setattr(row, key, value)
    if with_pulp:
        out = isolated(pulp_run, str(inst.path), time_limit, wall_limit=wall)
        row.pulp_peak_mb = out.pop("peak_mb")
        row.pulp_error = out.pop("error", None)
        for key, value in out.items():
            setattr(row, key, value)
    return row


# --- output ------------------------------------------------------------------------------


def _f(value: float | None, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def totals(rows: list[Row], with_pulp: bool) -> dict[str, Any]:
    """Sums of times, overall speed-up, worst errors and peak memory."""
    def total(attr: str) -> float | None:
        values = [getattr(r, attr) for r in rows]
        return None if not values or any(v is None for v in values) else float(sum(values))

    def worst(values: list[float | None]) -> float | None:
        return None if not values or any(v is None for v in values) else max(values)

    engine, pulp_s = total("engine_seconds"), total("pulp_seconds") if with_pulp else None
    return {
        "instances": len(rows),
        "matched": sum(r.matched(with_pulp) for r in rows),
        "engine_seconds": engine,
        "pulp_seconds": pulp_s,
        "speedup": pulp_s / engine if engine and pulp_s is not None else None,
        "engine_max_error_rel": worst([r.engine_error_rel for r in rows]),
        "pulp_max_error_rel": worst([r.pulp_error_rel for r in rows]) if with_pulp else None,
        "engine_max_peak_mb": worst([r.engine_peak_mb for r in rows]),
        "pulp_max_peak_mb": worst([r.pulp_peak_mb for r in rows]) if with_pulp else None,
    }


def table(rows: list[Row], tot: dict[str, Any], solver: str, with_pulp: bool) -> str:
    """The fixed-width results table with a totals row."""
    head = ("instance", "n x m", "engine s", "engine objective", "gap", "pulp s", "pulp objective",
            "speed-up", "eng err", "pulp err", "eng MB", "pulp MB", "match")
    lines = [[r.instance, r.size, _f(r.engine_seconds, ".3f"), _f(r.engine_objective, ".3f"),
              _f(r.engine_gap, ".1e"), _f(r.pulp_seconds, ".3f"), _f(r.pulp_objective, ".3f"),
              _f(r.speedup, ".1f") + ("x" if r.speedup is not None else ""),
              _f(r.engine_error_rel, ".1e"), _f(r.pulp_error_rel, ".1e"),
              _f(r.engine_peak_mb, ".1f"), _f(r.pulp_peak_mb, ".1f"),
              "yes" if r.matched(with_pulp) else "NO"] for r in rows]
    lines.append(["TOTAL", f"{tot['instances']} inst", _f(tot["engine_seconds"], ".3f"), "", "",
                  _f(tot["pulp_seconds"], ".3f"), "",
                  _f(tot["speedup"], ".1f") + ("x" if tot["speedup"] is not None else ""),
                  _f(tot["engine_max_error_rel"], ".1e"), _f(tot["pulp_max_error_rel"], ".1e"),
                  _f(tot["engine_max_peak_mb"], ".1f"), _f(tot["pulp_max_peak_mb"], ".1f"),
                  f"{tot['matched']}/{tot['instances']}"])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    fmt = "  ".join(f"{{:{'<' if k < 2 else '>'}{w}}}" for k, w in enumerate(widths))
    rule = "  ".join("-" * w for w in widths)
    out = [fmt.format(*head), rule] + [fmt.format(*line) for line in lines[:-1]] + [rule, fmt.format(*lines[-1])]
    textbook = f"textbook: PuLP {pulp.__version__} + CBC, gapRel {GAP_REL:g}" if with_pulp else "textbook model not run"
    notes = [f"engine: optimizer.solve(solver={solver!r}); {textbook}.",
             "times: build + solve seconds; err: |objective - published| / published; "
             "MB: peak RSS growth of the worker process (getrusage ru_maxrss; includes in-process HiGHS/SCIP)",
             "    plus the peak RSS (VmHWM) of a solver subprocess such as CBC, sampled every 10 ms."]
    notes += [f"{r.instance}: engine {r.engine_error}" for r in rows if r.engine_error]
    notes += [f"{r.instance}: pulp {r.pulp_error}" for r in rows if r.pulp_error]
    notes += [f"{r.instance}: the engine's checker rejected the plan" for r in rows if r.engine_check_ok is False]
    return "\n".join(out + [""] + notes)


def environment() -> dict[str, Any]:
    """Machine and library versions, for the record."""
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "pulp": pulp.__version__, "date": time.strftime("%Y-%m-%d %H:%M:%S")}


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="folder with the cap files and optima.csv (default: tests/data/orlib)")
    p.add_argument("--instances", help="comma-separated names, e.g. cap41,cap42 (default: all 37; with --large, "
                                       "also capa/capb/capc and the capacity variants)")
    p.add_argument("--solver", default="highs", help="engine backend: highs, cbc or scip (default: highs)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds per solve, both sides; a run still going after 1.5 x this + 30 s is killed "
                        "(default: none)")
    p.add_argument("--no-pulp", action="store_true", help="skip the textbook PuLP model")
    p.add_argument("--large", action="store_true",
                   help="add capa/capb/capc (uncapacitated) and their 12 capacity variants (100 x 1000)")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                   help=f"folder holding orlib/ with the large files (default: {DEFAULT_SHARED})")
    p.add_argument("--json", action="store_true", help="print JSON to stdout instead of the table")
    return p.parse_args(argv)


def select(args: argparse.Namespace) -> tuple[list[Instance], list[str]]:
    """The instances to run and the skip messages."""
    small, skipped = small_instances(args.data), []
    if not small:
        skipped.append(f"skipped: no optima.csv with cap instances in {args.data}")
    shared_ok = (args.shared / "orlib").is_dir()
    large = large_instances(args.shared) if shared_ok else []
    wanted = [n.strip() for n in args.instances.split(",") if n.strip()] if args.instances else None
    unknown: list[str] = []
    if wanted is None:
        chosen = small + (large if args.large else [])
    else:
        by_name = {inst.name: inst for inst in small + large}
        chosen = [by_name[n] for n in wanted if n in by_name]
        unknown = [n for n in wanted if n not in by_name]
    if not shared_ok and (args.large or unknown):
        skipped.append(f"skipped: {args.shared} not found (large instances capa/capb/capc and variants)")
    if unknown:
        skipped.append(f"skipped: unknown instance(s) {', '.join(unknown)}")
    present = [inst for inst in chosen if inst.path.exists()]
    skipped += [f"skipped: {inst.path} not found" for inst in chosen if not inst.path.exists()]
    return present, skipped


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit code (1: an objective misses its optimum, 2: nothing ran)."""
    args = parse_args(argv)
    instances, skipped = select(args)
    for message in skipped:
        print(message, file=sys.stderr)
    with_pulp = not args.no_pulp
    rows = []
    for k, inst in enumerate(instances, 1):
        print(f"[{k}/{len(instances)}] {inst.name} ...", end="", file=sys.stderr, flush=True)
        row = measure(inst, args.solver, args.time_limit, with_pulp)
        rows.append(row)
        print(f" engine {_f(row.engine_seconds, '.2f')} s" + (f", pulp {_f(row.pulp_seconds, '.2f')} s"
                                                              if with_pulp else ""), file=sys.stderr, flush=True)
    tot = totals(rows, with_pulp)
    if args.json:
        doc = {"environment": environment(), "solver": args.solver, "skipped": skipped,
               "rows": [asdict(r) | {"engine_error_rel": r.engine_error_rel, "pulp_error_rel": r.pulp_error_rel,
                                     "speedup": r.speedup, "matched": r.matched(with_pulp)} for r in rows],
               "totals": tot}
        print(json.dumps(doc, indent=2))
    else:
        env = environment()
        print(f"# {env['date']}  Python {env['python']}  {env['platform']}  {env['cpus']} CPUs")
        print(table(rows, tot, args.solver, with_pulp))
        for message in skipped:
            print(message)
    if not rows:
        return 2
    return 0 if tot["matched"] == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
