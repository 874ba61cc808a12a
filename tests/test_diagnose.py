"""Tests of the infeasibility diagnosis: each cause is named with the right ids and numbers."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from factory import make_network
from optimizer.diagnose import explain_infeasibility
from optimizer.network import Network

P = [{"id": "P", "volume": 1.0}]


def sites(*specs: tuple[str, float, float, str]) -> list[dict[str, Any]]:
    """Sites on the equator from (id, lon, capacity, status)."""
    return [{"id": i, "lon": lon, "capacity": cap, "status": status, "fixed_cost": 1.0}
            for i, lon, cap, status in specs]


def all_forced_closed() -> Network:
    return make_network(sites(("A", 0, 10, "forced_closed"), ("B", 1, 10, "forced_closed")),
                        [{"id": "R"}], P, [("R", "P", 5)])


def out_of_reach() -> Network:
    # B (forced closed) is nearer to R1 than A, but cannot serve it; A is 3 degrees = 3 x 111.195 km away.
    return make_network(sites(("A", 0, 100, "candidate"), ("B", 2, 100, "forced_closed")),
                        [{"id": "R1", "lon": 3.0}, {"id": "R2", "lon": 0.5}], P,
                        [("R1", "P", 4), ("R2", "P", 4)], max_service_km=100.0)


def total_capacity_short() -> Network:
    # Volume 2 per unit x 15 units = 30; capacity 10 + 15 (C is forced closed).
    return make_network(sites(("A", 0, 10, "candidate"), ("B", 0, 15, "existing"), ("C", 0, 100, "forced_closed")),
                        [{"id": "R"}], [{"id": "P", "volume": 2.0}], [("R", "P", 15)])


def inbound_links_short() -> Network:
    # Goods enter A and B only over the rail links from port S: 6 + 5 volume units per period against 12 of demand.
    from factory import with_suppliers

    net = make_network(sites(("A", 0, 100, "candidate"), ("B", 1, 100, "candidate")), [{"id": "R"}], P,
                       [("R", "P", 12)])
    return with_suppliers(net, [{"id": "S", "lon": -1.0}], [("S", "P", 100)],
                          [{"from": "S", "to": "A", "mode": "rail", "capacity": 6.0},
                           {"from": "S", "to": "B", "mode": "rail", "capacity": 5.0}])


def max_sites_short() -> Network:
    # Best two of 10, 20, 15 = 35 < 40.
    return make_network(sites(("A", 0, 10, "candidate"), ("B", 0, 20, "candidate"), ("C", 0, 15, "candidate")),
                        [{"id": "R"}], P, [("R", "P", 40)], max_sites=2)


def exact_sites_short_with_forced() -> Network:
    # A (10) is forced open and takes one place: best is 10 + 20 = 30 < 32 (all three would give 45).
    return make_network(sites(("A", 0, 10, "forced_open"), ("B", 0, 20, "candidate"), ("C", 0, 15, "candidate")),
                        [{"id": "R"}], P, [("R", "P", 32)], exact_sites=2)


def region_short() -> Network:
    # R1 reaches only A (10) but needs 15; B is far away and large.
    return make_network(sites(("A", 0, 10, "candidate"), ("B", 20, 1000, "candidate")),
                        [{"id": "R1", "lon": 0.1}, {"id": "R2", "lon": 20}], P,
                        [("R1", "P", 15), ("R2", "P", 5)], max_service_km=150.0)


def group_short() -> Network:
    # Within 150 km: R1 (lon -0.5) reaches A; R2 (lon 1) reaches A and C; R3 (lon 2.75) reaches C and B.
    # R1 + R2 need 16 but A + C hold 15, although each alone fits and the connected whole has room.
    return make_network(sites(("A", 0, 10, "candidate"), ("C", 2, 5, "candidate"), ("B", 3.5, 100, "candidate")),
                        [{"id": "R1", "lon": -0.5}, {"id": "R2", "lon": 1.0}, {"id": "R3", "lon": 2.75}], P,
                        [("R1", "P", 8), ("R2", "P", 8), ("R3", "P", 3)], max_service_km=150.0)


def island_short() -> Network:
    # Two separate groups: {R1, R2} with A (9), {R3} with B (100).
    return make_network(sites(("A", 0, 9, "candidate"), ("B", 20, 100, "candidate")),
                        [{"id": "R1", "lon": 0.1}, {"id": "R2", "lon": -0.1}, {"id": "R3", "lon": 20}], P,
                        [("R1", "P", 5), ("R2", "P", 5), ("R3", "P", 1)], max_service_km=150.0)


def single_source_short() -> Network:
    return make_network(sites(("A", 0, 5, "candidate"), ("B", 0, 5, "candidate")),
                        [{"id": "R"}], [{"id": "P", "volume": 0.5}, {"id": "Q", "volume": 2.0}],
                        [("R", "P", 4), ("R", "Q", 3)], single_sourcing=True)


def three_sites(**setting: Any) -> Network:
    """A, B candidates and C forced closed, ample capacity."""
    return make_network(sites(("A", 0, 100, "candidate"), ("B", 1, 100, "candidate"), ("C", 2, 100, "forced_closed")),
                        [{"id": "R"}], P, [("R", "P", 5)], **setting)


def forced_two(**setting: Any) -> Network:
    """A and B forced open, C candidate."""
    return make_network(sites(("A", 0, 100, "forced_open"), ("B", 1, 100, "forced_open"), ("C", 2, 100, "candidate")),
                        [{"id": "R"}], P, [("R", "P", 5)], **setting)


CASES: list[tuple[str, Callable[[], Network], list[str]]] = [
    ("all_forced_closed", all_forced_closed,
     ["every site (A, B) is forced closed, but 1 region(s) have demand (5 volume units per period)"]),
    ("out_of_reach", out_of_reach,
     ["region R1 has demand (products P) but no site that is not forced closed lies within max_service_km = 100 km; "
      "the nearest, A, is 333.585 km away by road"]),
    ("total_capacity_short", total_capacity_short,
     ["total capacity of the sites not forced closed is 25 volume units per period, less than the total demand "
      "volume 30 (short by 5 volume units per period)"]),
    ("inbound_links_short", inbound_links_short,
     ["goods reach the sites only over supplier -> site links, whose capacities total 11 volume units per period, "
      "below the demand's 12 (links.csv)"]),
    ("max_sites_short", max_sites_short,
     ["with max_sites = 2, the largest capacity any 2 site(s) can offer is 35 volume units per period, "
      "less than the total demand volume 40 (short by 5)"]),
    ("exact_sites_short_with_forced", exact_sites_short_with_forced,
     ["with exact_sites = 2, the largest capacity any 2 site(s) can offer is 30 volume units per period "
      "(the 1 forced-open site(s) A take 1 of the 2 places), less than the total demand volume 32 (short by 2)"]),
    ("region_short", region_short,
     ["region R1 needs 15 volume units per period but the only sites within max_service_km (A) have only 10 "
      "capacity (short by 5)"]),
    ("group_short", group_short,
     ["2 regions (R1, R2) need 16 volume units per period but the only sites within max_service_km (A, C) have only "
      "15 capacity (short by 1)"]),
    ("island_short", island_short,
     ["2 regions (R1, R2) need 10 volume units per period but the only sites within max_service_km (A) have only "
      "9 capacity (short by 1)"]),
    ("single_source_short", single_source_short,
     ["single sourcing: region R needs 8 volume units per period from one site, but the largest site within reach, "
      "A, has capacity 5"]),
    ("min_sites_too_many", lambda: three_sites(min_sites=3),
     ["min_sites = 3 but only 2 of 3 site(s) may open (1 forced closed: C)"]),
    ("exact_sites_too_many", lambda: three_sites(exact_sites=3),
     ["exact_sites = 3 but only 2 of 3 site(s) may open (1 forced closed: C)"]),
    ("forced_open_over_max", lambda: forced_two(max_sites=1),
     ["2 site(s) are forced open (A, B) but max_sites = 1"]),
    ("forced_open_over_exact", lambda: forced_two(exact_sites=1),
     ["2 site(s) are forced open (A, B) but exact_sites = 1"]),
    ("min_over_max", lambda: three_sites(min_sites=2, max_sites=1),
     ["min_sites = 2 is larger than max_sites = 1"]),
    ("exact_below_min", lambda: three_sites(min_sites=2, exact_sites=1),
     ["exact_sites = 1 is smaller than min_sites = 2"]),
    ("exact_above_max", lambda: three_sites(max_sites=1, exact_sites=2),
     ["exact_sites = 2 is larger than max_sites = 1"]),
]


@pytest.mark.parametrize(("build", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cause_is_named(build: Callable[[], Network], expected: list[str]) -> None:
    assert explain_infeasibility(build()) == expected


@pytest.mark.parametrize("build", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_diagnosed_networks_are_infeasible(build: Callable[[], Network]) -> None:
    # The causes must be real: the solver agrees that no plan exists.
    from optimizer.api import solve

    assert solve(build()).status.value == "infeasible"


@pytest.mark.parametrize("build", [
    lambda: make_network(sites(("A", 0, 10, "candidate"), ("B", 1, 15, "forced_closed")),
                         [{"id": "R"}], P, [("R", "P", 10)], max_sites=1),
    lambda: three_sites(min_sites=2, max_sites=2, single_sourcing=True, max_service_km=150.0),
    lambda: forced_two(exact_sites=2),
    lambda: make_network(sites(("A", 0, 10, "forced_closed")), [{"id": "R"}], P, [("R", "P", 0)]),
    # The relaxed versions of the group cases.
    lambda: region_short().with_settings(max_service_km=None),
    lambda: group_short().with_settings(max_service_km=300.0),
    lambda: single_source_short().with_settings(single_sourcing=False),
], ids=["exact_fit", "all_constraints", "forced_equals_exact", "no_demand", "no_limit", "wider_reach", "split"])
def test_feasible_network_has_no_reason(build: Callable[[], Network]) -> None:
    net = build()
    assert explain_infeasibility(net) == []
    from optimizer.api import solve

    assert solve(net).status.value == "optimal"


def test_many_unreachable_regions_are_capped() -> None:
    regions = [{"id": f"R{j:02d}", "lon": 10.0 + j} for j in range(15)]
    net = make_network(sites(("A", 0, 100, "candidate")), regions, P, [(r["id"], "P", 1) for r in regions],
                       max_service_km=100.0)
    reasons = explain_infeasibility(net)
    assert len(reasons) == 11
    assert reasons[0].startswith("region R00 has demand") and reasons[-1] == \
        "... and 5 more regions out of reach of every site"
    assert all("\n" not in r for r in reasons)
