"""The output tables are declared once (optimizer/outputs.py) and documented from that declaration."""

from __future__ import annotations

from pathlib import Path

from optimizer import outputs

ROOT = Path(__file__).resolve().parent.parent


def test_outputs_doc_is_current() -> None:
    doc = (ROOT / "docs" / "OUTPUTS.md").read_text(encoding="utf-8")
    assert doc == outputs.format_markdown(), "docs/OUTPUTS.md is stale: run `python -m optimizer.outputs > docs/OUTPUTS.md`"


def test_every_numeric_column_states_its_unit_or_is_a_count() -> None:
    for table in outputs.TABLES:
        assert len(set(table.names)) == len(table.names), table.file
        for column in table.columns:
            if column.type == "number":
                assert column.unit, f"{table.file}: {column.name} has no unit"


def test_written_csv_headers_are_the_declared_columns(tmp_path) -> None:
    """Every CSV the CLI writes has exactly the declared header (a small network with suppliers)."""
    import csv

    import optimizer
    from optimizer.frontier import cost_columns, frontier, write_frontier
    from optimizer.io.instances import random_multi_echelon
    from optimizer.reports import write_outputs

    net = random_multi_echelon(4, 6, 2, 2, seed=3)
    result = optimizer.solve(net)
    assert result.check.ok
    write_outputs(result, net, tmp_path / "out", [])
    for table in (outputs.SITES, outputs.FLOWS, outputs.COSTS, outputs.ROUTES, outputs.STOCK):
        with open(tmp_path / "out" / table.file, newline="") as handle:
            assert tuple(next(csv.reader(handle))) == table.names, table.file
    points = frontier(net, "sites", max_points=2)
    written = write_frontier(points, tmp_path / "frontier", [])
    with open(next(p for p in written if p.name == "frontier.csv"), newline="") as handle:
        header = tuple(next(csv.reader(handle)))
    dynamic = set(cost_columns(points))
    assert dynamic and tuple(c for c in header if c not in dynamic) == outputs.FRONTIER.names
