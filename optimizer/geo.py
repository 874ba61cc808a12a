"""Vectorised great-circle distances.

The haversine formula on a sphere of radius :data:`EARTH_RADIUS_KM` differs
from the WGS-84 geodesic (geopy) by at most about 0.5 % (the sphere is a
compromise between the equatorial and polar radii); ``tests/test_geo.py``
measures it on a sample of city pairs.  Road distance is great-circle
distance times the network's circuity factor.
"""

from __future__ import annotations

import numpy as np

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between every point of set 1 and every point of set 2.

    Args:
        lat1, lon1: Degrees, shape (n,).
        lat2, lon2: Degrees, shape (m,).

    Returns:
        Array of shape (n, m), km.
    """
    p1 = np.radians(np.asarray(lat1, dtype=float))[:, None]
    l1 = np.radians(np.asarray(lon1, dtype=float))[:, None]
    p2 = np.radians(np.asarray(lat2, dtype=float))[None, :]
    l2 = np.radians(np.asarray(lon2, dtype=float))[None, :]
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def geodesic_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """WGS-84 geodesic distance in km (geopy), same shapes as :func:`haversine_km`.

    Exact on the ellipsoid but one Python call per pair: use for small networks
    or when the 0.5 % spherical error matters.
    """
    from geopy.distance import geodesic

    out = np.empty((len(lat1), len(lat2)))
    for i, (a, b) in enumerate(zip(lat1, lon1)):
        for j, (c, d) in enumerate(zip(lat2, lon2)):
            out[i, j] = geodesic((a, b), (c, d)).km
    return out


def paired_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray,
              method: str = "haversine") -> np.ndarray:
    """Great-circle km between paired points (element ``i`` of set 1 with element ``i`` of set 2).

    Args:
        lat1, lon1, lat2, lon2: Degrees, shape (n,).
        method: ``haversine`` (vectorised) or ``geodesic`` (geopy, one call per pair).

    Returns:
        km, shape (n,); NaN where a coordinate is missing.
    """
    lat1, lon1, lat2, lon2 = (np.asarray(v, dtype=float) for v in (lat1, lon1, lat2, lon2))
    if method == "geodesic":
        from geopy.distance import geodesic

        known = np.isfinite(lat1) & np.isfinite(lon1) & np.isfinite(lat2) & np.isfinite(lon2)
        out = np.full(len(lat1), np.nan)
        out[known] = [geodesic((a, b), (c, d)).km
                      for a, b, c, d in zip(lat1[known], lon1[known], lat2[known], lon2[known])]
        return out
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
