"""Vectorised haversine and WGS-84 geodesic distances, against geopy (one call per pair, the reference)."""

from __future__ import annotations

import numpy as np
import pytest
from geopy.distance import geodesic, great_circle

import optimizer.geo as geo
from optimizer.checker.linkset import ellipsoid_km
from optimizer.geo import EARTH_RADIUS_KM, geodesic_km, haversine_km, paired_km

# A sample of real city pairs across latitudes (lat, lon in degrees).
CITIES = {
    "Oslo": (59.9139, 10.7522), "Madrid": (40.4168, -3.7038), "New York": (40.7128, -74.0060),
    "Los Angeles": (34.0522, -118.2437), "Miami": (25.7617, -80.1918), "Seattle": (47.6062, -122.3321),
    "Quito": (-0.1807, -78.4678), "Sydney": (-33.8688, 151.2093), "Anchorage": (61.2181, -149.9003),
    "Singapore": (1.3521, 103.8198),
}


def test_haversine_matches_geopy_great_circle_exactly():
    lat, lon = np.array(list(CITIES.values())).T
    ours = haversine_km(lat, lon, lat, lon)
    for i, a in enumerate(CITIES.values()):
        for j, b in enumerate(CITIES.values()):
            assert ours[i, j] == pytest.approx(great_circle(a, b, radius=EARTH_RADIUS_KM).km, rel=1e-9, abs=1e-9)


def test_haversine_within_half_a_percent_of_geodesic():
    """The documented difference: sphere vs WGS-84 ellipsoid stays below 0.5 % on this sample."""
    lat, lon = np.array(list(CITIES.values())).T
    ours = haversine_km(lat, lon, lat, lon)
    exact = geodesic_km(lat, lon, lat, lon)
    off_diagonal = ~np.eye(len(CITIES), dtype=bool)
    rel = np.abs(ours - exact)[off_diagonal] / exact[off_diagonal]
    assert rel.max() < 0.005
    assert rel.max() > 1e-4  # the two methods really differ: the test would catch a swap
    assert exact[0, 1] == pytest.approx(geodesic(CITIES["Oslo"], CITIES["Madrid"]).km)


def test_shapes_and_zero_diagonal():
    d = haversine_km(np.array([0.0, 10.0]), np.array([0.0, 0.0]), np.array([0.0]), np.array([0.0]))
    assert d.shape == (2, 1)
    assert d[0, 0] == 0.0
    assert d[1, 0] == pytest.approx(10 * 2 * np.pi * EARTH_RADIUS_KM / 360)


def _random_points(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points over the whole globe (lat, lon in degrees), poles and the date line included."""
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    lat[:3], lon[:3] = (90.0, -90.0, 0.0), (0.0, 0.0, 180.0)
    return lat, lon


def _geopy_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    return np.array([[geodesic((a, b), (c, d)).km for c, d in zip(lat2, lon2)] for a, b in zip(lat1, lon1)])


def test_geodesic_matches_geopy_on_random_points_same_points_and_near_antipodes(monkeypatch):
    lat1, lon1 = _random_points(1, 23)
    lat2, lon2 = _random_points(2, 17)
    # Near-antipodes of the first points (the hard case of the inverse problem) and the same points again.
    lat2 = np.concatenate([lat2, -lat1[:8] * (1 - 1e-6), lat1[:5]])
    lon2 = np.concatenate([lon2, (lon1[:8] + 180.0 - 2e-3 + 180.0) % 360.0 - 180.0, lon1[:5]])
    monkeypatch.setattr(geo, "GEODESIC_BLOCK_PAIRS", 50)  # several row blocks, one row per block too
    ours = geodesic_km(lat1, lon1, lat2, lon2)
    exact = _geopy_km(lat1, lon1, lat2, lon2)
    assert ours.shape == (23, 30)
    np.testing.assert_allclose(ours, exact, rtol=0, atol=1e-6)
    assert np.all(ours[np.arange(5), 25 + np.arange(5)] == 0.0)
    assert ours.max() > 19_990.0  # the near-antipodal pairs are really there


def test_geodesic_block_size_does_not_change_the_result(monkeypatch):
    lat1, lon1 = _random_points(3, 40)
    lat2, lon2 = _random_points(4, 31)
    whole = geodesic_km(lat1, lon1, lat2, lon2)
    monkeypatch.setattr(geo, "GEODESIC_BLOCK_PAIRS", 7)
    assert np.array_equal(geodesic_km(lat1, lon1, lat2, lon2), whole)
    assert geodesic_km(lat1, lon1, [], []).shape == (40, 0)
    assert geodesic_km([], [], lat2, lon2).shape == (0, 31)


def test_paired_geodesic_matches_geopy_and_keeps_missing_coordinates_missing():
    lat1, lon1 = _random_points(5, 30)
    lat2, lon2 = _random_points(6, 30)
    lat1[7] = np.nan
    lon2[11] = np.nan
    for km in (paired_km(lat1, lon1, lat2, lon2, "geodesic"), ellipsoid_km(lat1, lon1, lat2, lon2)):
        known = np.isfinite(lat1) & np.isfinite(lon2)
        assert np.isnan(km[~known]).all() and (~known).sum() == 2
        exact = [geodesic((a, b), (c, d)).km for a, b, c, d in zip(lat1[known], lon1[known], lat2[known], lon2[known])]
        np.testing.assert_allclose(km[known], exact, rtol=0, atol=1e-6)
    assert np.isfinite(lat1[known]).all()  # the inputs are not overwritten
    assert paired_km([], [], [], [], "geodesic").shape == (0,)


def test_maps_draw_a_network_across_the_antimeridian_in_one_piece(monkeypatch, tmp_path):
    # Suva (178.4 E) serving Nuku'alofa (175.2 W), 700 km apart, was drawn as a lane across 354 degrees of the map;
    # the PNG's title said "per period" where the report says "FJD per day".
    from matplotlib.figure import Figure

    import optimizer
    from factory import make_network
    from optimizer.maps import display_network, write_png
    from optimizer.report.mapview import map_data
    from optimizer.report.tables import lane_table

    net = make_network([{"id": "SUVA", "lat": -18.14, "lon": 178.44}], [{"id": "NUKU", "lat": -21.14, "lon": -175.2}],
                       [{"id": "p", "shipping_cost_per_km": 0.01}], [("NUKU", "p", 10.0)], period_days=1.0,
                       currency="FJD")
    shown = display_network(net)
    assert shown.regions.at["NUKU", "lon"] == pytest.approx(184.8) and shown.sites.at["SUVA", "lon"] == 178.44
    assert net.regions.at["NUKU", "lon"] == -175.2  # the input is not changed
    result = optimizer.solve(net)
    lane = map_data(net, result, lane_table(net, result))["lanes"][0]
    assert abs(lane[1] - lane[3]) < 10
    titles = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: titles.append(self.axes[0].get_title()))
    write_png(net, result, tmp_path / "map.png")
    assert titles and titles[0].endswith("FJD per day")
    europe = make_network([{"id": "A", "lon": -5.0}], [{"id": "B", "lon": 20.0}, {"id": "C", "lon": 170.0}],
                          [{"id": "p"}], [("B", "p", 1.0)])
    assert display_network(europe) is europe
