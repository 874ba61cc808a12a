"""Reports: the human summary and the files written by ``--out DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.io.files import make_output_folder, replace_file, write_text
from optimizer.network import Network
from optimizer.results import Result

#: Marker file that says a folder holds optimizer output (and may be overwritten by it).
OUTPUT_MARKER = ".optimizer-output"
#: Files written into an output folder.
OUTPUT_FILES = ("result.json", "plan_sites.csv", "plan_flows.csv", "plan_costs.csv", "routes.csv", "stock.csv",
                "map.html", "map.png")


def summary(result: Result, network: Network) -> str:
    """A short human-readable summary of a result."""
    lines = [
        f"Network    {network.name}: {len(network.sites)} sites, {len(network.regions)} regions, "
        f"{len(network.products)} products",
        f"Model      {result.model_size.get('variables', 0):,} variables "
        f"({result.model_size.get('integer_variables', 0):,} integer), "
        f"{result.model_size.get('constraints', 0):,} constraints",
        f"Status     {result.status.value}",
    ]
    if result.objective is not None:
        lines.append(f"Objective  {result.objective:,.2f} (currency per period)")
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
        lines.append("Costs (currency per period)")
        for name, value in result.costs.items():
            lines.append(f"  {name:<{width}}  {value:>18,.2f}")
        lines.append(f"  {'total':<{width}}  {sum(result.costs.values()):>18,.2f}")
        holding = result.cost_details.get("holding", {})
        if holding:
            lines.append(f"Holding    cycle stock {holding.get('cycle', 0.0):,.2f}, safety stock "
                         f"{holding.get('safety', 0.0):,.2f} (currency per period)")
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


def prepare_output(out_dir: str | Path, names: tuple[str, ...] | list[str], protected: list[Path] | tuple = ()
                   ) -> list[Path]:
    """Make sure ``out_dir`` may receive the files ``names``, create it and mark it as optimizer output.

    Every output file is then written through :func:`optimizer.io.files.replace_file` (a
    temporary file renamed over the target), so a symbolic link planted at a target is
    replaced, never written through.

    Args:
        out_dir: The output folder (created if missing).
        names: File names about to be written into it.
        protected: Input files that must never be overwritten.

    Returns:
        The target paths, in the order of ``names``.

    Raises:
        InputError: ``out_dir`` is a file or cannot be created or written, a target is an
            input file, or the folder holds a target file without the :data:`OUTPUT_MARKER`
            (a file optimizer did not write).
    """
    out = Path(out_dir)
    targets = [out / name for name in names]
    if out.exists() and not out.is_dir():
        raise InputError(Problem(str(out), "is a file, not a folder; choose another --out folder", field="--out"))
    guarded = {Path(p).resolve() for p in protected}
    clash = [t for t in targets if t.resolve() in guarded]
    if clash:
        raise InputError(Problem(str(out), f"refusing to overwrite input file {clash[0]}; choose another --out folder",
                                 field="--out"))
    if out.exists() and not (out / OUTPUT_MARKER).exists():
        foreign = [t for t in targets if t.exists() or t.is_symlink()]
        if foreign:
            raise InputError(Problem(str(out), f"refusing to overwrite {foreign[0]}, which optimizer did not write; "
                                               "choose another --out folder", field="--out"))
    make_output_folder(out)
    write_text(out / OUTPUT_MARKER, "This folder holds output of the optimizer command; it may overwrite it.\n")
    return targets


def write_outputs(result: Result, network: Network, out_dir: str | Path, protected: list[Path]) -> list[Path]:
    """Write the plan as CSV tables, the JSON document and maps into ``out_dir``.

    ``routes.csv`` has one row per route from a supplier to a site, its path as
    ``node > node > ...``; ``map.html`` (folium) and ``map.png`` (matplotlib)
    are drawn when the result has a plan and every place has coordinates.

    Args:
        result: The result to write.
        network: The network solved (for the maps).
        out_dir: Folder to write into; created if missing.
        protected: Input files that must never be overwritten.

    Returns:
        The paths written.

    Raises:
        InputError: Writing would overwrite an input file or a file this tool did not write,
            or the folder cannot be created or written.
    """
    out = Path(out_dir)
    targets = prepare_output(out, OUTPUT_FILES, protected)
    write_text(out / "result.json", json.dumps(result.to_dict(), indent=2) + "\n")
    costs = pd.DataFrame(
        {"component": list(result.costs) + ["total"],
         "currency_per_period": list(result.costs.values()) + [sum(result.costs.values())]}
    )
    routes = result.routes.copy()
    for column in ("path", "modes"):
        routes[column] = routes[column].map(" > ".join)
    tables = {"plan_sites.csv": result.sites, "plan_flows.csv": result.flows, "plan_costs.csv": costs,
              "routes.csv": routes, "stock.csv": result.stock}
    for name, table in tables.items():
        with replace_file(out / name) as tmp:
            table.to_csv(tmp, index=False)
    written = targets[:6]
    if result.has_plan and _has_coordinates(network):
        from optimizer.maps import write_html, write_png

        written += [write_html(network, result, out / "map.html"), write_png(network, result, out / "map.png")]
    return written


def _has_coordinates(network: Network) -> bool:
    """Whether every site, region and supplier has a latitude and longitude."""
    tables = [network.sites, network.regions] + ([network.suppliers] if network.suppliers is not None else [])
    return all(t[["lat", "lon"]].notna().all().all() for t in tables)
