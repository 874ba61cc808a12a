"""``optimizer solve`` on an expansion study file (a YAML file with ``periods:``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from optimizer.cli.common import (EXIT_CHECK, EXIT_INFEASIBLE, EXIT_INTERRUPTED, EXIT_NO_PLAN, EXIT_OK, fail,
                                  protected_inputs)
from optimizer.errors import OptimizerError


def solve_study_file(path: Path, *, as_json: bool, out_dir: Path | None, solver: str | None,
                     time_limit: float | None, mip_gap: float | None, threads: int | None, verbose: bool) -> int:
    """Solve the study at ``path``, print the result and return the exit code (0, 2, 4, 5 or 6; 1 exits at once)."""
    from optimizer.expansion.report import summary, uncertain_summary, write_study_outputs, write_uncertain_outputs
    from optimizer.expansion.solve import solve_study
    from optimizer.expansion.stochastic import solve_uncertain
    from optimizer.expansion.studyfile import load_study
    from optimizer.reports import STUDY_FILES, check_output
    from optimizer.solvers import interrupt
    from optimizer.solvers.base import Status, Termination

    try:
        if out_dir is not None:  # a bad --out is reported before the solve, not after it
            check_output(out_dir, STUDY_FILES, protected_inputs(path))
        with interrupt.handle_signals():
            study = load_study(path)
            solve = solve_study if study.uncertainty is None else solve_uncertain
            result = solve(study, solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                           verbose=verbose)
        if out_dir is not None:
            write = write_study_outputs if study.uncertainty is None else write_uncertain_outputs
            write(result, out_dir, protected_inputs(path))
    except OptimizerError as error:
        fail(error, as_json)
    click.echo(json.dumps(result.to_dict()) if as_json else
               (summary(result) if study.uncertainty is None else uncertain_summary(result)))
    if result.check is not None and not result.check.ok:
        click.echo("CHECK FAILED: the independent checker rejected this study plan:", err=True)
        for violation in result.check.violations:
            click.echo(f"  - {violation}", err=True)
    if result.status is Status.INFEASIBLE:
        if as_json:
            for message in result.messages:
                click.echo(message, err=True)
        return EXIT_INFEASIBLE
    if result.plan is None:
        return EXIT_NO_PLAN
    if result.check is not None and not result.check.ok:
        return EXIT_CHECK
    if result.bound is not None and result.objective is not None and \
            result.bound > result.objective + 1e-6 * max(1.0, abs(result.objective)):
        return EXIT_CHECK
    return EXIT_INTERRUPTED if result.termination is Termination.INTERRUPTED else EXIT_OK
