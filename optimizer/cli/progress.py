"""Progress on the command line: a live status line on a terminal, or JSON log records (``--log-json``).

``solve``, ``frontier`` and ``run`` wrap their work in :func:`shown`, which listens to
:mod:`optimizer.progress` and shows what it hears on stderr:

* with ``--log-json``: one JSON object per line, ``{"event": "progress", "phase", "seconds",
  "objective", "bound", "gap", "message"}`` for each event, ``{"event": "result", ...}`` with the
  command's summary at the end, or ``{"event": "error", "message"}`` when it fails on bad input
  (the plain-text error line follows it, as without the flag);
* else, when stderr is a terminal: one line redrawn in place (phase, elapsed seconds, best
  plan, bound, gap, note), erased when the work ends;
* else nothing (scripts, tests and cron jobs stay quiet).

Standard output is never touched: ``--json`` still prints exactly one document there.
This module imports nothing heavy, so that ``optimizer --help`` stays fast.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from optimizer import progress
from optimizer.errors import OptimizerError
from optimizer.progress import ProgressEvent

if TYPE_CHECKING:
    from optimizer.results import Result

F = TypeVar("F", bound=Callable[..., Any])

#: Width of the status line when the terminal's cannot be read.
DEFAULT_WIDTH = 80


def log_json_option(command: F) -> F:
    """The ``--log-json`` flag (parameter ``log_json``) of a command."""
    return click.option(
        "--log-json", "log_json", is_flag=True,
        help="Write progress (phase, seconds, best plan, bound, gap) and a final summary to stderr as JSON "
             "objects, one per line (stdout is unchanged).")(command)


def status_text(event: ProgressEvent) -> str:
    """One status line: ``mip  12.3 s  best 88,146.79  bound 88,094.94  gap 0.07%  1,234 nodes``."""
    gap = "-" if event.gap is None else f"{event.gap:.2%}"
    parts = [event.phase, f"{event.seconds:.1f} s", f"best {_money(event.objective)}",
             f"bound {_money(event.bound)}", f"gap {gap}"]
    if event.message:
        parts.append(event.message)
    return "  ".join(parts)


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (JSON has no NaN or infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


class Display:
    """Where a command's progress goes (see the module docstring); a listener of :mod:`optimizer.progress`.

    Events may arrive from a solver's thread, so every write holds one lock.

    Attributes:
        log_json: JSON records instead of text.
        live: A status line is redrawn in place (stderr is a terminal, no ``--log-json``).
    """

    def __init__(self, stream: IO[str], log_json: bool, live: bool) -> None:
        self.stream = stream
        self.log_json = log_json
        self.live = live and not log_json
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._drawn = False  # the status line is on screen

    @property
    def listening(self) -> bool:
        """Whether progress events are shown at all."""
        return self.log_json or self.live

    def __call__(self, event: ProgressEvent) -> None:
        """Show one progress event (a JSON record, or the redrawn status line)."""
        if self.log_json:
            self._record(event.to_dict())
        elif self.live:
            with self._lock:
                self._drawn = self._write("\r" + status_text(event)[:self._width() - 1] + "\x1b[K")

    def note(self, text: str, *, phase: str, objective: float | None = None, bound: float | None = None) -> None:
        """A lasting line of progress (e.g. a frontier point): a text line, or a progress record with ``--log-json``."""
        if self.log_json:
            self.record(text, phase=phase, objective=objective, bound=bound)
        else:
            self.clear()
            click.echo(text, err=True)

    def record(self, message: str, *, phase: str, objective: float | None = None, bound: float | None = None) -> None:
        """A progress record of the command's own (e.g. a finished run), with ``--log-json`` only."""
        if self.log_json:
            self(ProgressEvent(phase, time.monotonic() - self.start, _finite(objective), _finite(bound), message))

    def result(self, summary: dict[str, Any]) -> None:
        """The final ``{"event": "result", ...}`` record (with ``--log-json`` only)."""
        if self.log_json:
            self._record({"event": "result", "seconds": time.monotonic() - self.start, **summary})

    def error(self, error: OptimizerError) -> None:
        """The ``{"event": "error", "message", "problems"}`` record of a failed command (with ``--log-json`` only:
        the error is then marked ``logged``, and :func:`optimizer.cli.common.fail` writes no plain line besides)."""
        if self.log_json:
            problems = [p.to_dict() for p in getattr(error, "problems", [])]
            self._record({"event": "error", "seconds": time.monotonic() - self.start, "message": str(error),
                          "problems": problems})
            error.logged = True  # type: ignore[attr-defined]

    def clear(self) -> None:
        """Erase the status line, if one is on screen (before other output, and at the end)."""
        with self._lock:
            if self._drawn:
                self._drawn = not self._write("\r\x1b[K")

    def _record(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._write(json.dumps(_json_safe(record)) + "\n")

    def _write(self, text: str) -> bool:
        """Write and flush; a closed stderr (``| head``) ends the display, not the solve whose plan goes to stdout."""
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a broken pipe, or a closed file
            self.log_json = self.live = False
            return False
        return True

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):  # not a real terminal (or no file descriptor)
            columns = 0
        return columns or DEFAULT_WIDTH  # a pseudo-terminal may report 0 columns


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@contextmanager
def shown(log_json: bool, *, live: bool = True, stream: IO[str] | None = None) -> Iterator[Display]:
    """Show the progress of the work in the block on stderr (see the module docstring).

    Args:
        log_json: Write JSON records (``--log-json``).
        live: Redraw a status line when ``stream`` is a terminal (off with ``--verbose``, whose
            solver log would interleave, or where another display runs, like ``run``'s bar).
        stream: Where to write (default: the current ``sys.stderr``).

    Yields:
        The display, for :meth:`Display.note` and :meth:`Display.result`.
    """
    stream = sys.stderr if stream is None else stream
    display = Display(stream, log_json, live and _is_terminal(stream))
    if not display.listening:
        yield display
        return
    try:
        with progress.listening(display):
            yield display
    except OptimizerError as error:
        display.error(error)
        raise
    finally:
        display.clear()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream
        return False


def solve_summary(result: Result) -> dict[str, Any]:
    """The ``result`` record of ``optimizer solve``: status, cost, bound, gap, timings, check, messages."""
    return _json_safe({
        "network": result.network_name,
        "status": result.status.value,
        "termination": None if result.termination is None else result.termination.value,
        "objective": _finite(result.objective),
        "bound": _finite(result.bound),
        "gap": _finite(result.gap),
        "solver": result.solver,
        "build_seconds": result.build_seconds,
        "solve_seconds": result.solve_seconds,
        "open_sites": len(result.open_sites),
        "check_ok": None if result.check is None else result.check.ok,
        "messages": list(result.messages),
    })
