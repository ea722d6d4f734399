"""`mineledger profile infer`: drafts that detect what the values prove and mark the rest."""

from __future__ import annotations

import pytest
import yaml

from mineledger.errors import ProfileError
from mineledger.io.infer import infer_profile
from mineledger.io.profiles import load_profile
from mineledger.ledger.importer import check_source
from tests.conftest import real


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
