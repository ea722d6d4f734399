"""The import's per-record geometry checks, done for all rings at once, find what the
ring-by-ring versions they replaced found (issue 16: the import's quality warnings were a
third of its time).

Each test keeps the old ring-by-ring code as the reference and compares it with the
vectorised one on polygons Hypothesis draws: multipolygons with holes, rings of one to many
vertices, repeated vertices, edges from a metre to thousands of kilometres, rings across the
antimeridian, empty parts, and missing or empty geometries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LinearRing, MultiPolygon, Polygon

from mineledger.geo.antimeridian import crosses_antimeridian, crosses_antimeridian_many
from mineledger.ledger.quality import geometry as rules
from mineledger.ledger.quality.engine import DEFAULTS


def old_longest(geom) -> float:
    """The longest edge as the rule measured it before: ring by ring, in Python."""
    longest = 0.0
    for ring in rules._rings(geom):
        _, _, dist = rules.GEOD.inv(ring[:-1, 0], ring[:-1, 1], ring[1:, 0], ring[1:, 1])
        longest = max(longest, float(np.max(dist)) if len(dist) else 0.0)
    return longest


def old_distinct(xy, ring, rings):
    """Distinct vertices per ring as the rule counted them before (``np.unique`` of rows)."""
    keyed = np.unique(np.column_stack([ring, np.round(xy, 9)]), axis=0)
    return np.bincount(keyed[:, 0].astype(np.int64), minlength=rings)


# coordinates on a coarse grid, so that repeated vertices and zero-length edges are common
lon = st.one_of(st.integers(-1800, 1800).map(lambda v: v / 10),
                st.floats(-180, 180, allow_nan=False, allow_infinity=False))
lat = st.one_of(st.integers(-890, 890).map(lambda v: v / 10),
                st.floats(-89.9, 89.9, allow_nan=False, allow_infinity=False))
vertex = st.tuples(lon, lat)
small = st.tuples(st.integers(0, 3), st.integers(0, 3)).map(
    lambda p: (17.0 + p[0] * 1e-4, 44.0 + p[1] * 1e-4))  # a few metres apart, repeats


@st.composite
def ring_coords(draw):
    points = draw(st.lists(st.one_of(vertex, small), min_size=3, max_size=12))
    return points + [points[0]]


@st.composite
def polygons(draw):
    shell = draw(ring_coords())
    holes = draw(st.lists(ring_coords(), max_size=2))
    return Polygon(LinearRing(shell), [LinearRing(h) for h in holes])


geometries = st.one_of(
    polygons(),
    st.lists(polygons(), min_size=1, max_size=3).map(MultiPolygon),
    st.just(Polygon()), st.just(MultiPolygon()), st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(geometries, min_size=1, max_size=8))
def test_longest_edges_equal_ring_by_ring(geoms):
    arr = np.array(geoms + [None], dtype=object)[:-1]
    new = rules._longest_edges(arr)
    old = [old_longest(g) if g is not None and not g.is_empty else 0.0 for g in geoms]
    assert new.tolist() == old
    # with a threshold, what is not measured is certainly below 99 % of it
    for below in (5000.0, 2e5, 1e6):
        bounded = rules._longest_edges(arr, below=below)
        assert all(b == o or (b == 0.0 and o < 0.99 * below) for b, o in zip(bounded, old))


@settings(max_examples=300, deadline=None)
@given(st.lists(geometries, min_size=1, max_size=8))
def test_distinct_vertices_equal_unique_rows(geoms):
    arr = np.array(geoms + [None], dtype=object)[:-1]
    xy, ring, owner = rules._ring_vertices(arr)
    assert rules._distinct_per_ring(xy, ring, len(owner)).tolist() == \
        old_distinct(xy, ring, len(owner)).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(geometries, min_size=1, max_size=8))
def test_crosses_antimeridian_equal_one_by_one(geoms):
    arr = np.array(geoms + [None], dtype=object)[:-1]
    assert crosses_antimeridian_many(arr).tolist() == [crosses_antimeridian(g) for g in geoms]


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a_ring_with_an_undefined_edge_counts_as_none():
    """A NaN coordinate made the ring's max NaN, which never beat the longest so far."""
    nan_ring = Polygon([(0, 0), (float("nan"), 0), (40, 0), (0, 1), (0, 0)])
    long_ring = Polygon([(0, 0), (1, 0), (1, 1), (0, 0)])
    geoms = np.array([nan_ring, MultiPolygon([nan_ring, long_ring])], dtype=object)
    assert rules._longest_edges(geoms).tolist() == [old_longest(g) for g in geoms]
    assert crosses_antimeridian_many(geoms).tolist() == [crosses_antimeridian(g) for g in geoms]


class _Ctx:
    def __init__(self, layers):
        self.params = dict(DEFAULTS)
        self._layers = layers

    def layer(self, name):
        return self._layers.get(name, gpd.GeoDataFrame({"uuid": []}, geometry=[]))


@settings(max_examples=100, deadline=None)
@given(st.lists(geometries, min_size=1, max_size=8),
       st.lists(st.one_of(st.none(), st.just(float("nan")), st.floats(0, 2e8)), min_size=8,
                max_size=8))
def test_rules_find_what_they_found(geoms, areas):
    """The long-edge and area rules, on whole layers, yield the findings of the old loops
    (the same records in the same order, with the same words)."""
    gdf = gpd.GeoDataFrame({"uuid": [f"u{i}" for i in range(len(geoms))],
                            "area_m2": pd.Series(areas[:len(geoms)], dtype=object),
                            "geometry_status": "ok"},
                           geometry=gpd.GeoSeries(list(geoms), dtype="geometry"))
    ctx = _Ctx({"hazards": gdf})
    found = list(rules.long_edges(ctx))
    expected = []
    for uid, g in zip(gdf["uuid"], geoms):
        if g is None or g.is_empty:
            continue
        longest = old_longest(g)
        if longest > DEFAULTS["long_edge_m"]:
            expected.append((uid, f"an edge of {longest:,.0f} m (more than 5,000 m)"))
    assert [(f.record_uuid, f.reason) for f in found] == expected
    found = list(rules.implausible_area(ctx))
    expected = []
    for r in rules.present(gdf).itertuples():
        a = r.area_m2 or 0.0
        if a < 25.0 or a > 100e6:
            expected.append(r.uuid)
    assert [f.record_uuid for f in found] == expected
