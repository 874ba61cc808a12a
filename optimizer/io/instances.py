"""Random instances: capacitated facility location (OR-Library format) and multi-echelon networks.

The generator follows Cornuéjols, Sridharan and Thizy (1991, EJOR 50:280-297),
the scheme behind most CFLP test sets since:

* facilities and customers are uniform points in the unit square;
* demand ``d_j`` is uniform on [5, 35] units (rounded to integers);
* raw capacities are uniform on [10, 160] units and are then scaled so that
  total capacity / total demand equals ``ratio`` (rounded to integers);
* fixed costs grow with the square root of capacity (economies of scale):
  ``f_i = U[0, 90] + U[100, 110] * sqrt(s_i)``, currency;
* the cost of serving customer j's whole demand from facility i is
  ``cost_scale * distance_ij * d_j``, currency (distance in unit-square units).

The result is the text of an OR-Library capacitated warehouse location file
(read it back with :func:`optimizer.io.orlib.read_orlib`).  The same seed
always gives the same text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.io.orlib import format_orlib
from optimizer.network import Network, Settings, TransportSettings

#: Default total capacity / total demand.
DEFAULT_RATIO = 3.0
#: Default currency per unit of demand per unit of distance.
DEFAULT_COST_SCALE = 10.0


def random_capacitated(
    n_sites: int,
    n_customers: int,
    seed: int,
    ratio: float = DEFAULT_RATIO,
    cost_scale: float = DEFAULT_COST_SCALE,
) -> str:
    """Generate a random capacitated instance in OR-Library format.

    Write the text to a file and read it with ``optimizer.load(path, format="orlib")``.

    Args:
        n_sites: Number of candidate facilities (>= 1).
        n_customers: Number of customers (>= 1).
        seed: Seed of the random generator; equal seeds give equal text.
        ratio: Total capacity / total demand (>= 1 so that a plan exists);
            smaller values make the instance tighter and harder.
        cost_scale: Shipping cost, currency per unit of demand per unit of
            distance in the unit square.

    Returns:
        The file contents.

    Raises:
        ValueError: A count is below 1, ``ratio`` below 1 or ``cost_scale`` negative.
    """
    if n_sites < 1 or n_customers < 1:
        raise ValueError(f"need at least one site and one customer, got {n_sites} and {n_customers}")
    if not ratio >= 1.0:
        raise ValueError(f"ratio (total capacity / total demand) must be at least 1, got {ratio}")
    if not cost_scale >= 0.0:
        raise ValueError(f"cost_scale must be non-negative, got {cost_scale}")
    rng = np.random.default_rng(seed)
    sites = rng.random((n_sites, 2))
    customers = rng.random((n_customers, 2))
    demand = rng.integers(5, 36, size=n_customers).astype(float)
    raw = rng.uniform(10.0, 160.0, size=n_sites)
    capacity = np.round(raw * ratio * demand.sum() / raw.sum())
    # Rounding may lose a unit or two: make sure total capacity still covers the demand.
    capacity[np.argmax(capacity)] += max(0.0, demand.sum() - capacity.sum())
    fixed_cost = np.round(rng.uniform(0.0, 90.0, n_sites) + rng.uniform(100.0, 110.0, n_sites) * np.sqrt(capacity), 3)
    distance = np.linalg.norm(sites[:, None, :] - customers[None, :, :], axis=2)
    allocation_cost = np.round(cost_scale * distance * demand[None, :], 3)
    return format_orlib(capacity, fixed_cost, demand, allocation_cost)


def random_multi_echelon(n_sites: int, n_regions: int, n_suppliers: int, n_products: int, seed: int,
                         link_capacity: float | None = None) -> Network:
    """A random suppliers -> sites -> regions network in a 20 x 40 degree box (mid-latitudes).

    Sites have capacities summing to 3x the demand volume and fixed costs growing with the square
    root of capacity; every supplier provides every product (capacity 1.5x / n_suppliers of its
    demand); the default lane graph links each supplier to every site and each site to its 4
    nearest sites by road at 0.02 currency per volume unit per km (a cheaper linehaul than the
    outbound rate of each product).

    Args:
        n_sites: Candidate sites (>= 1).
        n_regions: Demand regions (>= 1).
        n_suppliers: Suppliers (>= 1).
        n_products: Products (>= 1).
        seed: Seed; equal seeds give equal networks.
        link_capacity: Volume units per period on every link (``None``: uncapacitated, so that
            both routing forms apply).

    Returns:
        The network.
    """
    rng = np.random.default_rng(seed)
    box = np.array([30.0, -110.0]), np.array([20.0, 40.0])

    def points(n: int, prefix: str) -> pd.DataFrame:
        xy = box[0] + rng.random((n, 2)) * box[1]
        ids = [f"{prefix}{i:04d}" for i in range(n)]
        return pd.DataFrame({"name": ids, "lat": xy[:, 0], "lon": xy[:, 1]}, index=pd.Index(ids, name="id"))

    sites, regions, suppliers = points(n_sites, "S"), points(n_regions, "R"), points(n_suppliers, "P")
    products = pd.DataFrame({
        "name": [f"product {k}" for k in range(n_products)],
        "unit_value": rng.uniform(20, 400, n_products), "volume": rng.uniform(0.005, 0.2, n_products),
        "weight_kg": 0.0, "holding_rate": 0.25, "shipping_cost_per_km": 0.0,
        "service_level": 0.95, "ordering_cost": 0.0,
    }, index=pd.Index([f"X{k}" for k in range(n_products)], name="id"))
    products["shipping_cost_per_km"] = np.round(0.04 * products["volume"], 6)
    quantity = rng.integers(10, 500, size=(n_regions, n_products)).astype(float)
    demand = pd.DataFrame({"region": np.repeat(regions.index, n_products),
                           "product": np.tile(products.index, n_regions),
                           "quantity": quantity.ravel(), "std": np.round(0.3 * quantity.ravel(), 1)})
    total_volume = float((quantity @ products["volume"].to_numpy()).sum())
    raw = rng.uniform(1.0, 4.0, n_sites)
    sites["capacity"] = np.round(raw * 3.0 * total_volume / raw.sum())
    sites["fixed_cost"] = np.round(rng.uniform(0.5, 1.5, n_sites) * 400.0 * np.sqrt(sites["capacity"]), 2)
    sites["handling_cost"] = 1.0
    sites["status"] = "candidate"
    sites["closing_cost"] = 0.0
    sites["lead_time_days"] = np.nan
    supply = pd.DataFrame({"supplier": np.repeat(suppliers.index, n_products),
                           "product": np.tile(products.index, n_suppliers),
                           "capacity": np.tile(np.ceil(1.5 * quantity.sum(axis=0) / n_suppliers), n_suppliers),
                           "unit_cost": 1.0})
    transport = TransportSettings(k_nearest=4, cost_per_volume_km=0.02)
    net = Network(sites, regions, products, demand, settings=Settings(period_days=7.0, transport=transport),
                  name=f"random-me-{n_sites}x{n_regions}x{n_suppliers}x{n_products}-s{seed}",
                  suppliers=suppliers, supply=supply)
    from optimizer.geo import haversine_km
    from optimizer.links import default_links

    truck = default_links(net)
    truck = truck[truck["from"].isin(sites.index)].assign(mode="truck")
    km = haversine_km(suppliers["lat"], suppliers["lon"], sites["lat"], sites["lon"])
    near = np.argsort(km, axis=1, kind="stable")[:, :max(1, n_sites // 4)]
    rail = pd.DataFrame({"from": np.repeat(suppliers.index, near.shape[1]), "to": sites.index[near.ravel()],
                         "mode": "rail", "cost_per_volume": 2.0, "cost_per_volume_km": 0.008,
                         "distance_km": np.nan, "capacity": np.inf, "transit_days": np.nan, "fixed_cost": 0.0})
    links = pd.concat([rail, truck], ignore_index=True)
    if link_capacity is not None:
        links["capacity"] = float(link_capacity)
    net.links = links
    return net
