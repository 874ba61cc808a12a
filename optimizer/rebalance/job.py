"""A rebalancing run that is safe to start from cron: locked, published atomically, recorded.

:func:`run` does, in order:

1. takes an exclusive lock on ``DIR/.optimizer.lock`` (``flock``, non-blocking) for the whole
   run; when another run holds it, :class:`LockedError` (exit 3) and nothing is touched;
2. reads the dataset and the run's files, builds the graph, decides the transfers (interruptible
   by SIGTERM / Ctrl-C) and checks them with the independent checker;
3. publishes ``transfers.csv`` and ``summary.json`` as one set: both are written (and fsynced)
   into a new folder ``DIR/runs/.tmp-NAME``, which is renamed to ``DIR/runs/NAME`` and made
   current by replacing the symbolic link ``DIR/current`` in one ``rename``.
   ``DIR/transfers.csv`` and ``DIR/summary.json`` are symbolic links into ``current/``, so they
   always show one complete pair; a run killed at any point leaves the previous pair in place
   (its half-written ``.tmp-`` folder is removed by the next run).  The last :data:`KEEP_RUNS`
   published folders are kept.  A plan the checker rejects, or no plan, is not published;
4. records the run in the run store (default ``DIR/rebalance.runs.db``, :mod:`optimizer.runs.store`):
   inputs hash, status, costs, figures and every transfer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from optimizer.checker.rebalance import check_rebalance
from optimizer.errors import InputError, OptimizerError, Problem
from optimizer.io.dataset import read_dataset
from optimizer.io.files import make_output_folder
from optimizer.rebalance import summary as outputs
from optimizer.rebalance.engine import Options, Plan, solve
from optimizer.rebalance.graph import build_graph, shortest_paths
from optimizer.rebalance.inputs import RebalanceInputs, read_inputs
from optimizer.runs.cache import software_version, software_versions
from optimizer.runs.store import RunRecord, RunStore

#: The lock file in the output folder.
LOCK_FILE = ".optimizer.lock"
#: The output files, each a symbolic link into ``current/``.
OUTPUT_FILES = ("transfers.csv", "summary.json")
#: Published run folders kept in ``DIR/runs`` (older ones are removed).
KEEP_RUNS = 10
#: The default run store's file name in the output folder.
STORE_FILE = "rebalance.runs.db"


class LockedError(OptimizerError):
    """Another run holds the output folder's lock."""


@dataclass
class Request:
    """What to run (the command line's arguments).

    Attributes:
        dataset: The dataset folder.
        inventory: inventory.csv.
        out: The output folder.
        targets: targets.csv, or None (pooled stock formulas).
        in_transit: in_transit.csv, or None.
        run_days: Length of the run, days.
        store: Run store location (None: ``DIR/rebalance.runs.db``).
        options: Engine options.
    """

    dataset: Path
    inventory: Path
    out: Path
    targets: Path | None = None
    in_transit: Path | None = None
    run_days: float = 1.0
    store: str | None = None
    options: Options = Options()


@dataclass
class Outcome:
    """What a run produced.

    Attributes:
        summary: summary.json's document (with ``transfers_sha256``).
        plan: The engine's plan.
        published: Whether the outputs were made current.
        check_ok: The checker's verdict.
        run_id: Key of the run in the store.
        folder: The published folder (or None).
    """

    summary: dict[str, Any]
    plan: Plan
    published: bool
    check_ok: bool
    run_id: int | None
    folder: Path | None


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``folder`` for the block.

    Raises:
        LockedError: Another process holds it.
    """
    path = folder / LOCK_FILE
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise InputError(Problem(str(path), f"lock file cannot be opened: {exc.strerror or exc}")) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 200, 0).decode(errors="replace").strip()
            raise LockedError(f"{folder}: another rebalancing run holds {LOCK_FILE}"
                              + (f" ({holder})" if holder else "") + "; not started") from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"pid {os.getpid()} since {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n".encode(), 0)
        yield
    finally:
        os.close(handle)  # releases the lock


def _check_links(folder: Path) -> None:
    """Refuse an output folder whose transfers.csv / summary.json / current are not this command's links."""
    for name in (*OUTPUT_FILES, "current"):
        path = folder / name
        if os.path.lexists(path) and not path.is_symlink():
            raise InputError(Problem(str(path), "exists and is not the symbolic link `optimizer rebalance` makes; "
                                                "refusing to replace it (choose another --out)"))


def _fsync_dir(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _write(path: Path, text: str) -> None:
    with open(path, "x", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_link(link: Path, target: str) -> None:
    """Point the symbolic link ``link`` at ``target`` in one rename."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def publish(folder: Path, name: str, files: dict[str, str]) -> Path:
    """Write ``files`` into ``folder/runs/NAME`` and make it current (see the module docstring)."""
    runs = folder / "runs"
    runs.mkdir(exist_ok=True)
    tmp = runs / f".tmp-{name}"
    tmp.mkdir()
    for file, text in files.items():
        _write(tmp / file, text)
    _fsync_dir(tmp)
    final = runs / name
    os.rename(tmp, final)
    _fsync_dir(runs)
    _replace_link(folder / "current", f"runs/{name}")
    for file in files:
        if not (folder / file).is_symlink():
            _replace_link(folder / file, f"current/{file}")
    _fsync_dir(folder)
    return final


def _tidy(folder: Path) -> None:
    """Remove half-written folders of killed runs and published folders beyond :data:`KEEP_RUNS`."""
    runs = folder / "runs"
    if not runs.is_dir():
        return
    current = os.readlink(folder / "current") if (folder / "current").is_symlink() else ""
    for path in runs.glob(".tmp-*"):
        shutil.rmtree(path, ignore_errors=True)
    published = sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith("."))
    for path in published[:-KEEP_RUNS]:
        if f"runs/{path.name}" != current:
            shutil.rmtree(path, ignore_errors=True)


def inputs_hash(request: Request) -> str:
    """SHA-256 of the dataset's files, the run's files, the options and the software version."""
    digest = hashlib.sha256()
    files = sorted(p for p in request.dataset.iterdir() if p.is_file()) if request.dataset.is_dir() else []
    for path in [*files, request.inventory, request.targets, request.in_transit]:
        if path is not None and path.is_file():
            data = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    options = {"run_days": request.run_days, "min_shipment": request.options.min_shipment,
               "max_transfers": request.options.max_transfers, "time_limit": request.options.time_limit,
               "version": software_version()}
    digest.update(json.dumps(options, sort_keys=True).encode())
    return digest.hexdigest()


def _stock_table(inputs: RebalanceInputs) -> pd.DataFrame:
    """The checker's view of the run's stock and targets, one row per (site, product)."""
    n, m = inputs.on_hand.shape
    return pd.DataFrame({"site": np.repeat(inputs.sites, m), "product": np.tile(inputs.products, n),
                         "on_hand": inputs.on_hand.ravel(), "arriving": inputs.arriving.ravel(),
                         "min": inputs.minimum.ravel(), "target": inputs.target.ravel(),
                         "max": inputs.maximum.ravel()})


def run(request: Request, note: Any = None) -> Outcome:
    """One locked, checked, atomically published and recorded rebalancing run.

    Args:
        request: What to run.
        note: Called with a line of progress (``note(text, phase=...)``), or None.

    Raises:
        LockedError: Another run holds the folder.
        InputError: Bad input (file, line and field named).
    """
    say = note or (lambda text, phase: None)
    folder = make_output_folder(request.out)
    _check_links(folder)
    location: Any = request.store if request.store is not None else folder / STORE_FILE
    with locked(folder), RunStore(location) as store:  # a bad store is refused before anything is published
        runs = folder / "runs"
        if runs.exists() and not runs.is_dir():
            raise InputError(Problem(str(runs), "is not a folder: the published runs go there; move it away",
                                     field="--out"))
        _tidy(folder)
        started = time.perf_counter()
        network = read_dataset(request.dataset)
        inputs = read_inputs(network, request.inventory, request.targets, request.in_transit, request.run_days)
        graph = build_graph(network, inputs.sites, inputs.run_days)
        sites = network.sites.reindex(inputs.sites)
        docks = np.stack([sites[c].to_numpy(dtype=float) if c in sites.columns else np.full(len(sites), np.inf)
                          for c in ("max_outbound", "max_inbound")])
        build_seconds = time.perf_counter() - started
        say(f"{len(inputs.sites)} sites, {len(inputs.products)} products, {graph.n_edges} edges", phase="build")
        plan = solve(inputs, graph, request.options, docks)
        say(f"{plan.engine}: {plan.status} ({plan.termination})", phase="solve")
        table = outputs.transfer_table(plan, inputs, graph)
        document = outputs.summary_document(plan, inputs, graph, shortest_paths(graph), table, network.name, None)
        has_plan = plan.status in ("optimal", "feasible")
        check = check_rebalance(network, table, _stock_table(inputs), inputs.run_days, document["costs"],
                                request.options.min_shipment, request.options.max_transfers,
                                whole_packs=plan.engine == "mip")
        document["check"] = check.to_dict()
        csv = outputs.csv_text(table)
        digest = outputs.sha256(csv)
        text = outputs.summary_text(document, digest)
        key = inputs_hash(request)
        name = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{key[:12]}"
        published = None
        failure = None
        if has_plan and check.ok:
            try:
                published = publish(folder, name, {"transfers.csv": csv, "summary.json": text})
                _tidy(folder)
            except OSError as error:  # recorded as this run's error, then reported as bad --out
                failure = f"the plan could not be published into {folder}: {error.strerror or error}"
        record = RunRecord(
            sweep="rebalance", scenario=network.name, inputs_hash=key,
            definition={"dataset": str(request.dataset), **inputs.files, "run_days": inputs.run_days,
                        "min_shipment": request.options.min_shipment,
                        "max_transfers": request.options.max_transfers, "time_limit": request.options.time_limit,
                        "output": str(published) if published else None},
            status=plan.status, objective=document["objective"] if has_plan else None, bound=plan.bound,
            gap=document["gap"], costs=document["costs"], open_sites=list(inputs.sites),
            flows=table.assign(quantity=table["quantity"].astype(float)),
            kpis={"engine": plan.engine, "units_moved": document["units_moved"], "transfers": document["transfers"],
                  "short_of_target_units": document["short_of_target_units"], "transfers_sha256": digest,
                  "check_ok": check.ok, "published": published is not None},
            build_seconds=build_seconds, solve_seconds=plan.solve_seconds, software_version=software_version(),
            error=failure or (None if check.ok else "; ".join(check.violations[:5])), termination=plan.termination,
            versions=software_versions())
        run_id = store.save(record)
        if failure is not None:
            raise InputError(Problem(str(folder), failure, field="--out"))
    return Outcome(summary={**document, "transfers_sha256": digest}, plan=plan, published=published is not None,
                   check_ok=check.ok, run_id=run_id, folder=published)
