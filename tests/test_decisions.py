"""One vocabulary for site decisions (open, keep, close, unused): site table, JSON and maps alike."""

from __future__ import annotations

import re

import pytest

import optimizer
from factory import make_network
from optimizer.maps import write_html, write_png
from optimizer.results import DECISIONS


@pytest.fixture(scope="module")
def solved():
    # R at lon 0 wants 10 units; shipping costs 1 per unit-km, so only sites at lon 0 are worth using.
    sites = [
        {"id": "NEW", "lon": 0.0, "fixed_cost": 1.0},                                         # opened
        {"id": "OLD", "lon": 0.0, "fixed_cost": 1.0, "status": "existing"},                   # kept (ties to NEW)
        {"id": "FAR", "lon": 5.0, "fixed_cost": 100.0, "status": "existing", "closing_cost": 52.0},  # closed
        {"id": "IDLE", "lon": 5.0, "fixed_cost": 100.0},                                     # never opened
        {"id": "SHUT", "lon": 0.0, "status": "forced_closed", "closing_cost": 104.0},        # closed outside
        {"id": "BARRED", "lon": 0.0, "status": "forced_closed"},                             # excluded, no cost
        {"id": "MUST", "lon": 0.0, "status": "forced_open", "fixed_cost": 1.0},              # forced open
    ]
    net = make_network(sites, [{"id": "R", "lon": 0.0}], [{"id": "p"}], [("R", "p", 10)])
    return net, optimizer.solve(net)


def test_site_table_decisions(solved):
    net, result = solved
    assert result.status is optimizer.Status.OPTIMAL
    decisions = dict(zip(result.sites["site"], result.sites["decision"]))
    assert decisions["FAR"] == "close" and decisions["IDLE"] == "unused"
    assert decisions["SHUT"] == "close"  # forced closed and paying its closing cost: a closure
    assert decisions["BARRED"] == "unused"  # forced closed at no cost: nothing operated there
    assert decisions["MUST"] == "open"
    assert set(decisions.values()) <= set(DECISIONS)
    for site, decision in decisions.items():
        assert (decision in ("open", "keep")) == (site in result.open_sites)
        if site in result.open_sites:
            assert decision == ("keep" if net.sites.at[site, "status"] == "existing" else "open")
    assert result.costs["closing"] == pytest.approx((52.0 + 104.0) / 52)
    assert {s["site"]: s["decision"] for s in result.to_dict()["sites"]} == decisions


def test_maps_use_the_decisions(solved, tmp_path):
    net, result = solved
    html = write_html(net, result, tmp_path / "map.html").read_text(encoding="utf-8")
    for site, decision in zip(result.sites["site"], result.sites["decision"]):
        assert re.search(rf"site {site} \({site}\): {decision}\b", html), (site, decision)
    assert "closed" not in re.findall(r"site \w+ \(\w+\): (\w+)", html)
    png = write_png(net, result, tmp_path / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
