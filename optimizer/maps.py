"""Maps of a plan: an interactive folium page and a static matplotlib picture.

Both draw suppliers (triangles), open sites (filled squares) and closed or
unused sites (hollow squares), regions as circles sized by demand, the
site -> region flows as thin lines and the supplier -> site routes as lines
along their links, coloured by mode and weighted by volume.  The PNG needs no
network access; the HTML page loads its map tiles and scripts when opened.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import folium  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from optimizer.io.files import replace_file  # noqa: E402
from optimizer.links import coordinates  # noqa: E402
from optimizer.network import Network  # noqa: E402
from optimizer.results import Result  # noqa: E402

#: Line colour per transport mode (others cycle through the fallback list).
MODE_COLOURS = {"road": "#7f7f7f", "truck": "#1f77b4", "rail": "#d62728", "sea": "#2ca02c", "air": "#9467bd"}
_FALLBACK = ["#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


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


def write_png(network: Network, result: Result, path: str | Path) -> Path:
    """Draw the plan on longitude/latitude axes and save it as a PNG.

    Args:
        network: The network.
        result: A result with a plan.
        path: The PNG to write.

    Returns:
        The path written.
    """
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
    is_open = network.sites.index.isin(result.open_sites)
    sites = network.sites
    ax.scatter(sites["lon"][~is_open], sites["lat"][~is_open], marker="s", s=36, facecolors="none",
               edgecolors="#555555", label="site, closed or unused", zorder=4)
    ax.scatter(sites["lon"][is_open], sites["lat"][is_open], marker="s", s=70, c="#ff7f0e", edgecolors="black",
               label="site, open", zorder=5)
    for site_id in sites.index[is_open]:
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
    ax.set_title(f"{network.name}: {len(result.open_sites)} open sites, total cost {cost} per period")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    path = Path(path)
    with replace_file(path) as tmp:  # never through a symbolic link at path
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def write_html(network: Network, result: Result, path: str | Path) -> Path:
    """Write an interactive folium map of the plan.

    Args:
        network: The network.
        result: A result with a plan.
        path: The HTML file to write.

    Returns:
        The path written.
    """
    pts = coordinates(network)
    centre = [float(np.nanmean(pts["lat"])), float(np.nanmean(pts["lon"]))] if len(pts) else [0.0, 0.0]
    fmap = folium.Map(location=centre, zoom_start=4, control_scale=True)
    demand = pd.Series(network.demand_matrix.sum(axis=1), index=network.regions.index)
    top = max(float(demand.max()), 1e-12) if len(demand) else 1.0
    regions = folium.FeatureGroup(name="regions (size: demand)")
    for rid, row in network.regions.iterrows():
        folium.CircleMarker([row["lat"], row["lon"]], radius=2 + 10 * np.sqrt(demand[rid] / top), color="#888888",
                            fill=True, weight=0, fill_opacity=0.5,
                            tooltip=f"region {rid}: {demand[rid]:,.0f} units per period").add_to(regions)
    regions.add_to(fmap)
    out = _outbound(network, result)
    lanes = folium.FeatureGroup(name="site -> region flows")
    if len(out):
        top_v = float(out["volume"].max())
        for a, b, v in zip(out["from"], out["to"], out["volume"]):
            folium.PolyLine([[pts.at[a, "lat"], pts.at[a, "lon"]], [pts.at[b, "lat"], pts.at[b, "lon"]]],
                            weight=1 + 3 * v / top_v, color="#777777", opacity=0.5,
                            tooltip=f"{a} -> {b}: {v:,.1f} volume units per period").add_to(lanes)
    lanes.add_to(fmap)
    loads = link_loads(network, result)
    routes = folium.FeatureGroup(name="supplier routes (links)")
    extra: dict[str, str] = {}
    if len(loads):
        top_v = float(loads["volume"].max())
        for a, b, mode, v in zip(loads["from"], loads["to"], loads["mode"], loads["volume"]):
            folium.PolyLine([[pts.at[a, "lat"], pts.at[a, "lon"]], [pts.at[b, "lat"], pts.at[b, "lon"]]],
                            weight=2 + 8 * v / top_v, color=_colour(mode, extra), opacity=0.8,
                            tooltip=f"{a} -> {b} by {mode}: {v:,.1f} volume units per period").add_to(routes)
    routes.add_to(fmap)
    sites = folium.FeatureGroup(name="sites")
    for sid, row in network.sites.iterrows():
        is_open = sid in set(result.open_sites)
        folium.RegularPolygonMarker([row["lat"], row["lon"]], number_of_sides=4, radius=8 if is_open else 5,
                                    color="black", weight=1, fill=True,
                                    fill_color="#ff7f0e" if is_open else "#ffffff", fill_opacity=0.9,
                                    tooltip=f"site {sid} ({row['name']}): {'open' if is_open else 'closed'}"
                                    ).add_to(sites)
    sites.add_to(fmap)
    if network.suppliers is not None:
        group = folium.FeatureGroup(name="suppliers")
        for sid, row in network.suppliers.iterrows():
            folium.RegularPolygonMarker([row["lat"], row["lon"]], number_of_sides=3, radius=10, color="black",
                                        weight=1, fill=True, fill_color="#2ca02c", fill_opacity=0.9,
                                        tooltip=f"supplier {sid} ({row['name']})").add_to(group)
        group.add_to(fmap)
    folium.LayerControl().add_to(fmap)
    path = Path(path)
    with replace_file(path) as tmp:  # never through a symbolic link at path
        fmap.save(str(tmp))
    return path
