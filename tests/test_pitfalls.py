"""Known pitfalls of mine action geodata, one small written input each.

Every test asserts the RIGHT value, computed independently of mineledger (arithmetic on the
WGS 84 ellipsoid, or pyproj's Geod as a separate library computation), or a clear error that
names the row and the field. A pitfall that gives a wrong number is a defect in mineledger,
not a reason to weaken the test.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import geopandas as gpd
import pyogrio
import pytest
import shapely
from pyproj import Geod
from shapely import Polygon, box

from mineledger import SourceError, import_source, load_profile, open_store
from mineledger.geo import geodesic_area, polygonal_part, repair_polygonal
from mineledger.ledger.export import export_layer

# --- independent references ---------------------------------------------------------------

#: WGS 84 defining constants (NIMA TR8350.2): semi-major axis and flattening.
A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
B = A * (1 - F)
GEOD = Geod(ellps="WGS84")


def _authalic_q(lat_deg: float) -> float:
    """q(φ) of the ellipsoid's equal-area (authalic) latitude; area between the equator and
    latitude φ over Δλ radians is b²·Δλ·q(φ)/2 (Snyder, Map Projections, eq. 3-12)."""
    e = math.sqrt(E2)
    s = math.sin(math.radians(lat_deg))
    return s / (1 - E2 * s * s) + math.log((1 + e * s) / (1 - e * s)) / (2 * e)


def cell_area(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Exact area in m² of a longitude/latitude cell on WGS 84 (closed form)."""
    return B * B * math.radians(lon1 - lon0) * (_authalic_q(lat1) - _authalic_q(lat0)) / 2


def meridian_arc(lat0: float, lat1: float, steps: int = 2000) -> float:
    """Length in m of the meridian from lat0 to lat1 (Simpson's rule on M(φ))."""
    p0, p1 = math.radians(lat0), math.radians(lat1)
    h = (p1 - p0) / steps

    def m(p):
        return A * (1 - E2) / (1 - E2 * math.sin(p) ** 2) ** 1.5

    total = m(p0) + m(p1) + sum((4 if i % 2 else 2) * m(p0 + i * h) for i in range(1, steps))
    return total * h / 3


def geod_area(coords) -> float:
    """Area of one ring by pyproj's Geod (Karney), as an independent library computation."""
    lons, lats = zip(*coords)
    area, _ = GEOD.polygon_area_perimeter(lons, lats)
    return abs(area)


#: 0.01° × 0.01° at the equator: 0.01° of the equator × 0.01° of meridian arc.
EQUATOR_SQUARE_M2 = math.radians(0.01) * A * meridian_arc(0.0, 0.01)


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture
def store(store_at, tmp_path):
    with open_store(store_at("s")) as s:
        yield s


def data_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    (folder / "SOURCES.md").write_text("test data\n")
    return folder


def write_profile(tmp_path, text: str, name: str = "p.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_profile(path)


HAZARD_VECTOR = """\
name: pitfall-hazards
layer: hazards
country: BIH
read: {format: vector}
fields:
  hazard_type: {value: SHA}
  local_id: {column: id}
"""


def geojson(tmp_path, geometries, name="h.geojson"):
    """A FeatureCollection written by hand (json.dumps), one feature per geometry."""
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": f"H{i + 1}"}, "geometry": g}
        for i, g in enumerate(geometries)]}
    path = data_folder(tmp_path) / name
    path.write_text(json.dumps(doc))
    return path


def ring(geom):
    """Exterior ring vertices (lon, lat) of a one-part polygonal geometry, as a list."""
    if geom.geom_type == "MultiPolygon":
        assert len(geom.geoms) == 1
        geom = geom.geoms[0]
    return [tuple(c) for c in geom.exterior.coords]


def hazards_by_id(store):
    return store.read_layer("hazards").set_index("local_id")


# --- area in degrees instead of m² ----------------------------------------------------------

def test_reference_values_agree():
    """The three independent references (closed-form cell, width × meridian arc, pyproj Geod)
    agree on the 0.01° square at the equator: ≈ 1.2309e6 m²."""
    square = [(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)]
    assert cell_area(0, 0, 0.01, 0.01) == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-8)
    assert geod_area(square) == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-8)
    assert EQUATOR_SQUARE_M2 == pytest.approx(1.230907e6, rel=1e-6)


def test_area_is_square_metres_not_square_degrees():
    """Pitfall: area computed in degrees (shapely .area) instead of m² on the ellipsoid.
    A 0.01° × 0.01° square at the equator is 0.01° × (π/180) × a wide and a meridian arc
    high, never 1e-4."""
    square = box(0, 0, 0.01, 0.01)
    assert square.area == pytest.approx(1e-4)  # the wrong answer, in square degrees
    area = geodesic_area(square)
    assert area == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)
    assert area == pytest.approx(geod_area(square.exterior.coords[:-1]), rel=1e-9)


def test_imported_hazard_area_is_square_metres(store, tmp_path):
    """Pitfall: area in degrees — an imported hazard's area_m2 must be the geodesic area."""
    poly = {"type": "Polygon",
            "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}
    import_source(store, geojson(tmp_path, [poly]), write_profile(tmp_path, HAZARD_VECTOR))
    hz = store.read_layer("hazards").iloc[0]
    assert hz.geometry_status == "ok"
    assert hz.area_m2 == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)


# --- clockwise exterior ring ----------------------------------------------------------------

def test_clockwise_exterior_ring_gives_the_same_positive_area():
    """Pitfall: a clockwise exterior ring gives a negative (signed) geodesic area."""
    cw = Polygon([(0, 0), (0, 0.01), (0.01, 0.01), (0.01, 0), (0, 0)])
    assert not shapely.is_ccw(cw.exterior)
    signed, _ = GEOD.geometry_area_perimeter(cw)
    assert signed < 0  # what a naive signed area gives
    assert geodesic_area(cw) == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)


def test_clockwise_hazard_imports_with_positive_area(store, tmp_path):
    """Pitfall: a clockwise exterior ring in a source file stores a negative area_m2."""
    cw = {"type": "Polygon",
          "coordinates": [[[0, 0], [0, 0.01], [0.01, 0.01], [0.01, 0], [0, 0]]]}
    import_source(store, geojson(tmp_path, [cw]), write_profile(tmp_path, HAZARD_VECTOR))
    assert store.read_layer("hazards").area_m2[0] == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)


# --- antimeridian ---------------------------------------------------------------------------

def test_ring_touching_the_antimeridian_has_the_area_of_the_same_shape_elsewhere():
    """Pitfall: a ring with vertices at longitude 180 measured as if it wrapped the globe.
    Its area equals the same shape mirrored to -180 and the same shape shifted to 0°."""
    east = Polygon([(179.99, 0), (180, 0), (180, 0.01), (179.99, 0.01)])
    west = Polygon([(-180, 0), (-179.99, 0), (-179.99, 0.01), (-180, 0.01)])
    assert geodesic_area(east) == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)
    assert geodesic_area(west) == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)
    # an irregular shape touching 180 at two vertices, and its copy shifted to 0°
    tri = [(179.99, 10.0), (180, 10.0), (180, 10.02)]
    shifted = [(lon - 179.99, lat) for lon, lat in tri]
    mirrored = [(-lon, lat) for lon, lat in tri]
    expected = geod_area(shifted)
    assert expected == pytest.approx(cell_area(0, 10, 0.01, 10.02) / 2, rel=1e-3)
    assert geodesic_area(Polygon(tri)) == pytest.approx(expected, rel=1e-7)
    assert geodesic_area(Polygon(mirrored)) == pytest.approx(expected, rel=1e-7)


def test_hazard_split_at_the_antimeridian_imports_with_the_area_of_both_halves(store, tmp_path):
    """Pitfall: a hazard split at 180 (RFC 7946 §3.1.9) into two parts touching ±180: its
    area is that of the whole 0.02° × 0.01° cell, not a globe-wrapping sliver."""
    split = {"type": "MultiPolygon", "coordinates": [
        [[[179.99, 0], [180, 0], [180, 0.01], [179.99, 0.01], [179.99, 0]]],
        [[[-180, 0], [-179.99, 0], [-179.99, 0.01], [-180, 0.01], [-180, 0]]]]}
    touch = {"type": "Polygon",
             "coordinates": [[[179.99, 0], [180, 0], [180, 0.01], [179.99, 0.01], [179.99, 0]]]}
    import_source(store, geojson(tmp_path, [split, touch]), write_profile(tmp_path, HAZARD_VECTOR))
    hz = hazards_by_id(store)
    assert hz.loc["H1", "area_m2"] == pytest.approx(cell_area(0, 0, 0.02, 0.01), rel=1e-7)
    assert hz.loc["H2", "area_m2"] == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)
    assert hz.loc["H2", "geometry"].bounds == pytest.approx((179.99, 0, 180, 0.01))


# --- axis order -----------------------------------------------------------------------------

EVENTS_XY = """\
name: pitfall-events-xy
layer: events
country: COL
read: {{format: csv}}
geometry: {{x: x, y: y, crs: '{crs}'}}
fields:
  event_type: {{value: mine_incident}}
  local_id: {{column: id}}
"""


def test_csv_xy_in_epsg4326_reads_x_as_longitude(store, tmp_path):
    """Pitfall: EPSG:4326's authority axis order is latitude, longitude; a profile's x column
    is still longitude. (-74.08, 4.61) is Bogotá, not a point off Somalia."""
    path = data_folder(tmp_path) / "xy.csv"
    path.write_text("id,x,y\nE1,-74.08,4.61\n")
    for crs, name in (("EPSG:4326", "a.yaml"), ("urn:ogc:def:crs:EPSG::4326", "b.yaml")):
        import_source(store, path, write_profile(tmp_path, EVENTS_XY.format(crs=crs), name))
        p = store.read_layer("events").geometry[0]
        assert (p.x, p.y) == (-74.08, 4.61)


def test_csv_xy_in_epsg9377_is_easting_northing(store, tmp_path):
    """Pitfall: EPSG:9377 (MAGNA-SIRGAS / CTM12) declares axis order northing, easting; x is
    still the easting. Its false origin (5,000,000 E, 2,000,000 N) is 4° N, 73° W."""
    path = data_folder(tmp_path) / "ctm12.csv"
    path.write_text("id,x,y\nE1,5000000,2000000\n")
    import_source(store, path, write_profile(tmp_path, EVENTS_XY.format(crs="EPSG:9377")))
    p = store.read_layer("events").geometry[0]
    assert p.x == pytest.approx(-73.0, abs=1e-7)
    assert p.y == pytest.approx(4.0, abs=1e-7)


def test_geopackage_written_in_epsg4326_reads_back_lon_lat(store, tmp_path):
    """Pitfall: a GeoPackage in EPSG:4326 (written by pyogrio/GDAL) read back with the
    authority axis order would swap longitude and latitude."""
    path = data_folder(tmp_path) / "points.gpkg"
    gdf = gpd.GeoDataFrame({"id": ["E1"]}, geometry=[shapely.Point(-74.08, 4.61)],
                           crs="EPSG:4326")
    pyogrio.write_dataframe(gdf, path, layer="points", driver="GPKG")
    profile = write_profile(tmp_path, "layer: events\ncountry: COL\nread: {format: vector}\n"
                            "fields:\n  event_type: {value: mine_incident}\n"
                            "  local_id: {column: id}\n")
    import_source(store, path, profile)
    p = store.read_layer("events").geometry[0]
    assert (p.x, p.y) == (-74.08, 4.61)


# --- self-intersection and repair -------------------------------------------------------------

def test_bow_tie_is_repaired_keeping_both_lobes(store, tmp_path):
    """Pitfall: a self-intersecting "bow-tie" repaired with buffer(0) loses a lobe. Repair
    must keep both triangles, flag the record 'repaired' and keep the original."""
    bow = [[17, 44], [17.002, 44.002], [17.002, 44], [17, 44.002], [17, 44]]
    import_source(store, geojson(tmp_path, [{"type": "Polygon", "coordinates": [bow]}]),
                  write_profile(tmp_path, HAZARD_VECTOR))
    hz = store.read_layer("hazards").iloc[0]
    # the two rings cross at the middle of the 0.002° square
    left = [(17, 44), (17.001, 44.001), (17, 44.002)]
    right = [(17.002, 44), (17.002, 44.002), (17.001, 44.001)]
    expected = geod_area(left) + geod_area(right)
    assert hz.geometry_status == "repaired"
    assert "Self-intersection" in hz.geometry_note
    assert hz.geometry.geom_type == "MultiPolygon" and len(hz.geometry.geoms) == 2
    assert hz.area_m2 == pytest.approx(expected, rel=1e-6)
    lobes = sorted(geodesic_area(g) for g in hz.geometry.geoms)
    assert lobes == pytest.approx(sorted([geod_area(left), geod_area(right)]), rel=1e-6)
    original = shapely.from_wkb(hz.source_geometry)
    assert [tuple(c) for c in original.exterior.coords] == [tuple(c) for c in bow]


def test_repair_with_stray_line_keeps_only_the_polygonal_part(store, tmp_path):
    """Pitfall: repair (make_valid) of a polygon with a zero-width spike gives a
    GeometryCollection with a stray line; storing it as is breaks a polygon layer, dropping
    the whole record loses the area. Only the polygonal part is stored."""
    spike = Polygon([(0, 0), (0.01, 0), (0.01, 0.01), (0.01, 0.02), (0.01, 0.01), (0, 0.01),
                     (0, 0)])
    assert not spike.is_valid
    naive = shapely.make_valid(spike)  # the default (linework) method
    assert naive.geom_type == "GeometryCollection"
    assert {g.geom_type for g in naive.geoms} == {"Polygon", "LineString"}
    part = polygonal_part(naive)
    assert part.geom_type == "MultiPolygon" and len(part.geoms) == 1
    assert geodesic_area(part) == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)
    fixed, reason = repair_polygonal(spike)
    assert reason and fixed.geom_type == "MultiPolygon"
    assert all(g.geom_type == "Polygon" for g in fixed.geoms)
    assert geodesic_area(fixed) == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)
    # and through import
    import_source(store, geojson(tmp_path, [shapely.geometry.mapping(spike)]),
                  write_profile(tmp_path, HAZARD_VECTOR))
    hz = store.read_layer("hazards").iloc[0]
    assert hz.geometry_status == "repaired"
    assert hz.geometry.geom_type == "MultiPolygon"
    assert all(g.geom_type == "Polygon" for g in hz.geometry.geoms)
    assert hz.area_m2 == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)
    assert shapely.from_wkb(hz.source_geometry).equals(spike)


# --- ODK geoshape strings ---------------------------------------------------------------------

HAZARD_GEOSHAPE = """\
name: pitfall-geoshape
layer: hazards
country: COL
read: {format: csv}
geometry: {geoshape: shape}
fields:
  hazard_type: {value: SHA}
  local_id: {column: id}
"""

# the 0.01° square at the equator as ODK writes it: "lat lon alt acc", counter-clockwise
_SQ = [(0, 0), (0, 0.01), (0.01, 0.01), (0.01, 0)]  # (lat, lon)
SQUARE_LONLAT = [(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01), (0, 0)]


def _odk(points, sep=";"):
    return sep.join(f"{lat} {lon} 2600.0 5.0" for lat, lon in points)


GEOSHAPES = {
    "closed": _odk(_SQ + _SQ[:1]),
    "space_after_semicolon": _odk(_SQ + _SQ[:1], sep="; "),
    "trailing_semicolon": _odk(_SQ + _SQ[:1]) + ";",
    "trailing_semicolon_and_space": _odk(_SQ + _SQ[:1], sep="; ") + "; ",
    "repeated_vertices": _odk([_SQ[0], _SQ[1], _SQ[1], _SQ[2], _SQ[2], _SQ[2], _SQ[3], _SQ[0],
                               _SQ[0]]),
    "not_closed": _odk(_SQ),
}


def test_geoshape_strings_import_to_the_same_polygon(store, tmp_path):
    """Pitfall: ODK geoshape text ("lat lon alt acc;…") written with a space after each ';',
    a trailing ';', repeated vertices (GPS taps twice) or left unclosed. Each must give the
    same 0.01° square, in lon/lat, closed, with the right area."""
    path = data_folder(tmp_path) / "shapes.csv"
    lines = ["id,shape"] + [f'{k},"{v}"' for k, v in GEOSHAPES.items()]
    path.write_text("\n".join(lines) + "\n")
    report = import_source(store, path, write_profile(tmp_path, HAZARD_GEOSHAPE))
    assert report.total("inserted") == len(GEOSHAPES) and report.total("quarantined") == 0
    hz = hazards_by_id(store)
    for key in GEOSHAPES:
        row = hz.loc[key]
        assert row.geometry_status == "ok", (key, row.geometry_note)
        assert ring(row.geometry) == SQUARE_LONLAT, key
        assert row.area_m2 == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7), key


@pytest.mark.parametrize("text,distinct", [
    (_odk([(0, 0), (0, 0.01), (0, 0)]), 2),
    (_odk([(0, 0), (0, 0.01), (0, 0.01), (0, 0)]) + ";", 2),
    (_odk([(0, 0), (0, 0.01), (0, 0), (0, 0.01), (0, 0)]), 2),
    (_odk([(4.6, -74.1)]), 1),
])
def test_geoshape_with_fewer_than_three_distinct_vertices_is_flagged_not_lost(
        store, tmp_path, text, distinct):
    """Pitfall: a geoshape with fewer than three distinct vertices (a line or a point) is no
    polygon. The row is stored with geometry_status 'unparseable' and a note naming the
    column and the count; it is not dropped."""
    path = data_folder(tmp_path) / "degenerate.csv"
    path.write_text(f'id,shape\nGOOD,"{GEOSHAPES["closed"]}"\nBAD,"{text}"\n')
    report = import_source(store, path, write_profile(tmp_path, HAZARD_GEOSHAPE))
    assert report.total("inserted") == 2 and report.total("quarantined") == 0
    bad = hazards_by_id(store).loc["BAD"]
    assert bad.geometry is None and bad.geometry_status == "unparseable"
    assert "'shape'" in bad.geometry_note
    assert f"at least 3 distinct vertices, got {distinct}" in bad.geometry_note
    assert any("row 2" in n and "unparseable" in n for n in report.files[0].notes)


# --- GeoJSON polygon without its ring nesting level -------------------------------------------

def test_geojson_polygon_missing_ring_nesting_is_repaired(store, tmp_path):
    """Pitfall: a GeoJSON Polygon written by hand as a list of positions instead of a list
    of rings (RFC 7946 §3.1.6). GDAL reads it as null; it must be read as the exterior ring,
    flagged 'repaired' with a note on the nesting level, with the right area."""
    flat = {"type": "Polygon", "coordinates": [[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01],
                                               [0, 0]]}
    path = data_folder(tmp_path) / "flat.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                    '"properties": {"id": "H1"}, "geometry": ' + json.dumps(flat) + "}]}")
    import_source(store, path, write_profile(tmp_path, HAZARD_VECTOR))
    hz = store.read_layer("hazards").iloc[0]
    assert hz.geometry_status == "repaired"
    assert "nesting level" in hz.geometry_note
    assert ring(hz.geometry) == SQUARE_LONLAT
    assert hz.area_m2 == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)


# --- Polygon and MultiPolygon in one layer ----------------------------------------------------

MIXED = [
    {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]},
    {"type": "MultiPolygon", "coordinates": [
        [[[1, 10], [1.01, 10], [1.01, 10.01], [1, 10.01], [1, 10]]],
        [[[1.02, 10], [1.04, 10], [1.04, 10.01], [1.02, 10.01], [1.02, 10]]]]},
]
MIXED_AREAS = {"H1": cell_area(0, 0, 0.01, 0.01),
               "H2": cell_area(1, 10, 1.01, 10.01) + cell_area(1.02, 10, 1.04, 10.01)}


@pytest.mark.parametrize("fmt", ["shp", "gpkg"])
def test_polygon_and_multipolygon_in_one_layer_survive_export(store_at, store, tmp_path, fmt):
    """Pitfall: a layer mixing Polygon and MultiPolygon; a writer that takes the first
    feature's type drops or fails on the other. Both import with the right areas, and
    export → import (with the profile written beside the export) keeps count and areas."""
    report = import_source(store, geojson(tmp_path, MIXED), write_profile(tmp_path, HAZARD_VECTOR))
    assert report.total("inserted") == 2
    hz = hazards_by_id(store)
    for key, area in MIXED_AREAS.items():
        assert hz.loc[key, "area_m2"] == pytest.approx(area, rel=1e-7)
    assert len(hz.loc["H2", "geometry"].geoms) == 2
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    exported = export_layer(store, "hazards", fmt, out_dir / f"hazards.{fmt}")
    assert exported.records == 2
    with open_store(store_at("back")) as back:
        again = import_source(back, exported.path, load_profile(exported.profile_path))
        assert again.total("inserted") == 2 and again.total("quarantined") == 0
        hz2 = hazards_by_id(back)
        assert len(hz2) == 2
        for key, area in MIXED_AREAS.items():
            assert hz2.loc[key, "area_m2"] == pytest.approx(area, rel=1e-6)
        assert len(hz2.loc["H2", "geometry"].geoms) == 2


# --- missing versus empty geometry ------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv", "shp"])
def test_missing_and_empty_geometry_stay_distinct_through_export(store_at, store, tmp_path, fmt):
    """Pitfall: a null geometry (not surveyed) and an empty one (surveyed, nothing left)
    collapse into one. GeoJSON null vs empty coordinates import as 'missing' vs 'empty', and
    an export → import round trip keeps the difference (Shapefile, which cannot hold an
    empty geometry, restores it from its geometry_status column)."""
    square = MIXED[0]
    path = geojson(tmp_path, [square, None, {"type": "Polygon", "coordinates": []}])
    import_source(store, path, write_profile(tmp_path, HAZARD_VECTOR))
    expected = {"H1": "ok", "H2": "missing", "H3": "empty"}

    def check(s):
        hz = hazards_by_id(s)
        assert hz.geometry_status.to_dict() == expected
        assert hz.loc["H2", "geometry"] is None
        assert hz.loc["H3", "geometry"] is not None and hz.loc["H3", "geometry"].is_empty
        assert hz.loc["H1", "area_m2"] == pytest.approx(EQUATOR_SQUARE_M2, rel=1e-7)

    check(store)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    exported = export_layer(store, "hazards", fmt, out_dir / f"hazards.{fmt}")
    with open_store(store_at("back")) as back:
        report = import_source(back, exported.path, load_profile(exported.profile_path))
        assert report.total("inserted") == 3 and report.total("quarantined") == 0
        check(back)


# --- times with UTC offsets -------------------------------------------------------------------

EVENTS_TIME = """\
name: pitfall-times
layer: events
country: COL
read: {{format: csv{tz}}}
fields:
  event_type: {{value: mine_incident}}
  local_id: {{column: id}}
  event_date: {{column: when}}
  event_time: {{column: when}}
"""


def test_time_with_utc_offset_is_stored_in_utc_and_dated_locally(store, tmp_path):
    """Pitfall: an offset dropped (23:30 stored as 23:30 UTC) or the date taken from the UTC
    instant (the next day). 2021-03-04T23:30:00-05:00 is 2021-03-05T04:30:00Z, and the
    event happened on 2021-03-04 where it happened."""
    path = data_folder(tmp_path) / "times.csv"
    path.write_text("id,when\nE1,2021-03-04T23:30:00-05:00\n")
    import_source(store, path, write_profile(tmp_path, EVENTS_TIME.format(tz="")))
    ev = store.read_layer("events").iloc[0]
    expected = dt.datetime(2021, 3, 5, 4, 30, tzinfo=dt.timezone.utc)
    assert ev.event_time == expected and ev.event_time.utcoffset() == dt.timedelta(0)
    assert ev.event_date == dt.date(2021, 3, 4)


def test_time_without_offset_and_no_timezone_is_quarantined(store, tmp_path):
    """Pitfall: a time without a UTC offset silently taken as UTC (or as the machine's zone).
    Without read.timezone the row is quarantined, naming the row and the field."""
    path = data_folder(tmp_path) / "times.csv"
    path.write_text("id,when\nE1,2021-03-04T23:30:00\n")
    report = import_source(store, path, write_profile(tmp_path, EVENTS_TIME.format(tz="")))
    assert report.total("inserted") == 0 and report.total("quarantined") == 1
    q = report.files[0].quarantined[0]
    assert q.locator == "row 1" and q.field == "event_time"
    assert "'event_time'" in q.reason and "UTC offset" in q.reason
    stored = store.read_table("quarantine").iloc[0]
    assert (stored.source_locator, stored.field) == ("row 1", "event_time")
    assert len(store.read_layer("events")) == 0


def test_time_without_offset_uses_the_declared_timezone(store, tmp_path):
    """Pitfall: local times without an offset; with read.timezone America/Bogota (UTC-5, no
    daylight saving) 23:30 local is 04:30 UTC the next day."""
    path = data_folder(tmp_path) / "times.csv"
    path.write_text("id,when\nE1,2021-03-04T23:30:00\n")
    profile = EVENTS_TIME.format(tz=", timezone: America/Bogota")
    import_source(store, path, write_profile(tmp_path, profile))
    ev = store.read_layer("events").iloc[0]
    assert ev.event_time == dt.datetime(2021, 3, 4, 23, 30, tzinfo=dt.timezone.utc) \
        + dt.timedelta(hours=5)
    assert ev.event_date == dt.date(2021, 3, 4)


# --- accented text in cp1252 ------------------------------------------------------------------

VICTIMS_TEXT = """\
name: pitfall-encoding
layer: victims
country: COL
read: {{format: csv{enc}}}
fields:
  site: {{column: sitio}}
  admin2_name: {{column: municipio}}
"""
CP1252_TEXT = ("sitio,municipio\n"
               "Señora Ñuñoa,Peñol\n"
               "Vereda La Unión,El Carmen de Viboral\n"
               "Escuela Simón Bolívar,San Andrés de Cuerquía\n")


def cp1252_csv(tmp_path):
    path = data_folder(tmp_path) / "victimas.csv"
    path.write_bytes(CP1252_TEXT.encode("cp1252"))
    return path


def _names(store):
    v = store.read_layer("victims")
    return list(zip(v.site, v.admin2_name))


EXPECTED_NAMES = [("Señora Ñuñoa", "Peñol"), ("Vereda La Unión", "El Carmen de Viboral"),
                  ("Escuela Simón Bolívar", "San Andrés de Cuerquía")]


def test_declared_cp1252_reads_exact_text(store, tmp_path):
    """Pitfall: accented text in a cp1252 file read as UTF-8 or Latin-1 garbles it."""
    import_source(store, cp1252_csv(tmp_path),
                  write_profile(tmp_path, VICTIMS_TEXT.format(enc=", encoding: cp1252")))
    assert _names(store) == EXPECTED_NAMES


def test_undeclared_cp1252_is_never_guessed(store, tmp_path):
    """Pitfall: an undeclared cp1252 file read with a wrong guess (cp1250 reads ñ as ń).
    The code pages that fit the bytes read it differently, so the import stops, naming the
    file and showing the readings — never a garbled name stored."""
    with pytest.raises(SourceError) as err:
        import_source(store, cp1252_csv(tmp_path),
                      write_profile(tmp_path, VICTIMS_TEXT.format(enc="")))
    message = str(err.value)
    assert "victimas.csv" in message and "as cp1252: 'Señora Ñuñoa,Peñol'" in message
    assert "as cp1250: 'Seńora Ńuńoa,Peńol'" in message
    assert len(store.read_layer("victims")) == 0


def test_wrongly_declared_utf8_names_the_file_and_byte(store, tmp_path):
    """Pitfall: a cp1252 file declared UTF-8 read with errors='replace' (� in the names).
    It must be refused with a SourceError naming the file and the first bad byte."""
    path = cp1252_csv(tmp_path)
    first_bad = next(i for i, b in enumerate(path.read_bytes()) if b >= 0x80)
    assert CP1252_TEXT.encode("cp1252")[first_bad] == "ñ".encode("cp1252")[0]
    with pytest.raises(SourceError) as err:
        import_source(store, path,
                      write_profile(tmp_path, VICTIMS_TEXT.format(enc=", encoding: utf-8-sig")))
    assert "victimas.csv" in str(err.value) and f"byte {first_bad}" in str(err.value)
    assert len(store.read_layer("victims")) == 0


# --- KML with altitude ------------------------------------------------------------------------

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
<Document>
  <Placemark>
    <name>H1</name>
    <Polygon>
      <altitudeMode>absolute</altitudeMode>
      <outerBoundaryIs><LinearRing><coordinates>
        -75.2,6.1,2150 -75.19,6.1,2400.5 -75.19,6.11,3100 -75.2,6.11,1800 -75.2,6.1,2150
      </coordinates></LinearRing></outerBoundaryIs>
    </Polygon>
  </Placemark>
</Document>
</kml>
"""


def test_kml_coordinates_with_altitude_are_stored_2d(store, tmp_path):
    """Pitfall: KML coordinates are lon,lat,alt; altitude read as latitude (or kept as Z and
    fed into the area). Stored 2D with the right lon/lat; area that of the flat cell."""
    path = data_folder(tmp_path) / "hazards.kml"
    path.write_text(KML)
    profile = write_profile(tmp_path, "layer: hazards\ncountry: COL\nread: {format: vector}\n"
                            "fields:\n  hazard_type: {value: SHA}\n  local_id: {column: Name}\n")
    import_source(store, path, profile)
    hz = store.read_layer("hazards").iloc[0]
    assert hz.local_id == "H1"
    assert not hz.geometry.has_z
    assert ring(hz.geometry) == [(-75.2, 6.1), (-75.19, 6.1), (-75.19, 6.11), (-75.2, 6.11),
                                 (-75.2, 6.1)]
    assert hz.area_m2 == pytest.approx(cell_area(-75.2, 6.1, -75.19, 6.11), rel=1e-6)
