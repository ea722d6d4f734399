"""Data quality rules: for each, an input that must be flagged and a near miss that must not."""

from __future__ import annotations

import json

import pytest
import shapely

from mineledger import QueryError, import_source, open_store
from mineledger.ledger.quality import CATALOGUE, mark_finding, run_checks
from tests.test_geo import metric_square
from tests.test_lifecycle import (ACTIVITY_COLS, HAZARD_COLS, OUTCOME_COLS, activity,
                                  hazard, outcome, write)

SQ = metric_square(17.0, 44.0, 100.0)
NEAR = shapely.affinity.translate(SQ, xoff=0.01)
COUNTRY = shapely.box(16.9, 43.9, 17.2, 44.2)  # the test country's outline
DISTRICT_A = shapely.box(16.9, 43.9, 17.05, 44.2)
DISTRICT_B = shapely.box(17.05, 43.9, 17.2, 44.2)


@pytest.fixture
def store(store_at, tmp_path):
    with open_store(store_at("q")) as s:
        feats = [{"type": "Feature", "properties": {"shapeName": n, "shapeID": c, "shapeGroup": "XKX",
                                                    "shapeType": f"ADM{lvl}"},
                  "geometry": json.loads(shapely.to_geojson(g))}
                 for n, c, lvl, g in [("Country", "X0", 1, COUNTRY), ("A", "XA", 2, DISTRICT_A),
                                      ("B", "XB", 2, DISTRICT_B)]]
        d = tmp_path / "data"
        d.mkdir()
        (d / "SOURCES.md").write_text("t\n")
        (d / "admin.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
        import_source(s, d / "admin.geojson", "geoboundaries")
        yield s


def findings(store, rule_id):
    return [f for f in run_checks(store, "XKX", [rule_id]) if f["rule_id"] == rule_id]


def hazards_of(store, tmp_path, *rows, name="h.csv"):
    import_source(store, write(tmp_path / "data", name, HAZARD_COLS, list(rows)), "completion-hazards")


def victims_of(store, tmp_path, csv_text, fields):
    """Import a small victims CSV (lon, lat and the given columns) with a profile mapping
    ``fields`` (stored field → column); returns the CSV path and the profile path."""
    path = tmp_path / "data" / "v.csv"
    path.write_text(csv_text)
    prof = tmp_path / "v.yaml"
    prof.write_text("layer: victims\ncountry: XKX\ngeometry: {x: lon, y: lat, crs: 'EPSG:4326'}\n"
                    "fields:\n" + "".join(f"  {f}: {{column: {c}}}\n" for f, c in fields.items()))
    import_source(store, path, str(prof))
    return path, prof


def test_every_rule_is_listed_with_id_severity_and_description():
    ids = [r.id for r in CATALOGUE]
    assert len(ids) == len(set(ids)) >= 15
    assert all(r.severity in ("error", "warning", "info") and r.description for r in CATALOGUE)


def test_missing_geometry(store, tmp_path):
    hazards_of(store, tmp_path, hazard("H1", wkt=""), hazard("H2"))
    found = findings(store, "GEOM-MISSING")
    assert len(found) == 1 and "geometry missing" in found[0]["reason"]


def test_invalid_geometry_with_its_reason(store, tmp_path):
    bow = shapely.Polygon([(17, 44), (17.001, 44.001), (17.001, 44), (17, 44.001), (17, 44)])
    hazards_of(store, tmp_path, hazard("H1", bow), hazard("H2"))
    found = findings(store, "GEOM-INVALID")
    assert len(found) == 1 and "Self-intersection" in found[0]["reason"]


def test_fewer_than_three_distinct_vertices(store, tmp_path):
    spike = "POLYGON ((17 44, 17.001 44.001, 17 44, 17.001 44.001, 17 44))"
    tri = "POLYGON ((17 44, 17.001 44.001, 17.001 44, 17 44))"
    hazards_of(store, tmp_path, {**hazard("H1"), "wkt": spike}, {**hazard("H2"), "wkt": tri})
    found = findings(store, "GEOM-FEW-VERTICES")
    assert len(found) == 1 and "2 distinct vertices" in found[0]["reason"]


def test_duplicate_consecutive_vertices(store, tmp_path):
    dup = "POLYGON ((17 44, 17.001 44, 17.0010000001 44, 17.001 44.001, 17 44.001, 17 44))"
    near = "POLYGON ((17 44, 17.001 44, 17.00101 44, 17.001 44.001, 17 44.001, 17 44))"
    hazards_of(store, tmp_path, {**hazard("H1"), "wkt": dup}, {**hazard("H2"), "wkt": near})
    found = findings(store, "GEOM-DUP-VERTEX")
    assert [f["reason"] for f in found] == ["1 pair(s) of consecutive vertices closer than 1e-06°"]


def test_long_edge(store, tmp_path):
    long = shapely.box(17.0, 44.0, 17.07, 44.001)   # about 5.6 km long
    short = shapely.box(17.0, 44.0, 17.06, 44.001)  # about 4.8 km
    hazards_of(store, tmp_path, hazard("H1", long), hazard("H2", short))
    found = findings(store, "GEOM-LONG-EDGE")
    assert len(found) == 1 and "an edge of 5,6" in found[0]["reason"]


def test_implausible_area(store, tmp_path):
    tiny = metric_square(17.0, 44.0, 4.0)   # 16 m²
    small = metric_square(17.0, 44.0, 6.0)  # 36 m²
    hazards_of(store, tmp_path, hazard("H1", tiny), hazard("H2", small))
    found = findings(store, "GEOM-AREA")
    assert len(found) == 1 and "below 25 m²" in found[0]["reason"]


def test_outside_country_with_sign_flip_and_swap_suggested(store, tmp_path):
    flipped = shapely.affinity.translate(metric_square(-17.1, 44.0, 100.0), 0, 0)
    swapped = metric_square(44.0, 17.1, 100.0)
    hazards_of(store, tmp_path, hazard("H1", flipped), hazard("H2", swapped), hazard("H3"))
    found = {f["reason"].split(":")[0]: f for f in findings(store, "GEOM-OUTSIDE-COUNTRY")}
    assert len(found) == 2
    fixes = sorted(f["suggested_fix"] for f in found.values())
    assert "longitude's sign flipped" in fixes[0] or "longitude's sign flipped" in fixes[1]
    assert any("latitude and longitude swapped" in f for f in fixes)


def test_admin_code_that_disagrees_with_the_location(store, tmp_path):
    victims_of(store, tmp_path, "code,lon,lat,year\nXA,17.01,44.0,2020\nXA,17.10,44.0,2020\n",
               {"admin_code": "code", "year": "year"})
    found = findings(store, "GEOM-ADMIN-MISMATCH")
    assert len(found) == 1 and "coded XA (A) but lies in" in found[0]["reason"] and "XB" in found[0]["reason"]


def test_overlapping_hazards_above_0_9_percent(store, tmp_path):
    width = SQ.bounds[2] - SQ.bounds[0]
    big = shapely.affinity.translate(SQ, xoff=width * 0.98)    # 2 % overlap
    small = shapely.affinity.translate(NEAR, xoff=width * 0.995)  # 0.5 % overlap
    hazards_of(store, tmp_path, hazard("H1"), hazard("H2", big), hazard("H3", NEAR), hazard("H4", small))
    found = findings(store, "GEOM-OVERLAP")
    assert len(found) == 1 and "2.0 % of the smaller" in found[0]["reason"]


def test_duplicate_geometries_flagged_not_deleted(store, tmp_path):
    reversed_ring = shapely.Polygon(list(SQ.exterior.coords)[::-1])
    hazards_of(store, tmp_path, hazard("H1"), hazard("H2", reversed_ring), hazard("H3", NEAR))
    found = findings(store, "GEOM-DUPLICATE")
    assert len(found) == 1 and len(store.read_layer("hazards")) == 3


def test_dates_out_of_range_and_end_before_start(store, tmp_path):
    hazards_of(store, tmp_path, hazard("H1", doi="2099-01-01"), hazard("H2", NEAR, doi="1890-05-01"),
               hazard("H3", doi="2020-01-01"))
    reasons = sorted(f["reason"] for f in findings(store, "ATTR-DATE-RANGE"))
    assert reasons == ["date_of_information 1890-05-01 is before 1900",
                       "date_of_information 2099-01-01 is in the future"]


def test_year_far_from_the_rest_of_its_source(store, tmp_path):
    years = [1984] + [1990 + i % 10 for i in range(30)]
    path, prof = victims_of(store, tmp_path, "lon,lat,year\n" + "".join(f"17.01,44.0,{y}\n" for y in years),
                            {"year": "year"})
    found = findings(store, "ATTR-YEAR-OUTLIER")
    assert len(found) == 1 and found[0]["reason"].startswith("year 1984")
    path.write_text("lon,lat,year\n" + "".join(f"17.01,44.0,{y}\n" for y in [1986] + years[1:]))
    import_source(store, path, str(prof))  # 1986 is within five years of 1990: a near miss
    assert findings(store, "ATTR-YEAR-OUTLIER") == []


def test_code_not_in_the_gazetteer(store, tmp_path):
    victims_of(store, tmp_path, "code,lon,lat\nXA,17.01,44.0\nXZ,17.01,44.0\n", {"admin_code": "code"})
    found = findings(store, "ATTR-CODE-UNKNOWN")
    assert len(found) == 1 and "XZ" in found[0]["reason"]


def test_released_greater_than_the_hazard(store, tmp_path):
    hazards_of(store, tmp_path, hazard("H1"), hazard("H2", NEAR))
    import_source(store, write(tmp_path / "data", "o.csv", OUTCOME_COLS, [
        outcome("O1", "H1", "cleared", metric_square(17.0, 44.0, 120.0)),
        outcome("O2", "H2", "cleared", NEAR)]), "completion-outcomes")
    found = findings(store, "LR-RELEASED-GT-SUSPECTED")
    assert len(found) == 1 and "14,4" in found[0]["reason"]


def test_status_contradicting_remaining_area(store, tmp_path):
    hazards_of(store, tmp_path, hazard("H1", status="closed"), hazard("H2", NEAR, status="closed"))
    import_source(store, write(tmp_path / "data", "o.csv", OUTCOME_COLS, [
        outcome("O1", "H1", "cleared", shapely.box(*SQ.bounds[:2], SQ.bounds[2], (SQ.bounds[1] + SQ.bounds[3]) / 2)),
        outcome("O2", "H2", "cleared", NEAR.buffer(1e-6))]), "completion-outcomes")
    found = findings(store, "LR-STATUS-REMAINING")
    assert len(found) == 1 and "status closed with 5,0" in found[0]["reason"]


def test_land_both_released_and_suspected(store, tmp_path):
    hazards_of(store, tmp_path, hazard("H1"), hazard("H2", NEAR))
    half = shapely.box(SQ.bounds[0], SQ.bounds[1], (SQ.bounds[0] + SQ.bounds[2]) / 2, SQ.bounds[3])
    touching = shapely.affinity.translate(NEAR, xoff=NEAR.bounds[2] - NEAR.bounds[0])
    import_source(store, write(tmp_path / "data", "o.csv", OUTCOME_COLS, [
        outcome("O1", "", "cleared", half), outcome("O2", "", "cleared", touching)]), "completion-outcomes")
    found = findings(store, "LR-BOTH")
    assert len(found) == 1 and found[0]["reason"].startswith("5,0")


def test_marks_survive_later_runs_and_gone_findings_close(store, tmp_path):
    hazards_of(store, tmp_path, hazard("H1", wkt=""), hazard("H2", wkt=""))
    first = findings(store, "GEOM-MISSING")
    mark_finding(store, first[0]["fingerprint"][:12], "accepted", "map sheet lost")
    log = store.read_table("change_log")
    marked = log[log.layer == "quality_findings"].iloc[0]
    assert (marked.before["status"], marked.after["status"], marked.reason) == ("open", "accepted", "map sheet lost")
    again = {f["fingerprint"]: f for f in findings(store, "GEOM-MISSING")}
    assert again[first[0]["fingerprint"]]["status"] == "accepted"
    assert again[first[0]["fingerprint"]]["status_reason"] == "map sheet lost"
    hazards_of(store, tmp_path, hazard("H1", wkt=""), hazard("H2"))  # H2 gets its perimeter
    assert [f["status"] for f in findings(store, "GEOM-MISSING")] == ["accepted"]
    with pytest.raises(QueryError, match="a reason is required"):
        mark_finding(store, first[0]["fingerprint"], "resolved", " ")
    with pytest.raises(QueryError, match="no such finding"):
        mark_finding(store, "ffffffff", "resolved", "x")


def test_unknown_rule_is_refused(store):
    with pytest.raises(QueryError, match=r"unknown rule\(s\) \['NOPE'\]"):
        run_checks(store, "XKX", ["NOPE"])


def test_fix_is_a_dry_run_until_applied_and_reverts(store, tmp_path):
    from mineledger.ledger.quality.fixes import apply_fix, plan_fix, revert_fix

    flipped = metric_square(-17.1, 44.0, 100.0)
    hazards_of(store, tmp_path, hazard("H1", flipped), hazard("H2"))
    plan = plan_fix(store, "XKX", "GEOM-OUTSIDE-COUNTRY")
    assert [p["change"] for p in plan] == ["flip the longitude's sign"]
    assert findings(store, "GEOM-OUTSIDE-COUNTRY")  # the dry run changed nothing
    fix_id = apply_fix(store, "GEOM-OUTSIDE-COUNTRY", plan)
    assert findings(store, "GEOM-OUTSIDE-COUNTRY") == []
    moved = store.read_layer("hazards").set_index("local_id").loc["H1"]
    assert moved.geometry.bounds[0] == pytest.approx(17.1, abs=0.01)
    log = store.read_table("change_log")
    assert (log.import_id == fix_id).sum() == 1
    assert revert_fix(store, fix_id) == 1
    back = store.read_layer("hazards").set_index("local_id").loc["H1"]
    assert back.geometry.equals(moved.geometry) is False and back.geometry.bounds[0] < 0
    assert back.area_m2 == pytest.approx(moved.area_m2, rel=1e-9)
    with pytest.raises(QueryError, match="no automatic fix"):
        plan_fix(store, "XKX", "GEOM-OVERLAP")


def test_duplicate_vertex_fix_keeps_the_area(store, tmp_path):
    from mineledger.ledger.quality.fixes import apply_fix, plan_fix

    dup = "POLYGON ((17 44, 17.001 44, 17.0010000001 44, 17.001 44.001, 17 44.001, 17 44))"
    hazards_of(store, tmp_path, {**hazard("H1"), "wkt": dup})
    before = store.read_layer("hazards").area_m2[0]
    apply_fix(store, "GEOM-DUP-VERTEX", plan_fix(store, "XKX", "GEOM-DUP-VERTEX"))
    assert findings(store, "GEOM-DUP-VERTEX") == []
    # a vertex on an edge bends the geodesic edge a little: 5e-8 here
    assert store.read_layer("hazards").area_m2[0] == pytest.approx(before, rel=1e-6)


def test_import_warns_with_per_record_rules(tmp_path, store_at):
    from tests.conftest import run_cli

    d = tmp_path / "data"
    path = write(d, "h.csv", HAZARD_COLS, [hazard("H1", wkt=""), hazard("H2", metric_square(17.0, 44.0, 3.0))])
    result = run_cli("--store", store_at("w"), "import", str(path), "--profile", "completion-hazards")
    assert result.returncode == 0, result.stderr
    assert "quality: GEOM-AREA 1, GEOM-MISSING 1" in result.stderr


def test_reported_area_in_the_wrong_unit(store, tmp_path):
    path = tmp_path / "data" / "areas.csv"
    path.write_text(f'id,ha,wkt\nA1,1.0,"{SQ.wkt}"\nA2,10000,"{NEAR.wkt}"\n')
    prof = tmp_path / "a.yaml"
    prof.write_text("layer: hazards\ncountry: XKX\nkey: id\ngeometry: {wkt: wkt, crs: 'EPSG:4326'}\n"
                    "fields:\n  local_id: {column: id}\n  status: {value: open}\n"
                    "  reported_area_m2: {column: ha, parse: real, unit: ha}\n")
    import_source(store, path, str(prof))
    found = findings(store, "ATTR-AREA-UNITS")
    assert len(found) == 1 and "(× 1e+04)" in found[0]["reason"]
    assert "m² given where hectares were declared" in found[0]["suggested_fix"]


def test_report_figures_that_break_the_identity_or_the_polygons(store, tmp_path):
    hazards_of(store, tmp_path, hazard("H1"), hazard("H2", NEAR))
    import_source(store, write(tmp_path / "data", "a.csv", ACTIVITY_COLS, [
        activity("A1", "H1", "progress", "2023-03-01", cancelled_m2="0", reduced_m2="2000",
                 cleared_m2="5000", released_m2="8000"),
        activity("A2", "H2", "progress", "2023-03-01", cancelled_m2="0", reduced_m2="0",
                 cleared_m2="10000", released_m2="10000"),
        activity("A3", "H2", "progress", "2023-03-02", cancelled_m2="0", reduced_m2="0",
                 cleared_m2="1", released_m2="1")]), "completion-activities")
    rows = []
    for oid, aid in (("O2", "A2"), ("O3", "A3")):
        o = outcome(oid, "H2", "cleared", NEAR)
        o["activity_id"] = aid
        rows.append(o)
    import_source(store, write(tmp_path / "data", "o.csv", OUTCOME_COLS, rows), "completion-outcomes")
    reasons = sorted(f["reason"] for f in findings(store, "LR-IDENTITY"))
    # A2's cleared figure agrees with its polygon (10,000 m² within 1 %): the near miss
    assert reasons == ["released 8,000 m² but cancelled + reduced + cleared = 7,000 m²",
                       "reports 1 m² cleared, its cleared polygons measure 10,000 m²"]


def test_thresholds_are_configurable_from_the_command_line(tmp_path, store_at):
    from tests.conftest import run_cli

    store = store_at("c")
    path = write(tmp_path / "data", "h.csv", HAZARD_COLS, [hazard("H1", metric_square(17.0, 44.0, 4.0))])
    run_cli("--store", store, "import", str(path), "--profile", "completion-hazards")
    default = run_cli("--store", store, "check", "--country", "XKX", "--rule", "GEOM-AREA", "--format", "json")
    lowered = run_cli("--store", store, "check", "--country", "XKX", "--rule", "GEOM-AREA",
                      "--set", "min_area_m2=10", "--format", "json")
    assert len(json.loads(default.stdout)) == 1 and json.loads(lowered.stdout) == []
    # a what-if: the stored finding is still open, not closed by the other threshold
    with open_store(store) as s:
        held = s.read_table("quality_findings")
    assert list(held["status"]) == ["open"]
    raised = run_cli("--store", store, "check", "--country", "XKX", "--rule", "GEOM-AREA",
                     "--set", "min_area_m2=1000000", "--format", "json")
    assert [f["status"] for f in json.loads(raised.stdout)] == ["open"]
    with open_store(store) as s:
        assert len(s.read_table("quality_findings")) == 1
    bad = run_cli("--store", store, "check", "--country", "XKX", "--set", "colour=3")
    assert bad.returncode == 2 and "unknown threshold" in bad.stderr


def test_a_year_in_the_future_is_flagged_whatever_the_years_of_its_source(store, tmp_path):
    """A source of two years (ATTR-YEAR-OUTLIER needs three): 2091 is still flagged, as a
    date of 2091 would be; a year before 1900 too; the year of a dated event is not flagged
    twice."""
    path = tmp_path / "data" / "e.csv"
    path.write_text("id,year,date,lon,lat\nE1,2005,,17.01,44.0\nE2,2091,,17.01,44.0\n")
    prof = tmp_path / "e.yaml"
    prof.write_text("layer: events\ncountry: XKX\nkey: id\ngeometry: {x: lon, y: lat, crs: 'EPSG:4326'}\n"
                    "fields:\n  local_id: id\n  event_type: {value: accident_ap_mine}\n"
                    "  year: year\n  event_date: date\n")
    report = import_source(store, path, str(prof))
    assert report.warnings == {"ATTR-DATE-RANGE": 1}
    assert findings(store, "ATTR-YEAR-OUTLIER") == []
    uuids = store.read_layer("events").set_index("uuid")["local_id"]
    assert {uuids[f["record_uuid"]]: f["reason"] for f in findings(store, "ATTR-DATE-RANGE")} \
        == {"E2": "year 2091 is in the future"}
    path.write_text("id,year,date,lon,lat\nE3,1899,,17.01,44.0\nE4,2092,2092-01-01,17.01,44.0\n")
    import_source(store, path, str(prof))
    uuids = store.read_layer("events").set_index("uuid")["local_id"]
    assert {uuids[f["record_uuid"]]: f["reason"] for f in findings(store, "ATTR-DATE-RANGE")} \
        == {"E2": "year 2091 is in the future", "E3": "year 1899 is before 1900",
            "E4": "event_date 2092-01-01 is in the future"}
    victims_of(store, tmp_path, "lon,lat,year\n17.01,44.0,2091\n17.01,44.0,2019\n", {"year": "year"})
    assert [f["reason"] for f in findings(store, "ATTR-DATE-RANGE") if f["layer"] == "victims"] \
        == ["year 2091 is in the future"]


def test_changes_name_a_fix_by_its_id_and_a_mark_as_an_edit(store, tmp_path):
    from mineledger.ledger.history import changes
    from mineledger.ledger.quality.fixes import apply_fix, plan_fix

    dup = "POLYGON ((17 44, 17.001 44, 17.0010000001 44, 17.001 44.001, 17 44.001, 17 44))"
    hazards_of(store, tmp_path, {**hazard("H1"), "wkt": dup}, hazard("H2", wkt=""))
    fix_id = apply_fix(store, "GEOM-DUP-VERTEX", plan_fix(store, "XKX", "GEOM-DUP-VERTEX"))
    mark_finding(store, findings(store, "GEOM-MISSING")[0]["fingerprint"][:12], "accepted",
                 "map sheet lost")
    rows = changes(store, "2000-01-01")
    fix = [r for r in rows if r["kind"] == "fix"]
    assert len(fix) == 1 and fix[0]["id"] == fix_id
    assert fix[0]["changed"] == {"hazards update": 1}
    edits = [r for r in rows if r["kind"] == "edit" and "quality_findings update" in r["changed"]]
    assert len(edits) == 1 and edits[0]["id"] is None
    assert [r["kind"] for r in rows][:2] == ["import", "import"]  # the areas, the hazards
