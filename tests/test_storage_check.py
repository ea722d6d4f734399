"""The storage-safety check (:mod:`mineledger.stockpile.safety_check`): distances edge to edge
on the ellipsoid against ``pyproj.Geod``, violations with the required and measured distance
and the governing division, the explosives limit licence back-calculated from the surroundings,
held NEQ over a licence, incompatible groups, pairs the rule set cannot judge listed (never
skipped silently), and only pairs within reach measured."""

from __future__ import annotations

import geopandas as gpd
import hypothesis.strategies as st
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from pyproj import Geod

from mineledger.errors import QueryError
from mineledger.geo import distance
from mineledger.geo.distance import edge_distances, within_reach
from mineledger.stockpile.safety_check import check_sites
from mineledger.stockpile.storage_safety import allowed_neq

GEOD = Geod(ellps="WGS84")
LON, LAT = 18.0, 44.0
#: a magazine of about 20 m × 20 m; its north edge at NORTH
MAGAZINE = shapely.box(LON - 0.000125, LAT - 0.00009, LON + 0.000125, LAT + 0.00009)
NORTH = LAT + 0.00009


def north_of_magazine(metres: float) -> shapely.Point:
    """A point ``metres`` due north of the middle of the magazine's north edge (edge to edge:
    exactly that far on the ellipsoid)."""
    lon, lat, _ = GEOD.fwd(LON, NORTH, 0.0, metres)
    return shapely.Point(lon, lat)


def buildings(**columns) -> gpd.GeoDataFrame:
    base = {"building_id": ["M1"], "holdings": [{"1.1": 10_000}]}
    base.update(columns)
    return gpd.GeoDataFrame(base, geometry=[MAGAZINE], crs="EPSG:4326")


def sites(rows) -> gpd.GeoDataFrame:
    """rows: (site_id, kind, metres north of the magazine[, vehicles a day])."""
    return gpd.GeoDataFrame(
        {"site_id": [r[0] for r in rows], "kind": [r[1] for r in rows],
         "vehicles_per_day": [r[3] if len(r) > 3 else None for r in rows]},
        geometry=[north_of_magazine(r[2]) for r in rows], crs="EPSG:4326")


@settings(max_examples=100, deadline=None)
@given(st.floats(-60, 60), st.floats(-170, 170), st.floats(0, 359.9), st.floats(30, 5_000))
def test_edge_distances_are_geodesic(lat, lon, azimuth, metres):
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    got = edge_distances(shapely.Point(lon, lat), [shapely.Point(lon2, lat2)])[0]
    assert got == pytest.approx(metres, rel=1e-6)


def test_edge_to_edge_between_outlines_against_the_geodesic():
    house = shapely.box(18.03, 44.02, 18.031, 44.021)
    got = edge_distances(MAGAZINE, [house])[0]
    # nearest corners: the magazine's north-east, the house's south-west
    expect = GEOD.inv(LON + 0.000125, NORTH, 18.03, 44.02)[2]
    assert got == pytest.approx(expect, rel=1e-6)
    assert edge_distances(MAGAZINE, [MAGAZINE.buffer(0.0001), None])[0] == 0.0
    assert np.isnan(edge_distances(MAGAZINE, [None])[0])


def test_ten_tonnes_against_its_neighbours():
    """10 t of HD 1.1 needs 480 m from a house, 960 m from a school, 175 m from a process
    building, 320 m from a road of 2,000 vehicles a day (the reference's worked values)."""
    found = check_sites(buildings(), sites([
        ("H-near", "inhabited_building", 450.0), ("H-far", "inhabited_building", 500.0),
        ("S", "school", 900.0), ("P", "process_building", 180.0),
        ("R", "public_road", 300.0, 2_000)]))
    v = found.violations.set_index("site_id")
    assert sorted(v.index) == ["H-near", "R", "S"]
    assert v.loc["H-near", "required_m"] == 480 and v.loc["H-near", "measured_m"] == 450.0
    assert v.loc["H-near", "short_m"] == 30.0 and v.loc["H-near", "code"] == "D13"
    assert (v.loc["S", "required_m"], v.loc["R", "required_m"]) == (960, 320)
    assert set(v["division"]) == {"1.1"} and set(v["neq_kg"]) == {10_000}
    assert found.rule_set == "IATG 02.20 (3rd edition, 2021)"


def test_the_licence_is_what_the_nearest_demanding_site_allows():
    found = check_sites(buildings(), sites([("H", "inhabited_building", 500.0),
                                            ("S", "school", 1_500.0)]))
    lic = found.licences.set_index("division")
    assert lic.loc["1.1", "licence_kg"] == allowed_neq(500.0, "1.1", "inhabited_building").neq_kg
    assert lic.loc["1.1", "licence_kg"] == 11_424 and lic.loc["1.1", "site_id"] == "H"
    # the school at 1.5 km allows 2·22.2·Q^1/3 ≤ 1500: 38,558 kg — more, so the house governs
    assert allowed_neq(1_500.0, "1.1", "school").neq_kg == 38_558
    assert {"1.2.1", "1.2.2", "1.3.1"} <= set(lic.index)


def test_held_over_the_licence_and_mixed_groups_are_flagged():
    found = check_sites(buildings(licence=[{"1.1": 5_000}], groups=[["B", "C"]]),
                        sites([("H", "inhabited_building", 2_000.0)]))
    over = found.over_licence.iloc[0]
    assert (over["division"], over["held_kg"], over["licensed_kg"], over["over_kg"]) == \
        ("1.1", 10_000, 5_000, 5_000)
    mix = found.mixing.iloc[0]
    assert (mix["groups"], bool(mix["permitted"])) == ("BC", False)
    assert found.violations.empty


def test_mixed_divisions_are_combined_by_table_6():
    found = check_sites(buildings(holdings=[{"1.1": 8_000, "1.2.1": 2_000, "1.3.1": 5_000}]),
                        sites([("H", "inhabited_building", 540.0)]))
    v = found.violations.iloc[0]
    assert (v["required_m"], v["neq_kg"], v["division"]) == (550, 15_000, "1.1")


def test_pairs_the_rule_set_cannot_judge_are_listed():
    found = check_sites(buildings(holdings=[{"1.3.1": 20_000}]),
                        sites([("E", "earth_covered_magazine", 40.0)]))
    assert found.violations.empty
    row = found.unchecked.iloc[0]
    assert (row["site_id"], row["kind"]) == ("E", "earth_covered_magazine")
    assert "gives no distance" in row["reason"]


def test_only_sites_within_reach_are_measured(monkeypatch):
    measured = []
    real = distance.pair_distances

    def counting(a, b):
        measured.extend(list(b))
        return real(a, b)

    from mineledger.stockpile import safety_check
    monkeypatch.setattr(safety_check, "pair_distances", counting)
    far = [("F%d" % i, "inhabited_building", 20_000.0 + 100 * i) for i in range(50)]
    found = check_sites(buildings(), sites([("H", "inhabited_building", 450.0)] + far))
    assert len(measured) == 1 and list(found.violations["site_id"]) == ["H"]
    b, s = within_reach([MAGAZINE], sites(far).geometry.array, 5_000.0)
    assert len(b) == len(s) == 0


def test_bad_input_is_refused_with_what_and_where():
    with pytest.raises(QueryError, match="exposed site kind 'house'"):
        check_sites(buildings(), sites([("H", "house", 450.0)]))
    with pytest.raises(QueryError, match="building M1: HD 1.6"):
        check_sites(buildings(holdings=[{"1.6": 100}]), sites([("H", "inhabited_building", 450.0)]))
    with pytest.raises(QueryError, match="building M1: holdings"):
        check_sites(buildings(holdings=["lots"]), sites([("H", "inhabited_building", 450.0)]))
    empty = sites([("H", "inhabited_building", 450.0)])
    empty.geometry = [None]
    with pytest.raises(QueryError, match="exposed site H: no geometry"):
        check_sites(buildings(), empty)
