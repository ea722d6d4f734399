"""The benchmark data generator: seeded, and the shapes the issue asks for."""

from __future__ import annotations

import numpy as np
import pyogrio
import shapely

from benchmarks.generate import generate
from mineledger.geo import geodesic_area


def test_the_same_seed_gives_the_same_country(tmp_path):
    a = generate("S", tmp_path / "a", seed=7)
    b = generate("S", tmp_path / "b", seed=7)
    assert a == b == {"admin": 112, "hazards": 10000, "cleared": 3000, "devices": 5000,
                      "events": 1000, "victims": 1000}
    ga = pyogrio.read_dataframe(tmp_path / "a" / "hazards.gpkg")
    gb = pyogrio.read_dataframe(tmp_path / "b" / "hazards.gpkg")
    assert ga.geometry.geom_equals_exact(gb.geometry, 0).all()
    generate("S", tmp_path / "c", seed=8)
    other = pyogrio.read_dataframe(tmp_path / "c" / "hazards.gpkg")
    assert not ga.geometry.geom_equals_exact(other.geometry, 0).all()


def test_hazards_from_200_m2_to_5_km2_and_nested_admin_areas(tmp_path):
    generate("S", tmp_path, seed=1)
    hazards = pyogrio.read_dataframe(tmp_path / "hazards.gpkg")
    area = geodesic_area(hazards.geometry.array)
    assert 200 * 0.999 <= area.min() and area.max() <= 5e6 * 1.001
    assert np.median(area) > 10_000  # log-uniform: the median is near 32,000 m²
    admin = pyogrio.read_dataframe(tmp_path / "admin.gpkg")
    assert admin["level"].value_counts().sort_index().to_dict() == {1: 2, 2: 10, 3: 100}
    parents = admin.set_index("code")
    for row in admin[admin["level"] > 1].itertuples():
        parent = parents.loc[row.parent, "geometry"]
        assert shapely.area(shapely.difference(row.geometry, parent)) < 1e-9 * shapely.area(row.geometry) + 1e-12
