"""Suites over published benchmark files: ``orlib``, ``capabc`` and ``holmberg``.

* ``orlib``: J.E. Beasley's 37 small capacitated warehouse location instances (cap41 ... cap134,
  16-50 facilities x 50 customers), in ``tests/data/orlib`` with their optima.
* ``capabc``: the 12 capacity variants of capa, capb and capc (100 x 1000), in
  ``SHARED/orlib/capacity_variants/``, optima in ``SHARED/orlib/optima.csv``.  Targets (issue 11):
  capa8000, capb5000 and capc5000 optimal, within 1e-6 of the optimum, in at most 10 s wall time
  each, while the compact model given 10x that time does not prove optimality.
* ``holmberg``: the 71 single-source instances of Holmberg, Rönnqvist and Yuan in
  ``SHARED/sscflp/holmberg/`` (optima: the file ``os``, one per line, p1 ... p71), or the 11 in
  ``tests/data/sscflp`` when the shared folder is missing.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.measure import ROOT, solve_options
from benchmarks.options import Options
from benchmarks.report import Column, SuiteResult
from benchmarks.suites import solves
from benchmarks.suites.solves import Instance

ORLIB_DATA = ROOT / "tests" / "data" / "orlib"
HOLMBERG_SAMPLE = ROOT / "tests" / "data" / "sscflp"
#: The capabc instances with targets, and the target wall time, seconds.
CAPABC_TARGETS = ("capa8000", "capb5000", "capc5000")
CAPABC_TARGET_SECONDS = 10.0
#: The orlib target: the engine at least this many times faster in total than PuLP + CBC.
ORLIB_TARGET_SPEEDUP = 5.0


def read_optima(path: Path) -> list[dict[str, str]]:
    """The rows of an ``optima.csv`` (``instance,capacity,optimum,source`` or ``instance,optimum``)."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def orlib_instances() -> list[Instance]:
    """The 37 small cap instances (the rows of ``optima.csv`` without a capacity)."""
    return [Instance(r["instance"], ORLIB_DATA / r["instance"], "orlib", solves.file_size(ORLIB_DATA / r["instance"]),
                     float(r["optimum"]))
            for r in read_optima(ORLIB_DATA / "optima.csv") if not r.get("capacity")]


def capabc_instances(shared: Path) -> list[Instance]:
    """The 12 capacity variants (rows of ``SHARED/orlib/optima.csv`` with a numeric capacity)."""
    folder = shared / "orlib" / "capacity_variants"
    out = []
    for r in read_optima(shared / "orlib" / "optima.csv"):
        if r["capacity"] not in ("", "inf"):
            name = r["instance"] + r["capacity"]
            out.append(Instance(name, folder / name, "orlib", solves.file_size(folder / name), float(r["optimum"])))
    return out


def holmberg_instances(shared: Path) -> tuple[list[Instance], list[str]]:
    """The Holmberg instances of the shared folder, else the sample in tests/data (and a message)."""
    folder = shared / "sscflp" / "holmberg"
    if (folder / "os").is_file():
        optima = [float(v) for v in (folder / "os").read_text().split()]
        return [Instance(f"p{k}", folder / f"p{k}", "sscflp", solves.file_size(folder / f"p{k}"), value)
                for k, value in enumerate(optima, 1)], []
    rows = sorted(read_optima(HOLMBERG_SAMPLE / "optima.csv"), key=lambda r: int(r["instance"][1:]))
    return ([Instance(r["instance"], HOLMBERG_SAMPLE / r["instance"], "sscflp",
                      solves.file_size(HOLMBERG_SAMPLE / r["instance"]), float(r["optimum"])) for r in rows],
            [f"skipped: {folder} not found; ran the {len(rows)} instances of tests/data/sscflp instead"])


def select(instances: list[Instance], opts: Options) -> tuple[list[Instance], list[str]]:
    """The instances named by ``--instances`` (all by default), with ``--time-limit``; skip messages."""
    if opts.time_limit is not None:
        instances = [replace(i, time_limit=opts.time_limit) for i in instances]
    if opts.instances is None:
        return instances, []
    by_name = {i.name: i for i in instances}
    unknown = [n for n in opts.instances if n not in by_name]
    skipped = [f"skipped: unknown instance(s) {', '.join(unknown)}"] if unknown else []
    return [by_name[n] for n in opts.instances if n in by_name], skipped


def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def run_files(suite: str, title: str, instances: list[Instance], opts: Options, skipped: list[str],
              extra: list[Column] | None = None) -> SuiteResult:
    """Solve every selected instance; the rows, a totals row and the notes."""
    chosen, more = select(instances, opts)
    result = SuiteResult(suite, title, solves.columns(opts.baseline, True, extra), skipped=skipped + more)
    for k, inst in enumerate(chosen, 1):
        print(f"[{suite} {k}/{len(chosen)}] {inst.name} ({inst.size})", file=sys.stderr, flush=True)
        result.rows.append(solves.measure(inst, opts.baseline))
    rows = list(result.rows)
    result.ok = bool(rows) and all(solves.row_ok(r) for r in rows)
    if rows:
        result.rows.append(solves.totals(rows, opts.baseline, True))
    result.notes = solves.errors(rows) + solves.legend(opts.baseline, True, "--strategy" in solve_options())
    note = solves.model_time_note(result.rows[-1]) if rows else None
    if note:
        result.notes.insert(0, note)
    return result


def run_orlib(opts: Options) -> SuiteResult:
    """The 37 small OR-Library instances; with ``--baseline``, the total speed-up target over PuLP + CBC."""
    result = run_files("orlib", "OR-Library cap instances (16-50 facilities x 50 customers)",
                       orlib_instances(), opts, [])
    total = result.rows[-1] if result.rows else {}
    if opts.baseline and total.get("pulp_speedup") is not None:
        model = total.get("pulp_model_speedup")
        met = model is not None and model >= ORLIB_TARGET_SPEEDUP
        result.notes.insert(0, f"target: at least {ORLIB_TARGET_SPEEDUP:g}x faster in total than PuLP+CBC in build + "
                               f"solve time (the issue's 1.9x was measured so): {'met' if met else 'MISSED'} "
                               f"({'-' if model is None else f'{model:.1f}×'}); in wall time, start-up included: "
                               f"{solves.speedup_cell('pulp')(total)}")
        result.ok = result.ok and met
    return result


def _capabc_target(row: dict[str, Any]) -> str:
    """``met`` / ``missed`` for the three instances with targets, ``reported`` for the others."""
    if row["instance"] not in CAPABC_TARGETS:
        return "reported"
    met = (row["status"] == "optimal" and solves.row_ok(row) and row["wall_s"] is not None
           and row["wall_s"] <= CAPABC_TARGET_SECONDS and not row.get("compact_finished", False))
    return "met" if met else "missed"


def run_capabc(opts: Options) -> SuiteResult:
    """The 12 capacity variants of capa/capb/capc from the shared folder (skipped when it is missing)."""
    title = "capa/capb/capc capacity variants (100 facilities x 1000 customers)"
    folder = opts.shared / "orlib" / "capacity_variants"
    if not folder.is_dir() or not (opts.shared / "orlib" / "optima.csv").is_file():
        return SuiteResult("capabc", title, [], skipped=[f"skipped: {folder} not found (give --shared PATH)"])
    instances = sorted(capabc_instances(opts.shared), key=lambda i: _natural(i.name))
    target = Column("target", "target", lambda r: r.get("target", ""))
    result = run_files("capabc", title, instances, opts, [], [target])
    for row in result.rows[:-1]:
        row["target"] = _capabc_target(row)
    missed = [r["instance"] for r in result.rows[:-1] if r["target"] == "missed"]
    result.notes.insert(0, f"targets: {', '.join(CAPABC_TARGETS)} optimal, within {solves.MATCH_RTOL:g} of the "
                           f"optimum, at most {CAPABC_TARGET_SECONDS:g} s wall each"
                           + (", the compact model not finishing within 10x" if opts.baseline else
                              " (run with --baseline to check the compact model too)")
                           + (f"; missed: {', '.join(missed)}" if missed else ""))
    result.ok = result.ok and not missed
    return result


def run_holmberg(opts: Options) -> SuiteResult:
    """The Holmberg single-source instances (shared folder, else the sample in tests/data)."""
    instances, skipped = holmberg_instances(opts.shared)
    return run_files("holmberg", "Holmberg single-source instances (10-30 facilities x 50-200 customers)",
                     instances, opts, skipped)
