"""The land release ledger on overlapping land, through the store on both back ends: ``both``
is the land released and remaining at once, ``recorded`` the land ever recorded, once, and
``recorded = remaining + released − both`` in every row of every grouping; checked on small
cases written for it and on the synthetic S country against a GeoPandas computation written
here."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import pytest
import shapely

from benchmarks.generate import generate
from mineledger import import_source, open_store
from mineledger.geo import geodesic_area
from mineledger.land.landrelease import COLUMNS, ledger
from mineledger.land.summary import summary
from tests.conftest import ROOT
from tests.test_lifecycle import HAZARD_COLS, OUTCOME_COLS, SQ, hazard, outcome, write

GROUPINGS = ("admin1", "hazard", "organisation", "category", "year")


def strip(x0, x1):
    minx, miny, maxx, maxy = SQ.bounds
    w = maxx - minx
    return shapely.box(minx + x0 * w, miny, minx + x1 * w, maxy)


def m2(geom) -> float:
    return float(geodesic_area(geom))


def _admin(folder):
    """Two administrative areas, the west and east halves of the square (geoBoundaries form)."""
    features = [{"type": "Feature", "properties": {"shapeGroup": "XKX", "shapeType": "ADM1",
                                                   "shapeID": code, "shapeName": name},
                 "geometry": shapely.geometry.mapping(geom)}
                for code, name, geom in (("W", "West", strip(0, 0.5)), ("E", "East", strip(0.5, 1)))]
    path = folder / "admin.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def assert_identities(rows):
    for r in rows:
        assert r["released_m2"] == r["cancelled_m2"] + r["reduced_m2"] + r["cleared_m2"]
        assert r["recorded_m2"] == pytest.approx(
            r["remaining_m2"] + r["released_m2"] - r["both_m2"], rel=1e-6, abs=1e-3), r
        assert r["both_m2"] <= min(r["remaining_m2"], r["released_m2"]) * (1 + 1e-6) + 1e-3
        assert "suspected_m2" not in r


@pytest.mark.parametrize("later_info, both_part", [("2023-06-01", 1), ("2020-06-01", 0)])
def test_overlapping_hazards_in_the_store_every_grouping(store_at, tmp_path, later_info,
                                                         both_part):
    d = tmp_path / "rep"
    with open_store(store_at("o")) as store:
        import_source(store, write(d, "hazards.csv", HAZARD_COLS, [
            hazard("H1", strip(0, 2 / 3), doi="2019-01-01"),
            hazard("H2", strip(1 / 3, 1), doi=later_info)]), "completion-hazards")
        import_source(store, write(d, "outcomes.csv", OUTCOME_COLS, [
            outcome("R1", "H1", "cleared", strip(1 / 3, 2 / 3), date="2022-01-01")]),
            "completion-outcomes")
        import_source(store, _admin(d), "geoboundaries")
        third, whole = m2(strip(1 / 3, 2 / 3)), m2(strip(0, 1))
        for by in GROUPINGS:
            rows = ledger(store, "XKX", by)
            assert_identities(rows)
            total = rows[-1]
            assert total.area_code == "total"
            assert total["released_m2"] == pytest.approx(third, rel=1e-6)
            assert total["both_m2"] == pytest.approx(both_part * third, rel=1e-6, abs=1e-3)
            assert total["recorded_m2"] == pytest.approx(whole, rel=1e-6)
        by_admin = ledger(store, "XKX", "admin1")
        assert math.fsum(r["both_m2"] for r in by_admin[:-1]) == pytest.approx(
            by_admin[-1]["both_m2"], rel=1e-9, abs=1e-6)
        figures = summary(store, "XKX")
        assert figures["land_release"]["remaining_m2"] == pytest.approx(
            by_admin[-1]["remaining_m2"], rel=1e-9)
        assert figures["land_release"]["recorded_m2"] == pytest.approx(whole, rel=1e-6)


@pytest.mark.parametrize("third_info, both_strips", [
    ("2023-01-01", [(0.25, 0.75)]),  # H3 surveyed after R2: both releases suspected again
    ("2021-01-01", [(0.25, 0.5)])])  # H3 surveyed before R2: only R1's land, through H2
def test_a_chain_of_three_hazards_through_the_store(store_at, tmp_path, third_info,
                                                    both_strips):
    # H1 (2019) ← R1 (2020) → H2 (2021) ← R2 (2022) → H3: each release inside the hazard
    # before it, each later hazard over the release before it
    d = tmp_path / "rep"
    with open_store(store_at("chain")) as store:
        import_source(store, write(d, "hazards.csv", HAZARD_COLS, [
            hazard("H1", strip(0, 0.5), doi="2019-01-01"),
            hazard("H2", strip(0.25, 0.75), doi="2021-01-01"),
            hazard("H3", strip(0.5, 1), doi=third_info)]), "completion-hazards")
        import_source(store, write(d, "outcomes.csv", OUTCOME_COLS, [
            outcome("R1", "H1", "cleared", strip(0.25, 0.5), date="2020-01-01"),
            outcome("R2", "H2", "reduced", strip(0.5, 0.75), date="2022-01-01")]),
            "completion-outcomes")
        import_source(store, _admin(d), "geoboundaries")
        both = math.fsum(m2(strip(*s)) for s in both_strips)
        for by in GROUPINGS:
            rows = ledger(store, "XKX", by)
            assert_identities(rows)
            total = rows[-1]
            assert total["cleared_m2"] == pytest.approx(m2(strip(0.25, 0.5)), rel=1e-6)
            assert total["reduced_m2"] == pytest.approx(m2(strip(0.5, 0.75)), rel=1e-6)
            assert total["both_m2"] == pytest.approx(both, rel=1e-6)
            assert total["recorded_m2"] == pytest.approx(m2(strip(0, 1)), rel=1e-6)
        west, east = ledger(store, "XKX", "admin1")[:2]
        assert {west.area_code, east.area_code} == {"W", "E"}
        by_code = {r.area_code: r for r in (west, east)}
        assert by_code["W"]["both_m2"] == pytest.approx(m2(strip(0.25, 0.5)), rel=1e-6)
        assert by_code["E"]["both_m2"] == pytest.approx(both - m2(strip(0.25, 0.5)), rel=1e-6,
                                                        abs=1e-3)


LAEA = "+proj=laea +lat_0=44 +lon_0=18 +datum=WGS84 +units=m"


@pytest.fixture(scope="module")
def synthetic_s(backend, databases, tmp_path_factory):
    from tests.conftest import locate

    folder = tmp_path_factory.mktemp("synthetic")
    generate("S", folder / "data")
    (folder / "data" / "SOURCES.md").write_text("synthetic S (benchmarks/generate.py)\n")
    profiles = ROOT / "benchmarks" / "profiles"
    session = open_store(locate(backend, databases, folder)("s"))
    for name, profile in (("admin", "admin"), ("hazards", "hazards"), ("cleared", "cleared")):
        import_source(session, folder / "data" / f"{name}.gpkg", str(profiles / f"{profile}.yaml"),
                      warnings=False)
    yield session
    session.close()


def _geopandas_ledger(hazards: gpd.GeoDataFrame, outcomes: gpd.GeoDataFrame) -> dict[str, float]:
    """The ledger's total written as an outside GeoPandas engineer would, in a local
    equal-area projection: outcomes cut to the hazard they name; each open hazard less the
    outcomes on it released after its perimeter's date (or undated); both and recorded as
    the intersection and union of remaining and released land."""
    present = lambda g: g[~(g.geometry.isna() | g.geometry.is_empty)]  # noqa: E731
    hz = present(hazards).to_crs(LAEA)
    oc = present(outcomes).to_crs(LAEA)
    own = hz.set_index("uuid").geometry
    linked = oc["hazard_uuid"].isin(own.index)
    parents = gpd.GeoSeries(own.loc[oc.loc[linked, "hazard_uuid"]].values,
                            index=oc.index[linked], crs=oc.crs)
    oc.loc[linked, "geometry"] = oc.loc[linked].geometry.intersection(parents)
    oc = present(oc)
    released = oc.union_all()
    open_hz = hz[hz["status"].isin(["open", "worked_on"])]
    pairs = gpd.sjoin(open_hz[["perimeter_date", "geometry"]],
                      oc[["date_released", "geometry"]], predicate="intersects")
    later = pairs["perimeter_date"].isna() | pairs["date_released"].isna() | \
        (pairs["date_released"] > pairs["perimeter_date"])
    pairs = pairs[later]
    cuts = oc.geometry.loc[pairs["index_right"]].groupby(pairs.index.to_numpy()).agg(
        lambda g: shapely.union_all(g.values))
    left = open_hz.geometry.copy()
    left.loc[cuts.index] = left.loc[cuts.index].difference(cuts, align=True)
    remaining = left.union_all()
    return {"released_m2": released.area, "remaining_m2": remaining.area,
            "both_m2": remaining.intersection(released).area,
            "recorded_m2": remaining.union(released).area}



def test_the_synthetic_s_ledger_against_geopandas(synthetic_s):
    hazards = synthetic_s.read_layer("hazards", "QSY")
    outcomes = synthetic_s.read_layer("cleared_areas", "QSY")
    expected = _geopandas_ledger(hazards, outcomes)
    rows = ledger(synthetic_s, "QSY", "admin2")
    assert_identities(rows)
    total = rows[-1]
    for col, value in expected.items():
        assert total[col] == pytest.approx(value, rel=1e-4), col
    # land released and then suspected again exists here: overlapping hazards surveyed later
    assert total["both_m2"] > 1e5
    assert total["recorded_m2"] < total["remaining_m2"] + total["released_m2"]
    rows_sum = {c: math.fsum(r[c] for r in rows[:-1]) for c in COLUMNS}
    for c in COLUMNS:
        assert rows_sum[c] == pytest.approx(total[c], rel=1e-9), c
    for by in ("year", "organisation"):
        grouped = ledger(synthetic_s, "QSY", by)
        assert_identities(grouped)
        assert grouped[-1]["recorded_m2"] == pytest.approx(total["recorded_m2"], rel=1e-6)
        assert grouped[-1]["both_m2"] == pytest.approx(total["both_m2"], rel=1e-5)
