"""Build small networks directly in Python for tests (no files)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from optimizer.geo import EARTH_RADIUS_KM
from optimizer.network import Network, Settings

#: Road km per degree of longitude on the equator with circuity 1.
KM_PER_DEG = 2 * np.pi * EARTH_RADIUS_KM / 360


def make_network(
    sites: Sequence[dict[str, Any]],
    regions: Sequence[dict[str, Any]],
    products: Sequence[dict[str, Any]],
    demand: Sequence[tuple[Any, ...]],
    **settings: Any,
) -> Network:
    """A network from plain records; omitted optional columns get their defaults.

    Demand rows are ``(region, product, quantity)`` or ``(region, product, quantity, std)``.
    Sites/regions default to the equator (lat 0) so that road km = KM_PER_DEG x |delta lon|
    when ``circuity=1``.
    """
    site_df = pd.DataFrame(
        [
            {
                "id": s["id"], "name": s.get("name", s["id"]), "lat": float(s.get("lat", 0.0)),
                "lon": float(s.get("lon", 0.0)), "capacity": float(s.get("capacity", np.inf)),
                "fixed_cost": float(s.get("fixed_cost", 0.0)), "handling_cost": float(s.get("handling_cost", 0.0)),
                "status": s.get("status", "candidate"), "closing_cost": float(s.get("closing_cost", 0.0)),
                "lead_time_days": float(s.get("lead_time_days", np.nan)),
                "max_outbound": float(s.get("max_outbound", np.inf)),
                "max_inbound": float(s.get("max_inbound", np.inf)),
            }
            for s in sites
        ]
    ).set_index("id")
    region_df = pd.DataFrame(
        [{"id": r["id"], "name": r.get("name", r["id"]), "lat": float(r.get("lat", 0.0)),
          "lon": float(r.get("lon", 0.0))} for r in regions]
    ).set_index("id")
    product_df = pd.DataFrame(
        [
            {
                "id": p["id"], "name": p.get("name", p["id"]), "unit_value": float(p.get("unit_value", 0.0)),
                "volume": float(p.get("volume", 1.0)), "weight_kg": float(p.get("weight_kg", 0.0)),
                "holding_rate": float(p.get("holding_rate", 0.0)),
                "shipping_cost_per_km": float(p.get("shipping_cost_per_km", 1.0)),
                "service_level": float(p.get("service_level", 0.95)),
                "ordering_cost": float(p.get("ordering_cost", 0.0)),
                "pack_size": float(p.get("pack_size", 1.0)),
            }
            for p in products
        ]
    ).set_index("id")
    demand_df = pd.DataFrame(
        [{"region": d[0], "product": d[1], "quantity": float(d[2]), "std": float(d[3]) if len(d) > 3 else 0.0}
         for d in demand],
        columns=["region", "product", "quantity", "std"],
    )
    base = {"circuity": 1.0, "days_of_cover": 0.0}
    base.update(settings)
    return Network(site_df, region_df, product_df, demand_df, settings=Settings(**base), name="test")


#: Defaults of links.csv columns, for :func:`with_suppliers`.
LINK_DEFAULTS = {"mode": "road", "cost_per_volume": 0.0, "cost_per_volume_km": 0.0, "distance_km": np.nan,
                 "capacity": np.inf, "transit_days": np.nan, "fixed_cost": 0.0, "truck_capacity": np.inf,
                 "truck_cost": 0.0}


def with_suppliers(
    network: Network,
    suppliers: Sequence[dict[str, Any]],
    supply: Sequence[tuple[Any, ...]],
    links: Sequence[dict[str, Any]] | None = None,
    **transport: Any,
) -> Network:
    """Add suppliers (records with id, lat, lon), supply rows ``(supplier, product, capacity[, unit_cost])``
    and links (records with from, to and any links.csv column) to a network."""
    from dataclasses import replace

    sup = pd.DataFrame([{"id": s["id"], "name": s.get("name", s["id"]), "lat": float(s.get("lat", 0.0)),
                         "lon": float(s.get("lon", 0.0))} for s in suppliers]).set_index("id")
    supply_df = pd.DataFrame(
        [{"supplier": r[0], "product": r[1], "capacity": float(r[2]), "unit_cost": float(r[3]) if len(r) > 3 else 0.0}
         for r in supply], columns=["supplier", "product", "capacity", "unit_cost"])
    link_df = None
    if links is not None:
        link_df = pd.DataFrame([{"from": l["from"], "to": l["to"], **{k: l.get(k, v) for k, v in LINK_DEFAULTS.items()}}
                                for l in links], columns=["from", "to", *LINK_DEFAULTS])
        link_df[list(LINK_DEFAULTS)[1:]] = link_df[list(LINK_DEFAULTS)[1:]].astype(float)
    settings = replace(network.settings, transport=replace(network.settings.transport, **transport))
    return replace(network, suppliers=sup, supply=supply_df, links=link_df, settings=settings)
