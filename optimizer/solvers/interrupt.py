"""A process-wide interrupt request: Ctrl-C (SIGINT) or SIGTERM stops a solve and keeps its best plan.

The command line arms it with :func:`handle_signals` around ``solve`` and ``frontier``
(library users may do the same); the signal handler only calls :func:`request`.  Then:

* each backend runs its blocking solver call through :func:`run_interruptible`: in a worker
  thread while the calling thread waits in short steps, so that the handler runs within a
  fraction of a second, and a *cancel* function (HiGHS ``cancelSolve``, SCIP
  ``interrupt_solve``, SIGINT to the CBC process) registered with :func:`on_request` stops
  the solver, which returns its best plan so far (termination ``interrupted``);
* the pooled model's cut loop and the frontier stop between rounds / points
  (:func:`requested`).

A second signal while the first is being handled raises :class:`KeyboardInterrupt`
(a hard stop, the plan is lost).  When no handler is armed, solves run directly in the
calling thread and nothing here changes their behaviour.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

#: Name of the worker thread of :func:`run_interruptible` (the command line exits at once while one is alive).
SOLVE_THREAD = "optimizer-solve"

#: Seconds between checks of a waiting solve (the handler runs at the latest after this).
POLL_SECONDS = 0.1

_event = threading.Event()
_lock = threading.RLock()  # re-entrant: the signal handler may run while this thread holds it
_cancels: list[Callable[[], None]] = []
_armed = 0


def requested() -> bool:
    """Whether an interrupt was requested since the handlers were armed (or :func:`clear`)."""
    return _event.is_set()


def armed() -> bool:
    """Whether :func:`handle_signals` is active (solves then run interruptibly)."""
    return _armed > 0


def request() -> None:
    """Ask every running solve to stop and keep its best plan (what the signal handler does)."""
    _event.set()
    with _lock:
        cancels = list(_cancels)
    for cancel in cancels:
        _call_quietly(cancel)


def clear() -> None:
    """Forget an earlier request (at the start of a command)."""
    _event.clear()


def _call_quietly(cancel: Callable[[], None]) -> None:
    """Run a cancel function; a solver that already finished may refuse, which is harmless."""
    try:
        cancel()
    except Exception:  # noqa: BLE001 - a finished solver or process cannot be cancelled, nothing to do
        pass


@contextmanager
def on_request(cancel: Callable[[], None]) -> Iterator[None]:
    """Call ``cancel`` when an interrupt is requested during the block (at once if one already was)."""
    with _lock:
        _cancels.append(cancel)
    try:
        if _event.is_set():
            _call_quietly(cancel)
        yield
    finally:
        with _lock:
            _cancels.remove(cancel)


def run_interruptible(call: Callable[[], T], cancel: Callable[[], None]) -> T:
    """Run a blocking solver call so that an interrupt request stops it promptly.

    When armed, ``call`` runs in a worker thread and this thread waits in steps of
    :data:`POLL_SECONDS` (so that signal handlers run); ``cancel`` is called on a request.
    When not armed, ``call`` simply runs here.

    Args:
        call: The solver's blocking call (it must release the GIL, as highspy and OR-Tools do).
        cancel: Asks the solver to stop (it then returns its best solution).

    Returns:
        What ``call`` returned; its exception, if any, is raised here.
    """
    if not armed():
        return call()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = error

    worker = threading.Thread(target=target, name=SOLVE_THREAD, daemon=True)
    with on_request(cancel):
        worker.start()
        while worker.is_alive():
            worker.join(POLL_SECONDS)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@contextmanager
def handle_signals(signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Turn SIGINT / SIGTERM into an interrupt request for the duration of the block.

    The first signal calls :func:`request`; a second one raises :class:`KeyboardInterrupt`.
    The previous handlers are restored on exit.  Only the main thread can install signal
    handlers: elsewhere the block runs unchanged.

    Yields:
        Nothing.
    """
    global _armed
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if _event.is_set():
            raise KeyboardInterrupt
        request()

    clear()
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    _armed += 1
    try:
        yield
    finally:
        _armed -= 1
        for sig, old in previous.items():
            signal.signal(sig, old)
