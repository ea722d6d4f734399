"""The profile documentation (docs/profiles.md) says what works, and it does.

Every ``yaml`` block of the page loads as a profile (blocks that start with ``# fragment``
are parts of a profile, and there are few of them); the input files the page shows are the
files in docs/examples/; and the examples are imported with the page's own profiles — the
tests read the profiles from the page, not from copies — with the stored values checked.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml
from openpyxl import Workbook

from mineledger.errors import ProfileError
from mineledger.geo.coords import utm_to_lonlat
from mineledger.io.infer import infer_profile
from mineledger.io.profiles import load_profile
from mineledger.ledger.export import export_layer
from mineledger.land.summary import summary
from mineledger.ledger.importer import check_source, import_source
from mineledger import open_store

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "profiles.md"
EXAMPLES = ROOT / "docs" / "examples"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```yaml\n(.*?)^```", TEXT, flags=re.S | re.M)
PROFILES = [b for b in BLOCKS if not b.startswith("# fragment")]
FRAGMENTS = [b for b in BLOCKS if b.startswith("# fragment")]
#: "File `docs/examples/NAME` (…):" followed by a fenced block showing the file
SHOWN = re.findall(r"File `docs/examples/([^`]+)`[^\n]*:\n\n```(\w+)\n(.*?)^```", TEXT,
                   flags=re.S | re.M)
EPS = 1e-6  # degrees


def _name(block: str) -> str:
    return str(yaml.safe_load(block).get("name"))


BY_NAME = {_name(b): b for b in PROFILES}


def doc_profile(tmp_path: Path, name: str) -> str:
    """The page's profile named ``name``, written to a file; its path."""
    path = tmp_path / "profiles" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(BY_NAME[name], encoding="utf-8")
    return str(path)


def example(tmp_path: Path, *names: str) -> Path:
    """Copy files of docs/examples into a data folder of the test; the folder."""
    data = tmp_path / "data"
    for name in names:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLES / name, data / name)
    return data


@pytest.fixture
def store(store_at, tmp_path):
    with open_store(store_at("s")) as s:
        yield s


def by(store, layer: str, column: str) -> pd.DataFrame:
    return store.read_layer(layer).set_index(column)


def xy(geom) -> tuple[float, float]:
    return geom.x, geom.y


def values(series) -> list:
    """A column's values, with pandas' missing values (NaN, NaT) as None."""
    return [None if pd.isna(v) else v for v in series.tolist()]


def near(geom, lon: float, lat: float, eps: float = EPS) -> bool:
    return abs(geom.x - lon) <= eps and abs(geom.y - lat) <= eps


# --- the page itself ----------------------------------------------------------------------------

def test_the_page_has_the_examples():
    assert len(PROFILES) >= 25
    assert len(BY_NAME) == len(PROFILES), "two profiles of the page share a name"


@pytest.mark.parametrize("block", PROFILES, ids=[_name(b) for b in PROFILES])
def test_every_profile_of_the_page_loads(tmp_path, block):
    path = tmp_path / "p.yaml"
    path.write_text(block, encoding="utf-8")
    profile = load_profile(path)
    assert profile.name == _name(block)


def test_fragments_are_few_marked_and_fit_into_a_profile(tmp_path):
    assert 1 <= len(FRAGMENTS) <= 3
    base = yaml.safe_load(BY_NAME["bih-events-utm"])
    for block in FRAGMENTS:
        part = yaml.safe_load(block)
        assert isinstance(part, dict) and set(part) <= {"read", "geometry", "fields", "key"}
        path = tmp_path / "f.yaml"
        path.write_text(yaml.safe_dump({**base, **part}), encoding="utf-8")
        load_profile(path)


def test_the_files_the_page_shows_are_the_example_files():
    assert len(SHOWN) >= 15
    for name, kind, shown in SHOWN:
        raw = (EXAMPLES / name).read_bytes()
        text = raw.decode("cp1252" if "cp1252" in name else "utf-8").replace("\r\n", "\n")
        assert shown == text, f"docs/profiles.md shows docs/examples/{name} otherwise"


# --- 1. CSV in a national CRS -------------------------------------------------------------------

def test_1_ctm12_eastings_and_northings_are_transformed(tmp_path, store):
    data = example(tmp_path, "ctm12-events.csv")
    report = import_source(store, data / "ctm12-events.csv", doc_profile(tmp_path, "col-events-ctm12"))
    assert (report.total("inserted"), report.total("quarantined")) == (2, 0)
    ev = by(store, "events", "local_id")
    assert near(ev.loc["EV-001", "geometry"], -74.0817, 4.6097)
    assert near(ev.loc["EV-002", "geometry"], -75.5636, 6.2518)
    assert ev.loc["EV-001", "event_type"] == "accident_ap_mine"
    assert ev.loc["EV-002", "event_type"] == "uxo_found"
    assert ev.loc["EV-001", "event_date"] == dt.date(2021, 3, 4)
    assert list(ev["admin_code"]) == ["11001", "05001"]
    assert set(ev["organisation"]) == {"Example operator"}


# --- 2. coordinates -----------------------------------------------------------------------------

def test_2_wkt_polygons_and_an_empty_cell(tmp_path, store):
    data = example(tmp_path, "hazards-wkt.csv")
    import_source(store, data / "hazards-wkt.csv", doc_profile(tmp_path, "bih-hazards-wkt"))
    hz = by(store, "hazards", "local_id")
    assert hz.loc["BA-0107", "geometry"].bounds == pytest.approx((18.41, 43.85, 18.42, 43.86), abs=EPS)
    assert hz.loc["BA-0107", "reported_area_m2"] == pytest.approx(12000.0)
    assert hz.loc["BA-0107", "hazard_type"] == "CHA"
    assert hz.loc["BA-0108", "geometry_status"] == "missing"
    assert pd.isna(hz.loc["BA-0108", "reported_area_m2"])


def test_2_degrees_minutes_seconds(tmp_path, store):
    data = example(tmp_path, "events-dms.csv")
    report = import_source(store, data / "events-dms.csv", doc_profile(tmp_path, "col-events-dms"))
    assert (report.total("inserted"), report.total("quarantined")) == (4, 0)
    ev = by(store, "events", "local_id")
    for rid in ("A1", "A2", "A3", "A4"):
        assert ev.loc[rid, "geometry_status"] == "ok"
        assert near(ev.loc[rid, "geometry"], -75.55, 7.11), rid


def test_2_dms_that_cannot_be_read_is_stored_flagged(tmp_path, store):
    data = tmp_path / "data"
    data.mkdir()
    (data / "dms.csv").write_text("id,latitud,longitud\nB1,7°75'N,75 33 W\n", encoding="utf-8")
    import_source(store, data / "dms.csv", doc_profile(tmp_path, "col-events-dms"))
    ev = by(store, "events", "local_id")
    assert ev.loc["B1", "geometry_status"] == "unparseable"
    assert "minutes must be below 60" in ev.loc["B1", "geometry_note"]


def test_2_decimal_comma(tmp_path, store):
    data = example(tmp_path, "devices-decimal-comma.csv")
    import_source(store, data / "devices-decimal-comma.csv",
                  doc_profile(tmp_path, "col-devices-decimal-comma"))
    dev = by(store, "devices", "local_id")
    assert near(dev.loc["D-1", "geometry"], -75.55, 7.11)
    assert near(dev.loc["D-2", "geometry"], -75.5478, 7.1123)
    assert (dev.loc["D-1", "depth_m"], dev.loc["D-2", "depth_m"]) == (0.15, 1.2)
    assert (dev.loc["D-1", "eo_category"], dev.loc["D-2", "eo_category"]) == ("ap_mine", "uxo")


def test_2_latitude_and_longitude_in_one_cell(tmp_path, store):
    data = example(tmp_path, "events-latlon-cell.csv")
    import_source(store, data / "events-latlon-cell.csv",
                  doc_profile(tmp_path, "col-events-latlon-cell"))
    ev = by(store, "events", "local_id")
    for rid in ("C1", "C2", "C3"):
        assert near(ev.loc[rid, "geometry"], -75.55, 7.11), rid


def test_2_utm_with_band_letters(tmp_path, store):
    data = example(tmp_path, "events-utm.csv")
    import_source(store, data / "events-utm.csv", doc_profile(tmp_path, "bih-events-utm"))
    ev = by(store, "events", "local_id")
    assert near(ev.loc["U1", "geometry"], 18.4131, 43.8563)
    assert near(ev.loc["U2", "geometry"], 18.6735, 44.5375)


def test_2_utm_letter_as_hemisphere_fragment(tmp_path, store):
    """The fragment's geometry reads 18N as the northern hemisphere, and refuses 34T."""
    (fragment,) = [f for f in FRAGMENTS if "utm" in f]
    doc = {**yaml.safe_load(BY_NAME["bih-events-utm"]), **yaml.safe_load(fragment),
           "name": "col-events-utm", "country": "COL"}
    path = tmp_path / "utm.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "utm.csv").write_text("id,utm\nN1,18N 439265.36 785945.09\nN2,34T 292094.74 4859165.60\n",
                                  encoding="utf-8")
    import_source(store, data / "utm.csv", str(path))
    ev = by(store, "events", "local_id")
    assert near(ev.loc["N1", "geometry"], -75.55, 7.11)
    assert ev.loc["N2", "geometry_status"] == "unparseable"
    assert "not a hemisphere" in ev.loc["N2", "geometry_note"]


def test_2_mgrs_gives_the_south_west_corner_of_the_square(tmp_path, store):
    data = example(tmp_path, "events-mgrs.csv")
    import_source(store, data / "events-mgrs.csv", doc_profile(tmp_path, "bih-events-mgrs"))
    ev = by(store, "events", "local_id")
    assert near(ev.loc["M1", "geometry"], *utm_to_lonlat(34, "N", 292094, 4859165), eps=1e-9)
    assert near(ev.loc["M2", "geometry"], *utm_to_lonlat(34, "N", 315166, 4934207), eps=1e-9)
    assert near(ev.loc["M3", "geometry"], *utm_to_lonlat(34, "N", 315100, 4934200), eps=1e-9)
    assert near(ev.loc["M1", "geometry"], 18.4131, 43.8563, eps=1e-5)  # 1 m


# --- 3. dates -----------------------------------------------------------------------------------

def test_3_day_first_dates_and_times_with_and_without_offsets(tmp_path, store):
    data = example(tmp_path, "accidents-dates.csv")
    report = import_source(store, data / "accidents-dates.csv",
                           doc_profile(tmp_path, "col-accidents-dates"))
    assert (report.total("inserted"), report.total("quarantined")) == (3, 1)
    ev = by(store, "events", "local_id")
    utc = dt.timezone.utc
    assert ev.loc["AC-1", "event_date"] == ev.loc["AC-2", "event_date"] == dt.date(2021, 3, 4)
    assert ev.loc["AC-1", "event_time"] == ev.loc["AC-2", "event_time"] == \
        dt.datetime(2021, 3, 5, 4, 30, tzinfo=utc)
    assert ev.loc["AC-3", "event_date"] == dt.date(2021, 3, 13)
    assert ev.loc["AC-3", "event_time"] == dt.datetime(2021, 3, 14, 4, 30, tzinfo=utc)
    (q,) = report.files[0].quarantined
    assert "row 4" in q.locator and q.field == "event_date"
    assert "got '03/13/2021', expected a date as DD/MM/YYYY" in q.reason


def test_3_month_first_dates_and_spreadsheet_serials(tmp_path, store):
    data = example(tmp_path, "finds-us-dates.csv")
    import_source(store, data / "finds-us-dates.csv", doc_profile(tmp_path, "finds-month-first"))
    dev = by(store, "devices", "local_id")
    assert dev.loc["F-1", "found_date"] == dev.loc["F-1", "date_of_information"] == dt.date(2021, 3, 4)
    assert dev.loc["F-2", "found_date"] == dev.loc["F-2", "date_of_information"] == dt.date(2021, 12, 31)


def test_3_a_time_without_offset_and_without_timezone_is_quarantined(tmp_path, store):
    doc = yaml.safe_load(BY_NAME["col-accidents-dates"])
    del doc["read"]["timezone"]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    data = example(tmp_path, "accidents-dates.csv")
    report = import_source(store, data / "accidents-dates.csv", str(path))
    reasons = {q.locator.split(" (")[0]: q.reason for q in report.files[0].quarantined}
    assert set(reasons) == {"row 2", "row 4"}
    assert "declare read.timezone" in reasons["row 2"]


# --- 4. encodings -------------------------------------------------------------------------------

def test_4_declared_encoding(tmp_path, store):
    data = example(tmp_path, "victims-cp1252.csv")
    report = import_source(store, data / "victims-cp1252.csv", doc_profile(tmp_path, "col-victims-cp1252"))
    assert report.files[0].notes == []
    v = by(store, "victims", "admin2_name")
    assert v.loc["Samaniego", "admin1_name"] == "Nariño"
    assert (v.loc["Samaniego", "year"], v.loc["Samaniego", "month"]) == (2019, 5)
    assert v.loc["Cúcuta", "outcome"] == "killed"


def test_4_an_undeclared_encoding_that_reads_differently_in_each_code_page_stops_the_import(
        tmp_path, store):
    doc = yaml.safe_load(BY_NAME["col-victims-cp1252"])
    del doc["read"]["encoding"]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    data = example(tmp_path, "victims-cp1252.csv")
    with pytest.raises(Exception) as info:
        import_source(store, data / "victims-cp1252.csv", str(path))
    message = str(info.value)
    assert "as cp1252: 'año;mes;departamento;municipio;condición'" in message
    assert "as cp1250: 'ańo;mes;" in message and "Declare the right one" in message
    assert len(store.read_layer("victims")) == 0


def test_4_an_undeclared_encoding_every_code_page_reads_alike_is_detected_with_a_note(tmp_path):
    from mineledger.io.readers import read_source

    path = tmp_path / "lugares.csv"
    path.write_bytes("id,lugar\n1,Región Antioquía – “Bogotá”\n".encode("cp1252"))
    table = read_source(path, encoding=None)
    assert table.rows[0].properties["lugar"] == "Región Antioquía – “Bogotá”"
    (note,) = table.notes
    assert "read as cp1252, as detected" in note


def test_4_a_declared_encoding_the_file_does_not_fit_stops_the_import(tmp_path, store):
    doc = yaml.safe_load(BY_NAME["col-victims-cp1252"])
    doc["read"]["encoding"] = "utf-8"
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    data = example(tmp_path, "victims-cp1252.csv")
    with pytest.raises(Exception, match="not valid utf-8 text at byte 1"):
        import_source(store, data / "victims-cp1252.csv", str(path))
    assert len(store.read_layer("victims")) == 0


# --- 5. GIS files -------------------------------------------------------------------------------

SQUARE = shapely.Polygon([(18.41, 43.85), (18.42, 43.85), (18.42, 43.86), (18.41, 43.86)])


def _hazards_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"HAZARD_ID": ["HZ-1", "HZ-2"], "TYPE": ["CHA", "SHA"], "STATUS": ["Active", "Closed"],
         "INFO_DATE": ["2021-03-04", "2022-01-10"], "AREA_HA": [1.5, 2.0]},
        geometry=[SQUARE, shapely.affinity.translate(SQUARE, 0.02, 0)], crs=4326)


def _check_hazards(store, statuses=("open", "closed")):
    hz = by(store, "hazards", "local_id")
    assert list(hz.index) == ["HZ-1", "HZ-2"]
    assert hz.loc["HZ-1", "geometry"].bounds == pytest.approx(SQUARE.bounds, abs=1e-6)
    assert (hz.loc["HZ-1", "hazard_type"], hz.loc["HZ-2", "hazard_type"]) == ("CHA", "SHA")
    assert (hz.loc["HZ-1", "status"], hz.loc["HZ-2", "status"]) == statuses
    return hz


def test_5_geopackage_layer(tmp_path, store):
    path = tmp_path / "data" / "survey.gpkg"
    path.parent.mkdir()
    _hazards_frame().to_crs(32634).to_file(path, layer="hazards", driver="GPKG")
    gpd.GeoDataFrame({"ACC": ["A-1"]}, geometry=[shapely.Point(18.415, 43.855)], crs=4326) \
        .to_file(path, layer="accidents", driver="GPKG")
    import_source(store, path, doc_profile(tmp_path, "bih-survey-gpkg-hazards"))
    hz = _check_hazards(store)
    assert hz.loc["HZ-1", "date_of_information"] == dt.date(2021, 3, 4)
    assert hz.loc["HZ-1", "reported_area_m2"] == pytest.approx(15000.0)
    # without read.layer the file is refused, naming its layers
    doc = yaml.safe_load(BY_NAME["bih-survey-gpkg-hazards"])
    del doc["read"]["layer"]
    other = tmp_path / "p.yaml"
    other.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(Exception, match=r"2 layers with features \(hazards: 2, accidents: 1\)"):
        import_source(store, path, str(other))


def test_5_shapefile_zipped_folder_and_loose_without_prj(store_at, tmp_path, store):
    shp = tmp_path / "shp"
    shp.mkdir()
    _hazards_frame().to_crs(32634).to_file(shp / "hazards.shp")
    data = tmp_path / "data"
    data.mkdir()
    with zipfile.ZipFile(data / "hazards-2024.zip", "w") as z:
        for f in shp.iterdir():
            z.write(f, f.name)
    profile = doc_profile(tmp_path, "bih-hazards-shapefile")
    report = import_source(store, data, profile)  # the folder: pattern *.zip
    assert report.total("inserted") == 2
    _check_hazards(store)
    # a loose Shapefile whose .prj is lost: the profile's crs is used
    (shp / "hazards.prj").unlink()
    with open_store(store_at("loose")) as other:
        import_source(other, shp / "hazards.shp", profile)
        _check_hazards(other)


def test_5_kml_and_kmz(store_at, tmp_path, store):
    data = tmp_path / "data"
    data.mkdir()
    frame = gpd.GeoDataFrame({"Name": ["SHA-17", "SHA-18"], "description": ["near school", ""],
                              "reporter": ["CL team 2", "CL team 3"]},
                             geometry=[SQUARE, shapely.affinity.translate(SQUARE, 0.02, 0)], crs=4326)
    frame.to_file(data / "sketches.kml", driver="LIBKML")
    with zipfile.ZipFile(data / "sketches.kmz", "w") as z:
        z.write(data / "sketches.kml", "doc.kml")
    profile = doc_profile(tmp_path, "col-sha-sketches-kml")
    for name in ("sketches.kml", "sketches.kmz"):
        with open_store(store_at(f"{name}")) as s:
            report = import_source(s, data / name, profile)
            assert report.total("inserted") == 2
            hz = by(s, "hazards", "local_id")
            assert hz.loc["SHA-17", "geometry"].bounds == pytest.approx(SQUARE.bounds, abs=EPS)
            assert (hz.loc["SHA-17", "hazard_type"], hz.loc["SHA-17", "evidence"]) == ("SHA", "indirect")
            assert hz.loc["SHA-18", "attributes"] == {"reporter": "CL team 3"}


def test_5_geoparquet(tmp_path, store):
    path = tmp_path / "data" / "hazards.parquet"
    path.parent.mkdir()
    _hazards_frame().to_crs(32634).to_parquet(path)
    import_source(store, path, doc_profile(tmp_path, "bih-hazards-geoparquet"))
    _check_hazards(store)


@pytest.mark.parametrize("zipped", [False, True], ids=["gdb folder", "zipped gdb"])
def test_5_file_geodatabase_as_imsma_core_exports_it(tmp_path, store, zipped):
    gdb = tmp_path / "export" / "imsma.gdb"
    gdb.parent.mkdir()
    hazards = gpd.GeoDataFrame(  # coded-value fields are integers (Int32), one with a null
        {"LocalID": ["HZ-1", "HZ-2"], "HazardType": pd.array([2, 1], dtype="Int32"),
         "Status": pd.array([1, 3], dtype="Int32"), "Evidence": pd.array([1, None], dtype="Int32"),
         "DateOfInformation": pd.to_datetime(["2021-03-04 00:00", "2022-01-10 00:00"]),
         "AreaSqm": [15000.0, 20000.0]},
        geometry=[SQUARE, shapely.affinity.translate(SQUARE, 0.02, 0)], crs=4326).to_crs(3857)
    hazards.to_file(gdb, layer="Hazard", driver="OpenFileGDB")
    gpd.GeoDataFrame({"LocalID": ["AC-1"]}, geometry=[shapely.Point(18.415, 43.855)], crs=4326) \
        .to_file(gdb, layer="Accident", driver="OpenFileGDB")
    source = gdb
    if zipped:
        source = tmp_path / "export" / "imsma.gdb.zip"
        with zipfile.ZipFile(source, "w") as z:
            for f in gdb.iterdir():
                z.write(f, f"imsma.gdb/{f.name}")
    import_source(store, source, doc_profile(tmp_path, "imsma-core-hazards"))
    hz = _check_hazards(store, statuses=("open", "closed"))
    assert hz.loc["HZ-1", "date_of_information"] == dt.date(2021, 3, 4)
    assert hz.loc["HZ-2", "reported_area_m2"] == 20000.0
    assert hz.loc["HZ-1", "evidence"] == "direct" and hz.loc["HZ-2", "evidence"] is None
    assert set(hz["organisation"]) == {"BHMAC"}


def test_5_a_map_keyed_by_integer_codes_reads_an_integer_column_with_nulls(tmp_path, store):
    path = tmp_path / "data" / "coded.gpkg"
    path.parent.mkdir()
    gpd.GeoDataFrame({"HazardType": pd.array([1, 2, None], dtype="Int32")},
                     geometry=[SQUARE] * 3, crs=4326).to_file(path)
    profile = tmp_path / "coded.yaml"
    profile.write_text("layer: hazards\ncountry: BIH\nfields:\n"
                       "  hazard_type: {column: HazardType, map: {'1': SHA, '2': CHA}}\n",
                       encoding="utf-8")
    report = import_source(store, path, str(profile))
    assert report.total("quarantined") == 0, report.files[0].quarantined[0].reason


# --- 6 and 8. ODK Central -----------------------------------------------------------------------

ODK = ("odk/nts_report.csv", "odk/nts_report-devices.csv", "odk/nts_report-accidents.csv")


def test_6_odk_central_geoshape_split_geopoint_and_repeat_group(tmp_path, store):
    data = example(tmp_path, *ODK) / "odk"
    report = import_source(store, data / "nts_report.csv", doc_profile(tmp_path, "odk-nts-hazards"))
    assert (report.total("inserted"), report.total("quarantined")) == (2, 0)
    hz = by(store, "hazards", "local_id")
    assert hz.loc["HZ-0042", "geometry"].bounds == pytest.approx((-75.55, 7.11, -75.545, 7.115), abs=EPS)
    assert len(shapely.get_coordinates(hz.loc["HZ-0043", "geometry"])) == 4  # a closed triangle
    assert (hz.loc["HZ-0042", "hazard_type"], hz.loc["HZ-0043", "hazard_type"]) == ("CHA", "SHA")
    assert hz.loc["HZ-0042", "date_of_information"] == dt.date(2024, 5, 14)
    assert "SubmitterName" not in hz.loc["HZ-0042", "attributes"]

    report = import_source(store, data / "nts_report-devices.csv", doc_profile(tmp_path, "odk-nts-devices"))
    assert (report.total("inserted"), report.total("quarantined")) == (2, 0)
    dev = by(store, "devices", "model")
    pmn = dev.loc["PMN-2"]
    assert near(pmn["geometry"], -75.5481, 7.1121)
    assert (pmn["eo_category"], pmn["quantity"], pmn["depth_m"], pmn["fate"]) == \
        ("ap_mine", 2, 0.1, "destroyed_in_situ")
    # values of the parent submission, through the join
    assert (pmn["hazard_local_id"], pmn["activity_local_id"], pmn["organisation"]) == \
        ("HZ-0042", "T-101", "Example NGO")
    assert pmn["found_date"] == dt.date(2024, 5, 14)
    assert pmn["hazard_uuid"] == hz.loc["HZ-0042", "uuid"]
    assert pd.isna(dev.loc["60 mm mortar", "depth_m"])
    # neither the parent's columns nor the ignored ones are kept as attributes
    assert pmn["attributes"] is None


def test_8_xlsform_survey_feeds_hazards_activities_devices_and_accidents(tmp_path, store):
    data = example(tmp_path, *ODK) / "odk"
    for file, name in [("nts_report.csv", "odk-nts-hazards"), ("nts_report.csv", "odk-nts-activities"),
                       ("nts_report-devices.csv", "odk-nts-devices"),
                       ("nts_report-accidents.csv", "odk-nts-accidents")]:
        report = import_source(store, data / file, doc_profile(tmp_path, name))
        assert report.total("quarantined") == 0, (name, report.files[0].quarantined)
    hz = by(store, "hazards", "local_id")
    assert (hz.loc["HZ-0042", "status"], hz.loc["HZ-0043", "status"]) == ("worked_on", "worked_on")
    act = by(store, "activities", "local_id")
    assert (act.loc["T-101", "activity_type"], act.loc["T-101", "report_type"]) == ("nts", "progress")
    assert act.loc["T-102", "reported_cancelled_m2"] == 2500.0
    assert act.loc["T-101", "hazard_uuid"] == hz.loc["HZ-0042", "uuid"]
    assert near(act.loc["T-101", "geometry"], -75.5478, 7.1123)
    assert act.loc["T-101", "end_date"] == dt.date(2024, 5, 14)
    dev = by(store, "devices", "model")
    assert set(dev["activity_uuid"]) == {act.loc["T-101", "uuid"]}
    (acc,) = store.read_layer("events").to_dict("records")
    assert (acc["event_type"], acc["eo_category"], acc["killed"], acc["injured"]) == \
        ("accident_ap_mine", "ap_mine", 1, 2)
    assert acc["event_date"] == dt.date(2019, 11, 2)
    assert acc["event_time"] == dt.datetime(2019, 11, 2, 21, 20, tzinfo=dt.timezone.utc)
    assert acc["organisation"] == "Example NGO"
    assert near(acc["geometry"], -75.5486, 7.1131)


# --- 7. KoboToolbox -----------------------------------------------------------------------------

def kobo_xlsx(path: Path) -> Path:
    """A KoboToolbox XLSX export: the submissions sheet and the repeat sheet victims."""
    book = Workbook()
    main = book.active
    main.title = "EO accident report"
    main.append(["accident_date", "district", "device", "gps", "_gps_latitude", "_gps_longitude",
                 "_gps_altitude", "_gps_precision", "killed", "injured", "_id", "_uuid", "_index"])
    main.append(["2024-06-01", "Tibú", "landmine", "8.6412 -72.7336 75 4.8", 8.6412, -72.7336, 75,
                 4.8, 1, 2, 501, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 1])
    main.append(["2024-06-03", "Tumaco", "uxo", "1.8067 -78.7645 2 10", 1.8067, -78.7645, 2, 10,
                 0, 1, 502, "1a2b3c4d-5e6f-4789-8abc-def012345678", 2])
    rep = book.create_sheet("victims")
    rep.append(["victim_sex", "victim_age_group", "victim_outcome", "victim_civilian", "_index",
                "_parent_table_name", "_parent_index"])
    rep.append(["male", "adult", "killed", "yes", 1, "EO accident report", 1])
    rep.append(["female", "minor", "injured", "yes", 2, "EO accident report", 1])
    rep.append(["male", "adult", "injured", "no", 3, "EO accident report", 2])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def test_7_kobo_xlsx_whole_geopoint_split_columns_and_repeat_sheet(tmp_path, store):
    path = kobo_xlsx(tmp_path / "data" / "eo_accidents.xlsx")
    report = import_source(store, path, doc_profile(tmp_path, "kobo-eo-accidents"))
    assert (report.total("inserted"), report.total("quarantined")) == (2, 0)
    ev = by(store, "events", "admin2_name")
    assert near(ev.loc["Tibú", "geometry"], -72.7336, 8.6412)
    assert near(ev.loc["Tumaco", "geometry"], -78.7645, 1.8067)
    assert (ev.loc["Tibú", "killed"], ev.loc["Tibú", "injured"]) == (1, 2)
    assert (ev.loc["Tumaco", "killed"], ev.loc["Tumaco", "injured"]) == (0, 1)
    assert ev.loc["Tibú", "event_type"] == "accident_ap_mine" and ev.loc["Tumaco", "eo_category"] == "uxo"
    assert ev.loc["Tumaco", "event_date"] == dt.date(2024, 6, 3)

    report = import_source(store, path, doc_profile(tmp_path, "kobo-eo-victims"))
    assert (report.total("inserted"), report.total("quarantined")) == (3, 0)
    v = store.read_layer("victims")
    assert list(v["outcome"]) == ["killed", "injured", "injured"]
    assert list(v["age_group"]) == ["adult", "minor", "adult"]
    assert list(v["civilian"]) == [True, True, False]
    # the parent's value and position, through _parent_index -> _index
    assert list(v["admin2_name"]) == ["Tibú", "Tibú", "Tumaco"]
    assert near(v.geometry.iloc[1], -72.7336, 8.6412)
    assert near(v.geometry.iloc[2], -78.7645, 1.8067)
    assert set(zip(v["year"], v["month"])) == {(2024, 6)}


def test_7_kobo_geojson_gives_the_same_records_as_the_xlsx(tmp_path, store):
    path = kobo_xlsx(tmp_path / "data" / "eo_accidents.xlsx")
    import_source(store, path, doc_profile(tmp_path, "kobo-eo-accidents"))
    before = by(store, "events", "local_id")
    data = example(tmp_path, "kobo/eo_accidents.geojson")
    report = import_source(store, data / "kobo" / "eo_accidents.geojson",
                           doc_profile(tmp_path, "kobo-eo-accidents-geojson"))
    assert report.total("inserted") == 0  # same key, same records
    assert any("altitude" in n for n in report.files[0].notes)
    after = by(store, "events", "local_id")
    assert list(after.index) == ["501", "502"]
    assert list(after["uuid"]) == list(before["uuid"])
    for col in ("event_type", "eo_category", "event_date", "killed", "injured", "admin2_name"):
        assert list(after[col]) == list(before[col]), col
    assert near(after.loc["501", "geometry"], -72.7336, 8.6412)


# --- 9. HXL -------------------------------------------------------------------------------------

def test_9_hxl_csv_read_by_tags(tmp_path, store):
    data = example(tmp_path, "hxl/accidents-hxl.csv")
    report = import_source(store, data / "hxl" / "accidents-hxl.csv", doc_profile(tmp_path, "col-accidents-hxl"))
    assert (report.total("rows_read"), report.total("inserted")) == (2, 2)
    ev = by(store, "events", "admin2_name")
    assert (ev.loc["Briceño", "killed"], ev.loc["Briceño", "injured"]) == (1, 2)
    assert (ev.loc["Samaniego", "killed"], ev.loc["Samaniego", "injured"]) == (0, 3)
    assert ev.loc["Samaniego", "event_type"] == "accident_uxo"
    assert ev.loc["Briceño", "admin_code"] == "05107"
    assert ev.loc["Briceño", "event_date"] == dt.date(2021, 3, 4)
    assert near(ev.loc["Samaniego", "geometry"], -77.595, 1.336)
    assert ev.loc["Briceño", "attributes"] == {"Fuente": "Informe municipal"}


def test_9_export_with_hxl_is_read_back_by_tags_whatever_the_headers(store_at, tmp_path, store):
    data = example(tmp_path, "hxl/accidents-hxl.csv", "accidents-dates.csv")
    import_source(store, data / "hxl" / "accidents-hxl.csv", doc_profile(tmp_path, "col-accidents-hxl"))
    import_source(store, data / "accidents-dates.csv", doc_profile(tmp_path, "col-accidents-dates"))
    out = tmp_path / "out" / "col-events.csv"
    out.parent.mkdir()
    export_layer(store, "events", "csv", out, hxl=True, country="COL")
    lines = out.read_text(encoding="utf-8").splitlines()
    tags = lines[1].split(",")
    assert tags[0] == "#meta+id" and "#affected+killed" in tags and "#date+time_utc" in tags
    # a partner translates the headers; the tags still say what each column is
    lines[0] = ",".join(f"columna_{i}" for i in range(len(tags)))
    partner = tmp_path / "partner" / "eventos.csv"
    partner.parent.mkdir()
    partner.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open_store(store_at("partner")) as other:
        report = import_source(other, partner, doc_profile(tmp_path, "mineledger-events-by-hxl-tags"))
        assert report.total("quarantined") == 0
        got = by(other, "events", "uuid")
    ref = by(store, "events", "uuid")
    assert sorted(got.index) == sorted(ref.index)
    for col in ("country", "event_type", "event_date", "event_time", "killed", "injured",
                "admin2_name", "admin_code", "local_id"):
        assert values(got[col].reindex(ref.index)) == values(ref[col]), col
    for u in ref.index:
        assert near(got.loc[u, "geometry"], ref.loc[u, "geometry"].x, ref.loc[u, "geometry"].y, 1e-9)


# --- 10. export read back -----------------------------------------------------------------------

def _events_with_an_empty_geometry(tmp_path, store):
    data = example(tmp_path, "hxl/accidents-hxl.csv", "accidents-dates.csv")
    import_source(store, data / "hxl" / "accidents-hxl.csv", doc_profile(tmp_path, "col-accidents-hxl"))
    import_source(store, data / "accidents-dates.csv", doc_profile(tmp_path, "col-accidents-dates"))
    wkt = tmp_path / "data" / "empty.csv"
    wkt.write_text("id,wkt\nE-1,POINT EMPTY\n", encoding="utf-8")
    profile = tmp_path / "empty.yaml"
    profile.write_text("layer: events\ncountry: COL\nkey: id\ngeometry: {wkt: wkt, crs: EPSG:4326}\n"
                       "fields:\n  local_id: id\n  event_type: {value: uxo_found}\n", encoding="utf-8")
    import_source(store, wkt, str(profile))
    ref = by(store, "events", "uuid")
    assert sorted(ref["geometry_status"]) == ["empty", "ok", "ok", "ok", "ok", "ok"]
    return ref


def test_10_the_page_shows_the_profile_export_writes(tmp_path, store):
    _events_with_an_empty_geometry(tmp_path, store)
    out = tmp_path / "out" / "events.shp"
    out.parent.mkdir()
    report = export_layer(store, "events", "shp", out)
    (shown,) = [b for b in BLOCKS if "name: events-shp" in b]
    assert report.profile_path.read_text(encoding="utf-8") == shown


@pytest.mark.parametrize("fmt", ["shp", "csv", "gpkg"])
def test_10_an_export_is_read_back_into_the_same_records(store_at, tmp_path, store, fmt):
    ref = _events_with_an_empty_geometry(tmp_path, store)
    out = tmp_path / "out" / f"events.{fmt}"
    out.parent.mkdir()
    report = export_layer(store, "events", fmt, out)
    with open_store(store_at("partner")) as other:
        back = import_source(other, out, str(report.profile_path))
        assert (back.total("inserted"), back.total("quarantined")) == (6, 0)
        got = by(other, "events", "uuid")
        again = import_source(other, out, str(report.profile_path))
        assert again.total("unchanged") == 6
    assert sorted(got.index) == sorted(ref.index)
    got = got.reindex(ref.index)
    for col in ("country", "event_type", "event_date", "event_time", "killed", "injured",
                "admin1_name", "admin2_name", "admin_code", "local_id", "geometry_status"):
        assert values(got[col]) == values(ref[col]), col
    for u in ref.index:
        g, r = got.loc[u, "geometry"], ref.loc[u, "geometry"]
        assert (g.is_empty and r.is_empty) or near(g, r.x, r.y, 1e-7)
    # the exporting store's provenance stays in the file: nothing is added to the records
    # (and the columns a profile kept as attributes are not exported)
    assert values(got["attributes"]) == [None] * len(got)


def test_10_an_unparseable_geometry_keeps_its_flag_when_read_back(store_at, tmp_path, store):
    data = tmp_path / "data"
    data.mkdir()
    (data / "dms.csv").write_text("id,latitud,longitud\nB1,7°75'N,75 33 W\n", encoding="utf-8")
    import_source(store, data / "dms.csv", doc_profile(tmp_path, "col-events-dms"))
    out = tmp_path / "out" / "events.csv"
    out.parent.mkdir()
    report = export_layer(store, "events", "csv", out)
    with open_store(store_at("partner")) as other:
        import_source(other, out, str(report.profile_path))
        (rec,) = other.read_layer("events").to_dict("records")
    assert rec["geometry_status"] == "unparseable"
    assert "minutes must be below 60" in (rec["geometry_note"] or "")


# --- profile infer and profile check -----------------------------------------------------------

def test_infer_writes_choose_where_the_values_do_not_settle_it_and_such_a_draft_does_not_load(tmp_path):
    data = example(tmp_path, "accidents-dates.csv")
    draft = infer_profile(data / "accidents-dates.csv", layer="events")
    doc = yaml.safe_load(draft)
    assert doc["geometry"] == {"x": "lon", "y": "lat", "crs": "EPSG:4326"}
    assert doc["country"] == "CHOOSE-ISO3"
    assert "CHOOSE-dmy-or-mdy" in draft  # 13/03 and 03/13 in one column
    path = tmp_path / "draft.yaml"
    path.write_text(draft, encoding="utf-8")
    with pytest.raises(ProfileError):
        load_profile(path)


def test_infer_declares_what_the_values_prove(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ctm.csv").write_text("id,fecha,x,y,muertos\n1,04/03/2021,4880061.56,2067458.02,1\n"
                                  "2,17/03/2021,4716441.21,2249503.38,0\n", encoding="utf-8")
    doc = yaml.safe_load(infer_profile(data / "ctm.csv", layer="events"))
    assert doc["geometry"]["crs"].startswith("CHOOSE")  # metres: a projected CRS to choose
    (dated,) = [r for r in doc["fields"].values() if r["column"] == "fecha"]
    assert dated["format"] == "dmy"  # 17/03 proves day-first
    assert doc["fields"]["killed"] == {"column": "muertos"}
    (data / "dms.csv").write_bytes((EXAMPLES / "events-dms.csv").read_bytes())
    doc = yaml.safe_load(infer_profile(data / "dms.csv", layer="events"))
    assert doc["geometry"]["notation"] == "dms"
    doc = yaml.safe_load(infer_profile(EXAMPLES / "hxl" / "accidents-hxl.csv", layer="events"))
    assert doc["fields"]["killed"] == {"column": "#affected+killed"}


def test_check_reports_without_writing(tmp_path):
    data = example(tmp_path, "accidents-dates.csv")
    report = check_source(tmp_path / "none.gpkg", data / "accidents-dates.csv",
                          doc_profile(tmp_path, "col-accidents-dates"))
    assert (report.total("inserted"), report.total("quarantined")) == (3, 1)
    assert not (tmp_path / "none.gpkg").exists()


# --- 11. a case file ---------------------------------------------------------------------------

def test_11_a_case_file_with_counts_and_a_split_date(tmp_path, store):
    data = example(tmp_path, "case-file.csv")
    report = import_source(store, data / "case-file.csv", doc_profile(tmp_path, "col-case-file"))
    assert (report.total("inserted"), report.total("quarantined")) == (4, 2)
    assert report.warnings == {"ATTR-DATE-RANGE": 1}  # the year 2091
    ev = by(store, "events", "local_id")
    got = {k: tuple(None if pd.isna(v) else v for v in row)
           for k, row in ev[["event_type", "year", "month", "event_date", "killed", "injured",
                             "outcome_unknown"]].iterrows()}
    assert got == {
        "CF-001": ("accident_ap_mine", 2005, 3, dt.date(2005, 3, 4), 2, 1, 0),
        "CF-002": ("accident_at_mine", 2006, 11, None, 0, 2, 0),
        "CF-003": ("ied_incident", 2007, None, None, 0, 0, 0),
        "CF-004": ("accident_ap_mine", 2091, 1, dt.date(2091, 1, 15), None, None, 1),
    }
    shown = re.search(r"```text\n(docs/examples/case-file.csv with profile .*?)```", TEXT, re.S).group(1)
    for q in report.files[0].quarantined:  # the page shows what the import says
        assert f"examples/case-file.csv, {q.locator}: {q.reason}\n" in shown


def test_11_casualties_come_from_event_counts_until_victim_records_exist(tmp_path, store):
    data = example(tmp_path, "case-file.csv")
    import_source(store, data / "case-file.csv", doc_profile(tmp_path, "col-case-file"))
    v = summary(store, "COL").victims
    assert (v.source, v.count, v.killed, v.injured, v.outcome_unknown) == (
        "event counts", 6, 2, 3, 1)
    assert v.by_year == {"2005": 3, "2006": 2, "2091": 1}  # 2007 counted none
    assert (v.civilian, v.minors) == (None, None)  # event counts say nothing of them
    # one victim record: the figures are the records' alone, never both for the same people
    (tmp_path / "victims.csv").write_text("id,year,outcome\nV1,2005,killed\n", encoding="utf-8")
    (tmp_path / "victims.yaml").write_text(
        "layer: victims\ncountry: COL\nkey: [id]\nfields:\n  year: {column: year}\n"
        "  outcome: {column: outcome}\n", encoding="utf-8")
    assert import_source(store, tmp_path / "victims.csv",
                         str(tmp_path / "victims.yaml")).total("inserted") == 1
    v = summary(store, "COL").victims
    assert (v.source, v.count, v.killed, v.injured, v.outcome_unknown) == (
        "victim records", 1, 1, 0, 0)
    assert v.by_year == {"2005": 1}


def test_11_the_draft_of_the_case_file_is_checked_with_country(tmp_path):
    data = example(tmp_path, "case-file.csv")
    draft = infer_profile(data / "case-file.csv")
    doc = yaml.safe_load(draft)
    assert doc["country"] == "CHOOSE-ISO3"
    assert doc["fields"]["event_date"] == {"parts": {"year": "anio", "month": "mes", "day": "dia"}}
    assert doc["fields"]["event_type"]["map"] == yaml.safe_load(BY_NAME["col-case-file"])[
        "fields"]["event_type"]["map"]
    path = tmp_path / "draft.yaml"
    path.write_text(draft, encoding="utf-8")
    report = check_source(tmp_path / "none.gpkg", data / "case-file.csv", str(path), country="COL")
    assert (report.total("inserted"), report.total("quarantined")) == (5, 1)  # 30 February
