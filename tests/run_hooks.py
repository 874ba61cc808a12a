"""Test hooks for the sweep runner, kept out of the package.

Imported by tests (and by the worker processes they start, which find this folder on
``sys.path``), or run as a script that patches the runner and then runs ``optimizer run``::

    python tests/run_hooks.py kill-after N -- SWEEP.yaml --store ...   # SIGKILL itself after N stored runs
    python tests/run_hooks.py gate FOLDER -- SWEEP.yaml --store ...    # wait for FOLDER/go first
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

#: Scenario (= network) name whose solve kills its worker process in :func:`solve_or_die`.
KILLER = "kill-my-worker"


def solve_or_die(network: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The runner's ``solve_task``, except that the scenario named :data:`KILLER` SIGKILLs its own
    process in the middle of its solve.

    Every other solve first pauses for a second, longer than the killer's pause, so that other
    scenarios are in flight on the pool when the killer dies.
    """
    from optimizer.runs import runner  # in a worker process: the module as imported, not patched

    if network.name == KILLER:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(1.0)
    return runner.solve_task(network, options)


def record_intervals(path: str) -> None:
    """Patch ``optimizer.api.solve`` in this process to append ``{pid, start, end}`` of each call to ``path``.

    Each solve sleeps a little inside the interval so that two concurrent solves are sure to overlap.
    """
    from optimizer import api

    original = getattr(api.solve, "__wrapped_solve__", api.solve)

    def solve(*args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            time.sleep(0.3)
            return original(*args, **kwargs)
        finally:
            with open(path, "a") as log:
                log.write(json.dumps({"pid": os.getpid(), "start": start, "end": time.monotonic()}) + "\n")

    solve.__wrapped_solve__ = original  # type: ignore[attr-defined]
    api.solve = solve


def overlapping(path: str | Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs of recorded solves of one process whose intervals overlap."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    return [(a, b) for i, a in enumerate(rows) for b in rows[i + 1:]
            if a["pid"] == b["pid"] and a["start"] < b["end"] and b["start"] < a["end"]]


def _kill_after(n: int) -> None:
    """Make the runner's store SIGKILL this process right after its n-th stored run."""
    from optimizer.runs.store import RunStore

    original = RunStore.save
    count = 0

    def save(self: RunStore, *args: Any, **kwargs: Any) -> int:
        nonlocal count
        run_id = original(self, *args, **kwargs)
        count += 1
        if count == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return run_id

    RunStore.save = save  # type: ignore[method-assign]


def _gate(folder: Path) -> None:
    """Say ready (``FOLDER/<pid>``) and wait for ``FOLDER/go``, so that two sweeps start together."""
    (folder / str(os.getpid())).touch()
    while not (folder / "go").exists():
        time.sleep(0.005)


def main(argv: list[str]) -> None:
    """``HOOK ARG -- optimizer run arguments``: install the hook, then run the command."""
    hook, arg, separator, *rest = argv
    assert separator == "--", "usage: run_hooks.py HOOK ARG -- SWEEP.yaml [options]"
    if hook == "kill-after":
        _kill_after(int(arg))
    elif hook == "gate":
        _gate(Path(arg))
    else:
        raise SystemExit(f"unknown hook {hook}")
    from optimizer.cli.run import run

    run(rest)


if __name__ == "__main__":
    main(sys.argv[1:])
