"""What every ``optimizer`` command shares: exit codes and how a fatal input error is reported.

Exit codes:

====  =====================================================
0     a plan (optimal or feasible) / valid input / all runs done
1     bad input (file, line and field are named)
2     infeasible (the reasons are explained); ``run``: some scenarios have no plan
3     locked (used by scheduled runs)
4     the independent checker rejected the plan, or the solver's bound lies above the plan's cost
5     no plan within the limits (or interrupted before any plan was found)
6     interrupted (Ctrl-C / SIGTERM), best plan returned (labelled ``feasible``, with its gap)
====  =====================================================
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from optimizer.errors import OptimizerError

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_LOCKED, EXIT_CHECK, EXIT_NO_PLAN = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 6


def fail(error: OptimizerError, as_json: bool) -> NoReturn:
    """Report a fatal input error (message on stderr, one JSON document on stdout with ``--json``) and exit 1."""
    click.echo(f"error: {error}", err=True)
    if as_json:
        problems = [
            {"file": p.file, "line": p.line, "field": p.field, "message": p.message}
            for p in getattr(error, "problems", [])
        ]
        click.echo(json.dumps({"status": "input_error", "message": str(error), "problems": problems}))
    sys.exit(EXIT_INPUT)


def protected_inputs(path: Path) -> list[Path]:
    """Input files that output must never overwrite (the files of a dataset folder, or the file itself)."""
    return [p for p in path.iterdir() if p.is_file()] if path.is_dir() else [path]
