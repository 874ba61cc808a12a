"""Reports: the human summary and the files written by ``--out DIR``."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.io.files import MAX_CSV_BYTES, make_output_folder, read_input, replace_file, write_text
from optimizer.network import Network
from optimizer.outputs import PATH_SEPARATOR, TABLES as OUTPUT_TABLES
from optimizer.report.tables import money_unit
from optimizer.results import Result

#: Marker file that says a folder holds optimizer output (and may be overwritten by it).
OUTPUT_MARKER = ".optimizer-output"
#: Files written into an output folder (the tables first, then the pages, the pictures and the workbook).
OUTPUT_FILES = ("result.json", "plan_sites.csv", "plan_flows.csv", "plan_costs.csv", "routes.csv", "stock.csv",
                "plan_site_pnl.csv", "plan_lanes.csv", "plan_assignments.csv", "sensitivity.csv", "report.html",
                "map.html", "map.png", "result.xlsx")
#: Files ``--out`` writes for an expansion study (with ``map_<period>.png`` and, for a stochastic study,
#: ``timeline_<path>.png``: :func:`optimizer.expansion.report.file_names`).
STUDY_FILES = ("result.json", "study_sites.csv", "study_flows.csv", "study_routes.csv", "study_stock.csv",
               "study_costs.csv", "timeline.png")


def summary(result: Result, network: Network) -> str:
    """A short human-readable summary of a result (money in the network's currency per period, e.g. USD per week)."""
    money = money_unit(network)
    lines = [
        f"Network    {network.name}: {len(network.sites)} sites, {len(network.regions)} regions, "
        f"{len(network.products)} products",
        f"Model      {result.model_size.get('variables', 0):,} variables "
        f"({result.model_size.get('integer_variables', 0):,} integer), "
        f"{result.model_size.get('constraints', 0):,} constraints",
        f"Status     {result.status.value}",
    ]
    if result.objective is not None:
        lines.append(f"Objective  {result.objective:,.2f} ({money})")
    if result.bound is not None:
        lines.append(f"Bound      {result.bound:,.2f}")
    if result.gap is not None:
        lines.append(f"Gap        {result.gap:.4%}")
    lines.append(
        f"Solver     {result.solver}: build {result.build_seconds:.2f} s, solve {result.solve_seconds:.2f} s"
    )
    if result.has_plan:
        shown = ", ".join(result.open_sites[:12]) + (" ..." if len(result.open_sites) > 12 else "")
        lines.append(f"Open sites {len(result.open_sites)} of {len(network.sites)}: {shown}")
        width = max(len(k) for k in result.costs)
        lines.append(f"Costs ({money})")
        for name, value in result.costs.items():
            lines.append(f"  {name:<{width}}  {value:>18,.2f}")
        lines.append(f"  {'total':<{width}}  {sum(result.costs.values()):>18,.2f}")
        holding = result.cost_details.get("holding", {})
        if holding:
            lines.append(f"Holding    cycle stock {holding.get('cycle', 0.0):,.2f}, safety stock "
                         f"{holding.get('safety', 0.0):,.2f} ({money})")
        k = result.kpis
        if k:
            lines.append(f"KPIs       turnover {k['inventory_turnover']:.1f} per year, {k['days_of_cover']:.1f} days "
                         f"of cover; distance to customers mean {k['mean_distance_km']:,.0f} km, "
                         f"p95 {k['p95_distance_km']:,.0f} km; {k['share_within_service_km']:.1%} of units within "
                         f"{k['service_km']:,.0f} km; shipping {k['shipping_cost_per_unit']:.3f} per unit")
        if len(result.routes):
            lines.append(f"Routes     {len(result.routes)} from suppliers to sites, {len(result.transfers)} of them "
                         "passing between sites")
    if result.check is not None:
        lines.append("Check      " + ("passed: plan re-costed from the raw data" if result.check.ok
                                      else "FAILED: " + "; ".join(result.check.violations[:5])))
    lines += result.messages
    return "\n".join(lines)


def written_before(out_dir: str | Path) -> set[str] | None:
    """The file names the :data:`OUTPUT_MARKER` of ``out_dir`` lists as written by optimizer.

    Returns:
        The names; ``None`` when the folder has no marker, or a marker of an earlier release that
        lists no names (it marks the whole folder as optimizer output).
    """
    marker = Path(out_dir) / OUTPUT_MARKER
    if not marker.is_file():
        return None
    names = {line.strip() for line in marker.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.strip() and not line.startswith("#") and not line.startswith("This folder")}
    # Only plain file names of this folder: a marker is a file anyone could have put there (a dataset
    # received with one), and a line such as map_x/../../photo.png must never reach a file elsewhere.
    names = {name for name in names if name not in (".", "..") and "/" not in name and "\\" not in name}
    return names or None


def check_output(out_dir: str | Path, names: tuple[str, ...] | list[str], protected: list[Path] | tuple = ()
                 ) -> list[Path]:
    """Check, without writing anything, that ``out_dir`` may receive the files ``names`` (see
    :func:`prepare_output`): commands call it before a long solve, so that a bad ``--out`` is reported
    before the work, not after it.

    Returns:
        The target paths, in the order of ``names``.

    Raises:
        InputError: ``out_dir`` is a file, or a missing folder whose nearest existing parent is a file
            or cannot be written, a target is an input file, or the folder holds a target file optimizer
            did not write.
    """
    return _checked(Path(out_dir), names, protected)[0]


def _checked(out: Path, names: tuple[str, ...] | list[str], protected: list[Path] | tuple
             ) -> tuple[list[Path], set[str] | None]:
    """:func:`check_output`'s targets, and the names the folder's marker lists (:func:`written_before`)."""
    targets = [out / name for name in names]
    if out.exists() and not out.is_dir():
        raise InputError(Problem(str(out), "is a file, not a folder; choose another --out folder", field="--out"))
    if not out.exists():
        parent = next((p for p in out.absolute().parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise InputError(Problem(str(out), f"cannot be created: {parent} is a file", field="--out"))
        if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(Problem(str(out), f"cannot be created: {parent} cannot be written", field="--out"))
        return targets, None
    before = written_before(out)
    ours = {(out / name).resolve() for name in before or ()}
    guarded = {Path(p).resolve() for p in protected} - ours
    clash = [t for t in targets if t.resolve() in guarded]
    if clash:
        raise InputError(Problem(str(out), f"refusing to overwrite input file {clash[0]}; choose another --out folder",
                                 field="--out"))
    marked = (out / OUTPUT_MARKER).exists()
    foreign = [t for t in targets if (t.exists() or t.is_symlink())
               and (not marked or (before is not None and t.name not in before))]
    if foreign:
        raise InputError(Problem(str(out), f"refusing to overwrite {foreign[0]}, which optimizer did not write; "
                                           "choose another --out folder", field="--out"))
    return targets, before


def prepare_output(out_dir: str | Path, names: tuple[str, ...] | list[str], protected: list[Path] | tuple = ()
                   ) -> list[Path]:
    """Make sure ``out_dir`` may receive the files ``names``, create it and mark it as optimizer output.

    The :data:`OUTPUT_MARKER` lists every file optimizer wrote into the folder; only those may be
    replaced.  So a dataset folder can receive output twice: the second run's "input files"
    include the first run's output, which the marker names as optimizer's own.  Every output
    file is written through :func:`optimizer.io.files.replace_file` (a temporary file renamed
    over the target), so a symbolic link planted at a target is replaced, never written through.

    Args:
        out_dir: The output folder (created if missing).
        names: File names about to be written into it.
        protected: Input files that must never be overwritten (unless the marker lists them).

    Returns:
        The target paths, in the order of ``names``.

    Raises:
        InputError: ``out_dir`` is a file or cannot be created or written, a target is an
            input file, or the folder holds a target file optimizer did not write (not listed in
            the marker, or no marker at all).
    """
    out = Path(out_dir)
    targets, before = _checked(out, names, protected)
    make_output_folder(out)
    listed = sorted(set(before or ()) | set(names))
    write_text(out / OUTPUT_MARKER, "# This folder holds output of the optimizer command; it may replace the files "
                                    "listed below, which it wrote, and no others.\n" + "\n".join(listed) + "\n")
    return targets


def write_outputs(result: Result, network: Network, out_dir: str | Path, protected: list[Path],
                  sensitivity: pd.DataFrame | None = None, marginal: pd.DataFrame | None = None,
                  base: tuple[str, dict[str, float]] | None = None, audit: dict[str, Any] | None = None
                  ) -> list[Path]:
    """Write the plan as CSV tables, the JSON document, the decision report, maps and a workbook into ``out_dir``.

    ``routes.csv`` has one row per route from a supplier to a site, its path as
    ``node > node > ...``.  With a plan: ``plan_site_pnl.csv``, ``plan_lanes.csv`` and
    ``plan_assignments.csv`` (:mod:`optimizer.report.tables`), ``report.html`` (offline,
    :mod:`optimizer.report.page`), ``result.xlsx`` (every table, :mod:`optimizer.report.xlsx`),
    ``sensitivity.csv`` when given; ``map.html`` (offline) and ``map.png`` (matplotlib) when every
    place has coordinates.

    Args:
        result: The result to write.
        network: The network solved (for the maps).
        out_dir: Folder to write into; created if missing.
        protected: Input files that must never be overwritten.
        sensitivity: The sensitivity table (:func:`optimizer.runs.sensitivity.sensitivity_table`), if computed.
        marginal: Estimated marginal values, if computed.
        base: ``(label, costs)`` of a base run: the report draws a waterfall from it.
        audit: Software version, input hash, solver and its version, timestamp: written into
            ``result.json`` (``audit``) and the report's header.

    Returns:
        The paths written.

    Raises:
        InputError: Writing would overwrite an input file or a file this tool did not write,
            or the folder cannot be created or written.
    """
    out = Path(out_dir)
    before = written_before(out) if out.is_dir() else None
    prepare_output(out, [n for n in OUTPUT_FILES if n != "sensitivity.csv" or sensitivity is not None], protected)
    written = _write_files(result, network, out, sensitivity, marginal, base, audit)
    remove_stale(out, before, written)
    return written


def solve_output(name: str) -> bool:
    """Whether ``name`` is a file ``solve --out`` writes, for a network or a study."""
    return name in OUTPUT_FILES or name in STUDY_FILES or re.fullmatch(r"(map|timeline)_.+\.png", name) is not None


def remove_stale(out: Path, before: set[str] | None, written: list[Path]) -> None:
    """Remove the files an earlier solve wrote into ``out`` (``before``: the names its marker lists, see
    :func:`written_before`; :func:`solve_output` ones only) that this run did not write: an output folder never
    mixes two runs (say a plan's report beside a later run's ``result.json`` without a plan)."""
    kept = {Path(path).name for path in written}
    for name in before or ():
        stale = out / name
        if solve_output(name) and name not in kept and (stale.is_file() or stale.is_symlink()):
            stale.unlink()


def _write_files(result: Result, network: Network, out: Path, sensitivity: pd.DataFrame | None,
                 marginal: pd.DataFrame | None, base: tuple[str, dict[str, float]] | None,
                 audit: dict[str, Any] | None) -> list[Path]:
    """The files of :func:`write_outputs` (the folder is prepared); the paths written."""
    doc = result.to_dict()
    if audit:
        doc["audit"] = dict(audit)
    written = [write_text(out / "result.json", json.dumps(doc, indent=2) + "\n")]
    total = sum(result.costs.values()) if result.has_plan else float("nan")  # no plan has no cost, not 0
    costs = pd.DataFrame({"component": list(result.costs) + ["total"],
                          "currency_per_period": list(result.costs.values()) + [total]})
    routes = result.routes.copy()
    for column in ("path", "modes"):
        routes[column] = routes[column].map(PATH_SEPARATOR.join)
    tables = {"plan_sites.csv": result.sites, "plan_flows.csv": result.flows, "plan_costs.csv": costs,
              "routes.csv": routes, "stock.csv": result.stock}
    sheets: dict[str, pd.DataFrame] = {}
    if result.has_plan and not result.site_costs.empty:
        from optimizer.report.tables import assignment_table, lane_table, money_unit, site_pnl, with_sensitivity

        pnl, lanes = site_pnl(network, result), lane_table(network, result)
        if sensitivity is not None:
            pnl = with_sensitivity(pnl, sensitivity, money_unit(network))
        assignments = assignment_table(lanes)
        tables.update({"plan_site_pnl.csv": pnl, "plan_lanes.csv": lanes, "plan_assignments.csv": assignments})
        if sensitivity is not None:
            tables["sensitivity.csv"] = sensitivity
        sheets = {"summary": _summary(result, network, audit), "costs": costs, "site_pnl": pnl, "lanes": lanes,
                  "assignments": assignments, "routes": routes, "stock": result.stock, "sites": result.sites}
        if sensitivity is not None:
            sheets["sensitivity"] = sensitivity
        if marginal is not None:
            sheets["marginal_values"] = marginal
    declared = {table.file: table.names for table in OUTPUT_TABLES}
    for name, table in tables.items():
        if table.empty and name in declared:  # no rows (no plan) still has the declared header
            table = table.reindex(columns=list(declared[name]))
        with replace_file(out / name) as tmp:
            table.to_csv(tmp, index=False)
        written.append(out / name)
    if not sheets:
        return written
    from optimizer.report.page import ReportInputs, report_page
    from optimizer.report.xlsx import write_workbook

    map_data = None
    if _has_coordinates(network):
        from optimizer.maps import write_png
        from optimizer.report.mapview import map_data as draw, map_page

        map_data = draw(network, result, lanes, pnl)
        written += [write_text(out / "map.html", map_page(network, result, map_data)),
                    write_png(network, result, out / "map.png")]
    inputs = ReportInputs(pnl=pnl, lanes=lanes, assignments=assignments, map_data=map_data, sensitivity=sensitivity,
                          marginal=marginal, base=base, meta=dict(audit or {}))
    written.append(write_text(out / "report.html", report_page(network, result, inputs)))
    written.append(write_workbook(sheets, network, out / "result.xlsx"))
    return written


def read_base_run(path: str | Path) -> tuple[str, dict[str, float]]:
    """``(label, costs)`` of an earlier run for the report's waterfall: an ``--out`` folder or its result.json.

    Raises:
        InputError: No readable result.json with costs there.
    """
    path = Path(path)
    target = path / "result.json" if path.is_dir() else path
    problems: list[Problem] = []
    data = read_input(target, str(target), problems, MAX_CSV_BYTES)  # a plain file: a pipe is refused, not read
    if data is None:
        raise InputError([replace(problem, field="--base-run") for problem in problems])
    try:
        doc = json.loads(data.decode("utf-8"))
        costs = {str(k): float(v) for k, v in doc["costs"].items() if v is not None}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise InputError(Problem(str(target), f"cannot read the base run's costs ({error}); give an --out folder "
                                              "of an earlier solve or its result.json", field="--base-run")) from None
    if not costs:
        raise InputError(Problem(str(target), "the base run has no plan (no costs)", field="--base-run"))
    return (path.name if path.is_dir() else path.parent.name) or "base", costs


def _summary(result: Result, network: Network, audit: dict[str, Any] | None) -> pd.DataFrame:
    """The workbook's first sheet: status, objective, bound, gap, KPIs and the audit trail, one per row."""
    rows: list[tuple[str, Any]] = [("network", network.name), ("status", result.status.value),
                                   ("termination", None if result.termination is None else result.termination.value),
                                   ("objective", result.objective), ("bound", result.bound), ("gap", result.gap),
                                   ("solver", result.solver), ("strategy", result.strategy),
                                   ("open_sites", len(result.open_sites))]
    rows += [(f"kpi {k}", v) for k, v in result.kpis.items()]
    rows += [(k, v) for k, v in (audit or {}).items()]
    return pd.DataFrame({"item": [r[0] for r in rows], "value": [_plain(r[1]) for r in rows]})


def _plain(value: Any) -> Any:
    """A summary value as a number when it is one, else text (one column of mixed values)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return "" if value is None else str(value)


def _has_coordinates(network: Network) -> bool:
    """Whether every site, region and supplier has a latitude and longitude."""
    tables = [network.sites, network.regions] + ([network.suppliers] if network.suppliers is not None else [])
    return all(t[["lat", "lon"]].notna().all().all() for t in tables)
