"""The ``optimizer explain`` command (and ``solve --explain``): what closing or opening each site would cost."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from optimizer.cli.common import EXIT_OK, FiniteFloat, fail, protected_inputs
from optimizer.errors import OptimizerError

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.network import Network
    from optimizer.results import Result


#: Default wall-clock seconds for all the re-solves of ``explain`` (``--budget``).
DEFAULT_BUDGET = 480.0


def sensitivities(path: Path, network: Network, result: Result, store: str | None, workers: int,
                  mip_gap: float | None, time_limit: float | None, force: bool,
                  budget: float | None = DEFAULT_BUDGET) -> pd.DataFrame:
    """Run the forced re-solves of :func:`optimizer.runs.sensitivity.explain` for the plan solved from ``path``."""
    from optimizer.runs.sensitivity import base_scenario, default_store, explain
    from optimizer.runs.store import RunStore

    solver = {k: v for k, v in (("mip_gap", mip_gap), ("time_limit", time_limit)) if v is not None}
    with RunStore(store or default_store(path)) as run_store:
        return explain(base_scenario(path), network, result, run_store, workers=workers, solver=solver,
                       budget=budget, force=force)


def text_table(table: pd.DataFrame, unit: str) -> str:
    """The sensitivities as plain text lines, one per what-if."""
    lines = [f"What if (each a re-solve with one site forced; {unit}):"]
    for r in table.itertuples(index=False):
        what = f"{r.action:<5} {r.site} ({r.name})"
        if not math.isfinite(r.delta):
            lines.append(f"  {what}: {r.note}")
            continue
        text = (f"  {what}: {r.delta:+,.0f} per period ({r.status}, gap {r.gap:.3%}; base gap {r.base_gap:.3%})")
        if r.takers:
            text += f"; {'taken over by' if r.action == 'close' else 'takes regions from'} {r.takers}"
        if r.action == "open" and math.isfinite(r.break_even_fixed_cost):
            text += f"; break-even rent {r.break_even_fixed_cost:,.0f}"
        if r.within_tolerance:
            text += " [within solver tolerance]"
        elif r.note:
            text += f" [{r.note}]"
        lines.append(text)
    return "\n".join(lines)


def marginal_text(marginal: pd.DataFrame, unit: str) -> str:
    """The estimated marginal values as plain text lines."""
    if not len(marginal):
        return "Marginal values: no full site."
    lines = [f"Marginal values (estimates: the LP with the plan's sites, and single-sourcing assignments, fixed; "
             f"{unit}):"]
    lines += [f"  {r.constraint} {r.site}: {r.value_per_unit:,.4g} (utilisation {r.utilisation:.1%})"
              for r in marginal.itertuples(index=False)]
    return "\n".join(lines)


@click.command("explain")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes for the re-solves.")
@click.option("--store", default=None, help="Run store for the re-solves (default: PATH.runs.db beside PATH).")
@click.option("--mip-gap", type=FiniteFloat(min=0, max=1, max_open=True), default=None,
              help="Relative gap of the base solve and of every re-solve (default: network.yaml's, else proven).")
@click.option("--time-limit", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Seconds per solve (default: the base unlimited, each re-solve its share of --budget).")
@click.option("--budget", type=FiniteFloat(min=0, min_open=True), default=DEFAULT_BUDGET, show_default=True,
              help="Wall seconds for all re-solves together: each gets budget x workers / re-solves (at least 5 s); "
                   "one stopped by it keeps its best plan, labelled feasible with its gap.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Write the plan's outputs, sensitivity.csv and a report.html with the sensitivity table here.")
@click.option("--force", is_flag=True, help="Re-solve even when the run store has the result.")
@click.option("--json", "as_json", is_flag=True, help="Print the base objective and the sensitivities as JSON.")
def explain_command(path: Path, workers: int, store: str | None, mip_gap: float | None, time_limit: float | None,
                    budget: float, out_dir: Path | None, force: bool, as_json: bool) -> None:
    """Solve PATH, then re-solve with each open site closed and each unused site opened, and report the costs."""
    from optimizer import api
    from optimizer.report.marginal import marginal_values
    from optimizer.reports import OUTPUT_FILES, check_output, write_outputs
    from optimizer.report.tables import money_unit
    from optimizer.runs.audit import audit_trail

    try:
        if out_dir is not None:  # a bad --out is reported before the solves, not after them
            check_output(out_dir, OUTPUT_FILES, protected_inputs(path))
        network = api.load(path)
        result = api.solve(network, mip_gap=mip_gap, time_limit=time_limit, threads=1)
        if not result.has_plan:
            from optimizer.cli.main import exit_code

            click.echo(f"no plan to explain: {result.status.value}; " + "; ".join(result.messages), err=True)
            if as_json:  # one document on stdout, as for a plan: the base solve's status and why
                click.echo(json.dumps({"objective": None, "gap": result.gap, "status": result.status.value,
                                       "termination": None if result.termination is None else
                                       str(result.termination), "messages": result.messages,
                                       "sensitivity": [], "marginal_values": []}))
            sys.exit(exit_code(result))
        table = sensitivities(path, network, result, store, workers, mip_gap, time_limit, force, budget)
        marginal = marginal_values(network, result)
        if out_dir is not None:
            audit = audit_trail(path, network, result.solver, {"mip_gap": mip_gap, "time_limit": time_limit,
                                                               "threads": 1})
            write_outputs(result, network, out_dir, protected_inputs(path), sensitivity=table, marginal=marginal,
                          audit=audit)
    except OptimizerError as error:
        fail(error, as_json)
    if as_json:
        rows: list[dict[str, Any]] = json.loads(table.to_json(orient="records"))
        click.echo(json.dumps({"objective": result.objective, "gap": result.gap, "status": result.status.value,
                               "unit": money_unit(network), "sensitivity": rows,
                               "marginal_values": json.loads(marginal.to_json(orient="records"))}))
    else:
        click.echo(f"Base plan: {result.objective:,.2f} {money_unit(network)} ({result.status.value}"
                   + (f", gap {result.gap:.3%}" if result.gap is not None else "") + ")")
        click.echo(text_table(table, money_unit(network)))
        click.echo(marginal_text(marginal, money_unit(network)))
    sys.exit(EXIT_OK)
