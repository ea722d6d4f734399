"""Export to every format, filters, HXL, RFC 7946, and round trips back through import."""

from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import math
import sys
import zipfile

import numpy as np
import pytest
import shapely
import yaml

from tests.conftest import run_cli
from mineledger.errors import QueryError, SourceError
from mineledger.ledger.export import FORMATS, SUFFIX, export_layer, select_records
from mineledger.ledger.importer import import_source
from mineledger import open_store

HAZARDS_CSV = """\
id,wkt,seen,status,sheet,reported
H1,"POLYGON ((18 44, 18.01 44, 18.01 44.01, 18 44.01, 18 44))",2021-03-04,open,Šipovo č,1000
H2,"MULTIPOLYGON (((18.1 44.1, 18.11 44.1, 18.11 44.11, 18.1 44.1)), ((18.2 44.2, 18.21 44.2, 18.21 44.21, 18.2 44.2)))",2019-01-02,closed,"Bihać, 'Ž' “K”",
H3,MULTIPOLYGON EMPTY,,open,Žepče,
H4,,2022-12-31,worked_on,,2.5
H5,"POLYGON ((18.5 44.5, 18.6 44.6, 18.6 44.5, 18.5 44.6, 18.5 44.5))",2020-06-30,open,bow-tie,
"""
HAZARDS_PROFILE = """
name: hz
layer: hazards
country: BIH
key: [id]
geometry: {wkt: wkt, crs: EPSG:4326}
fields:
  local_id: {column: id}
  date_of_information: {column: seen}
  status: {column: status}
  hazard_type: {value: CHA}
  map_sheet: {column: sheet}
  reported_area_m2: {column: reported, unit: ha}
  beneficiaries: {value: 12}
"""
EVENTS_CSV = """\
id,lon,lat,at,killed,ok
E1,18.005,44.005,2021-03-04T23:30:00-05:00,1,yes
E2,,,2020-01-01T00:00:00Z,0,no
E3,18.3,44.3,,,
"""
EVENTS_PROFILE = """
name: ev
layer: events
country: BIH
key: [id]
geometry: {x: lon, y: lat, crs: EPSG:4326}
fields:
  local_id: {column: id}
  event_type: {value: mine_incident}
  event_time: {column: at}
  event_date: {column: at}
  killed: {column: killed}
  area_type: {column: ok, map: {"yes": rural, "no": urban}}
"""


@pytest.fixture
def store(store_at, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "h.csv").write_text(HAZARDS_CSV, encoding="utf-8")
    (data / "e.csv").write_text(EVENTS_CSV, encoding="utf-8")
    (tmp_path / "h.yaml").write_text(HAZARDS_PROFILE, encoding="utf-8")
    (tmp_path / "e.yaml").write_text(EVENTS_PROFILE, encoding="utf-8")
    with open_store(store_at("s")) as s:
        assert import_source(s, data / "h.csv", str(tmp_path / "h.yaml")).total("inserted") == 5
        assert import_source(s, data / "e.csv", str(tmp_path / "e.yaml")).total("inserted") == 3
        yield s


def same(a, b) -> bool:
    """Values equal, with None, NaN and NA all 'missing'."""
    missing = lambda v: v is None or v is np.nan or (isinstance(v, float) and math.isnan(v)) \
        or str(v) in ("<NA>", "NaT")
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return a == b


def same_geometry(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a.is_empty or b.is_empty:
        return a.is_empty and b.is_empty
    return shapely.equals_exact(shapely.normalize(shapely.MultiPolygon([a]) if a.geom_type == "Polygon" else a),
                                shapely.normalize(shapely.MultiPolygon([b]) if b.geom_type == "Polygon" else b),
                                1e-7) or shapely.equals_exact(a, b, 1e-7)


FIELDS = {"hazards": ["country", "local_id", "date_of_information", "status", "hazard_type",
                      "map_sheet", "reported_area_m2", "beneficiaries", "area_m2"],
          "events": ["country", "local_id", "event_type", "event_time", "event_date", "killed",
                     "area_type"]}


@pytest.mark.parametrize("layer", ["hazards", "events"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_records_attributes_geometries_and_times(store_at, tmp_path, store, fmt, layer):
    out = tmp_path / "out" / f"{layer}{SUFFIX[fmt]}"
    out.parent.mkdir()
    report = export_layer(store, layer, fmt, out)
    assert report.records == (5 if layer == "hazards" else 3)
    assert report.profile_path == out.with_name(out.name + ".profile.yaml")
    with open_store(store_at("back")) as back:
        imported = import_source(back, out, str(report.profile_path))
        assert (imported.total("inserted"), imported.total("quarantined")) == (report.records, 0)
        a = store.read_layer(layer).set_index("uuid")
        b = back.read_layer(layer).set_index("uuid")
    assert sorted(a.index) == sorted(b.index)  # the record UUIDs themselves come back
    for uid in a.index:
        for name in FIELDS[layer]:
            assert same(a.loc[uid, name], b.loc[uid, name]), (fmt, uid, name, a.loc[uid, name],
                                                              b.loc[uid, name])
        assert same_geometry(a.loc[uid, "geometry"], b.loc[uid, "geometry"]), (fmt, uid)
        # a repaired geometry comes back as it was stored, still flagged repaired
        assert b.loc[uid, "geometry_status"] == a.loc[uid, "geometry_status"], (fmt, uid)
        assert same(a.loc[uid, "geometry_note"], b.loc[uid, "geometry_note"]), (fmt, uid)
        # the file's provenance columns are not read as attributes: nothing is added
        assert same(a.loc[uid, "attributes"], b.loc[uid, "attributes"]), (fmt, uid,
                                                                        b.loc[uid, "attributes"])
    if layer == "events":
        e1 = b[b["local_id"] == "E1"].iloc[0]
        assert e1["event_time"] == dt.datetime(2021, 3, 5, 4, 30, tzinfo=dt.timezone.utc)
        assert e1["event_date"] == dt.date(2021, 3, 4)


def test_exported_hazards_keep_missing_and_empty_apart(tmp_path, store):
    got = store.read_layer("hazards").set_index("local_id")
    assert (got.loc["H3", "geometry_status"], got.loc["H4", "geometry_status"]) == ("empty", "missing")
    out = tmp_path / "h.geojson"
    export_layer(store, "hazards", "geojson", out)
    features = {f["properties"]["local_id"]: f for f in json.loads(out.read_text())["features"]}
    assert features["H4"]["geometry"] is None
    assert features["H3"]["geometry"] == {"type": "MultiPolygon", "coordinates": []}


def test_geojson_follows_rfc_7946(tmp_path, store):
    out = tmp_path / "h.geojson"
    export_layer(store, "hazards", "geojson", out)
    doc = json.loads(out.read_text())
    assert "crs" not in doc  # RFC 7946 §4: WGS 84 longitude/latitude, no crs member
    ring = doc["features"][0]["geometry"]["coordinates"][0][0]
    assert shapely.LinearRing(ring).is_ccw  # §3.1.6: exteriors counter-clockwise
    assert ring[0] == [18.0, 44.0] or [18.0, 44.0] in ring  # longitude first


def test_shapefile_export_says_what_it_cannot_carry(tmp_path, store):
    out = tmp_path / "h.shp"
    report = export_layer(store, "hazards", "shp", out)
    joined = " ".join(report.notes)
    assert "reported_area_m2 → reported_a" in joined and "date_of_information → date_of_in" in joined
    assert "1 empty geometry is written as null" in joined
    profile = yaml.safe_load(out.with_name("h.shp.profile.yaml").read_text())
    assert profile["fields"]["reported_area_m2"] == {"column": "reported_a"}
    assert profile["geometry"] == {"status_column": "geometry_s", "note_column": "geometry_n"}


def test_csv_with_bom_and_hxl(store_at, tmp_path, store):
    out = tmp_path / "e.csv"
    export_layer(store, "events", "csv", out, hxl=True, bom=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    header, tags = rows[0], rows[1]
    tag = dict(zip(header, tags))
    assert (tag["country"], tag["killed"], tag["latitude"], tag["longitude"], tag["event_date"]) == (
        "#country+code", "#affected+killed", "#geo+lat", "#geo+lon", "#date+occurred")
    assert tag["admin_code"] == "#adm2+code" and tag["beneficiaries" if "beneficiaries" in tag else "uuid"]
    e1 = dict(zip(header, next(r for r in rows[2:] if "E1" in r)))
    assert (e1["longitude"], e1["latitude"], e1["event_time"]) == ("18.005", "44.005",
                                                                   "2021-03-05T04:30:00Z")
    # a partner's profile reads the export by its tags
    profile = tmp_path / "by-tags.yaml"
    profile.write_text("""
layer: events
country: BIH
key: ["#meta+id"]
geometry: {x: "#geo+lon", y: "#geo+lat", crs: EPSG:4326}
fields:
  event_type: {column: "#event+type"}
  killed: {column: "#affected+killed"}
  event_date: {column: "#date+occurred"}
""", encoding="utf-8")
    with open_store(store_at("b")) as back:
        assert import_source(back, out, str(profile)).total("inserted") == 3
        got = back.read_layer("events")
        assert sorted(got["killed"].dropna().astype(int)) == [0, 1]


def test_filters_by_status_date_country_and_admin_area(tmp_path, store):
    assert sorted(select_records(store, "hazards", status=["open"])["local_id"]) == ["H1", "H3", "H5"]
    notes: list[str] = []
    picked = select_records(store, "hazards", date_from="2020-01-01", date_to="2021-12-31", notes=notes)
    assert sorted(picked["local_id"]) == ["H1", "H5"]
    assert notes == ["1 hazards record(s) with no date_of_information left out by --from/--to"]
    assert select_records(store, "hazards", country="COL").empty
    # an administrative area: records whose geometry meets it
    area = tmp_path / "data" / "adm.csv"
    area.write_text('code,name,wkt\nX1,Box,"POLYGON ((17.9 43.9, 18.15 43.9, 18.15 44.15, 17.9 44.15, 17.9 43.9))"\n',
                    encoding="utf-8")
    (tmp_path / "adm.yaml").write_text("""
layer: admin_areas
country: BIH
key: [code]
geometry: {wkt: wkt, crs: EPSG:4326}
fields:
  code: {column: code}
  name: {column: name}
  level: {value: 3}
""", encoding="utf-8")
    import_source(store, area, str(tmp_path / "adm.yaml"))
    assert sorted(select_records(store, "hazards", admin="X1")["local_id"]) == ["H1", "H2"]
    assert list(select_records(store, "events", admin="X1")["local_id"]) == ["E1"]
    with pytest.raises(QueryError, match="--admin 'X9': no administrative area with that code"):
        select_records(store, "hazards", admin="X9")
    with pytest.raises(QueryError, match="--status: layer 'events' has no status field"):
        select_records(store, "events", status=["open"])
    with pytest.raises(QueryError, match="--status 'opened'; expected one of open"):
        select_records(store, "hazards", status=["opened"])
    with pytest.raises(QueryError, match="--from .2020-13-01.: expected a date as YYYY, YYYY-MM or YYYY-MM-DD"):
        select_records(store, "hazards", date_from="2020-13-01")


def test_export_refuses_to_overwrite_and_checks_its_arguments(tmp_path, store):
    out = tmp_path / "h.gpkg"
    export_layer(store, "hazards", "gpkg", out)
    with pytest.raises(SourceError, match="h.gpkg exists; pass --overwrite"):
        export_layer(store, "hazards", "gpkg", out)
    assert export_layer(store, "hazards", "gpkg", out, status=["closed"], overwrite=True).records == 1
    with pytest.raises(QueryError, match="a csv export needs a name ending in .csv"):
        export_layer(store, "hazards", "csv", tmp_path / "h.txt")
    with pytest.raises(QueryError, match="--hxl applies to csv and xlsx"):
        export_layer(store, "hazards", "gpkg", tmp_path / "x.gpkg", hxl=True)
    with pytest.raises(SourceError, match="the folder .* does not exist"):
        export_layer(store, "hazards", "csv", tmp_path / "nowhere" / "h.csv")


def test_export_through_the_cli(tmp_path, store):
    out = tmp_path / "h.xlsx"
    result = run_cli("--store", store.location, "export", "hazards", "--format", "xlsx",
                     "--out", str(out), "--status", "open", "--status", "closed")
    assert result.returncode == 0, result.stderr
    assert f"{out}: 4 hazards record(s) as xlsx" in result.stdout
    result = run_cli("--store", store.location, "export", "hazards", "--format", "csv",
                     "--out", str(out.with_suffix(".csv")), "--from", "yesterday")
    assert result.returncode == 2 and "error: --from 'yesterday': expected a date" in result.stderr


def test_profile_infer_and_check_through_the_cli(tmp_path, store):
    src = tmp_path / "data" / "acc.csv"
    src.write_text("fecha,departamento,muertos,heridos,latitud,longitud,tipo\n"
                   "04/03/2021,Antioquia,1,2,\"6,25\",\"-75,56\",AP\n"
                   "25/12/2020,Meta,0,1,\"4,15\",\"-73,63\",AP\n", encoding="cp1252")
    draft = tmp_path / "draft.yaml"
    result = run_cli("profile", "infer", str(src), "--layer", "events", "--out", str(draft))
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(draft.read_text())
    assert doc["geometry"] == {"x": "longitud", "y": "latitud", "crs": "EPSG:4326", "decimal": ","}
    assert doc["fields"]["event_date"] == {"column": "fecha", "format": "dmy"}
    assert doc["fields"]["killed"] == {"column": "muertos"}
    assert doc["fields"]["admin1_name"] == {"column": "departamento"}
    assert doc["fields"]["event_type"]["map"] == {"AP": "CHOOSE"}
    assert doc["country"] == "CHOOSE-ISO3"
    result = run_cli("profile", "check", str(draft), str(src))
    assert result.returncode == 2 and "CHOOSE" in result.stderr  # a draft is not imported on a guess
    text = draft.read_text().replace("CHOOSE-ISO3", "COL").replace("AP: CHOOSE", "AP: accident_ap_mine")
    draft.write_text(text)
    result = run_cli("--store", store.location, "profile", "check", str(draft), str(src))
    assert result.returncode == 0, result.stderr
    assert "2 rows read; would store 2 (2 new, 0 changed, 0 unchanged) and quarantine 0" in result.stdout


@pytest.mark.realdata
@pytest.mark.parametrize("fmt", ["gpkg", "shp", "csv"])
def test_real_bih_hazards_round_trip(store_at, tmp_path, real_store, fmt):
    """All 11,068 BiH hazards: same UUIDs, same geometries to 1e-7°, same area."""
    out = tmp_path / f"hazards{SUFFIX[fmt]}"
    report = export_layer(real_store, "hazards", fmt, out, country="BIH")
    assert report.records == 11068
    with open_store(store_at("back")) as back:
        imported = import_source(back, out, str(report.profile_path))
        assert (imported.total("inserted"), imported.total("quarantined")) == (11068, 0)
        b = back.read_layer("hazards").set_index("uuid")
    a = real_store.read_layer("hazards", "BIH").set_index("uuid")
    b = b.reindex(a.index)
    assert b["country"].notna().all()
    assert b["area_m2"].sum() == pytest.approx(a["area_m2"].sum(), rel=1e-9)
    assert round(b["area_m2"].sum() / 1e6, 2) == 812.31
    assert all(same_geometry(x, y) for x, y in zip(a.geometry.array, b.geometry.array))
    assert (b["geometry_status"] == "missing").sum() == 3094
    assert (b["geometry_status"] == "empty").sum() == 3
    assert (a["map_sheet"].fillna("") == b["map_sheet"].fillna("")).all()


# --- every layer × every filter (issue 15, section 4) ------------------------------------------

def _every_layer_store(store, folder):
    """One or two records in every layer of XKX: admin areas A1 ⊃ A2 and B1, hazards in A2 and
    B1, an activity, an outcome, devices, events (dated, known by year only, undated) and
    victims."""
    from tests.test_lifecycle import (ACTIVITY_COLS, DEVICE_COLS, HAZARD_COLS, OUTCOME_COLS, SQ,
                                      activity, hazard, outcome, write)
    far = shapely.affinity.translate(SQ, xoff=0.5)
    rep = folder / "rep"
    areas = ("code,level,parent,wkt\n"
             f'A1,1,,"{shapely.box(16.9, 43.9, 17.1, 44.1).wkt}"\n'
             f'A2,2,A1,"{shapely.box(16.95, 43.95, 17.05, 44.05).wkt}"\n'
             f'B1,1,,"{shapely.box(17.4, 43.9, 17.6, 44.1).wkt}"\n')
    rep.mkdir()
    (rep / "SOURCES.md").write_text("test\n")
    (rep / "areas.csv").write_text(areas)
    (rep / "events.csv").write_text("id,lon,lat,day,year\nE1,17.0005,44.0005,2022-02-02,\n"
                                    "E2,17.5,44.0,,2019\nE3,17.5,44.0,,\n")
    (rep / "victims.csv").write_text("id,lon,lat,year\nV1,17.0005,44.0005,2022\nV2,17.5,44.0,2018\n")
    for name, text in {
        "areas.yaml": "layer: admin_areas\ncountry: XKX\nkey: [code]\n"
                      "geometry: {wkt: wkt, crs: EPSG:4326}\nfields:\n  code: {column: code}\n"
                      "  name: {column: code}\n  level: {column: level}\n  parent_code: {column: parent}\n",
        "events.yaml": "layer: events\ncountry: XKX\nkey: [id]\n"
                       "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n  local_id: {column: id}\n"
                       "  event_type: {value: mine_incident}\n  event_date: {column: day}\n"
                       "  year: {column: year}\n",
        "victims.yaml": "layer: victims\ncountry: XKX\nkey: [id]\n"
                        "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n  year: {column: year}\n"
                        "  outcome: {value: injured}\n",
    }.items():
        (folder / name).write_text(text)
    import_source(store, rep / "areas.csv", str(folder / "areas.yaml"))
    import_source(store, write(rep, "hazards.csv", HAZARD_COLS, [
        hazard("HZ-1"), hazard("HZ-2", far, status="closed", doi="2021-06-01")]), "completion-hazards")
    import_source(store, write(rep, "activities.csv", ACTIVITY_COLS, [
        activity("A-1", "HZ-1", "progress", "2022-03-01")]), "completion-activities")
    import_source(store, write(rep, "outcomes.csv", OUTCOME_COLS, [
        outcome("O-1", "HZ-1", "cleared", SQ, date="2022-05-01")]), "completion-outcomes")
    import_source(store, write(rep, "devices.csv", DEVICE_COLS, [
        {"country": "XKX", "device_id": "D-1", "eo_category": "AP", "found_date": "2022-04-01",
         "lon": 17.0005, "lat": 44.0005},
        {"country": "XKX", "device_id": "D-2", "eo_category": "AT", "lon": 17.5, "lat": 44.0}]),
        "completion-devices")
    import_source(store, rep / "events.csv", str(folder / "events.yaml"))
    import_source(store, rep / "victims.csv", str(folder / "victims.yaml"))


#: What each filter keeps of each layer (by local_id; victims by year, areas by code), or the
#: option named by the one-line refusal.
_LABEL = {"victims": "year", "admin_areas": "code"}
_FILTERS = {"country": {"country": "XKX"}, "admin": {"admin": "A1"}, "status": {"status": ["open"]},
            "from": {"date_from": "2022-01-01"}, "to": {"date_to": "2021-12-31"},
            "all": {"country": "XKX", "admin": "A1", "date_from": "2022-01-01",
                    "date_to": "2023-12-31"}}
_EXPECTED = {
    "admin_areas": {"country": {"A1", "A2", "B1"}, "admin": {"A1", "A2"}, "status": "--status",
                    "from": "--from/--to", "to": "--from/--to", "all": "--from/--to"},
    "hazards": {"country": {"HZ-1", "HZ-2"}, "admin": {"HZ-1"}, "status": {"HZ-1"},
                "from": {"HZ-1"}, "to": {"HZ-2"}, "all": {"HZ-1"}},
    "activities": {"country": {"A-1"}, "admin": {"A-1"}, "status": "--status",
                   "from": {"A-1"}, "to": set(), "all": {"A-1"}},
    "cleared_areas": {"country": {"O-1"}, "admin": {"O-1"}, "status": "--status",
                      "from": {"O-1"}, "to": set(), "all": {"O-1"}},
    "devices": {"country": {"D-1", "D-2"}, "admin": {"D-1"}, "status": "--status",
                "from": {"D-1"}, "to": set(), "all": {"D-1"}},
    "events": {"country": {"E1", "E2", "E3"}, "admin": {"E1"}, "status": "--status",
               "from": {"E1"}, "to": {"E2"}, "all": {"E1"}},
    "victims": {"country": {2022, 2018}, "admin": {2022}, "status": "--status",
                "from": {2022}, "to": {2018}, "all": {2022}},
}


@pytest.fixture
def every_layer(store_at, tmp_path):
    with open_store(store_at("every")) as s:
        _every_layer_store(s, tmp_path)
        yield s


def test_every_layer_with_every_filter_exports_or_is_refused_naming_the_option(tmp_path, every_layer):
    """Issue 15 §4: `export LAYER` with each filter, and with all at once, on every layer."""
    for layer, expected in _EXPECTED.items():
        for name, options in _FILTERS.items():
            want = expected[name]
            out = tmp_path / "out" / f"{layer}-{name}.csv"
            out.parent.mkdir(exist_ok=True)
            if isinstance(want, str):
                with pytest.raises(QueryError) as refused:
                    export_layer(every_layer, layer, "csv", out, **options)
                message = str(refused.value)
                assert message.startswith(want) and "\n" not in message, (layer, name, message)
                assert not out.exists()
                continue
            report = export_layer(every_layer, layer, "csv", out, **options)
            with open(out, encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            label = _LABEL.get(layer, "local_id")
            got = {int(r[label]) if layer == "victims" else r[label] for r in rows}
            assert got == want, (layer, name, got)
            assert report.records == len(want)


def test_events_from_to_through_the_cli(tmp_path, every_layer):
    """`export events --from/--to` once crashed with "ValueError: Item wrong length"."""
    out = tmp_path / "e.csv"
    result = run_cli("--store", every_layer.location, "export", "events", "--format", "csv",
                     "--out", str(out), "--from", "2019-01-01", "--to", "2022-12-31")
    assert result.returncode == 0, result.stderr
    assert f"{out}: 2 events record(s) as csv" in result.stdout
    assert "1 events record(s) with no event_date or year left out by --from/--to" in result.stderr


# --- formats people send, and geometry flags that survive the trip (issue 15, section 6) -------

def test_a_zipped_shapefile_to_email_and_read_back(store_at, tmp_path, store):
    out = tmp_path / "out" / "hazards.shp.zip"
    out.parent.mkdir()
    report = export_layer(store, "hazards", "shp", out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["hazards.shp.zip",
                                                           "hazards.shp.zip.profile.yaml"]
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["hazards.cpg", "hazards.dbf", "hazards.prj",
                                         "hazards.shp", "hazards.shx"]
    profile = yaml.safe_load(report.profile_path.read_text())
    assert profile["read"]["pattern"] == "hazards.shp.zip"
    with open_store(store_at("back")) as back:
        imported = import_source(back, out, str(report.profile_path))
        assert (imported.total("inserted"), imported.total("quarantined")) == (5, 0)
        got = back.read_layer("hazards").set_index("uuid")
    want = store.read_layer("hazards").set_index("uuid")
    assert sorted(got.index) == sorted(want.index)
    assert dict(got["geometry_status"]) == dict(want["geometry_status"])  # empty restored too
    assert dict(got["map_sheet"].fillna("")) == dict(want["map_sheet"].fillna(""))
    result = run_cli("--store", store.location, "export", "hazards", "--format", "shp",
                     "--out", str(tmp_path / "again.shp.zip"))
    assert result.returncode == 0, result.stderr
    assert zipfile.ZipFile(tmp_path / "again.shp.zip").namelist()


def test_a_csv_for_excel_keeps_its_accents(tmp_path, store):
    out = tmp_path / "h.csv"
    export_layer(store, "hazards", "csv", out, excel=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel reads UTF-8 by
    assert "Šipovo č" in raw.decode("utf-8-sig") and "Bihać, 'Ž' “K”" in raw.decode("utf-8-sig")
    result = run_cli("--store", store.location, "export", "hazards", "--format", "csv",
                     "--out", str(tmp_path / "cli.csv"), "--excel")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    result = run_cli("--store", store.location, "export", "hazards", "--format", "xlsx",
                     "--out", str(tmp_path / "h.xlsx"), "--excel")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --excel applies to csv exports (an xlsx file is Excel's own)"]
    assert not (tmp_path / "h.xlsx").exists()


def test_a_csv_for_excel_runs_no_formula(tmp_path, store_at):
    """OWASP CSV injection: a text cell that starts with =, +, -, @ is a formula to Excel;
    --excel writes it with a leading ' (and says so), a plain CSV as it is."""
    from tests.test_lifecycle import HAZARD_COLS, hazard, write

    with open_store(store_at("xl")) as store:
        import_source(store, write(tmp_path / "d", "h.csv", HAZARD_COLS,
                                   [hazard('=HYPERLINK("http://x")'), hazard("@SUM(1)"),
                                    hazard("-12")]), "completion-hazards")
        report = export_layer(store, "hazards", "csv", tmp_path / "x.csv", excel=True)
        export_layer(store, "hazards", "csv", tmp_path / "plain.csv")
    with open(tmp_path / "x.csv", encoding="utf-8-sig", newline="") as fh:
        ids = sorted(r["local_id"] for r in csv.DictReader(fh))
    assert ids == ["'=HYPERLINK(\"http://x\")", "'@SUM(1)", "-12"]
    assert any("2 text cell(s) starting with =, +, -, @" in n for n in report.notes)
    with open(tmp_path / "plain.csv", encoding="utf-8", newline="") as fh:
        assert sorted(r["local_id"] for r in csv.DictReader(fh)) == [
            "-12", '=HYPERLINK("http://x")', "@SUM(1)"]


FLAGGED_CSV = """\
id,wkt
bow,"POLYGON ((17.3 44.3, 17.302 44.302, 17.302 44.3, 17.3 44.302, 17.3 44.3))"
fiji,"POLYGON ((179.5 -17, -179.5 -17, -179.5 -16, 179.5 -16, 179.5 -17))"
fine,"POLYGON ((17.4 44.4, 17.41 44.4, 17.41 44.41, 17.4 44.4))"
"""


@pytest.mark.parametrize("fmt", FORMATS)
def test_repaired_and_antimeridian_flags_survive_export_and_import(store_at, tmp_path, fmt):
    """A repaired bow-tie (as BiH's map sheets have) and a polygon cut along ±180° come back
    with their flag and note, and the geometry as it was stored."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f.csv").write_text(FLAGGED_CSV, encoding="utf-8")
    (tmp_path / "f.yaml").write_text("layer: hazards\ncountry: FJI\nkey: [id]\n"
                                     "geometry: {wkt: wkt, crs: EPSG:4326}\n"
                                     "fields:\n  local_id: {column: id}\n", encoding="utf-8")
    out = tmp_path / "out" / f"flags{SUFFIX[fmt]}"
    out.parent.mkdir()
    with open_store(store_at("a")) as a:
        import_source(a, tmp_path / "data" / "f.csv", str(tmp_path / "f.yaml"))
        want = a.read_layer("hazards").set_index("local_id")
        report = export_layer(a, "hazards", fmt, out)
    assert dict(want["geometry_status"]) == {"bow": "repaired", "fiji": "antimeridian",
                                             "fine": "ok"}
    with open_store(store_at("b")) as b:
        import_source(b, out, str(report.profile_path))
        got = b.read_layer("hazards").set_index("local_id")
    for hid in ("bow", "fiji", "fine"):
        assert got.loc[hid, "geometry_status"] == want.loc[hid, "geometry_status"], (fmt, hid)
        assert same(got.loc[hid, "geometry_note"], want.loc[hid, "geometry_note"]), (fmt, hid)
        assert same_geometry(got.loc[hid, "geometry"], want.loc[hid, "geometry"]), (fmt, hid)
        assert got.loc[hid, "area_m2"] == pytest.approx(want.loc[hid, "area_m2"], rel=1e-9)
    assert "Self-intersection" in got.loc["bow", "geometry_note"]
    assert "antimeridian" in got.loc["fiji", "geometry_note"]


def test_a_full_disk_during_export_leaves_no_partial_file(tmp_path, store, monkeypatch, capsys):
    """The disk fills while the file is written: one line naming the file, nothing left."""
    import mineledger.ledger.export as export_module
    from mineledger.cli import main

    def half_written(frame, geoms, layer, fmt, out, notes, **options):
        out.write_text("uuid,country\n123", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "write_records", half_written)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "h.csv"
    with pytest.raises(SourceError) as refused:
        export_layer(store, "hazards", "csv", out)
    assert str(refused.value) == (f"--out {out}: cannot write it: No space left on device; "
                                  "nothing was written")
    assert list(folder.iterdir()) == []
    out.write_text("an earlier export\n")  # replacing a file keeps the old one whole
    with pytest.raises(SourceError):
        export_layer(store, "hazards", "csv", out, overwrite=True)
    assert [p.name for p in folder.iterdir()] == ["h.csv"]
    assert out.read_text() == "an earlier export\n"
    monkeypatch.setattr(sys, "argv", ["mineledger", "--store", store.location, "export",
                                      "hazards", "--format", "csv", "--out", str(folder / "c.csv")])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: --out {folder / 'c.csv'}: cannot write it: No space left on device; nothing "
        "was written"]
    assert [p.name for p in folder.iterdir()] == ["h.csv"]
