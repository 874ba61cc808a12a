"""Benchmark: arc-flow routing against shortest-path lanes on multi-echelon networks.

Usage::

    python benchmarks/bench_routing.py                     # demo (port links only, uncapacitated) + 2 random sizes
    python benchmarks/bench_routing.py --sizes 20x100,50x500,100x1000 --suppliers 4 --products 3
    python benchmarks/bench_routing.py --time-limit 300 --json

For each network the model is built and solved twice, with ``transport:
routing: arc_flow`` (the baseline: one variable per link and product, flow
conserved at every site) and ``shortest_path`` (one variable per supplier, site
and product on the cheapest path).  Both are exact here because the links are
uncapacitated, so the objectives must agree; the table shows what the smaller
model saves.  Every solve runs in a fresh worker process (peak memory measured
on its own, see ``bench_orlib.py``).  The networks use the linear inventory
model and multi-sourcing so that routing, not the stock model, is measured.
Random networks come from :func:`optimizer.io.instances.random_multi_echelon`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import optimizer
from bench_orlib import isolated
from optimizer.io.instances import random_multi_echelon

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scenarios" / "demo"
FORMS = ("arc_flow", "shortest_path")


def network_for(name: str, suppliers: int, products: int, seed: int) -> optimizer.Network:
    """The demo with uncapacitated port links only, or a random ``SITESxREGIONS`` network; linear inventory.

    The demo's site -> site links are dropped: with them its cheapest paths pass through sites that may close,
    where shortest paths are not exact (transit needs the site open) and the form is refused.
    """
    if name == "demo":
        net = optimizer.load(DEMO)
        ports = net.links[~net.links["from"].isin(net.sites.index)]
        net = replace(net, links=ports.assign(capacity=math.inf))
    else:
        n_sites, n_regions = (int(v) for v in name.split("x"))
        net = random_multi_echelon(n_sites, n_regions, suppliers, products, seed)
    return replace(net, settings=replace(net.settings, single_sourcing=False,
                                         inventory=replace(net.settings.inventory, model="linear")))


def run_one(name: str, form: str, suppliers: int, products: int, seed: int,
            time_limit: float | None) -> dict[str, Any]:
    """Build and solve one network with one routing form (runs in a worker process)."""
    net = network_for(name, suppliers, products, seed)
    net = replace(net, settings=replace(net.settings, transport=replace(net.settings.transport, routing=form)))
    start = time.perf_counter()
    built = optimizer.build(net)
    result = optimizer.solve(built, time_limit=time_limit)
    return {
        "network": name, "routing": form, "sites": len(net.sites), "regions": len(net.regions),
        "suppliers": len(net.suppliers), "links": len(net.link_table),
        "variables": built.lp.n_cols, "routing_variables": built.routing.n_cols, "rows": built.lp.n_rows,
        "build_s": built.build_seconds, "solve_s": result.solve_seconds, "total_s": time.perf_counter() - start,
        "status": result.status.value, "objective": result.objective, "gap": result.gap,
        "check_ok": bool(result.check and result.check.ok), "transfers": len(result.transfers),
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a fixed-width text table, with the shortest-path speed-up over arc flows."""
    head = (f"{'network':<10} {'routing':<14} {'vars':>8} {'routing vars':>12} {'rows':>8} {'build s':>8} "
            f"{'solve s':>8} {'objective':>16} {'gap':>8} {'peak MB':>8} {'check':>6} {'vs arc':>7}")
    lines = [head, "-" * len(head)]
    base: dict[str, dict[str, Any]] = {}
    for r in rows:
        if "error" in r:
            lines.append(f"{r.get('network', '?'):<10} {r.get('routing', '?'):<14} error: {r['error']}")
            continue
        if r["routing"] == "arc_flow":
            base[r["network"]] = r
        ref = base.get(r["network"])
        speed = f"{ref['total_s'] / r['total_s']:.2f}x" if ref and r["total_s"] > 0 else "-"
        objective = "-" if r["objective"] is None else f"{r['objective']:,.2f}"
        gap = "-" if r["gap"] is None else f"{r['gap']:.1e}"
        lines.append(
            f"{r['network']:<10} {r['routing']:<14} {r['variables']:>8,} {r['routing_variables']:>12,} "
            f"{r['rows']:>8,} {r['build_s']:>8.2f} {r['solve_s']:>8.2f} {objective:>16} {gap:>8} "
            f"{(r['peak_mb'] or 0):>8.0f} {'ok' if r['check_ok'] else 'FAIL':>6} {speed:>7}")
        if ref is not None and ref is not r and ref["objective"] and r["objective"]:
            diff = abs(ref["objective"] - r["objective"]) / abs(ref["objective"])
            lines.append(f"{'':<10} objectives differ by {diff:.1e} (relative)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if the two routing forms disagree or a plan fails the checker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="demo,20x100,40x300",
                        help="Comma-separated 'demo' and/or SITESxREGIONS random networks.")
    parser.add_argument("--suppliers", type=int, default=3, help="Suppliers of the random networks.")
    parser.add_argument("--products", type=int, default=3, help="Products of the random networks.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the random networks.")
    parser.add_argument("--time-limit", type=float, default=None, help="Seconds per solve.")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of the table.")
    args = parser.parse_args(argv)
    rows = []
    for name in args.sizes.split(","):
        for form in FORMS:
            print(f"{name} {form} ...", file=sys.stderr, flush=True)
            out = isolated(run_one, name, form, args.suppliers, args.products, args.seed, args.time_limit)
            rows.append({"network": name, "routing": form, **out})
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    bad = [r for r in rows if "error" in r or not r.get("check_ok")]
    for name in args.sizes.split(","):
        pair = [r for r in rows if r["network"] == name and r.get("objective") is not None]
        if len(pair) == 2 and abs(pair[0]["objective"] - pair[1]["objective"]) > 1e-6 * abs(pair[0]["objective"]):
            bad.append(pair[0])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
