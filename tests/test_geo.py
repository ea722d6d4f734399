"""Geodesic area and repair on small inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely import GeometryCollection, LineString, MultiPolygon, Polygon, box

from mineledger.geo import geodesic_area, polygonal_part, repair_polygonal, union_area

GEOD = Geod(ellps="WGS84")


def metric_square(lon: float, lat: float, side_m: float) -> Polygon:
    """A square of ``side_m`` metres whose south-west corner is at lon/lat, built with
    geodesic forward steps (north, then east along the two parallels)."""
    _, lat_n, _ = GEOD.fwd(lon, lat, 0, side_m)
    lon_e, _, _ = GEOD.fwd(lon, lat, 90, side_m)
    lon_ne, _, _ = GEOD.fwd(lon, lat_n, 90, side_m)
    return Polygon([(lon, lat), (lon_e, lat), (lon_ne, lat_n), (lon, lat_n)])


@pytest.mark.parametrize("lat", [0.0, 44.0, 4.5, -33.9, 60.0])
def test_100m_square_is_10000_m2(lat):
    area = geodesic_area(metric_square(17.0, lat, 100.0))
    assert area == pytest.approx(10_000.0, rel=1e-3)


def test_area_in_degrees_would_be_wrong():
    square = metric_square(17.0, 44.0, 100.0)
    assert square.area < 1e-5  # "area" in square degrees: meaningless as m²
    assert geodesic_area(square) == pytest.approx(10_000.0, rel=1e-3)


def test_clockwise_ring_gives_the_same_positive_area():
    square = metric_square(17.0, 44.0, 100.0)
    clockwise = Polygon(list(square.exterior.coords)[::-1])
    assert not shapely.is_ccw(clockwise.exterior)
    assert geodesic_area(clockwise) == pytest.approx(geodesic_area(square), rel=1e-12)
    assert geodesic_area(clockwise) > 0


def test_hole_is_subtracted_whatever_its_orientation():
    outer = metric_square(17.0, 44.0, 200.0)
    hole = metric_square(17.0005, 44.0005, 50.0)
    ccw_hole = Polygon(outer.exterior.coords, [hole.exterior.coords])
    cw_hole = Polygon(outer.exterior.coords, [list(hole.exterior.coords)[::-1]])
    expected = 40_000.0 - 2_500.0
    assert geodesic_area(ccw_hole) == pytest.approx(expected, rel=1e-3)
    assert geodesic_area(cw_hole) == pytest.approx(expected, rel=1e-3)


def test_area_agrees_with_local_equal_area_projection():
    rng = np.random.default_rng(7)
    polys = [shapely.Point(17 + rng.random(), 44 + rng.random()).buffer(0.001 + 0.01 * rng.random())
             for _ in range(20)]
    laea = Transformer.from_crs(4326, "+proj=laea +lat_0=44.5 +lon_0=17.5 +datum=WGS84",
                                always_xy=True)
    projected = [shapely.transform(p, lambda xy: np.column_stack(laea.transform(xy[:, 0], xy[:, 1])))
                 for p in polys]
    np.testing.assert_allclose(geodesic_area(polys), [p.area for p in projected], rtol=1e-4)


def test_points_lines_none_and_empty_have_zero_area():
    values = geodesic_area([shapely.Point(1, 1), LineString([(0, 0), (1, 1)]), None, Polygon()])
    assert list(values) == [0.0, 0.0, 0.0, 0.0]


def test_union_counts_overlap_once():
    a = metric_square(17.0, 44.0, 100.0)
    b = shapely.affinity.translate(a, xoff=(a.bounds[2] - a.bounds[0]) / 2)  # half overlap
    assert union_area([a, b]) == pytest.approx(15_000.0, rel=2e-3)
    assert union_area([a, a, None]) == pytest.approx(10_000.0, rel=1e-3)
    assert union_area([]) == 0.0


def test_bow_tie_repair_keeps_both_lobes():
    bow_tie = Polygon([(0, 0), (0.002, 0.002), (0.002, 0), (0, 0.002), (0, 0)])
    fixed, reason = repair_polygonal(bow_tie)
    assert "Self-intersection" in reason
    assert isinstance(fixed, MultiPolygon) and len(fixed.geoms) == 2
    # each lobe is a triangle of a quarter of the 0.002° square
    whole = geodesic_area(box(0, 0, 0.002, 0.002))
    assert geodesic_area(fixed) == pytest.approx(whole / 2, rel=1e-3)


def test_repair_drops_stray_lines_keeps_polygons():
    collection = GeometryCollection([box(0, 0, 1, 1), LineString([(1, 1), (2, 2)])])
    part = polygonal_part(collection)
    assert part.geom_type == "MultiPolygon" and part.area == 1.0


def test_collapsed_polygon_repairs_to_nothing():
    spike = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])
    fixed, reason = repair_polygonal(spike)
    assert fixed is None and reason


def test_valid_polygon_is_promoted_not_changed():
    fixed, reason = repair_polygonal(box(0, 0, 1, 1))
    assert reason is None and fixed.equals(MultiPolygon([box(0, 0, 1, 1)]))


def test_octant_of_the_ellipsoid():
    # Equator, meridian 90° E, pole, meridian 0°: 1/8 of the WGS 84 surface (510,065,621.7 km²).
    octant = Polygon([(0, 0), (90, 0), (90, 90), (0, 90), (0, 0)])
    assert geodesic_area(octant) == pytest.approx(510_065_621.7e6 / 8, rel=1e-3)
    assert not math.isnan(geodesic_area(octant))


@pytest.mark.realdata
def test_the_vectorised_area_agrees_with_karney_on_every_real_polygon():
    """Many small polygons are measured in local equal-area projections; on every BiH hazard
    and cleared area that agrees with the geodesic (Karney) area within 0.05 %, and the totals
    within 1e-7."""
    import pyogrio
    from pyproj import Geod

    from mineledger.geo import repair_polygonal
    from tests.conftest import real

    geod = Geod(ellps="WGS84")
    for name in ("bih/suspect_areas_simplyfied.geojson", "bih/cleared_areas_simplyfied.geojson"):
        raw = pyogrio.read_dataframe(real(name), on_invalid="ignore").geometry.array
        geoms = [g for g in (repair_polygonal(x)[0] for x in raw if x is not None)
                 if g is not None and not g.is_empty]
        fast = geodesic_area(geoms)
        ref = np.array([abs(geod.geometry_area_perimeter(shapely.orient_polygons(g))[0])
                        for g in geoms])
        big = ref > 1
        assert (np.abs(fast[big] - ref[big]) / ref[big]).max() < 5e-4
        assert abs(fast.sum() - ref.sum()) / ref.sum() < 1e-7


def test_dissolve_equals_union_all_on_clusters_of_overlapping_touching_and_lone_squares():
    from mineledger.geo import clusters, dissolve
    from mineledger.geo.dissolve import CLUSTER_MIN

    rng = np.random.default_rng(7)
    squares = [box(x, y, x + rng.uniform(0.5, 3), y + rng.uniform(0.5, 3))
               for x, y in rng.uniform(0, 200, size=(CLUSTER_MIN * 2, 2))]
    squares += [box(300, 0, 301, 1), box(301, 0, 302, 1)]  # touch along an edge: one piece
    squares += [box(310, 0, 320, 10).difference(box(312, 2, 318, 8)), box(313, 3, 317, 7)]
    got = dissolve(squares + [None, Polygon()])
    expected = shapely.union_all(squares)
    assert got.geom_type == "MultiPolygon" and got.is_valid
    assert shapely.symmetric_difference(got, expected).area < 1e-9 * expected.area
    assert got.area == pytest.approx(expected.area, rel=1e-12)
    label = clusters(squares)
    assert label[-4] == label[-3] and label[-2] != label[-1]  # touching: one cluster; island in a hole: two
    assert len(set(label.tolist())) < len(squares)


def test_dissolve_of_nothing_is_an_empty_multipolygon():
    from mineledger.geo import dissolve

    assert dissolve([]).geom_type == "MultiPolygon" and dissolve([None, Polygon()]).is_empty


def test_multipolygon_of_many_parts_measures_as_its_parts():
    parts = [metric_square(17 + i * 0.01, 44, 100) for i in range(100)]
    whole = MultiPolygon(parts)
    assert geodesic_area(whole) == pytest.approx(1_000_000, rel=1e-4)
    assert geodesic_area(whole) == pytest.approx(float(geodesic_area(parts).sum()), rel=1e-12)


@pytest.mark.parametrize("company", [0, 300])  # the plain and the clustered path
def test_dissolve_merges_a_lone_multipolygon_whose_parts_overlap_and_repairs_a_lone_bow_tie(company):
    from mineledger.geo import dissolve

    others = [box(1000 + i * 3, 0, 1001 + i * 3, 1) for i in range(company)]
    overlapping = MultiPolygon([box(0, 0, 2, 2), box(1, 1, 3, 3)])  # invalid: parts overlap
    bow_tie = Polygon([(10, 0), (12, 2), (12, 0), (10, 2), (10, 0)])
    got = dissolve(others + [overlapping, bow_tie])
    assert got.is_valid
    assert got.area == pytest.approx(company + 7 + 2)  # 7: the overlap once; 2: both lobes


def test_clip_to_hazards_works_by_position_when_the_index_repeats():
    import geopandas as gpd

    from mineledger.land.engine import clip_to_hazards

    hazards = gpd.GeoDataFrame({"uuid": ["h"]}, geometry=[box(17, 44, 17.01, 44.01)], crs=4326)
    outcomes = gpd.GeoDataFrame({"hazard_uuid": ["h", "h"]}, index=[5, 5], crs=4326, geometry=[
        box(17, 44, 17.005, 44.005), box(17.005, 44, 17.02, 44.005)])
    clipped = clip_to_hazards(outcomes, hazards)
    assert clipped["outside_hazard"].tolist() == [False, True]
    assert clipped.geometry.iloc[1].bounds[2] == pytest.approx(17.01)
