"""Hostile and malformed inputs to import and export: each gives the right value or a clear
error naming file, row and field — never a wrong value, a lost record or a traceback."""

from __future__ import annotations

import datetime as dt
import json
import zipfile

import pandas as pd
import pytest
import shapely
from openpyxl import Workbook, load_workbook

from mineledger.errors import ProfileError, QueryError, SourceError
from mineledger.io.profiles import load_profile
from mineledger.ledger.export import export_layer, select_records
from mineledger.ledger.importer import import_source
from mineledger import open_store
from tests.conftest import run_cli


@pytest.fixture
def store(store_at, tmp_path):
    with open_store(store_at("s")) as s:
        yield s


def data(tmp_path, name: str, text: str | bytes) -> str:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def profile(tmp_path, text: str, name="p.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


EVENTS = """
layer: events
country: COL
fields:
  event_type: {value: accident_ap_mine}
"""


def test_an_hxl_pattern_matching_two_columns_is_refused(tmp_path, store):
    path = data(tmp_path, "h.csv", "Dept,Killed men,Killed women\n#adm1+name,#affected+killed+m,"
                                   "#affected+killed+f\nAntioquia,1,2\n")
    text = EVENTS + '  killed: {column: "#affected+killed"}\n'
    with pytest.raises(ProfileError, match=r"'#affected\+killed' matches 2 columns \('Killed men' "
                                           r"#affected\+killed\+m, 'Killed women' #affected\+killed\+f\)"):
        import_source(store, path, profile(tmp_path, text))
    assert store.read_layer("events").empty
    text = EVENTS + '  killed: {column: "#affected+killed+f"}\n'
    import_source(store, path, profile(tmp_path, text))
    assert list(store.read_layer("events")["killed"]) == [2]


def test_a_data_row_that_starts_with_hash_is_data_not_hxl(tmp_path, store):
    path = data(tmp_path, "h.csv", "id,lon,lat\n#A1,18.4,43.8\nB,18.5,43.9\n")
    text = EVENTS.replace("COL", "BIH") + "  local_id: {column: id}\ngeometry: {x: lon, y: lat, crs: EPSG:4326}\n"
    report = import_source(store, path, profile(tmp_path, text))
    assert report.total("inserted") == 2
    assert sorted(store.read_layer("events")["local_id"]) == ["#A1", "B"]


def test_a_kmz_with_several_kml_files_is_refused(tmp_path, store):
    kml = ('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           '<Placemark><name>{n}</name><Point><coordinates>18.4,43.8</coordinates></Point>'
           '</Placemark></Document></kml>')
    path = tmp_path / "data" / "two.kmz"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("doc.kml", kml.format(n="A"))
        zf.writestr("b.kml", kml.format(n="B"))
    with pytest.raises(SourceError, match=r"two.kmz: holds 2 KML files \(doc.kml, b.kml\); GDAL "
                                          "would read only one of them"):
        import_source(store, path, profile(tmp_path, EVENTS))


def test_parquet_with_wkb_but_no_geo_metadata_is_refused(tmp_path, store):
    path = tmp_path / "data" / "h.parquet"
    path.parent.mkdir()
    pd.DataFrame({"id": ["a"], "geometry": [shapely.to_wkb(shapely.box(0, 0, 1, 1))]}).to_parquet(path)
    with pytest.raises(SourceError, match=r"column\(s\) \['geometry'\] hold binary values \(WKB "
                                          "geometry\\?\\) but the file has no valid GeoParquet"):
        import_source(store, path, profile(tmp_path, EVENTS))


def test_a_repeat_row_whose_parent_key_repeats_is_quarantined(tmp_path, store):
    data(tmp_path, "parent.csv", "KEY,ref\nP1,HZ-1\nP1,HZ-9\nP2,HZ-2\n")
    path = data(tmp_path, "child.csv", "PARENT_KEY,KEY,lat,lon\nP1,C1,43.8,18.4\nP2,C2,43.9,18.5\n")
    text = """
layer: devices
country: BIH
key: [KEY]
read: {join: {file: parent.csv, child: PARENT_KEY, parent: KEY}}
geometry: {x: lon, y: lat, crs: EPSG:4326}
fields:
  hazard_local_id: {column: parent.ref}
"""
    report = import_source(store, path, profile(tmp_path, text))
    assert (report.total("inserted"), report.total("quarantined")) == (1, 1)
    (q,) = report.files[0].quarantined
    assert "the parent key is not unique in parent.csv (rows 1, 2 have KEY = 'P1')" in q.reason
    assert list(store.read_layer("devices")["hazard_local_id"]) == ["HZ-2"]


def test_a_geojson_multipolygon_missing_a_nesting_level_is_repaired(tmp_path, store):
    ring = [[18.41, 43.85], [18.42, 43.85], [18.42, 43.86], [18.41, 43.86], [18.41, 43.85]]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a"},
         "geometry": {"type": "MultiPolygon", "coordinates": [ring]}},
        {"type": "Feature", "properties": {"id": "b"},
         "geometry": {"type": "MultiPolygon", "coordinates": []}}]}
    path = data(tmp_path, "h.geojson", json.dumps(doc))
    text = "layer: hazards\ncountry: BIH\nkey: [id]\nfields:\n  local_id: {column: id}\n"
    import_source(store, path, profile(tmp_path, text))
    got = store.read_layer("hazards").set_index("local_id")
    assert got.loc["a", "geometry_status"] == "repaired"
    assert "nesting level" in got.loc["a", "geometry_note"]
    assert got.loc["a", "geometry"].equals(shapely.MultiPolygon([shapely.Polygon(ring)]))
    assert got.loc["b", "geometry_status"] == "empty"


@pytest.mark.parametrize("value, expected", [
    ("9007199254740993", 9007199254740993),  # above 2**53: exact, not rounded through float
    ("100000000000000000000", "a whole number of at most 18 digits"),
])
def test_integers_are_exact_or_refused(tmp_path, store, value, expected):
    path = data(tmp_path, "b.csv", f"id,n,w\n1,{value},\"POLYGON ((0 0, 1 0, 1 1, 0 0))\"\n")
    text = ("layer: hazards\ncountry: BIH\nkey: [id]\ngeometry: {wkt: w, crs: EPSG:4326}\n"
            "fields:\n  beneficiaries: {column: n}\n")
    report = import_source(store, path, profile(tmp_path, text))
    if isinstance(expected, int):
        assert list(store.read_layer("hazards")["beneficiaries"]) == [expected]
    else:
        assert expected in report.files[0].quarantined[0].reason


def test_xlsx_formulas_without_values_are_refused_and_text_formulas_export_as_text(tmp_path, store):
    book = Workbook()
    ws = book.active
    ws.append(["id", "sheet", "seen"])
    ws.append([1, "plain", "2021-03-04"])
    ws.append([2, '=A3&"x"', "=TODAY()"])
    path = tmp_path / "data" / "f.xlsx"
    path.parent.mkdir()
    book.save(path)
    text = ("layer: events\ncountry: BIH\nkey: [id]\nfields:\n  event_type: {value: mine_incident}\n"
            "  map_sheet: {column: sheet}\n  event_date: {column: seen}\n")
    report = import_source(store, path, profile(tmp_path, text))
    (q,) = report.files[0].quarantined
    assert q.locator.startswith("row 2") and "formula with no computed value" in q.reason
    # a text value that starts with "=" leaves as text, not as a formula to run
    with store.writer(user="t", command="t") as w:
        row = w.existing("events", list(store.read_layer("events")["uuid"]))
        (current,) = row.values()
        w.amend("events", current, {"map_sheet": "=1+1"}, import_id=None, reason="test")
    out = tmp_path / "e.xlsx"
    export_layer(store, "events", "xlsx", out)
    cells = {c.value for r in load_workbook(out).active.iter_rows() for c in r}
    assert "=1+1" in cells
    cell = next(c for r in load_workbook(out).active.iter_rows() for c in r if c.value == "=1+1")
    assert cell.data_type == "s"


def test_times_that_do_not_exist_or_happen_twice_are_refused(tmp_path, store):
    path = data(tmp_path, "t.csv", "id,at\n1,28/03/2021 02:30\n2,31/10/2021 02:30\n3,04/03/2021\n"
                                   "4,04/03/2021 10:00\n")
    text = ("layer: events\ncountry: BIH\nkey: [id]\nread: {timezone: Europe/Sarajevo}\nfields:\n"
            "  event_type: {value: mine_incident}\n  event_time: {column: at, format: dmy}\n")
    report = import_source(store, path, profile(tmp_path, text))
    reasons = {q.locator.split(" ")[1]: q.reason for q in report.files[0].quarantined}
    assert "clocks skip it" in reasons["1"]
    assert "repeated when clocks go back" in reasons["2"]
    assert "a date with a time of day" in reasons["3"]
    assert list(store.read_layer("events")["event_time"]) == [
        dt.datetime(2021, 3, 4, 9, tzinfo=dt.timezone.utc)]


@pytest.mark.parametrize("snippet, message", [
    ("key: 5", "key must be a column name or a list of them, got 5"),
    ("source: me", "'source' must be a mapping, got 'me'"),
    ("organisation: [a, b]", "'organisation' must be text"),
    ("read: {encoding: rot13}", "read.encoding 'rot13' is not a known text encoding"),
    ("read: {pattern: 5}", "read.pattern must be a file name pattern"),
    ("read: {join: {on: [a, b], file: x.csv}}", "YAML reads the key 'on' as true"),
    ("geometry: {x: lon, y: [lat], crs: EPSG:4326}", "geometry.y must be a column name, got ['lat']"),
    ("fields: {event_date: {column: d, format: '%Q'}}", "format '%Q' is not a strptime pattern"),
    ("fields: {killed: {column: k, required: 'no'}}", "required must be true or false, got 'no'"),
    ("fields: {killed: {column: k, min: 5, max: 1}}", "min 5 is above max 1"),
])
def test_profile_mistakes_are_named(tmp_path, snippet, message):
    text = "layer: events\ncountry: COL\n" + snippet + "\n"
    with pytest.raises(ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        load_profile(profile(tmp_path, text))


def test_admin_filter_follows_the_summarys_attribution(tmp_path, store):
    areas = data(tmp_path, "a.csv",
                 "code,parent,level,w\n"
                 "BA,,1,\"POLYGON ((0 0, 2 0, 2 1, 0 1, 0 0))\"\n"
                 "BA01,BA,2,\"POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))\"\n"
                 "BA02,BA,2,\"POLYGON ((1 0, 2 0, 2 1, 1 1, 1 0))\"\n")
    import_source(store, areas, profile(tmp_path, "layer: admin_areas\ncountry: BIH\nkey: [code]\n"
                                        "geometry: {wkt: w, crs: EPSG:4326}\nfields:\n"
                                        "  code: {column: code}\n  parent_code: {column: parent}\n"
                                        "  level: {column: level}\n", "a.yaml"))
    hz = data(tmp_path, "h.csv",
              "id,code,w\n"
              "D,BA02,\"POLYGON ((0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.1))\"\n"  # coded BA02, lies in BA01
              "E,,\"POLYGON ((1 0.1, 1.1 0.1, 1.1 0.2, 1 0.1))\"\n"  # shares only an edge with BA01
              "F,,\"POLYGON ((0.5 0.5, 0.6 0.5, 0.6 0.6, 0.5 0.5))\"\n")
    import_source(store, hz, profile(tmp_path, "layer: hazards\ncountry: BIH\nkey: [id]\n"
                                     "geometry: {wkt: w, crs: EPSG:4326}\nfields:\n"
                                     "  local_id: {column: id}\n  admin_code: {column: code}\n", "h.yaml"))
    ids = lambda code: sorted(select_records(store, "hazards", admin=code)["local_id"])
    assert ids("BA01") == ["F"]
    assert ids("BA02") == ["D", "E"]
    assert ids("BA") == ["D", "E", "F"]  # an area takes the records of the areas within it
    with pytest.raises(QueryError, match="--from 2021-03-06 is after --to 2021-03-01"):
        select_records(store, "hazards", date_from="2021-03-06", date_to="2021-03-01")


def test_an_empty_export_reads_back_as_nothing(store_at, tmp_path, store):
    path = data(tmp_path, "h.csv", "id,w\n1,\"POLYGON ((0 0, 1 0, 1 1, 0 0))\"\n")
    import_source(store, path, profile(tmp_path, "layer: hazards\ncountry: BIH\nkey: [id]\n"
                                       "geometry: {wkt: w, crs: EPSG:4326}\nfields: {}\n"))
    for fmt in ("geojson", "kml"):
        out = tmp_path / f"none.{fmt}"
        report = export_layer(store, "hazards", fmt, out, country="COL")
        assert report.records == 0
        with open_store(store_at(f"b{fmt}")) as back:
            assert import_source(back, out, str(report.profile_path)).total("rows_read") == 0


def test_unwritable_outputs_and_existing_drafts_are_clear_errors(tmp_path, store):
    path = data(tmp_path, "h.csv", "id,w\n1,\"POLYGON ((0 0, 1 0, 1 1, 0 0))\"\n")
    import_source(store, path, profile(tmp_path, "layer: hazards\ncountry: BIH\nkey: [id]\n"
                                       "geometry: {wkt: w, crs: EPSG:4326}\nfields: {}\n"))
    result = run_cli("--store", store.location, "export", "hazards", "--format", "csv",
                     "--out", "/proc/h.csv")
    assert result.returncode == 2 and "error: --out /proc/h.csv: cannot write it" in result.stderr
    draft = tmp_path / "d.yaml"
    draft.write_text("keep me")
    result = run_cli("profile", "infer", str(path), "--out", str(draft))
    assert result.returncode == 2 and "exists; pass --overwrite" in result.stderr
    assert draft.read_text() == "keep me"


# --- oversized fields, YAML bombs, joins that reach outside (issue 15, section 6) -------------

def test_a_row_with_a_10_mb_field_is_quarantined_not_the_whole_file(tmp_path, store):
    big = "x" * (10 * 1024 * 1024)
    path = data(tmp_path, "big.csv", f'id,lon,lat,notes\nA,18.4,43.8,short\nB,18.5,43.9,"{big}"\n'
                                     "C,18.6,44.0,fine\n")
    text = EVENTS.replace("COL", "BIH") + ("  local_id: {column: id}\nkey: [id]\n"
                                           "geometry: {x: lon, y: lat, crs: EPSG:4326}\n")
    report = import_source(store, path, profile(tmp_path, text))
    assert (report.total("inserted"), report.total("quarantined")) == (2, 1)
    (q,) = report.files[0].quarantined
    assert q.locator == "row 2 (key id=B)"
    assert q.reason == ("column 'notes' holds 10,485,760 bytes; expected at most 1,048,576 "
                        "(a larger value is not a field but a broken or hostile file)")
    assert sorted(store.read_layer("events")["local_id"]) == ["A", "C"]
    kept = store.read_table("quarantine").iloc[0]
    assert len(kept["raw"]["notes"]) < 200 and "10,485,760 bytes" in kept["raw"]["notes"]


def _billion_laughs(levels: int = 9) -> str:
    lines = ["layer: events", "country: COL", "source:",
             "  l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    lines.append(f"description: *l{levels}")
    return "\n".join(lines) + "\n"


def test_a_profile_with_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path, monkeypatch):
    import time

    import yaml

    def expanded(*args, **kwargs):
        raise AssertionError("the YAML was constructed: its aliases expanded")

    monkeypatch.setattr(yaml, "safe_load", expanded)
    monkeypatch.setattr(yaml, "load", expanded)
    path = profile(tmp_path, _billion_laughs())
    started = time.monotonic()
    with pytest.raises(ProfileError) as refused:
        load_profile(path)
    assert time.monotonic() - started < 5  # loosely: it answers at once
    assert str(refused.value) == (f"{path}: line 4: YAML anchor '&l0'; a profile uses no "
                                  "anchors or aliases (&name, *name): write each value out")


@pytest.mark.parametrize("text, message", [
    ("layer: events\ncountry: COL\ndescription: " + "x" * (1 << 20) + "\n",
     "p.yaml: 1,048,617 bytes; a profile is at most 1,048,576 "),
    ("layer: events\ncountry: COL\nsource: " + "[" * 100 + "]" * 100 + "\n",
     "line 3: nested 65 levels deep; a profile needs a few"),
])
def test_a_huge_or_deeply_nested_profile_is_refused(tmp_path, text, message):
    with pytest.raises(ProfileError, match=message):
        load_profile(profile(tmp_path, text))


CHILD_PROFILE = """
layer: devices
country: BIH
key: [KEY]
read: {{join: {{file: '{file}', child: PARENT_KEY, parent: KEY}}}}
geometry: {{x: lon, y: lat, crs: EPSG:4326}}
fields:
  hazard_local_id: {{column: parent.ref}}
"""


def test_read_join_reads_only_files_inside_the_data_folder(tmp_path, store):
    """A profile can name any path; the parent table must lie in the source's data folder
    (the folder with SOURCES.md), so a shared profile cannot read /etc/passwd or a file
    beside the data into the store."""
    root = tmp_path / "data"
    (root / "odk").mkdir(parents=True)
    (root / "SOURCES.md").write_text("test\n")
    secret = tmp_path / "secret.csv"
    secret.write_text("KEY,ref\nP1,the secret\n")
    (root / "parents.csv").write_text("KEY,ref\nP1,HZ-1\n")
    child = root / "odk" / "child.csv"
    child.write_text("PARENT_KEY,KEY,lat,lon\nP1,C1,43.8,18.4\n")
    (root / "odk" / "link.csv").symlink_to(secret)
    for file in ("../../secret.csv", str(secret), "link.csv"):
        with pytest.raises(SourceError) as refused:
            import_source(store, child, profile(tmp_path, CHILD_PROFILE.format(file=file)))
        assert str(refused.value) == (
            f"{child}: read.join.file {file!r} is {secret}, outside the source's data folder "
            f"{root}; expected a table inside it")
    assert store.read_layer("devices").empty
    import_source(store, child, profile(tmp_path, CHILD_PROFILE.format(file="../parents.csv")))
    assert list(store.read_layer("devices")["hazard_local_id"]) == ["HZ-1"]
    # with no SOURCES.md above it, a source's own folder is all a join may read (the folder
    # above a file in /tmp would be /)
    loose = tmp_path / "loose"
    (loose / "form").mkdir(parents=True)
    (loose / "parents.csv").write_text("KEY,ref\nP1,HZ-1\n")
    lone = loose / "form" / "child.csv"
    lone.write_text("PARENT_KEY,KEY,lat,lon\nP1,C1,43.8,18.4\n")
    with pytest.raises(SourceError, match="outside the source's data folder"):
        import_source(store, lone, profile(tmp_path, CHILD_PROFILE.format(file="../parents.csv")))


def test_profiles_that_mineledger_writes_use_no_yaml_aliases(tmp_path):
    """A value met twice is written out twice (PyYAML would write &id001 and *id001, which
    load_profile refuses)."""
    from mineledger.io.profiles import dump_profile

    shared = {"Yes": True, "No": False}
    text = dump_profile({"layer": "events", "country": "COL", "fields": {
        "event_type": {"value": "accident_ap_mine"}, "killed": {"column": "k"}},
        "source": {"a": shared, "b": shared}})
    assert "&" not in text and "*" not in text
    assert load_profile(profile(tmp_path, text)).layer == "events"


def test_a_key_given_twice_in_a_profile_is_refused(tmp_path):
    """YAML keeps the last of two equal keys silently: `layer: events` then `layer: hazards`
    imported events as hazards."""
    text = ("layer: events\ncountry: COL\nfields:\n  killed: {column: k}\n"
            "  killed: {column: m}\nlayer: hazards\n")
    with pytest.raises(ProfileError) as refused:
        load_profile(profile(tmp_path, text))
    assert "line 5: key 'killed' given twice (first at line 4)" in str(refused.value)
