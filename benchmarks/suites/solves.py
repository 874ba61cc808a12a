"""Solve suites: one engine solve per instance, optionally the two baselines, one table row each.

With ``--baseline`` every instance is also solved, in the same run, by

* the plain compact model in HiGHS (``optimizer solve ... --strategy compact``; the option is
  passed only when the command line has it, otherwise the engine's default model runs), and
* the textbook PuLP + CBC model (``benchmarks/textbook_pulp.py``), for OR-Library and Holmberg
  files only,

each with a time limit of :data:`BASELINE_FACTOR` times the engine's wall time.  A baseline that
does not finish (prove optimality, or reach the same gap) within its limit gets the speed-up
``≥ limit / engine wall time``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from benchmarks.measure import Solve, engine_solve, textbook_solve
from benchmarks.report import Column, number

#: A baseline's time limit is this many times the engine's wall time.
BASELINE_FACTOR = 10.0
#: An objective within this relative error of the published optimum matches it (the published
#: values are rounded to 3 decimals).
MATCH_RTOL = 1e-6
#: Shortest baseline time limit, seconds (the solvers need a positive limit).
MIN_BASELINE_LIMIT = 1.0


@dataclass(frozen=True)
class Instance:
    """One network to solve.

    Attributes:
        name: Instance name.
        path: Its file or dataset folder.
        fmt: ``dataset``, ``orlib`` or ``sscflp``.
        size: ``n x m`` or ``sites x regions x products``.
        optimum: Published optimum, currency (``None``: none).
        mip_gap: ``--mip-gap`` of the engine and the compact baseline (``None``: prove optimality).
        time_limit: ``--time-limit`` of the engine, seconds (``None``: none).
    """

    name: str
    path: Path
    fmt: str
    size: str
    optimum: float | None = None
    mip_gap: float | None = None
    time_limit: float | None = None

    @property
    def textbook(self) -> bool:
        """The textbook PuLP model applies (one-product benchmark files only)."""
        return self.fmt in ("orlib", "sscflp")


def file_size(path: Path) -> str:
    """``n x m`` from the first two numbers of an OR-Library or Holmberg file."""
    with path.open() as f:
        n, m = f.read(200).split()[:2]
    return f"{n}x{m}"


def relative_error(value: float | None, optimum: float | None) -> float | None:
    """``|value - optimum| / |optimum|``, ``None`` when either is missing."""
    return None if value is None or optimum is None else abs(value - optimum) / abs(optimum)


def measure(inst: Instance, baseline: bool) -> dict[str, Any]:
    """Solve one instance with the engine (and the baselines); return its table row."""
    engine = engine_solve(inst.path, inst.fmt, time_limit=inst.time_limit, mip_gap=inst.mip_gap)
    row: dict[str, Any] = {
        "instance": inst.name, "size": inst.size, "status": engine.status, "termination": engine.termination,
        "build_s": engine.build_seconds, "solve_s": engine.solve_seconds, "wall_s": engine.wall_seconds,
        "objective": engine.objective, "bound": engine.bound, "gap": engine.gap,
        "peak_rss_mib": engine.peak_rss_mib, "check_ok": engine.check_ok, "variables": engine.variables,
        "optimum": inst.optimum, "error_vs_optimum": relative_error(engine.objective, inst.optimum),
        "time_limit_s": inst.time_limit, "mip_gap": inst.mip_gap, "error": engine.error,
    }
    progress = f"engine {engine.wall_seconds:.2f} s {engine.status}"
    if baseline and engine.error is None and engine.wall_seconds:
        limit = max(MIN_BASELINE_LIMIT, BASELINE_FACTOR * engine.wall_seconds)
        compact = engine_solve(inst.path, inst.fmt, strategy="compact", time_limit=limit, mip_gap=inst.mip_gap)
        row |= _baseline_cells("compact", compact, limit, engine.wall_seconds, inst.optimum)
        progress += f"; compact {compact.wall_seconds:.2f} s {compact.status}"
        if inst.textbook:
            pulp = textbook_solve(inst.path, inst.fmt, time_limit=limit)
            row |= _baseline_cells("pulp", pulp, limit, engine.wall_seconds, inst.optimum)
            progress += f"; pulp {pulp.wall_seconds:.2f} s {pulp.status}"
    print(f"  {inst.name}: {progress}", file=sys.stderr, flush=True)
    return row


def _baseline_cells(prefix: str, run: Solve, limit: float, engine_wall: float,
                    optimum: float | None) -> dict[str, Any]:
    """A baseline's cells: status, wall time, time limit, speed-up (a lower bound when it did not finish)."""
    done = run.finished and run.wall_seconds is not None
    model = None if run.build_seconds is None or run.solve_seconds is None else run.build_seconds + run.solve_seconds
    return {f"{prefix}_status": run.status, f"{prefix}_wall_s": run.wall_seconds, f"{prefix}_model_s": model,
            f"{prefix}_limit_s": limit,
            f"{prefix}_finished": done,
            f"{prefix}_speedup": (run.wall_seconds if done else limit) / engine_wall,
            f"{prefix}_error_vs_optimum": relative_error(run.objective, optimum), f"{prefix}_error": run.error}


def speedup_cell(prefix: str) -> Callable[[dict[str, Any]], str]:
    """``12.3×``, or ``≥ 10.0×`` when the baseline did not finish."""
    def cell(row: dict[str, Any]) -> str:
        value = row.get(f"{prefix}_speedup")
        if value is None:
            return "-"
        return f"{value:.1f}×" if row.get(f"{prefix}_finished") else f"≥ {value:.1f}×"
    return cell


def row_ok(row: dict[str, Any]) -> bool:
    """The engine's plan passed the checker, reached its goal (optimality or its gap) and matches
    the published optimum (when there is one)."""
    if row.get("error") or row.get("check_ok") is not True or row.get("termination") not in ("optimal", "gap_limit"):
        return False
    return row.get("error_vs_optimum") is None or row["error_vs_optimum"] <= MATCH_RTOL


def columns(baseline: bool, textbook: bool, extra: list[Column] | None = None, optimum: bool = True) -> list[Column]:
    """The table of a solve suite.

    Args:
        baseline: With the baselines' columns.
        textbook: With the textbook PuLP model's columns (when ``baseline``).
        extra: Columns (such as a target) placed before the baselines'.
        optimum: With the error against the published optimum.
    """
    cols = [
        Column("instance", "instance"), Column("size", "size"), Column("status", "status"),
        Column("build s", "build_s", number("build_s", ".2f")), Column("solve s", "solve_s", number("solve_s", ".2f")),
        Column("wall s", "wall_s", number("wall_s", ".2f")),
        Column("objective", "objective", number("objective", ",.3f")),
        Column("bound", "bound", number("bound", ",.3f")), Column("gap", "gap", number("gap", ".1e")),
        Column("peak RSS MiB", "peak_rss_mib", number("peak_rss_mib", ".0f")),
        Column("check", "check_ok", lambda r: {True: "ok", False: "FAIL"}.get(r.get("check_ok"), "-")),
    ] + ([Column("error vs optimum", "error_vs_optimum", number("error_vs_optimum", ".1e"))] if optimum else []) \
        + (extra or [])
    if baseline:
        cols += [Column("compact s", "compact_wall_s", number("compact_wall_s", ".2f")),
                 Column("compact status", "compact_status"),
                 Column("compact speed-up", "compact_speedup", speedup_cell("compact"))]
        if textbook:
            cols += [Column("PuLP+CBC s", "pulp_wall_s", number("pulp_wall_s", ".2f")),
                     Column("PuLP status", "pulp_status"),
                     Column("PuLP speed-up", "pulp_speedup", speedup_cell("pulp"))]
    return cols


def totals(rows: list[dict[str, Any]], baseline: bool, textbook: bool) -> dict[str, Any]:
    """The totals row: summed times, worst gap and error, largest memory, overall speed-ups.

    An overall speed-up is (sum of the baseline's times) / (sum of the engine's times), where a
    baseline that did not finish counts with its time limit; it is marked as a lower bound then.
    """
    def total(key: str) -> float | None:
        values = [r.get(key) for r in rows]
        return None if not values or any(v is None for v in values) else float(sum(values))

    def worst(key: str) -> float | None:
        values = [r.get(key) for r in rows]
        return None if not values or any(v is None for v in values) else max(values)

    out: dict[str, Any] = {
        "instance": "total", "size": f"{len(rows)} instances",
        "status": f"{sum(row_ok(r) for r in rows)}/{len(rows)} ok",
        "build_s": total("build_s"), "solve_s": total("solve_s"), "wall_s": total("wall_s"), "gap": worst("gap"),
        "peak_rss_mib": worst("peak_rss_mib"), "error_vs_optimum": worst("error_vs_optimum"),
        "check_ok": all(r.get("check_ok") is True for r in rows),
    }
    engine = out["wall_s"]
    for prefix in ("compact", "pulp") if baseline else ():
        if prefix == "pulp" and not textbook:
            continue
        spent = [r.get(f"{prefix}_wall_s") if r.get(f"{prefix}_finished") else r.get(f"{prefix}_limit_s")
                 for r in rows]
        if engine and spent and all(s is not None for s in spent):
            out[f"{prefix}_wall_s"] = total(f"{prefix}_wall_s")
            out[f"{prefix}_finished"] = all(r.get(f"{prefix}_finished") for r in rows)
            out[f"{prefix}_speedup"] = sum(spent) / engine
            model, base = model_seconds(rows, ""), model_seconds(rows, prefix)
            if out[f"{prefix}_finished"] and model and base is not None:
                out[f"{prefix}_model_s"] = base
                out[f"{prefix}_model_speedup"] = base / model
    out["model_s"] = model_seconds(rows, "")
    return out


def model_seconds(rows: list[dict[str, Any]], prefix: str) -> float | None:
    """Total build + solve seconds (no start-up, no reading) of the engine (``prefix`` ``""``) or a baseline."""
    if not prefix:
        values = [None if r.get("build_s") is None or r.get("solve_s") is None else r["build_s"] + r["solve_s"]
                  for r in rows]
    else:
        values = [r.get(f"{prefix}_model_s") for r in rows]
    return None if not values or any(v is None for v in values) else float(sum(values))


def model_time_note(total: dict[str, Any]) -> str | None:
    """A note comparing total build + solve seconds, where every baseline finished."""
    parts = [f"{label} {total[f'{p}_model_s']:.2f} s ({total[f'{p}_model_speedup']:.1f}×)"
             for p, label in (("compact", "compact"), ("pulp", "PuLP+CBC")) if total.get(f"{p}_model_speedup")]
    if not parts or total.get("model_s") is None:
        return None
    return (f"total build + solve seconds, start-up and reading excluded: engine {total['model_s']:.2f} s, "
            + ", ".join(parts) + ".")


def errors(rows: list[dict[str, Any]]) -> list[str]:
    """Note lines for failed solves and rejected plans."""
    notes = []
    for r in rows:
        if r.get("error"):
            notes.append(f"{r['instance']}: engine {r['error']}")
        if r.get("check_ok") is False:
            notes.append(f"{r['instance']}: the checker rejected the engine's plan")
        for prefix, label in (("compact", "compact baseline"), ("pulp", "PuLP+CBC")):
            if r.get(f"{prefix}_error"):
                notes.append(f"{r['instance']}: {label} {r[f'{prefix}_error']}")
    return notes


def legend(baseline: bool, textbook: bool, strategy_option: bool, optimum: bool = True) -> list[str]:
    """How to read a solve suite's table."""
    notes = ["wall s: the whole `optimizer solve PATH --json` child process, start-up included; build s and "
             "solve s as it reports them; peak RSS: largest resident set of the child (os.wait4)."]
    if optimum:
        notes.append(f"error vs optimum: |objective - published| / published (a match is at most {MATCH_RTOL:g}; "
                     "the published values are rounded to 3 decimals).")
    if baseline:
        model = ("`--strategy compact`" if strategy_option else
                 "the engine's default model (this command line has no --strategy yet)")
        notes.append(f"baselines, each limited to {BASELINE_FACTOR:g}x the engine's wall time: compact = {model}"
                     + ("; PuLP+CBC = the textbook model of benchmarks/textbook_pulp.py" if textbook else "")
                     + ". Speed-up = baseline wall s / engine wall s; `≥` when the baseline did not finish, "
                       "then limit / engine wall s.")
    return notes
