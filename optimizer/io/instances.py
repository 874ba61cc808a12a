"""Random instances: capacitated facility location (OR-Library format), multi-echelon networks,
the benchmark ladder, and a writer of any network as a dataset folder.

:func:`random_capacitated` follows Cornuéjols, Sridharan and Thizy (1991, EJOR 50:280-297),
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
(read it back with :func:`optimizer.io.orlib.read_orlib`).

:func:`random_multi_echelon` draws suppliers -> sites -> regions networks and
:func:`ladder_network` the one-echelon networks of the benchmark ladder (issue 11):
points in the contiguous-US box, three products, lognormal demand, a service radius.
:func:`write_dataset` writes a network as a dataset folder that ``optimizer solve DIR``
reads back.  The same arguments and seed always give the same result.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from optimizer.geo import haversine_km
from optimizer.io.orlib import format_orlib
from optimizer.network import Network, Settings, TransportSettings
from optimizer.schema import KEYS, NETWORK_FILE, PRODUCTS, TABLES

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


def _points(rng: np.random.Generator, n: int, prefix: str, south_west: tuple[float, float],
            extent: tuple[float, float]) -> pd.DataFrame:
    """``n`` uniform points (in degrees) in the box from ``south_west`` spanning ``extent`` (lat, lon),
    ids ``<prefix>0000``..., as a table indexed by id with ``name``, ``lat`` and ``lon``."""
    xy = np.asarray(south_west) + rng.random((n, 2)) * np.asarray(extent)
    ids = [f"{prefix}{i:04d}" for i in range(n)]
    return pd.DataFrame({"name": ids, "lat": xy[:, 0], "lon": xy[:, 1]}, index=pd.Index(ids, name="id"))


def _size_sites(rng: np.random.Generator, sites: pd.DataFrame, total_volume: float,
                fixed_cost_per_sqrt: float) -> pd.DataFrame:
    """Add the site columns: capacities summing to 3x ``total_volume`` (volume units per period,
    raw shares uniform on [1, 4], rounded to whole units) and fixed costs of
    ``U[0.5, 1.5] * fixed_cost_per_sqrt * sqrt(capacity)`` currency per period."""
    raw = rng.uniform(1.0, 4.0, len(sites))
    sites["capacity"] = np.round(raw * 3.0 * total_volume / raw.sum())
    sites["fixed_cost"] = np.round(rng.uniform(0.5, 1.5, len(sites)) * fixed_cost_per_sqrt
                                   * np.sqrt(sites["capacity"]), 2)
    sites["handling_cost"] = 1.0
    sites["status"] = "candidate"
    sites["closing_cost"] = 0.0
    sites["lead_time_days"] = np.nan
    sites["max_outbound"] = np.inf
    sites["max_inbound"] = np.inf
    return sites


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
    box = (30.0, -110.0), (20.0, 40.0)
    sites, regions, suppliers = (_points(rng, n, prefix, *box)
                                 for n, prefix in ((n_sites, "S"), (n_regions, "R"), (n_suppliers, "P")))
    products = pd.DataFrame({
        "name": [f"product {k}" for k in range(n_products)],
        "unit_value": rng.uniform(20, 400, n_products), "volume": rng.uniform(0.005, 0.2, n_products),
        "weight_kg": 0.0, "holding_rate": 0.25, "shipping_cost_per_km": 0.0,
        "service_level": 0.95, "ordering_cost": 0.0, "pack_size": 1.0,
    }, index=pd.Index([f"X{k}" for k in range(n_products)], name="id"))
    products["shipping_cost_per_km"] = np.round(0.04 * products["volume"], 6)
    quantity = rng.integers(10, 500, size=(n_regions, n_products)).astype(float)
    demand = _demand_table(regions, products, quantity)
    sites = _size_sites(rng, sites, float((quantity @ products["volume"].to_numpy()).sum()), 400.0)
    supply = pd.DataFrame({"supplier": np.repeat(suppliers.index, n_products),
                           "product": np.tile(products.index, n_suppliers),
                           "capacity": np.tile(np.ceil(1.5 * quantity.sum(axis=0) / n_suppliers), n_suppliers),
                           "unit_cost": 1.0})
    transport = TransportSettings(k_nearest=4, cost_per_volume_km=0.02)
    net = Network(sites, regions, products, demand, settings=Settings(period_days=7.0, transport=transport),
                  name=f"random-me-{n_sites}x{n_regions}x{n_suppliers}x{n_products}-s{seed}",
                  suppliers=suppliers, supply=supply)
    from optimizer.links import default_links

    truck = default_links(net)
    truck = truck[truck["from"].isin(sites.index)].assign(mode="truck")
    km = haversine_km(suppliers["lat"], suppliers["lon"], sites["lat"], sites["lon"])
    near = np.argsort(km, axis=1, kind="stable")[:, :max(1, n_sites // 4)]
    rail = pd.DataFrame({"from": np.repeat(suppliers.index, near.shape[1]), "to": sites.index[near.ravel()],
                         "mode": "rail", "cost_per_volume": 2.0, "cost_per_volume_km": 0.008,
                         "distance_km": np.nan, "capacity": np.inf, "transit_days": np.nan, "fixed_cost": 0.0})
    links = pd.concat([rail, truck], ignore_index=True).assign(truck_capacity=np.inf, truck_cost=0.0)
    if link_capacity is not None:
        links["capacity"] = float(link_capacity)
    net.links = links
    return net


def _demand_table(regions: pd.DataFrame, products: pd.DataFrame, quantity: np.ndarray) -> pd.DataFrame:
    """demand.csv rows for every region and product: ``quantity`` (n_regions, n_products) units per
    period and a standard deviation of 30 % of it."""
    n_products = len(products)
    return pd.DataFrame({"region": np.repeat(regions.index, n_products),
                         "product": np.tile(products.index, len(regions)),
                         "quantity": quantity.ravel(), "std": np.round(0.3 * quantity.ravel(), 1)})


# --- the benchmark ladder ----------------------------------------------------------------------

#: Contiguous United States, (south, west) corner and (lat, lon) extent in degrees.
US_BOX = (24.5, -124.7), (24.9, 57.8)

#: The ladder's rungs: (sites, regions) -> service radius, road km.
LADDER_RUNGS: dict[tuple[int, int], float] = {
    (50, 1_000): 900.0, (200, 5_000): 700.0, (500, 10_000): 600.0, (1_000, 20_000): 500.0,
}

#: Seed of every ladder rung (the checks of the engine use other seeds).
LADDER_SEED = 11

#: Road km per great-circle km in the ladder networks.
LADDER_CIRCUITY = 1.2

#: The ladder's products: value (currency per unit), volume (volume units per unit), outbound
#: rate (currency per unit per road km) and the median and log-standard deviation of the
#: lognormal demand of one region (units per period).
LADDER_PRODUCTS = pd.DataFrame(
    {"name": ["electronics", "apparel", "furniture"],
     "unit_value": [250.0, 40.0, 180.0], "volume": [0.01, 0.02, 0.25],
     "shipping_cost_per_km": [0.0008, 0.0012, 0.01],
     "median_demand": [60.0, 120.0, 15.0], "demand_sigma": [1.0, 0.8, 1.2]},
    index=pd.Index(["ELEC", "APP", "FURN"], name="id"))

#: Fixed cost of a ladder site per square root of its capacity, currency per period.
LADDER_FIXED_COST_PER_SQRT = 400.0


def ladder_network(n_sites: int, n_regions: int, seed: int = LADDER_SEED,
                   service_km: float | None = None) -> Network:
    """A one-echelon network of the benchmark ladder.

    Sites and regions are uniform points in the contiguous-US box (:data:`US_BOX`); a region with
    no site within ``service_km`` road km is drawn again, so that every region can be served.
    Three products (:data:`LADDER_PRODUCTS`) differ in volume, value and shipping rate; the demand
    of each region and product is lognormal (rounded to whole units, at least 1). Site
    capacities sum to 3x the total demand volume, fixed costs grow with the square root of
    capacity; stock is linear (7 days of cover), regions may be multi-sourced, there are no
    suppliers; road km are great-circle km x :data:`LADDER_CIRCUITY`; one period is a week.

    Args:
        n_sites: Candidate sites (>= 1).
        n_regions: Demand regions (>= 1).
        seed: Seed; equal arguments give equal networks.
        service_km: Service radius, road km; ``None`` takes the rung's radius from
            :data:`LADDER_RUNGS`.

    Returns:
        The network, named ``ladder-<sites>x<regions>-s<seed>``.

    Raises:
        ValueError: A count is below 1, or ``service_km`` is ``None`` for a size that is not a rung.
    """
    if n_sites < 1 or n_regions < 1:
        raise ValueError(f"need at least one site and one region, got {n_sites} and {n_regions}")
    if service_km is None:
        if (n_sites, n_regions) not in LADDER_RUNGS:
            rungs = ", ".join(f"{s}x{r}" for s, r in LADDER_RUNGS)
            raise ValueError(f"{n_sites}x{n_regions} is not a ladder rung ({rungs}); give service_km")
        service_km = LADDER_RUNGS[(n_sites, n_regions)]
    rng = np.random.default_rng(seed)
    sites = _points(rng, n_sites, "S", *US_BOX)
    regions = _points_near(rng, n_regions, "R", sites, service_km / LADDER_CIRCUITY)
    products = LADDER_PRODUCTS.assign(weight_kg=0.0, holding_rate=0.25, service_level=0.95,
                                      ordering_cost=0.0, pack_size=1.0)[PRODUCTS.frame_columns]
    median, sigma = (LADDER_PRODUCTS[c].to_numpy() for c in ("median_demand", "demand_sigma"))
    quantity = np.maximum(1.0, np.round(rng.lognormal(np.log(median), sigma, size=(n_regions, len(products)))))
    demand = _demand_table(regions, products, quantity)
    total_volume = float((quantity @ products["volume"].to_numpy()).sum())
    sites = _size_sites(rng, sites, total_volume, LADDER_FIXED_COST_PER_SQRT)
    settings = Settings(period_days=7.0, circuity=LADDER_CIRCUITY, days_of_cover=7.0,
                        single_sourcing=False, max_service_km=float(service_km))
    return Network(sites, regions, products, demand, settings=settings,
                   name=f"ladder-{n_sites}x{n_regions}-s{seed}")


def _points_near(rng: np.random.Generator, n: int, prefix: str, sites: pd.DataFrame,
                 reach_km: float, chunk: int = 4096, rounds: int = 1000) -> pd.DataFrame:
    """Uniform points in :data:`US_BOX`, each redrawn until a site lies within ``reach_km``
    great-circle km (checked in chunks, so memory stays ``len(sites) x chunk``).

    Raises:
        ValueError: Some point is still out of reach after ``rounds`` draws (the radius is too
            small for these sites).
    """
    points = _points(rng, n, prefix, *US_BOX)
    lat, lon = points["lat"].to_numpy(copy=True), points["lon"].to_numpy(copy=True)
    far = np.arange(n)
    for _ in range(rounds):
        if not far.size:
            return points.assign(lat=lat, lon=lon)
        nearest = np.concatenate([
            haversine_km(sites["lat"], sites["lon"], lat[part], lon[part]).min(axis=0)
            for part in np.array_split(far, max(1, -(-far.size // chunk)))])
        far = far[nearest > reach_km]
        redrawn = _points(rng, far.size, prefix, *US_BOX)
        lat[far], lon[far] = redrawn["lat"].to_numpy(), redrawn["lon"].to_numpy()
    raise ValueError(f"{far.size} region(s) still have no site within {reach_km:.0f} great-circle km after "
                     f"{rounds} draws: the service radius is too small for {len(sites)} sites")


# --- dataset writer ------------------------------------------------------------------------------

def write_dataset(network: Network, folder: str | Path) -> Path:
    """Write a network as a dataset folder (the CSV tables and ``network.yaml``).

    Every table the network has is written with the columns of :mod:`optimizer.schema`
    (floats in their shortest round-trip form, ``inf`` for unlimited, blank for "not set"),
    and every ``network.yaml`` key with its value, so that
    :func:`optimizer.io.dataset.read_dataset` reads back the same network.

    Args:
        network: The network; it needs coordinates (not a ``unit_shipping_cost`` matrix).
        folder: Created if missing; existing dataset files in it are overwritten.

    Returns:
        The folder.

    Raises:
        ValueError: The network has a ``unit_shipping_cost`` matrix, which no dataset file holds.
    """
    if network.unit_shipping_cost is not None:
        raise ValueError(f"{network.name}: a network with a unit shipping cost matrix (an OR-Library or "
                         "Holmberg file) cannot be written as a dataset folder")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    frames = {"sites.csv": network.sites, "regions.csv": network.regions, "products.csv": network.products,
              "demand.csv": network.demand, "suppliers.csv": network.suppliers, "supply.csv": network.supply,
              "links.csv": network.links}
    for table in TABLES:
        frame = frames[table.file]
        if frame is None:
            continue
        frame = frame.reset_index() if table.indexed else frame
        frame[[c for c in table.column_names if c in frame.columns]].to_csv(
            out / table.file, index=False, lineterminator="\n")
    doc: dict[str, Any] = {}
    for key in KEYS:
        value = _setting(network, key.name)
        if isinstance(value, np.generic):
            value = value.item()
        if key.section is None:
            doc[key.leaf] = value
        else:
            doc.setdefault(key.section, {})[key.leaf] = value
    (out / NETWORK_FILE).write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def _setting(network: Network, dotted: str) -> Any:
    """The value of one ``network.yaml`` key in a network (``constraints`` live on the settings)."""
    if dotted == "name":
        return network.name
    section, _, leaf = dotted.rpartition(".")
    holder = network.settings if section in ("", "constraints") else getattr(network.settings, section)
    if leaf not in {f.name for f in fields(holder)}:
        raise ValueError(f"network.yaml key {dotted} has no setting {leaf} in {type(holder).__name__}")
    return getattr(holder, leaf)
