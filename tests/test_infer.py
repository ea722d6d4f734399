"""`mineledger profile infer`: drafts that detect what the values prove and mark the rest."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from openpyxl import Workbook

from mineledger import open_store
from mineledger.errors import ProfileError
from mineledger.io.infer import infer_profile
from mineledger.io.profiles import load_profile
from mineledger.ledger.importer import check_source
from tests.conftest import real, run_cli
from tests.test_case_files import CASES, workbook_with_dimension_a1


def draft(tmp_path, name: str, text: str, encoding="utf-8", **kw) -> dict:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return yaml.safe_load(infer_profile(path, **kw))


def test_dates_whose_order_the_values_do_not_settle_are_left_to_a_person(tmp_path):
    doc = draft(tmp_path, "a.csv", "fecha,lat,lon\n04/03/2021,4.6,-74.1\n05/06/2021,4.7,-74.2\n",
                layer="events")
    assert doc["fields"]["event_date"] == {"column": "fecha", "format": "CHOOSE-dmy-or-mdy"}
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump({**doc, "country": "COL"}))
    with pytest.raises(ProfileError, match=r"format 'CHOOSE-dmy-or-mdy'; expected one of iso, dmy, mdy"):
        load_profile(path)
    doc = draft(tmp_path, "b.csv", "fecha,lat,lon\n04/13/2021,4.6,-74.1\n", layer="events")
    assert doc["fields"]["event_date"]["format"] == "mdy"


def test_odk_geoshape_and_hxl_tags_are_recognised(tmp_path):
    doc = draft(tmp_path, "s.csv", 'KEY,area-shape\nuuid:1,"44.0 18.0 0 0;44.0 18.01 0 0;44.01 18.01 0 0;44.0 18.0 0 0"\n')
    assert (doc["layer"], doc["geometry"]) == ("hazards", {"geoshape": "area-shape"})
    doc = draft(tmp_path, "h.csv", "A,B,C,D\n#adm1+name,#affected+killed,#geo+lat,#geo+lon\n"
                "Meta,1,4.1,-73.6\n", layer="events")
    assert doc["geometry"] == {"x": "D", "y": "C", "crs": "EPSG:4326"}
    assert doc["fields"]["killed"] == {"column": "#affected+killed"}
    assert doc["fields"]["admin1_name"] == {"column": "#adm1+name"}


def test_projected_coordinates_ask_for_the_crs(tmp_path):
    doc = draft(tmp_path, "p.csv", "id,x,y\n1,4800000,2100000\n", layer="events")
    assert doc["geometry"]["crs"].startswith("CHOOSE")


@pytest.mark.realdata
def test_the_aicma_victims_draft_finds_the_swapped_headers_and_stores_every_victim(tmp_path):
    """The AICMA victims CSV heads its gender column `estado` and its killed/injured column
    `genero`; the draft maps them by their values and says so."""
    source = real("colombia/Situacion_Victimas_Minas_Antipersonal_en_Colombia_20240103.csv")
    text = infer_profile(source)
    assert "column 'genero' is named like gender but its values (Herido, Muerto) are outcome" in text
    doc = yaml.safe_load(text)
    assert doc["layer"] == "victims"
    assert doc["fields"]["outcome"] == {"column": "genero", "map": {"Herido": "injured", "Muerto": "killed"}}
    assert doc["fields"]["gender"]["column"] == "estado"
    assert doc["fields"]["year"] == {"column": "ano", "thousands": ","}
    assert doc["fields"]["admin_code"] == {"column": "codigodanemunicipio", "parse": "code",
                                           "thousands": ",", "width": 5}
    assert doc["geometry"] == {"x": "longitudcabecera", "y": "latitudcabecera", "crs": "EPSG:4326"}
    path = tmp_path / "victims.yaml"
    path.write_text(text.replace("CHOOSE-ISO3", "COL"), encoding="utf-8")
    report = check_source(tmp_path / "none.gpkg", source, str(path))
    assert (report.total("inserted"), report.total("quarantined")) == (12364, 0)


@pytest.mark.realdata
def test_a_bih_hazard_file_drafts_a_hazard_profile():
    doc = yaml.safe_load(infer_profile(real("bih/suspect_areas_simplyfied.geojson")))
    assert (doc["layer"], doc["read"]) == ("hazards", {"format": "vector"})
    assert yaml.safe_load(infer_profile(real("bih/cleared_areas_simplyfied.geojson")))["layer"] \
        == "cleared_areas"
    doc = yaml.safe_load(infer_profile(real("bih/geoBoundaries-BIH-ADM3.geojson")))
    assert doc["layer"] == "admin_areas" and doc["fields"]["country"] == {"column": "shapeGroup"}


# --- case files ---------------------------------------------------------------------------

CASES_CP1252 = ("id;año;tipo;fecha;muertos;heridos\n"
                "1;2019;Accidente por MAP;43500;1;0\n"
                "2;2020;Incidente;43900;0;0\n"
                "3;2020;Accidente por mina antitanque;44000;2;1\n"
                "4;2021;Incidente por AEI;44300;0;0\n"
                "5;2021;Señal de peligro;44310;0;0\n")


def test_a_cp1252_file_is_drafted_and_the_encoding_left_to_a_person(tmp_path):
    """cp1252 and cp1250 read ñ as ñ and ń: import refuses to guess, and so does the draft —
    but it drafts, from the most used code page, and marks the encoding CHOOSE."""
    text = draft(tmp_path, "casos.csv", CASES_CP1252, encoding="cp1252", layer="events")
    assert text["read"] == {"format": "csv", "delimiter": ";",
                            "encoding": "CHOOSE-cp1252-or-cp1250-or-cp1251-or-cp1256"}
    assert text["fields"]["year"] == {"column": "año"}
    path = tmp_path / "casos.yaml"
    raw = infer_profile(tmp_path / "casos.csv", layer="events")
    assert "drafted as cp1252 reads it. Set read.encoding to the one whose names read right" in raw
    path.write_text(raw.replace("Señal de peligro: CHOOSE", "Señal de peligro: mine_incident"),
                    encoding="utf-8")
    with pytest.raises(ProfileError, match="read.encoding 'CHOOSE-cp1252-or-cp1250"):
        load_profile(path, country="COL")
    declared = yaml.safe_load(infer_profile(tmp_path / "casos.csv", layer="events", encoding="cp1252"))
    assert declared["read"]["encoding"] == "cp1252" and declared["fields"]["year"] == {"column": "año"}


def test_spreadsheet_day_numbers_are_proposed_as_serial_dates(tmp_path):
    doc = draft(tmp_path, "s.csv", "id,fecha,lat,lon\n1,44259,4.6,-74.1\n2,44561.75,4.7,-74.2\n",
                layer="events")
    assert doc["fields"]["event_date"] == {"column": "fecha", "format": "serial"}
    book = Workbook()
    book.active.append(["id", "fecha"])
    book.active.append([1, 44259])
    book.active.append([2, 44300])
    book.save(tmp_path / "s.xlsx")
    doc = yaml.safe_load(infer_profile(tmp_path / "s.xlsx", layer="events"))
    assert doc["fields"]["event_date"] == {"column": "fecha", "format": "serial"}
    # a year is no day number
    doc = draft(tmp_path, "y.csv", "id,fecha\n1,2019\n2,2020\n", layer="events")
    assert doc["fields"]["event_date"]["format"] == "CHOOSE"


def test_an_event_type_map_is_proposed_from_the_values_seen(tmp_path):
    doc = draft(tmp_path, "casos.csv", CASES_CP1252, layer="events", encoding="utf-8")
    assert doc["fields"]["event_type"] == {"column": "tipo", "map": {
        "Accidente por MAP": "accident_ap_mine",
        "Accidente por mina antitanque": "accident_at_mine",
        "Incidente": "mine_incident",
        "Incidente por AEI": "ied_incident",
        "Señal de peligro": "CHOOSE"}}


def test_profile_check_country_takes_the_place_of_the_drafts_placeholder(tmp_path):
    source = tmp_path / "casos.csv"
    source.write_text(CASES_CP1252.replace("Señal de peligro", "IED"), encoding="utf-8")
    profile = tmp_path / "casos.yaml"
    result = run_cli("profile", "infer", str(source), "--layer", "events", "--out", str(profile))
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(profile.read_text(encoding="utf-8"))["country"] == "CHOOSE-ISO3"
    store = str(tmp_path / "none.gpkg")
    result = run_cli("--store", store, "profile", "check", str(profile), str(source))
    assert result.returncode == 2
    assert "country 'CHOOSE-ISO3' is a draft's placeholder: set country: ISO3 in the profile, " \
           "or pass --country ISO3" in result.stderr
    result = run_cli("--store", store, "profile", "check", str(profile), str(source), "--country", "col")
    assert result.returncode == 0, result.stderr
    assert "5 rows read; would store 5 (5 new, 0 changed, 0 unchanged) and quarantine 0" in result.stdout
    result = run_cli("--store", store, "import", str(source), "--profile", str(profile), "--country", "COL")
    assert result.returncode == 0, result.stderr
    with open_store(store) as s:
        events = s.read_layer("events").set_index("local_id")
    assert set(events["country"]) == {"COL"}
    assert events.loc["4", "event_type"] == "ied_incident"
    assert events.loc["1", "event_date"] == dt.date(2019, 2, 4)  # serial 43466 is 2019-01-01


def test_a_workbook_whose_dimension_tag_says_a1_is_drafted_and_checked(tmp_path):
    """The case file that drafted ``fields: {}`` and whose columns "did not exist"."""
    path = workbook_with_dimension_a1(tmp_path / "data" / "casos.xlsx", CASES)
    doc = yaml.safe_load(infer_profile(path, layer="events"))
    assert doc["geometry"] == {"x": "lon", "y": "lat", "crs": "EPSG:4326"}
    assert doc["fields"]["local_id"] == {"column": "id"}
    assert doc["fields"]["event_type"]["map"] == {"Accidente por MAP": "accident_ap_mine",
                                                  "Incidente": "mine_incident"}
    doc["country"] = "COL"
    (tmp_path / "casos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    report = check_source(tmp_path / "none.gpkg", path, str(tmp_path / "casos.yaml"))
    assert (report.total("rows_read"), report.total("inserted")) == (3, 3)
