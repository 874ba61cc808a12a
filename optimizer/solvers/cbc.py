"""CBC backend: the ``cbc`` binary shipped with PuLP, run as a subprocess.

The model is written as free MPS by :mod:`optimizer.solvers.mps` (no PuLP
variables are built), CBC runs in a temporary directory, and the outcome is
read back from three places:

* the first line of the ``-solution`` text file gives the status
  (``Optimal - objective value …``, ``Optimal (within gap tolerance) - …``,
  ``Infeasible - …``, ``Integer infeasible - …``, ``Stopped on time - …``,
  ``Stopped on time (no integer solution - continuous used) - …``);
* the ``-saveSolution`` binary file gives the column values in full double
  precision (the text file prints only 8 significant digits);
* the log gives the best bound (see :func:`parse_bound`).

MPS has no objective constant, so :attr:`LinearModel.offset` is added here.

CBC runs in its own session, so a terminal's Ctrl-C reaches only Python; an
interrupt request (:mod:`optimizer.solvers.interrupt`) is passed on as one SIGINT,
on which CBC stops at its next check and writes its best solution (``Result - User
ctrl-c`` in the log).  CBC checks rarely in some phases (root cuts), so it is killed
if it has not stopped :data:`INTERRUPT_GRACE_SECONDS` later: the solve then ends
without a plan (termination ``interrupted``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from optimizer.model.linear import LinearModel
from optimizer.solvers.base import (
    ALL_CAPABILITIES,
    DEFAULT_ABS_GAP,
    SolveOptions,
    Solver,
    SolverResult,
    Status,
    Termination,
    classify,
    solver_termination,
)
from optimizer.solvers.interrupt import on_request
from optimizer.solvers.mps import COLUMN_PREFIX, block_lines, ids, numbers, write_mps

#: "Cbc0011I Exiting as integer gap of 1.0594633 less than 1e-06 or 50%" (gap = incumbent - bound).
_GAP_EXIT = re.compile(r"Cbc0011I Exiting as integer gap of (\S+) less than")
#: "Cbc0005I Partial search - best objective 2544.5711 (best possible 2510.5181), took ...".
_PARTIAL = re.compile(r"Cbc0005I Partial search - best objective \S+ \(best possible (\S+)\)")
#: "Lower bound:                    2510.518" (printed with 3 decimals only).
_LOWER = re.compile(r"^Lower bound:\s+(\S+)", re.MULTILINE)
#: "Result - Stopped on time limit", "Result - Optimal solution found (within gap tolerance)".
_RESULT = re.compile(r"^Result - (.+?)\s*$", re.MULTILINE)
#: "Total time (CPU seconds):       0.07   (Wallclock seconds):       0.07".
_WALLCLOCK = re.compile(r"\(Wallclock seconds\):\s+(\S+)")
#: Magnitudes at or above this are CBC's "no value" markers (1e+50, COIN_DBL_MAX).
_NO_VALUE = 1e40
#: Seconds CBC gets to stop and write its best plan after an interrupt before it is killed.
INTERRUPT_GRACE_SECONDS = 1.5
#: CBC's log line after a SIGINT.
_CTRL_C = "Result - User ctrl-c"


class _Killed(Exception):
    """CBC was killed after an interrupt because it did not stop in time."""


class _Crashed(Exception):
    """CBC ended on a signal it was not sent (a crash)."""


def cbc_path() -> str | None:
    """Locate the CBC executable: PuLP's bundled binary, else ``cbc`` on the PATH.

    Returns:
        Absolute path of an executable ``cbc``, or ``None`` if there is none.
    """
    candidates: list[str | None] = []
    try:
        from pulp.apis import coin_api
    except ImportError:
        pass
    else:
        candidates.append(getattr(getattr(coin_api, "PULP_CBC_CMD", None), "pulp_cbc_path", None))
    candidates.append(shutil.which("cbc"))
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.realpath(candidate)
    return None


class CbcSolver(Solver):
    """COIN-OR CBC, run as the command-line binary that PuLP ships."""

    name = "cbc"
    capabilities = ALL_CAPABILITIES

    @classmethod
    def available(cls) -> bool:
        """Whether a runnable CBC binary was found (see :func:`cbc_path`)."""
        return cbc_path() is not None

    def _solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        """Solve ``model`` with CBC (interruptible: see :mod:`optimizer.solvers.interrupt`).

        Args:
            model: The model (minimisation, offset included in the result).
            options: Time limit (wall clock), gap, threads and verbosity.

        Returns:
            The typed result; infeasibility is a status, not an exception.

        Raises:
            RuntimeError: If CBC is missing or fails.
        """
        start = time.perf_counter()
        executable = cbc_path()
        if executable is None:
            raise RuntimeError("CBC binary not found (install PuLP or put 'cbc' on the PATH)")
        with tempfile.TemporaryDirectory(prefix="optimizer-cbc-") as tmp:
            folder = Path(tmp)
            files = {key: folder / name for key, name in
                     (("mps", "model.mps"), ("mst", "start.mst"), ("sol", "solution.txt"), ("bin", "solution.bin"))}
            write_mps(model, files["mps"])
            args = [executable, str(files["mps"]), *command_options(options)]
            if model.warm_start is not None:
                write_mip_start(np.asarray(model.warm_start, dtype=float), files["mst"])
                args += ["-mips", str(files["mst"])]
            args += ["-solve", "-solution", str(files["sol"]), "-saveSolution", str(files["bin"])]
            try:
                log = _run(args, folder, options.verbose)
            except _Killed:
                return SolverResult(Status.NO_SOLUTION, self.name, termination=Termination.INTERRUPTED,
                                    message="interrupted; CBC did not stop in time and was killed",
                                    solve_seconds=time.perf_counter() - start)
            except _Crashed as crash:  # seen with a limit of a few ms and a MIP start: no plan, not bad input
                return SolverResult(Status.NO_SOLUTION, self.name, termination=Termination.NUMERICAL,
                                    message=str(crash), solve_seconds=time.perf_counter() - start)
            result = _read_result(model, options, files["sol"], files["bin"], log)
        result.solve_seconds = time.perf_counter() - start
        return result


def command_options(options: SolveOptions) -> list[str]:
    """CBC command-line options for ``options`` (time limit counts wall-clock seconds).

    Args:
        options: The solve options.

    Returns:
        Arguments to place before ``-solve``.
    """
    args = ["-timeMode", "elapsed", "-ratioGap", repr(float(options.effective_gap)),
            "-allowableGap", repr(DEFAULT_ABS_GAP)]
    if options.time_limit is not None:
        args += ["-sec", repr(float(options.time_limit))]
    if options.threads is not None:
        args += ["-threads", str(int(options.threads))]
    return args


def write_mip_start(values: np.ndarray, path: Path) -> None:
    """Write a CBC MIP start file (``-mips``): a header line, then ``index name value 0`` per column.

    Written in blocks of lines by :func:`optimizer.solvers.mps.block_lines` (values as ``repr`` text).

    Args:
        values: Full-length starting solution.
        path: Destination file.
    """
    values = np.asarray(values, dtype=float)
    column = b" " + COLUMN_PREFIX.encode()

    def fields(start: int, stop: int) -> list[bytes | np.ndarray]:
        index = ids(np.arange(start, stop))
        return [index, column, index, b" ", numbers(values[start:stop]), b" 0\n"]

    with path.open("wb") as handle:
        handle.write(b"Stopped on time - objective value 0\n")
        for chunk in block_lines(values.size, fields):
            handle.write(chunk)


def _run(args: list[str], folder: Path, verbose: bool) -> str:
    """Run CBC, streaming its log to stderr when verbose; return the whole log.

    Raises:
        _Killed: CBC was interrupted and killed after :data:`INTERRUPT_GRACE_SECONDS`.
        RuntimeError: CBC failed.
    """
    lines: list[str] = []
    killer: list[threading.Timer] = []
    with subprocess.Popen(args, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True) as proc:

        def stop() -> None:
            proc.send_signal(signal.SIGINT)
            killer.append(threading.Timer(INTERRUPT_GRACE_SECONDS, proc.kill))
            killer[-1].start()

        try:
            with on_request(stop):
                for line in proc.stdout or ():
                    lines.append(line)
                    if verbose:
                        sys.stderr.write(line)
                code = proc.wait()
        except BaseException:
            proc.kill()
            raise
        finally:
            for timer in killer:
                timer.cancel()
    if killer and code < 0:
        raise _Killed
    log = "".join(lines)
    if code < 0:
        raise _Crashed(f"CBC crashed (signal {-code}); no plan from this solve")
    if code != 0:
        raise RuntimeError(f"CBC exited with code {code}; last lines of its log:\n{''.join(lines[-15:])}")
    return log


def parse_bound(log: str, objective: float | None, optimal: bool) -> float | None:
    """Best proven lower bound from a CBC log, without the model offset.

    In order of precision: the last ``Cbc0011I Exiting as integer gap of G``
    (bound = incumbent − G), the last ``Cbc0005I Partial search - … (best
    possible B)``, the summary ``Lower bound: X`` (3 decimals); failing those,
    the objective itself when CBC reports ``Optimal`` (proven within the
    requested gaps).

    Args:
        log: CBC's full output.
        objective: Incumbent objective without offset, if any.
        optimal: Whether the solution file says ``Optimal``.

    Returns:
        The bound, or ``None`` if the log states none.
    """
    gaps = _GAP_EXIT.findall(log)
    if gaps and objective is not None:
        return objective - float(gaps[-1])
    for pattern in (_PARTIAL, _LOWER):
        found = [float(v) for v in pattern.findall(log)]
        if found and abs(found[-1]) < _NO_VALUE:
            return found[-1]
    return objective if optimal else None


def _read_values(path: Path, n_cols: int) -> np.ndarray:
    """Column values from a ``-saveSolution`` file.

    Layout: int32 rows, int32 columns, float64 objective, then float64 arrays
    row activities, row duals, column values, reduced costs.
    """
    raw = path.read_bytes()
    n_rows, n_file_cols = (int(v) for v in np.frombuffer(raw, dtype=np.int32, count=2))
    if n_file_cols != n_cols:
        raise RuntimeError(f"CBC solution has {n_file_cols} columns, the model {n_cols}")
    body = np.frombuffer(raw, dtype=np.float64, offset=16)
    return body[2 * n_rows: 2 * n_rows + n_cols].copy()


def _out_of_time(log: str, options: SolveOptions) -> bool:
    """Whether CBC ran until its time limit (its log's wall-clock total): its verdict then proves nothing.

    When the limit strikes inside the cut generators of CBC 2.10's preprocessing, it reports
    "Pre-processing says infeasible" and the header ``Integer infeasible`` for a feasible model.
    """
    if options.time_limit is None:
        return False
    seconds = [float(v) for v in _WALLCLOCK.findall(log)]
    return bool(seconds) and seconds[-1] >= options.time_limit


def _read_result(model: LinearModel, options: SolveOptions, sol: Path, binary: Path, log: str) -> SolverResult:
    """Map CBC's solution header, solution values and log to a :class:`SolverResult`."""
    if not sol.exists():
        raise RuntimeError(f"CBC wrote no solution file; last lines of its log:\n{log[-2000:]}")
    with sol.open() as handle:
        header = handle.readline().strip()
    state = header.split(" - objective value")[0].strip()
    results = _RESULT.findall(log)
    message = results[-1] if results else state
    if state.startswith(("Infeasible", "Integer infeasible")):
        if _out_of_time(log, options):  # CBC's preprocessing stopped by the limit says "infeasible": not a proof
            return SolverResult(Status.NO_SOLUTION, CbcSolver.name, termination=Termination.TIME_LIMIT,
                                message="time limit reached before any feasible solution was found")
        return SolverResult(Status.INFEASIBLE, CbcSolver.name, termination=Termination.INFEASIBLE, message=message)
    if state.startswith("Unbounded"):
        return SolverResult(Status.NO_SOLUTION, CbcSolver.name, termination=Termination.UNBOUNDED,
                            message=f"{message} (the model has no finite minimum)")
    optimal = state.startswith("Optimal")
    if not optimal and not state.startswith("Stopped"):
        raise RuntimeError(f"CBC ended with an unexpected status: {header!r}")
    has_solution = optimal or (model.n_integer > 0 and "no integer solution" not in state)
    x = _read_values(binary, model.n_cols) if has_solution else None
    base = float(model.c @ x) if x is not None else None
    bound = parse_bound(log, base, optimal)
    if bound is not None:
        bound += model.offset
    objective = base + model.offset if base is not None else None
    if not has_solution and state.startswith("Stopped on time"):
        message = "time limit reached before any feasible solution was found"
    status = classify(optimal, has_solution, options, objective, bound)
    if _CTRL_C in log:
        termination, message = Termination.INTERRUPTED, "interrupted"
    elif optimal:
        termination = solver_termination(status, optimal, options)
    elif state.startswith("Stopped on time"):
        termination = Termination.TIME_LIMIT
    else:
        termination = Termination.NUMERICAL
    return SolverResult(status, CbcSolver.name, termination=termination, x=x, objective=objective, bound=bound,
                        message=message)
