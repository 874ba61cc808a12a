"""The network: the one data object every layer reads.

A :class:`Network` holds the validated input tables as pandas DataFrames
indexed by the dataset's string ids, plus the :class:`Settings` from
``network.yaml``.  Readers in :mod:`optimizer.io` build it; the model builder,
the checker and the reports only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.geo import geodesic_km, haversine_km

if TYPE_CHECKING:
    import networkx as nx

#: Site status values (column ``status`` of sites.csv).
SITE_STATUSES = ("candidate", "existing", "forced_open", "forced_closed")


@dataclass(frozen=True)
class SolverSettings:
    """Solver defaults from ``network.yaml`` (the CLI options override them).

    Attributes:
        name: Backend name: ``highs``, ``cbc`` or ``scip``.
        time_limit: Seconds, ``None`` for no limit.
        mip_gap: Relative gap, ``None`` for the default 1e-9.
        threads: Threads, ``None`` for the solver's choice.
        strategy: Solve strategy: ``auto`` (by model size and features), ``compact`` (the whole
            MIP to the backend), ``sites`` (branch on the site and link binaries, HiGHS) or
            ``decompose`` (Lagrangian relaxation, heuristic, reduced MIP; see :mod:`optimizer.strategies`).
    """

    name: str = "highs"
    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None
    strategy: str = "auto"


@dataclass(frozen=True)
class TransportSettings:
    """How the supply network's lanes are built and routed (``transport:`` in ``network.yaml``).

    Attributes:
        outbound: ``distance_and_links``: region links add to the distance-based
            site -> region lanes; ``links_only``: only region links serve regions.
        routing: ``auto`` (shortest-path lanes when no link is capacitated or has a
            fixed cost, else arc flows), ``arc_flow`` or ``shortest_path``.
        k_nearest: Default lane graph (no links.csv): each site is linked both ways
            to this many nearest sites, and every supplier to every site.
        cost_per_volume_km: Cost of the default links, currency per volume unit per road km.
        km_per_day: Speed for transit days a link does not state, road km per day.
    """

    outbound: str = "distance_and_links"
    routing: str = "auto"
    k_nearest: int = 3
    cost_per_volume_km: float = 0.05
    km_per_day: float = 600.0


@dataclass(frozen=True)
class InventorySettings:
    """How stock is costed (``inventory:`` in ``network.yaml``).

    Attributes:
        model: ``linear``: each site holds ``days_of_cover`` days of its throughput;
            ``pooled``: cycle stock plus safety stock with square-root risk pooling
            (needs single sourcing).
        lead_time_days: Replenishment lead time of sites without their own, days.
        review_days: Order interval of products without an ordering cost, days.
    """

    model: str = "linear"
    lead_time_days: float = 7.0
    review_days: float = 7.0


@dataclass(frozen=True)
class RebalanceSettings:
    """Penalties of ``optimizer rebalance`` (``rebalance:`` in ``network.yaml``; see :mod:`optimizer.rebalance`).

    Attributes:
        shortage_rate: Penalty per unit below a site's min, as a fraction of the product's unit_value.
        target_factor: Penalty per unit between min and target, as a fraction of the below-min penalty.
        excess_rate: Penalty per unit above a site's max, as a fraction of unit_value.
        products: Per-product overrides: product id -> {key: value} of the three keys above
            (checked against products.csv when a rebalancing run reads them).
    """

    shortage_rate: float = 0.1
    target_factor: float = 0.1
    excess_rate: float = 0.0
    products: dict | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Settings:
    """Network-wide parameters and constraints (``network.yaml``).

    Attributes:
        period_days: Length of the planning period, days.  Quantities and
            costs "per period" refer to it.
        circuity: Road km per great-circle km.
        distance_method: ``haversine`` (vectorised sphere) or ``geodesic`` (WGS-84 ellipsoid, pyproj).
        days_of_cover: Days of throughput each open site holds as stock (linear holding cost).
        horizon_periods: Periods over which a one-off cost (a site's ``closing_cost``) is
            spread: each period is charged ``closing_cost / horizon_periods``; ``None`` for one
            year (:attr:`closing_horizon`).
        min_sites: Minimum number of open sites, ``None`` for no minimum.
        max_sites: Maximum number of open sites, ``None`` for no maximum.
        exact_sites: Exact number of open sites, ``None`` for free.
        single_sourcing: Each region is served over exactly one lane (one site, one mode) for all its products.
        max_service_km: Lanes longer than this (road km) do not exist; ``None`` for no limit.
        solver: Solver defaults.
        transport: Lane graph and routing settings.
        inventory: Stock model settings.
        rebalance: Penalties of rebalancing runs.
        currency: Currency of every cost (``USD``, ``EUR`` ...), named in report headers; ``None``: unnamed.
        service_km: Service distance of the KPI ``share_within_service_km``, road km; ``None``:
            ``max_service_km`` if set, else 500 km.
    """

    period_days: float = 7.0
    circuity: float = 1.2
    distance_method: str = "haversine"
    days_of_cover: float = 14.0
    horizon_periods: int | None = None
    min_sites: int | None = None
    max_sites: int | None = None
    exact_sites: int | None = None
    single_sourcing: bool = False
    max_service_km: float | None = None
    solver: SolverSettings = field(default_factory=SolverSettings)
    transport: TransportSettings = field(default_factory=TransportSettings)
    inventory: InventorySettings = field(default_factory=InventorySettings)
    rebalance: RebalanceSettings = field(default_factory=RebalanceSettings)
    currency: str | None = None
    service_km: float | None = None

    @property
    def closing_horizon(self) -> int:
        """Periods a one-off closing cost is spread over: ``horizon_periods``, else one year
        (``365 / period_days`` rounded to a whole number of periods, at least 1)."""
        if self.horizon_periods is not None:
            return int(self.horizon_periods)
        return max(1, round(365.0 / self.period_days))


@dataclass
class Network:
    """A warehouse network: sites, regions, products, demand and settings.

    Attributes:
        sites: Indexed by site id; columns ``name``, ``lat``, ``lon`` (degrees),
            ``capacity`` (volume units per period, ``inf`` = unlimited),
            ``fixed_cost`` (currency per period), ``handling_cost`` (currency per
            volume unit of throughput), ``status`` (one of :data:`SITE_STATUSES`),
            ``closing_cost`` (currency, one-off: spread over ``settings.closing_horizon`` periods).
        regions: Indexed by region id; columns ``name``, ``lat``, ``lon``.
        products: Indexed by product id; columns ``name``, ``unit_value``
            (currency per unit), ``volume`` (volume units per unit), ``weight_kg``
            (kg per unit), ``holding_rate`` (fraction of value per year),
            ``shipping_cost_per_km`` (currency per unit per road km).
        demand: Tidy table with columns ``region``, ``product``, ``quantity``
            (units per period), ``std`` (units per period); one row per pair.
        settings: Parameters from ``network.yaml``.
        unit_shipping_cost: Optional (n_sites, n_regions) matrix of shipping
            cost in currency per unit, replacing the distance-based cost (used by
            the OR-Library and Holmberg formats, whose sites have no coordinates).
        name: Short name used in reports.
        source: Where the data was read from (file or folder), for messages.
        suppliers: Optional, indexed by supplier id; columns ``name``, ``lat``, ``lon``.
            Without suppliers every open site is its own unlimited source (one echelon).
        supply: Optional tidy table: ``supplier``, ``product``, ``capacity`` (units per
            period, ``inf`` = unlimited), ``unit_cost`` (currency per unit).
        links: Optional tidy table of transport links as given in links.csv (see
            :mod:`optimizer.links` for the resolved table and the graph).
    """

    sites: pd.DataFrame
    regions: pd.DataFrame
    products: pd.DataFrame
    demand: pd.DataFrame
    settings: Settings = field(default_factory=Settings)
    unit_shipping_cost: np.ndarray | None = None
    name: str = "network"
    source: str = ""
    suppliers: pd.DataFrame | None = None
    supply: pd.DataFrame | None = None
    links: pd.DataFrame | None = None

    @property
    def has_suppliers(self) -> bool:
        """Whether the network is multi-echelon (suppliers -> sites -> regions)."""
        return self.suppliers is not None and len(self.suppliers) > 0

    @cached_property
    def link_table(self) -> pd.DataFrame:
        """Resolved transport links (given or default), see :func:`optimizer.links.resolve_links`."""
        from optimizer.links import resolve_links

        return resolve_links(self)

    @cached_property
    def graph(self) -> "nx.MultiDiGraph":
        """The lane graph of suppliers, sites and regions, see :func:`optimizer.links.build_graph`."""
        from optimizer.links import build_graph

        return build_graph(self)

    @property
    def site_ids(self) -> list[str]:
        """Site ids in table order (the model's site index)."""
        return list(self.sites.index)

    @property
    def region_ids(self) -> list[str]:
        """Region ids in table order."""
        return list(self.regions.index)

    @property
    def product_ids(self) -> list[str]:
        """Product ids in table order."""
        return list(self.products.index)

    @cached_property
    def demand_matrix(self) -> np.ndarray:
        """Demand in units per period, shape (n_regions, n_products)."""
        out = np.zeros((len(self.regions), len(self.products)))
        if len(self.demand):
            r = self.regions.index.get_indexer(self.demand["region"])
            p = self.products.index.get_indexer(self.demand["product"])
            np.add.at(out, (r, p), self.demand["quantity"].to_numpy(dtype=float))
        return out

    @cached_property
    def distance_km(self) -> np.ndarray:
        """Road distance site -> region in km, shape (n_sites, n_regions).

        Great-circle distance (by ``settings.distance_method``) times
        ``settings.circuity``.  NaN where coordinates are missing.
        """
        s, r = self.sites, self.regions
        method = geodesic_km if self.settings.distance_method == "geodesic" else haversine_km
        if s[["lat", "lon"]].isna().any().any() or r[["lat", "lon"]].isna().any().any():
            return np.full((len(s), len(r)), np.nan)
        d = method(s["lat"].to_numpy(), s["lon"].to_numpy(), r["lat"].to_numpy(), r["lon"].to_numpy())
        return d * self.settings.circuity

    def with_settings(self, **changes: object) -> "Network":
        """Return a copy with some settings replaced (tables are shared, not copied)."""
        return replace(self, settings=replace(self.settings, **changes))
