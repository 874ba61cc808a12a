"""The run cache: its key (input hash plus software versions) and which stored runs are final.

A sweep reuses a stored run only when its key matches and the run is final:

* :func:`run_key` extends :func:`optimizer.runs.scenario.input_hash` (data, settings,
  overrides, solver options, the optimizer's own source) with :func:`software_versions`:
  the installed versions of the solvers (HiGHS, OR-Tools for SCIP, PuLP and the CBC binary
  it ships) and of the numeric libraries (numpy, scipy, pandas, networkx, pyproj).  Upgrading
  any of them changes every key, so runs are solved again.
* :func:`is_final` tells a run that would end the same way if solved again (optimal,
  infeasible, stopped at its own ``mip_gap``) from one cut short by the clock or a signal
  (termination ``time_limit`` or ``interrupted``), which is solved again unless the user
  asks to keep it (``optimizer run --reuse-limited``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from functools import lru_cache
from typing import Any

#: Distributions whose versions are part of the cache key (key in :func:`software_versions`).
VERSIONED_PACKAGES: dict[str, str] = {
    "highspy": "highspy",
    "ortools": "ortools",
    "pulp": "PuLP",
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "networkx": "networkx",
    "pyproj": "pyproj",
}
#: Distribution name of this package.
DISTRIBUTION = "warehouse-optimizer"
#: Value of a version that cannot be found (package not installed, binary missing).
ABSENT = "absent"
#: Terminations that do not make a run final (re-running may end differently).
LIMITED = ("time_limit", "interrupted")
#: Statuses that carry a plan.
PLAN_STATUSES = ("optimal", "feasible")


def _distribution_version(name: str) -> str:
    """The installed version of distribution ``name``, or :data:`ABSENT`."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ABSENT


@lru_cache(maxsize=1)
def cbc_version() -> str:
    """The version line of the CBC binary the CBC backend runs (PuLP's bundled one), e.g. ``2.10.3``.

    Runs ``cbc -quit`` once per process (a few milliseconds) and caches the answer.

    Returns:
        The version printed by the binary, :data:`ABSENT` without a binary, or ``unknown``
        when it prints no version line.
    """
    from optimizer.solvers.cbc import cbc_path

    path = cbc_path()
    if path is None:
        return ABSENT
    try:
        done = subprocess.run([path, "-quit"], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    for line in done.stdout.splitlines():
        if line.strip().lower().startswith("version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def software_versions() -> dict[str, str]:
    """The versions that can change a run's result, by name (read once per process; a new dict each call).

    Returns:
        ``highspy``, ``ortools`` (SCIP), ``pulp`` and ``cbc`` (the binary's version line),
        ``numpy``, ``scipy``, ``pandas``, ``networkx`` and ``pyproj``; :data:`ABSENT` for any
        not installed.
    """
    return dict(_versions())


@lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    """The versions of :func:`software_versions`, read once."""
    versions = {key: _distribution_version(dist) for key, dist in VERSIONED_PACKAGES.items()}
    versions["cbc"] = cbc_version()
    return tuple(sorted(versions.items()))


@lru_cache(maxsize=1)
def software_version() -> str:
    """This optimizer's version as stored with each run: the installed package version plus its source hash.

    Returns:
        e.g. ``0.1.0+src.1a2b3c4d5e6f``: ``importlib.metadata.version("warehouse-optimizer")``
        (``optimizer.__version__`` when the package runs from a source tree) and the first 12
        hex digits of :func:`optimizer.runs.scenario.package_source_hash`.
    """
    import optimizer
    from optimizer.runs.scenario import package_source_hash

    installed = _distribution_version(DISTRIBUTION)
    release = optimizer.__version__ if installed == ABSENT else installed
    return f"{release}+src.{package_source_hash()[:12]}"


def run_key(input_digest: str, versions: dict[str, str] | None = None) -> str:
    """The cache key of a run: sha256 hex of its input hash and the software versions.

    Args:
        input_digest: :func:`optimizer.runs.scenario.input_hash` of the run.
        versions: The versions to key on (default: :func:`software_versions`).

    Returns:
        64 hex digits.
    """
    text = json.dumps({"input": input_digest, "versions": versions or software_versions()},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def is_final(record: Any, mip_gap: float | None, time_limit: float | None) -> bool:
    """Whether a stored run would end the same way if solved again (so it may be reused).

    Not final: a run whose termination is ``time_limit`` or ``interrupted``; and, for runs that
    recorded no termination, a ``feasible`` run (or one with no plan, ``no_solution``) when a
    time limit was set, unless its gap is within its own ``mip_gap``.  A run stopped by its own
    ``mip_gap`` (termination ``gap_limit``) is final.

    Args:
        record: The stored run (``status``, ``termination``, ``gap``).
        mip_gap: The run's relative gap setting (``None``: none).
        time_limit: The run's time limit in seconds (``None``: none).

    Returns:
        True when the run can be reused as it is.
    """
    if record.termination is not None:
        return record.termination not in LIMITED
    if record.status == "feasible":
        if record.gap is not None and mip_gap is not None and record.gap <= mip_gap:
            return True
        return time_limit is None
    if record.status == "no_solution":
        return time_limit is None
    return True
