"""Import of every format the field uses: GIS files, spreadsheets, ODK/KoboToolbox, HXL.

Each test writes a small source for one case and asserts the stored values.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from openpyxl import Workbook
from pyproj import Geod

from mineledger.errors import ProfileError, SourceError
from mineledger.io.readers import read_source
from mineledger.ledger.importer import check_source, import_source
from mineledger import open_store

GEOD = Geod(ellps="WGS84")
SQUARE = shapely.Polygon([(18.0, 44.0), (18.01, 44.0), (18.01, 44.01), (18.0, 44.01)])
TWO = shapely.MultiPolygon([shapely.box(18.1, 44.1, 18.11, 44.11), shapely.box(18.2, 44.2, 18.21, 44.21)])


def geod_area(geom) -> float:
    """Independent area: pyproj Geod on each polygon's exterior (counter-clockwise)."""
    parts = geom.geoms if hasattr(geom, "geoms") else [geom]
    total = 0.0
    for p in parts:
        x, y = shapely.orient_polygons(p).exterior.xy
        total += GEOD.polygon_area_perimeter(list(x), list(y))[0]
    return total


def write_profile(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def store(store_at, tmp_path):
    with open_store(store_at("s")) as s:
        yield s


HAZARD_PROFILE = """
name: hazards-test
layer: hazards
country: BIH
key: [ref]
fields:
  local_id: {column: ref}
  hazard_type: {column: kind, map: {S: SHA, C: CHA}}
  map_sheet: {column: sheet}
"""


def hazard_frame(crs="EPSG:4326"):
    gdf = gpd.GeoDataFrame({"ref": ["H1", "H2", "H3"], "kind": ["S", "C", "S"],
                            "sheet": ["Šipovo č", "Bihać", "Žepče"]},
                           geometry=[SQUARE, TWO, None], crs="EPSG:4326")
    return gdf.to_crs(crs) if crs != "EPSG:4326" else gdf


def _zip(folder: Path, out: Path, arc_root: str = "") -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, arc_root + f.relative_to(folder).as_posix())
    return out


def make_gis(tmp_path: Path, kind: str) -> Path:
    gdf = hazard_frame()
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if kind == "gpkg":
        path = data / "h.gpkg"
        pyogrio.write_dataframe(gdf, path, layer="hazards")
    elif kind == "geojson":
        path = data / "h.geojson"
        pyogrio.write_dataframe(gdf, path)
    elif kind in ("shp", "shp.zip"):
        folder = tmp_path / "shp"
        folder.mkdir()
        pyogrio.write_dataframe(gdf, folder / "h.shp", promote_to_multi=True)
        if kind == "shp":
            for f in folder.iterdir():
                shutil.copy(f, data / f.name)
            path = data / "h.shp"
        else:
            path = _zip(folder, data / "h.zip")
    elif kind in ("kml", "kmz"):
        pyogrio.write_dataframe(gdf, tmp_path / "doc.kml", driver="LIBKML", layer="hazards")
        if kind == "kml":
            path = shutil.copy(tmp_path / "doc.kml", data / "h.kml")
        else:
            path = data / "h.kmz"
            with zipfile.ZipFile(path, "w") as zf:
                zf.write(tmp_path / "doc.kml", "doc.kml")
    elif kind in ("gdb", "gdb.zip"):
        gdb = tmp_path / "h.gdb"
        pyogrio.write_dataframe(gdf, gdb, layer="hazards", driver="OpenFileGDB",
                                promote_to_multi=True)
        if kind == "gdb":
            path = Path(shutil.copytree(gdb, data / "h.gdb"))
        else:
            path = _zip(gdb, data / "h.gdb.zip", "h.gdb/")
    elif kind == "parquet":
        path = data / "h.parquet"
        gdf.to_parquet(path)
    return Path(path)


@pytest.mark.parametrize("kind", ["gpkg", "geojson", "shp", "shp.zip", "kml", "kmz", "gdb",
                                  "gdb.zip", "parquet"])
def test_every_gis_format_gives_the_same_hazards(tmp_path, store, kind):
    path = make_gis(tmp_path, kind)
    text = HAZARD_PROFILE
    if kind in ("kml", "kmz"):  # LIBKML reads the attribute `name` as Name; ours are in ExtendedData
        text = text.replace("key: [ref]", "key: [ref]\nread: {ignore: [Name, description, id, "
                            "timestamp, begin, end, altitudeMode, tessellate, extrude, visibility, "
                            "drawOrder, icon]}")
    report = import_source(store, path, str(write_profile(tmp_path, text)))
    assert (report.total("inserted"), report.total("quarantined")) == (3, 0)
    got = store.read_layer("hazards").set_index("local_id")
    assert got.loc["H1", "area_m2"] == pytest.approx(geod_area(SQUARE), rel=1e-9)
    assert got.loc["H2", "area_m2"] == pytest.approx(geod_area(TWO), rel=1e-9)
    assert got.loc["H1", "geometry"].equals_exact(SQUARE, 1e-7) or \
        shapely.normalize(got.loc["H1", "geometry"]).equals_exact(shapely.normalize(SQUARE), 1e-7) \
        or shapely.normalize(got.loc["H1", "geometry"]).equals_exact(
            shapely.normalize(shapely.MultiPolygon([SQUARE])), 1e-7)
    assert got.loc["H3", "geometry_status"] == "missing"
    assert got.loc["H2", "hazard_type"] == "CHA"
    assert list(got["map_sheet"]) == ["Šipovo č", "Bihać", "Žepče"]


def test_a_file_with_several_layers_needs_the_layer_named(tmp_path, store):
    path = tmp_path / "data" / "two.gpkg"
    path.parent.mkdir()
    pyogrio.write_dataframe(hazard_frame(), path, layer="suspected")
    pyogrio.write_dataframe(hazard_frame(), path, layer="confirmed", append=True)
    with pytest.raises(SourceError, match=r"2 layers with features \(suspected: 3, confirmed: 3\); "
                                          "name one with read.layer"):
        import_source(store, path, str(write_profile(tmp_path, HAZARD_PROFILE)))
    text = HAZARD_PROFILE + "read: {layer: confirmed}\n"
    assert import_source(store, path, str(write_profile(tmp_path, text))).total("inserted") == 3
    with pytest.raises(SourceError, match="no layer 'cha'; its layers are"):
        import_source(store, path, str(write_profile(tmp_path, HAZARD_PROFILE + "read: {layer: cha}\n")))


def test_a_gis_file_in_ctm12_is_transformed_to_wgs84(tmp_path, store):
    path = tmp_path / "data" / "h.gpkg"
    path.parent.mkdir()
    pyogrio.write_dataframe(hazard_frame("EPSG:9377"), path)
    import_source(store, path, str(write_profile(tmp_path, HAZARD_PROFILE)))
    got = store.read_layer("hazards").set_index("local_id")
    assert shapely.get_coordinates(got.loc["H1", "geometry"]).min(axis=0) == pytest.approx(
        [18.0, 44.0], abs=1e-7)


def test_a_shapefile_without_prj_is_refused_unless_the_profile_declares_the_crs(tmp_path, store):
    path = make_gis(tmp_path, "shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(SourceError, match="declares no coordinate reference system and the "
                                          "profile declares none"):
        import_source(store, path, str(write_profile(tmp_path, HAZARD_PROFILE)))
    assert store.read_layer("hazards").empty
    text = HAZARD_PROFILE + "geometry: {crs: EPSG:4326}\n"
    assert import_source(store, path, str(write_profile(tmp_path, text))).total("inserted") == 3


EVENT_PROFILE = """
name: events-test
layer: events
country: COL
key: [id]
geometry: {GEOM}
fields:
  local_id: {column: id}
  event_type: {value: accident_ap_mine}
"""


def import_events(tmp_path, store, geometry: str, header: str, *rows: str, encoding="utf-8"):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    path = data / "e.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    profile = write_profile(tmp_path, EVENT_PROFILE.replace("{GEOM}", geometry))
    report = import_source(store, path, str(profile))
    return report, store.read_layer("events").set_index("local_id")


@pytest.mark.parametrize("geometry, header, row, lon, lat", [
    ("{x: E, y: N, crs: 'EPSG:9377'}", "id,E,N", "1,5000000,2000000", -73.0, 4.0),
    ("{x: lon, y: lat, crs: 'EPSG:4326', notation: dms}", "id;lon;lat".replace(";", ","),
     '1,"74°04\'33""W","4°35\'12.3""N"', -(74 + 4 / 60 + 33 / 3600), 4 + 35 / 60 + 12.3 / 3600),
    ("{x: lon, y: lat, crs: 'EPSG:4326', decimal: ','}", "id,lon,lat", '1,"-74,0825","4,6097"',
     -74.0825, 4.6097),
    ("{point: pos}", "id,pos", '1,"4.6097, -74.0825"', -74.0825, 4.6097),
    ("{point: pos, order: lonlat}", "id,pos", '1,"-74.0825 4.6097"', -74.0825, 4.6097),
    ("{geopoint: gps}", "id,gps", "1,4.6097 -74.0825 2600 5", -74.0825, 4.6097),
    ("{utm: grid}", "id,grid", "1,31N 500000 0", 3.0, 0.0),
    ("{utm: grid}", "id,grid", "1,18S 500000 10000000", -75.0, 0.0),
    # zone 31, square E (easting 500 km), row A (northing 0): the central meridian on the equator
    ("{mgrs: ref}", "id,ref", "1,31NEA0000000000", 3.0, 0.0),
])
def test_coordinates_in_tables(tmp_path, store, geometry, header, row, lon, lat):
    report, got = import_events(tmp_path, store, geometry, header, row)
    assert report.total("inserted") == 1, report.files[0].quarantined
    point = got.loc["1", "geometry"]
    assert got.loc["1", "geometry_status"] == "ok"
    assert (point.x, point.y) == (pytest.approx(lon, abs=2e-5), pytest.approx(lat, abs=1e-7))


def test_unreadable_coordinates_are_stored_flagged_naming_the_column(tmp_path, store):
    report, got = import_events(tmp_path, store, "{utm: grid}", "id,grid", "1,18X 500000 100")
    assert got.loc["1", "geometry_status"] == "unparseable"
    assert "column 'grid' = '18X 500000 100'" in got.loc["1", "geometry_note"]
    assert "letter" in got.loc["1", "geometry_note"]


DATE_PROFILE = """
name: dates-test
layer: events
country: COL
key: [id]
read: {READ}
fields:
  local_id: {column: id}
  event_type: {value: accident_ap_mine}
  event_date: {column: day, FORMAT}
  event_time: {column: at, format: iso}
"""


def import_dates(tmp_path, store, fmt: str, rows: list[tuple[str, str, str]], read="{}"):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    path = data / "d.csv"
    path.write_text("id,day,at\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    text = DATE_PROFILE.replace("FORMAT", fmt).replace("{READ}", read).replace(", }", "}")
    report = import_source(store, path, str(write_profile(tmp_path, text)))
    return report, store.read_layer("events").set_index("local_id")


def test_day_first_and_month_first_dates_as_declared(tmp_path, store):
    report, got = import_dates(tmp_path, store, "format: dmy", [("1", "04/03/2021", ""),
                                                                ("2", "31.12.2020", "")])
    assert got.loc["1", "event_date"] == dt.date(2021, 3, 4)
    assert got.loc["2", "event_date"] == dt.date(2020, 12, 31)
    report, got = import_dates(tmp_path, store, "format: mdy", [("1", "04/03/2021", "")])
    assert got.loc["1", "event_date"] == dt.date(2021, 4, 3)


def test_a_date_order_is_never_guessed(tmp_path, store):
    report, got = import_dates(tmp_path, store, "format: iso", [("1", "04/03/2021", "")])
    (q,) = report.files[0].quarantined
    assert q.locator.startswith("row 1") and q.field == "event_date"
    assert "got '04/03/2021', expected a date as YYYY-MM-DD" in q.reason
    assert "declare format: dmy or mdy" in q.reason
    assert got.empty


def test_spreadsheet_serial_dates(tmp_path, store):
    # Excel's 1900 date system: 44197 is 2021-01-01 and 45000 is 2023-03-15
    report, got = import_dates(tmp_path, store, "format: serial", [("1", "44197", ""),
                                                                   ("2", "45000", "")])
    assert list(got["event_date"]) == [dt.date(2021, 1, 1), dt.date(2023, 3, 15)]
    report, got = import_dates(tmp_path, store, "format: serial", [("3", "60", "")])
    assert "spreadsheet date serial" in report.files[0].quarantined[0].reason


def test_times_with_offsets_are_stored_in_utc(tmp_path, store):
    report, got = import_dates(tmp_path, store, "format: iso", [
        ("1", "2021-03-04T23:30:00-05:00", "2021-03-04T23:30:00-05:00"),
        ("2", "2021-03-04", "2021-03-04T10:00:00Z"),
        ("3", "2021-03-04", "2021-03-04 10:00:00")])
    assert got.loc["1", "event_date"] == dt.date(2021, 3, 4)  # the local calendar date
    assert got.loc["1", "event_time"] == dt.datetime(2021, 3, 5, 4, 30, tzinfo=dt.timezone.utc)
    assert got.loc["2", "event_time"] == dt.datetime(2021, 3, 4, 10, tzinfo=dt.timezone.utc)
    (q,) = report.files[0].quarantined
    assert q.locator == "row 3 (key id=3)" and q.field == "event_time"
    assert "declare read.timezone" in q.reason


def test_times_without_offset_in_the_declared_zone(tmp_path, store):
    report, got = import_dates(tmp_path, store, "format: dmy",
                               [("1", "04/03/2021", "2021-03-04 10:00:00")],
                               read="{timezone: America/Bogota}")
    assert got.loc["1", "event_time"] == dt.datetime(2021, 3, 4, 15, tzinfo=dt.timezone.utc)


def test_xlsx_with_date_cells_numbers_and_a_named_sheet(tmp_path, store):
    book = Workbook()
    book.active.title = "notes"
    book.active.append(["this sheet is not the data"])
    ws = book.create_sheet("events")
    ws.append(["id", "day", "lat", "lon", "killed"])
    ws.append([1, dt.datetime(2021, 3, 4), 4.6097, -74.0825, 2])
    ws.append([2, dt.date(2020, 1, 2), 6.25, -75.56, None])
    ws.append([None, None, None, None, None])  # a blank row is not a record
    path = tmp_path / "data" / "e.xlsx"
    path.parent.mkdir()
    book.save(path)
    profile = write_profile(tmp_path, """
layer: events
country: COL
key: [id]
read: {sheet: events}
geometry: {x: lon, y: lat, crs: EPSG:4326}
fields:
  local_id: {column: id}
  event_type: {value: accident_ap_mine}
  event_date: {column: day}
  killed: {column: killed}
""")
    report = import_source(store, path, str(profile))
    assert (report.total("rows_read"), report.total("inserted")) == (2, 2)
    got = store.read_layer("events").set_index("local_id")
    assert got.loc["1", "event_date"] == dt.date(2021, 3, 4)
    assert got.loc["1", "killed"] == 2 and got.loc["2", "killed"] is None or \
        str(got.loc["2", "killed"]) in ("<NA>", "nan", "None")
    assert (got.loc["2", "geometry"].x, got.loc["2", "geometry"].y) == (-75.56, 6.25)
    with pytest.raises(SourceError, match=r"no sheet 'nope'; its sheets are \['notes', 'events'\]"):
        read_source(path, sheet="nope")


ACCENTS = "id,place\n1,Señora Ñuñoa\n2,Peñol – “El Alto”\n"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8", "utf-8-sig"])
def test_encodings_declared(tmp_path, encoding):
    text = ACCENTS if encoding == "cp1252" else ACCENTS.replace("–", "-").replace("“", '"').replace("”", '"')
    path = tmp_path / "a.csv"
    path.write_bytes(text.replace('"El Alto"', 'El Alto').encode(encoding))
    table = read_source(path, encoding=encoding)
    assert table.columns == ["id", "place"]  # no BOM left on the first name
    assert table.rows[0].properties["place"] == "Señora Ñuñoa"
    assert table.rows[1].properties["place"].startswith("Peñol")


def test_an_undeclared_encoding_is_detected_with_a_note(tmp_path):
    path = tmp_path / "a.csv"
    text = "id,lugar,nota\n" + "".join(f"{i},Región Antioquía – Bogotá,“víctima” según él\n"
                                       for i in range(40))
    path.write_bytes(text.encode("cp1252"))
    table = read_source(path, encoding=None)
    assert table.rows[0].properties["lugar"] == "Región Antioquía – Bogotá"
    assert table.rows[0].properties["nota"] == "“víctima” según él"
    assert table.encoding == "cp1252"
    assert any("not UTF-8" in n and "declare read.encoding: cp1252" in n for n in table.notes)
    with pytest.raises(SourceError, match=r"a.csv: not valid utf-8-sig text at byte \d+; declare"):
        read_source(path, encoding="utf-8-sig")


def test_an_encoding_the_code_pages_read_differently_is_refused_showing_the_readings(tmp_path):
    """Spanish text fits cp1252 and cp1250; they read ñ as ñ and as ń: a choice would be a
    guess, and a guessed name is a wrong value."""
    path = tmp_path / "a.csv"
    path.write_bytes("id,place\n1,Señora Ñuñoa\n".encode("cp1252"))
    with pytest.raises(SourceError) as info:
        read_source(path, encoding=None)
    message = str(info.value)
    assert "line 2 as cp1252: '1,Señora Ñuñoa'; as cp1250: '1,Seńora Ńuńoa'" in message
    assert "Declare the right one in the profile (read.encoding)" in message
    path.write_bytes("id,place\n1,Москва\n".encode("cp1251"))
    with pytest.raises(SourceError, match="as cp1251: '1,Москва'"):
        read_source(path, encoding=None)
    assert read_source(path, encoding="cp1251").rows[0].properties["place"] == "Москва"


# --- ODK Central and KoboToolbox ---------------------------------------------------------------

ODK_SURVEY = """\
SubmissionDate,hazard-ref,hazard-shape,site-Latitude,site-Longitude,site-Altitude,site-Accuracy,meta-instanceID,KEY
2024-05-02T09:12:33.000Z,HZ-1,"44.0 18.0 500 4; 44.0 18.01 500 4; 44.01 18.01 500 4; 44.01 18.0 500 4;",44.005,18.005,501,3.9,uuid:1,uuid:1
2024-05-03T10:00:00.000Z,HZ-2,44.1 18.1 0 0;44.1 18.1 0 0;44.11 18.1 0 0,44.1,18.1,0,0,uuid:2,uuid:2
"""
ODK_DEVICES = """\
device-type,device-model,device-depth,found-Latitude,found-Longitude,PARENT_KEY,KEY
ap_mine,PMA-2,0.1,44.001,18.001,uuid:1,uuid:1/devices[1]
at_mine,TMA-4,0.3,44.002,18.002,uuid:1,uuid:1/devices[2]
uxo,,,44.1,18.1,uuid:9,uuid:9/devices[1]
"""


def test_odk_central_survey_with_geoshape_and_a_repeat_group(tmp_path, store):
    data = tmp_path / "data"
    data.mkdir()
    (data / "survey.csv").write_text(ODK_SURVEY, encoding="utf-8")
    (data / "survey-devices.csv").write_text(ODK_DEVICES, encoding="utf-8")
    hazards = write_profile(tmp_path, """
layer: hazards
country: BIH
key: [KEY]
read: {pattern: survey.csv}
geometry: {geoshape: hazard-shape}
fields:
  local_id: {column: hazard-ref}
  hazard_type: {value: SHA}
  date_of_information: {column: SubmissionDate, format: iso}
""", "hazards.yaml")
    devices = write_profile(tmp_path, """
layer: devices
country: BIH
key: [KEY]
read: {join: {file: survey.csv, child: PARENT_KEY, parent: KEY}}
geometry: {x: found-Longitude, y: found-Latitude, crs: EPSG:4326}
fields:
  eo_category: {column: device-type}
  model: {column: device-model}
  depth_m: {column: device-depth}
  hazard_local_id: {column: parent.hazard-ref}
  found_date: {column: parent.SubmissionDate}
""", "devices.yaml")
    report = import_source(store, data / "survey.csv", str(hazards))
    assert report.total("inserted") == 2
    got = store.read_layer("hazards").set_index("local_id")
    assert got.loc["HZ-1", "geometry_status"] == "ok"
    assert got.loc["HZ-1", "area_m2"] == pytest.approx(geod_area(SQUARE), rel=1e-9)
    assert got.loc["HZ-1", "date_of_information"] == dt.date(2024, 5, 2)
    # two distinct vertices: kept, flagged, with the reason
    assert got.loc["HZ-2", "geometry_status"] == "unparseable"
    assert "hazard-shape" in got.loc["HZ-2", "geometry_note"]
    report = import_source(store, data / "survey-devices.csv", str(devices))
    assert (report.total("inserted"), report.total("quarantined")) == (2, 1)
    (q,) = report.files[0].quarantined
    assert "column 'PARENT_KEY' = 'uuid:9': no parent row with KEY = 'uuid:9' in survey.csv" in q.reason
    dev = store.read_layer("devices").set_index("model")
    assert list(dev["hazard_local_id"]) == ["HZ-1", "HZ-1"]
    assert dev.loc["PMA-2", "hazard_uuid"] == store.read_layer("hazards").set_index(
        "local_id").loc["HZ-1", "uuid"]
    assert dev.loc["TMA-4", "found_date"] == dt.date(2024, 5, 2)
    assert dev.loc["TMA-4", "depth_m"] == 0.3


def test_kobo_xlsx_with_a_whole_geopoint_and_a_repeat_sheet(tmp_path, store):
    book = Workbook()
    survey = book.active
    survey.title = "EO survey"
    survey.append(["today", "accident_location", "_accident_location_latitude",
                   "_accident_location_longitude", "killed", "injured", "_id", "_index"])
    survey.append([dt.datetime(2024, 6, 1), "4.6097 -74.0825 2600 5", 4.6097, -74.0825, 1, 2, 501, 1])
    survey.append([dt.datetime(2024, 6, 2), "", None, None, 0, 1, 502, 2])
    rep = book.create_sheet("victims")
    rep.append(["victim_sex", "victim_outcome", "_index", "_parent_index", "_parent_table_name"])
    rep.append(["f", "killed", 1, 1, "EO survey"])
    rep.append(["m", "injured", 2, 1, "EO survey"])
    path = tmp_path / "data" / "kobo.xlsx"
    path.parent.mkdir()
    book.save(path)
    events = write_profile(tmp_path, """
layer: events
country: COL
key: [_id]
read: {sheet: EO survey}
geometry: {geopoint: accident_location}
fields:
  event_type: {value: accident_ap_mine}
  event_date: {column: today}
  killed: {column: killed}
  injured: {column: injured}
  local_id: {column: _id}
""", "events.yaml")
    victims = write_profile(tmp_path, """
layer: victims
country: COL
key: [_index]
read: {sheet: victims, join: {sheet: EO survey, child: _parent_index, parent: _index, prefix: "accident."}}
geometry: {x: accident._accident_location_longitude, y: accident._accident_location_latitude, crs: EPSG:4326}
fields:
  gender: {column: victim_sex, map: {f: female, m: male}}
  outcome: {column: victim_outcome}
  year: {column: accident.today, parse: integer, regex: "^(\\\\d{4})"}
""", "victims.yaml")
    report = import_source(store, path, str(events))
    assert report.total("inserted") == 2
    ev = store.read_layer("events").set_index("local_id")
    assert (ev.loc["501", "geometry"].x, ev.loc["501", "geometry"].y) == (-74.0825, 4.6097)
    assert ev.loc["502", "geometry_status"] == "missing"
    assert (ev["killed"].sum(), ev["injured"].sum()) == (1, 3)
    report = import_source(store, path, str(victims))
    assert (report.total("inserted"), report.total("quarantined")) == (2, 0)
    v = store.read_layer("victims")
    assert sorted(v["gender"]) == ["female", "male"] and set(v["year"]) == {2024}
    assert all(g.x == -74.0825 for g in v.geometry)


# --- HXL ---------------------------------------------------------------------------------------

HXL_CSV = """\
Departamento,Código,Fecha,Muertos,Heridos,Latitud,Longitud
#adm1+name,#adm1+code,#date+occurred,#affected+killed+num,#affected+injured+num,#geo+lat,#geo+lon
Antioquia,05,2021-03-04,1,2,6.25,-75.56
Meta,50,2021-05-06,0,3,4.15,-73.63
"""


def test_hxl_csv_is_read_by_its_tags(tmp_path, store):
    path = tmp_path / "data" / "hxl.csv"
    path.parent.mkdir()
    path.write_text(HXL_CSV, encoding="utf-8")
    profile = write_profile(tmp_path, """
layer: events
country: COL
geometry: {x: "#geo+lon", y: "#geo+lat", crs: EPSG:4326}
fields:
  event_type: {value: accident_ap_mine}
  admin1_name: {column: "#adm1+name"}
  event_date: {column: "#date+occurred"}
  killed: {column: "#affected+killed"}
  injured: {column: "#Affected +Injured"}
""")
    report = import_source(store, path, str(profile))
    assert (report.total("rows_read"), report.total("inserted")) == (2, 2)  # the tag row is no record
    got = store.read_layer("events").set_index("admin1_name")
    assert (got.loc["Antioquia", "killed"], got.loc["Antioquia", "injured"]) == (1, 2)
    assert got.loc["Meta", "event_date"] == dt.date(2021, 5, 6)
    assert (got.loc["Meta", "geometry"].x, got.loc["Meta", "geometry"].y) == (-73.63, 4.15)
    # columns read by tag are not kept again as attributes; the others are
    assert got.loc["Meta", "attributes"] == {"Código": "50"}


def test_an_hxl_tag_the_file_lacks_is_a_clear_error(tmp_path, store):
    path = tmp_path / "data" / "hxl.csv"
    path.parent.mkdir()
    path.write_text(HXL_CSV, encoding="utf-8")
    profile = write_profile(tmp_path, """
layer: events
country: COL
fields:
  event_type: {value: accident_ap_mine}
  admin2_name: {column: "#adm2+name"}
""")
    with pytest.raises(ProfileError, match=r"reads column\(s\) \['#adm2\+name'\] that the file "
                                           "does not have"):
        import_source(store, path, str(profile))
    plain = tmp_path / "data" / "plain.csv"
    plain.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="no HXL hashtag row"):
        import_source(store, plain, str(profile))


# --- profile check -------------------------------------------------------------------------

def test_profile_check_reports_without_writing(tmp_path, store):
    report, _ = import_dates(tmp_path, store, "format: iso", [("1", "2021-03-04", "")])
    before = (len(store.read_layer("events")), len(store.read_table("change_log")),
              len(store.read_table("imports")))
    path = tmp_path / "data" / "d.csv"
    path.write_text("id,day,at\n1,2021-03-04,\n2,2021-03-05,\n3,05/03/2021,\n", encoding="utf-8")
    checked = check_source(store.location, path, str(tmp_path / "p.yaml"))
    assert (checked.total("unchanged"), checked.total("inserted"), checked.total("quarantined")) == (1, 1, 1)
    after = (len(store.read_layer("events")), len(store.read_table("change_log")),
             len(store.read_table("imports")))
    assert after == before
    fresh = check_source(tmp_path / "none.gpkg", path, str(tmp_path / "p.yaml"))
    assert fresh.total("inserted") == 2 and not (tmp_path / "none.gpkg").exists()


def test_a_zip_of_tables_says_to_unzip_it(tmp_path, store):
    path = tmp_path / "data" / "form.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("form.csv", ODK_SURVEY)
        zf.writestr("form-devices.csv", ODK_DEVICES)
    with pytest.raises(SourceError, match=r"form.zip: a zip of tables \(form.csv, form-devices.csv\), "
                                          "such as an ODK Central export: unzip it"):
        import_source(store, path, str(write_profile(tmp_path, HAZARD_PROFILE)))
