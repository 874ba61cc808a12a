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

import errno
import importlib
import json
import math
import os
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

import click

from optimizer.errors import InputError, OptimizerError, Problem
from optimizer.solvers.interrupt import SOLVE_THREAD

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_LOCKED, EXIT_CHECK, EXIT_NO_PLAN = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 6


class FiniteFloat(click.FloatRange):
    """A :class:`click.FloatRange` that also refuses ``nan`` and ``inf`` (click lets both through its range)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def error_document(message: str, problems: list[dict[str, Any]]) -> str:
    """The JSON document of a fatal input or usage error (``--json``): status, message and problems."""
    return json.dumps({"status": "input_error", "message": message, "problems": problems})


def fail(error: OptimizerError, as_json: bool) -> NoReturn:
    """Report a fatal input error (message on stderr, unless ``--log-json`` already wrote it there as an error
    record; one JSON document on stdout with ``--json``) and exit 1."""
    if not getattr(error, "logged", False):
        click.echo(f"error: {error}", err=True)
    if as_json:
        click.echo(error_document(str(error), [p.to_dict() for p in getattr(error, "problems", [])]))
    sys.exit(EXIT_INPUT)


def exit_now(code: int) -> NoReturn:
    """Exit with ``code``; at once (no interpreter shutdown) while a solver thread is still inside its solver.

    A hard stop can leave the interruptible solve's worker thread (:mod:`optimizer.solvers.interrupt`)
    in HiGHS's or SCIP's native code; finalising the interpreter around it aborts the process (exit
    134, "terminate called without an active exception").  Output is flushed first.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    if any(thread.name == SOLVE_THREAD and thread.is_alive() for thread in threading.enumerate()):
        os._exit(code)
    sys.exit(code)


def os_problem(error: OSError) -> Problem:
    """The input problem of an operating-system error on a path: the path (else the error's text) and the reason."""
    reason = error.strerror or str(error)
    if error.filename is None:
        return Problem("(file system)", reason)
    return Problem(str(error.filename), f"cannot be read or written: {reason}")


def strategy_option(command: Any) -> Any:
    """The ``--strategy`` option of the commands that solve (see :mod:`optimizer.strategies.select`)."""
    from optimizer.strategies import STRATEGIES

    return click.option(
        "--strategy", type=click.Choice(STRATEGIES), default=None,
        help="compact: the whole MIP to the solver; decompose: Lagrangian bound, heuristic plan and a reduced "
             "MIP (one-echelon networks with linear stock); auto: by size (default: network.yaml's "
             "solver.strategy, else auto).")(command)


def protected_inputs(path: Path) -> list[Path]:
    """Input files that output must never overwrite (the files of a dataset folder, or the file itself)."""
    return [p for p in path.iterdir() if p.is_file()] if path.is_dir() else [path]


def _usage_field(error: click.ClickException) -> str | None:
    """The option or argument a usage error is about (``--time-limit``), if click names one."""
    if isinstance(error, click.NoSuchOption):
        return error.option_name
    param = getattr(error, "param", None)
    if param is not None:
        return (param.opts[0] if getattr(param, "opts", None) else None) or param.name
    return None


class CommandGroup(click.Group):
    """The ``optimizer`` group: a usage error (unknown option, bad value ...) is bad input.

    Click exits 2 on usage errors, which is this tool's code for "infeasible"; here they exit
    :data:`EXIT_INPUT` (1), with click's message and usage on stderr and, when ``--json`` is on
    the command line, the input-error JSON document of :func:`fail` on stdout.  A path that exists
    but cannot be checked, read or written (permission denied, a name too long) is bad input too,
    named with its reason, never a traceback.  A signal that escapes the commands' own handling (a
    second Ctrl-C or SIGTERM) stops at once without a result: exit :data:`EXIT_NO_PLAN` (5), with a
    JSON document under ``--json``.  Everything else (``--help``, ``--version``, a closed pipe)
    behaves as in click.
    """

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Run the command line (see :meth:`click.BaseCommand.main`), mapping usage errors to exit 1."""
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as error:
            error.show()
            if "--json" in argv:
                problem = {"file": None, "line": None, "field": _usage_field(error),
                           "message": error.format_message()}
                click.echo(error_document(f"usage error: {error.format_message()}", [problem]))
            sys.exit(EXIT_INPUT)
        except click.Abort:  # a signal no handler kept (a second Ctrl-C or SIGTERM): stopped at once, no result
            message = "stopped at once by a signal (a second one, or one this command does not handle): no result"
            click.echo(f"interrupted: {message}", err=True)
            if "--json" in argv:
                click.echo(json.dumps({"status": "no_solution", "termination": "interrupted", "objective": None,
                                       "message": message}))
            exit_now(EXIT_NO_PLAN)
        except OSError as error:  # a path that exists but cannot be read or checked (permission, name too long)
            if error.errno == errno.EPIPE:
                raise
            fail(InputError(os_problem(error)), "--json" in argv)
        sys.exit(code if isinstance(code, int) else EXIT_OK)

    #: Commands defined in their own modules: name -> (module, attribute, one-line help).  They are
    #: imported only when run (or asked for their own help), so ``optimizer --help`` stays fast.
    lazy_commands: dict[str, tuple[str, str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, the lazily imported ones included."""
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called ``cmd_name``, importing its module on first use."""
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module, attribute, _ = self.lazy_commands[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, without importing the lazy commands."""
        rows = [(name, self.commands[name].get_short_help_str(formatter.width - 6 - len(name))
                 if name in self.commands else self.lazy_commands[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
