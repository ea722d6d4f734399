"""Headline figures kept at each commit (:mod:`mineledger.land.figures`): after every kind of
change — an import, a re-import that moves a hazard, a record deleted, an import reverted, a
store written without the hook — the stored figures equal a full recomputation from the
records, and the summary read from them equals the summary computed without them; a view of
the past still recomputes; ``figures check`` finds a tampered cell and ``figures rebuild``
mends it. On both back ends; the property test draws random sequences of edits."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from mineledger import import_source, open_store
from mineledger.geo import geodesic_area
from mineledger.land import figures
from mineledger.land.landrelease import ledger
from mineledger.land.summary import summary
from mineledger.ledger.asof import as_of
from mineledger.ledger.history import revert_import
from tests.conftest import cli_json, run_cli
from tests.test_ledger_truth import _admin, strip
from tests.test_lifecycle import HAZARD_COLS, OUTCOME_COLS, SQ, hazard, outcome, write


def recomputed(session, country):
    """The summary computed from the records, the stored figures left aside."""
    return summary(session, country, stored=False)


def same(a, b, path=""):
    """Equal JSON to the last digit (land is summed in whole mm², exactly in any order),
    keys in the same order (``summary --format json`` prints them so); ``computed_at``
    aside."""
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            if k != "computed_at":
                same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


def assert_current(session, country="XKX"):
    """The figures are stored, take in every change, equal a full recomputation, and the
    summary and the ledger by area and by year read from them are those computed without
    them."""
    assert session.store.read_figures(country) is not None, "the figures are behind"
    for result in figures.check(session):
        assert result.differences == [], result
    same(summary(session, country).to_dict(), recomputed(session, country).to_dict())
    levels = sorted(set(session.read_layer("admin_areas", country)["level"]))
    for by in [f"admin{lv}" for lv in levels] + ["year"]:
        kept = [r.to_dict() for r in ledger(session, country, by)]
        fresh = [r.to_dict() for r in ledger(session, country, by, stored=False)]
        assert kept == fresh, by  # to the last digit: whole mm² sum exactly


def test_the_stored_summary_is_the_computed_one_on_real_data(real_store):
    s = real_store
    for country in ("BIH", "COL"):
        stored = s.store.read_figures(country)
        assert stored is not None
        got = summary(s, country)
        same(got.to_dict(), recomputed(s, country).to_dict())
    bih = summary(s, "BIH")
    # README's figures of the demo: the ledger's total and the hazards' distinct land
    assert bih.land_release.remaining_m2 / 1e6 == pytest.approx(805.80, abs=0.005)
    assert bih.land_release.cleared_m2 / 1e6 == pytest.approx(38.48, abs=0.005)
    assert bih.land_release.recorded_m2 / 1e6 == pytest.approx(844.28, abs=0.005)
    assert all(r.differences == [] for r in figures.check(s))
    levels = sorted(set(s.read_layer("admin_areas", "BIH")["level"]))
    for by in [f"admin{lv}" for lv in levels] + ["year"]:
        assert [r.to_dict() for r in ledger(s, "BIH", by)] == \
            [r.to_dict() for r in ledger(s, "BIH", by, stored=False)], by


def _land(d, rows_h, rows_o):
    return (write(d, "hazards.csv", HAZARD_COLS, rows_h),
            write(d, "outcomes.csv", OUTCOME_COLS, rows_o))


FAR = shapely.affinity.translate(strip(0, 0.3), xoff=0.02)


def _areas_and_one_hazard(s, d):
    """The two areas of the square and one open hazard, H1, on its western 40 %."""
    import_source(s, _admin(d), "geoboundaries")
    h, _ = _land(d, [hazard("H1", strip(0, 0.4))], [])
    import_source(s, h, "completion-hazards")


def test_figures_follow_imports_moves_deletions_and_reverts(store_at, tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    with open_store(store_at("f")) as s:
        import_source(s, _admin(d), "geoboundaries")
        h, o = _land(d, [hazard("H1", strip(0, 0.4), doi="2019-01-01"),
                         hazard("H2", strip(0.6, 1), doi="2024-06-01"),
                         hazard("H3", FAR)],
                     [outcome("R1", "H1", "cleared", strip(0.1, 0.3), date="2022-01-01")])
        import_source(s, h, "completion-hazards")
        import_source(s, o, "completion-outcomes")
        assert_current(s)
        clusters = lambda: set(s.store.read_figures("XKX")[0].loc[  # noqa: E731
            lambda c: c["grouping"] == "", "set_name"])
        assert clusters()
        # a re-import moves H2 onto H1 (their clusters merge) and widens the outcome
        h, o = _land(d, [hazard("H1", strip(0, 0.4), doi="2019-01-01"),
                         hazard("H2", strip(0.3, 1), doi="2024-06-01"),
                         hazard("H3", FAR)],
                     [outcome("R1", "H1", "cleared", strip(0.1, 0.35), date="2022-01-01")])
        import_source(s, h, "completion-hazards")
        widened = import_source(s, o, "completion-outcomes")
        assert_current(s)
        with s.store.writer(user="t", command="read") as w:
            assert w.figure_members(country="XKX")["cluster"].nunique() == 2  # H1+H2+R1, H3
        # a record deleted in a transaction of its own
        with s.writer(user="t", command="test delete") as w:
            gone = w.where("hazards", "local_id", ["H3"])
            w.delete("hazards", gone, import_id=None, reason="test")
        assert_current(s)
        assert summary(s, "XKX").hazards.count == 2
        # the outcome's widening reverted (it goes back to its first geometry)
        revert_import(s, widened.files[0].import_id, reason="test")
        assert_current(s)


def test_a_small_change_recomputes_only_its_clusters(store_at, tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    with open_store(store_at("c")) as s:
        import_source(s, _admin(d), "geoboundaries")
        h, _ = _land(d, [hazard("H1", strip(0, 0.4)), hazard("H3", FAR)], [])
        import_source(s, h, "completion-hazards")
        with s.store.writer(user="t", command="read") as w:
            before = w.figure_members(country="XKX").set_index("uuid")
        h, _ = _land(d, [hazard("H1", strip(0, 0.5)), hazard("H3", FAR)], [])
        import_source(s, h, "completion-hazards")
        with s.store.writer(user="t", command="read") as w:
            after = w.figure_members(country="XKX").set_index("uuid")
            fids = {r["uuid"]: r["fid"] for r in w.conn.execute(text(
                "SELECT uuid, fid FROM figure_members")).mappings()}
        assert set(before.index) == set(after.index)
        h3 = s.read_layer("hazards").set_index("local_id").loc["H3", "uuid"]
        h1 = s.read_layer("hazards").set_index("local_id").loc["H1", "uuid"]
        # H3's cluster is untouched (its row is the one written at the first import), H1's
        # is written again
        assert fids[h3] < fids[h1]
        assert_current(s)


def test_figures_behind_the_change_log_are_brought_up_to_date(store_at, tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    with open_store(store_at("b")) as s:
        _areas_and_one_hazard(s, d)
        # written past the session (as an older mineledger would): no figures are kept
        with s.store.writer(user="t", command="older") as w:
            rows = w.where("hazards", "local_id", ["H1"])
            w.delete("hazards", rows, import_id=None, reason="test")
        assert s.store.read_figures("XKX") is None
        assert summary(s, "XKX").hazards.count == 0
        assert_current(s)


def test_figures_of_an_earlier_form_are_rebuilt_whole_and_never_read(store_at, tmp_path):
    """Figures of form 1 kept the records' land at the finest level only: read as they are,
    the land of the records by another level would be nil. A reader who may not write gets
    the figures computed and writes nothing; the next summary of someone who may change the
    records finds the form old, rebuilds the figures whole, and reads the new form."""
    from mineledger.access.users import put_user

    d = tmp_path / "src"
    d.mkdir()
    location = store_at("v")
    with open_store(location, user="ada") as s:
        _areas_and_one_hazard(s, d)
        put_user(s, "ada", "admin")
        put_user(s, "pat", "public")
        expected = recomputed(s, "XKX").to_dict()
        with s.store.writer(user="ada", command="figures of form 1") as w:
            for t in ("figure_cells", "figure_totals"):  # (form 1 had only some of them)
                w.conn.execute(text(f"DELETE FROM {t} WHERE grouping = 'records'"))
            w.put_figure_counts("XKX", dict(w.figure_counts("XKX"), version=1))
    with open_store(location, user="pat") as public:
        assert figures.stored_land(public, "XKX") is None
        same(summary(public, "XKX").to_dict(), expected)
        assert public.store.read_figures("XKX")[1]["version"] == 1  # nothing was written
    with open_store(location, user="ada") as s:
        kept = figures.stored_land(s, "XKX")
        assert kept.counts["version"] == figures.COUNTS_VERSION
        rows, total = kept.record_rows("hazard_records", 1)
        assert [r.code for r in rows] == ["W", "unassigned"]
        assert total == pytest.approx(float(geodesic_area(strip(0, 0.4))), rel=1e-9)
        same(summary(s, "XKX").to_dict(), expected)
        assert_current(s)


def test_a_view_of_the_past_recomputes(store_at, tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    with open_store(store_at("p")) as s:
        _areas_and_one_hazard(s, d)
        then = summary(s, "XKX")
        moment = s.last_commit() + dt.timedelta(milliseconds=1)
        h, _ = _land(d, [hazard("H1", strip(0, 0.8))], [])
        import_source(s, h, "completion-hazards")
        now = summary(s, "XKX")
        assert now.land_release.remaining_m2 > 1.9 * then.land_release.remaining_m2
        past = summary(as_of(s, moment.isoformat()), "XKX")
        same(past.to_dict()["land_release"], then.to_dict()["land_release"])
        same(past.to_dict()["hazards"], then.to_dict()["hazards"])


def test_figures_check_finds_a_tampered_cell_and_rebuild_mends_it(store_at, tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    location = store_at("k")
    with open_store(location) as s:
        _areas_and_one_hazard(s, d)
    good = run_cli("--store", str(location), "figures", "check")
    assert good.returncode == 0, good.stderr
    assert "XKX: the stored figures equal a full recomputation" in good.stdout
    with open_store(location) as s, s.store.writer(user="t", command="tamper") as w:
        w.conn.execute(text("UPDATE figure_cells SET mm2 = mm2 * 2 WHERE set_name = 'remaining' "
                            "AND level = 0 AND grouping = ''"))
    bad = run_cli("--store", str(location), "figures", "check")
    assert bad.returncode == 1
    assert "XKX: 1 difference(s)" in bad.stdout and "/remaining/0/total" in bad.stdout
    fixed = run_cli("--store", str(location), "figures", "rebuild")
    assert fixed.returncode == 0 and "figures rebuilt for 1 country: XKX" in fixed.stdout
    assert run_cli("--store", str(location), "figures", "check").returncode == 0
    figures_json = cli_json("--store", str(location), "summary", "--country", "XKX",
                            "--format", "json")
    assert figures_json["land_release"]["remaining_m2"] == pytest.approx(
        float(geodesic_area(strip(0, 0.4))), rel=1e-6)


def test_a_store_upgraded_to_keep_figures_builds_them_on_its_next_summary(store_at, tmp_path):
    """A store of revision 0003 holds records and no figures; after ``db upgrade`` the next
    summary finds the figures behind the change log, builds them, and reads them."""
    from tests.test_backends import _downgrade_to

    d = tmp_path / "src"
    d.mkdir()
    location = store_at("u")
    with open_store(location) as s:
        import_source(s, _admin(d), "geoboundaries")
        h, o = _land(d, [hazard("H1", strip(0, 0.4))],
                     [outcome("R1", "H1", "cleared", strip(0.1, 0.2))])
        import_source(s, h, "completion-hazards")
        import_source(s, o, "completion-outcomes")
        expected = summary(s, "XKX").to_dict()
        _downgrade_to(s, "0003")
    assert run_cli("--store", str(location), "db", "upgrade").returncode == 0
    with open_store(location) as s:
        assert s.store.read_figures("XKX") is None
        same(summary(s, "XKX").to_dict(), expected)
        assert_current(s)


# -- property: any sequence of edits ---------------------------------------------------------

CELL = 0.1  # of the square's width: boxes on a grid, so that they meet, overlap or not


def _box(i, j, w):
    minx, miny, maxx, maxy = SQ.bounds
    sx, sy = (maxx - minx) * CELL, (maxy - miny) * CELL
    return shapely.box(minx + i * sx, miny + j * sy, minx + (i + w) * sx, miny + (j + w) * sy)


edit = st.tuples(st.sampled_from(["hazard", "outcome", "move", "delete", "close"]),
                 st.integers(0, 5), st.integers(0, 8), st.integers(0, 8), st.integers(1, 3))


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.lists(edit, min_size=1, max_size=4), min_size=1, max_size=4))
def test_any_sequence_of_edits_keeps_the_figures_equal_to_a_recomputation(
        store_at, tmp_path_factory, transactions):
    d = tmp_path_factory.mktemp("prop")
    with open_store(store_at(f"prop{len(list(d.parent.iterdir()))}")) as s:
        import_source(s, _admin(d), "geoboundaries")
        import_source(s, write(d, "h.csv", HAZARD_COLS, [hazard("H0", _box(0, 0, 2))]),
                      "completion-hazards")
        template = s.read_layer("hazards").iloc[0].to_dict()
        for tx in transactions:
            with s.writer(user="t", command="edit") as w:
                for kind, n, i, j, size in tx:
                    _apply(w, template, kind, n, i, j, size)
            assert_current(s)


def _apply(w, template, kind, n, i, j, size):
    import uuid as uuidlib

    local = f"P{n}"
    layer = "cleared_areas" if kind == "outcome" else "hazards"
    found = w.where("hazards", "local_id", [local])
    geom = _box(i, j, size)
    if kind == "hazard" and not found:
        row = {k: v for k, v in template.items() if k not in ("fid", "geometry")}
        row.update(uuid=str(uuidlib.uuid4()), local_id=local, geom=geom,
                   area_m2=float(shapely.area(geom)))
        w.insert("hazards", [row], import_id=None, reason="test")
    elif kind == "outcome":
        row = {"uuid": str(uuidlib.uuid4()), "country": "XKX", "local_id": f"O{n}{i}{j}",
               "outcome": ("cleared", "reduced", "cancelled")[n % 3], "geom": geom,
               "date_released": dt.date(2020 + n % 5, 1, 1),
               "hazard_uuid": found[0]["uuid"] if found else None,
               "geometry_status": "valid"}
        w.insert(layer, [row], import_id=None, reason="test")
    elif kind == "move" and found:
        w.amend("hazards", found[0], {"geom": geom}, import_id=None, reason="test")
    elif kind == "close" and found:
        w.amend("hazards", found[0], {"status": "closed"}, import_id=None, reason="test")
    elif kind == "delete" and found:
        w.delete("hazards", found, import_id=None, reason="test")


# -- from the attack ------------------------------------------------------------------------

def test_an_outcome_follows_the_hazard_it_names_even_where_they_do_not_meet(store_at, tmp_path):
    """An outcome is cut to the hazard it names: one lying off its hazard counts no land, and
    keeps counting none (or some) as that hazard is moved, loses its geometry or is deleted —
    though the two are in different clusters."""
    d = tmp_path / "src"
    d.mkdir()
    off = shapely.affinity.translate(strip(0, 0.2), xoff=0.01)
    with open_store(store_at("n")) as s:
        import_source(s, _admin(d), "geoboundaries")
        h, o = _land(d, [hazard("H1", strip(0, 0.4))], [outcome("R1", "H1", "cleared", off)])
        import_source(s, h, "completion-hazards")
        import_source(s, o, "completion-outcomes")
        assert_current(s)
        assert summary(s, "XKX").land_release.cleared_m2 == 0.0
        for geom in (off, strip(0, 0.4)):  # the hazard moved onto its outcome, and back
            h, _ = _land(d, [hazard("H1", geom)], [])
            import_source(s, h, "completion-hazards")
            assert_current(s)
        with s.writer(user="t", command="test") as w:  # the hazard loses its geometry
            (row,) = w.where("hazards", "local_id", ["H1"])
            w.amend("hazards", row, {"geom": None}, import_id=None, reason="test")
        assert_current(s)
        assert summary(s, "XKX").land_release.cleared_m2 > 0  # no hazard shape: as it lies
        with s.writer(user="t", command="test") as w:
            w.delete("hazards", w.where("hazards", "local_id", ["H1"]), import_id=None,
                     reason="test")
        assert_current(s)


def test_rebuild_drops_the_figures_of_a_country_with_no_records_left(store_at, tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    with open_store(store_at("g")) as s:
        h, _ = _land(d, [hazard("H1", strip(0, 0.4))], [])
        report = import_source(s, h, "completion-hazards")
        with s.store.writer(user="t", command="past the hook") as w:  # as an old revert would
            w.delete("hazards", w.where("hazards", "local_id", ["H1"]), import_id=None,
                     reason="test")
        assert [r.differences for r in figures.check(s)] == [
            ["figures are stored for XKX, which has no records"]]
        assert figures.rebuild(s) == []
        assert figures.check(s) == []
        import_source(s, write(d, "h2.csv", HAZARD_COLS, [hazard("H2", strip(0.5, 0.6))]),
                      "completion-hazards")
        assert_current(s)
        assert report.files


def test_figures_are_not_behind_after_changes_to_users_and_settings(store_at, tmp_path):
    from mineledger.access.users import put_user, set_setting

    d = tmp_path / "src"
    d.mkdir()
    location = store_at("s")
    with open_store(location) as s:
        h, _ = _land(d, [hazard("H1", strip(0, 0.4))], [])
        import_source(s, h, "completion-hazards")
        put_user(s, s.user_name, "admin")
        set_setting(s, "timezone", "Europe/Sarajevo")
        assert s.store.read_figures("XKX") is not None
    assert run_cli("--store", str(location), "figures", "check").returncode == 0


def test_a_reader_never_writes_figures_nor_waits_for_a_writer(store_at, tmp_path):
    """On figures behind the change log, a public user's summary computes them and writes
    nothing; and anyone's summary computes rather than wait behind another writer."""
    from mineledger.access.users import put_user

    d = tmp_path / "src"
    d.mkdir()
    location = store_at("r")
    with open_store(location, user="ada") as s:
        h, _ = _land(d, [hazard("H1", strip(0, 0.4)), hazard("H2", strip(0.6, 0.8))], [])
        import_source(s, h, "completion-hazards")
        put_user(s, "ada", "admin")
        put_user(s, "pat", "public")
        expected = summary(s, "XKX").to_dict()
        with s.store.writer(user="ada", command="past the hook") as w:
            w.delete("hazards", w.where("hazards", "local_id", ["H2"]), import_id=None,
                     reason="test")
        expected_after = recomputed(s, "XKX").to_dict()
        assert expected_after != expected
    with open_store(location, user="pat") as public:
        same(summary(public, "XKX").to_dict(), expected_after)
        assert public.store.read_figures("XKX") is None  # nothing was written
    with open_store(location, user="ada") as s, open_store(location, user="ada") as other:
        with other.store.writer(user="ada", command="holds the lock"):
            same(summary(s, "XKX").to_dict(), expected_after)  # computed, not waited for
        assert s.store.read_figures("XKX") is None
        same(summary(s, "XKX").to_dict(), expected_after)  # the lock is free: caught up
        assert s.store.read_figures("XKX") is not None


def test_figures_check_reads_a_read_only_store(store_at, tmp_path, backend):
    if backend != "gpkg":
        pytest.skip("MINELEDGER_READ_ONLY is the embedded store's")
    d = tmp_path / "src"
    d.mkdir()
    location = store_at("o")
    with open_store(location) as s:
        h, _ = _land(d, [hazard("H1", strip(0, 0.4))], [])
        import_source(s, h, "completion-hazards")
    import os
    result = run_cli("--store", str(location), "figures", "check",
                     env={**os.environ, "MINELEDGER_READ_ONLY": "1"})
    assert result.returncode == 0, result.stderr
    assert "XKX: the stored figures equal a full recomputation" in result.stdout
