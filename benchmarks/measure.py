"""Measuring one command: its wall time and peak memory as a child process, and solves through the CLI.

Every benchmark number comes from a fresh child process, start-up included:

* :func:`run_child` runs a command through :mod:`benchmarks.launch` and gets its wall-clock
  seconds (from just before the process is started until it has been reaped) and its peak
  resident set size from ``os.wait4``.  On Linux that figure is the largest peak of the command
  and of every process it waited for, for example the CBC program that PuLP runs: the peak of
  the largest process, not the sum of processes alive at the same time.  Its floor is the
  launcher's own resident set, about 8 MiB.
* :func:`engine_solve` runs ``python -m optimizer solve PATH --json ...`` and reads its JSON;
  :func:`textbook_solve` runs the textbook PuLP + CBC model (``python -m benchmarks.textbook_pulp``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

#: The repository root (the children run there, with it on PYTHONPATH).
ROOT = Path(__file__).resolve().parent.parent
#: The launcher that starts and measures each command.
LAUNCHER = Path(__file__).resolve().parent / "launch.py"
#: ``ru_maxrss`` is in KiB on Linux and in bytes on macOS.
RSS_UNIT_BYTES = 1 if sys.platform == "darwin" else 1024
#: A child given a solver time limit of T seconds is killed after WALL_FACTOR * T + WALL_SLACK s
#: (CBC does not always stop at its own limit).
WALL_FACTOR = 1.5
WALL_SLACK = 30.0
#: Terminations after which a solve stopped on its own (proved optimality or reached its gap).
FINISHED = ("optimal", "gap_limit")
#: Exit codes of ``optimizer solve`` that the JSON status explains: 0 a plan, 2 infeasible, 5 no plan.
STATUS_EXIT_CODES = (0, 2, 5)


@dataclass(frozen=True)
class ChildRun:
    """One finished (or killed) child process.

    Attributes:
        wall_seconds: From just before the start until the child was reaped.
        peak_rss_mib: Peak resident set size, MiB (see the module docstring); ``None`` when unknown.
        exit_code: The child's exit code; negative for a signal; ``None`` when killed for overrunning.
        stdout: Everything it printed on stdout.
        stderr: Everything it printed on stderr.
    """

    wall_seconds: float
    peak_rss_mib: float | None
    exit_code: int | None
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        """Killed by :func:`run_child` for running past its wall limit."""
        return self.exit_code is None

    def last_error_line(self) -> str:
        """The last non-blank stderr line (for a short error message), or the exit code."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1].strip() if lines else f"exit code {self.exit_code}"


def child_env() -> dict[str, str]:
    """This environment with the repository root first on PYTHONPATH (the package is not installed)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)


def run_child(argv: Sequence[str], wall_limit: float | None = None) -> ChildRun:
    """Run a command in the repository root; measure its wall time and peak memory.

    The command is started by :mod:`benchmarks.launch` (a bare interpreter), so that its peak
    memory does not include this process's.  stdout and stderr go to temporary files (not
    pipes), so a large JSON document cannot block the child.  The launcher leads its own
    process group, so that on overrunning ``wall_limit`` the command is killed together with
    any solver program it started.

    Args:
        argv: The command.
        wall_limit: Seconds after which the process group is killed; ``None`` waits.

    Returns:
        The measurements and the output (wall time and peak memory of a killed command are
        measured from outside: the launcher's figures are lost with it).
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, \
            open(Path(tmp) / "stdout", "w+b") as out, open(Path(tmp) / "stderr", "w+b") as err:
        measured = Path(tmp) / "measured.json"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-I", "-S", str(LAUNCHER), str(measured), *argv],
                                stdout=out, stderr=err, cwd=ROOT, env=child_env(), start_new_session=True)
        overran = threading.Event()

        def kill() -> None:
            overran.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(wall_limit, kill) if wall_limit is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        proc.wait()
        wall = time.perf_counter() - start
        if timer is not None:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if overran.is_set() or not measured.exists():
            code = None if overran.is_set() else proc.returncode
            return ChildRun(wall_seconds=wall, peak_rss_mib=None, exit_code=code, stdout=stdout, stderr=stderr)
        inner = json.loads(measured.read_text())
        return ChildRun(wall_seconds=inner["wall_seconds"], peak_rss_mib=inner["maxrss"] * RSS_UNIT_BYTES / 2**20,
                        exit_code=inner["exit_code"], stdout=stdout, stderr=stderr)


def python(*args: str) -> list[str]:
    """``[this interpreter, *args]``."""
    return [sys.executable, *args]


@lru_cache(maxsize=1)
def solve_options() -> frozenset[str]:
    """The long options ``optimizer solve --help`` lists (so that newer options are passed only when present)."""
    run = run_child(python("-m", "optimizer", "solve", "--help"), wall_limit=60)
    return frozenset(word.rstrip(",=") for word in run.stdout.split() if word.startswith("--"))


@dataclass
class Solve:
    """One measured solve (engine or baseline).

    Attributes:
        status: ``optimal``, ``feasible``, ``infeasible``, ``no_solution`` ... or ``error`` / ``killed``.
        termination: Why it stopped (``optimal``, ``gap_limit``, ``time_limit`` ...), if known.
        objective: Total cost of the plan, currency per period.
        bound: Best lower bound.
        gap: Relative gap (objective - bound) / objective.
        check_ok: The engine's checker accepted the plan (``None`` for the textbook model).
        build_seconds: Model build time reported by the solve.
        solve_seconds: Solver time reported by the solve.
        wall_seconds: Wall time of the whole child process (start-up, reading, build, solve, output).
        peak_rss_mib: Peak memory of the child, MiB.
        time_limit: Solver time limit given, seconds (``None``: none).
        variables: Model columns (engine only).
        error: Why there is no result.
    """

    status: str
    termination: str | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    check_ok: bool | None = None
    build_seconds: float | None = None
    solve_seconds: float | None = None
    wall_seconds: float | None = None
    peak_rss_mib: float | None = None
    time_limit: float | None = None
    variables: int | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        """It stopped on its own: proved optimality, or reached its gap."""
        return self.termination in FINISHED


def wall_limit(time_limit: float | None) -> float | None:
    """The wall-clock limit of a child given a solver time limit."""
    return None if time_limit is None else WALL_FACTOR * time_limit + WALL_SLACK


def _measured(run: ChildRun, time_limit: float | None) -> Solve | dict[str, Any]:
    """The child's JSON document, or a failed :class:`Solve` when there is none."""
    if run.killed:
        return Solve("killed", wall_seconds=run.wall_seconds, peak_rss_mib=run.peak_rss_mib, time_limit=time_limit,
                     error=f"killed after {run.wall_seconds:.0f} s wall clock (past its time limit)")
    try:
        doc = json.loads(run.stdout)
    except json.JSONDecodeError:
        return Solve("error", wall_seconds=run.wall_seconds, peak_rss_mib=run.peak_rss_mib, time_limit=time_limit,
                     error=run.last_error_line())
    if not isinstance(doc, dict):
        return Solve("error", wall_seconds=run.wall_seconds, time_limit=time_limit, error="output is not an object")
    return doc


def engine_argv(path: Path, fmt: str = "dataset", *, strategy: str | None = None, time_limit: float | None = None,
                mip_gap: float | None = None) -> list[str]:
    """``python -m optimizer solve PATH --json`` with the given options.

    ``--strategy`` is passed only when ``optimizer solve --help`` lists it.
    """
    argv = python("-m", "optimizer", "solve", str(path), "--json")
    if fmt != "dataset":
        argv += ["--format", fmt]
    if strategy is not None and "--strategy" in solve_options():
        argv += ["--strategy", strategy]
    if time_limit is not None:
        argv += ["--time-limit", f"{time_limit:g}"]
    if mip_gap is not None:
        argv += ["--mip-gap", f"{mip_gap:g}"]
    return argv


def engine_solve(path: Path, fmt: str = "dataset", *, strategy: str | None = None, time_limit: float | None = None,
                 mip_gap: float | None = None) -> Solve:
    """Solve ``path`` with the engine's command line in a child process and read its JSON.

    Args:
        path: A dataset folder or a benchmark file.
        fmt: ``dataset``, ``orlib`` or ``sscflp``.
        strategy: ``--strategy`` (passed only when the command line has it).
        time_limit: ``--time-limit``, seconds.
        mip_gap: ``--mip-gap``.

    Returns:
        The measured solve.
    """
    argv = engine_argv(path, fmt, strategy=strategy, time_limit=time_limit, mip_gap=mip_gap)
    run = run_child(argv, wall_limit(time_limit))
    doc = _measured(run, time_limit)
    if isinstance(doc, Solve):
        return doc
    check = doc.get("check") or {}
    size = doc.get("model_size") or {}
    return Solve(status=str(doc.get("status")), termination=doc.get("termination"), objective=doc.get("objective"),
                 bound=doc.get("bound"), gap=doc.get("gap"), check_ok=check.get("ok"),
                 build_seconds=doc.get("build_seconds"), solve_seconds=doc.get("solve_seconds"),
                 wall_seconds=run.wall_seconds, peak_rss_mib=run.peak_rss_mib, time_limit=time_limit,
                 variables=size.get("variables"),
                 error=(None if run.exit_code in STATUS_EXIT_CODES
                        else f"exit code {run.exit_code}: {run.last_error_line()}"))


def textbook_solve(path: Path, fmt: str, time_limit: float | None = None) -> Solve:
    """Solve a benchmark file with the textbook PuLP + CBC model in a child process.

    Args:
        path: An OR-Library or Holmberg file.
        fmt: ``orlib`` or ``sscflp``.
        time_limit: CBC's time limit, seconds.

    Returns:
        The measured solve (no bound, gap or checker).
    """
    argv = python("-m", "benchmarks.textbook_pulp", str(path), "--format", fmt)
    if time_limit is not None:
        argv += ["--time-limit", f"{time_limit:g}"]
    run = run_child(argv, wall_limit(time_limit))
    doc = _measured(run, time_limit)
    if isinstance(doc, Solve):
        return doc
    return Solve(status=doc["status"], termination=doc["termination"], objective=doc["objective"],
                 build_seconds=doc["build_seconds"], solve_seconds=doc["solve_seconds"],
                 wall_seconds=run.wall_seconds, peak_rss_mib=run.peak_rss_mib, time_limit=time_limit)
