"""Reading valid dataset folders: exact tables, defaults, settings, line numbers, speed, docs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.errors import InputError
from optimizer.io.dataset import read_dataset, validate_dataset
from optimizer.network import InventorySettings, RebalanceSettings, Settings, SolverSettings, TransportSettings
from optimizer.schema import KEYS, TABLES, format_markdown

from factory import make_network

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "data" / "tiny"
INF = float("inf")


def _index(ids: list[str]) -> pd.Index:
    return pd.Index(ids, name="id")


def test_tiny_gives_exact_tables_and_settings():
    net = read_dataset(TINY)
    sites = pd.DataFrame(
        {
            "name": ["Amsterdam", "Brussels", "PAR", "Cologne"],  # blank name -> the id
            "lat": [52.37, 50.85, 48.86, 50.94],
            "lon": [4.90, 4.35, 2.35, 6.96],
            "capacity": [400.0, INF, 300.0, INF],  # blank and 'inf' -> unlimited
            "fixed_cost": [5000.0, 4000.0, 6000.0, 4500.0],
            "handling_cost": [1.5, 1.0, 0.0, 1.2],  # blank -> 0
            "status": ["existing", "candidate", "candidate", "forced_closed"],
            "closing_cost": [2000.0, 0.0, 0.0, 0.0],
            "lead_time_days": [np.nan] * 4,  # not given: network.yaml's inventory lead time
            "max_outbound": [np.inf] * 4,
            "max_inbound": [np.inf] * 4,
        },
        index=_index(["AMS", "BRU", "PAR", "CGN"]),
    )
    regions = pd.DataFrame(
        {
            "name": ["Amsterdam area", "Rotterdam area", "R-ANR", "Lille area", "Luxembourg area"],
            "lat": [52.37, 51.92, 51.22, 50.63, 49.61],
            "lon": [4.90, 4.48, 4.40, 3.06, 6.13],
        },
        index=_index(["R-AMS", "R-RTM", "R-ANR", "R-LIL", "R-LUX"]),
    )
    products = pd.DataFrame(
        {
            "name": ["Boxed goods", "PAL"],
            "unit_value": [50.0, 200.0],
            "volume": [0.5, 2.0],
            "weight_kg": [0.0, 0.0],  # column absent from the file -> default
            "holding_rate": [0.2, 0.25],
            "shipping_cost_per_km": [0.01, 0.05],
            "service_level": [0.95, 0.95],
            "ordering_cost": [0.0, 0.0],
            "pack_size": [1.0, 1.0],
        },
        index=_index(["BOX", "PAL"]),
    )
    demand = pd.DataFrame(
        {
            "region": ["R-AMS", "R-AMS", "R-RTM", "R-ANR", "R-ANR", "R-LIL", "R-LUX"],
            "product": ["BOX", "PAL", "BOX", "BOX", "PAL", "PAL", "BOX"],
            "quantity": [100.0, 20.0, 80.0, 60.0, 15.0, 25.0, 40.0],
            "std": [10.0, 0.0, 8.0, 0.0, 3.0, 5.0, 4.0],
        }
    )
    pd.testing.assert_frame_equal(net.sites, sites)
    pd.testing.assert_frame_equal(net.regions, regions)
    pd.testing.assert_frame_equal(net.products, products)
    pd.testing.assert_frame_equal(net.demand, demand)
    assert net.settings == Settings(
        period_days=7.0, circuity=1.3, distance_method="haversine", days_of_cover=10.0, max_sites=3,
        single_sourcing=False, solver=SolverSettings(name="highs", time_limit=60.0),
    )
    assert isinstance(net.settings.max_sites, int) and isinstance(net.settings.period_days, float)
    assert net.name == "tiny"
    assert net.source == str(TINY)
    assert net.demand_matrix.sum() == pytest.approx(340.0)
    assert validate_dataset(TINY) == []


def test_columns_and_dtypes_match_the_in_memory_networks_of_other_readers():
    built = make_network([{"id": "S"}], [{"id": "R"}], [{"id": "P"}], [("R", "P", 1.0)])
    net = read_dataset(TINY)
    for name in ("sites", "regions", "products", "demand"):
        ours, theirs = getattr(net, name), getattr(built, name)
        assert list(ours.columns) == list(theirs.columns), name
        assert list(ours.dtypes) == list(theirs.dtypes), name
        assert ours.index.name == theirs.index.name, name


def test_network_yaml_is_optional_and_name_defaults_to_folder(tmp_path):
    data = tmp_path / "my-network"
    shutil.copytree(TINY, data)
    (data / "network.yaml").unlink()
    net = read_dataset(data)
    assert net.settings == Settings()
    assert net.name == "my-network"
    (data / "network.yaml").write_text("# only comments\n")
    assert read_dataset(data).settings == Settings()
    (data / "network.yaml").write_text("constraints:\nsolver:\n")  # empty sections mean defaults
    assert read_dataset(data).settings == Settings()


def test_whitespace_bom_blank_lines_quotes_and_column_order(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(TINY, data)
    text = (
        "\ufefflat , id,lon,  name\n"
        "\n"
        '51.0,  R1 ,3.0,"Multi\nline name"\n'
        "   \n"
        "52.0,R2,4.0,\n"
        ",,,\n"
    )
    (data / "regions.csv").write_text(text, encoding="utf-8")
    (data / "demand.csv").write_text("region,product,quantity\nR1,BOX,5\nR2,PAL,6\n")
    net = read_dataset(data)
    assert list(net.regions.index) == ["R1", "R2"]
    assert list(net.regions.columns) == ["name", "lat", "lon"]
    assert net.regions.loc["R1", "name"] == "Multi\nline name"
    assert net.regions.loc["R2", "name"] == "R2"
    assert list(net.demand["std"]) == [0.0, 0.0]
    # The same file with a bad value after the blank and multi-line records: the line is physical.
    (data / "regions.csv").write_text(text.replace("52.0,R2", "152.0,R2"), encoding="utf-8")
    (problem,) = validate_dataset(data)
    assert (problem.line, problem.field) == (6, "lat")


def test_crlf_line_endings(tmp_path):
    data = tmp_path / "d"
    shutil.copytree(TINY, data)
    lines = (data / "sites.csv").read_text().splitlines()
    (data / "sites.csv").write_bytes("\r\n".join(lines).encode() + b"\r\n")
    assert read_dataset(data).sites.equals(read_dataset(TINY).sites)
    (data / "sites.csv").write_bytes("\r\n".join(lines).replace("400,", "x,").encode())
    (problem,) = validate_dataset(data)
    assert (problem.line, problem.field) == (2, "capacity")


def test_demo_scenario_reads():
    net = read_dataset(ROOT / "scenarios" / "demo")
    assert len(net.sites) > 0 and len(net.demand) > 0
    assert np.isfinite(net.distance_km).all()


def _write_demand(folder: Path, n_regions: int, n_products: int) -> None:
    rng = np.random.default_rng(1)
    regions = [f"R{i}" for i in range(n_regions)]
    products = [f"P{j}" for j in range(n_products)]
    lat, lon = rng.uniform(-60, 60, n_regions), rng.uniform(-170, 170, n_regions)
    (folder / "regions.csv").write_text(
        "id,lat,lon\n" + "".join(f"{r},{a:.4f},{o:.4f}\n" for r, a, o in zip(regions, lat, lon))
    )
    (folder / "products.csv").write_text(
        "id,shipping_cost_per_km\n" + "".join(f"{p},0.01\n" for p in products)
    )
    quantity = rng.uniform(0, 100, n_regions * n_products)
    rows = (f"{r},{p},{q:.2f}\n" for (r, p), q in zip(((r, p) for r in regions for p in products), quantity))
    (folder / "demand.csv").write_text("region,product,quantity\n" + "".join(rows))


def test_100k_demand_rows_read_exactly_and_bad_rows_are_summarised(tmp_path):
    data = tmp_path / "big"
    shutil.copytree(TINY, data)
    _write_demand(data, 1000, 100)
    net = read_dataset(data)
    # every row read back, in file order, to the exact value written (no timing: the suite is not a benchmark)
    written = [line.split(",") for line in (data / "demand.csv").read_text().splitlines()[1:]]
    assert len(net.demand) == len(written) == 100_000
    assert net.demand["region"].tolist() == [w[0] for w in written]
    assert net.demand["product"].tolist() == [w[1] for w in written]
    assert net.demand["quantity"].tolist() == [float(w[2]) for w in written]
    assert (net.demand["std"] == 0).all()
    text = (data / "demand.csv").read_text().replace(",P7,", ",P7,-")
    (data / "demand.csv").write_text(text)
    with pytest.raises(InputError) as err:
        read_dataset(data)
    problems = err.value.problems
    assert len(problems) == 11  # 10 rows one by one, then one summary of the other 990
    assert all(p.field == "quantity" for p in problems)
    assert "990 more rows" in problems[-1].message and "negative" in problems[-1].message


def test_every_key_maps_onto_settings():
    for key in KEYS:
        if key.name == "name":
            continue
        sections = {"solver": SolverSettings(), "transport": TransportSettings(), "inventory": InventorySettings(),
                    "rebalance": RebalanceSettings()}
        target = sections.get(key.section, Settings())
        assert hasattr(target, key.leaf), key.name
        assert getattr(target, key.leaf) == key.default, key.name


def test_declared_frame_columns_are_the_network_columns():
    expected = {
        "sites.csv": ["name", "lat", "lon", "capacity", "fixed_cost", "handling_cost", "status", "closing_cost",
                      "lead_time_days", "max_outbound", "max_inbound"],
        "regions.csv": ["name", "lat", "lon"],
        "products.csv": ["name", "unit_value", "volume", "weight_kg", "holding_rate", "shipping_cost_per_km",
                         "service_level", "ordering_cost", "pack_size"],
        "demand.csv": ["region", "product", "quantity", "std"],
        "suppliers.csv": ["name", "lat", "lon"],
        "supply.csv": ["supplier", "product", "capacity", "unit_cost"],
        "links.csv": ["from", "to", "mode", "cost_per_volume", "cost_per_volume_km", "distance_km", "capacity",
                      "transit_days", "fixed_cost", "truck_capacity", "truck_cost"],
    }
    assert {t.file: t.frame_columns for t in TABLES} == expected


def test_format_doc_is_current():
    doc = (ROOT / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    assert doc == format_markdown(), "docs/FORMAT.md is stale: run `python -m optimizer.schema > docs/FORMAT.md`"
    for table in TABLES:
        assert f"## {table.file}" in doc
        for col in table.columns:
            assert f"| `{col.name}` |" in doc
    assert "| `constraints: max_sites` |" in doc


def test_schema_main_prints_the_doc():
    out = subprocess.run([sys.executable, "-m", "optimizer.schema"], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout == format_markdown()


def test_readme_format_section_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Dataset format\n"):]
    assert section == "## Dataset format\n\n" + format_markdown().split("\n", 2)[2], (
        "README.md's dataset format section is stale: regenerate it from optimizer.schema.format_markdown()")


def test_validation_catches_what_rebalancing_would_refuse(tmp_path):
    # A fractional pack size and rebalance.products naming an unknown product or key once passed validate and
    # were refused only by `optimizer rebalance`, without a line.
    data = tmp_path / "tiny"
    shutil.copytree(TINY, data)
    products = (data / "products.csv").read_text().splitlines()
    (data / "products.csv").write_text("\n".join([products[0] + ",pack_size", products[1] + ",2.5",
                                                  *(p + ",1" for p in products[2:])]) + "\n")
    (data / "network.yaml").write_text((data / "network.yaml").read_text()
                                       + "rebalance:\n  products:\n    NOPE: {shortage_rate: 0.2}\n"
                                       "    BOX: {shortage: 0.3}\n")
    found = {(p.file.rsplit("/", 1)[-1], p.line, p.field): p.message for p in validate_dataset(data)}
    lines = (data / "network.yaml").read_text().splitlines()
    assert found == {
        ("products.csv", 2, "pack_size"): "'2.5' is not a whole number; pack_size is in whole units",
        ("network.yaml", lines.index("    NOPE: {shortage_rate: 0.2}") + 1, "rebalance.products.NOPE"):
            "'NOPE' is not an id in products.csv",
        ("network.yaml", lines.index("    BOX: {shortage: 0.3}") + 1, "rebalance.products.BOX.shortage"):
            "unknown key 'shortage'; known keys here: shortage_rate, target_factor, excess_rate",
    }
