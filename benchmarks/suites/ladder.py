"""The ladder: generated one-echelon networks of growing size, solved to a 1 % gap.

Each rung is :func:`optimizer.io.instances.ladder_network` (fixed seed) written as a dataset
folder into a temporary directory, then measured as
``optimizer solve DIR --json --mip-gap 0.01 --time-limit T`` in a child process.  Targets (issue
11, 2 cores): gap at most 0.01 with the checker's approval, and

=================  ==========  =========
sites x regions    wall time   peak RSS
=================  ==========  =========
50 x 1,000         60 s        2 GiB
200 x 5,000        120 s       4 GiB
500 x 10,000       reported    reported
1,000 x 20,000     600 s       8 GiB
=================  ==========  =========

``T`` is the rung's target time (600 s for 500 x 10,000) unless ``--time-limit`` is given.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.measure import solve_options
from benchmarks.options import Options
from benchmarks.report import Column, SuiteResult
from benchmarks.suites import solves
from benchmarks.suites.solves import Instance
from optimizer.io.instances import LADDER_RUNGS, LADDER_SEED, ladder_network, write_dataset

#: The gap every rung is solved to.
LADDER_GAP = 0.01
#: (sites, regions) -> (target wall seconds, target peak GiB), ``None`` where the rung is only reported.
TARGETS: dict[tuple[int, int], tuple[float, float] | None] = {
    (50, 1_000): (60.0, 2.0), (200, 5_000): (120.0, 4.0), (500, 10_000): None, (1_000, 20_000): (600.0, 8.0),
}
#: Solver time limit of a rung without a target, seconds.
UNTARGETED_TIME_LIMIT = 600.0


def parse_size(text: str) -> tuple[int, int]:
    """``"50x1000"`` (or ``50x1,000``) -> (50, 1000).

    Raises:
        ValueError: Not two whole numbers joined by ``x``.
    """
    parts = text.replace(",", "").replace("_", "").lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"'{text}' is not a size such as 50x1000")
    return int(parts[0]), int(parts[1])


def target_cell(row: dict[str, Any]) -> str:
    """``met`` / ``missed`` / ``reported``, with the target's limits."""
    if row.get("target_s") is None:
        return "reported"
    limits = f"≤ {row['target_s']:g} s, {row['target_gib']:g} GiB"
    return f"{'met' if row['target_met'] else 'MISSED'} ({limits})"


def _target(row: dict[str, Any], target: tuple[float, float] | None) -> None:
    """Add the target columns to a row."""
    row["target_s"], row["target_gib"] = target if target is not None else (None, None)
    if target is None:
        row["target_met"] = None
        return
    seconds, gib = target
    row["target_met"] = bool(solves.row_ok(row) and row["gap"] is not None and row["gap"] <= LADDER_GAP + 1e-12
                             and row["wall_s"] <= seconds and row["peak_rss_mib"] <= gib * 1024)


def run(opts: Options) -> SuiteResult:
    """Generate, write and solve the selected rungs (all by default)."""
    skipped: list[str] = []
    wanted = list(TARGETS)
    if opts.sizes is not None:
        wanted = []
        for text in opts.sizes:
            try:
                size = parse_size(text)
            except ValueError as exc:
                skipped.append(f"skipped: {exc}")
                continue
            if size in TARGETS:
                wanted.append(size)
            else:
                skipped.append(f"skipped: {text} is not a rung ({', '.join(f'{s}x{r}' for s, r in TARGETS)})")
    target = Column("target", "target_met", target_cell)
    result = SuiteResult("ladder", f"generated networks, 3 products, solved to a {LADDER_GAP:.0%} gap",
                         solves.columns(opts.baseline, False, [target], optimum=False), skipped=skipped)
    with tempfile.TemporaryDirectory(prefix="ladder-") as tmp:
        for k, (sites, regions) in enumerate(wanted, 1):
            name = f"{sites}x{regions}"
            print(f"[ladder {k}/{len(wanted)}] {name}: writing the dataset", file=sys.stderr, flush=True)
            folder = write_dataset(ladder_network(sites, regions, LADDER_SEED), Path(tmp) / name)
            limit = opts.time_limit or (TARGETS[(sites, regions)] or (UNTARGETED_TIME_LIMIT,))[0]
            inst = Instance(name, folder, "dataset", f"{sites}x{regions}x3", mip_gap=LADDER_GAP, time_limit=limit)
            row = solves.measure(inst, opts.baseline)
            row["service_km"] = LADDER_RUNGS[(sites, regions)]
            _target(row, TARGETS[(sites, regions)])
            result.rows.append(row)
    result.ok = bool(result.rows) and all(r["target_met"] is not False for r in result.rows)
    result.notes = (solves.errors(result.rows)
                    + [f"networks: optimizer.io.instances.ladder_network(sites, regions, seed={LADDER_SEED}); service "
                       "radius " + ", ".join(f"{r['service_km']:g} km ({r['instance']})" for r in result.rows)
                       + f"; each solved with --mip-gap {LADDER_GAP:g} and --time-limit = the target time "
                         f"({UNTARGETED_TIME_LIMIT:g} s without one) unless --time-limit is given."]
                    + solves.legend(opts.baseline, False, "--strategy" in solve_options(), optimum=False))
    return result
