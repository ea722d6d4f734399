"""The land release ledger: hand-made cases with known areas, identities as properties, and
the BiH snapshot against an independent GeoPandas computation."""

from __future__ import annotations

import datetime as dt
import math

import geopandas as gpd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from mineledger.geo import geodesic_area
from mineledger.land.landrelease import ledger, release_sets
from mineledger.land.landrelease import ledger_row as _row
from mineledger.land.landrelease import ledger_sets as _ledger_sets
from tests.test_geo import metric_square
from tests.test_ledger_truth import m2 as _m2
from tests.test_ledger_truth import strip as _strip

SIDE = 100.0  # m


def hazards(*items):
    """items: (geometry, status, date_of_information)"""
    return gpd.GeoDataFrame({
        "uuid": [f"h{i}" for i in range(len(items))],
        "status": [s for _, s, _ in items],
        "date_of_information": [d for _, _, d in items],
        "organisation": ["op"] * len(items), "eo_categories": [None] * len(items),
    }, geometry=gpd.GeoSeries([g for g, _, _ in items], crs=4326))


def outcomes(*items):
    """items: (geometry, outcome, date_released, hazard_uuid)"""
    return gpd.GeoDataFrame({
        "uuid": [f"o{i}" for i in range(len(items))],
        "outcome": [o for _, o, _, _ in items],
        "date_released": [d for _, _, d, _ in items],
        "hazard_uuid": [h for _, _, _, h in items],
        "organisation": ["op"] * len(items), "eo_categories": [None] * len(items),
    }, geometry=gpd.GeoSeries([g for g, _, _, _ in items], crs=4326))


def ledger_row(hz, oc):
    sets = _ledger_sets(hz, oc)
    return _row("x", None, {k: float(geodesic_area(g)) for k, g in sets.items()})


SQ = metric_square(17.0, 44.0, SIDE)                     # 10,000 m² at 44° N
WEST_HALF = shapely.box(SQ.bounds[0], SQ.bounds[1], (SQ.bounds[0] + SQ.bounds[2]) / 2, SQ.bounds[3])
D2022, D2023, D2024 = dt.date(2022, 6, 1), dt.date(2023, 1, 1), dt.date(2023, 6, 1)


def test_square_of_100_m_is_10000_m2():
    row = ledger_row(hazards((SQ, "open", None)), outcomes())
    assert row["remaining_m2"] == pytest.approx(10_000, rel=1e-3)
    assert row["released_m2"] == 0 and row["recorded_m2"] == row["remaining_m2"]


def test_undated_release_is_not_remaining_so_not_both():
    row = ledger_row(hazards((SQ, "open", None)), outcomes((WEST_HALF, "cleared", None, None)))
    assert row["cleared_m2"] == pytest.approx(5_000, rel=2e-3)
    assert row["remaining_m2"] == pytest.approx(5_000, rel=2e-3)
    assert row["both_m2"] == 0
    assert row["recorded_m2"] == pytest.approx(10_000, rel=2e-3)


def test_release_after_the_hazards_information_is_subtracted():
    row = ledger_row(hazards((SQ, "open", D2023)), outcomes((WEST_HALF, "cleared", D2024, "h0")))
    assert row["remaining_m2"] == pytest.approx(5_000, rel=2e-3)


def test_release_before_the_hazards_information_stays_remaining_and_both():
    # the hazard was re-surveyed after the release and still covers the land: remaining keeps
    # it, and both says so
    row = ledger_row(hazards((SQ, "open", D2023)), outcomes((WEST_HALF, "cleared", D2022, "h0")))
    assert row["remaining_m2"] == pytest.approx(10_000, rel=1e-3)
    assert row["both_m2"] == pytest.approx(5_000, rel=2e-3)
    assert row["recorded_m2"] == pytest.approx(10_000, rel=1e-3)  # the land, once


def test_closed_hazard_is_not_remaining():
    row = ledger_row(hazards((SQ, "closed", None)), outcomes((SQ, "cleared", None, "h0")))
    assert row["remaining_m2"] == 0 and row["both_m2"] == 0
    assert row["cleared_m2"] == pytest.approx(10_000, rel=1e-3)


def test_overlapping_outcomes_counted_once_with_precedence():
    east = shapely.affinity.translate(SQ, xoff=(SQ.bounds[2] - SQ.bounds[0]) / 2)
    sets = release_sets(outcomes((SQ, "cleared", None, None), (east, "reduced", None, None),
                                 (SQ, "cancelled", None, None), (SQ, "cleared", None, None)))
    assert geodesic_area(sets["cleared"]) == pytest.approx(10_000, rel=1e-3)
    assert geodesic_area(sets["reduced"]) == pytest.approx(5_000, rel=2e-3)
    assert geodesic_area(sets["cancelled"]) == pytest.approx(0, abs=1e-3)
    assert geodesic_area(sets["released"]) == pytest.approx(15_000, rel=2e-3)


def test_outcome_reaching_outside_its_hazard_counts_only_inside():
    big = metric_square(17.0, 44.0, 2 * SIDE)
    row = ledger_row(hazards((SQ, "open", None)), outcomes((big, "cleared", None, "h0")))
    assert row["cleared_m2"] == pytest.approx(10_000, rel=1e-3)
    # without a known hazard the whole outcome counts
    row = ledger_row(hazards((SQ, "open", None)), outcomes((big, "cleared", None, None)))
    assert row["cleared_m2"] == pytest.approx(40_000, rel=1e-3)


def test_landmine_monitor_2022_arithmetic():
    # States Parties' release in 2022 (Landmine Monitor 2023): 219.31 km² cleared, 121.11 km²
    # reduced, 156.92 km² cancelled = 497.34 km²; three disjoint squares of those areas.
    items = []
    for i, (kind, km2) in enumerate([("cleared", 219.31), ("reduced", 121.11), ("cancelled", 156.92)]):
        items.append((metric_square(20.0 + i, 10.0, math.sqrt(km2 * 1e6)), kind, None, None))
    row = ledger_row(hazards(), outcomes(*items))
    assert row["cleared_m2"] / 1e6 == pytest.approx(219.31, rel=1e-3)
    assert row["reduced_m2"] / 1e6 == pytest.approx(121.11, rel=1e-3)
    assert row["cancelled_m2"] / 1e6 == pytest.approx(156.92, rel=1e-3)
    assert row["released_m2"] / 1e6 == pytest.approx(497.34, rel=1e-3)


# --- identities as properties over generated hazards and outcomes --------------------------

cells = st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 3), st.integers(1, 3))
dates = st.one_of(st.none(), st.dates(dt.date(2015, 1, 1), dt.date(2024, 12, 31)))


def _box(c):
    x, y, w, h = c
    return shapely.box(17 + x * 1e-3, 44 + y * 1e-3, 17 + (x + w) * 1e-3, 44 + (y + h) * 1e-3)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(hz=st.lists(st.tuples(cells, st.sampled_from(["open", "worked_on", "closed"]), dates), max_size=5),
       oc=st.lists(st.tuples(cells, st.sampled_from(["cleared", "reduced", "cancelled"]), dates,
                             st.one_of(st.none(), st.integers(0, 4))), max_size=6))
def test_ledger_identities_hold(hz, oc):
    H = hazards(*[(_box(c), s, d) for c, s, d in hz])
    O = outcomes(*[(_box(c), k, d, f"h{h}" if h is not None and h < len(hz) else None)
                   for c, k, d, h in oc])
    sets = _ledger_sets(H, O)
    row = _row("x", None, {k: float(geodesic_area(g)) for k, g in sets.items()})
    assert row["released_m2"] == row["cancelled_m2"] + row["reduced_m2"] + row["cleared_m2"]
    assert row["recorded_m2"] == pytest.approx(
        row["remaining_m2"] + row["released_m2"] - row["both_m2"], rel=1e-6, abs=0.5)
    for col in ("cancelled_m2", "reduced_m2", "cleared_m2", "remaining_m2", "both_m2"):
        assert row[col] >= 0
    # the three kinds are disjoint: together they measure the released land
    released_land = shapely.union_all([sets["cleared"], sets["reduced"], sets["cancelled"]])
    # (each cut edge can move the measure by a few hundredths of a m², see below)
    assert geodesic_area(released_land) == pytest.approx(row["released_m2"], rel=1e-5, abs=0.5)
    open_land = shapely.union_all([g for g, s in zip(H.geometry, H.status) if s != "closed"] or [shapely.Polygon()])
    # Cutting a polygon adds vertices on its edges, and a geodesic edge through a new vertex
    # bends a little differently from the uncut one: on these 100 m boxes a cut moves the
    # measure by about 0.04 m² (2e-6); allow 0.5 m².
    tol, slack = 1e-5, 0.5
    assert row["remaining_m2"] <= geodesic_area(open_land) * (1 + tol) + slack
    assert row["both_m2"] <= min(row["remaining_m2"], row["released_m2"]) * (1 + tol) + slack
    # both is the land released and remaining at once, and only that
    both = shapely.intersection(sets["remaining"], released_land)
    assert row["both_m2"] == pytest.approx(geodesic_area(both), rel=tol, abs=slack)
    if all(d is None for _, _, d in hz):  # undated hazards: every release is taken out
        assert row["both_m2"] == pytest.approx(0, abs=slack)
        shared = geodesic_area(shapely.intersection(open_land, released_land))
        assert row["remaining_m2"] + shared == pytest.approx(geodesic_area(open_land), rel=tol, abs=slack)


# --- the BiH snapshot ----------------------------------------------------------------------

BIH_LAEA = "+proj=laea +lat_0=44 +lon_0=17.8 +datum=WGS84 +units=m"


@pytest.fixture(scope="module")
def bih_adm2(real_store):
    return ledger(real_store, "BIH", "admin2")


def test_bih_ledger_against_geopandas(bih_adm2, real_store):
    total = bih_adm2[-1]
    assert total["area_code"] == "total"
    hz = real_store.read_layer("hazards", "BIH")
    cl = real_store.read_layer("cleared_areas", "BIH")
    keep = lambda g: g[[x is not None and not x.is_empty for x in g.geometry.array]]  # noqa: E731
    H = keep(hz).to_crs(BIH_LAEA).union_all()
    L = keep(cl).to_crs(BIH_LAEA).union_all()
    assert total["cleared_m2"] == pytest.approx(L.area, rel=1e-3)
    assert total["remaining_m2"] == pytest.approx(H.difference(L).area, rel=1e-3)
    assert total["recorded_m2"] == pytest.approx(H.union(L).area, rel=1e-3)
    # the map sheets carry no dates: every release is taken out of the hazards, so no land is
    # released and remaining at once (1.14 km² of hazard polygons do cover released land:
    # the quality rule LR-BOTH names them); what is left is slivers of floating-point cuts
    assert total["both_m2"] == pytest.approx(0.0, abs=1.0)
    assert total["cancelled_m2"] == total["reduced_m2"] == 0.0
    # the snapshot figures, fixed: 805.80 km² remain, 38.48 km² cleared, 844.28 km² recorded
    assert (round(total["remaining_m2"] / 1e6, 2), round(total["cleared_m2"] / 1e6, 2),
            round(total["recorded_m2"] / 1e6, 2)) == (805.80, 38.48, 844.28)


def test_bih_rows_add_up_to_the_total(bih_adm2):
    rows, total = bih_adm2[:-1], bih_adm2[-1]
    assert rows[-1]["area_code"] == "unassigned" and len(rows) == 13  # 12 ADM2 areas
    for col in ("remaining_m2", "cleared_m2", "both_m2", "recorded_m2", "released_m2"):
        assert math.fsum(r[col] for r in rows) == pytest.approx(total[col], rel=1e-12)
    for r in bih_adm2:
        assert r["released_m2"] == r["cancelled_m2"] + r["reduced_m2"] + r["cleared_m2"]
        assert r["recorded_m2"] == pytest.approx(r["remaining_m2"] + r["released_m2"]
                                                 - r["both_m2"], rel=1e-6, abs=1e-3)


def test_bih_by_year_is_all_unknown(real_store):
    rows = ledger(real_store, "BIH", "year")
    assert [r.area_code for r in rows] == ["unknown", "total"]
    assert rows[0]["cleared_m2"] == pytest.approx(rows[1]["cleared_m2"])


# --- overlapping hazards: both is land released and remaining at once (ledger-truth) -------

D2019, D2020, D2021 = dt.date(2019, 1, 1), dt.date(2020, 1, 1), dt.date(2021, 1, 1)


@pytest.mark.parametrize("second_hazard_dated, both_strips", [
    (D2023, 1),   # its information is later than the release: the land is suspected again
    (D2020, 0),   # earlier: the release takes the land out of both hazards
])
def test_two_overlapping_hazards_with_a_release_in_the_overlap(second_hazard_dated, both_strips):
    H = hazards((_strip(0, 2 / 3), "open", D2019), (_strip(1 / 3, 1), "open", second_hazard_dated))
    O = outcomes((_strip(1 / 3, 2 / 3), "cleared", D2022, "h0"))
    sets = _ledger_sets(H, O)
    row = _row("x", None, {k: _m2(g) for k, g in sets.items()})
    third = _m2(_strip(1 / 3, 2 / 3))
    assert row["released_m2"] == pytest.approx(third, rel=1e-6)
    assert row["both_m2"] == pytest.approx(both_strips * third, rel=1e-6, abs=1e-6)
    assert row["remaining_m2"] == pytest.approx(_m2(_strip(0, 1)) - (1 - both_strips) * third, rel=1e-6)
    assert row["recorded_m2"] == pytest.approx(_m2(_strip(0, 1)), rel=1e-6)
    assert row["recorded_m2"] == pytest.approx(
        row["remaining_m2"] + row["released_m2"] - row["both_m2"], rel=1e-6)


def test_a_chain_of_three_hazards_each_surveyed_after_the_release_before_it():
    # H1 (2019) ← R1 (2020) → H2 (2021) ← R2 (2022) → H3 (2023): H2 still covers R1's land
    # and H3 covers R2's, so both releases are suspected again
    H = hazards((_strip(0, 0.5), "open", D2019), (_strip(0.25, 0.75), "open", D2021),
                (_strip(0.5, 1), "open", D2023))
    O = outcomes((_strip(0.25, 0.5), "cleared", D2020, "h0"),
                 (_strip(0.5, 0.75), "reduced", D2022, "h1"))
    sets = _ledger_sets(H, O)
    row = _row("x", None, {k: _m2(g) for k, g in sets.items()})
    assert row["cleared_m2"] == pytest.approx(_m2(_strip(0.25, 0.5)), rel=1e-6)
    assert row["reduced_m2"] == pytest.approx(_m2(_strip(0.5, 0.75)), rel=1e-6)
    assert row["both_m2"] == pytest.approx(_m2(_strip(0.25, 0.75)), rel=1e-6)
    assert row["remaining_m2"] == pytest.approx(_m2(_strip(0, 1)), rel=1e-6)
    assert row["recorded_m2"] == pytest.approx(_m2(_strip(0, 1)), rel=1e-6)
    # H3 surveyed before R2: R2 comes out of it, R1 stays suspected through H2 only
    H = hazards((_strip(0, 0.5), "open", D2019), (_strip(0.25, 0.75), "open", D2021),
                (_strip(0.5, 1), "open", D2021))
    row = _row("x", None, {k: _m2(g) for k, g in _ledger_sets(H, O).items()})
    assert row["both_m2"] == pytest.approx(_m2(_strip(0.25, 0.5)), rel=1e-6)
    assert row["remaining_m2"] == pytest.approx(_m2(_strip(0, 1)) - _m2(_strip(0.5, 0.75)), rel=1e-6)
    assert row["recorded_m2"] == pytest.approx(_m2(_strip(0, 1)), rel=1e-6)
