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
