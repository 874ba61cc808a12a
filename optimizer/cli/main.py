"""The ``optimizer`` command: a thin layer over :mod:`optimizer.api` (exit codes: :mod:`optimizer.cli.common`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from optimizer.cli.common import (EXIT_CHECK, EXIT_INFEASIBLE, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_NO_PLAN, EXIT_OK,
                                  CommandGroup, FiniteFloat, fail, protected_inputs, strategy_option)
from optimizer.cli.progress import log_json_option, shown, solve_summary
from optimizer.errors import InputError, OptimizerError, Problem
from optimizer.io import FORMATS
from optimizer.solvers import SOLVER_NAMES

if TYPE_CHECKING:  # heavy modules are imported inside the commands, so that `optimizer --help` is fast
    from optimizer.results import Result


def exit_code(result: Result) -> int:
    """The exit code for a solve result, from its status, termination, check and bound.

    2 infeasible; 5 no plan (a limit, or interrupted before the first plan); 4 the checker
    rejected the plan or the bound lies above its cost; 6 interrupted with a plan; else 0.
    """
    from optimizer.solvers.base import Status, Termination

    if result.status is Status.INFEASIBLE:
        return EXIT_INFEASIBLE
    if not result.has_plan:
        return EXIT_NO_PLAN
    if (result.check is not None and not result.check.ok) or result.bound_violated:
        return EXIT_CHECK
    if result.termination is Termination.INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_OK


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="warehouse-optimizer")
def main() -> None:
    """Warehouse network optimisation: which sites to open, how to serve demand, at least cost."""


def _is_study(path: Path) -> bool:
    """Whether ``path`` is an expansion study (:func:`optimizer.expansion.studyfile.is_study`); the study
    reader is imported only for a YAML path, so solving anything else starts faster."""
    if path.suffix.lower() not in (".yaml", ".yml"):
        return False
    from optimizer.expansion.studyfile import is_study

    return is_study(path)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="dataset", show_default=True,
              help="Input format: a dataset folder, an OR-Library cap file, or a Holmberg SSCFLP file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout (and nothing else).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Write result.json, the plan as CSV tables (sites, flows, costs, routes, site P&L, lanes, "
                   "assignments), report.html, map.html, map.png and result.xlsx into this folder.")
@click.option("--solver", type=click.Choice(sorted(SOLVER_NAMES)), default=None,
              help="MIP backend (default: network.yaml's solver, else highs).")
@click.option("--time-limit", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Seconds; on expiry the best plan found is returned, labelled feasible.")
@click.option("--mip-gap", type=FiniteFloat(min=0, max=1, max_open=True), default=None,
              help="Stop at this relative gap (default: prove optimality to 1e-9).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Solver threads.")
@click.option("--verbose", is_flag=True, help="Send the solver log to stderr.")
@click.option("--base-run", "base_run", type=click.Path(path_type=Path), default=None,
              help="An earlier --out folder (or its result.json): report.html draws a waterfall from its costs.")
@click.option("--explain", is_flag=True, help="Also re-solve with each open site closed and each unused site opened "
                                             "(2 workers, cached in PATH.runs.db; see `optimizer explain`).")
@strategy_option
@log_json_option
def solve(path: Path, fmt: str, as_json: bool, out_dir: Path | None, solver: str | None,
          time_limit: float | None, mip_gap: float | None, threads: int | None, verbose: bool,
          base_run: Path | None, explain: bool, strategy: str | None, log_json: bool) -> None:
    """Solve the network at PATH (a dataset folder or a scenario YAML file) and report the plan.

    Ctrl-C or SIGTERM stops the solve within a second or two and reports the best plan so far
    (exit 6), or exits 5 when there is none yet; a second signal stops at once.  On a terminal,
    stderr shows the best plan, the bound and the gap as they move (--log-json: as JSON lines).
    """
    from optimizer import api
    from optimizer.reports import OUTPUT_FILES, check_output, read_base_run, summary, write_outputs
    from optimizer.solvers import interrupt
    from optimizer.solvers.base import Status

    if fmt == "dataset" and _is_study(path):  # a YAML file with periods:
        from optimizer.cli.expansion import solve_study_file

        unsupported = [name for name, given in (("--explain", explain), ("--base-run", base_run is not None),
                                                ("--strategy", strategy is not None), ("--log-json", log_json))
                       if given]
        if unsupported:  # refused rather than silently ignored
            fail(InputError([Problem(str(path), f"{name} is not available for an expansion study (a YAML file "
                                                "with periods:); solve without it", field=name)
                             for name in unsupported]), as_json)
        sys.exit(solve_study_file(path, as_json=as_json, out_dir=out_dir, solver=solver, time_limit=time_limit,
                                  mip_gap=mip_gap, threads=threads, verbose=verbose))
    try:
        with interrupt.handle_signals(), shown(log_json, live=not verbose) as display:
            if out_dir is not None:  # a bad --out or --base-run is reported before the solve, not after it
                check_output(out_dir, OUTPUT_FILES, protected_inputs(path))
            if base_run is not None and out_dir is None:
                raise InputError(Problem(str(base_run), "--base-run draws the report's waterfall: give --out too",
                                         field="--base-run"))
            base = read_base_run(base_run) if base_run is not None else None
            network = api.load(path, format=fmt)
            result = api.solve(network, solver=solver, time_limit=time_limit, mip_gap=mip_gap,
                               threads=threads, verbose=verbose, strategy=strategy)
            display.result(solve_summary(result))
        table = marginal = None
        if explain and fmt != "dataset":
            raise InputError(Problem(str(path), "--explain needs a dataset folder or a scenario file", field="--explain"))
        if explain and result.has_plan:
            from optimizer.cli.explain import sensitivities

            from optimizer.report.marginal import marginal_values

            table = sensitivities(path, network, result, None, 2, mip_gap, time_limit, False)
            marginal = marginal_values(network, result)
        if out_dir is not None:
            from optimizer.runs.audit import audit_trail

            audit = audit_trail(path, network, result.solver, {"time_limit": time_limit, "mip_gap": mip_gap,
                                                               "threads": threads, "strategy": strategy})
            write_outputs(result, network, out_dir, protected_inputs(path), sensitivity=table, marginal=marginal,
                          base=base, audit=audit)
    except OptimizerError as error:
        fail(error, as_json)
    if as_json:
        doc = result.to_dict()
        if table is not None:
            doc["sensitivity"] = json.loads(table.to_json(orient="records"))
        click.echo(json.dumps(doc))
    else:
        click.echo(summary(result, network))
        if table is not None:
            from optimizer.cli.explain import marginal_text, text_table
            from optimizer.report.tables import money_unit

            click.echo(text_table(table, money_unit(network)))
            click.echo(marginal_text(marginal, money_unit(network)))
    if result.check is not None and not result.check.ok:
        click.echo("CHECK FAILED: the independent checker rejected this plan:", err=True)
        for violation in result.check.violations:
            click.echo(f"  - {violation}", err=True)
    if result.status is Status.INFEASIBLE and as_json:
        for message in result.messages:
            click.echo(message, err=True)
    sys.exit(exit_code(result))


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as one JSON document.")
def validate(path: Path, as_json: bool) -> None:
    """Check the dataset at PATH and report every problem found."""
    from optimizer import api

    if _is_study(path):  # an expansion study (a YAML file with periods:)
        from optimizer.expansion.studyfile import study_problems

        problems = study_problems(path)
    else:
        problems = api.validate(path)
    if as_json:
        doc: dict[str, Any] = {
            "valid": not problems,
            "problems": [p.to_dict() for p in problems],
        }
        click.echo(json.dumps(doc))
    elif problems:
        click.echo(str(InputError(problems)), err=True)
    else:
        click.echo(f"{path}: valid")
    sys.exit(EXIT_INPUT if problems else EXIT_OK)


#: The commands defined in their own modules (see :class:`~optimizer.cli.common.CommandGroup`).
main.lazy_commands = {  # type: ignore[attr-defined]
    "frontier": ("optimizer.cli.frontier", "frontier_command", "Solve the network at PATH for p = 1..N open sites and tabulate cost by component."),
    "run": ("optimizer.cli.run", "run", "Run every scenario of SWEEP.yaml and store each run."),
    "rebalance": ("optimizer.cli.rebalance", "rebalance", "Decide the stock transfers between the operating sites of DATASET (safe to run from cron)."),
    "compare": ("optimizer.cli.compare", "compare", "Compare the runs stored in STORE (a SQLite file or a SQLAlchemy URL) side by side."),
    "explain": ("optimizer.cli.explain", "explain_command", "Solve PATH, then re-solve with each open site closed and each unused site opened, and report the costs."),
}
