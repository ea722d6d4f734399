"""As-of figures, information-as-of, record history, and reverting imports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
import time

import pytest

from mineledger.errors import QueryError, StoreError
from mineledger.ledger.asof import as_of, instant_text
from mineledger.ledger.history import import_details, record_history, revert_import
from mineledger.store.snapshot import Snapshot, parse_instant
from mineledger.ledger.importer import import_source
from mineledger.land.landrelease import ledger
from mineledger.land.summary import summary
from mineledger import open_store
from tests.conftest import cli_json, run_cli

HAZARDS_V1 = """\
id,seen,wkt
H1,2020-01-10,"POLYGON ((18 44, 18.01 44, 18.01 44.01, 18 44.01, 18 44))"
H2,2021-06-01,"POLYGON ((18.1 44.1, 18.11 44.1, 18.11 44.11, 18.1 44.11, 18.1 44.1))"
"""
HAZARDS_V2 = """\
id,seen,wkt
H1,2020-01-10,"POLYGON ((18 44, 18.02 44, 18.02 44.01, 18 44.01, 18 44))"
H2,2021-06-01,"POLYGON ((18.1 44.1, 18.11 44.1, 18.11 44.11, 18.1 44.11, 18.1 44.1))"
H3,2022-03-03,"POLYGON ((18.2 44.2, 18.21 44.2, 18.21 44.21, 18.2 44.21, 18.2 44.2))"
"""
PROFILE = """
layer: hazards
country: BIH
key: [id]
geometry: {wkt: wkt, crs: EPSG:4326}
fields:
  local_id: {column: id}
  hazard_type: {value: SHA}
  date_of_information: {column: seen}
"""


def write(tmp_path, text):
    path = tmp_path / "data" / "h.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def two_versions(tmp_path, store_at):
    """A store with one import, then (a moment later) a second that changes H1 and adds H3;
    returns (store, instant between them, first import id, second import id)."""
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    store = open_store(store_at("s"))
    first = import_source(store, write(tmp_path, HAZARDS_V1), str(profile)).files[0].import_id
    time.sleep(0.02)
    between = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.02)
    second = import_source(store, write(tmp_path, HAZARDS_V2), str(profile)).files[0].import_id
    yield store, between, first, second
    store.close()


def test_as_of_an_instant_gives_the_figures_of_then(two_versions):
    store, between, _, _ = two_versions
    now = summary(store, "BIH")
    then = summary(as_of(store, instant_text(between)), "BIH")
    assert (now["hazards"]["count"], then["hazards"]["count"]) == (3, 2)
    # H1 doubled in width: today's area is H1 twice + H2 + H3; then H1 + H2
    a = {r["local_id"]: r["area_m2"] for r in store.read_layer("hazards").to_dict("records")}
    assert then["hazards"]["area_m2"] == pytest.approx(a["H1"] / 2 + a["H2"], rel=1e-3)
    assert then["meta"]["as_of"] == instant_text(between)


def test_a_summary_carries_the_instant_that_gives_its_numbers_again(two_versions):
    store, _, _, _ = two_versions
    figures = summary(store, "BIH")
    again = summary(as_of(store, figures["meta"]["as_of"]), "BIH")
    for key in ("count", "area_m2", "distinct_area_m2"):
        assert again["hazards"][key] == figures["hazards"][key]
    assert again["meta"]["as_of"] == figures["meta"]["as_of"]
    rows_now = ledger(store, "BIH", "hazard")
    rows_then = ledger(as_of(store, figures["meta"]["as_of"]), "BIH", "hazard")
    assert rows_now == rows_then


def test_information_as_of_counts_what_was_known_by_a_date(two_versions):
    store, _, _, _ = two_versions
    known = summary(as_of(store, information_as_of="2021-12-31"), "BIH")
    assert known["hazards"]["count"] == 2  # H3 is information of 2022
    assert known["meta"]["information_as_of"] == "2021-12-31"
    with pytest.raises(QueryError, match="held no records for country 'BIH' with information "
                                         r"as of 2019-12-31 \(it had: none\)"):
        summary(as_of(store, information_as_of="2019-12-31"), "BIH")  # nothing known yet
    with pytest.raises(QueryError, match="held no records for country 'BIH' as of "
                                         r"2000-01-01T23:59:59.999Z \(it had: none\)"):
        ledger(as_of(store, "2000-01-01"), "BIH", "admin2")  # before the first import


def test_as_of_a_date_is_the_end_of_that_day_in_the_store_time_zone(tmp_path, store_at):
    with open_store(store_at("s")) as store:
        assert parse_instant("2025-12-31", store) == dt.datetime(
            2025, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
        from mineledger.access.users import set_setting

        set_setting(store, "timezone", "America/Bogota")
        assert parse_instant("2025-12-31", store) == dt.datetime(
            2026, 1, 1, 4, 59, 59, 999999, tzinfo=dt.timezone.utc)
        with pytest.raises(QueryError, match="a time needs its UTC offset"):
            parse_instant("2025-12-31T10:00:00", store)
        with pytest.raises(QueryError, match="expected a date"):
            parse_instant("last year", store)


def test_a_snapshot_cannot_be_written(two_versions):
    store, between, _, _ = two_versions
    with pytest.raises(StoreError, match="cannot be written"):
        with Snapshot(store, between).writer(user="x", command="y"):
            pass


def test_history_lists_every_change_with_who_when_why(two_versions):
    store, _, first, second = two_versions
    h1 = store.read_layer("hazards").set_index("local_id").loc["H1", "uuid"]
    changes = record_history(store, h1[:8])
    assert [c["action"] for c in changes] == ["insert", "update"]
    assert [c["import_id"] for c in changes] == [first, second]
    assert changes[1]["reason"] == "re-import data/h.csv: source changed"
    assert "geometry" in changes[1]["changed"] and "area_m2" in changes[1]["changed"]
    with pytest.raises(QueryError, match="give at least 8 characters"):
        record_history(store, "abc")


def test_revert_an_import_restores_and_keeps_the_history(two_versions):
    store, _, first, second = two_versions
    before = {r["local_id"]: r for r in store.read_layer("hazards").to_dict("records")}
    counts = revert_import(store, second[:8], reason="wrong file")
    assert counts == {"deleted": 1, "restored": 1}
    after = {r["local_id"]: r for r in store.read_layer("hazards").to_dict("records")}
    assert sorted(after) == ["H1", "H2"]
    assert after["H1"]["area_m2"] == pytest.approx(before["H1"]["area_m2"] / 2, rel=1e-3)
    h1 = before["H1"]["uuid"]
    actions = [(c["action"], c["import_id"]) for c in record_history(store, h1)]
    assert actions == [("insert", first), ("update", second), ("update", f"revert-{second}")]
    assert import_details(store, second)["reverted_at"] is not None
    with pytest.raises(QueryError, match="was reverted already"):
        revert_import(store, second, reason="again")
    h3 = before["H3"]["uuid"]
    assert [c["action"] for c in record_history(store, h3)] == ["insert", "delete"]


def test_revert_refuses_when_a_later_change_touched_the_records(two_versions):
    store, _, first, _ = two_versions
    with pytest.raises(QueryError, match=r"1 record\(s\) this import wrote were changed later"):
        revert_import(store, first, reason="too late")
    with pytest.raises(QueryError, match="needs a reason"):
        revert_import(store, first, reason=" ")


def test_as_of_and_history_through_the_cli(tmp_path, two_versions):
    store, between, _, second = two_versions
    path = store.location
    figures = cli_json("--store", path, "summary", "--country", "BIH", "--format", "json",
                       "--as-of", instant_text(between))
    assert figures["hazards"]["count"] == 2
    result = run_cli("--store", path, "landrelease", "--country", "BIH", "--by", "hazard",
                     "--as-of", instant_text(between))
    assert result.returncode == 0 and f"as of {instant_text(between)}" in result.stdout
    result = run_cli("--store", path, "imports", "show", second[:8])
    assert result.returncode == 0 and "hazards update" in result.stdout
    result = run_cli("--store", path, "imports", "revert", second[:8], "--reason", "test")
    assert result.returncode == 0, result.stderr
    assert "1 record(s) deleted, 1 restored" in result.stdout
    result = run_cli("--store", path, "report", "--country", "BIH", "--out", str(tmp_path / "r"),
                     "--as-of", instant_text(between))
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "r" / "index.html").read_text()
    assert f"--as-of {instant_text(between)}" in html


def _same(a, b) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-3, abs=1e-3)
    return a == b


@pytest.mark.realdata
@pytest.mark.parametrize("country", ["BIH", "COL"])
def test_the_real_figures_come_back_as_of_the_instant_they_carry(real_store, country):
    """Rebuilt from the change log alone, the store as of the summary's instant gives every
    figure of the summary again (11,068 BiH hazards, 12,364 COL victims …)."""
    figures = summary(real_store, country)
    again = summary(as_of(real_store, figures["meta"]["as_of"]), country)
    for part in ("hazards", "cleared", "victims", "events", "admin"):
        # counts exactly; areas to 0.1 % (PostGIS measures the live store's land by
        # administrative area on the spheroid, the rebuilt store is measured in Python, many
        # small pieces in local equal-area projections)
        assert _same(again[part], figures[part]), part
    if country == "BIH":
        assert again["hazards"]["count"] == 11068
        assert round(again["hazards"]["area_m2"] / 1e6, 2) == 812.31
    else:
        assert (again["victims"]["count"], again["victims"]["killed"]) == (12364, 2351)


def test_as_of_counts_a_change_from_when_its_transaction_landed(store_at):
    """A change written at T1 but committed at T2 was not in the store between them."""
    import shapely

    with open_store(store_at("s")) as store:
        with store.writer(user="t", command="slow import") as w:
            w.insert("hazards", [{"uuid": "00000000-0000-0000-0000-000000000001",
                                  "country": "BIH", "hazard_type": "SHA",
                                  "geom": shapely.MultiPolygon([shapely.box(18, 44, 18.01, 44.01)]),
                                  "geometry_status": "ok", "area_m2": 1.0}], import_id="slow")
            time.sleep(0.02)
            during = dt.datetime.now(dt.timezone.utc)
            time.sleep(0.02)
        assert as_of(store, instant_text(during)).countries() == []
        assert summary(store, "BIH")["hazards"]["count"] == 1
        with pytest.raises(QueryError, match="that is still to come"):
            as_of(store, "2999-01-01")
        with pytest.raises(QueryError, match="that is still to come"):  # today has not ended
            as_of(store, dt.datetime.now(dt.timezone.utc).date().isoformat())
        with pytest.raises(QueryError, match="expected a date"):
            as_of(store, "2026-W48")


def test_restore_replaces_a_damaged_store(tmp_path):
    from mineledger.ledger.backup import backup_store, restore_store

    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    with open_store(tmp_path / "s.gpkg") as store:
        import_source(store, write(tmp_path, HAZARDS_V1), str(profile))
        backup_store(store, tmp_path / "b.gpkg")
    raw = bytearray((tmp_path / "s.gpkg").read_bytes())
    raw[4096:8192] = bytes(4096)  # a page wiped
    (tmp_path / "s.gpkg").write_bytes(bytes(raw))
    restore_store(tmp_path / "b.gpkg", tmp_path / "s.gpkg", force=True)
    with open_store(tmp_path / "s.gpkg", create=False) as store:
        assert len(store.read_layer("hazards")) == 2
