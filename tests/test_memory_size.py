"""The model size estimate: exact counts without building, and a clear refusal when memory is short."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer.model.size as size
from factory import LINK_DEFAULTS
from optimizer.api import load
from optimizer.errors import InputError, ModelTooLargeError
from optimizer.io.instances import random_multi_echelon
from optimizer.model.build import build_model
from optimizer.network import Network

DATA = Path(__file__).parent / "data"


def actual(network: Network) -> tuple[int, int, int]:
    lp = build_model(network).lp
    return lp.n_cols, lp.A.shape[0], lp.A.nnz


def counts(estimate: size.ModelSize) -> tuple[int, int, int]:
    return estimate.n_cols, estimate.n_rows, estimate.nnz


def tiny_variants() -> dict[str, Network]:
    tiny = load(DATA / "tiny")
    closed = tiny.sites.copy()
    closed.loc[closed.index[1], "status"] = "forced_closed"
    uncapped = tiny.sites.assign(capacity=np.inf)
    capped = tiny.sites.assign(capacity=tiny.sites["capacity"].fillna(1e6).replace(np.inf, 1e6))
    outbound = pd.DataFrame([{"from": tiny.sites.index[0], "to": r, **LINK_DEFAULTS, "mode": "van"}
                             for r in tiny.regions.index[:3]])
    return {
        "as given": tiny,
        "radius 400 km": tiny.with_settings(max_service_km=400.0),
        "radius 250 km, geodesic": tiny.with_settings(max_service_km=250.0, distance_method="geodesic"),
        "single sourcing, radius 300 km": tiny.with_settings(single_sourcing=True, max_service_km=300.0),
        "no site count": tiny.with_settings(max_sites=None),
        "exact count": tiny.with_settings(max_sites=None, exact_sites=2),
        "a site forced closed": replace(tiny, sites=closed).with_settings(max_service_km=500.0),
        "no capacities": replace(tiny, sites=uncapped),
        "all capacities (aggregate row)": replace(tiny, sites=capped).with_settings(max_service_km=350.0),
        "outbound links": replace(tiny, links=outbound).with_settings(max_service_km=300.0),
    }


@pytest.mark.parametrize("name", list(tiny_variants()))
def test_counts_are_exact_without_suppliers(name: str) -> None:
    network = tiny_variants()[name]
    estimate = size.estimate_model_size(network)
    assert "distance_km" not in network.__dict__  # no sites x regions matrix was made
    assert counts(estimate) == actual(network)
    assert estimate.n_lanes > 0 and estimate.bytes > 0


def test_counts_are_exact_for_orlib_and_blocks_do_not_matter(monkeypatch) -> None:
    network = load(DATA / "orlib" / "cap41", format="orlib")
    assert counts(size.estimate_model_size(network)) == actual(network)
    ladder = random_multi_echelon(30, 200, 1, 2, seed=3)
    ladder = replace(ladder, suppliers=None, supply=None, links=None).with_settings(max_service_km=800.0)
    whole = size.estimate_model_size(ladder)
    monkeypatch.setattr(size, "BLOCK_PAIRS", 7)  # one site per block
    assert size.estimate_model_size(ladder) == whole
    assert counts(whole) == actual(ladder)
    assert 0 < whole.n_lanes < 30 * 200 * 2  # the radius really cut lanes


def test_supply_side_is_bounded_from_above() -> None:
    network = random_multi_echelon(8, 30, 2, 3, seed=5)
    estimate = counts(size.estimate_model_size(network))
    for guess, real in zip(estimate, actual(network)):
        assert real <= guess <= 2 * real


def test_a_model_that_fits_passes() -> None:
    network = load(DATA / "tiny")
    assert size.check_fits(network, available_bytes=2**40) == size.estimate_model_size(network)
    assert size.available_memory() > 0


def test_a_model_too_large_is_refused_with_the_numbers_and_advice() -> None:
    network = load(DATA / "tiny").with_settings(max_service_km=400.0)
    estimate = size.estimate_model_size(network)
    with pytest.raises(ModelTooLargeError) as caught:
        size.check_fits(network, available_bytes=estimate.bytes - 1)
    error = caught.value
    assert isinstance(error, InputError)
    assert error.size == estimate and error.available == estimate.bytes - 1
    text = str(error)
    assert f"{estimate.n_cols:,} columns" in text and f"{estimate.nnz:,} nonzeros" in text
    assert "available" in text and "max_service_km is 400 km" in text
    assert "--strategy decompose" in text and "fewer demand regions" in text
