"""Scenario files: each override changes exactly what it should, bad files name file and key, hashes."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer

import optimizer.runs.scenario as scenario_module
from optimizer.errors import InputError
from optimizer.io.dataset import read_dataset
from optimizer.runs.overrides import YamlContext, apply_overrides, merge_overrides, normalize_overrides
from optimizer.runs.scenario import build_network, input_hash, load_scenario, read_base
from factory import make_network

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "data" / "tiny"
DEMO = ROOT / "scenarios" / "demo"


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    """A private copy of the tiny dataset (tests may modify it)."""
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    return folder


def write(folder: Path, text: str, name: str = "what.yaml", base: str = "tiny") -> Path:
    path = folder / name
    path.write_text(f"base: {base}\n" + text)
    return path


def build(folder: Path, text: str) -> tuple:
    """(scenario network, fresh base network) for a scenario written next to the base folder."""
    net = build_network(load_scenario(write(folder.parent, text)))
    return net, read_dataset(folder)


def quantity(net, region: str, product: str) -> float:
    d = net.demand
    return float(d.loc[(d["region"] == region) & (d["product"] == product), "quantity"].iloc[0])


def error_of(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    return info.value


# ----------------------------------------------------------------------------- overrides, hand-checked

def test_global_demand_scale_changes_quantity_and_std(base):
    net, ref = build(base, "demand: {scale: 1.5}\n")
    assert net.demand["quantity"].tolist() == [150, 30, 120, 90, 22.5, 37.5, 60]
    assert np.allclose(net.demand["std"], ref.demand["std"] * 1.5)
    assert net.sites.equals(ref.sites) and net.products.equals(ref.products)


def test_demand_by_region_and_product_touches_only_that_pair(base):
    net, ref = build(base, "demand: {regions: [R-AMS], products: [BOX], scale: 1.3, std_scale: 1}\n")
    assert quantity(net, "R-AMS", "BOX") == pytest.approx(130)
    assert quantity(net, "R-AMS", "PAL") == 20
    changed = (net.demand["quantity"] != ref.demand["quantity"]).sum()
    assert changed == 1
    assert net.demand["std"].equals(ref.demand["std"])


def test_demand_where_region_attribute_range_and_regex(base):
    # lat <= 51: Lille (50.63) and Luxembourg (49.61); then ids ending in -AMS or -RTM
    net, ref = build(base, "demand:\n  - {where: {lat: {max: 51}}, scale: 2}\n"
                           "  - {where: {id: {matches: '-(?:AMS|RTM)$'}}, scale: 0.5}\n")
    assert quantity(net, "R-LIL", "PAL") == 50 and quantity(net, "R-LUX", "BOX") == 80
    assert quantity(net, "R-AMS", "BOX") == 50 and quantity(net, "R-RTM", "BOX") == 40
    assert quantity(net, "R-ANR", "BOX") == 60  # neither


def test_sites_set_scale_open_close(base):
    net, ref = build(base, "sites:\n"
                           "  - {scale: {fixed_cost: 1.1}}\n"
                           "  - {ids: [PAR], set: {capacity: 500, handling_cost: 2}}\n"
                           "  - {where: {status: candidate}, scale: {handling_cost: 2}}\n"
                           "  - {open: [BRU], close: [AMS]}\n")
    assert np.allclose(net.sites["fixed_cost"], ref.sites["fixed_cost"] * 1.1)
    assert net.sites.at["PAR", "capacity"] == 500
    assert net.sites.at["PAR", "handling_cost"] == 4  # set to 2, then doubled as a candidate
    assert net.sites.at["BRU", "handling_cost"] == 2.0  # 1.0 doubled
    assert net.sites.at["AMS", "handling_cost"] == 1.5  # existing: unchanged
    assert net.sites["status"].tolist() == ["forced_closed", "forced_open", "candidate", "forced_closed"]
    assert net.sites.at["AMS", "closing_cost"] == 2000  # closed by the scenario: it pays for the closure
    assert ref.sites.at["AMS", "closing_cost"] == 2000
    result = optimizer.solve(net)
    # one-off, spread over the closing horizon (one year of weeks)
    assert result.costs["closing"] == pytest.approx(2000 / net.settings.closing_horizon) and result.check.ok


def test_products_and_fuel_scale(base):
    net, ref = build(base, "products: {ids: [PAL], set: {unit_value: 250}, scale: {volume: 2}}\n"
                           "shipping_cost_scale: 1.3\n")
    assert net.products.at["PAL", "unit_value"] == 250 and net.products.at["BOX", "unit_value"] == 50
    assert net.products.at["PAL", "volume"] == 4 and net.products.at["BOX", "volume"] == 0.5
    assert np.allclose(net.products["shipping_cost_per_km"], [0.013, 0.065])
    assert net.settings.transport.cost_per_volume_km == pytest.approx(ref.settings.transport.cost_per_volume_km * 1.3)


def test_fuel_scales_the_rates_the_same_scenario_sets(base):
    # shipping_cost_scale applies after the other changes, in one file and across a sweep's common and run parts:
    # a products or links rate they set is scaled too (it once kept the set value while default links were scaled).
    net, ref = build(base, "products: {ids: [PAL], set: {shipping_cost_per_km: 0.02}}\nshipping_cost_scale: 2\n"
                           "settings: {transport: {cost_per_volume_km: 0.1}}\n")
    assert net.products.at["PAL", "shipping_cost_per_km"] == pytest.approx(0.04)
    assert net.products.at["BOX", "shipping_cost_per_km"] == pytest.approx(0.02)
    assert net.settings.transport.cost_per_volume_km == pytest.approx(0.2)
    ctx = YamlContext("x.yaml")
    common = normalize_overrides({"products": {"ids": ["PAL"], "set": {"shipping_cost_per_km": 0.02}}}, ctx, "")
    run = normalize_overrides({"shipping_cost_scale": 2}, ctx, "")
    out = apply_overrides(ref, merge_overrides(common, run), ctx, "")
    assert not ctx.problems and out.products.at["PAL", "shipping_cost_per_km"] == pytest.approx(0.04)


def test_a_supply_change_that_selects_no_supply_row_is_an_error():
    demo = read_base(DEMO)
    supply = demo.supply[~((demo.supply["supplier"] == "PORT-SAV") & (demo.supply["product"] == "APP"))]
    net = dataclasses.replace(demo, supply=supply.reset_index(drop=True))
    ctx = YamlContext("x.yaml")
    raw = {"suppliers": {"ids": ["PORT-SAV"], "products": ["APP"], "scale": {"capacity": 2}}}
    apply_overrides(net, normalize_overrides(raw, ctx, ""), ctx, "")
    assert [(p.field, "selects no supply rows" in p.message) for p in ctx.problems] == [("suppliers.products", True)]


def test_a_scenario_sets_per_product_rebalancing_penalties(base):
    net, _ = build(base, "settings: {rebalance: {products: {BOX: {shortage_rate: 0.2}}}}\n")
    assert net.settings.rebalance.products == {"BOX": {"shortage_rate": 0.2}}
    error = error_of(write(base.parent, "settings: {rebalance: {products: {NOPE: {shortage_rate: 0.2}}}}\n",
                           name="bad.yaml"))
    assert [(p.field, p.message) for p in error.problems] == \
        [("settings.rebalance.products.NOPE", "'NOPE' is not an id in products.csv")]


def test_fuel_scales_unit_shipping_cost_matrix():
    net = make_network([{"id": "A"}], [{"id": "r"}], [{"id": "p"}], [("r", "p", 1.0)])
    net = dataclasses.replace(net, unit_shipping_cost=np.array([[2.0]]))
    ctx = YamlContext("x.yaml")
    out = apply_overrides(net, normalize_overrides({"shipping_cost_scale": 1.5}, ctx, ""), ctx, "")
    assert not ctx.problems
    assert out.unit_shipping_cost.tolist() == [[3.0]] and net.unit_shipping_cost.tolist() == [[2.0]]


def test_settings_and_solver(base):
    net, ref = build(base, "settings: {exact_sites: 2, max_service_km: 900, transport: {k_nearest: 1}, "
                           "constraints: {single_sourcing: true}}\nsolver: {time_limit: 5, threads: 1}\n")
    s = net.settings
    assert (s.exact_sites, s.max_service_km, s.transport.k_nearest, s.single_sourcing) == (2, 900.0, 1, True)
    assert (s.solver.time_limit, s.solver.threads, s.solver.name) == (5.0, 1, "highs")
    assert s.max_sites == ref.settings.max_sites == 3 and s.circuity == ref.settings.circuity


def test_base_tables_are_never_modified(base):
    cached = read_base(base)
    before = {name: getattr(cached, name).copy() for name in ("sites", "products", "demand")}
    build(base, "demand: {scale: 3}\nsites: {scale: {fixed_cost: 2}, close: [AMS]}\n"
                "products: {scale: {volume: 2}}\nshipping_cost_scale: 2\n")
    assert read_base(base) is cached  # cached per process
    for name, frame in before.items():
        pd.testing.assert_frame_equal(getattr(cached, name), frame)


def test_suppliers_and_links_on_the_demo():
    ctx = YamlContext("x.yaml")
    demo = read_base(DEMO)
    if demo.suppliers is None or demo.links is None:
        pytest.skip("the demo dataset has no suppliers/links")
    raw = {"suppliers": [{"remove": ["PORT-NYC"]}, {"ids": ["PORT-LAX"], "products": ["APP"],
                                                    "scale": {"capacity": 0.5, "unit_cost": 2}}],
           "links": {"mode": ["rail"], "scale": {"capacity": 0.5}}}
    net = apply_overrides(demo, normalize_overrides(raw, ctx, ""), ctx, "")
    assert not ctx.problems, ctx.problems
    assert "PORT-NYC" not in net.suppliers.index and "PORT-NYC" in demo.suppliers.index
    assert "PORT-NYC" not in set(net.supply["supplier"]) and "PORT-NYC" not in set(net.links["from"])
    lax = net.supply.set_index(["supplier", "product"])
    old = demo.supply.set_index(["supplier", "product"])
    assert lax.at[("PORT-LAX", "APP"), "capacity"] == old.at[("PORT-LAX", "APP"), "capacity"] * 0.5
    assert lax.at[("PORT-LAX", "ELEC"), "capacity"] == old.at[("PORT-LAX", "ELEC"), "capacity"]
    rail = net.links["mode"] == "rail"
    kept = demo.links[demo.links["from"] != "PORT-NYC"].reset_index(drop=True)
    assert np.allclose(net.links.loc[rail, "capacity"], kept.loc[kept["mode"] == "rail", "capacity"] * 0.5)
    assert net.links.loc[~rail, "capacity"].equals(kept.loc[kept["mode"] != "rail", "capacity"])


# ----------------------------------------------------------------------------- errors name file and key

@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("sitse: {close: [AMS]}\n", "sitse", ["unknown key 'sitse'", "did you mean 'sites'"]),
        ("sites: {ids: [AMS, PAR, ZZZ], set: {capacity: 5}}\n", "sites.ids[2]", ["unknown site id 'ZZZ'"]),
        ("sites: {set: {capacty: 5}}\n", "sites.set.capacty", ["unknown column 'capacty'", "capacity"]),
        ("sites: {scale: {status: 2}}\n", "sites.scale.status", ["unknown column 'status'"]),
        ("sites: {ids: [AMS], set: {lat: 100}}\n", "sites.set.lat", ["out of range", "between -90 and 90"]),
        ("sites: {ids: [AMS], set: {status: open}}\n", "sites.set.status", ["not a valid status"]),
        ("demand: {scale: lots}\n", "demand.scale", ["not a scale factor"]),
        ("demand: [{scale: 1.1}, {regions: [R-AMS], scale: -1}]\n", "demand[1].scale", ["number >= 0"]),
        ("demand: {where: {lat: {above: 3}}, scale: 2}\n", "demand.where.lat.above", ["not a condition"]),
        ("demand: {where: {lat: {max: 10}}, scale: 2}\n", "demand", ["selects no demand rows"]),
        ("demand: {regions: R-AMS, scale: 2}\n", "demand.regions", ["not a list of ids"]),
        ("settings: {exact_site: 2}\n", "settings.exact_site", ["unknown setting 'exact_site'"]),
        ("settings: {exact_sites: 4}\n", "settings", ["exact_sites (4) conflicts with max_sites (3)"]),
        ("settings: {exact_sites: 2.5}\n", "settings.exact_sites", ["not a whole number"]),
        ("solver: {name: gurobi}\n", "solver.name", ["not a valid name"]),
        ("sites: {scale: {capacity: 0}}\n", "sites.scale.capacity", ["scaling by 0"]),
        ("links: {mode: [rail], scale: {capacity: 2}}\n", "links", ["no links.csv"]),
        ("sites: {ids: [AMS]}\n", "sites", ["nothing to change"]),
        ("sites: {open: [BRU], close: [BRU]}\n", "sites", ["both in open and close"]),
        # A blank cell takes its default: scaling it once silently changed nothing.
        ("sites: {scale: {lead_time_days: 2}}\n", "sites.scale.lead_time_days",
         ["lead_time_days of AMS is blank", "set a value instead"]),
    ],
)
def test_bad_overrides_name_file_and_key(base, text, key, words):
    path = write(base.parent, text, name="bad.yaml")
    error = error_of(path)
    problem = error.problems[0]
    assert problem.file == str(path) and problem.field == key, error.problems
    assert problem.line is not None
    for word in words:
        assert word in problem.message, problem.message
    assert f"bad.yaml, line {problem.line}, field '{key}'" in str(error)


def test_unknown_id_message_reads_well_and_has_the_line(base):
    path = write(base.parent, "name: x\nsites:\n  ids: [AMS, PAR, DC-ZZ]\n  set: {capacity: 5}\n")
    error = error_of(path)
    assert str(error) == (f"Invalid input: {path}, line 4, field 'sites.ids[2]': unknown site id 'DC-ZZ'")


def test_every_problem_is_reported_at_once(base):
    error = error_of(write(base.parent, "demand: {scale: x}\nsites: {ids: [NOPE], set: {capacity: -1}}\n"))
    assert {p.field for p in error.problems} == {"demand.scale", "sites.set.capacity", "sites.ids[0]", "sites"}


def test_unknown_key_column_range_and_id_come_in_one_report(base):
    """Issue 10, defect 16: an unknown key no longer hides column and range errors, nor these unknown ids."""
    path = write(base.parent, "colour: red\n"              # line 2: unknown key
                              "sites:\n"
                              "  ids: [AMS, NOPE]\n"        # line 4: unknown id
                              "  set: {rent: 5, capacity: -1}\n"  # line 5: unknown column, out of range
                              "settings: {max_sites: 2}\n")
    error = error_of(path)
    found = {(p.line, p.field): p.message for p in error.problems}
    assert set(found) == {(2, "colour"), (4, "sites.ids[1]"), (5, "sites.set.rent"), (5, "sites.set.capacity")}
    assert "unknown key 'colour'" in found[(2, "colour")]
    assert "unknown site id 'NOPE'" in found[(4, "sites.ids[1]")]
    assert "unknown column 'rent'" in found[(5, "sites.set.rent")]
    assert "out of range" in found[(5, "sites.set.capacity")]
    assert all(p.file == str(path) for p in error.problems)


def test_an_invalid_base_is_reported_with_the_scenario_problems(base):
    (base / "sites.csv").write_text((base / "sites.csv").read_text().replace("AMS,", "AMS,,", 1))
    error = error_of(write(base.parent, "colour: red\n"))
    files = {Path(p.file).name for p in error.problems}
    assert files == {"what.yaml", "sites.csv"}


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        # the magnitudes the solver can represent (schema MAX_QUANTITY / MAX_COST), after scaling too
        ("demand: {scale: 1e250}\n", "demand.scale", ["makes the demand quantity", "1e+12"]),
        ("demand: {scale: 1, std_scale: 1e20}\n", "demand.std_scale", ["makes the demand std", "1e+12"]),
        ("sites: {scale: {fixed_cost: 1e300}}\n", "sites.scale.fixed_cost", ["makes fixed_cost", "1e+15"]),
        ("sites: {set: {fixed_cost: 1e308}}\n", "sites.set.fixed_cost", ["out of range", "1e+15"]),
        ("sites: {set: {capacity: 2e12}}\n", "sites.set.capacity", ["out of range", "1e+12"]),
        # numbers YAML 1.1 would read otherwise, or too large for a float
        ("demand: {scale: 1_000}\n", "demand.scale", ["'1_000' is not a scale factor"]),
        ("demand: {scale: 1:30}\n", "demand.scale", ["'1:30' is not a scale factor"]),
        ("demand: {scale: 1.0e+400}\n", "demand.scale", ["inf is not a scale factor"]),
    ],
)
def test_values_the_solver_cannot_represent(base, text, key, words):
    error = error_of(write(base.parent, text))
    assert {p.field for p in error.problems} == {key}, str(error)
    assert all(w in error.problems[0].message for w in words), error.problems[0].message


def test_a_huge_integer_is_a_problem_not_a_traceback(base):
    error = error_of(write(base.parent, "demand: {scale: " + "9" * 400 + "}\n"))
    assert [p.line for p in error.problems] == [2] and "too large" in str(error)
    # through the API (no YAML): a Python int too large for a float
    ctx = YamlContext("api")
    normalize_overrides({"demand": {"scale": 10**400}, "settings": {"max_sites": 10**400}}, ctx, "")
    assert {p.field for p in ctx.problems} == {"demand.scale", "settings.max_sites"}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"base: tiny\nname: a\x00b\n", "U+0000"),
        (b"base: tiny\nname: a\x1bb\n", "U+001B"),
        (b"base: tiny\nname: a\xc2\x85b\n", "U+0085"),
    ],
)
def test_control_characters_are_problems(base, data, words):
    path = base.parent / "ctl.yaml"
    path.write_bytes(data)
    error = error_of(path)
    assert [p.line for p in error.problems] == [2] and words in str(error)


def test_alias_bomb_fails_at_once(base):
    lines = ["base: tiny", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = base.parent / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    error = error_of(path)
    assert "expands to more than" in str(error)


def test_deep_nesting_fails_cleanly(base):
    path = write(base.parent, "demand: " + "[" * 5000 + "]" * 5000 + "\n")
    error = error_of(path)
    assert "levels deep" in str(error) and error.problems[0].line == 2


def test_removing_every_supplier_is_refused():
    path = DEMO.parent / "whatif" / "no-suppliers.yaml"
    suppliers = list(read_base(DEMO).suppliers.index)
    ctx = YamlContext(str(path))
    overrides = normalize_overrides({"suppliers": {"remove": suppliers}}, ctx, "")
    apply_overrides(read_base(DEMO), overrides, ctx, "")
    assert [p.field for p in ctx.problems] == ["suppliers.remove"]
    assert "removes every supplier" in ctx.problems[0].message
    ctx = YamlContext(str(path))
    apply_overrides(read_base(DEMO), normalize_overrides({"suppliers": {"remove": suppliers[1:]}}, ctx, ""), ctx, "")
    assert not ctx.problems


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("demand: {scale: [1\n", "YAML syntax error"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("name: a\nname: b\n", "written twice"),
    ],
)
def test_bad_yaml_files(tmp_path, text, words):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    error = error_of(path)
    assert words in str(error) and str(path) in str(error)


def test_missing_or_bad_base(tmp_path):
    (tmp_path / "a.yaml").write_text("demand: {scale: 2}\n")
    assert "missing key 'base'" in str(error_of(tmp_path / "a.yaml"))
    (tmp_path / "b.yaml").write_text("base: nowhere\n")
    assert error_of(tmp_path / "b.yaml").problems[0].field == "base"
    (tmp_path / "c.yaml").write_text("base: c.yaml\n")  # an existing file is not "not found"
    problem = error_of(tmp_path / "c.yaml").problems[0]
    assert problem.field == "base" and "is a file, not a dataset folder" in problem.message


# ----------------------------------------------------------------------------- merging and normal form

def test_merge_and_normal_form(base):
    ctx = YamlContext("x")
    a = normalize_overrides({"demand": {"scale": 2}, "settings": {"exact_sites": 2}, "shipping_cost_scale": 2,
                             "sites": {"ids": ["PAR"], "set": {"capacity": "inf"}}}, ctx, "")
    b = normalize_overrides({"demand": [{"scale": 1.5}], "settings": {"constraints.exact_sites": 3},
                             "shipping_cost_scale": 1.5}, ctx, "")
    assert not ctx.problems
    assert normalize_overrides(a, ctx, "") == a and not ctx.problems  # idempotent
    merged = merge_overrides(a, b)
    assert merged["demand"] == [{"scale": 2.0}, {"scale": 1.5}]
    assert merged["settings"] == {"constraints.exact_sites": 3} and merged["shipping_cost_scale"] == 3.0
    assert a["demand"] == {"scale": 2.0}  # inputs untouched
    json.dumps(merged, allow_nan=False)  # strict JSON: unlimited capacity is the text 'inf'
    net = apply_overrides(read_base(base), merged, ctx, "")
    assert net.demand["quantity"].iloc[0] == 300 and math.isinf(net.sites.at["PAR", "capacity"])


def test_definition_is_json(base):
    s = load_scenario(write(base.parent, "name: up\ndemand: {scale: 2}\n"))
    doc = json.loads(json.dumps(s.definition(), allow_nan=False))
    assert doc == {"name": "up", "base": str(base.resolve()), "overrides": {"demand": {"scale": 2.0}}, "sweep": ""}
    assert load_scenario(write(base.parent, "demand: {scale: 2}\n", name="stem.yaml")).name == "stem"


def test_whatif_examples_load_and_build():
    files = sorted((ROOT / "scenarios" / "whatif").glob("*.yaml"))
    assert len(files) >= 4
    for path in files:
        scenario = load_scenario(path)
        assert scenario.name == path.stem
        assert build_network(scenario).name == scenario.name


# ----------------------------------------------------------------------------- hashes

def _hash(path: Path, options: dict | None = None) -> str:
    s = load_scenario(path)
    return input_hash(s, build_network(s), options or {"solver": "highs"})


def test_hash_stable_and_sensitive(base, monkeypatch):
    path = write(base.parent, "demand: {scale: 1.2}\n")
    first = _hash(path)
    assert first == _hash(path) and len(first) == 64
    assert _hash(path, {"solver": "cbc"}) != first
    write(base.parent, "demand: {scale: 1.2}\nname: other\ndescription: words\n")
    assert _hash(path) == first  # names and descriptions are not inputs
    write(base.parent, "demand: {scale: 1.2000001}\n")
    assert _hash(path) != first
    write(base.parent, "demand: {scale: 1.2}\n")
    sites = base / "sites.csv"
    sites.write_text(sites.read_text().replace("5000,1.5", "5001,1.5"))
    assert _hash(path) != first  # data changed: the cached base read is refreshed
    sites.write_text(sites.read_text().replace("5001,1.5", "5000,1.5"))
    assert _hash(path) == first
    monkeypatch.setattr(scenario_module, "package_source_hash", lambda: "0" * 64)
    assert _hash(path) != first  # the package source is an input


def test_same_overrides_same_hash_whatever_the_file(base):
    one = _hash(write(base.parent, "sites: {scale: {fixed_cost: 1.1}}\n", name="one.yaml"))
    two = _hash(write(base.parent, "name: two\nsites: {scale: {fixed_cost: 1.1}}\n", name="two.yaml"))
    assert one == two


def test_hash_is_the_same_in_another_process(monkeypatch):
    path = ROOT / "scenarios" / "whatif" / "rents-up.yaml"
    code = ("import sys; import optimizer.runs.scenario as m; s = m.load_scenario(sys.argv[1]); "
            "print(m.package_source_hash(), m.input_hash(s, m.build_network(s), {'solver': 'highs', 'threads': 1}))")
    outputs = {tuple(subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                                    check=True, cwd=ROOT).stdout.split()) for _ in range(2)}
    # the package's sources may be edited while the test runs: compare under the sources each process saw
    for package, digest in outputs:
        monkeypatch.setattr(scenario_module, "package_source_hash", lambda package=package: package)
        s = load_scenario(path)
        assert digest == input_hash(s, build_network(s), {"solver": "highs", "threads": 1})
