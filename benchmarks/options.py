"""The options every suite receives from the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import ROOT

#: Environment variable naming the shared benchmark folder (overridden by ``--shared``).
SHARED_ENV = "OPTIMIZER_BENCHMARKS"
#: The shared benchmark folder by default: ``../shared/benchmarks`` beside the repository.
DEFAULT_SHARED = ROOT.parent / "shared" / "benchmarks"


def default_shared() -> Path:
    """``$OPTIMIZER_BENCHMARKS`` if set, else :data:`DEFAULT_SHARED`."""
    return Path(os.environ[SHARED_ENV]) if os.environ.get(SHARED_ENV) else DEFAULT_SHARED


@dataclass(frozen=True)
class Options:
    """What the command line passes to every suite.

    Attributes:
        baseline: Also run the baselines (compact HiGHS model, textbook PuLP + CBC).
        time_limit: Solver seconds per engine solve (``None``: the suite's default).
        shared: Folder with the large benchmark files (``orlib/``, ``sscflp/``).
        instances: Only these instance (or sweep scenario) names; ``None`` for all.
        sizes: Only these sizes (``50x1000`` ..., ``demo``) in ``ladder`` and ``routing``.
        repeat: Runs of each command in ``startup`` (the median is reported).
        workers: Worker processes of the parallel run in ``sweep``.
        dask: ``sweep`` also runs on a Dask LocalCluster.
        sweep_file: The sweep of ``sweep``.
    """

    baseline: bool = False
    time_limit: float | None = None
    shared: Path = DEFAULT_SHARED
    instances: tuple[str, ...] | None = None
    sizes: tuple[str, ...] | None = None
    repeat: int = 7
    workers: int = 2
    dask: bool = False
    sweep_file: Path = ROOT / "scenarios" / "demo-sweep.yaml"
