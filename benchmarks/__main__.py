"""``python -m benchmarks run [SUITE ...]``: run benchmark suites, print and record their tables.

Usage (from the repository root)::

    python -m benchmarks list
    python -m benchmarks run orlib --baseline
    python -m benchmarks run capabc --baseline --shared /path/to/benchmarks
    python -m benchmarks run ladder --sizes 50x1000,200x5000
    python -m benchmarks run orlib --instances cap41,cap42 --json --no-record

Progress goes to stderr.  stdout gets each suite's Markdown section, or with ``--json`` one JSON
document (the machine and every suite's rows).  Each suite with rows rewrites its own section of
``benchmarks/RESULTS.md`` and its CSV file ``benchmarks/results/SUITE.csv`` (unless
``--no-record``).  Exit code: 0 every suite passed (optima matched, plans checked, targets met),
1 one did not, 2 nothing ran.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from benchmarks.options import SHARED_ENV, Options, default_shared
from benchmarks.report import CSV_DIR, RESULTS_FILE, machine, record_section, section_text, write_csv
from benchmarks.suites import SUITES


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the suites")
    run = sub.add_parser("run", help="run suites (all when none is named)",
                         description="Run benchmark suites: " + ", ".join(SUITES) + ".")
    run.add_argument("suites", nargs="*", metavar="SUITE", help="suite names (default: every suite)")
    run.add_argument("--baseline", action="store_true",
                     help="also solve each instance with the compact HiGHS model and the textbook PuLP+CBC model, "
                          "each limited to 10x the engine's wall time (never in CI)")
    run.add_argument("--time-limit", type=float, metavar="S",
                     help="solver seconds per engine solve (default: none; ladder: the rung's target time)")
    run.add_argument("--shared", type=Path, default=None, metavar="PATH",
                     help=f"folder with orlib/ and sscflp/ (default: ${SHARED_ENV}, else ../shared/benchmarks "
                          "beside the repository)")
    run.add_argument("--instances", type=_names, metavar="A,B", help="only these instances (or sweep scenarios)")
    run.add_argument("--sizes", type=_names, metavar="50x1000,...", help="ladder rungs / routing networks to run")
    run.add_argument("--repeat", type=int, default=7, metavar="N", help="startup: runs of each command (default 7)")
    run.add_argument("--workers", type=int, default=2, metavar="N", help="sweep: parallel workers (default 2)")
    run.add_argument("--dask", action="store_true", help="sweep: also run on a Dask LocalCluster")
    run.add_argument("--sweep-file", type=Path, default=Options.sweep_file, metavar="FILE",
                     help="sweep: the sweep (default scenarios/demo-sweep.yaml)")
    run.add_argument("--json", action="store_true", help="print one JSON document on stdout instead of the tables")
    run.add_argument("--results", type=Path, default=RESULTS_FILE, metavar="FILE",
                     help="the Markdown file whose suite sections are rewritten (default benchmarks/RESULTS.md)")
    run.add_argument("--csv-dir", type=Path, default=CSV_DIR, metavar="DIR",
                     help="folder of the CSV files, one per suite (default benchmarks/results)")
    run.add_argument("--no-record", action="store_true", help="write neither RESULTS.md nor the CSV files")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = parser().parse_args(argv)
    if args.command == "list":
        for name, (description, _) in SUITES.items():
            print(f"{name:<10} {description}")
        return 0
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        print(f"unknown suite(s) {', '.join(unknown)}; the suites are {', '.join(SUITES)}", file=sys.stderr)
        return 2
    opts = Options(baseline=args.baseline, time_limit=args.time_limit, shared=args.shared or default_shared(),
                   instances=args.instances, sizes=args.sizes, repeat=args.repeat, workers=args.workers,
                   dask=args.dask, sweep_file=args.sweep_file)
    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    info = machine()
    results = []
    for name in args.suites or list(SUITES):
        result = SUITES[name][1](opts)
        results.append(result)
        for message in result.skipped:
            print(message, file=sys.stderr)
        text = section_text(result, info, command)
        if result.rows and not args.no_record:
            record_section(args.results, name, text)
            write_csv(result, args.csv_dir / f"{name}.csv")
        if not args.json:
            print(text, flush=True)
    ran = [r for r in results if r.rows]
    if args.json:
        print(json.dumps({"machine": info, "command": command, "ok": bool(ran) and all(r.ok for r in ran),
                          "suites": [r.to_dict() for r in results]}, indent=2))
    if not ran:
        return 2
    return 0 if all(r.ok for r in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
