"""The ``optimizer run`` command: run a sweep of scenarios into a run store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from optimizer.cli.common import EXIT_INTERRUPTED, EXIT_OK, fail
from optimizer.cli.progress import log_json_option, shown
from optimizer.errors import InputError, OptimizerError, Problem
from optimizer.runs.runner import RunReport, run_sweep
from optimizer.runs.store import RunStore
from optimizer.runs.sweep import load_sweep

#: Exit codes of ``optimizer run`` (1 is shared with every command: bad input).
#: Exit code when some scenarios have no plan.
EXIT_SOME_FAILED = 2


def default_store(sweep_file: Path) -> Path:
    """The default store of a sweep: ``<sweep folder>/<sweep stem>.runs.db``."""
    return sweep_file.resolve().parent / f"{sweep_file.stem}.runs.db"


def _check_cluster(value: str | None) -> str | None:
    """``local`` or a Dask scheduler address (``tcp://host:port`` ...)."""
    if value is None or value == "local" or "://" in value:
        return value
    raise InputError(Problem("--cluster", f"'{value}' is neither 'local' nor a scheduler address such as "
                             "tcp://host:8786", field="--cluster"))


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(reports: list[RunReport], store: str) -> str:
    """The end-of-run summary table."""
    width = max([len("scenario")] + [len(r.record.scenario) for r in reports])
    lines = [f"{'scenario':<{width}}  {'status':<11} {'objective':>16} {'gap':>8} {'open':>4} "
             f"{'solve s':>8}  cached"]
    for report in reports:
        rec = report.record
        lines.append(f"{rec.scenario:<{width}}  {rec.status:<11} {_fmt(rec.objective, ',.2f'):>16} "
                     f"{_fmt(rec.gap, '.2%'):>8} {len(rec.open_sites):>4} {rec.solve_seconds:>8.2f}  "
                     f"{'yes' if report.cached else 'no'}")
    failed = [r for r in reports if not r.ok]
    cached = sum(r.cached for r in reports)
    lines.append(f"{len(reports)} runs: {len(reports) - cached} solved, {cached} from the store, "
                 f"{len(failed)} without a plan; store: {store}")
    for report in failed:
        lines.append(f"  {report.record.scenario}: {report.record.status}: {report.record.error or ''}".rstrip())
    return "\n".join(lines)


@click.command("run")
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes, each solving one scenario with one thread (default: the CPU count). "
                   "With --cluster local, the number of Dask workers; ignored with a scheduler address.")
@click.option("--cluster", default=None, metavar="local|tcp://HOST:PORT",
              help="Run on Dask: 'local' starts a LocalCluster, an address uses an existing scheduler.")
@click.option("--store", "store_location", default=None, metavar="URL",
              help="Run store: a SQLite file path or a SQLAlchemy URL such as postgresql://user@host/db "
                   "(default: SWEEP.runs.db next to the sweep file).")
@click.option("--json", "as_json", is_flag=True,
              help="Stream one JSON object per run on stdout (JSON Lines), and nothing else.")
@click.option("--force", is_flag=True, help="Solve every scenario, ignoring results already in the store.")
@click.option("--reuse-limited", is_flag=True,
              help="Reuse stored runs that a time limit or an interruption cut short (by default they are "
                   "solved again; runs stopped at their own mip_gap are always reused).")
@log_json_option
def run(sweep_file: Path, workers: int | None, cluster: str | None, store_location: str | None,
        as_json: bool, force: bool, reuse_limited: bool, log_json: bool) -> None:
    """Run every scenario of SWEEP.yaml and store each run.

    Runs whose full input (data, overrides, solver settings, optimizer source,
    solver and library versions) is already in the store are reported from it
    without solving (--force solves them again); runs cut short by a time limit
    or an interruption are solved again unless --reuse-limited.  Two sweeps on
    one store at once solve each input once.  A failing scenario is stored with
    its error and does not stop the sweep.  A progress bar goes to stderr when
    it is a terminal (--log-json: a JSON line per finished run instead).

    Exit codes: 0 every scenario has a plan; 1 bad input (sweep file, store or
    cluster); 2 some scenarios have no plan (infeasible, no solution within the
    limits, or an error); 6 interrupted (Ctrl-C): the runs finished before are stored.
    """
    def emit(report: RunReport) -> None:
        if as_json:
            click.echo(json.dumps(report.to_json()))
            sys.stdout.flush()
        finished.append(report)
        rec = report.record
        log.record(f"{rec.scenario}: {rec.status}{' (from the store)' if report.cached else ''} "
                   f"({len(finished)}/{len(scenarios)})", phase="sweep", objective=rec.objective, bound=rec.bound)

    finished: list[RunReport] = []
    scenarios: list[Any] = []
    try:
        # The log starts first: bad input (the sweep file, the store) is an error event too.
        with shown(log_json, live=False) as log:  # a terminal gets run_sweep's bar
            cluster = _check_cluster(cluster)
            _sweep_name, scenarios = load_sweep(sweep_file)
            location: Any = store_location if store_location is not None else default_store(sweep_file)
            with RunStore(location) as store:
                reports = run_sweep(scenarios, store, workers=workers, cluster=cluster, force=force,
                                    reuse_limited=reuse_limited, progress=not log_json, on_result=emit)
                display = store.display
            log.result({"runs": len(reports), "solved": sum(not r.cached for r in reports),
                        "from_store": sum(r.cached for r in reports), "without_plan": sum(not r.ok for r in reports),
                        "store": display})
    except OptimizerError as error:
        fail(error, as_json)
    except KeyboardInterrupt:  # not bad input (click's exit 1): the finished runs are stored
        click.echo(f"interrupted: {len(finished)} of {len(scenarios)} run(s) finished and stored", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not as_json:
        click.echo(_table(reports, display))
    sys.exit(EXIT_OK if all(r.ok for r in reports) else EXIT_SOME_FAILED)
