"""The outside-style baselines of the benchmarks answer the same questions as mineledger: on a
tiny generated country (XS, 10³ hazards) the ledger by admin2 and by year, the distinct land by
level-3 area and the summary's headline figures agree with mineledger's, row by row.

The baselines measure in EPSG:6933 and mineledger on the ellipsoid (with edges divided at
0.001°): the two equal-area measures differ by the shape of long edges, about 1e-7 of the land
in total and at most a few 1e-5 of a small value, so areas are compared to 1e-4 of the row's
own value plus 1e-6 of all the land; counts exactly."""

from __future__ import annotations

import pytest

from benchmarks.baselines import by_admin as base_by_admin
from benchmarks.baselines import ledger as base_ledger
from benchmarks.baselines import summary as base_summary
from benchmarks.generate import generate
from benchmarks.run import PROFILES
from mineledger import import_source, open_store
from mineledger.land.admin_areas import area_by_admin
from mineledger.land.landrelease import COLUMNS, ledger
from mineledger.land.summary import summary


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xs")
    generate("XS", folder)
    path = folder / "store.gpkg"
    with open_store(path, user="bench") as s:
        for name in ("admin", "hazards", "cleared", "devices", "events", "victims"):
            import_source(s, folder / f"{name}.gpkg", str(PROFILES / f"{name}.yaml"), user="bench")
    return path


def _close(a: float, b: float, whole: float) -> bool:
    return abs(a - b) <= 1e-4 * abs(a) + 1e-6 * whole


@pytest.mark.parametrize("by", ["admin2", "year"])
def test_the_ledger_baseline_gives_mineledgers_rows(store, by):
    with open_store(store, create=False, user="bench") as s:
        mine = [r.to_dict() for r in ledger(s, "QSY", by)]
    theirs = base_ledger.by_year(store) if by == "year" else base_ledger.by_admin(store, 2)
    key = "year" if by == "year" else "area_code"
    assert [r[key] for r in mine] == [r["area_code"] for r in theirs]
    whole = mine[-1]["recorded_m2"]
    assert whole > 1e8  # a real amount of land: 10³ hazards of 200 m² to 5 km²
    assert sum(r["both_m2"] > 0 for r in mine) >= 2  # the overlaps are exercised
    for m, t in zip(mine, theirs):
        for c in COLUMNS:
            assert _close(m[c], t[c], whole), (m[key], c, m[c], t[c])


def test_the_by_admin_baseline_gives_mineledgers_land(store):
    with open_store(store, create=False, user="bench") as s:
        hazards = s.read_layer("hazards", "QSY")
        admin = s.read_layer("admin_areas", "QSY")
        mine = {r.code: r.area_m2 for r in area_by_admin(hazards, admin[admin["level"] == 3])}
    theirs = base_by_admin.by_admin(store, 3)
    assert list(mine) == list(theirs)
    whole = sum(mine.values())
    assert all(_close(mine[c], theirs[c], whole) for c in mine)


def test_the_summary_baseline_gives_mineledgers_headline_figures(store):
    with open_store(store, create=False, user="bench") as s:
        mine = summary(s, "QSY").to_dict()
    theirs = base_summary.summary(store)
    for layer in ("hazards", "cleared"):
        for k in ("count", "without_geometry", "invalid_repaired", "invalid_unrepairable"):
            assert mine[layer][k] == theirs[layer][k]
        assert mine[layer]["area_m2"] == pytest.approx(theirs[layer]["area_m2"], rel=1e-12)
        whole = mine[layer]["distinct_area_m2"]
        assert _close(whole, theirs[layer]["distinct_area_m2"], whole)
        assert {r["code"]: r["area_m2"] for r in mine[layer]["by_admin"]}.keys() == \
            theirs[layer]["by_admin"].keys()
    whole = mine["land_release"]["recorded_m2"]
    assert all(_close(v, theirs["land_release"][c], whole)
               for c, v in mine["land_release"].items())
    for group in ("victims", "events"):
        for k, v in theirs[group].items():
            got = mine[group][k]
            if k == "by_admin":
                got = {r["code"]: r["count"] for r in got}
            assert got == v, (group, k)
    assert mine["victims"]["count"] == 100 and mine["events"]["count"] == 100
    assert mine["quarantine"] == theirs["quarantine"]
    assert mine["admin"] == theirs["admin"]
