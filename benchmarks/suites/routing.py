"""Arc-flow routing against shortest-path lanes on multi-echelon networks.

Each network is written as a dataset folder twice, with ``transport: routing: arc_flow`` (the
baseline: one variable per link and product, flow conserved at every site) and
``shortest_path`` (one variable per supplier, site and product, on the cheapest path), and each
is solved by ``optimizer solve DIR --json`` in a child process.  The links are uncapacitated,
so both forms are exact and the objectives must agree.  The networks use the linear stock model
and multi-sourcing, so that the routing, not the stock model, is measured.

Networks (``--sizes``, default ``demo,20x100,40x300``): ``demo`` is ``scenarios/demo`` with its
port links only (uncapacitated: with its site -> site links the cheapest paths pass through
sites that may close, where shortest paths are not exact); ``SITESxREGIONS`` is
:func:`optimizer.io.instances.random_multi_echelon` with 3 suppliers, 3 products, seed 1.
"""

from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.measure import ROOT, Solve, engine_solve
from benchmarks.options import Options
from benchmarks.report import Column, SuiteResult, number
from benchmarks.suites.ladder import parse_size
from optimizer.io.instances import random_multi_echelon, write_dataset
from optimizer.network import Network

DEMO = ROOT / "scenarios" / "demo"
DEFAULT_SIZES = ("demo", "20x100", "40x300")
FORMS = ("arc_flow", "shortest_path")
SUPPLIERS, PRODUCTS, SEED = 3, 3, 1
#: Both forms' objectives agree within this relative difference.
REL_TOL = 1e-6


def network_for(name: str) -> Network:
    """The demo (port links only, uncapacitated) or a random ``SITESxREGIONS`` network; linear stock,
    multi-sourcing."""
    if name == "demo":
        from optimizer.io.dataset import read_dataset

        net = read_dataset(DEMO)
        ports = net.links[~net.links["from"].isin(net.sites.index)]
        net = replace(net, links=ports.assign(capacity=math.inf))
    else:
        sites, regions = parse_size(name)
        net = random_multi_echelon(sites, regions, SUPPLIERS, PRODUCTS, SEED)
    return net.with_settings(single_sourcing=False, inventory=replace(net.settings.inventory, model="linear"))


def run(opts: Options) -> SuiteResult:
    """Solve each network with both routing forms; rows with the shortest-path speed-up."""
    columns = [
        Column("network", "network"), Column("routing", "routing"), Column("status", "status"),
        Column("variables", "variables"),
        Column("build s", "build_s", number("build_s", ".2f")), Column("solve s", "solve_s", number("solve_s", ".2f")),
        Column("wall s", "wall_s", number("wall_s", ".2f")),
        Column("objective", "objective", number("objective", ",.2f")), Column("gap", "gap", number("gap", ".1e")),
        Column("peak RSS MiB", "peak_rss_mib", number("peak_rss_mib", ".0f")),
        Column("check", "check_ok", lambda r: {True: "ok", False: "FAIL"}.get(r.get("check_ok"), "-")),
        Column("speed-up vs arc flow", "speedup",
               lambda r: "-" if r.get("speedup") is None else f"{r['speedup']:.2f}×"),
        Column("objectives agree", "agree"),
    ]
    result = SuiteResult("routing", "arc flows against shortest-path lanes (3 suppliers, 3 products)", columns)
    sizes = opts.sizes or DEFAULT_SIZES
    with tempfile.TemporaryDirectory(prefix="routing-") as tmp:
        for k, name in enumerate(sizes, 1):
            try:
                net = network_for(name)
            except ValueError as exc:
                result.skipped.append(f"skipped: {exc}")
                continue
            pair = []
            for form in FORMS:
                print(f"[routing {k}/{len(sizes)}] {name} {form}", file=sys.stderr, flush=True)
                routed = net.with_settings(transport=replace(net.settings.transport, routing=form))
                folder = write_dataset(routed, Path(tmp) / f"{name}-{form}")
                pair.append(_row(name, form, engine_solve(folder, time_limit=opts.time_limit)))
            _compare(*pair)
            result.rows += pair
    result.ok = bool(result.rows) and all(r["check_ok"] and r["agree"] is not False and not r["error"]
                                          for r in result.rows)
    result.notes = [f"{r['network']} {r['routing']}: {r['error']}" for r in result.rows if r["error"]]
    result.notes.append("wall s: the whole `optimizer solve DIR --json` child process; speed-up = arc-flow wall s / "
                        f"this wall s; objectives agree within {REL_TOL:g} (relative).")
    return result


def _row(name: str, form: str, solve: Solve) -> dict[str, Any]:
    """The table row of one solve."""
    return {"network": name, "routing": form, "variables": solve.variables, "status": solve.status,
            "build_s": solve.build_seconds, "solve_s": solve.solve_seconds, "wall_s": solve.wall_seconds,
            "objective": solve.objective, "gap": solve.gap, "peak_rss_mib": solve.peak_rss_mib,
            "check_ok": solve.check_ok, "error": solve.error}


def _compare(arc: dict[str, Any], short: dict[str, Any]) -> None:
    """Fill the speed-up (only between two solves with a plan: a refused form is no faster) and the agreement of
    the objectives (on both rows)."""
    solved = arc["objective"] is not None and short["objective"] is not None
    arc["speedup"] = 1.0 if arc["wall_s"] else None
    short["speedup"] = arc["wall_s"] / short["wall_s"] if solved and arc["wall_s"] and short["wall_s"] else None
    a, b = arc["objective"], short["objective"]
    agree = None if a is None or b is None else math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)
    arc["agree"] = short["agree"] = agree
