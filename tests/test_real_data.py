"""The figures on the real data, each against an independent computation over the same file.

Independent means: read with GeoPandas/pandas straight from ../shared/data, measured in a
Lambert azimuthal equal-area projection centred on the country (not geodesically), unions and
overlays done by GeoPandas.
"""

from __future__ import annotations

import glob

import geopandas as gpd
import pandas as pd
import pytest

from tests.conftest import DATA, real

BIH_LAEA = "+proj=laea +lat_0=44 +lon_0=17.8 +datum=WGS84 +units=m"
VICTIMS = "colombia/Situacion_Victimas_Minas_Antipersonal_en_Colombia_20240103.csv"


def _polygons(rel: str) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(real(rel))
    return gdf


def _repaired_in_laea(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    geoms = gdf.geometry[~gdf.geometry.isna() & ~gdf.geometry.is_empty]
    fixed = geoms.make_valid(method="structure", keep_collapsed=False)
    return fixed.to_crs(BIH_LAEA)


@pytest.mark.parametrize("key,rel", [("hazards", "bih/suspect_areas_simplyfied.geojson"),
                                     ("cleared", "bih/cleared_areas_simplyfied.geojson")])
def test_bih_polygon_figures(bih_summary, key, rel):
    gdf = _polygons(rel)
    figures = bih_summary[key]
    assert figures["count"] == len(gdf)
    missing_or_empty = (gdf.geometry.isna() | gdf.geometry.is_empty).sum()
    assert figures["without_geometry"] == missing_or_empty
    present = gdf.geometry[~gdf.geometry.isna() & ~gdf.geometry.is_empty]
    invalid = (~present.is_valid).sum()
    assert figures["invalid_repaired"] + figures["invalid_unrepairable"] == invalid
    laea = _repaired_in_laea(gdf)
    assert figures["area_m2"] == pytest.approx(laea.area.sum(), rel=1e-3)
    assert figures["distinct_area_m2"] == pytest.approx(laea.union_all().area, rel=1e-3)


def test_bih_known_values(bih_summary):
    # fixed numbers, so that a change in the data or the code shows here first
    h = bih_summary["hazards"]
    assert (h["count"], h["without_geometry"], h["invalid_repaired"]) == (11068, 3097, 467)
    assert h["area_m2"] / 1e6 == pytest.approx(812.31, abs=0.01)
    assert h["distinct_area_m2"] / 1e6 == pytest.approx(806.94, abs=0.01)
    c = bih_summary["cleared"]
    assert (c["count"], c["without_geometry"], c["invalid_repaired"]) == (8329, 113, 708)
    assert c["invalid_unrepairable"] == 1  # a ring that collapses to a line: kept, flagged
    assert c["distinct_area_m2"] / 1e6 == pytest.approx(38.48, abs=0.01)
    assert bih_summary["events"]["by_type"] == {"mine_incident": 1442, "lifted_minefield": 925}
    assert bih_summary["events"]["by_year"] == {"unknown": 2367}  # undated, never the import year
    assert bih_summary["victims"]["count"] == 0
    assert bih_summary["quarantine"]["count"] == 0


@pytest.mark.parametrize("key", ["hazards", "cleared"])
def test_bih_by_admin_rows_add_up_and_match_an_overlay(bih_summary, key):
    rows = bih_summary[key]["by_admin"]
    assert bih_summary["admin"]["level"] == 3
    assert rows[-1]["code"] == "unassigned"
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    total = sum(r["area_m2"] for r in rows)
    assert total == pytest.approx(bih_summary[key]["distinct_area_m2"], rel=1e-12)
    # independent: GeoPandas overlay of the union with the ADM3 polygons, in LAEA
    rel = {"hazards": "bih/suspect_areas_simplyfied.geojson",
           "cleared": "bih/cleared_areas_simplyfied.geojson"}[key]
    union = gpd.GeoDataFrame(geometry=[_repaired_in_laea(_polygons(rel)).union_all()], crs=BIH_LAEA)
    adm3 = gpd.read_file(real("bih/geoBoundaries-BIH-ADM3.geojson")).to_crs(BIH_LAEA)
    overlay = gpd.overlay(union, adm3[["shapeID", "geometry"]], how="intersection")
    expected = overlay.assign(a=overlay.area).groupby("shapeID")["a"].sum()
    ours = {r["code"]: r["area_m2"] for r in rows if r["code"] != "unassigned"}
    big = expected[expected > (1e6 if key == "hazards" else 1e5)]
    assert len(big) > 20
    for code, area in big.items():
        assert ours[code] == pytest.approx(area, rel=0.01), code
    outside = union.geometry[0].difference(adm3.geometry.make_valid().union_all()).area
    assert rows[-1]["area_m2"] == pytest.approx(outside, rel=0.01)


def test_bih_two_novi_grads_are_two_areas(real_store, bih_summary):
    admin = real_store.read_layer("admin_areas", "BIH")
    novi = admin[admin["name"] == "Novi Grad"]
    assert len(novi) == 2 and novi["code"].nunique() == 2  # keyed by code, not by name
    rows = [r for r in bih_summary["hazards"]["by_admin"] if r["name"] == "Novi Grad"]
    assert {r["code"] for r in rows} <= set(novi["code"])


def test_col_victims_against_pandas(col_summary):
    df = pd.read_csv(real(VICTIMS), dtype=str, encoding="utf-8-sig")
    v = col_summary["victims"]
    assert v["count"] == len(df) == 12364
    # the header "genero" holds killed/injured, the header "estado" the gender
    assert v["killed"] == (df["genero"] == "Muerto").sum() == 2351
    assert v["injured"] == (df["genero"] == "Herido").sum() == 10013
    assert v["killed"] + v["injured"] + v["outcome_unknown"] == v["count"]
    assert v["civilian"] == (df["condicion"] == "Civil").sum() == 5010
    assert v["minors"] == (df["rangoedad"] == "Menor de 18 años").sum() == 1275
    years = df["ano"].str.replace(",", "").astype(int).value_counts()
    assert v["by_year"] == {str(y): int(n) for y, n in sorted(years.items())}
    assert v["by_year"]["2006"] == 1224 and v["by_year"]["1984"] == 1


def test_col_victims_by_municipality_code(col_summary):
    df = pd.read_csv(real(VICTIMS), dtype=str, encoding="utf-8-sig")
    codes = df["codigodanemunicipio"].str.replace(",", "").str.zfill(5).value_counts()
    rows = {r["code"]: r for r in col_summary["victims"]["by_admin"]}
    assert rows["52835"]["count"] == codes["52835"] == 402  # Tumaco
    assert rows["52835"]["name"] == "SAN ANDRÉS DE TUMACO"
    assert sum(r["count"] for r in rows.values()) == 12364
    assert rows["unassigned"]["count"] == 0


def test_col_events_against_geopandas(col_summary):
    files = sorted(glob.glob(str(real("colombia/aicma_events_1990-2019") / "*.geojson")))
    df = pd.concat([gpd.read_file(f) for f in files])
    e = col_summary["events"]
    assert e["count"] == len(df) == 36527
    names = ["accident_ap_mine", "accident_uxo", "stored_arsenal", "military_demining",
             "seizure", "uxo_found", "mine_production_site", "suspected_minefield"]
    expected = {names[int(k) - 1]: int(n) for k, n in df["TIPO_EVENTO"].value_counts().items()}
    assert e["by_type"] == expected
    assert e["by_type"]["military_demining"] == 24136
    assert e["by_year"] == {str(y): int(n) for y, n in sorted(df["AÑO"].astype(int).value_counts().items())}
    assert sum(r["count"] for r in e["by_admin"]) == e["count"]


def test_col_events_outside_every_municipality_are_unassigned(col_summary):
    # the simplified DANE boundaries miss some points, and at least one longitude is
    # sign-flipped (+74.23): they are counted as unassigned, not dropped or moved
    unassigned = col_summary["events"]["by_admin"][-1]
    assert unassigned["code"] == "unassigned" and unassigned["count"] > 0
    mpio = gpd.read_file(real("colombia/co_2018_MGN_MPIO_POLITICO.geojson"))
    files = sorted(glob.glob(str(DATA / "colombia/aicma_events_1990-2019/*.geojson")))
    pts = pd.concat([gpd.read_file(f) for f in files], ignore_index=True)
    joined = gpd.sjoin(pts, mpio[["MPIO_CCNCT", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]  # a point on a shared border counts once
    assert unassigned["count"] == int(joined["MPIO_CCNCT"].isna().sum())


def test_col_has_no_hazard_polygons(col_summary):
    h = col_summary["hazards"]
    assert (h["count"], h["area_m2"], h["distinct_area_m2"]) == (0, 0.0, 0.0)
    assert h["by_admin"] == [{"code": "unassigned", "name": "outside every administrative area",
                              "area_m2": 0.0}]


def test_real_imports_quarantine_nothing_and_flag_geometries(real_store):
    reports = real_store.reports
    assert all(r.total("quarantined") == 0 for r in reports.values())
    suspected = reports["bih/suspect_areas_simplyfied.geojson"].files[0].geometry_flags
    assert suspected == {"missing": 3094, "empty": 3, "repaired": 467}
    cleared = reports["bih/cleared_areas_simplyfied.geojson"].files[0].geometry_flags
    assert cleared == {"missing": 108, "empty": 5, "repaired": 708, "unrepairable": 1}
    assert len(reports["colombia/aicma_events_1990-2019"].files) == 30


def test_real_reimport_changes_nothing(real_store):
    from mineledger import import_source

    log_before = len(real_store.read_table("change_log"))
    report = import_source(real_store, real("bih/suspect_areas_simplyfied.geojson"),
                           "bih-suspected-areas")
    assert (report.total("inserted"), report.total("updated"), report.total("unchanged")) == (0, 0, 11068)
    assert len(real_store.read_table("change_log")) == log_before


def test_partition_measures_the_same_land_as_the_union(real_store, bih_summary):
    from mineledger.geo import union_area

    hazards = real_store.read_layer("hazards", "BIH")
    whole = union_area(hazards.geometry.array)
    assert bih_summary["hazards"]["distinct_area_m2"] == pytest.approx(whole, rel=1e-5)
