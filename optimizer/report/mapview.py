"""The offline interactive map of a plan (Leaflet inlined), used by ``map.html`` and ``report.html``.

The data goes into the page as one JSON element; a small script draws it.  So that a page stays
usable with 5,000 - 20,000 regions, regions are circle markers in a marker-cluster group (drawn
on a canvas once unclustered), only the :data:`TOP_LANES` site -> region lanes with the largest
volume are drawn (the lane table lists all of them), and sites and suppliers are the only DOM
markers.  There is no basemap offline: a 10-degree graticule, labels on the operating sites and
a scale bar give orientation; OpenStreetMap tiles are an optional online layer, off by default.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.links import coordinates
from optimizer.maps import DECISION_STYLE, MODE_COLOURS, display_network, link_loads, site_decisions
from optimizer.network import Network
from optimizer.report.assets import OSM_TILES, json_script, map_assets
from optimizer.report.tables import money_unit
from optimizer.results import Result

#: Site -> region lanes drawn on the map (largest volume first).
TOP_LANES = 400


def map_data(network: Network, result: Result, lanes: pd.DataFrame, pnl: pd.DataFrame | None = None,
             top_lanes: int = TOP_LANES) -> dict:
    """What the map script draws, as JSON-ready lists.

    Args:
        network: The network.
        result: A result with a plan.
        lanes: The lane table (:func:`optimizer.report.tables.lane_table`), largest volume first.
        pnl: The site P&L, for the site tooltips (optional).
        top_lanes: How many site -> region lanes (aggregated over products) to draw.
    """
    network = display_network(network)  # a network across the antimeridian is drawn in one piece
    pts = coordinates(network)
    demand = network.demand_matrix.sum(axis=1)
    served = lanes.groupby("to")["from"].first() if len(lanes) else pd.Series(dtype=object)
    regions = network.regions
    region_rows = [[str(i), str(n), round(float(la), 5), round(float(lo), 5), float(d), str(served.get(str(i), ""))]
                   for i, n, la, lo, d in zip(regions.index, regions["name"], regions["lat"], regions["lon"], demand)]
    decisions = site_decisions(network, result)
    totals = pnl.set_index("site")["total"] if pnl is not None else pd.Series(dtype=float)
    util = result.sites.set_index("site")["utilisation"] if len(result.sites) else pd.Series(dtype=float)
    site_rows = []
    for sid, row in network.sites.iterrows():
        key = str(sid)
        u = float(util.get(key, np.nan))
        site_rows.append([key, str(row["name"]), float(row["lat"]), float(row["lon"]), str(decisions[key]),
                          float(totals.get(key, 0.0)), u if np.isfinite(u) else None,
                          f"site {key} ({row['name']}): {decisions[key]}"])
    supplier_rows = []
    if network.suppliers is not None:
        supplier_rows = [[str(i), str(r["name"]), float(r["lat"]), float(r["lon"]), f"supplier {i} ({r['name']})"]
                         for i, r in network.suppliers.iterrows()]
    pairs = (lanes.groupby(["from", "to"], as_index=False, sort=False)["volume"].sum()
             .sort_values("volume", ascending=False, kind="stable") if len(lanes) else
             pd.DataFrame(columns=["from", "to", "volume"]))
    shown = pairs.head(top_lanes)
    lane_rows = [[float(pts.at[a, "lat"]), float(pts.at[a, "lon"]), float(pts.at[b, "lat"]), float(pts.at[b, "lon"]),
                  float(v), f"{a} -> {b}"] for a, b, v in zip(shown["from"], shown["to"], shown["volume"])]
    loads = link_loads(network, result)
    link_rows = [[float(pts.at[a, "lat"]), float(pts.at[a, "lon"]), float(pts.at[b, "lat"]), float(pts.at[b, "lon"]),
                  float(v), str(m), MODE_COLOURS.get(str(m), "#ff7f0e")]
                 for a, b, m, v in zip(loads["from"], loads["to"], loads["mode"], loads["volume"])]
    return {"regions": region_rows, "sites": site_rows, "suppliers": supplier_rows, "lanes": lane_rows,
            "links": link_rows, "lanes_total": int(len(pairs)), "money": money_unit(network), "tiles": OSM_TILES,
            "decisions": {k: [v[0], v[1]] for k, v in DECISION_STYLE.items()}}


#: Draws the ``#map-data`` JSON into ``#map``; exposes counts as ``window.reportMap`` (for tests).
MAP_SCRIPT = """
(function () {
  var D = JSON.parse(document.getElementById('map-data').textContent);
  var map = L.map('map', {preferCanvas: true, zoomSnap: 0.25, minZoom: 1, maxZoom: 18});
  var pts = D.regions.map(function (r) { return [r[2], r[3]]; })
    .concat(D.sites.map(function (s) { return [s[2], s[3]]; })).concat(D.suppliers.map(function (s) { return [s[2], s[3]]; }));
  if (pts.length) { map.fitBounds(L.latLngBounds(pts), {padding: [20, 20]}); } else { map.setView([0, 0], 2); }
  var blank = L.layerGroup().addTo(map);
  var osm = L.tileLayer(D.tiles, {maxZoom: 18, attribution: '&copy; OpenStreetMap contributors'});
  var grid = L.layerGroup();
  for (var a = -80; a <= 80; a += 10) { grid.addLayer(L.polyline([[a, -180], [a, 180]], {color: '#e2e2e2', weight: 1, interactive: false})); }
  for (var o = -180; o <= 180; o += 10) { grid.addLayer(L.polyline([[-85, o], [85, o]], {color: '#e2e2e2', weight: 1, interactive: false})); }
  grid.addTo(map);
  function fmt(v) { return v == null ? '-' : Math.round(v).toLocaleString('en-US'); }
  // Names and ids are the user's text: tooltips and popups take HTML, so every one is escaped.
  var ENTITIES = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
  function esc(v) { return String(v == null ? '' : v).replace(/[&<>"']/g, function (c) { return ENTITIES[c]; }); }
  var top = 0; D.regions.forEach(function (r) { if (r[4] > top) { top = r[4]; } });
  var regions = L.markerClusterGroup({chunkedLoading: true, maxClusterRadius: 45, showCoverageOnHover: false,
                                      chunkProgress: function (done, total) { if (done >= total) { setTimeout(ready, 0); } }});
  var markers = D.regions.map(function (r) {
    var m = L.circleMarker([r[2], r[3]], {radius: 2 + 8 * Math.sqrt(r[4] / (top || 1)), color: '#666', weight: 0,
                                           fillColor: '#888', fillOpacity: 0.55});
    m.bindTooltip(esc(r[1]) + ' (' + esc(r[0]) + '): ' + fmt(r[4]) + ' units per period' +
                  (r[5] ? ', served by ' + esc(r[5]) : ''));
    return m;
  });
  regions.addTo(map);
  var topV = 0; D.lanes.forEach(function (l) { if (l[4] > topV) { topV = l[4]; } });
  var lanes = L.layerGroup(D.lanes.map(function (l) {
    return L.polyline([[l[0], l[1]], [l[2], l[3]]], {color: '#777', weight: 0.6 + 3 * l[4] / (topV || 1), opacity: 0.5})
      .bindTooltip(esc(l[5]) + ': ' + fmt(l[4]) + ' volume units per period');
  })).addTo(map);
  var topL = 0; D.links.forEach(function (l) { if (l[4] > topL) { topL = l[4]; } });
  var links = L.layerGroup(D.links.map(function (l) {
    return L.polyline([[l[0], l[1]], [l[2], l[3]]], {color: l[6], weight: 1.5 + 6 * l[4] / (topL || 1), opacity: 0.8})
      .bindTooltip(esc(l[5]) + ': ' + fmt(l[4]) + ' volume units per period');
  })).addTo(map);
  var sites = L.layerGroup(D.sites.map(function (s) {
    var chosen = s[4] === 'open' || s[4] === 'keep', size = chosen ? 14 : 9;
    var m = L.marker([s[2], s[3]], {icon: L.divIcon({className: 'site-marker site-' + s[4], iconSize: [size, size]}),
                                     zIndexOffset: chosen ? 1000 : 500, title: s[0]});
    m.bindPopup('<b>' + esc(s[7]) + '</b><br>cost ' + fmt(s[5]) + ' ' + esc(D.money) +
                (s[6] == null ? '' : '<br>utilisation ' + (100 * s[6]).toFixed(1) + '%'));
    m.bindTooltip(esc(chosen ? s[0] : s[7]),
                  chosen ? {permanent: true, direction: 'right', className: 'site-label', offset: [6, 0]} : {});
    return m;
  })).addTo(map);
  var suppliers = L.layerGroup(D.suppliers.map(function (s) {
    return L.marker([s[2], s[3]], {icon: L.divIcon({className: 'supplier-marker', iconSize: [16, 14]}), title: s[0]})
      .bindTooltip(esc(s[4]));
  })).addTo(map);
  var overlays = {'graticule (10 degrees)': grid, 'regions (size: demand)': regions};
  overlays['site -> region lanes (largest ' + D.lanes.length + ' of ' + D.lanes_total + ')'] = lanes;
  overlays['supplier routes (links)'] = links; overlays['sites'] = sites; overlays['suppliers'] = suppliers;
  L.control.layers({'no tiles (offline)': blank, 'OpenStreetMap tiles (online)': osm}, overlays,
                   {collapsed: false}).addTo(map);
  L.control.scale({imperial: false}).addTo(map);
  var legend = L.control({position: 'bottomleft'});
  legend.onAdd = function () {
    var div = L.DomUtil.create('div', 'legend'), html = '';
    Object.keys(D.decisions).forEach(function (k) {
      html += '<i style="background:' + esc(D.decisions[k][0]) + '"></i>' + esc(D.decisions[k][1]) + '<br>';
    });
    div.innerHTML = html + '<i style="background:#888;border-radius:50%"></i>region (size: demand; clusters count regions)';
    return div;
  };
  legend.addTo(map);
  function ready() {  // once every region is in its cluster group (added in chunks, so the page stays responsive)
    window.reportMap = {map: map, regions: markers.length, sites: D.sites.length,
                        suppliers: D.suppliers.length, lanes: D.lanes.length};
  }
  if (markers.length) { regions.addLayers(markers); } else { ready(); }
})();
"""


def map_section(data: dict) -> str:
    """The map's ``<div>``, its data and its script (Leaflet must be inlined in the page head)."""
    return f'<div id="map"></div>\n{json_script("map-data", data)}\n<script>{MAP_SCRIPT}</script>'


def map_page(network: Network, result: Result, data: dict) -> str:
    """``map.html``: the map alone, filling the window, working offline."""
    from optimizer.report.assets import BASE_CSS
    import html

    title = html.escape(f"{network.name}: plan map")
    cost = f"{result.objective:,.0f} {money_unit(network)}" if result.objective is not None else "no plan"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n{map_assets()}\n'
        f"<style>{BASE_CSS}html,body{{height:100%}}#map{{height:calc(100vh - 3em);border:0}}</style></head><body>"
        f'<header class="meta"><b>{title}</b>: {len(result.open_sites)} open sites, total cost {html.escape(cost)}'
        "</header>\n" + map_section(data) + "\n</body></html>\n"
    )
