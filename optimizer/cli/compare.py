"""The ``optimizer compare`` command: stored runs side by side, with differences to a base run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from optimizer.cli.common import EXIT_OK, fail
from optimizer.runs.compare import (compare_runs, json_document, select_runs, stored_runs, text_report, units_of,
                                    write_comparison)
from optimizer.errors import InputError, OptimizerError, Problem
from optimizer.runs.store import RunStore

@click.command("compare")
@click.argument("store")
@click.option("--sweep", default=None, help="Only runs of this sweep.")
@click.option("--runs", "runs", multiple=True,
              help="Runs to compare, comma separated, in this order (repeatable); default: all, latest of each.")
@click.option("--base", default=None, help="Run the differences are taken to (default: the run named 'base', "
                                           "else the first).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write compare.csv, compare.json, cost_breakdown.png, open_sites.png and compare.html here.")
@click.option("--annual", is_flag=True, help="Show costs per year (x 365 / period_days) instead of per period.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON document on stdout.")
def compare(store: str, sweep: str | None, runs: tuple[str, ...], base: str | None, out_dir: Path | None,
            annual: bool, as_json: bool) -> None:
    """Compare the runs stored in STORE (a SQLite file or a SQLAlchemy URL) side by side."""
    try:
        if "://" not in store and not Path(store).is_file():
            raise InputError(Problem(store, "run store not found (a file written by 'optimizer run --store')",
                                     field="STORE"))
        with RunStore(store, read_only=True) as run_store:
            stored = stored_runs(run_store, sweep)
        if stored.empty:
            where = f" of sweep '{sweep}'" if sweep is not None else ""
            raise InputError(Problem(store, f"holds no runs{where}", field="--sweep" if sweep else "STORE"))
        chosen = select_runs(stored, list(runs))
        comparison = compare_runs(chosen, base, units_of(chosen, annual))
        written = write_comparison(comparison, out_dir) if out_dir is not None else []
    except OptimizerError as error:
        fail(error, as_json)
    if as_json:
        click.echo(json.dumps(json_document(comparison), allow_nan=False))
    else:
        click.echo(text_report(comparison))
    for path in written:
        click.echo(f"wrote {path}", err=True)
    sys.exit(EXIT_OK)
