"""Edge flows into transfers: the path decomposition of each product's flow.

A product's flow on the transfer graph (units per edge) is split into transfers, each from an
origin (a site that sends more than it receives) to a destination (a site that receives more
than it sends) along a path of edges with flow.  Sources are taken in site order and edges in
edge order, so the same flow always gives the same transfers.  A cycle of flow (possible only
over zero-cost links) is cancelled: it moves nothing anywhere.
"""

from __future__ import annotations

import numpy as np

#: Flows below this (units) are zero (LP solutions carry round-off).
EPS = 1e-7


def decompose(n_nodes: int, tail: np.ndarray, head: np.ndarray, flow: np.ndarray
              ) -> list[tuple[int, int, float, tuple[int, ...]]]:
    """Split one product's edge flow into origin -> destination transfers.

    Args:
        n_nodes: Number of sites.
        tail, head: Node index of each edge's ends.
        flow: Units on each edge (non-negative).

    Returns:
        ``(origin, destination, quantity, edge indices of the path)`` per transfer.
    """
    remaining = np.where(flow > EPS, flow, 0.0).astype(float)
    used = np.flatnonzero(remaining)
    if not len(used):
        return []
    balance = np.zeros(n_nodes)
    np.add.at(balance, tail[used], remaining[used])
    np.subtract.at(balance, head[used], remaining[used])
    out_edges: dict[int, list[int]] = {}
    for e in used:  # ascending edge order
        out_edges.setdefault(int(tail[e]), []).append(int(e))
    excess = {int(i): float(v) for i, v in enumerate(balance) if v > EPS}
    deficit = {int(i): float(-v) for i, v in enumerate(balance) if v < -EPS}
    transfers: list[tuple[int, int, float, tuple[int, ...]]] = []
    for source in sorted(excess):
        while excess[source] > EPS:
            path: list[int] = []
            seen = {source: 0}
            node = source
            while node == source or deficit.get(node, 0.0) <= EPS:
                edge = _next_edge(out_edges, node, remaining)
                if edge is None:  # round-off left a dead end: the rest is below tolerance
                    excess[source] = 0.0
                    break
                nxt = int(head[edge])
                if nxt in seen:  # a cycle: cancel it and walk on from where it closed
                    cycle = path[seen[nxt]:] + [edge]
                    remaining[cycle] -= remaining[cycle].min()
                    path = path[:seen[nxt]]
                    seen = {k: v for k, v in seen.items() if v <= seen[nxt]}
                    node = nxt
                    continue
                path.append(edge)
                seen[nxt] = len(path)
                node = nxt
            else:
                amount = min(excess[source], deficit[node], float(remaining[path].min()))
                remaining[path] -= amount
                excess[source] -= amount
                deficit[node] -= amount
                transfers.append((source, node, amount, tuple(path)))
                continue
            break
    return transfers


def _next_edge(out_edges: dict[int, list[int]], node: int, remaining: np.ndarray) -> int | None:
    """The first edge out of ``node`` that still carries flow (spent edges are dropped from the list)."""
    edges = out_edges.get(node, [])
    while edges and remaining[edges[0]] <= EPS:
        edges.pop(0)
    return edges[0] if edges else None
