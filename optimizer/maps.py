"""Maps of a plan: an interactive page (Leaflet, inlined: it works offline) and a static matplotlib picture.

Both draw suppliers (triangles), sites as squares styled by their decision
(:data:`~optimizer.results.DECISIONS`: ``open`` and ``keep`` filled, ``close``
pale red, ``unused`` hollow), regions as circles sized by demand, the
site -> region flows as thin lines and the supplier -> site routes as lines
along their links, coloured by mode and weighted by volume.  Neither needs network access
(the page is drawn by :mod:`optimizer.report.mapview`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from optimizer.io.files import replace_file, write_text  # noqa: E402
from optimizer.links import coordinates  # noqa: E402
from optimizer.network import Network  # noqa: E402
from optimizer.report.tables import money_unit  # noqa: E402
from optimizer.results import Result, site_table  # noqa: E402

#: Line colour per transport mode (others cycle through the fallback list).
MODE_COLOURS = {"road": "#7f7f7f", "truck": "#1f77b4", "rail": "#d62728", "sea": "#2ca02c", "air": "#9467bd"}
_FALLBACK = ["#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

#: Marker fill colour and legend text per site decision (white: hollow).
DECISION_STYLE = {
    "open": ("#ff7f0e", "site, open (a new site)"),
    "keep": ("#1f77b4", "site, keep (an existing site kept)"),
    "close": ("#f4b6b6", "site, close (operating today, closed)"),
    "unused": ("#ffffff", "site, unused"),
}


def site_decisions(network: Network, result: Result) -> pd.Series:
    """The decision of every site (open / keep / close / unused), indexed by site id, from ``result.sites``."""
    sites = result.sites if len(result.sites) else site_table(network, result.plan)
    return pd.Series(sites["decision"].to_numpy(), index=sites["site"].to_numpy()).reindex(
        network.sites.index.astype(str), fill_value="unused")


def _colour(mode: str, extra: dict[str, str]) -> str:
    """The colour of a mode, assigning fallback colours to unknown modes in order of appearance."""
    if mode in MODE_COLOURS:
        return MODE_COLOURS[mode]
    return extra.setdefault(mode, _FALLBACK[len(extra) % len(_FALLBACK)])


def link_loads(network: Network, result: Result) -> pd.DataFrame:
    """Volume per period on every link the routes use: columns ``from``, ``to``, ``mode``, ``volume``."""
    rows: dict[tuple[str, str, str], float] = {}
    volume = network.products["volume"]
    for route in result.routes.itertuples(index=False):
        v = float(route.quantity) * float(volume[route.product])
        for a, b, mode in zip(route.path[:-1], route.path[1:], route.modes):
            rows[(a, b, mode)] = rows.get((a, b, mode), 0.0) + v
    return pd.DataFrame([(a, b, m, v) for (a, b, m), v in rows.items()], columns=["from", "to", "mode", "volume"])


def _outbound(network: Network, result: Result) -> pd.DataFrame:
    """Volume per period per (site, region) lane."""
    flows = result.flows
    if not len(flows):
        return pd.DataFrame(columns=["from", "to", "volume"])
    v = flows["quantity"].to_numpy(dtype=float) * flows["product"].map(network.products["volume"]).to_numpy(float)
    return flows.assign(volume=v).groupby(["from", "to"], as_index=False)["volume"].sum()


def display_network(network: Network) -> Network:
    """``network`` with its longitudes made contiguous for drawing (the input is not changed).

    A network across the antimeridian (Fiji, the Bering Strait) has places at +179 and -179 degrees:
    drawn as given, a short lane between them crosses the whole map.  The circle of longitudes is cut
    at its widest empty arc instead: the places at or west of that arc's western end get 360 degrees
    added (so the map may show longitudes above 180).  A network whose widest empty arc already spans
    the antimeridian (every network that does not cross it) is returned as it is.
    """
    parts = [network.sites, network.regions] + ([network.suppliers] if network.suppliers is not None else [])
    lon = np.concatenate([part["lon"].to_numpy(dtype=float) for part in parts])
    lon = np.sort(lon[np.isfinite(lon)])
    if len(lon) < 2:
        return network
    gaps = np.append(np.diff(lon), lon[0] + 360.0 - lon[-1])  # the last one wraps across the antimeridian
    widest = int(np.argmax(gaps))
    if widest == len(lon) - 1:
        return network
    cut = lon[widest]  # places west of or at the cut move east by 360 degrees

    def shifted(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(lon=np.where(frame["lon"].to_numpy(dtype=float) <= cut, frame["lon"] + 360.0,
                                         frame["lon"]))

    return replace(network, sites=shifted(network.sites), regions=shifted(network.regions),
                   suppliers=None if network.suppliers is None else shifted(network.suppliers))


def write_png(network: Network, result: Result, path: str | Path) -> Path:
    """Draw the plan on longitude/latitude axes and save it as a PNG.

    Args:
        network: The network.
        result: A result with a plan.
        path: The PNG to write.

    Returns:
        The path written.
    """
    network = display_network(network)
    pts = coordinates(network)
    fig, ax = plt.subplots(figsize=(12, 7.5), dpi=110)
    demand = pd.Series(network.demand_matrix.sum(axis=1), index=network.regions.index)
    size = 4 + 120 * np.sqrt(demand / max(float(demand.max()), 1e-12))
    ax.scatter(network.regions["lon"], network.regions["lat"], s=size, c="#bbbbbb", alpha=0.6, lw=0,
               label="region (size: demand)", zorder=1)
    out = _outbound(network, result)
    if len(out):
        widths = 0.3 + 2.0 * out["volume"] / out["volume"].max()
        for (a, b, w) in zip(out["from"], out["to"], widths):
            ax.plot([pts.at[a, "lon"], pts.at[b, "lon"]], [pts.at[a, "lat"], pts.at[b, "lat"]], color="#999999",
                    lw=w, alpha=0.5, zorder=2)
    loads = link_loads(network, result)
    extra: dict[str, str] = {}
    if len(loads):
        widths = 0.8 + 5.0 * loads["volume"] / loads["volume"].max()
        drawn: set[str] = set()
        for (a, b, mode, w) in zip(loads["from"], loads["to"], loads["mode"], widths):
            ax.plot([pts.at[a, "lon"], pts.at[b, "lon"]], [pts.at[a, "lat"], pts.at[b, "lat"]],
                    color=_colour(mode, extra), lw=w, alpha=0.8, zorder=3,
                    label=None if mode in drawn else f"{mode} (width: volume)")
            drawn.add(mode)
    sites = network.sites
    decision = site_decisions(network, result).to_numpy()
    for name, (colour, label) in DECISION_STYLE.items():
        sel = decision == name
        if not sel.any():
            continue
        chosen = name in ("open", "keep")
        edge = "black" if chosen else ("#d62728" if name == "close" else "#555555")
        ax.scatter(sites["lon"][sel], sites["lat"][sel], marker="s", s=70 if chosen else 36,
                   facecolors=colour, edgecolors=edge, label=label, zorder=5 if chosen else 4)
    for site_id in sites.index[np.isin(decision, ("open", "keep"))]:
        ax.annotate(str(site_id), (sites.at[site_id, "lon"], sites.at[site_id, "lat"]), fontsize=7,
                    xytext=(4, 4), textcoords="offset points", zorder=6)
    if network.suppliers is not None:
        sup = network.suppliers
        ax.scatter(sup["lon"], sup["lat"], marker="^", s=140, c="#2ca02c", edgecolors="black", label="supplier",
                   zorder=5)
    ax.set_xlabel("longitude (degrees)")
    ax.set_ylabel("latitude (degrees)")
    mid = np.radians(float(np.nanmean(pts["lat"]))) if len(pts) else 0.0
    ax.set_aspect(1.0 / max(np.cos(mid), 0.2))
    cost = f"{result.objective:,.0f}" if result.objective is not None else "n/a"
    ax.set_title(f"{network.name}: {len(result.open_sites)} open sites, total cost {cost} {money_unit(network)}")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    path = Path(path)
    with replace_file(path) as tmp:  # never through a symbolic link at path
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def write_html(network: Network, result: Result, path: str | Path) -> Path:
    """Write the interactive map of the plan: one page that works offline (Leaflet inlined).

    Args:
        network: The network.
        result: A result with a plan.
        path: The HTML file to write.

    Returns:
        The path written.
    """
    from optimizer.report.mapview import map_data, map_page
    from optimizer.report.tables import lane_table

    path = Path(path)
    write_text(path, map_page(network, result, map_data(network, result, lane_table(network, result))))
    return path
