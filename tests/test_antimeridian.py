"""Polygons across ±180° (Fiji, Kiribati, Chukotka): flagged at import, stored cut along the
antimeridian (RFC 7946 §3.1.9) with the original kept, and every figure equal to the geodesic
area pyproj's Geod gives the polygon as drawn — on both back ends, within 0.1 %."""

from __future__ import annotations

import json

import pyogrio
import pytest
import shapely
from pyproj import Geod
from shapely import Polygon

from mineledger import import_source, open_store
from mineledger.geo.antimeridian import crosses_antimeridian
from mineledger.land.landrelease import ledger
from mineledger.land.summary import summary
from mineledger.ledger.export import export_layer
from mineledger.ledger.quality import run_checks
from tests.test_lifecycle import HAZARD_COLS, OUTCOME_COLS, hazard, outcome, write

GEOD = Geod(ellps="WGS84")
HAZARD = Polygon([(179.5, -17), (-179.5, -17), (-179.5, -16), (179.5, -16)])  # 1° square
CLEARED = Polygon([(179.8, -16.8), (-179.8, -16.8), (-179.8, -16.2), (179.8, -16.2)])
PROVINCE = Polygon([(178.5, -18), (-178.5, -18), (-178.5, -15), (178.5, -15)])


def geod_m2(polygon) -> float:
    area, _ = GEOD.geometry_area_perimeter(shapely.orient_polygons(polygon))
    return abs(area)


def _province(folder):
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"shapeGroup": "FJI", "shapeType": "ADM1",
                                          "shapeID": "FJ-N", "shapeName": "Northern"},
        "geometry": shapely.geometry.mapping(PROVINCE)}]}
    path = folder / "province.geojson"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def fiji(store_at, tmp_path):
    d = tmp_path / "fiji"
    with open_store(store_at("fji")) as store:
        report = import_source(store, write(d, "hazards.csv", HAZARD_COLS, [
            {**hazard("H1", HAZARD, doi="2020-01-01"), "country": "FJI"}]), "completion-hazards")
        import_source(store, write(d, "outcomes.csv", OUTCOME_COLS, [
            {**outcome("R1", "H1", "cleared", CLEARED, date="2021-01-01"), "country": "FJI"}]),
            "completion-outcomes")
        import_source(store, _province(d), "geoboundaries")
        yield store, report


def test_a_polygon_across_the_antimeridian_is_flagged_and_stored_cut(fiji):
    store, report = fiji
    assert report.files[0].geometry_flags == {"antimeridian": 1}
    stored = store.read_layer("hazards", "FJI").iloc[0]
    assert stored["geometry_status"] == "antimeridian"
    assert "RFC 7946" in stored["geometry_note"]
    assert len(stored.geometry.geoms) == 2 and not crosses_antimeridian(stored.geometry)
    minx, _, maxx, _ = stored.geometry.bounds
    assert (minx, maxx) == (-180.0, 180.0)
    assert shapely.from_wkb(stored["source_geometry"]).equals(HAZARD)  # the original, kept
    assert stored["area_m2"] == pytest.approx(geod_m2(HAZARD), rel=1e-3)


def test_every_figure_is_the_geodesic_area(fiji):
    store, _ = fiji
    hazard_m2, cleared_m2 = geod_m2(HAZARD), geod_m2(CLEARED)
    figures = summary(store, "FJI")
    assert figures["hazards"]["distinct_area_m2"] == pytest.approx(hazard_m2, rel=1e-3)
    rows = {r["code"]: r["area_m2"] for r in figures["hazards"]["by_admin"]}
    assert rows["FJ-N"] == pytest.approx(hazard_m2, rel=1e-3)
    assert rows["unassigned"] == pytest.approx(0, abs=1e-6 * hazard_m2)
    for by in ("admin1", "year", "hazard"):
        total = ledger(store, "FJI", by)[-1]
        assert total["cleared_m2"] == pytest.approx(cleared_m2, rel=1e-3), by
        assert total["remaining_m2"] == pytest.approx(hazard_m2 - cleared_m2, rel=1e-3), by
        assert total["recorded_m2"] == pytest.approx(hazard_m2, rel=1e-3), by
    assert figures["land_release"]["remaining_m2"] == pytest.approx(hazard_m2 - cleared_m2,
                                                                     rel=1e-3)
    findings = run_checks(store, "FJI")
    (big,) = [f for f in findings if f["rule_id"] == "GEOM-AREA" and f["layer"] == "hazards"]
    assert big["reason"].startswith(f"area {hazard_m2:,.3g} m² is above")  # 1.18e+10, not 4.2e+12
    assert not any(f["rule_id"] in ("GEOM-OUTSIDE-COUNTRY", "GEOM-LONG-EDGE")
                   and "359" in f["reason"] for f in findings)
    assert not any(f["rule_id"] == "GEOM-OUTSIDE-COUNTRY" for f in findings)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_an_export_keeps_the_cut_and_its_area(fiji, tmp_path, fmt):
    store, _ = fiji
    out = tmp_path / f"h.{fmt}"
    export_layer(store, "hazards", fmt, out, country="FJI")
    back = pyogrio.read_dataframe(out)
    geom = back.geometry.iloc[0]
    assert not crosses_antimeridian(geom)
    assert sum(geod_m2(p) for p in geom.geoms) == pytest.approx(geod_m2(HAZARD), rel=1e-3)
