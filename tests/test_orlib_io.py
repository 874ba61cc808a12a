"""OR-Library / Holmberg readers, the writer and the random instance generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimizer.errors import InputError
from optimizer.io.instances import random_capacitated
from optimizer.io.orlib import MAX_PROBLEMS, format_orlib, read_orlib, read_sscflp, write_orlib

DATA = Path(__file__).parent / "data"
#: The 100 x 1000 OR-Library instance capa (bundled: its capacity field is the word ``capacity``).
CAPA = DATA / "orlib" / "capa"

#: A 2-facility, 2-customer OR-Library file; facility 2 is uncapacitated.
TINY_ORLIB = """2 2
10 5
capacity 7
3
1.5 2.5
4
6 8
"""
#: A 2-facility, 3-customer Holmberg file (costs facility-major).
TINY_SSCFLP = """2 3
10 5
20 7
1 2 4
3 4 8
5 6 12
"""


def write(tmp_path: Path, text: str, name: str = "inst") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def single_problem(exc: pytest.ExceptionInfo[InputError]):
    assert len(exc.value.problems) == 1, exc.value.problems
    return exc.value.problems[0]


# --- parsing -----------------------------------------------------------------------------


def test_cap41_hand_read_values():
    net = read_orlib(DATA / "orlib" / "cap41")
    assert (len(net.sites), len(net.regions), len(net.products)) == (16, 50, 1)
    assert net.site_ids[:2] == ["1", "2"] and net.region_ids[-1] == "50"
    assert (net.sites["capacity"] == 5000).all()
    fixed = net.sites["fixed_cost"]
    assert fixed["11"] == 0 and (fixed.drop("11") == 7500).all()
    demand = net.demand_matrix[:, 0]
    assert demand[[0, 1, 2, 49]].tolist() == [146, 87, 672, 222]
    u = net.unit_shipping_cost
    assert u.shape == (16, 50)
    # Whole-demand costs read off the file, divided by the demand.
    assert u[0, 0] == pytest.approx(6739.725 / 146)  # customer 1, facility 1 (line 19)
    assert u[15, 0] == pytest.approx(6051.7 / 146)  # customer 1, facility 16 (line 21)
    assert u[7, 1] == pytest.approx(2266.35 / 87)  # customer 2, facility 8 (line 24)
    assert u[12, 2] == pytest.approx(57472.8 / 672)  # customer 3, facility 13
    assert u[15, 49] == pytest.approx(7448.1 / 222)  # last value of the file
    assert not net.settings.single_sourcing
    assert net.name == "cap41" and net.source.endswith("cap41")


def test_network_conventions():
    net = read_orlib(DATA / "orlib" / "cap41")
    assert (net.sites["status"] == "candidate").all()
    assert (net.sites[["handling_cost", "closing_cost"]] == 0).all().all()
    assert net.sites[["lat", "lon"]].isna().all().all() and net.regions[["lat", "lon"]].isna().all().all()
    product = net.products.loc["1"]
    assert (product["volume"], product["unit_value"], product["holding_rate"], product["shipping_cost_per_km"]) == (
        1, 0, 0, 0)
    assert list(net.demand.columns) == ["region", "product", "quantity", "std"]
    assert (net.demand["product"] == "1").all() and (net.demand["std"] == 0).all()
    s = net.settings
    assert (s.period_days, s.days_of_cover, s.circuity) == (7, 0, 1)


def test_tiny_orlib_and_capacity_word(tmp_path):
    net = read_orlib(write(tmp_path, TINY_ORLIB))
    assert net.sites["capacity"].tolist() == [10, np.inf]
    assert net.sites["fixed_cost"].tolist() == [5, 7]
    np.testing.assert_allclose(net.unit_shipping_cost, [[0.5, 1.5], [2.5 / 3, 2.0]])


def test_zero_demand_customer_is_kept_with_zero_unit_cost(tmp_path):
    net = read_orlib(write(tmp_path, TINY_ORLIB.replace("\n3\n", "\n0\n")))
    assert net.demand["quantity"].tolist() == [0, 4]
    assert net.unit_shipping_cost[:, 0].tolist() == [0, 0]


def test_capa_word_capacity_is_uncapacitated():
    net = read_orlib(CAPA)
    assert (len(net.sites), len(net.regions)) == (100, 1000)
    assert np.isinf(net.sites["capacity"]).all()
    assert net.sites["fixed_cost"].iloc[0] == 2141200


def test_sscflp_facility_major():
    net = read_sscflp(DATA / "sscflp" / "p1")
    assert (len(net.sites), len(net.regions)) == (10, 50)
    assert net.sites.loc["1", "capacity"] == 258 and net.sites.loc["1", "fixed_cost"] == 366
    demand = net.demand_matrix[:, 0]
    assert demand[:3].tolist() == [49, 29, 23] and demand[49] == 49
    u = net.unit_shipping_cost * demand[None, :]
    # Line 17 starts facility 1's 50 costs; line 22 starts facility 2's.
    assert u[0, :3] == pytest.approx([260, 239, 418])
    assert u[1, :3] == pytest.approx([580, 484, 34])
    assert u[9, 49] == pytest.approx(673)  # last value of the file
    assert net.settings.single_sourcing


def test_tiny_sscflp(tmp_path):
    net = read_sscflp(write(tmp_path, TINY_SSCFLP))
    np.testing.assert_allclose(net.unit_shipping_cost, [[3, 2, 2], [5, 3, 3]])


def test_sample_optima_cover_the_copied_files():
    names = {p.name for p in (DATA / "sscflp").iterdir() if p.name.startswith("p")}
    rows = (DATA / "sscflp" / "optima.csv").read_text().split()[1:]
    assert {r.split(",")[0] for r in rows} == names and len(names) >= 10


# --- writer ------------------------------------------------------------------------------


def test_round_trip_arrays(tmp_path):
    capacity = np.array([10.0, np.inf, 2.5])
    fixed = np.array([1.0, 0.0, 3.25])
    demand = np.array([3.0, 0.0, 7.0, 1.0 / 3.0])
    cost = np.arange(12, dtype=float).reshape(3, 4) * 1.1
    net = read_orlib(write_orlib(tmp_path / "w", capacity, fixed, demand, cost))
    assert net.sites["capacity"].tolist() == capacity.tolist()
    assert net.sites["fixed_cost"].tolist() == fixed.tolist()
    assert net.demand["quantity"].tolist() == demand.tolist()
    expected = np.where(demand > 0, cost / np.where(demand > 0, demand, 1), 0)
    np.testing.assert_array_equal(net.unit_shipping_cost, expected)


def test_round_trip_cap41(tmp_path):
    net = read_orlib(DATA / "orlib" / "cap41")
    demand = net.demand_matrix[:, 0]
    text = format_orlib(net.sites["capacity"], net.sites["fixed_cost"], demand, net.unit_shipping_cost * demand)
    again = read_orlib(write(tmp_path, text))
    np.testing.assert_allclose(again.unit_shipping_cost, net.unit_shipping_cost, rtol=1e-15)
    assert again.sites.equals(net.sites) and again.demand.equals(net.demand)


@pytest.mark.parametrize(
    "change",
    [{"fixed": [1.0]}, {"cost": np.ones((2, 2))}, {"demand": [-1.0, 1.0, 1.0]}, {"cost": np.full((2, 3), np.nan)},
     {"capacity": [np.nan, 1.0]}],
)
def test_writer_rejects_bad_arrays(change):
    args = {"capacity": [1.0, 2.0], "fixed": [1.0, 1.0], "demand": [1.0, 1.0, 1.0], "cost": np.ones((2, 3))}
    args.update(change)
    with pytest.raises(ValueError):
        format_orlib(args["capacity"], args["fixed"], args["demand"], args["cost"])


# --- generator ---------------------------------------------------------------------------


def test_generator_is_deterministic_and_seeded():
    a = random_capacitated(25, 100, seed=7)
    assert a == random_capacitated(25, 100, seed=7)
    assert a != random_capacitated(25, 100, seed=8)


@pytest.mark.parametrize("ratio", [1.0, 3.0, 10.0])
def test_generator_shape_and_ratio(tmp_path, ratio):
    net = read_orlib(write(tmp_path, random_capacitated(25, 100, seed=1, ratio=ratio)))
    assert (len(net.sites), len(net.regions)) == (25, 100)
    capacity, demand = net.sites["capacity"].to_numpy(), net.demand_matrix[:, 0]
    assert capacity.sum() >= demand.sum()
    assert capacity.sum() / demand.sum() == pytest.approx(ratio, abs=0.01)
    assert ((demand >= 5) & (demand <= 35)).all()
    # Fixed costs grow with capacity (economies of scale).
    assert np.corrcoef(capacity, net.sites["fixed_cost"])[0, 1] > 0.8


@pytest.mark.parametrize("args", [(0, 5, 1), (5, 0, 1)])
def test_generator_rejects_empty(args):
    with pytest.raises(ValueError):
        random_capacitated(*args)


@pytest.mark.parametrize("kwargs", [{"ratio": 0.9}, {"ratio": float("nan")}, {"cost_scale": -1.0}])
def test_generator_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        random_capacitated(3, 3, seed=1, **kwargs)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (TINY_ORLIB.replace("6 8", "6"), 7, "cost of customer 2 at facility 2", "truncated"),
        (TINY_ORLIB[: TINY_ORLIB.index("4\n6")], 5, "demand of customer 2", "truncated"),
        (TINY_ORLIB + "9\n", 8, None, "unexpected values"),
        (TINY_ORLIB.replace("2.5", "abc"), 5, "cost of customer 1 at facility 2", "not a finite number"),
        (TINY_ORLIB.replace("2.5", "nan"), 5, "cost of customer 1 at facility 2", "not a finite number"),
        (TINY_ORLIB.replace("2.5", "2_5"), 5, "cost of customer 1 at facility 2", "not a finite number"),
        (TINY_ORLIB.replace("2 2\n", "2 1_0\n", 1), 1, "number of customers", "positive integer"),
        (TINY_ORLIB.replace("\n4\n", "\n-4\n"), 6, "demand of customer 2", "negative"),
        (TINY_ORLIB.replace("10 5", "-10 5"), 2, "capacity of facility 1", "negative"),
        (TINY_ORLIB.replace("capacity 7", "capacity capacity"), 3, "fixed cost of facility 2", "not a finite"),
        (TINY_ORLIB.replace("2 2\n", "2.5 2\n", 1), 1, "number of facilities", "positive integer"),
        (TINY_ORLIB.replace("2 2\n", "2 0\n", 1), 1, "number of customers", "positive integer"),
        ("", 1, "number of facilities", "ends before"),
        ("3", 1, "number of customers", "ends before"),
        # beyond what the model can represent: named here, not as a matrix entry of the model
        (TINY_ORLIB.replace("10 5", "10 1e300"), 2, "fixed cost of facility 1", "too large (at most 1e+15)"),
        (TINY_ORLIB.replace("\n4\n", "\n4e13\n"), 6, "demand of customer 2", "too large (at most 1e+12)"),
    ],
)
def test_orlib_errors(tmp_path, text, line, field, words):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        read_orlib(path)
    problem = single_problem(exc)
    assert (problem.file, problem.line, problem.field) == (str(path), line, field)
    assert words in problem.message
    assert str(exc.value).startswith("Invalid input: ")


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (TINY_SSCFLP.replace("5 6 12", "5 6"), 6, "cost of customer 3 at facility 2", "truncated"),
        (TINY_SSCFLP.replace("3 4 8", "3 -4 8"), 5, "cost of customer 2 at facility 1", "negative"),
        (TINY_SSCFLP.replace("1 2 4", "1 x 4"), 4, "demand of customer 2", "not a finite number"),
        (TINY_SSCFLP.replace("10 5", "capacity 5"), 2, "capacity of facility 1", "not a finite number"),
        (TINY_SSCFLP + "0\n", 7, None, "unexpected values"),
    ],
)
def test_sscflp_errors(tmp_path, text, line, field, words):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        read_sscflp(path)
    problem = single_problem(exc)
    assert (problem.line, problem.field) == (line, field)
    assert words in problem.message


def test_every_bad_value_is_listed_up_to_a_limit(tmp_path):
    assert [p.line for p in pytest.raises(InputError, read_orlib, write(
        tmp_path, TINY_ORLIB.replace("1.5 2.5", "-1.5 x"))).value.problems] == [5, 5]
    # 30 negative fixed costs + the last of each line of 10 costs (3 lines x 2 customers) = 36 bad values.
    many = format_orlib(np.ones(30), np.ones(30), np.ones(2), np.ones((30, 2))).replace(" 1\n", " -1\n")
    problems = pytest.raises(InputError, read_orlib, write(tmp_path, many, "many")).value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0].field == "fixed cost of facility 1" and problems[0].line == 2
    assert problems[-1].message == f"{36 - MAX_PROBLEMS} more bad values not listed"


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_orlib(tmp_path / "nope")


def test_a_pipe_or_folder_is_refused_not_read(tmp_path):
    """A FIFO in place of an instance file would block the reader forever: refused before it is opened."""
    import os

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    for name, words in (("fifo", "pipe (FIFO)"), ("folder", "a folder")):
        for read in (read_orlib, read_sscflp):
            with pytest.raises(InputError) as err:
                read(tmp_path / name)
            assert words in str(err.value) and str(tmp_path / name) in str(err.value)
