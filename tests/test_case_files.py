"""Real spreadsheets and case files: workbooks whose dimension tag lies, a workbook given as
CSV, one row per event with casualty counts and a date in year, month and day columns.

Each test writes a small source for one case and asserts the stored values.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from mineledger import open_store
from mineledger.errors import ProfileError, SourceError
from mineledger.io.profiles import load_profile
from mineledger.io.readers import read_source
from mineledger.ledger.importer import import_source

CASES = [["id", "anio", "mes", "dia", "tipo", "total", "heridos", "lat", "lon"],
         ["C-1", 2005, 3, 4, "Accidente por MAP", 3, 1, 7.11, -75.55],
         ["C-2", 2006, 11, None, "Incidente", 2, 2, 7.12, -75.56],
         ["C-3", 2007, None, None, "Accidente por MAP", 1, 0, 7.13, -75.57]]


@pytest.fixture
def store(store_at):
    with open_store(store_at("s")) as s:
        yield s


def write_profile(tmp_path: Path, text: str, name: str = "p.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def workbook_with_dimension_a1(path: Path, rows: list[list]) -> Path:
    """A workbook whose sheet says ``<dimension ref="A1"/>`` whatever it holds, as many
    exporters write it."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', data)
                assert n == 1
            zout.writestr(item, data)
    plain.unlink()
    return path


def stored(store, layer: str = "events") -> dict[str, dict]:
    """The layer's records by local_id, pandas' missing values as None."""
    frame = store.read_layer(layer)
    return {r["local_id"]: {k: (None if not isinstance(v, (list, dict)) and pd.isna(v) else v)
                            for k, v in r.items()} for r in frame.to_dict("records")}


# --- workbooks ------------------------------------------------------------------------------

def test_a_workbook_whose_dimension_tag_says_a1_is_read_whole(tmp_path):
    path = workbook_with_dimension_a1(tmp_path / "data" / "casos.xlsx", CASES)
    table = read_source(path)
    assert table.columns == CASES[0]
    assert len(table.rows) == 3
    assert table.rows[0].properties == dict(zip(CASES[0], CASES[1]))
    assert table.rows[2].properties["tipo"] == "Accidente por MAP"


def test_a_workbook_given_to_a_csv_profile_says_it_is_a_workbook(tmp_path, store):
    path = workbook_with_dimension_a1(tmp_path / "data" / "casos.xlsx", CASES)
    as_csv = path.with_name("casos.csv")
    path.rename(as_csv)
    with pytest.raises(SourceError, match=r"casos.csv: this is an XLSX workbook \(or another zip "
                                          r"archive\), not CSV text; declare read.format: xlsx"):
        read_source(as_csv)
    profile = write_profile(tmp_path, "layer: events\ncountry: COL\nread: {format: csv}\n"
                                      "fields:\n  local_id: id\n  event_type: {value: uxo_found}\n")
    with pytest.raises(SourceError, match="declare read.format: xlsx"):
        import_source(store, as_csv, profile)
    assert store.read_layer("events").empty


# --- a date from year, month and day columns ------------------------------------------------

DATED = """id,anio,mes,dia
D-1,2005,3,4
D-2,2006,11,
D-3,2007,,
D-4,,,
D-5,2008,2,30
D-6,2008,13,
D-7,20O8,,
D-8,2009,,5
D-9,2091.0,02,29
"""
PARTS_PROFILE = """
layer: events
country: COL
key: id
fields:
  local_id: id
  event_type: {value: accident_ap_mine}
  event_date: {parts: {year: anio, month: mes, day: dia}}
"""


def test_a_date_from_its_parts_keeps_its_precision_and_refuses_a_bad_part(tmp_path, store):
    data = tmp_path / "data"
    data.mkdir()
    (data / "fechas.csv").write_text(DATED, encoding="utf-8")
    report = import_source(store, data / "fechas.csv", write_profile(tmp_path, PARTS_PROFILE))
    got = stored(store)
    assert {k: (v["year"], v["month"], v["event_date"]) for k, v in got.items()} == {
        "D-1": (2005, 3, dt.date(2005, 3, 4)),  # the whole date
        "D-2": (2006, 11, None),                # year and month
        "D-3": (2007, None, None),              # the year only
        "D-4": (None, None, None),              # no date at all
    }
    reasons = {q.locator.split(" ")[1]: q.reason for q in report.files[0].quarantined}
    assert reasons == {
        "5": "field 'event_date' (column 'dia'): got '30', expected a day that 2008-02 has (1 to 29)",
        "6": "field 'event_date' (column 'mes'): got '13', expected a month from 1 to 12",
        "7": "field 'event_date' (column 'anio'): got '20O8', expected a year from 1000 to 2100",
        "8": "field 'event_date' (column 'dia'): got '5', expected the month too: a day without "
             "its month dates nothing (column 'mes' is empty)",
        "9": "field 'event_date' (column 'dia'): got '29', expected a day that 2091-02 has (1 to 28)",
    }


def test_a_date_from_workbook_number_cells_and_the_profiles_bounds(tmp_path, store):
    path = workbook_with_dimension_a1(tmp_path / "data" / "casos.xlsx", CASES)
    profile = write_profile(tmp_path, PARTS_PROFILE.replace(
        "{parts: {year: anio, month: mes, day: dia}}",
        "{parts: {year: anio, month: mes, day: dia}, min: 1990, max: 2006, required: true}"))
    report = import_source(store, path, profile)
    got = stored(store)
    assert {k: (v["year"], v["month"], v["event_date"]) for k, v in got.items()} == {
        "C-1": (2005, 3, dt.date(2005, 3, 4)), "C-2": (2006, 11, None)}
    (q,) = report.files[0].quarantined
    assert q.reason == "field 'event_date' (column 'anio'): got 2007, expected a year from 1990 to 2006"


def test_a_profile_that_maps_the_year_itself_keeps_it_and_other_dates_must_be_whole(tmp_path, store):
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.csv").write_text("id,anio,ano_evento,mes,dia\nA,2007,2001,,\nB,2007,2001,5,6\n",
                                encoding="utf-8")
    profile = write_profile(tmp_path, PARTS_PROFILE + "  year: ano_evento\n"
                            "  date_of_information: {parts: {year: anio, month: mes, day: dia}}\n")
    report = import_source(store, data / "f.csv", profile)
    got = stored(store)
    assert (got["B"]["year"], got["B"]["month"], got["B"]["event_date"],
            got["B"]["date_of_information"]) == (2001, 5, dt.date(2007, 5, 6), dt.date(2007, 5, 6))
    (q,) = report.files[0].quarantined
    assert q.locator.startswith("row 1") and q.field == "date_of_information"
    assert "expected a whole date with its month" in q.reason


@pytest.mark.parametrize("rule, message", [
    ("{parts: {month: mes}}", "parts needs the year column"),
    ("{parts: {year: anio, day: dia}}", "parts names a day but no month"),
    ("{parts: {year: anio, week: w}}", "parts must be a mapping such as {year: COLUMN"),
    ("{parts: {year: anio}, format: dmy}", "parts takes max, min, note, null_values, required "
                                            "besides, not format"),
    ("{parts: {year: anio}, column: fecha}", "give one of 'column', 'value', 'parts' or "
                                              "'compute', not column and parts"),
])
def test_a_parts_rule_that_cannot_work_is_refused_on_load(tmp_path, rule, message):
    path = write_profile(tmp_path, PARTS_PROFILE.replace(
        "{parts: {year: anio, month: mes, day: dia}}", rule))
    with pytest.raises(ProfileError, match=re.escape(message)):
        load_profile(path)


# --- numbers computed from others, casualty counts ------------------------------------------

COUNTS = """id,tipo,total,heridos,sin_dato,lat,lon
K-1,Accidente por mina antitanque,"1,204",4,0,7.11,-75.55
K-2,Incidente por AEI,2,,0,7.12,-75.56
K-3,Accidente por MAP,1,3,0,7.13,-75.57
K-4,Accidente por MAP,x,1,0,7.13,-75.57
K-5,Accidente por MAP,5,1,2,7.13,-75.57
"""
COUNTS_PROFILE = """
layer: events
country: COL
key: id
geometry: {x: lon, y: lat, crs: "EPSG:4326"}
fields:
  local_id: id
  event_type:
    column: tipo
    map: {"Accidente por MAP": accident_ap_mine, "Accidente por mina antitanque": accident_at_mine,
          "Incidente por AEI": ied_incident}
  injured: {column: heridos, min: 0}
  outcome_unknown: {column: sin_dato, min: 0}
  killed: {compute: {op: difference, columns: [total, heridos, sin_dato]}, thousands: ",", min: 0}
"""


def test_killed_is_derived_from_the_total_and_a_negative_count_is_quarantined(tmp_path, store):
    data = tmp_path / "data"
    data.mkdir()
    (data / "casos.csv").write_text(COUNTS, encoding="utf-8")
    report = import_source(store, data / "casos.csv", write_profile(tmp_path, COUNTS_PROFILE))
    got = stored(store)
    assert {k: (v["event_type"], v["killed"], v["injured"], v["outcome_unknown"])
            for k, v in got.items()} == {
        "K-1": ("accident_at_mine", 1200, 4, 0),  # 1,204 − 4 − 0
        "K-2": ("ied_incident", None, None, 0),   # an operand empty: not known
        "K-5": ("accident_ap_mine", 2, 1, 2),     # casualties 5 = 2 + 1 + 2
    }
    reasons = {q.locator.split(" ")[1]: q.reason for q in report.files[0].quarantined}
    assert reasons == {
        "3": "field 'killed' (columns 'total' − 'heridos' − 'sin_dato'): got '1 − 3 − 0 = -2', "
             "expected at least 0",
        "4": "field 'killed' (column 'total'): got 'x', expected an integer",
    }


def test_a_sum_of_columns_read_as_the_fields_type(tmp_path, store):
    data = tmp_path / "data"
    data.mkdir()
    (data / "s.csv").write_text("id;muertos_civiles;muertos_militares\nS-1;1,5;2\nS-2;1;2\n",
                                encoding="utf-8")
    profile = write_profile(tmp_path, """
layer: events
country: COL
key: id
read: {delimiter: ";"}
fields:
  local_id: id
  event_type: {value: accident_ap_mine}
  killed: {compute: {op: sum, columns: [muertos_civiles, muertos_militares]}, decimal: ","}
""")
    report = import_source(store, data / "s.csv", profile)
    assert stored(store)["S-2"]["killed"] == 3
    (q,) = report.files[0].quarantined
    assert q.reason == "field 'killed' (column 'muertos_civiles'): got '1,5', expected an integer"


@pytest.mark.parametrize("rule, message", [
    ("{compute: {op: product, columns: [a, b]}}", "compute.op 'product'; expected one of sum, difference"),
    ("{compute: {op: sum, columns: [a]}}", "compute.columns must list two or more column names"),
    ("{compute: {op: sum, columns: [a, b]}, map: {x: 1}}", "compute takes decimal, max, min, note, "
                                                          "null_values, required, thousands, unit besides, not map"),
    ("{compute: {op: sum, columns: [a, b], expression: a+b}}", "compute must be a mapping {op: sum or difference"),
])
def test_a_compute_rule_that_cannot_work_is_refused_on_load(tmp_path, rule, message):
    path = write_profile(tmp_path, PARTS_PROFILE.replace(
        "event_date: {parts: {year: anio, month: mes, day: dia}}", f"killed: {rule}"))
    with pytest.raises(ProfileError, match=re.escape(message)):
        load_profile(path)
    path = write_profile(tmp_path, PARTS_PROFILE.replace(
        "event_date: {parts: {year: anio, month: mes, day: dia}}",
        "admin1_name: {compute: {op: sum, columns: [a, b]}}"))
    with pytest.raises(ProfileError, match="compute gives a number; the field is a text"):
        load_profile(path)
