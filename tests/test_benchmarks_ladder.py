"""The benchmark ladder's generator and the dataset writer (optimizer.io.instances)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.io.dataset import read_dataset
from optimizer.io.instances import (
    LADDER_FIXED_COST_PER_SQRT,
    LADDER_RUNGS,
    ladder_network,
    random_multi_echelon,
    write_dataset,
)
from optimizer.io.orlib import read_orlib

DATA = Path(__file__).parent / "data"


def demand_volume(net) -> float:
    return float((net.demand_matrix @ net.products["volume"].to_numpy()).sum())


@pytest.mark.parametrize("size", [(50, 1_000), (12, 80)])
def test_capacities_sum_to_three_times_the_demand_volume(size):
    net = ladder_network(*size, service_km=None if size in LADDER_RUNGS else 1_500.0)
    # capacities are rounded to whole volume units: at most half a unit off per site
    assert abs(net.sites["capacity"].sum() - 3 * demand_volume(net)) <= 0.5 * len(net.sites)


def test_fixed_costs_grow_with_the_square_root_of_capacity():
    net = ladder_network(50, 1_000)
    per_sqrt = net.sites["fixed_cost"] / np.sqrt(net.sites["capacity"]) / LADDER_FIXED_COST_PER_SQRT
    assert per_sqrt.between(0.5 - 1e-3, 1.5 + 1e-3).all()
    assert per_sqrt.std() > 0.1  # randomised, not one rate for all


def test_three_products_differ_in_volume_value_and_rate_and_demand_is_lognormal():
    net = ladder_network(50, 1_000)
    products = net.products
    assert len(products) == 3
    for column in ("volume", "unit_value", "shipping_cost_per_km"):
        assert products[column].nunique() == 3, column
    assert len(net.demand) == 3 * len(net.regions) and (net.demand["quantity"] >= 1).all()
    q = net.demand_matrix
    # lognormal: the log of demand is roughly symmetric, demand itself heavily right-skewed
    assert (q.mean(axis=0) > 1.2 * np.median(q, axis=0)).all()
    assert abs(pd.Series(np.log(q[:, 0])).skew()) < 0.5


def test_one_echelon_linear_stock_multi_sourcing():
    net = ladder_network(50, 1_000)
    assert not net.has_suppliers and net.links is None
    s = net.settings
    assert s.inventory.model == "linear" and not s.single_sourcing and s.max_service_km == 900.0


def test_points_lie_in_the_contiguous_us_box():
    net = ladder_network(200, 5_000)
    for table in (net.sites, net.regions):
        assert table["lat"].between(24.5, 49.4).all() and table["lon"].between(-124.7, -66.9).all()


@pytest.mark.parametrize("size,radius", list(LADDER_RUNGS.items())[:2])
def test_every_region_has_a_site_within_the_service_radius(size, radius):
    net = ladder_network(*size)
    assert net.settings.max_service_km == radius
    assert net.distance_km.min(axis=0).max() <= radius


def test_a_small_radius_redraws_regions_until_each_is_served():
    net = ladder_network(5, 300, seed=3, service_km=300.0)
    assert net.distance_km.min(axis=0).max() <= 300.0


def test_fixed_seed_is_reproducible_and_seeds_differ():
    a, b, c = ladder_network(50, 1_000), ladder_network(50, 1_000), ladder_network(50, 1_000, seed=12)
    for name in ("sites", "regions", "products", "demand"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.settings == b.settings and a.name == b.name
    assert not a.regions[["lat", "lon"]].equals(c.regions[["lat", "lon"]])


def test_sizes_off_the_ladder_need_a_radius_and_counts_must_be_positive():
    with pytest.raises(ValueError, match="not a ladder rung"):
        ladder_network(10, 100)
    with pytest.raises(ValueError, match="at least one site"):
        ladder_network(0, 100, service_km=500.0)
    with pytest.raises(ValueError, match="too small"):
        ladder_network(1, 50, service_km=1.0)


def assert_same_network(a, b) -> None:
    for name in ("sites", "regions", "products"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_dtype=False)
    for name in ("demand", "supply", "links"):
        left, right = getattr(a, name), getattr(b, name)
        assert (left is None) == (right is None), name
        if left is not None:
            pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                          check_dtype=False)
    assert a.settings == b.settings and a.name == b.name


def test_write_dataset_round_trips_the_ladder(tmp_path):
    net = ladder_network(50, 1_000)
    assert_same_network(net, read_dataset(write_dataset(net, tmp_path / "ladder")))


def test_write_dataset_round_trips_suppliers_links_and_settings(tmp_path):
    net = random_multi_echelon(6, 20, 2, 2, seed=4, link_capacity=75.0)
    net = net.with_settings(max_sites=4, single_sourcing=True, solver=replace(net.settings.solver, mip_gap=0.02))
    net.sites.loc["S0000", "capacity"] = np.inf  # unlimited: written as inf
    back = read_dataset(write_dataset(net, tmp_path / "me"))
    assert_same_network(net, back)
    assert np.isinf(back.sites.loc["S0000", "capacity"]) and back.sites["lead_time_days"].isna().all()


def test_write_dataset_refuses_a_cost_matrix_network(tmp_path):
    with pytest.raises(ValueError, match="cannot be written as a dataset"):
        write_dataset(read_orlib(DATA / "orlib" / "cap41"), tmp_path / "x")
