"""The network: the one data object every layer reads.

A :class:`Network` holds the validated input tables as pandas DataFrames
indexed by the dataset's string ids, plus the :class:`Settings` from
``network.yaml``.  Readers in :mod:`optimizer.io` build it; the model builder,
the checker and the reports only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from optimizer.geo import geodesic_km, haversine_km

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
    """

    name: str = "highs"
    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None


@dataclass(frozen=True)
class Settings:
    """Network-wide parameters and constraints (``network.yaml``).

    Attributes:
        period_days: Length of the planning period, days.  Quantities and
            costs "per period" refer to it.
        circuity: Road km per great-circle km.
        distance_method: ``haversine`` (vectorised sphere) or ``geodesic`` (WGS-84, geopy).
        days_of_cover: Days of throughput each open site holds as stock (linear holding cost).
        min_sites: Minimum number of open sites, ``None`` for no minimum.
        max_sites: Maximum number of open sites, ``None`` for no maximum.
        exact_sites: Exact number of open sites, ``None`` for free.
        single_sourcing: Each region is served by exactly one site (all products).
        max_service_km: Lanes longer than this (road km) do not exist; ``None`` for no limit.
        solver: Solver defaults.
    """

    period_days: float = 7.0
    circuity: float = 1.2
    distance_method: str = "haversine"
    days_of_cover: float = 14.0
    min_sites: int | None = None
    max_sites: int | None = None
    exact_sites: int | None = None
    single_sourcing: bool = False
    max_service_km: float | None = None
    solver: SolverSettings = field(default_factory=SolverSettings)


@dataclass
class Network:
    """A warehouse network: sites, regions, products, demand and settings.

    Attributes:
        sites: Indexed by site id; columns ``name``, ``lat``, ``lon`` (degrees),
            ``capacity`` (volume units per period, ``inf`` = unlimited),
            ``fixed_cost`` (currency per period), ``handling_cost`` (currency per
            volume unit of throughput), ``status`` (one of :data:`SITE_STATUSES`),
            ``closing_cost`` (currency, charged in the period an existing site closes).
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
    """

    sites: pd.DataFrame
    regions: pd.DataFrame
    products: pd.DataFrame
    demand: pd.DataFrame
    settings: Settings = field(default_factory=Settings)
    unit_shipping_cost: np.ndarray | None = None
    name: str = "network"
    source: str = ""

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
