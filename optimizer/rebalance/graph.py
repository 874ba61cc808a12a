"""The transfer graph of a rebalancing run: links between the participating sites only.

Edges are links.csv's site -> site links whose both ends take part in the run (each mode its
own edge); when links.csv has none among them (or there is no links.csv), each participating
site is linked both ways to its ``transport.k_nearest`` nearest participating sites by road
(great-circle km x circuity, mode ``road``, ``transport.cost_per_volume_km``), whether or not
the network has suppliers.  A site that does not take part (a candidate, a closed site, a site
missing from inventory.csv) is never on a path.

Per edge: road km (``distance_km`` or great-circle km x circuity), cost per volume unit
(``cost_per_volume + cost_per_volume_km x km``), transit days (``transit_days`` or km /
``km_per_day``), capacity per run (``capacity x run_days / period_days`` volume units; link fixed
costs are not charged per run) and truck fields.  :func:`shortest_paths` gives the cheapest cost
per volume unit between every pair of sites (scipy's Dijkstra over the cheapest mode of each
pair), computed once per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from optimizer.links import ROAD, road_km
from optimizer.network import Network

#: Edge columns of :class:`TransferGraph`.
EDGE_COLUMNS = ("from", "to", "mode", "km", "cost_per_volume", "transit_days", "capacity", "truck_capacity",
                "truck_cost")


@dataclass
class TransferGraph:
    """The transfer graph as arrays (and as a networkx multi-digraph).

    Attributes:
        sites: Participating site ids (node ``i`` is ``sites[i]``).
        edges: One row per edge, columns :data:`EDGE_COLUMNS` (capacity in volume units per run).
        tail: Node index of each edge's origin, int64.
        head: Node index of each edge's destination, int64.
        source: ``"links.csv"`` or ``"k_nearest"``.
    """

    sites: list[str]
    edges: pd.DataFrame
    tail: np.ndarray
    head: np.ndarray
    source: str

    @property
    def n_edges(self) -> int:
        """Number of edges (parallel modes counted)."""
        return len(self.edges)

    def networkx(self) -> nx.MultiDiGraph:
        """The graph as a :class:`networkx.MultiDiGraph` (nodes: site ids; edges keyed by mode)."""
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(self.sites)
        graph.add_edges_from((r["from"], r["to"], r["mode"], r) for r in self.edges.to_dict(orient="records"))
        return graph

    def cheapest(self) -> np.ndarray:
        """Index of the cheapest edge of each (from, to) pair (ties: fewer transit days, then mode name)."""
        order = np.lexsort((self.edges["mode"].to_numpy(dtype=str), self.edges["transit_days"].to_numpy(),
                            self.edges["cost_per_volume"].to_numpy(), self.head, self.tail))
        pair = self.tail[order] * len(self.sites) + self.head[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        return order[first]

    @property
    def capacitated(self) -> bool:
        """Whether some edge has a finite capacity per run."""
        return bool(np.isfinite(self.edges["capacity"].to_numpy(dtype=float)).any())

    @property
    def has_trucks(self) -> bool:
        """Whether some edge charges per truck (finite truck capacity and a positive truck cost)."""
        return bool((np.isfinite(self.edges["truck_capacity"].to_numpy(dtype=float))
                     & (self.edges["truck_cost"].to_numpy(dtype=float) > 0)).any())


def _site_links(network: Network, sites: list[str]) -> pd.DataFrame | None:
    """links.csv's rows between two participating sites, or None when there are none."""
    raw = network.links
    if raw is None or not len(raw):
        return None
    inside = raw["from"].isin(sites) & raw["to"].isin(sites)
    return raw[inside].reset_index(drop=True) if inside.any() else None


def _nearest_links(network: Network, sites: list[str]) -> pd.DataFrame:
    """Each participating site linked both ways to its k nearest participating sites by road."""
    k = min(network.settings.transport.k_nearest, len(sites) - 1)
    if k <= 0:
        return pd.DataFrame(columns=["from", "to", "mode"])
    coords = network.sites.loc[sites, ["lat", "lon"]].to_numpy(dtype=float)
    n = len(sites)
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ids = np.asarray(sites, dtype=object)
    km = road_km(network, ids[a.ravel()], ids[b.ravel()]).reshape(n, n)
    np.fill_diagonal(km, np.inf)
    nearest = np.argsort(km, axis=1, kind="stable")[:, :k]
    pairs = np.stack([np.repeat(np.arange(n), k), nearest.ravel()], axis=1)
    pairs = np.unique(np.concatenate([pairs, pairs[:, ::-1]]), axis=0)
    return pd.DataFrame({"from": ids[pairs[:, 0]], "to": ids[pairs[:, 1]], "mode": ROAD,
                         "cost_per_volume_km": network.settings.transport.cost_per_volume_km})


def build_graph(network: Network, sites: list[str], run_days: float) -> TransferGraph:
    """The transfer graph among ``sites`` (see the module docstring).

    Args:
        network: The dataset.
        sites: Participating site ids.
        run_days: Length of the run, days (scales link capacities per period to the run).
    """
    raw = _site_links(network, sites)
    source = "links.csv"
    if raw is None:
        raw, source = _nearest_links(network, sites), "k_nearest"
    n = len(raw)

    def column(name: str, default: float) -> np.ndarray:
        return raw[name].to_numpy(dtype=float) if name in raw.columns else np.full(n, default)

    frm = raw["from"].astype(str).to_numpy(dtype=object)
    to = raw["to"].astype(str).to_numpy(dtype=object)
    given = column("distance_km", np.nan)
    km = np.where(np.isnan(given), road_km(network, frm, to), given) if n else np.zeros(0)
    transit = column("transit_days", np.nan)
    settings = network.settings
    edges = pd.DataFrame({
        "from": frm, "to": to, "mode": raw["mode"].astype(str).to_numpy(dtype=object) if n else frm,
        "km": km, "cost_per_volume": column("cost_per_volume", 0.0) + column("cost_per_volume_km", 0.0) * km,
        "transit_days": np.where(np.isnan(transit), km / settings.transport.km_per_day, transit),
        "capacity": column("capacity", np.inf) * run_days / settings.period_days,
        "truck_capacity": column("truck_capacity", np.inf), "truck_cost": column("truck_cost", 0.0),
    }, columns=list(EDGE_COLUMNS))
    edges = edges.sort_values(["from", "to", "mode"], kind="stable").reset_index(drop=True)
    index = pd.Index(sites)
    return TransferGraph(sites=list(sites), edges=edges, tail=index.get_indexer(edges["from"]).astype(np.int64),
                         head=index.get_indexer(edges["to"]).astype(np.int64), source=source)


def shortest_paths(graph: TransferGraph) -> np.ndarray:
    """Cheapest cost per volume unit from every site to every site (inf when unreachable), (n, n)."""
    n = len(graph.sites)
    best = graph.cheapest()
    cost = graph.edges["cost_per_volume"].to_numpy(dtype=float)[best]
    # zero-cost edges would vanish from a sparse matrix: lift them to a tiny positive cost
    matrix = sp.csr_matrix((np.maximum(cost, 1e-300), (graph.tail[best], graph.head[best])), shape=(n, n))
    return dijkstra(matrix, directed=True)
