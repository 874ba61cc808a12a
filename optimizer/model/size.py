"""How big the compact model of a network will be, and whether it fits in memory, without building it.

:func:`estimate_model_size` counts the model's columns, rows and nonzeros the way
:func:`optimizer.model.build.build_model` lays them out (see its module docstring),
from the network's tables alone: the lanes are counted per site, a block of sites
at a time (:data:`BLOCK_PAIRS` site-region pairs), so no sites x regions array is
held unless the network already holds its distance matrix.  The supply side
(suppliers -> sites) is estimated from the link table (an upper bound for arc
flows).

The memory estimate is the dense site x region arrays the build uses plus a
calibrated number of bytes per nonzero, which covers the model arrays and the
solver's own copies.  Measured with HiGHS (one thread, peak RSS of build plus
solve, on ladder networks: US box, 3 products, lognormal demand) at the root node
and in the first minutes of branch and bound:

==========================  ==========  ==============  ================
sites x regions, radius     nonzeros    peak RSS        bytes / nonzero
==========================  ==========  ==============  ================
50 x 1,000, 1,300 km        127,000     123 MiB         1,015
100 x 2,000, 1,000 km       320,000     400 MiB         1,311
200 x 5,000, 700 km         834,000     972 MiB         1,222
single sourcing, 100 x 2k   107,000     297 MiB         2,915
==========================  ==========  ==============  ================

The branch-and-bound tree keeps growing on long solves (issue 11 measured 2.0 GB
after 600 s for a 354,000-column model), so the estimate is the memory needed to
start solving, not a ceiling.  :func:`check_fits` compares it with the available
memory and refuses, with advice, a model that would not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizer.errors import ModelTooLargeError, Problem
from optimizer.geo import geodesic_km, haversine_km
from optimizer.network import Network

#: Site-region pairs whose distances are computed at a time when counting lanes.
BLOCK_PAIRS = 1 << 20
#: Bytes per nonzero of the model, solver included, when the lane columns are continuous (multi-sourcing).
BYTES_PER_NONZERO = 1_300
#: Bytes per nonzero when the lane columns are binary (single sourcing: a larger branch-and-bound tree).
BYTES_PER_NONZERO_SINGLE_SOURCING = 3_000
#: Bytes per site-region pair of the dense arrays the build holds: distance (8) and lane mask (1).
BYTES_PER_SITE_REGION = 9
#: Where cgroup v2 states the memory limit and use of the process's container.
CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class ModelSize:
    """Estimated size of a network's compact model.

    Attributes:
        n_cols: Columns (site binaries, lanes, supply-side flows and link binaries).
        n_rows: Rows.
        nnz: Nonzeros of the constraint matrix.
        bytes: Memory needed to build the model and start solving it with HiGHS, bytes.
        n_lanes: Assignment lanes (site -> demand unit), the bulk of the columns.
    """

    n_cols: int
    n_rows: int
    nnz: int
    bytes: int
    n_lanes: int = 0

    def __str__(self) -> str:
        return (f"{self.n_cols:,} columns, {self.n_rows:,} rows, {self.nnz:,} nonzeros, "
                f"about {_gib(self.bytes)} of memory")


def _gib(n_bytes: float) -> str:
    """Bytes in GiB with one decimal, or in whole MiB or KiB when smaller."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.1f} GiB"
    if n_bytes >= 2**20:
        return f"{n_bytes / 2**20:.0f} MiB"
    return f"{n_bytes / 2**10:.0f} KiB"


def _units_per_region(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Per region: assignment units (regions or (region, product) pairs with demand) and products with demand."""
    positive = network.demand_matrix > 0
    products = positive.sum(axis=1)
    units = (products > 0).astype(np.int64) if network.settings.single_sourcing else products
    return units.astype(np.int64), products.astype(np.int64)


def _lanes_per_site(network: Network, per_region: np.ndarray) -> np.ndarray:
    """Distance-based lanes at each site, weighted: ``per_region`` (regions x k) summed over the regions in reach.

    Same rule as :func:`optimizer.model.build.lane_mask`: forced-closed sites have none, and a lane whose road
    distance exceeds ``max_service_km`` does not exist (unknown distances keep the lane).  Returns (sites x k).
    """
    sites, regions, settings = network.sites, network.regions, network.settings
    usable = (sites["status"] != "forced_closed").to_numpy()[:, None]
    limit = settings.max_service_km
    coords = [frame[c].to_numpy(dtype=float) for frame in (sites, regions) for c in ("lat", "lon")]
    if limit is None or any(np.isnan(c).any() for c in coords):
        return np.where(usable, per_region.sum(axis=0)[None, :], 0).astype(np.int64)
    cached = network.__dict__.get("distance_km")  # the network's own matrix, when something already computed it
    method = geodesic_km if settings.distance_method == "geodesic" else haversine_km
    out = np.zeros((len(sites), per_region.shape[1]), dtype=np.int64)
    step = max(1, BLOCK_PAIRS // max(len(regions), 1))
    for start in range(0, len(sites), step):
        block = slice(start, min(start + step, len(sites)))
        if cached is not None:
            km = cached[block]
        else:
            km = method(coords[0][block], coords[1][block], coords[2], coords[3]) * settings.circuity
        out[block] = (~(km > limit)).astype(np.int64) @ per_region
    return np.where(usable, out, 0)


def _link_lanes(network: Network, per_region: np.ndarray) -> np.ndarray:
    """Lanes over outbound links (site -> region links of links.csv), weighted like :func:`_lanes_per_site`."""
    out = np.zeros((len(network.sites), per_region.shape[1]), dtype=np.int64)
    if network.links is None and not network.has_suppliers:
        return out
    links = network.link_table
    outbound = links[links["kind"] == "outbound"]
    site = network.sites.index.get_indexer(outbound["from"].to_numpy(dtype=object))
    region = network.regions.index.get_indexer(outbound["to"].to_numpy(dtype=object))
    np.add.at(out, site, per_region[region])
    return out


def _supply_side(network: Network, lane_products: int) -> tuple[int, int, int]:
    """Columns, rows and nonzeros of the supplier -> site routing (arc-flow form, an upper bound)."""
    if not network.has_suppliers:
        return 0, 0, 0
    links = network.link_table
    P, S = len(network.products), len(network.sites)
    supply_side = links[links["kind"] != "outbound"]
    flows = len(supply_side) * P
    limited = int((np.isfinite(links["capacity"].to_numpy(dtype=float))
                   | (links["fixed_cost"].to_numpy(dtype=float) > 0)).sum())
    fixed = int((links["fixed_cost"].to_numpy(dtype=float) > 0).sum())
    n_cols = flows + fixed
    n_rows = S * P + len(network.suppliers) * P + 2 * len(supply_side) + limited
    # conservation: each (lane, product) and each flow at both ends; supplier capacity, transit and link rows
    nnz = lane_products + 2 * flows + flows + 3 * flows + 2 * len(supply_side) + limited + fixed
    return n_cols, n_rows, nnz


def estimate_model_size(network: Network) -> ModelSize:
    """Estimate the compact model's columns, rows, nonzeros and memory without building it.

    Args:
        network: A validated network.

    Returns:
        The estimate (exact counts for a network without suppliers; see the module docstring for the memory).
    """
    sites, settings = network.sites, network.settings
    S, R = len(sites), len(network.regions)
    units, products = _units_per_region(network)
    K = int(units.sum())
    per_region = np.column_stack([units, products])  # lanes, and (lane, product) pairs with demand
    weighted = _link_lanes(network, per_region)
    if settings.transport.outbound != "links_only":
        weighted = weighted + _lanes_per_site(network, per_region)
    lanes, lane_products = weighted[:, 0], int(weighted[:, 1].sum())
    C = int(lanes.sum())
    capacity = sites["capacity"].to_numpy(dtype=float)
    capped = np.isfinite(capacity)
    usable = (sites["status"] != "forced_closed").to_numpy()
    aggregate = bool(C and capped[usable].all() and usable.any())
    counted = any(v is not None for v in (settings.min_sites, settings.max_sites, settings.exact_sites))
    n_cols = S + C
    n_rows = K + C + int(capped.sum()) + int(aggregate) + int(counted)
    nnz = 3 * C + int(lanes[capped].sum()) + int(capped.sum()) + (int(usable.sum()) if aggregate else 0)
    nnz += S if counted else 0
    extra_cols, extra_rows, extra_nnz = _supply_side(network, lane_products)
    n_cols, n_rows, nnz = n_cols + extra_cols, n_rows + extra_rows, nnz + extra_nnz
    per_nonzero = BYTES_PER_NONZERO_SINGLE_SOURCING if settings.single_sourcing else BYTES_PER_NONZERO
    dense = BYTES_PER_SITE_REGION * S * R + S * K  # distances and lane mask, and the mask per assignment unit
    return ModelSize(n_cols=n_cols, n_rows=n_rows, nnz=nnz, bytes=int(dense + per_nonzero * nnz), n_lanes=C)


def available_memory() -> int:
    """Bytes of memory this process can still use: the system's available memory, or less under a cgroup limit."""
    import psutil

    available = int(psutil.virtual_memory().available)
    try:
        limit = (CGROUP / "memory.max").read_text().strip()
        used = int((CGROUP / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return available
    if limit.isdigit():
        available = min(available, max(int(limit) - used, 0))
    return available


def check_fits(network: Network, available_bytes: int | None = None) -> ModelSize:
    """Refuse a network whose compact model would not fit in memory.

    Args:
        network: A validated network.
        available_bytes: Memory to compare with, bytes; ``None`` for :func:`available_memory`.

    Returns:
        The estimate, when it fits.

    Raises:
        ModelTooLargeError: The estimate exceeds the available memory (the message names both and what to do).
    """
    size = estimate_model_size(network)
    available = available_memory() if available_bytes is None else int(available_bytes)
    if size.bytes <= available:
        return size
    radius = network.settings.max_service_km
    radius_text = "no max_service_km is set" if radius is None else f"max_service_km is {radius:g} km"
    message = (
        f"the model would be too large for the memory available: {size} (estimated, {size.n_lanes:,} lanes), "
        f"but only {_gib(available)} is available. To make it smaller: set or lower constraints.max_service_km "
        f"in network.yaml ({radius_text}), so that fewer site -> region lanes exist; solve with --strategy "
        f"decompose instead of the compact model; or model fewer demand regions (aggregate demand points, e.g. "
        f"3-digit instead of 5-digit postcodes) or fewer candidate sites")
    raise ModelTooLargeError(Problem(network.source or network.name, message, field="constraints.max_service_km"),
                             size=size, available=available)
