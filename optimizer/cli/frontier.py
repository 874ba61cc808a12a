"""``optimizer frontier``: the cost trade-off curve against a design parameter.

Register it on the main group with ``main.add_command(frontier_command)``.
Exit codes are those of :mod:`optimizer.cli`: 0 when at least one value has a
plan, 1 bad input, 2 every value infeasible, 5 no plan within the limits, 6
interrupted (Ctrl-C / SIGTERM) with the points solved so far (5 if none has a plan).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from optimizer import api
from optimizer.cli.common import (EXIT_INFEASIBLE, EXIT_INTERRUPTED, EXIT_NO_PLAN, EXIT_OK, FiniteFloat, fail,
                                  protected_inputs, strategy_option)
from optimizer.cli.progress import log_json_option, shown
from optimizer.errors import OptimizerError
from optimizer.frontier import AXES, FRONTIER_FILES, cost_columns, frontier, write_frontier
from optimizer.reports import check_output
from optimizer.solvers import SOLVERS, interrupt


#: Default time limit of each frontier point, seconds.
DEFAULT_POINT_SECONDS = 60.0


def _parse_between(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``cost,AXIS`` (either order) -> the axis name."""
    parts = [p.strip().lower() for p in value.split(",")]
    axes = [p for p in parts if p != "cost"]
    if len(parts) != 2 or "cost" not in parts or len(axes) != 1 or axes[0] not in AXES:
        raise click.BadParameter(f"expected cost,AXIS with AXIS one of: {', '.join(AXES)} (got '{value}')")
    return axes[0]


def _json_value(value: Any) -> Any:
    """JSON-safe cell: NaN / inf to null, numpy scalars to Python."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@click.command("frontier")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--between", "axis", default="cost,sites", show_default=True, callback=_parse_between,
              help=f"The trade-off to trace: cost against one of: {', '.join(AXES)}.")
@click.option("--format", "fmt", type=click.Choice(api.FORMATS), default="dataset", show_default=True,
              help="Input format (as for solve).")
@click.option("--max-sites", type=click.IntRange(min=1), default=None,
              help="Largest number of open sites to solve for (default: every usable site).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Write frontier.csv and the stacked chart frontier.png into this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as one JSON document on stdout.")
@click.option("--solver", type=click.Choice(sorted(SOLVERS)), default=None,
              help="MIP backend (default: network.yaml's solver, else highs).")
@click.option("--time-limit", type=FiniteFloat(min=0, min_open=True), default=DEFAULT_POINT_SECONDS,
              show_default=True,
              help="Seconds per point; on expiry that point keeps its best plan, labelled feasible with its gap "
                   "(points far from the optimum can be slow to prove).")
@click.option("--mip-gap", type=FiniteFloat(min=0, max=1, max_open=True), default=None,
              help="Stop each solve at this relative gap (default: prove optimality to 1e-9); a coarse curve "
                   "of a large network comes much faster with e.g. 0.01.")
@strategy_option
@log_json_option
def frontier_command(path: Path, axis: str, fmt: str, max_sites: int | None, out_dir: Path | None, as_json: bool,
                     solver: str | None, time_limit: float | None, mip_gap: float | None,
                     strategy: str | None, log_json: bool) -> None:
    """Solve the network at PATH for p = 1..N open sites and tabulate cost by component.

    Ctrl-C or SIGTERM stops the point being solved (it keeps its best plan) and the sweep (exit 6).
    Each point solved is reported on stderr, with the running solve's progress on a terminal
    (--log-json: both as JSON lines).
    """

    def progress(row: dict[str, Any]) -> None:
        total = row["total"]
        cost = f"{total:,.2f}" if isinstance(total, float) and math.isfinite(total) else "-"
        display.note(f"{AXES[axis].column}={row[AXES[axis].column]}: {row['status']}, total {cost} "
                     f"({row['solve_seconds']:.2f} s)", phase="frontier", objective=total)

    written: list[Path] = []
    try:
        with interrupt.handle_signals(), shown(log_json) as display:
            if out_dir is not None:  # a bad --out is reported before the solves, not after them
                check_output(out_dir, FRONTIER_FILES, protected_inputs(path))
            network = api.load(path, format=fmt)
            table = frontier(network, axis, max_points=max_sites, progress=progress,
                             solve=lambda built: api.solve(built, solver=solver, time_limit=time_limit,
                                                           mip_gap=mip_gap, strategy=strategy))
            interrupted = interrupt.requested()
            empty = None  # no point to solve (no usable site): the network's own solve says why
            if table.empty and not interrupted:
                empty = api.solve(network, solver=solver, time_limit=time_limit, mip_gap=mip_gap, strategy=strategy)
            display.result({"network": network.name, "axis": axis, "points": len(table),
                            "with_plan": int(table["status"].isin(["optimal", "feasible"]).sum()),
                            "interrupted": interrupted})
        if out_dir is not None:
            written = write_frontier(table, out_dir, protected_inputs(path))
    except OptimizerError as error:
        fail(error, as_json)
    if as_json:
        doc = {
            "network": network.name,
            "axis": axis,
            "column": AXES[axis].column,
            "components": cost_columns(table),
            "points": [{k: _json_value(v) for k, v in row.items()} for row in table.to_dict(orient="records")],
            "files": [str(p) for p in written],
        }
        if empty is not None:
            doc.update(status=empty.status.value, messages=empty.messages)
        click.echo(json.dumps(doc))
    elif empty is not None:
        click.echo(f"No {AXES[axis].column} value to solve; the network itself: {empty.status.value}: "
                   + "; ".join(empty.messages))
    else:
        visible = table.drop(columns=["open_sites", "warm_started", "termination", "reason"])
        gap = visible.pop("gap")
        visible["gap"] = [f"{g:.3%}" if math.isfinite(g) else "-" for g in gap]  # 0.4 %, never 0.00
        click.echo(visible.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
        for row in table[table["reason"] != ""].itertuples(index=False):
            click.echo(f"{AXES[axis].column}={row[0]}: {row.status}: {row.reason}")
        for p in written:
            click.echo(f"wrote {p}")
    if empty is not None:
        from optimizer.cli.main import exit_code

        sys.exit(exit_code(empty))
    statuses = set(table["status"])
    if statuses & {"optimal", "feasible"}:
        sys.exit(EXIT_INTERRUPTED if interrupted else EXIT_OK)
    sys.exit(EXIT_INFEASIBLE if statuses == {"infeasible"} else EXIT_NO_PLAN)
