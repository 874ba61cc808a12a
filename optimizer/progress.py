"""Progress of long solves: the bound, the best plan and the gap as they move.

Solve strategies and solver adapters call :func:`emit`; whoever wants to see progress
(the CLI's terminal display, ``--log-json``) wraps the work in :func:`listening`.  With
no listener, :func:`emit` costs one context-variable lookup.  Listeners must never
write to stdout (it is reserved for ``--json``).

Listeners live in a context variable, which a new thread does not inherit: code that reports
from another thread (a solver's callback) takes :func:`reporter` in the calling thread first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import partial


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report.

    Attributes:
        phase: What is running, e.g. ``lagrangian``, ``heuristic``, ``mip``, ``pooled-cuts``.
        seconds: Seconds since the listener started.
        objective: Cost of the best plan so far (currency per period), ``None`` without one.
        bound: Best valid lower bound so far (currency per period), ``None`` without one.
        message: A short human-readable note.
    """

    phase: str
    seconds: float
    objective: float | None = None
    bound: float | None = None
    message: str = ""

    @property
    def gap(self) -> float | None:
        """Relative gap ``(objective - bound) / |objective|``, ``None`` when either is missing."""
        if self.objective is None or self.bound is None:
            return None
        if not (math.isfinite(self.objective) and math.isfinite(self.bound)):
            return None
        denominator = max(abs(self.objective), 1e-10)
        return max(0.0, (self.objective - self.bound) / denominator)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready record (``event: progress``)."""
        return {"event": "progress", "phase": self.phase, "seconds": self.seconds, "objective": self.objective,
                "bound": self.bound, "gap": self.gap, "message": self.message}


Listener = Callable[[ProgressEvent], None]
#: What :func:`reporter` returns: ``report(phase, objective=, bound=, message=)``.
Reporter = Callable[..., None]

_LISTENERS: ContextVar[tuple[tuple[Listener, float], ...]] = ContextVar("optimizer_progress", default=())


def active() -> bool:
    """Whether anyone listens (skip costly progress work when not)."""
    return bool(_LISTENERS.get())


def emit(phase: str, *, objective: float | None = None, bound: float | None = None, message: str = "") -> None:
    """Report progress to every listener (no-op without listeners)."""
    listeners = _LISTENERS.get()
    if listeners:
        _send(listeners, phase, objective=objective, bound=bound, message=message)


def reporter() -> Reporter | None:
    """:func:`emit` bound to the listeners of the calling context, for use from any thread.

    Returns:
        A function with :func:`emit`'s signature that reports to the listeners active now
        (even when called from a solver's thread, which does not see this context), or
        ``None`` when nobody listens (then skip the reporting altogether).
    """
    listeners = _LISTENERS.get()
    if not listeners:
        return None
    return partial(_send, listeners)


def _send(listeners: tuple[tuple[Listener, float], ...], phase: str, *, objective: float | None = None,
          bound: float | None = None, message: str = "") -> None:
    """Hand one event to each listener, timed from that listener's start."""
    now = time.monotonic()
    for listener, start in listeners:
        listener(ProgressEvent(phase=phase, seconds=now - start, objective=_finite(objective), bound=_finite(bound),
                               message=message))


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send progress events emitted inside the block to ``listener``."""
    token = _LISTENERS.set((*_LISTENERS.get(), (listener, time.monotonic())))
    try:
        yield
    finally:
        _LISTENERS.reset(token)


@contextmanager
def quiet() -> Iterator[None]:
    """Report nothing from inside the block: for a strategy's internal sub-solves (a site knapsack,
    a transportation problem), whose plans and bounds are not those of the problem being solved."""
    token = _LISTENERS.set(())
    try:
        yield
    finally:
        _LISTENERS.reset(token)


@contextmanager
def known(*, objective: float | None = None, bound: float | None = None, relaxation: bool = False) -> Iterator[None]:
    """Inside the block, report no plan worse than ``objective`` and no bound weaker than ``bound``.

    For a strategy that hands a sub-problem to a solver while it already holds a plan or a
    bound (a reduced MIP after a Lagrangian bound, the next round of a cut loop): the solver's
    own events then show the best known figures, not a bound that starts again from below.
    ``objective`` must be the cost of a real plan of the whole problem and ``bound`` valid for it.

    Args:
        objective: The cost of the best plan known, if any.
        bound: The best valid bound known, if any.
        relaxation: The block solves a relaxation (e.g. the pooled model's outer approximation):
            its bounds are valid but its plans' objectives are not their true cost, so events
            show ``objective`` instead of them.
    """
    floor, ceiling = _finite(bound), _finite(objective)
    token = _LISTENERS.set(tuple((_clamped(listener, ceiling, floor, relaxation), start)
                                 for listener, start in _LISTENERS.get()))
    try:
        yield
    finally:
        _LISTENERS.reset(token)


def _clamped(listener: Listener, ceiling: float | None, floor: float | None, relaxation: bool) -> Listener:
    """``listener`` seeing objectives capped at ``ceiling`` (replaced for a relaxation), bounds raised to ``floor``."""

    def clamped(event: ProgressEvent) -> None:
        objective, bound = (None if relaxation else event.objective), event.bound
        if ceiling is not None:
            objective = ceiling if objective is None else min(objective, ceiling)
        if floor is not None:
            bound = floor if bound is None else max(bound, floor)
        listener(replace(event, objective=objective, bound=bound))

    return clamped


def _finite(value: float | None) -> float | None:
    """``value`` as a float, ``None`` when missing or not finite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
