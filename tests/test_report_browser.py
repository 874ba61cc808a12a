"""The HTML pages in a real browser, offline: headless Chromium (the system's, driven by Playwright) with
every request that is not a local file refused and recorded.

Each page must load without console errors, draw its markers (counted in the DOM), fill its
tables and render a non-blank screenshot.  Skipped only when Playwright or Chromium is missing
(``.ci/run`` installs both: ``apt-get install chromium``; never ``playwright install``).
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from factory import make_network
from optimizer.io.instances import random_multi_echelon
from optimizer.reports import write_outputs

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def chromium_path() -> str | None:
    """The system Chromium: $CHROMIUM_PATH, else chromium / chromium-browser / google-chrome on PATH."""
    if os.environ.get("CHROMIUM_PATH"):
        return os.environ["CHROMIUM_PATH"]
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


if chromium_path() is None:
    pytest.skip("no system Chromium (apt-get install chromium)", allow_module_level=True)


class Page:
    """One page opened offline: its console errors, the URLs it tried to fetch, the Playwright page."""

    def __init__(self, browser, path: Path) -> None:
        self.context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.errors: list[str] = []

        def route(r):
            if r.request.url.startswith("file:") or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.requests.append(r.request.url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.resolve().as_uri())

    def wait_for_map(self) -> dict:
        self.page.wait_for_function("window.reportMap !== undefined", timeout=30_000)
        self.page.wait_for_selector(".site-marker", timeout=30_000)
        self.page.wait_for_timeout(500)  # let the marker clusters settle
        return self.page.evaluate("({regions: window.reportMap.regions, sites: window.reportMap.sites,"
                                  " suppliers: window.reportMap.suppliers, lanes: window.reportMap.lanes})")

    def count(self, selector: str) -> int:
        return int(self.page.evaluate(f"document.querySelectorAll({selector!r}).length"))

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.requests == [], f"the page tried to fetch {self.requests[:5]}"

    def assert_not_blank(self, full_page: bool = False) -> None:
        from PIL import Image

        image = np.asarray(Image.open(io.BytesIO(self.page.screenshot(full_page=full_page))).convert("L"))
        assert image.std() > 10, "the screenshot is (almost) one colour"
        assert len(np.unique(image)) > 50


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def solved_out(tmp_path_factory):
    net = random_multi_echelon(6, 60, 2, 2, seed=3)
    net = replace(net, settings=replace(net.settings, currency="EUR"))
    result = optimizer.solve(net)
    assert result.check.ok
    out = tmp_path_factory.mktemp("report") / "out"
    write_outputs(result, net, out, [], base=("base", {k: 1.1 * v for k, v in result.costs.items()}))
    return net, result, out


def test_report_page_offline(browser, solved_out):
    net, result, out = solved_out
    page = Page(browser, out / "report.html")
    counts = page.wait_for_map()
    assert counts["sites"] == len(net.sites) and counts["regions"] == len(net.regions)
    assert counts["suppliers"] == len(net.suppliers)
    assert page.count(".site-marker") == len(net.sites)
    assert page.count(".supplier-marker") == len(net.suppliers)
    assert page.count("#pnl tbody tr") == len(net.sites)
    assert page.count("#lanes tbody tr") == min(len(result.flows), 300)
    assert page.count("#costs tbody tr") == len(result.costs) + 1
    assert page.count("img") >= 2  # cost chart and waterfall
    headers = page.page.inner_text("#pnl thead")
    assert "EUR per week" in headers
    page.assert_not_blank(full_page=True)
    page.assert_clean()


def test_pnl_table_sorts_on_click(browser, solved_out):
    net, _, out = solved_out
    page = Page(browser, out / "report.html")
    page.wait_for_map()
    column = page.page.evaluate("Array.from(document.querySelectorAll('#pnl thead th'))"
                                ".findIndex(th => th.textContent.startsWith('total'))")
    header = page.page.locator("#pnl thead th").nth(column)
    values = "Array.from(document.querySelectorAll('#pnl tbody tr')).map(r => parseFloat(r.cells[%d].dataset.v))"
    header.click()
    ascending = page.page.evaluate(values % column)
    assert ascending == sorted(ascending)
    header.click()
    assert page.page.evaluate(values % column) == sorted(ascending, reverse=True)
    page.assert_clean()


def test_map_page_offline(browser, solved_out):
    net, _, out = solved_out
    page = Page(browser, out / "map.html")
    counts = page.wait_for_map()
    assert counts["regions"] == len(net.regions)
    assert page.count(".site-marker") == len(net.sites)
    assert page.count(".leaflet-control-scale") == 1
    page.assert_not_blank()
    page.assert_clean()


def test_a_map_of_5000_regions_clusters_them(browser, tmp_path):
    # 5,000 regions on a 50 x 100 grid, 3 uncapacitated sites, linear stock: a quick solve.
    lat, lon = np.meshgrid(np.linspace(30, 48, 50), np.linspace(-120, -75, 100))
    regions = [{"id": f"R{i}", "lat": a, "lon": o} for i, (a, o) in enumerate(zip(lat.ravel(), lon.ravel()))]
    sites = [{"id": f"S{j}", "lat": 40.0, "lon": x, "fixed_cost": 1.0} for j, x in enumerate((-115, -97, -80))]
    net = make_network(sites, regions, [{"id": "p", "shipping_cost_per_km": 0.01}],
                       [(r["id"], "p", 10.0) for r in regions])
    result = optimizer.solve(net)
    from optimizer.report.mapview import map_data, map_page
    from optimizer.report.tables import lane_table

    path = tmp_path / "map.html"
    data = map_data(net, result, lane_table(net, result))
    path.write_text(map_page(net, result, data), encoding="utf-8")
    page = Page(browser, path)
    counts = page.wait_for_map()
    assert counts["regions"] == 5000 and counts["lanes"] == 400  # only the largest lanes are drawn
    page.page.wait_for_selector(".marker-cluster", timeout=30_000)
    clusters = page.count(".marker-cluster")
    assert 0 < clusters < 1000  # clustered: far fewer DOM markers than regions
    shown = page.page.evaluate("Array.from(document.querySelectorAll('.marker-cluster span'))"
                               ".reduce((n, s) => n + parseInt(s.textContent), 0)")
    assert 0 < shown <= 5000
    assert page.count(".site-marker") == 3
    page.assert_not_blank()
    page.assert_clean()


def test_compare_page_offline(browser, tmp_path):
    from optimizer.runs.compare import compare_runs, write_comparison

    runs = pd.DataFrame({
        "sweep": ["s"] * 3, "scenario": ["base", "a", "b"], "status": ["optimal", "feasible", "optimal"],
        "objective": [100.0, 105.0, 90.0], "bound": [100.0, 104.0, 90.0], "gap": [0.0, 0.0095, 0.0],
        "costs": [{"shipping": 60.0, "fixed": 40.0}, {"shipping": 55.0, "fixed": 50.0},
                  {"shipping": 50.0, "fixed": 40.0}],
        "open_sites": [["A"], ["A", "B"], ["B"]], "kpis": [{}, {}, {}], "solve_seconds": [1.0] * 3,
        "error": [None] * 3})
    written = write_comparison(compare_runs(runs), tmp_path / "cmp")
    page = Page(browser, next(p for p in written if p.name == "compare.html"))
    page.page.wait_for_load_state("load")
    assert page.count("table tbody tr") >= 3
    assert page.count("img") >= 2
    page.assert_not_blank(full_page=True)
    page.assert_clean()


def test_names_in_tooltips_and_popups_are_text_not_html(browser, tmp_path):
    # Site and region names and the currency are the user's text; Leaflet's tooltips and popups take HTML, so
    # unescaped names once ran as script on load (an open site's permanent label) and on hover or click.
    attack = "<img src=x onerror=alert(1)>"
    sites = [{"id": f"S{i}{attack}", "name": f"Site {i} {attack}", "lon": float(i), "lat": 45.0,
              "fixed_cost": 100.0} for i in range(3)]
    regions = [{"id": f"R{i}", "name": f"Region {i} {attack}", "lon": float(i) + 0.1, "lat": 45.0} for i in range(3)]
    net = make_network(sites, regions, [{"id": "p"}], [(f"R{i}", "p", 10.0) for i in range(3)])
    net = replace(net, settings=replace(net.settings, currency=f"EUR{attack}"))
    result = optimizer.solve(net)
    out = tmp_path / "out"
    write_outputs(result, net, out, [])
    for name in ("map.html", "report.html"):
        page = Page(browser, out / name)
        dialogs: list[str] = []
        page.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.wait_for_map()
        page.page.evaluate("""() => { const layers = [];
            window.reportMap.map.eachLayer(l => { layers.push(l); if (l.getLayers) layers.push(...l.getLayers()); });
            layers.forEach(l => {
                if (l.getTooltip && l.getTooltip()) l.openTooltip(l.getLatLng ? l.getLatLng() : undefined);
                if (l.getPopup && l.getPopup()) l.openPopup();
            }); }""")
        page.page.wait_for_timeout(300)
        assert dialogs == [] and page.count(".leaflet-tooltip img, .leaflet-popup img") == 0
        assert attack in page.page.inner_text(".leaflet-tooltip-pane")  # shown as text
        page.assert_clean()
