"""Offline web assets and small HTML helpers shared by ``report.html``, ``map.html`` and ``compare.html``.

Leaflet 1.9.3 and Leaflet.markercluster 1.1.0 come from the ``folium-offline`` package, which ships
the files folium would load from CDNs (their CSS images are already data URIs); they are inlined
into every page, so a page works with no network.  Nothing is fetched when a page is written or
opened, except the optional OpenStreetMap tile layer, which is off until the reader picks it.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd

_LEAFLET = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/"
_CLUSTER = "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
#: The resources inlined into map pages: (kind, key in folium-offline's resource table).
MAP_RESOURCES = (("css", _LEAFLET + "leaflet.css"), ("css", _CLUSTER + "MarkerCluster.css"),
                 ("css", _CLUSTER + "MarkerCluster.Default.css"), ("js", _LEAFLET + "leaflet.js"),
                 ("js", _CLUSTER + "leaflet.markercluster.js"))
#: The optional online basemap (off by default; only fetched when the reader selects it).
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


@lru_cache(maxsize=1)
def map_assets() -> str:
    """The ``<style>`` and ``<script>`` elements of Leaflet and its marker clusters, inlined."""
    from offlinefolium.elements import _res as resources  # the files folium loads from CDNs, shipped offline

    parts = []
    for kind, key in MAP_RESOURCES:
        text = resources[key]
        if kind == "css":
            parts.append(f"<style>{text}</style>")
        else:
            parts.append("<script>" + text.replace("</script", "<\\/script") + "</script>")
    return "\n".join(parts)


def json_script(element_id: str, data: Any) -> str:
    """``data`` as a JSON ``<script>`` element that no string inside it can close."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def png_bytes(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes (tight bounding box); the figure is closed."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def png_img(data: bytes, alt: str) -> str:
    """An ``<img>`` holding PNG bytes as a data URI."""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def number(value: Any, digits: int = 0, signed: bool = False, percent: bool = False) -> str:
    """A number for reading: thousands separators, ``-`` for missing values."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    if not math.isfinite(v):
        return "-" if math.isnan(v) else ("unlimited" if v > 0 else "-inf")
    if percent:
        return f"{100 * v:+.{digits}f}%" if signed else f"{100 * v:.{digits}f}%"
    return f"{v:+,.{digits}f}" if signed else f"{v:,.{digits}f}"


#: One column of :func:`table`: (column name, header text, formatter of a cell value).
Column = tuple[str, str, Callable[[Any], str]]


def table(frame: pd.DataFrame, columns: Sequence[Column], table_id: str, sortable: bool = True,
          caption: str = "") -> str:
    """An HTML table; numeric cells carry their raw value in ``data-v`` so that sorting is numeric.

    Args:
        frame: The rows.
        columns: Which columns to show, their headers (with units) and formatters.
        table_id: The element id.
        sortable: Click a header to sort by it (see :data:`SORT_SCRIPT`).
        caption: Text above the table.
    """
    head = "".join(f"<th>{html.escape(header)}</th>" for _, header, _ in columns)
    rows = []
    for record in frame[[c for c, _, _ in columns]].itertuples(index=False, name=None):
        cells = []
        for value, (_, _, fmt) in zip(record, columns):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                raw = "" if not math.isfinite(float(value)) else repr(float(value))
                cells.append(f'<td class="num" data-v="{raw}">{fmt(value)}</td>')
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cls = ' class="sortable"' if sortable else ""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<div class="wrap"><table id="{table_id}"{cls}>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


#: Sorts a ``table.sortable`` by the clicked header (numbers by ``data-v``, text alphabetically).
SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (tbl) {
  tbl.querySelectorAll('th').forEach(function (th, col) {
    th.title = 'sort'; th.addEventListener('click', function () {
      var asc = th.getAttribute('data-order') !== 'asc';
      tbl.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-order'); });
      th.setAttribute('data-order', asc ? 'asc' : 'desc');
      var body = tbl.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) { var c = row.cells[col]; return c.hasAttribute('data-v') ? c.getAttribute('data-v') : c.textContent; }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y), d;
        if (x === '' || y === '') { d = (x === '') - (y === ''); return d; }
        d = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
        return asc ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

#: Styles shared by the pages, with a print stylesheet (A4 landscape, no map controls, rows kept whole).
BASE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fff}
header,section{padding:0.6em 1.5em}
h1{font-size:1.5em;margin:0.2em 0}h2{font-size:1.2em;border-bottom:2px solid #3b6ea8;padding-bottom:2px}
.meta{color:#555;font-size:0.9em}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:8px}
.kpi{border:1px solid #ddd;border-radius:6px;padding:6px 10px}.kpi b{display:block;font-size:1.25em}
.kpi span{color:#555;font-size:0.85em}
.wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:12px;margin:0.4em 0}
caption{text-align:left;color:#555;padding:2px 0;caption-side:top}
th,td{padding:3px 6px;border-bottom:1px solid #e3e3e3;white-space:nowrap;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f3f5f8;position:sticky;top:0;cursor:pointer;user-select:none}
th[data-order=asc]::after{content:" \\25B2"}th[data-order=desc]::after{content:" \\25BC"}
.note{color:#555;font-size:0.85em;max-width:70em}
img{max-width:100%}
.warn{color:#a33}
#map{height:620px;border:1px solid #ccc}
.site-marker{border:1px solid #000;border-radius:2px}
.site-open{background:#ff7f0e}.site-keep{background:#1f77b4}.site-close{background:#f4b6b6;border-color:#d62728}
.site-unused{background:#fff;border-color:#555}
.supplier-marker{width:0;height:0;border-left:8px solid transparent;border-right:8px solid transparent;
  border-bottom:14px solid #2ca02c}
.site-label{background:rgba(255,255,255,0.8);border:0;box-shadow:none;font-size:10px;padding:0 2px}
.legend{background:rgba(255,255,255,0.92);padding:6px 8px;font-size:11px;line-height:1.5;border-radius:4px}
.legend i{display:inline-block;width:11px;height:11px;margin-right:5px;vertical-align:middle;border:1px solid #555}
@media print{
  @page{size:A4 landscape;margin:12mm}
  body{font-size:10px}
  .leaflet-control-container,.noprint{display:none !important}
  #map{height:480px;page-break-inside:avoid}
  section{page-break-inside:auto}h2{page-break-after:avoid}
  tr,img,.kpi{page-break-inside:avoid}
  th{position:static}
  .wrap{overflow:visible}
}
"""
