"""Vectorised great-circle distances.

The haversine formula on a sphere of radius :data:`EARTH_RADIUS_KM` differs
from the WGS-84 geodesic by at most about 0.5 % (the sphere is a compromise
between the equatorial and polar radii); ``tests/test_geo.py`` measures it on a
sample of city pairs.  The geodesic is computed by PROJ's implementation of
Karney's algorithm (:class:`pyproj.Geod`, vectorised C), the algorithm geopy's
``geodesic`` runs in Python; the two agree to well below a millimetre.  Road
distance is great-circle distance times the network's circuity factor.
"""

from __future__ import annotations

import numpy as np

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088

#: Point pairs handed to PROJ per call: bounds the temporary arrays (4 x 8 bytes per pair).
GEODESIC_BLOCK_PAIRS = 1 << 18


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


def _wgs84_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """WGS-84 geodesic km between paired points (equal-length float arrays), in one PROJ call.

    The arrays are overwritten (PROJ writes its results in place); NaN in, NaN out.
    """
    from pyproj import Geod

    Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2, inplace=True)
    return lon2 / 1000.0  # in place, lon2 now holds the distance in metres


def geodesic_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """WGS-84 geodesic distance in km, same shapes as :func:`haversine_km`.

    Computed by PROJ over blocks of rows of the (n, m) result, so the temporary
    arrays stay at about :data:`GEODESIC_BLOCK_PAIRS` pairs whatever the size.
    """
    lat1, lon1, lat2, lon2 = (np.asarray(v, dtype=float).ravel() for v in (lat1, lon1, lat2, lon2))
    n, m = lat1.size, lat2.size
    out = np.empty((n, m))
    rows = max(1, GEODESIC_BLOCK_PAIRS // max(m, 1))
    for start in range(0, n if m else 0, rows):
        stop = min(start + rows, n)
        shape = (stop - start, m)
        block = [np.array(np.broadcast_to(v, shape), order="C").ravel()  # writeable copies
                 for v in (lat1[start:stop, None], lon1[start:stop, None], lat2[None, :], lon2[None, :])]
        out[start:stop] = _wgs84_km(*block).reshape(shape)
    return out


def paired_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray,
              method: str = "haversine") -> np.ndarray:
    """Great-circle km between paired points (element ``i`` of set 1 with element ``i`` of set 2).

    Args:
        lat1, lon1, lat2, lon2: Degrees, shape (n,).
        method: ``haversine`` (sphere) or ``geodesic`` (WGS-84 ellipsoid); both vectorised.

    Returns:
        km, shape (n,); NaN where a coordinate is missing.
    """
    lat1, lon1, lat2, lon2 = (np.array(v, dtype=float) for v in (lat1, lon1, lat2, lon2))
    if method == "geodesic":
        return _wgs84_km(lat1, lon1, lat2, lon2)
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
