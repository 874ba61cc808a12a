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
    flow = np.where(flow > EPS, flow, 0.0).astype(float)
    used = np.flatnonzero(flow)
    if not len(used):
        return []
    balance = np.zeros(n_nodes)
    np.add.at(balance, tail[used], flow[used])
    np.subtract.at(balance, head[used], flow[used])
    remaining = flow.tolist()  # Python floats: the walk below reads them one at a time
    heads = head.tolist()
    out_edges: dict[int, list[int]] = {}
    for e, t in zip(used.tolist(), tail[used].tolist()):  # ascending edge order
        out_edges.setdefault(t, []).append(e)
    first = dict.fromkeys(out_edges, 0)  # per node: its first edge that may still carry flow
    excess = {i: v for i, v in enumerate(balance.tolist()) if v > EPS}
    deficit = {i: -v for i, v in enumerate(balance.tolist()) if v < -EPS}
    transfers: list[tuple[int, int, float, tuple[int, ...]]] = []

    def next_edge(node: int) -> int | None:
        """The first edge out of ``node`` that still carries flow (spent edges are skipped for good)."""
        edges = out_edges.get(node)
        if edges is None:
            return None
        at = first[node]
        while at < len(edges) and remaining[edges[at]] <= EPS:
            at += 1
        first[node] = at
        return edges[at] if at < len(edges) else None

    for source in sorted(excess):
        while excess[source] > EPS:
            path: list[int] = []
            seen = {source: 0}
            node = source
            while node == source or deficit.get(node, 0.0) <= EPS:
                edge = next_edge(node)
                if edge is None:  # round-off left a dead end: the rest is below tolerance
                    excess[source] = 0.0
                    break
                nxt = heads[edge]
                if nxt in seen:  # a cycle: cancel it and walk on from where it closed
                    cycle = path[seen[nxt]:] + [edge]
                    least = min(remaining[e] for e in cycle)
                    for e in cycle:
                        remaining[e] -= least
                    path = path[:seen[nxt]]
                    seen = {k: v for k, v in seen.items() if v <= seen[nxt]}
                    node = nxt
                    continue
                path.append(edge)
                seen[nxt] = len(path)
                node = nxt
            else:
                amount = min(excess[source], deficit[node], min(remaining[e] for e in path))
                for e in path:
                    remaining[e] -= amount
                excess[source] -= amount
                deficit[node] -= amount
                transfers.append((source, node, amount, tuple(path)))
                continue
            break
    return transfers
