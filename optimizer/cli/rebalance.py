"""The ``optimizer rebalance`` command: nightly stock transfers between operating sites (issue 13)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from optimizer.cli.common import EXIT_CHECK, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_NO_PLAN, EXIT_OK, FiniteFloat, fail
from optimizer.cli.progress import log_json_option, shown
from optimizer.errors import OptimizerError
from optimizer.schema import MAX_QUANTITY


def _text(summary: dict) -> str:
    """The human-readable report of a run."""
    costs = summary["costs"]
    lines = [
        f"{summary['network']}: {summary['status']} ({summary['engine']}, {summary['termination']})",
        f"  {summary['transfers']} transfers, {summary['units_moved']:,} units moved",
        f"  cost {costs['total']:,.2f}: transfers {costs['transfer']:,.2f}, trucks {costs['trucks']:,.2f}, "
        f"penalties {costs['penalty_below_min'] + costs['penalty_below_target'] + costs['penalty_excess']:,.2f}",
        f"  left below target: {summary['short_of_target_units']:,.0f} units "
        + (", ".join(f"{n} {r}" for r, n in summary["deficits_by_reason"].items()) or "none"),
    ]
    if summary.get("gap") is not None:
        lines.append(f"  bound {summary['bound']:,.2f}, gap {summary['gap']:.2%}")
    lines.append(f"  check: {'ok' if summary['check']['ok'] else 'REJECTED'}")
    return "\n".join(lines)


#: Most days one rebalancing run may cover (``--run-days``).
MAX_RUN_DAYS = 366.0


@click.command("rebalance")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--inventory", type=click.Path(path_type=Path), required=True,
              help="inventory.csv: site, product, on_hand; only the sites listed take part.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Output folder: transfers.csv and summary.json (published atomically), the lock and the "
                   "run store.")
@click.option("--targets", type=click.Path(path_type=Path), default=None,
              help="targets.csv: site, product, target[, min, max] (default: the pooled stock formulas).")
@click.option("--in-transit", "in_transit", type=click.Path(path_type=Path), default=None,
              help="in_transit.csv: from, to, product, quantity, arrival_days.")
@click.option("--run-days", type=FiniteFloat(min=0, min_open=True, max=MAX_RUN_DAYS), default=1.0, show_default=True,
              help="Days the run covers (link capacities per period are scaled to it; stock in transit "
                   "arriving within it counts).")
@click.option("--store", "store", default=None, metavar="URL",
              help="Run store: a SQLite path or SQLAlchemy URL (default: OUT/rebalance.runs.db).")
@click.option("--max-transfers", type=click.IntRange(min=0), default=None,
              help="Most (link, product) shipments (makes the model a MIP).")
@click.option("--min-shipment", type=FiniteFloat(min=0, min_open=True, max=MAX_QUANTITY), default=None,
              help="Least units per (link, product) shipment (makes the model a MIP).")
@click.option("--time-limit", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Seconds for the LP / MIP; on expiry the best plan found is used (exit 0, status feasible).")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json's document on stdout (and nothing else).")
@log_json_option
def rebalance(dataset: Path, inventory: Path, out_dir: Path, targets: Path | None, in_transit: Path | None,
              run_days: float, store: str | None, max_transfers: int | None, min_shipment: float | None,
              time_limit: float | None, as_json: bool, log_json: bool) -> None:
    """Decide the stock transfers between the operating sites of DATASET (safe to run from cron).

    Exit codes: 0 a plan, published; 1 bad input; 3 another run holds OUT's lock; 4 the
    checker rejected the plan (not published); 5 no plan within the time limit; 6 interrupted
    (the products decided so far are published).
    """
    from optimizer.rebalance.engine import Options
    from optimizer.rebalance.job import LockedError, Request, run
    from optimizer.solvers import interrupt

    request = Request(dataset=dataset, inventory=inventory, out=out_dir, targets=targets, in_transit=in_transit,
                      run_days=run_days, store=store,
                      options=Options(min_shipment=min_shipment, max_transfers=max_transfers, time_limit=time_limit))
    try:
        with interrupt.handle_signals(), shown(log_json, live=False) as display:
            try:
                outcome = run(request, note=display.note if log_json else None)
            except LockedError as error:  # --log-json: the final record says so, and no plain line besides
                display.result({"status": "locked", "message": str(error)})
                if not log_json:
                    click.echo(f"error: {error}", err=True)
                if as_json:
                    click.echo(json.dumps({"status": "locked", "message": str(error)}))
                sys.exit(EXIT_LOCKED)
            summary = outcome.summary
            display.result({"status": summary["status"], "termination": summary["termination"],
                            "engine": summary["engine"], "objective": summary["objective"],
                            "transfers": summary["transfers"], "units_moved": summary["units_moved"],
                            "check_ok": outcome.check_ok, "published": outcome.published, "run_id": outcome.run_id,
                            "transfers_sha256": summary["transfers_sha256"]})
    except OptimizerError as error:
        fail(error, as_json)
    click.echo(json.dumps(summary) if as_json else _text(summary))
    if not outcome.check_ok:
        click.echo("CHECK FAILED: the independent checker rejected this plan (not published):", err=True)
        for violation in summary["check"]["violations"]:
            click.echo(f"  - {violation}", err=True)
        sys.exit(EXIT_CHECK)
    if summary["status"] == "no_solution":
        sys.exit(EXIT_NO_PLAN)
    sys.exit(EXIT_INTERRUPTED if summary["termination"] == "interrupted" else EXIT_OK)
