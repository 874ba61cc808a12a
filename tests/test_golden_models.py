"""Golden model tests: the canonical text of three tiny models is committed, so any change to the
formulation shows up as a reviewed diff of ``tests/golden/*.txt`` (as Calliope does with LP files).

The text is written by :mod:`golden_model` (a test helper, independent of the MPS writer).  After an
intended change of the formulation, regenerate every golden file with one command and review the diff::

    UPDATE_GOLDEN=1 python -m pytest -q -p no:cacheprovider tests/test_golden_models.py
    git diff tests/golden/
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from statistics import NormalDist
from typing import Callable

import pytest

from factory import make_network, with_suppliers
from golden_model import canonical_text
from optimizer.model.build import build_model
from optimizer.model.pooled import add_pooled_inventory
from optimizer.network import InventorySettings

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def single_echelon() -> str:
    """2 sites (one existing with a closing cost and capacity), 3 regions, 2 products, multi-sourcing."""
    sites = [{"id": "S1", "lon": 0.0, "fixed_cost": 100.0, "capacity": 80.0, "handling_cost": 0.5,
              "status": "existing", "closing_cost": 30.0},
             {"id": "S2", "lon": 2.0, "fixed_cost": 150.0, "handling_cost": 0.25}]
    regions = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 1.0}, {"id": "R3", "lon": 2.0}]
    products = [{"id": "P", "volume": 1.0, "shipping_cost_per_km": 0.01},
                {"id": "Q", "volume": 2.0, "shipping_cost_per_km": 0.02}]
    demand = [("R1", "P", 10.0), ("R2", "P", 20.0), ("R2", "Q", 5.0), ("R3", "Q", 15.0)]
    net = make_network(sites, regions, products, demand, circuity=1.0, period_days=7.0)
    return canonical_text(build_model(net))


def suppliers_and_capacitated_link() -> str:
    """A supplier feeding site C directly over a capacitated link, or via A (a link with a fixed cost): arc flow."""
    sites = [{"id": "A", "lon": 1.0, "fixed_cost": 1000.0}, {"id": "C", "lon": 3.0, "status": "forced_open"}]
    net = make_network(sites, [{"id": "R", "lon": 3.0}], [{"id": "x", "volume": 2.0}], [("R", "x", 50.0)],
                       max_service_km=50.0, single_sourcing=True)
    links = [
        {"from": "P", "to": "C", "mode": "truck", "cost_per_volume": 2.0, "capacity": 60.0},
        {"from": "P", "to": "A", "mode": "rail", "cost_per_volume": 1.0, "fixed_cost": 25.0},
        {"from": "A", "to": "C", "mode": "truck", "cost_per_volume": 3.0},
    ]
    net = with_suppliers(net, [{"id": "P", "lon": 0.0}], [("P", "x", math.inf, 0.5)], links)
    built = build_model(net)
    assert built.routing.form == "arc_flow"
    return canonical_text(built)


def pooled_stock() -> str:
    """Issue 10's pooled example (two sites, two regions, single sourcing) with its seed cuts."""
    sites = [{"id": "A", "lon": 0.0}, {"id": "B", "lon": 1.0}]
    regions = [{"id": "R1", "lon": 0.0}, {"id": "R2", "lon": 1.0}]
    products = [{"id": "P", "unit_value": 100.0, "holding_rate": 0.365, "shipping_cost_per_km": 0.001}]
    net = make_network(sites, regions, products, [("R1", "P", 70.0, 7.5), ("R2", "P", 70.0, 10.0)],
                       single_sourcing=True, period_days=7.0, circuity=1.0,
                       inventory=InventorySettings(model="pooled", lead_time_days=7.0))
    net.products["service_level"] = NormalDist().cdf(2.0)
    built = build_model(net)
    return canonical_text(built, add_pooled_inventory(built))


MODELS: dict[str, Callable[[], str]] = {
    "single_echelon": single_echelon,
    "suppliers_capacitated_link": suppliers_and_capacitated_link,
    "pooled_stock": pooled_stock,
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_matches_its_golden_file(name):
    text = MODELS[name]()
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 python -m pytest {__file__}"
    expected = path.read_text()
    assert text == expected, (f"the formulation of {name} changed: if intended, regenerate with "
                              f"UPDATE_GOLDEN=1 python -m pytest tests/test_golden_models.py and review the diff")
