"""Every kind of bad input gives a clear problem naming file, line and field; never a traceback.

Each case copies tests/data/tiny to a temporary folder and breaks one thing.
Line numbers of the tiny files: sites.csv AMS=2 BRU=3 PAR=4 CGN=5; regions.csv
R-AMS=2 .. R-LUX=6; products.csv BOX=2 PAL=3; demand.csv rows 2..8;
network.yaml: name=2 period_days=3 circuity=4 distance_method=5 days_of_cover=6
constraints=7 max_sites=8 single_sourcing=9 solver=10 solver name=11 time_limit=12.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from optimizer.errors import InputError
from optimizer.io.dataset import read_dataset, validate_dataset

TINY = Path(__file__).parent / "data" / "tiny"


def set_cell(folder: Path, file: str, line: int, column: str, value: str) -> None:
    """Set one cell of a tiny CSV file (whose fields hold no commas or quotes)."""
    lines = (folder / file).read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[line - 1].split(",")
    fields[header.index(column)] = value
    lines[line - 1] = ",".join(fields)
    (folder / file).write_text("\n".join(lines) + "\n")


def replace(folder: Path, file: str, old: str, new: str) -> None:
    """Replace text in a file (the text must be there exactly once)."""
    text = (folder / file).read_text()
    assert text.count(old) == 1, (file, old)
    (folder / file).write_text(text.replace(old, new))


def drop_column(folder: Path, file: str, column: str) -> None:
    """Remove a column from a tiny CSV file."""
    rows = [line.split(",") for line in (folder / file).read_text().splitlines()]
    at = rows[0].index(column)
    (folder / file).write_text("".join(",".join(r[:at] + r[at + 1:]) + "\n" for r in rows))


@dataclass(frozen=True)
class Case:
    """One broken dataset and the first problem it must give."""

    name: str
    edit: Callable[[Path], None]
    file: str
    line: int | None
    field: str | None
    words: tuple[str, ...]
    count: int = 1


def _latin1_region(d: Path) -> None:
    data = (d / "regions.csv").read_bytes().replace(b"Rotterdam area", "Rötterdam area".encode("latin-1"))
    (d / "regions.csv").write_bytes(data)


SUPPLIERS = "id,name,lat,lon\nP1,Port,51.9,4.1\n"
SUPPLY = "supplier,product,capacity,unit_cost\nP1,BOX,,1\nP1,PAL,100,2\n"
LINKS = "from,to,mode,cost_per_volume,capacity\nP1,AMS,truck,1,\nAMS,BRU,truck,2,\nBRU,R-LIL,rail,0.5,50\n"


def supply_side(suppliers: str | None = SUPPLIERS, supply: str | None = SUPPLY,
                links: str | None = LINKS) -> Callable[[Path], None]:
    """An edit that writes the supply-side files (None: leave the file out)."""
    def edit(folder: Path) -> None:
        for name, text in (("suppliers.csv", suppliers), ("supply.csv", supply), ("links.csv", links)):
            if text is not None:
                (folder / name).write_text(text)
    return edit


CASES = [
    Case("supply_without_suppliers", supply_side(suppliers=None, links=None), "supply.csv", None, None,
         ("needs suppliers.csv",)),
    Case("suppliers_without_supply", supply_side(supply=None, links=None), "suppliers.csv", None, None,
         ("needs supply.csv",)),
    Case("supplier_id_is_a_site_id", supply_side(suppliers=SUPPLIERS.replace("P1,", "AMS,"),
                                                 supply=SUPPLY.replace("P1", "AMS"), links=None),
         "suppliers.csv", 2, "id", ("'AMS' is also a site id",)),
    Case("supply_unknown_product", supply_side(supply=SUPPLY.replace("PAL", "PALLET"), links=None), "supply.csv",
         3, "product", ("'PALLET' is not an id in products.csv",)),
    Case("link_unknown_from", supply_side(links=LINKS.replace("AMS,BRU", "XYZ,BRU")), "links.csv", 3, "from",
         ("'XYZ' is not a supplier or site id",)),
    Case("link_supplier_to_region", supply_side(links=LINKS.replace("P1,AMS", "P1,R-AMS")), "links.csv", 2, "to",
         ("suppliers link to sites",)),
    Case("link_to_supplier", supply_side(links=LINKS.replace("AMS,BRU", "AMS,P1")), "links.csv", 3, "to",
         ("'P1' is a supplier; links end at sites or regions",)),
    Case("link_to_a_region_named_like_a_supplier",  # the engine dropped the link: a costlier plan, or infeasible
         supply_side(suppliers=SUPPLIERS.replace("P1,", "R-LIL,"), supply=SUPPLY.replace("P1", "R-LIL"),
                     links=LINKS.replace("P1,AMS", "R-LIL,AMS")), "links.csv", 4, "to",
         ("'R-LIL' is both a region and a supplier id",)),
    Case("link_negative_capacity", supply_side(links=LINKS.replace(",50", ",-50")), "links.csv", 4, "capacity",
         ("'-50' is negative", "volume units per period")),
    Case("link_without_suppliers", supply_side(suppliers=None, supply=None,
                                               links=LINKS.replace("P1,AMS", "Q9,AMS")),
         "links.csv", 2, "from", ("'Q9' is not a supplier or site id", "there is no suppliers.csv")),
    Case("bad_routing", lambda d: replace(d, "network.yaml", "solver:", "transport:\n  routing: fastest\nsolver:"),
         "network.yaml", 11, "transport.routing", ("'fastest' is not a valid routing", "arc_flow")),
    Case("missing_file", lambda d: (d / "demand.csv").unlink(), "demand.csv", None, None,
         ("file not found", "demand.csv")),
    Case("similar_file_name", lambda d: (d / "sites.csv").rename(d / "Sites.csv"), "sites.csv", None, None,
         ("file not found", "did you mean 'Sites.csv'")),
    Case("zero_bytes", lambda d: (d / "products.csv").write_bytes(b""), "products.csv", None, None,
         ("file is empty", "shipping_cost_per_km")),
    Case("header_only", lambda d: (d / "regions.csv").write_text("id,name,lat,lon\n"), "regions.csv", 1, None,
         ("no data rows",)),
    Case("missing_column", lambda d: drop_column(d, "sites.csv", "fixed_cost"), "sites.csv", 1, "fixed_cost",
         ("missing required column 'fixed_cost'", "columns found: id, name, lat, lon, capacity, handling_cost")),
    Case("unknown_column_typo", lambda d: replace(d, "sites.csv", "fixed_cost", "fixed_cots"), "sites.csv", 1,
         "fixed_cots", ("unknown column 'fixed_cots'", "did you mean 'fixed_cost'"), count=2),
    Case("repeated_column", lambda d: replace(d, "regions.csv", "id,name,lat,lon", "id,name,lat,name"),
         "regions.csv", 1, "name", ("more than once",), count=2),
    Case("not_a_number", lambda d: set_cell(d, "sites.csv", 3, "lat", "fifty"), "sites.csv", 3, "lat",
         ("'fifty' is not a number", "between -90 and 90 (degrees)")),
    Case("nan", lambda d: set_cell(d, "sites.csv", 2, "fixed_cost", "NaN"), "sites.csv", 2, "fixed_cost",
         ("'NaN' is not allowed", "between 0 and 1e+15 (currency per period)")),
    Case("inf_not_allowed", lambda d: set_cell(d, "products.csv", 3, "shipping_cost_per_km", "inf"),
         "products.csv", 3, "shipping_cost_per_km", ("'inf' is not allowed", "finite")),
    Case("overflow_is_inf", lambda d: set_cell(d, "demand.csv", 4, "quantity", "1e999"),
         "demand.csv", 4, "quantity", ("'1e999' is not allowed", "finite")),
    Case("negative", lambda d: set_cell(d, "sites.csv", 2, "capacity", "-50"), "sites.csv", 2, "capacity",
         ("'-50' is negative; capacity must be between 0 and 1e+12 (volume units per period)",)),
    Case("negative_inf", lambda d: set_cell(d, "sites.csv", 3, "capacity", "-inf"), "sites.csv", 3, "capacity",
         ("'-inf' is negative",)),
    Case("zero_volume", lambda d: set_cell(d, "products.csv", 2, "volume", "0"), "products.csv", 2, "volume",
         ("'0' is too small", "volume must be > 0 and <= 1e+12 (volume units per unit)")),
    Case("latitude_range", lambda d: set_cell(d, "regions.csv", 4, "lat", "91"), "regions.csv", 4, "lat",
         ("'91' is too large", "between -90 and 90 (degrees)")),
    Case("longitude_range", lambda d: set_cell(d, "sites.csv", 5, "lon", "-180.5"), "sites.csv", 5, "lon",
         ("'-180.5' is too small", "between -180 and 180")),
    Case("blank_required", lambda d: set_cell(d, "sites.csv", 3, "fixed_cost", ""), "sites.csv", 3, "fixed_cost",
         ("blank", "fixed_cost is required")),
    Case("blank_id", lambda d: set_cell(d, "sites.csv", 2, "id", ""), "sites.csv", 2, "id", ("blank",)),
    Case("duplicate_id", lambda d: set_cell(d, "sites.csv", 4, "id", "AMS"), "sites.csv", 4, "id",
         ("duplicate id 'AMS'", "line 2")),
    Case("unknown_region", lambda d: set_cell(d, "demand.csv", 5, "region", "R-XXX"), "demand.csv", 5, "region",
         ("'R-XXX' is not an id in regions.csv",)),
    Case("unknown_product", lambda d: set_cell(d, "demand.csv", 8, "product", "BOXX"), "demand.csv", 8, "product",
         ("'BOXX' is not an id in products.csv",)),
    Case("duplicate_demand_pair", lambda d: set_cell(d, "demand.csv", 4, "region", "R-AMS"), "demand.csv", 4,
         "region", ("duplicate", "region 'R-AMS', product 'BOX'", "line 2")),
    Case("bad_enum", lambda d: set_cell(d, "sites.csv", 3, "status", "open"), "sites.csv", 3, "status",
         ("'open' is not a valid status", "candidate, existing, forced_open, forced_closed")),
    Case("closing_cost_not_existing", lambda d: set_cell(d, "sites.csv", 3, "closing_cost", "100"), "sites.csv", 3,
         "closing_cost", ("'100' is not allowed", "status is 'existing' or 'forced_closed'", "'candidate'")),
    Case("too_many_fields", lambda d: replace(d, "sites.csv", "forced_closed,0", "forced_closed,0,9"),
         "sites.csv", 5, None, ("10 fields", "9 columns")),
    Case("too_few_fields", lambda d: replace(d, "regions.csv", "R-LIL,Lille area,50.63,3.06", "R-LIL,50.63,3.06"),
         "regions.csv", 5, None, ("3 fields", "4 columns")),
    Case("unclosed_quote", lambda d: replace(d, "regions.csv", "R-LIL,Lille", 'R-LIL,"Lille'), "regions.csv", 5,
         None, ("quote",)),
    Case("not_utf8", _latin1_region, "regions.csv", 3, None, ("0xf6", "not valid UTF-8")),
    Case("yaml_syntax", lambda d: replace(d, "network.yaml", "circuity: 1.3", "circuity: 1.3: 2"), "network.yaml",
         4, None, ("YAML syntax error",)),
    Case("yaml_unknown_key", lambda d: replace(d, "network.yaml", "circuity:", "circuitry:"), "network.yaml", 4,
         "circuitry", ("unknown key 'circuitry'", "did you mean 'circuity'")),
    Case("yaml_unknown_nested_key", lambda d: replace(d, "network.yaml", "max_sites:", "max_site:"),
         "network.yaml", 8, "constraints.max_site", ("unknown key 'max_site'", "did you mean 'max_sites'")),
    Case("yaml_key_in_wrong_section", lambda d: replace(d, "network.yaml", "  single_sourcing: false\n", "")
         or (d / "network.yaml").write_text((d / "network.yaml").read_text() + "single_sourcing: true\n"),
         "network.yaml", 12, "single_sourcing", ("did you mean 'single_sourcing' under 'constraints:'",)),
    Case("yaml_text_for_number", lambda d: replace(d, "network.yaml", "period_days: 7", "period_days: seven"),
         "network.yaml", 3, "period_days", ("'seven' is not a number", "> 0 and <= 1e+12 (days)")),
    Case("yaml_quoted_number", lambda d: replace(d, "network.yaml", "period_days: 7", 'period_days: "7"'),
         "network.yaml", 3, "period_days", ("'7' is not a number",)),
    Case("yaml_not_bool", lambda d: replace(d, "network.yaml", "single_sourcing: false", "single_sourcing: 2"),
         "network.yaml", 9, "constraints.single_sourcing", ("2 is not true or false",)),
    Case("yaml_not_whole", lambda d: replace(d, "network.yaml", "max_sites: 3", "max_sites: 2.5"), "network.yaml",
         8, "constraints.max_sites", ("2.5 is not a whole number",)),
    Case("yaml_null_not_allowed", lambda d: replace(d, "network.yaml", "days_of_cover: 10", "days_of_cover:"),
         "network.yaml", 6, "days_of_cover", ("empty (null)",)),
    Case("yaml_bad_enum", lambda d: replace(d, "network.yaml", "name: highs", "name: gurobi"), "network.yaml", 11,
         "solver.name", ("'gurobi' is not a valid name", "highs, cbc, scip")),
    Case("yaml_range", lambda d: replace(d, "network.yaml", "circuity: 1.3", "circuity: 0.9"), "network.yaml", 4,
         "circuity", ("0.9 is out of range", "between 1 and 1e+12")),
    Case("yaml_inf", lambda d: replace(d, "network.yaml", "time_limit: 60", "time_limit: .inf"), "network.yaml",
         12, "solver.time_limit", ("not allowed",)),
    Case("yaml_gap_range", lambda d: replace(d, "network.yaml", "time_limit: 60", "mip_gap: 1"), "network.yaml", 12,
         "solver.mip_gap", ("out of range", ">= 0 and < 1")),
    Case("yaml_not_mapping", lambda d: (d / "network.yaml").write_text("- a\n- b\n"), "network.yaml", 1, None,
         ("must be a mapping",)),
    Case("yaml_section_not_mapping",
         lambda d: replace(d, "network.yaml", "constraints:\n  max_sites: 3\n  single_sourcing: false\n",
                           "constraints: 3\n"),
         "network.yaml", 7, "constraints", ("'constraints' must be a mapping",)),
    Case("yaml_min_above_max",
         lambda d: replace(d, "network.yaml", "  max_sites: 3\n", "  max_sites: 3\n  min_sites: 4\n"),
         "network.yaml", 9, "constraints.min_sites", ("min_sites (4) is greater than max_sites (3)",)),
    Case("yaml_exact_contradicts", lambda d: replace(d, "network.yaml", "  max_sites: 3\n",
                                                     "  max_sites: 3\n  exact_sites: 5\n"),
         "network.yaml", 9, "constraints.exact_sites", ("exact_sites (5) is greater than max_sites (3)",)),
    Case("yaml_duplicate_key", lambda d: replace(d, "network.yaml", "circuity: 1.3\n", "circuity: 1.3\ncircuity: 2\n"),
         "network.yaml", 5, "circuity", ("written twice", "line 4")),
]


def _copy(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(TINY, data)
    return data


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gives_a_clear_problem(tmp_path: Path, case: Case):
    data = _copy(tmp_path)
    case.edit(data)
    with pytest.raises(InputError) as err:
        read_dataset(data)
    problems = err.value.problems
    assert len(problems) == case.count, [str(p) for p in problems]
    first = problems[0]
    assert first.file == str(data / case.file)
    assert (first.line, first.field) == (case.line, case.field), str(first)
    for words in case.words:
        assert words in first.message, str(first)
    text = str(err.value)
    assert case.file in text and "Traceback" not in text
    if case.line is not None:
        assert f"line {case.line}" in text
    if case.field is not None:
        assert f"field '{case.field}'" in text
    assert validate_dataset(data) == problems


def test_the_tiny_dataset_itself_is_valid():
    assert validate_dataset(TINY) == []


def test_missing_folder_and_file_instead_of_folder(tmp_path: Path):
    with pytest.raises(InputError) as err:
        read_dataset(tmp_path / "nowhere")
    assert "nowhere" in str(err.value) and "not found" in str(err.value)
    (tmp_path / "file.csv").write_text("id\n")
    (problem,) = validate_dataset(tmp_path / "file.csv")
    assert "is not a folder" in problem.message


def test_problem_file_is_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = _copy(tmp_path)
    set_cell(data, "sites.csv", 2, "capacity", "-50")
    monkeypatch.chdir(tmp_path)
    (problem,) = validate_dataset("data")
    assert str(problem) == (
        "data/sites.csv, line 2, field 'capacity': '-50' is negative; "
        "capacity must be between 0 and 1e+12 (volume units per period); blank or 'inf' means unlimited"
    )


def test_all_problems_are_reported_across_files(tmp_path: Path):
    data = _copy(tmp_path)
    set_cell(data, "sites.csv", 3, "fixed_cost", "-1")
    set_cell(data, "products.csv", 2, "volume", "big")
    replace(data, "network.yaml", "circuity:", "circuitry:")
    problems = validate_dataset(data)
    assert [(Path(p.file).name, p.line, p.field) for p in problems] == [
        ("sites.csv", 3, "fixed_cost"),
        ("products.csv", 2, "volume"),
        ("network.yaml", 4, "circuitry"),
    ]
    with pytest.raises(InputError) as err:
        read_dataset(data)
    assert str(err.value).startswith("Invalid input: 3 problems found:")


def test_several_problems_in_one_row_and_one_file(tmp_path: Path):
    data = _copy(tmp_path)
    set_cell(data, "regions.csv", 2, "lat", "95")
    set_cell(data, "regions.csv", 2, "lon", "x")
    set_cell(data, "regions.csv", 6, "lon", "181")
    problems = validate_dataset(data)
    assert [(p.line, p.field) for p in problems] == [(2, "lat"), (2, "lon"), (6, "lon")]


def test_many_bad_rows_are_summarised(tmp_path: Path):
    data = _copy(tmp_path)
    rows = "".join(f"R-AMS,P{i},1\n" for i in range(25))
    (data / "demand.csv").write_text("region,product,quantity\n" + rows)
    problems = validate_dataset(data)
    assert len(problems) == 11
    assert [p.line for p in problems[:10]] == list(range(2, 12))
    summary = problems[10]
    assert summary.line == 12 and "15 more rows" in summary.message and "lines 12 to 26" in summary.message


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_reading_never_writes(tmp_path: Path):
    data = _copy(tmp_path)
    set_cell(data, "sites.csv", 2, "capacity", "-50")
    (data / "network.yaml").write_text("circuity: [\n")
    (data / "regions.csv").write_bytes((data / "regions.csv").read_bytes() + b"\xff\n")
    before = _digest(data)
    with pytest.raises(InputError):
        read_dataset(data)
    validate_dataset(data)
    assert _digest(data) == before
    valid = _copy(tmp_path / "ok")
    before = _digest(valid)
    read_dataset(valid)
    assert _digest(valid) == before


# ---------------------------------------------------------------- issue 10, defects 17 and 18: files that are not files

def _fifo(folder: Path, name: str) -> None:
    (folder / name).unlink(missing_ok=True)
    os.mkfifo(folder / name)


FILE_CASES = [
    # (name, edit, file, words)
    ("fifo_as_csv", lambda d: _fifo(d, "demand.csv"), "demand.csv", ("pipe (FIFO)", "not a file")),
    ("fifo_as_network_yaml", lambda d: _fifo(d, "network.yaml"), "network.yaml", ("pipe (FIFO)",)),
    ("folder_as_csv", lambda d: ((d / "sites.csv").unlink(), (d / "sites.csv").mkdir()), "sites.csv", ("a folder",)),
    ("folder_as_optional_csv", lambda d: (d / "links.csv").mkdir(), "links.csv", ("a folder", "not a file")),
    ("folder_as_optional_suppliers", lambda d: (d / "suppliers.csv").mkdir(), "suppliers.csv", ("a folder",)),
    ("folder_as_network_yaml", lambda d: ((d / "network.yaml").unlink(), (d / "network.yaml").mkdir()),
     "network.yaml", ("a folder",)),
    ("dangling_link_as_optional_csv", lambda d: (d / "supply.csv").symlink_to(d / "gone.csv"), "supply.csv",
     ("symbolic link", "does not exist")),
    ("dangling_link_as_network_yaml",
     lambda d: ((d / "network.yaml").unlink(), (d / "network.yaml").symlink_to(d / "gone.yaml")),
     "network.yaml", ("symbolic link", "does not exist")),
]


@pytest.mark.parametrize(("name", "edit", "file", "words"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_a_file_that_is_not_a_plain_file_is_refused(tmp_path: Path, name, edit, file, words):
    """Never opened (a FIFO would block forever), never silently treated as absent."""
    data = _copy(tmp_path)
    edit(data)
    problems = validate_dataset(data)
    assert [p.file for p in problems] == [str(data / file)], [str(p) for p in problems]
    assert all(w in problems[0].message for w in words), problems[0].message


def test_unreadable_files_and_folder_are_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Permission denied (simulated: the tests run as root, whom chmod 000 does not stop)."""
    data = _copy(tmp_path)
    real_open = open

    def deny(path, *args, **kwargs):
        if Path(str(path)).name in ("sites.csv", "network.yaml"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    problems = validate_dataset(data)
    assert [(Path(p.file).name, p.message) for p in problems] == [
        ("sites.csv", "cannot be read: Permission denied"), ("network.yaml", "cannot be read: Permission denied")]
    monkeypatch.undo()

    def deny_listing(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "listdir", deny_listing)
    (problem,) = validate_dataset(data)
    assert problem.file == str(data) and problem.message == "dataset folder cannot be read: Permission denied"


def test_oversized_file_is_refused_without_reading_it_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import optimizer.io.csvtable as csvtable

    data = _copy(tmp_path)
    monkeypatch.setattr(csvtable, "MAX_CSV_BYTES", 100)
    problems = validate_dataset(data)
    assert {Path(p.file).name for p in problems} == {"sites.csv", "regions.csv", "products.csv", "demand.csv"}
    assert all("larger than the limit of 100 bytes" in p.message for p in problems)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("circuity: " + "[" * 2000 + "]" * 2000 + "\n", 1, "levels deep"),
        ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]\n" for p, c in zip("abcdef", "bcdefg")), 1, "expands to"),
        ("name: a\x00b\n", 1, "U+0000"),
        ("circuity: 1_000\n", 1, "'1_000' is not a number"),
        ("circuity: " + "9" * 400 + "\n", 1, "too large"),
        ("circuity: 1.0e+400\n", 1, "inf is not allowed"),
    ],
    ids=["deep_nesting", "alias_bomb", "nul_byte", "digit_groups", "huge_integer", "overflow_to_inf"],
)
def test_network_yaml_within_bounds(tmp_path: Path, text: str, line: int, words: str):
    data = _copy(tmp_path)
    (data / "network.yaml").write_text(text)
    problems = validate_dataset(data)
    assert [(Path(p.file).name, p.line) for p in problems] == [("network.yaml", line)], [str(p) for p in problems]
    assert words in problems[0].message


@pytest.mark.parametrize("text", ["1_000", "1_0.5", "١٢", "0x10", "1,5"])
def test_only_plain_decimals_are_numbers(tmp_path: Path, text: str):
    data = _copy(tmp_path)
    set_cell(data, "sites.csv", 2, "fixed_cost", f'"{text}"' if "," in text else text)
    (problem,) = validate_dataset(data)
    assert (problem.line, problem.field) == (2, "fixed_cost") and "is not a number" in problem.message


@pytest.mark.parametrize(("file", "column", "value", "limit"), [
    ("sites.csv", "fixed_cost", "1e308", "1e+15"),
    ("sites.csv", "capacity", "2e12", "1e+12"),
    ("demand.csv", "quantity", "1e250", "1e+12"),
    ("products.csv", "shipping_cost_per_km", "1e16", "1e+15"),
])
def test_magnitudes_the_solver_cannot_represent_are_refused(tmp_path: Path, file, column, value, limit):
    data = _copy(tmp_path)
    set_cell(data, file, 2, column, value)
    (problem,) = validate_dataset(data)
    assert (Path(problem.file).name, problem.line, problem.field) == (file, 2, column)
    assert "is too large" in problem.message and limit in problem.message
