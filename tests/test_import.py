"""Import on small written inputs: one case each for every way a row is rejected, stored
and flagged, and for transactions, idempotence and identity."""

from __future__ import annotations

import json
import shutil

import pyogrio
import pytest
import shapely

from mineledger import (
    ProfileError,
    SourceError,
    StrictImportError,
    import_source,
    load_profile,
    open_store,
)

HEADER = ("departamento,codigodanedepartamento,municipio,codigodanemunicipio,tipoarea,sitio,ano,"
          "mes,rangoedad,grupoetnico,condicion,estado,genero,latitudcabecera,longitudcabecera,"
          "tipoevento,Ubicación,Actividad")
GOOD = ('ANTIOQUIA,5,GRANADA,"5,313",Rural,Sin información,"2,006",1,Mayor de 18 años,No,Civil,'
        'Hombre,Herido,6.143703,-75.185183,Sin informacion,"(6.143703, -75.185183)",'
        '"Pasando, estando cerca"')


def data_folder(tmp_path):
    """A data folder (it holds SOURCES.md), so source names are relative to it."""
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    (folder / "SOURCES.md").write_text("test data\n")
    return folder


def victims_csv(tmp_path, *rows: str, name="victims.csv", encoding="utf-8"):
    path = data_folder(tmp_path) / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding=encoding)
    return path


def replace_field(row: str, index: int, value: str) -> str:
    import csv
    import io

    fields = next(csv.reader(io.StringIO(row)))
    fields[index] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()


def feature_collection(tmp_path, features, name="areas.geojson", crs=None):
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path = data_folder(tmp_path) / name
    path.write_text(json.dumps(doc))
    return path


def feature(geometry, **props):
    return {"type": "Feature", "properties": {"typeArea": "Suspected Minefield",
                                              "fileId": "2585-III", **props},
            "geometry": geometry}


SQUARE = {"type": "Polygon", "coordinates": [[[17, 44], [17.001, 44], [17.001, 44.001],
                                              [17, 44.001], [17, 44]]]}
BOW_TIE = {"type": "Polygon", "coordinates": [[[17, 44], [17.002, 44.002], [17.002, 44],
                                               [17, 44.002], [17, 44]]]}


@pytest.fixture
def store(store_at, tmp_path):
    with open_store(store_at("t")) as s:
        yield s


# --- a good row, mapped for what its values are ---------------------------------------------

def test_victim_row_is_mapped_by_values_not_headers(store, tmp_path):
    report = import_source(store, victims_csv(tmp_path, GOOD), "aicma-victims")
    assert report.total("inserted") == 1
    v = store.read_layer("victims").iloc[0]
    assert (v.year, v.month, v.outcome, v.gender) == (2006, 1, "injured", "male")
    assert (v.admin_code, v.admin1_code, v.civilian, v.age_group) == ("05313", "05", True, "adult")
    assert v.place_type is None and v.site is None  # "Sin información" means not known
    assert v.location_precision == "municipal_seat"
    assert (v.geometry.x, v.geometry.y) == (-75.185183, 6.143703)
    # "Ubicación" repeats the two coordinate columns: the profile ignores it, and a victim's
    # other unmapped columns would be kept encrypted as personal data, never in attributes
    assert v.attributes is None
    assert v.source_file == "victims.csv" and v.source_locator == "row 1"


# --- rejected rows: one written input per reason ---------------------------------------------

REJECTIONS = [
    (6, "dos mil", "year", "an integer"),
    (6, "", "year", "required"),
    (6, "1,850", "year", "from 1900 to"),
    (7, "13", "month", "from 1 to 12"),
    (12, "Desaparecido", "outcome", "one of 'Muerto'"),
    (9, "Otro", "ethnic_group", "one of"),
    (10, "Guerrilla", "civilian", "one of 'Civil'"),
    (3, "5-313", "admin_code", "a numeric code"),
    (3, "123456", "admin_code", "at most 5 digits"),
]


@pytest.mark.parametrize("index,value,field,expected", REJECTIONS)
def test_each_bad_value_goes_to_quarantine_naming_row_field_and_expectation(
        store, tmp_path, index, value, field, expected):
    path = victims_csv(tmp_path, GOOD, replace_field(GOOD, index, value))
    report = import_source(store, path, "aicma-victims")
    assert (report.total("inserted"), report.total("quarantined")) == (1, 1)
    q = store.read_table("quarantine").iloc[0]
    assert (q.source_file, q.source_locator, q.field) == ("victims.csv", "row 2", field)
    assert expected in q.reason and f"'{field}'" in q.reason
    assert q.raw["ano"] is not None  # the whole row is kept
    assert len(store.read_layer("victims")) == 1


def test_wrong_geometry_type_goes_to_quarantine(store, tmp_path):
    path = feature_collection(tmp_path, [feature(SQUARE),
                                         feature({"type": "Point", "coordinates": [17, 44]})])
    report = import_source(store, path, "bih-suspected-areas")
    assert (report.total("inserted"), report.total("quarantined")) == (1, 1)
    q = store.read_table("quarantine").iloc[0]
    assert (q.source_locator, q.field) == ("feature 2", "geometry")
    assert "got Point, expected Polygon or MultiPolygon" in q.reason
    assert q.raw["geometry_wkt"] == "POINT (17 44)"


def test_value_outside_the_profile_map_goes_to_quarantine(store, tmp_path):
    path = feature_collection(tmp_path, [feature(SQUARE, typeArea="Cleared Areas")])
    import_source(store, path, "bih-suspected-areas")
    q = store.read_table("quarantine").iloc[0]
    assert q.field == "hazard_type" and "'Suspected Minefield'" in q.reason


def test_repeated_declared_key_goes_to_quarantine(store, tmp_path):
    f = {"type": "Feature", "properties": {"shapeName": "A", "shapeID": "X1", "shapeGroup": "BIH",
                                           "shapeType": "ADM1"}, "geometry": SQUARE}
    path = feature_collection(tmp_path, [f, {**f, "properties": {**f["properties"], "shapeName": "B"}}])
    report = import_source(store, path, "geoboundaries")
    assert (report.total("inserted"), report.total("quarantined")) == (1, 1)
    q = store.read_table("quarantine").iloc[0]
    assert "the key repeats feature 1" in q.reason
    assert q.source_locator == "feature 2 (key shapeID=X1)"


def test_row_country_that_contradicts_option_goes_to_quarantine(store, tmp_path):
    f = {"type": "Feature", "properties": {"shapeName": "A", "shapeID": "X1", "shapeGroup": "SRB",
                                           "shapeType": "ADM1"}, "geometry": SQUARE}
    report = import_source(store, feature_collection(tmp_path, [f]), "geoboundaries", country="BIH")
    assert report.total("quarantined") == 1
    assert "the row says 'SRB', --country says 'BIH'" in store.read_table("quarantine").reason[0]


# --- stored and flagged, never dropped -------------------------------------------------------

def test_missing_empty_and_invalid_geometries_are_stored_and_flagged(store, tmp_path):
    empty = {"type": "Polygon", "coordinates": []}
    path = feature_collection(tmp_path, [feature(SQUARE), feature(None), feature(empty),
                                         feature(BOW_TIE)])
    report = import_source(store, path, "bih-suspected-areas")
    assert report.total("inserted") == 4
    hz = store.read_layer("hazards").set_index("source_locator")
    assert hz.loc["feature 1", "geometry_status"] == "ok"
    assert hz.loc["feature 2", "geometry_status"] == "missing"
    assert hz.loc["feature 2", "geometry"] is None
    assert hz.loc["feature 3", "geometry_status"] == "empty"
    assert hz.loc["feature 3", "geometry"].is_empty
    bow = hz.loc["feature 4"]
    assert bow.geometry_status == "repaired" and "Self-intersection" in bow.geometry_note
    assert len(bow.geometry.geoms) == 2
    assert shapely.from_wkb(bow.source_geometry).equals(shapely.from_geojson(json.dumps(BOW_TIE)))
    assert hz.loc["feature 2", "area_m2"] is None or hz.loc["feature 2", "area_m2"] != hz.loc["feature 2", "area_m2"]
    # GDAL (or PostGIS itself) sees the difference between missing and empty too
    if store.location.startswith("postgresql:"):
        import geopandas as gpd

        gdf = gpd.read_postgis("SELECT geom FROM hazards", store.store.engine, geom_col="geom")
    else:
        gdf = pyogrio.read_dataframe(store.location, layer="hazards")
    assert gdf.geometry.isna().sum() == 1 and gdf.geometry.is_empty.sum() == 1


@pytest.mark.parametrize("lat,lon,status,note", [
    ("", "", "missing", None),
    ("95.1", "-75.1", "unparseable", "latitude in [-90, 90]"),
    ("6.1", "setenta", "unparseable", "expected a number such as 4.61"),
])
def test_bad_coordinates_are_stored_flagged_with_the_reason(store, tmp_path, lat, lon, status, note):
    row = replace_field(replace_field(GOOD, 13, lat), 14, lon)
    report = import_source(store, victims_csv(tmp_path, row), "aicma-victims")
    assert report.total("inserted") == 1
    v = store.read_layer("victims").iloc[0]
    assert v.geometry is None and v.geometry_status == status
    if note:
        assert note in v.geometry_note and "latitudcabecera" in v.geometry_note


# --- whole-import behaviour ------------------------------------------------------------------

def test_strict_writes_nothing_when_a_row_would_be_quarantined(store, tmp_path):
    path = victims_csv(tmp_path, GOOD, replace_field(GOOD, 7, "13"))
    with pytest.raises(StrictImportError, match="row 2: field 'month'"):
        import_source(store, path, "aicma-victims", strict=True)
    assert len(store.read_layer("victims")) == 0
    assert len(store.read_table("quarantine")) == 0
    assert len(store.read_table("imports")) == 0
    assert len(store.read_table("change_log")) == 0


def test_folder_import_is_one_transaction(store, tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    ok = {"type": "Feature", "properties": {"TIPO_EVENTO": "1", "DEPARTAMENTO": "META",
                                            "TIPO_AREA": "Rural", "AÑO": "2005", "MUNICIPIO": "URIBE"},
          "geometry": {"type": "Point", "coordinates": [-74.3, 3.2]}}
    feature_collection(folder, [ok], name="2005.geojson")
    (folder / "2006.geojson").write_text('{"type": "FeatureCollection", "features": [')  # broken
    with pytest.raises(SourceError, match="2006.geojson"):
        import_source(store, folder, "aicma-events")
    assert len(store.read_layer("events")) == 0 and len(store.read_table("imports")) == 0


def test_reimport_changes_nothing_but_records_that_it_ran(store, tmp_path):
    path = victims_csv(tmp_path, GOOD, GOOD, replace_field(GOOD, 7, "13"))
    first = import_source(store, path, "aicma-victims")
    before = (store.read_layer("victims"), store.read_table("change_log"), store.read_table("quarantine"))
    second = import_source(store, path, "aicma-victims")
    assert (first.total("inserted"), first.total("quarantined")) == (2, 1)
    assert (second.total("inserted"), second.total("updated"), second.total("unchanged")) == (0, 0, 2)
    after = (store.read_layer("victims"), store.read_table("change_log"), store.read_table("quarantine"))
    assert after[0].drop(columns="geometry").equals(before[0].drop(columns="geometry"))
    assert len(after[1]) == len(before[1]) == 2
    assert len(after[2]) == len(before[2]) == 1
    assert len(store.read_table("imports")) == 2


def test_changed_source_row_is_updated_with_its_history(store, tmp_path):
    path = victims_csv(tmp_path, GOOD)
    import_source(store, path, "aicma-victims")
    victims_csv(tmp_path, replace_field(GOOD, 12, "Muerto"))
    report = import_source(store, path, "aicma-victims")
    assert report.total("updated") == 1
    log = store.read_table("change_log")
    assert list(log.action) == ["insert", "update"]
    assert log.iloc[1].before["outcome"] == "injured" and log.iloc[1].after["outcome"] == "killed"
    assert store.read_layer("victims").outcome.tolist() == ["killed"]


def test_identical_rows_stay_two_records(store, tmp_path):
    import_source(store, victims_csv(tmp_path, GOOD, GOOD), "aicma-victims")
    victims = store.read_layer("victims")
    assert len(victims) == 2 and victims.uuid.nunique() == 2


def test_identity_does_not_depend_on_where_the_data_folder_sits(store_at, tmp_path):
    first = tmp_path / "a" / "data"
    (first / "col").mkdir(parents=True)
    (first / "SOURCES.md").write_text("data\n")
    (first / "col" / "victims.csv").write_text(HEADER + "\n" + GOOD + "\n")
    second = tmp_path / "elsewhere" / "copy"
    shutil.copytree(first, second)
    uuids = []
    for i, root in enumerate((first, second)):
        with open_store(store_at(f"s{i}")) as s:
            import_source(s, root / "col" / "victims.csv", "aicma-victims")
            v = s.read_layer("victims")
            assert v.source_file.tolist() == ["col/victims.csv"]
            uuids.append(v.uuid.tolist())
    assert uuids[0] == uuids[1]


def test_change_log_names_who_when_which_import(store, tmp_path):
    report = import_source(store, victims_csv(tmp_path, GOOD), "aicma-victims", user="officer1")
    entry = store.read_table("change_log").iloc[0]
    assert entry.user_name == "officer1" and entry.action == "insert"
    assert entry.import_id == report.files[0].import_id
    assert entry["at"].tzinfo is not None


# --- errors before anything is read ----------------------------------------------------------

def test_missing_column_is_a_profile_error_naming_it(store, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text(HEADER.replace(",mes,", ",month,") + "\n" + GOOD + "\n")
    with pytest.raises(ProfileError, match=r"reads column\(s\) \['mes'\]"):
        import_source(store, path, "aicma-victims")


def test_wrong_encoding_is_a_source_error(store, tmp_path):
    path = victims_csv(tmp_path, GOOD, encoding="cp1252")
    with pytest.raises(SourceError, match="not valid utf-8-sig text at byte"):
        import_source(store, path, "aicma-victims")


def test_unknown_profile_lists_the_built_in_ones():
    with pytest.raises(ProfileError, match="aicma-victims"):
        load_profile("no-such-profile")


@pytest.mark.parametrize("text,message", [
    ("layer: minefields\n", "layer 'minefields'; expected one of"),
    ("layer: hazards\nfields: {colour: {column: c}}\n", "has no field 'colour'"),
    ("layer: hazards\nfields: {hazard_type: {column: t, map: {x: NSA}}}\n", "map gives 'NSA'"),
    ("layer: hazards\nfields: {status: {column: s, value: open}}\n", "exactly one of"),
    ("layer: hazards\n  bad: [\n", "not valid YAML"),
    ("layer: victims\ngeometry: {x: lon, y: lat}\n", "geometry.crs is required"),
    # values of the wrong kind, refused on load rather than written into the store
    ("layer: victims\nread: {encoding: klingon}\n", "not a known text encoding"),
    ("layer: victims\nfields: {month: {column: mes, min: one}}\n", "min must be a number"),
    ("layer: victims\nfields: {month: {column: [mes]}}\n", "column must be a column name"),
    ("layer: victims\nfields: {site: {column: s, null_values: 13}}\n", "null_values must be a list"),
    ("layer: victims\nfields: {year: {column: ano, thousands: 5}}\n", "thousands must be one character"),
    ("layer: victims\nfields: {year: {column: ano, parse: text}}\n", "does not give a integer"),
    ("layer: victims\nfields: {month: {value: notanumber}}\n", "not a integer"),
    ("layer: victims\nfields: {date_of_information: {column: ano, parse: integer}}\n", "does not give a date"),
    ("layer: victims\nfields: {outcome: {column: g, map: {M: killed}, default: zombie}}\n", "gives 'zombie'"),
    ("layer: victims\nfields: {civilian: {column: c, map: {Civil: yes please}}}\n", "not a boolean"),
    ("layer: victims\ngeometry: {x: a, y: b, crs: 'EPSG:99999'}\n", "not a coordinate reference system"),
])
def test_malformed_profiles_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_vector_file_without_crs_is_refused_unless_the_profile_declares_one(store, tmp_path):
    path = tmp_path / "nocrs.csv"
    path.write_text("WKT,typeArea,fileId\n\"POLYGON ((17 44, 17.001 44, 17.001 44.001, 17 44))\",Suspected Minefield,x\n")
    with pytest.raises(SourceError, match="declares no coordinate reference system"):
        import_source(store, path, load_profile_with(tmp_path, "vector", None))


def load_profile_with(tmp_path, fmt, crs):
    text = ("name: t\nlayer: hazards\ncountry: BIH\nread: {format: %s}\n" % fmt +
            (f"geometry: {{crs: '{crs}'}}\n" if crs else "") +
            "fields:\n  hazard_type: {column: typeArea, map: {Suspected Minefield: SHA}}\n")
    p = tmp_path / "t.yaml"
    p.write_text(text)
    return load_profile(p)


def test_projected_source_is_transformed_to_wgs84(store, tmp_path):
    # a 100 m square in UTM 33N (EPSG:32633), near 44° N 17° E
    x0, y0 = 500_000.0, 4_872_000.0
    square = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 100, y0], [x0 + 100, y0 + 100],
                                                  [x0, y0 + 100], [x0, y0]]]}
    path = feature_collection(tmp_path, [feature(square)], crs="urn:ogc:def:crs:EPSG::32633")
    import_source(store, path, "bih-suspected-areas")
    hz = store.read_layer("hazards").iloc[0]
    minx, miny, _, _ = hz.geometry.bounds
    assert minx == pytest.approx(15.0, abs=0.01) and miny == pytest.approx(44.0, abs=0.05)
    assert hz.area_m2 == pytest.approx(10_000 / 0.9996 ** 2, rel=2e-3)


# --- findings of an attack on the first version ---------------------------------------------

def test_same_file_name_in_two_folders_is_two_sources(store, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "victims.csv").write_text(HEADER + "\n" + GOOD + "\n")
        report = import_source(store, tmp_path / folder / "victims.csv", "aicma-victims")
        assert report.total("inserted") == 1
    assert sorted(store.read_layer("victims").source_file) == ["a/victims.csv", "b/victims.csv"]


def test_country_option_cannot_relabel_a_profile_country(store, tmp_path):
    with pytest.raises(ProfileError, match="profile 'aicma-victims' is for COL; --country says BIH"):
        import_source(store, victims_csv(tmp_path, GOOD), "aicma-victims", country="BIH")


def test_csv_coordinates_in_a_declared_projected_crs_are_transformed(store, tmp_path):
    # MAGNA-SIRGAS / Origen-Nacional (EPSG:9377): false origin 5,000,000 E, 2,000,000 N at 4° N 73° W
    path = data_folder(tmp_path) / "ctm12.csv"
    path.write_text("x,y,TIPO_EVENTO\n5000000,2000000,1\n")
    profile = tmp_path / "ctm12.yaml"
    profile.write_text("layer: events\ncountry: COL\nread: {format: csv}\n"
                       "geometry: {x: x, y: y, crs: 'EPSG:9377'}\n"
                       "fields:\n  event_type: {column: TIPO_EVENTO, map: {'1': accident_ap_mine}}\n")
    import_source(store, path, load_profile(profile))
    point = store.read_layer("events").geometry[0]
    assert (point.x, point.y) == (pytest.approx(-73.0, abs=1e-6), pytest.approx(4.0, abs=1e-6))


def test_polygon_outside_lonlat_range_is_flagged_not_measured(store, tmp_path):
    metres = {"type": "Polygon", "coordinates": [[[2e6, 5e6], [2.001e6, 5e6], [2.001e6, 5.001e6],
                                                  [2e6, 5e6]]]}
    import_source(store, feature_collection(tmp_path, [feature(metres)]), "bih-suspected-areas")
    hz = store.read_layer("hazards").iloc[0]
    assert hz.geometry is None and hz.geometry_status == "unparseable"
    assert "is the CRS right?" in hz.geometry_note and hz.source_geometry is not None


def test_quarantine_follows_later_imports(store, tmp_path):
    path = victims_csv(tmp_path, replace_field(GOOD, 6, "dos mil"))
    import_source(store, path, "aicma-victims")
    victims_csv(tmp_path, replace_field(GOOD, 7, "13"))  # another fault in the same row
    import_source(store, path, "aicma-victims")
    q = store.read_table("quarantine")
    assert len(q) == 1 and q.field[0] == "month" and q.status[0] == "open"
    victims_csv(tmp_path, GOOD)  # fixed at the source
    import_source(store, path, "aicma-victims")
    q = store.read_table("quarantine")
    assert q.status.tolist() == ["resolved"] and len(store.read_layer("victims")) == 1
    from mineledger import summary
    assert summary(store, "COL")["quarantine"] == {"count": 0, "resolved": 1}


def test_quarantined_row_keeps_the_country_it_names(store, tmp_path):
    f = {"type": "Feature", "properties": {"shapeName": "A", "shapeID": "X1", "shapeGroup": "BIH",
                                           "shapeType": "ADMX"}, "geometry": SQUARE}
    import_source(store, feature_collection(tmp_path, [f]), "geoboundaries")
    assert store.read_table("quarantine", "BIH").field.tolist() == ["level"]


@pytest.mark.parametrize("value", ["２００６", "2_006", "0x7d6"])
def test_numbers_must_be_plain_ascii(store, tmp_path, value):
    import_source(store, victims_csv(tmp_path, replace_field(GOOD, 6, value)), "aicma-victims")
    assert store.read_table("quarantine").field.tolist() == ["year"]


def test_empty_declared_key_goes_to_quarantine(store, tmp_path):
    f = {"type": "Feature", "properties": {"shapeName": "A", "shapeID": None, "shapeGroup": "BIH",
                                           "shapeType": "ADM1"}, "geometry": SQUARE}
    import_source(store, feature_collection(tmp_path, [f]), "geoboundaries")
    q = store.read_table("quarantine").iloc[0]
    assert q.source_locator == "feature 1 (key shapeID=None)" and "empty" in q.reason


def test_row_with_too_many_or_too_few_fields_goes_to_quarantine(store, tmp_path):
    path = victims_csv(tmp_path, GOOD, GOOD + ",extra", "ANTIOQUIA,5,GRANADA")
    report = import_source(store, path, "aicma-victims")
    assert (report.total("inserted"), report.total("quarantined")) == (1, 2)
    reasons = store.read_table("quarantine").set_index("source_locator").reason
    assert reasons["row 2"].startswith("the row has 19 fields, the header 18")
    assert reasons["row 3"].startswith("the row has 3 fields, the header 18")


def test_repeated_header_column_is_refused(store, tmp_path):
    path = data_folder(tmp_path) / "dup.csv"
    path.write_text(HEADER + ",genero\n" + GOOD + ",Muerto\n")
    with pytest.raises(SourceError, match=r"names column\(s\) \['genero'\] more than once"):
        import_source(store, path, "aicma-victims")


def test_semicolon_file_gets_a_delimiter_hint(store, tmp_path):
    path = data_folder(tmp_path) / "semi.csv"
    path.write_text(HEADER.replace(",", ";") + "\n")
    with pytest.raises(ProfileError, match="set read.delimiter"):
        import_source(store, path, "aicma-victims")


def test_nfd_text_matches_its_nfc_map_key(store, tmp_path):
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Sin Información")
    import_source(store, victims_csv(tmp_path, replace_field(GOOD, 11, nfd)), "aicma-victims")
    assert store.read_layer("victims").gender.tolist() == ["unknown"]
