"""The audit trail of a solve: which software, which input, which solver, when (``result.json``'s ``audit``)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from optimizer.network import Network
from optimizer.runs.cache import software_version, software_versions
from optimizer.runs.scenario import Scenario, input_hash

#: Where each solver's version is read from (:func:`optimizer.runs.cache.software_versions`).
SOLVER_PACKAGES = {"highs": "highspy", "scip": "ortools", "cbc": "cbc"}


def audit_trail(path: str | Path, network: Network, solver: str, options: dict[str, Any]) -> dict[str, Any]:
    """The audit trail of one solve.

    Args:
        path: What was solved (dataset folder or scenario file), as given.
        network: The network loaded from it (overrides applied).
        solver: The backend that solved it.
        options: The solver options given (time limit, gap, threads, strategy); part of the hash.

    Returns:
        ``software_version`` (release + source hash), ``inputs_hash`` (sha256 of the network's
        tables and settings, the options and the package source: the run store's input hash),
        ``solver``, ``solver_version``, ``input`` (the path) and ``created`` (UTC, ISO 8601).
    """
    scenario = Scenario(name=network.name, base=Path(path).resolve(), overrides={}, source=str(path))
    return {
        "software_version": software_version(),
        "inputs_hash": input_hash(scenario, network, options),
        "solver": solver,
        "solver_version": software_versions().get(SOLVER_PACKAGES.get(solver, solver), "unknown"),
        "input": str(path),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
