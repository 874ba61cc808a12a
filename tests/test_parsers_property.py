"""Property tests of the dataset reader.

(a) Randomly generated valid tables written as CSV read back to the same values
(columns in any order, optional columns sometimes left out or blank).
(b) Arbitrary text or numbers in a numeric field, arbitrary bytes as a CSV file
and arbitrary text as network.yaml never raise anything but InputError, and a
value is accepted exactly when it is valid (plain decimals within the schema's bounds).
(c) The shared YAML loader accepts a document exactly when it is within its bounds
(nesting, aliases, expanded size, float-sized integers), and digit groups such as
``1_000`` are never numbers.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.errors import InputError
from optimizer.io.files import CONTROL
from optimizer.io.dataset import read_dataset
from optimizer.io.yamlfile import MAX_ALIASES, MAX_DEPTH, MAX_NODES, parse_yaml
from optimizer.network import SITE_STATUSES, Network
from optimizer.schema import MAX_COST, MAX_QUANTITY

TINY = Path(__file__).parent / "data" / "tiny"
INF = float("inf")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Folder:
    """A fresh copy of the tiny dataset in a temporary folder (context manager)."""

    def __enter__(self) -> Path:
        self._tmp = tempfile.TemporaryDirectory()
        path = Path(self._tmp.name) / "data"
        shutil.copytree(TINY, path)
        return path

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write a CSV file the standard way (fields quoted where needed, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def try_read(folder: Path) -> Network | InputError:
    """The network, or the InputError (any other exception fails the test)."""
    try:
        return read_dataset(folder)
    except InputError as err:
        return err


# ---------------------------------------------------------------- (a) round trips

#: Text a valid cell may hold: anything but the control characters the reader refuses (tab and line ends are kept).
cell_text = st.characters(blacklist_categories=("Cs",),
                          blacklist_characters=[chr(c) for c in range(0x100) if CONTROL.match(chr(c))])
ids = st.text(cell_text, min_size=1, max_size=10).map(str.strip).filter(bool)
names = st.one_of(st.none(), st.text(cell_text, max_size=10))


def number(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


@st.composite
def site_rows(draw: Any) -> list[dict[str, Any]]:
    """Valid site records; None means 'leave the cell blank'."""
    site_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    rows = []
    for site_id in site_ids:
        status = draw(st.sampled_from(SITE_STATUSES))
        rows.append({
            "id": site_id,
            "name": draw(names),
            "lat": draw(number(-90, 90)),
            "lon": draw(number(-180, 180)),
            "capacity": draw(st.one_of(st.none(), st.just(INF), number(0, 1e12))),
            "fixed_cost": draw(number(0, 1e9)),
            "handling_cost": draw(st.one_of(st.none(), number(0, 1e3))),
            "status": draw(st.sampled_from([None, status])) if status == "candidate" else status,
            "closing_cost": draw(number(0, 1e6)) if status == "existing" else draw(st.sampled_from([None, 0.0])),
        })
    return rows


def cell(value: Any) -> str:
    """How a value is written: blank for None, shortest round-trip repr for floats."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


SITE_DEFAULTS = {"capacity": INF, "handling_cost": 0.0, "status": "candidate", "closing_cost": 0.0}


def expected_site_value(row: dict[str, Any], column: str, omitted: set[str]) -> Any:
    """The value the reader should give: stripped text, the number, or the default."""
    value = None if column in omitted else row[column]
    if isinstance(value, str):
        value = value.strip() or None
    if value is None:
        return row["id"] if column == "name" else SITE_DEFAULTS[column]
    return value


@given(rows=site_rows(), data=st.data())
@SETTINGS
def test_sites_round_trip(rows: list[dict[str, Any]], data: st.DataObject):
    optional = ["name", "capacity", "handling_cost", "status", "closing_cost"]
    omitted = data.draw(st.sets(st.sampled_from(optional)))
    if any(r["status"] == "existing" and r["closing_cost"] for r in rows) and "status" in omitted:
        omitted.discard("status")  # a nonzero closing cost needs its 'existing' status
    columns = data.draw(st.permutations([c for c in rows[0] if c not in omitted]))
    with Folder() as folder:
        write_csv(folder / "sites.csv", columns, [[cell(r[c]) for c in columns] for r in rows])
        net = read_dataset(folder)
    expected = pd.DataFrame(
        [{c: expected_site_value(r, c, omitted) for c in rows[0] if c != "id"} for r in rows],
        index=pd.Index([r["id"] for r in rows], name="id"),
    )
    pd.testing.assert_frame_equal(net.sites[expected.columns], expected, check_exact=True)
    assert net.sites["lead_time_days"].isna().all()  # blank: network.yaml's inventory lead time applies


@given(data=st.data())
@SETTINGS
def test_demand_round_trip(data: st.DataObject):
    with Folder() as folder:
        regions = [row[0] for row in read_csv(folder / "regions.csv")[1]]
        products = [row[0] for row in read_csv(folder / "products.csv")[1]]
        pairs = data.draw(st.lists(st.sampled_from([(r, p) for r in regions for p in products]),
                                   min_size=1, unique=True))
        quantity = data.draw(st.lists(number(0, 1e9), min_size=len(pairs), max_size=len(pairs)))
        std = data.draw(st.lists(st.one_of(st.none(), number(0, 1e6)), min_size=len(pairs), max_size=len(pairs)))
        write_csv(folder / "demand.csv", ["std", "quantity", "product", "region"],
                  [[cell(s), cell(q), f" {p} ", r] for (r, p), q, s in zip(pairs, quantity, std)])
        net = read_dataset(folder)
    expected = pd.DataFrame({
        "region": [r for r, _ in pairs],
        "product": [p for _, p in pairs],
        "quantity": quantity,
        "std": [0.0 if s is None else s for s in std],
    })
    pd.testing.assert_frame_equal(net.demand, expected, check_exact=True)
    matrix = np.zeros((len(regions), len(products)))
    for (r, p), q in zip(pairs, quantity):
        matrix[regions.index(r), products.index(p)] = q
    np.testing.assert_array_equal(net.demand_matrix, matrix)


# ---------------------------------------------------------------- (b) arbitrary input


def set_cell(folder: Path, file: str, row: int, column: str, text: str) -> None:
    header, rows = read_csv(folder / file)
    rows[row][header.index(column)] = text
    write_csv(folder / file, header, rows)


def expected_number(text: str, blank: float | None) -> float | None:
    """What the reader should make of ``text`` as a number (None: not a number).

    FORMAT.md: plain decimals (ASCII digits, sign, point, exponent), or inf / nan words;
    no digit groups (``1_000``) and no other digits, although Python's ``float`` takes both.
    """
    if CONTROL.search(text):
        return None  # refused, whatever the rest of the cell
    stripped = text.strip()
    if not stripped:
        return blank
    if stripped.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        return float(stripped)
    if not set(stripped) <= set("0123456789+-.eE"):
        return None
    try:
        return float(stripped)
    except ValueError:
        return None


def assert_cell(folder: Path, column: str, row: int, expected: float | None, valid: bool) -> None:
    """Reading accepts the sites.csv cell exactly when valid, with the expected value; else one problem names it."""
    result = try_read(folder)
    if valid:
        assert isinstance(result, Network), str(result)
        assert result.sites[column].iloc[row] == expected
    else:
        assert isinstance(result, InputError)
        assert [(p.line, p.field) for p in result.problems] == [(row + 2, column)], str(result)
        assert "sites.csv" in str(result)


@given(text=st.text(max_size=20))
@SETTINGS
def test_any_text_as_capacity(text: str):
    expected = expected_number(text, blank=INF)
    valid = (expected is not None and not math.isnan(expected) and expected >= 0
             and (expected <= MAX_QUANTITY or expected == INF))
    with Folder() as folder:
        set_cell(folder, "sites.csv", 0, "capacity", text)
        assert_cell(folder, "capacity", 0, expected, valid)


@given(value=st.one_of(st.floats(), st.integers(min_value=-10**30, max_value=10**30), st.text(max_size=8)))
@SETTINGS
def test_any_value_as_fixed_cost(value: float | int | str):
    text = repr(value) if isinstance(value, float) else str(value)
    expected = expected_number(text, blank=None)
    valid = expected is not None and math.isfinite(expected) and 0 <= expected <= MAX_COST
    with Folder() as folder:
        set_cell(folder, "sites.csv", 1, "fixed_cost", text)
        assert_cell(folder, "fixed_cost", 1, expected, valid)


@given(data=st.binary(max_size=200))
@SETTINGS
def test_any_bytes_as_demand_file(data: bytes):
    with Folder() as folder:
        (folder / "demand.csv").write_bytes(data)
        result = try_read(folder)
    if isinstance(result, InputError):
        assert result.problems and all("demand.csv" in p.file for p in result.problems)


@given(text=st.text(max_size=80))
@SETTINGS
def test_any_text_as_network_yaml(text: str):
    with Folder() as folder:
        (folder / "network.yaml").write_text(text, encoding="utf-8")
        result = try_read(folder)
    if isinstance(result, InputError):
        assert result.problems and all("network.yaml" in p.file for p in result.problems)


# ---------------------------------------------------------------- (c) the bounded YAML loader and plain numbers

def parsed(text: str) -> tuple[Any, list[Any]]:
    """``(document or None, problems)`` of the shared YAML loader."""
    problems: list[Any] = []
    result = parse_yaml(text, "x.yaml", problems)
    assert (result is None) == bool(problems), problems
    return (None if result is None else result[0]), problems


@given(depth=st.integers(min_value=1, max_value=3 * MAX_DEPTH))
@SETTINGS
def test_yaml_nesting_is_bounded(depth: int):
    # the root mapping is level 1, its value's outermost list level 2, the innermost list level depth + 1
    doc, problems = parsed("a: " + "[" * depth + "]" * depth + "\n")
    if depth + 1 <= MAX_DEPTH:
        assert not problems
    else:
        assert [p.line for p in problems] == [1] and f"more than {MAX_DEPTH} levels" in problems[0].message


@given(count=st.integers(min_value=0, max_value=2 * MAX_ALIASES))
@SETTINGS
def test_yaml_aliases_are_bounded(count: int):
    text = "base: &b {x: 1}\nruns: [" + ", ".join(["*b"] * count) + "]\n"
    doc, problems = parsed(text)
    if count <= MAX_ALIASES:
        assert not problems and doc["runs"] == [{"x": 1}] * count
    else:
        assert f"more than {MAX_ALIASES} aliases" in problems[0].message


@given(levels=st.integers(min_value=1, max_value=7), width=st.integers(min_value=1, max_value=9))
@SETTINGS
def test_yaml_alias_expansion_is_bounded(levels: int, width: int):
    """A "billion laughs" document is refused exactly when, fully expanded, it exceeds MAX_NODES values."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    sizes = [1 + width]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
        sizes.append(1 + width * sizes[-1])
    expanded = 1 + sum(1 + size for size in sizes)  # the root mapping, each key and each list
    aliases = width * (levels - 1)
    doc, problems = parsed("\n".join(lines) + "\n")
    if aliases > MAX_ALIASES:
        assert "aliases" in problems[0].message
    elif expanded > MAX_NODES:
        assert f"more than {MAX_NODES:,} values" in problems[0].message
    else:
        assert not problems and len(doc) == levels


@given(number=st.integers(min_value=-10**400, max_value=10**400))
@SETTINGS
def test_yaml_integers_are_decimal_and_float_sized(number: int):
    doc, problems = parsed(f"a: {number}\n")
    try:
        float(number)
    except OverflowError:
        assert "too large" in problems[0].message
    else:
        assert doc == {"a": number}


@given(groups=st.lists(st.integers(min_value=0, max_value=999), min_size=2, max_size=4),
       fraction=st.booleans())
@SETTINGS
def test_digit_groups_are_never_numbers(groups: list[int], fraction: bool):
    """``1_000`` (which YAML 1.1 and Python's float read as 1000) is text in YAML and not a number in CSV."""
    text = "_".join(str(g) for g in groups) + (".5" if fraction else "")
    doc, problems = parsed(f"a: {text}\n")
    assert doc == {"a": text}
    with Folder() as folder:
        set_cell(folder, "sites.csv", 1, "fixed_cost", text)
        assert_cell(folder, "fixed_cost", 1, None, valid=False)


@given(value=st.floats(allow_nan=False, allow_infinity=False))
@SETTINGS
def test_yaml_plain_decimals_are_numbers(value: float):
    doc, problems = parsed(f"a: {value!r}\nb: {value:e}\n")
    assert doc == {"a": value, "b": float(f"{value:e}")}
