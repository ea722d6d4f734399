"""What both back ends must do alike: schema revisions (``db upgrade``), moving a whole store
between them (``migrate``), and one writer at a time while readers go on."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from alembic import command
from sqlalchemy import inspect, text

from mineledger import StoreError, import_source, open_store, summary
from mineledger.victims import personal
from mineledger.ledger.asof import as_of, instant_text
from mineledger.ledger.history import record_history
from mineledger.ledger.migration import migrate_store
from mineledger.store import revisions
from tests.conftest import ROOT, cli_json, run_cli

HAZARDS = """id,org,wkt
{rows}
"""
PROFILE = ("layer: hazards\ncountry: BIH\nkey: [id]\ngeometry: {wkt: wkt, crs: EPSG:4326}\n"
           "fields:\n  local_id: {column: id}\n  organisation: {column: org}\n"
           "  hazard_type: {value: SHA}\n")
VICTIMS = ("id,year,name,lat,lon\nV1,2019,Ana Secreta,6.14,-75.18\nV2,2020,Luis Oculto,6.20,-75.30\n"
           "V3,abc,Bad Year,6.2,-75.3\n")
VICTIM_PROFILE = ("layer: victims\ncountry: COL\nkey: [id]\ngeometry: {x: lon, y: lat, crs: EPSG:4326}\n"
                  "fields:\n  year: {column: year}\n  name: {column: name}\n")


def hazards_file(folder, name, n, start=0, org="HALO"):
    rows = "\n".join(f'{name}-{i},{org},"POLYGON(({18 + i * 0.01} 44, {18.005 + i * 0.01} 44, '
                     f'{18.005 + i * 0.01} 44.005, {18 + i * 0.01} 44.005, {18 + i * 0.01} 44))"'
                     for i in range(start, start + n))
    path = folder / f"{name}.csv"
    path.write_text(HAZARDS.format(rows=rows), encoding="utf-8")
    return path


@pytest.fixture
def profiles(tmp_path):
    (tmp_path / "h.yaml").write_text(PROFILE, encoding="utf-8")
    (tmp_path / "v.yaml").write_text(VICTIM_PROFILE, encoding="utf-8")
    (tmp_path / "victims.csv").write_text(VICTIMS, encoding="utf-8")
    return tmp_path / "h.yaml", tmp_path / "v.yaml"


@pytest.fixture
def full(store_at, tmp_path, profiles):
    """A store with history (two versions of a hazard), quarantine, and victims' encrypted
    personal data."""
    hz, vp = profiles
    store = open_store(store_at("full"))
    import_source(store, hazards_file(tmp_path, "h", 5), str(hz))
    time.sleep(0.01)
    (tmp_path / "h.csv").write_text((tmp_path / "h.csv").read_text().replace("HALO", "MAG", 1))
    import_source(store, tmp_path / "h.csv", str(hz))
    import_source(store, tmp_path / "victims.csv", str(vp))
    yield store
    store.close()


# --- schema revisions ---------------------------------------------------------------------

HEAD = revisions.head()


def _downgrade_to(store, revision: str):
    """Take a store back to ``revision``, as a store of an earlier version would be."""
    with store.store._write_connection() as conn, conn.begin():
        cfg = revisions._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _downgrade_to_0001(store):
    _downgrade_to(store, "0001")


def test_an_older_store_is_refused_until_db_upgrade(store_at, tmp_path):
    location = store_at("old")
    with open_store(location) as store:
        assert store.settings()["schema_version"] == "8"
        _downgrade_to_0001(store)
    with pytest.raises(StoreError, match=rf"revision 0001, this mineledger needs {HEAD}; back "
                                         r"it up, then run `mineledger --store .* db upgrade`"):
        open_store(location)
    result = run_cli("--store", location, "db", "status")
    assert result.returncode == 0 and f"schema revision 0001; this mineledger needs {HEAD}" in result.stdout
    result = run_cli("--store", location, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert f"schema revision 0001 → {HEAD}" in result.stdout
    with open_store(location) as store, store.store.engine.connect() as conn:
        assert revisions.current(conn) == HEAD
        names = {i["name"] for i in inspect(conn).get_indexes("change_log")}
        assert "ix_change_log_import" in names
        assert {"figure_members", "figure_cells", "figure_counts",
                "figure_state"} <= set(inspect(conn).get_table_names())
    result = run_cli("--store", location, "db", "upgrade")
    assert f"already at revision {HEAD}" in result.stdout


def test_a_store_made_before_alembic_is_upgraded(store_at):
    """Stores of schema version 8 carry no alembic_version table."""
    location = store_at("legacy")
    with open_store(location) as store:
        _downgrade_to_0001(store)
        with store.store._write_connection() as conn, conn.begin():
            conn.execute(text("DROP TABLE alembic_version"))
    with pytest.raises(StoreError, match="revision 0001"):
        open_store(location)
    with open_store(location, check_schema=False) as store:
        assert store.store.upgrade_schema() == ("0001", HEAD)
    open_store(location).close()


EVENTS = "id,killed,lat,lon\nE1,2,7.11,-75.55\n"
EVENT_PROFILE = ("layer: events\ncountry: COL\nkey: [id]\ngeometry: {x: lon, y: lat, crs: EPSG:4326}\n"
                 "fields:\n  local_id: id\n  event_type: {value: accident_at_mine}\n"
                 "  killed: killed\n")


def test_db_upgrade_from_0002_adds_the_event_month_and_unknown_outcome(store_at, tmp_path):
    """Revision 0003: events gain ``month`` and ``outcome_unknown`` in place; the events a
    store of revision 0002 holds keep their values and history, the new columns empty."""
    location = store_at("r2")
    (tmp_path / "e.csv").write_text(EVENTS, encoding="utf-8")
    (tmp_path / "e.yaml").write_text(EVENT_PROFILE.replace("accident_at_mine", "uxo_found"),
                                     encoding="utf-8")
    with open_store(location) as store:
        import_source(store, tmp_path / "e.csv", str(tmp_path / "e.yaml"))
        with store.store.engine.connect() as conn:
            new_columns = {c["name"]: str(c["type"]) for c in inspect(conn).get_columns("events")}
        _downgrade_to(store, "0002")
        with store.store.engine.connect() as conn:
            old_columns = {c["name"] for c in inspect(conn).get_columns("events")}
    assert set(new_columns) - old_columns == {"month", "outcome_unknown"}
    with pytest.raises(StoreError, match=rf"revision 0002, this mineledger needs {HEAD}"):
        open_store(location)
    result = run_cli("--store", location, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert f"schema revision 0002 → {HEAD}" in result.stdout
    with open_store(location) as store:
        with store.store.engine.connect() as conn:
            assert revisions.current(conn) == HEAD
            upgraded = {c["name"]: str(c["type"]) for c in inspect(conn).get_columns("events")}
        assert upgraded == new_columns  # as a store built new at the head revision
        (event,) = store.read_layer("events").to_dict("records")
        assert (event["local_id"], event["killed"], event["event_type"]) == ("E1", 2, "uxo_found")
        assert event["month"] is None or event["month"] != event["month"]  # null (None or NaN)
        assert len(record_history(store, event["uuid"])) == 1
        (tmp_path / "e.csv").write_text(EVENTS.replace("id,killed", "id,killed,mes")
                                        .replace("E1,2", "E1,2,11"), encoding="utf-8")
        (tmp_path / "e.yaml").write_text(EVENT_PROFILE + "  month: mes\n  outcome_unknown: {value: 1}\n",
                                         encoding="utf-8")
        report = import_source(store, tmp_path / "e.csv", str(tmp_path / "e.yaml"))
        assert report.total("updated") == 1
        (event,) = store.read_layer("events").to_dict("records")
        assert (event["month"], event["outcome_unknown"], event["event_type"]) == \
            (11, 1, "accident_at_mine")


def test_a_store_of_an_unknown_revision_is_refused(store_at):
    location = store_at("future")
    with open_store(location) as store:
        with store.store._write_connection() as conn, conn.begin():
            conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match=r"schema \(0099\) is not one this mineledger knows"):
        open_store(location)


# --- migrate ------------------------------------------------------------------------------

def test_migrate_moves_everything_and_verifies_it(full, tmp_path, databases, backend):
    """To the other back end and back: every table with the same rows and checksum, the same
    figures, the same history, the same quarantine, personal data readable with the same key."""
    other = str(tmp_path / "moved.gpkg") if backend == "postgis" else databases.new()
    report = migrate_store(full, other)
    counts = {t.name: t.rows for t in report.tables}
    assert counts["hazards"] == 5 and counts["victims"] == 2 and counts["quarantine"] == 1
    assert counts["change_log"] == len(full.read_table("change_log")) > 7
    assert counts["person_keys"] == 2 and counts["victim_personal"] == 2
    with open_store(other) as moved:
        for country in ("BIH", "COL"):
            a, b = summary(full, country), summary(moved, country)
            for part in ("hazards", "victims", "quarantine", "admin"):
                assert a[part] == b[part], part
        assert moved.settings()["store_id"] == full.settings()["store_id"]
        uuid = full.read_layer("hazards").sort_values("local_id")["uuid"].iloc[0]
        history = [(c["action"], c["changed"].get("organisation")) for c in record_history(moved, uuid)]
        assert history == [(c["action"], c["changed"].get("organisation"))
                           for c in record_history(full, uuid)]
        assert [a for a, _ in history] == ["insert", "update"]
        assert history[1][1] == ("HALO", "MAG")
        first = full.read_table("transactions")["committed_at"].iloc[0]
        assert summary(as_of(moved, instant_text(first)), "BIH")["hazards"]["count"] == 5
        v = moved.read_layer("victims").sort_values("source_locator")["uuid"].iloc[0]
        assert personal.read(moved, [v], purpose="test")[v]["name"] == "Ana Secreta"
        assert moved.read_table("quarantine")["reason"].tolist() == \
            full.read_table("quarantine")["reason"].tolist()
        # the copy goes on where the source left off: new rows get new fids
        import_source(moved, hazards_file(tmp_path, "more", 2), str(tmp_path / "h.yaml"))
        assert moved.read_layer("hazards")["fid"].is_unique


def test_migrate_refuses_a_target_with_records_unless_forced(full, store_at, tmp_path, profiles):
    target = store_at("target")
    with open_store(target) as t:
        import_source(t, hazards_file(tmp_path, "other", 1), str(profiles[0]))
    before = (tmp_path / "other.csv").name
    with pytest.raises(StoreError, match="already holds a store with records; pass --force"):
        migrate_store(full, target)
    with open_store(target) as t:
        assert t.read_layer("hazards")["local_id"].tolist() == ["other-0"], before
    result = run_cli("--store", full.location, "migrate", "--to", target)
    assert result.returncode == 2 and "pass --force" in result.stderr
    result = run_cli("--store", full.location, "migrate", "--to", target, "--force")
    assert result.returncode == 0, result.stderr
    assert "rows in 23 tables copied and verified" in result.stdout
    with open_store(target) as t:
        assert sorted(t.read_layer("hazards")["local_id"]) == [f"h-{i}" for i in range(5)]


def test_migrate_refuses_itself_and_unreachable_targets(full):
    with pytest.raises(StoreError, match="is the source store itself"):
        migrate_store(full, full.location)
    result = run_cli("--store", full.location, "migrate", "--to",
                     "postgresql://nobody:secret@127.0.0.1:1/nowhere")
    assert result.returncode == 2 and "cannot open the store" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


# --- one writer at a time, readers go on ---------------------------------------------------

HOLDER = """
import os, sys, time, shapely
from mineledger import open_store
store = open_store(sys.argv[1])
with store.writer(user="holder", command="hold") as w:
    w.insert("hazards", [{"uuid": "held-1", "country": "BIH", "geom": shapely.box(19, 44, 19.01, 44.01),
                          "geometry_status": "ok", "area_m2": 1.0}], import_id="held")
    print("holding", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        time.sleep(0.05)
store.close()
"""


class _hold:
    """A process that holds the store's write lock (one uncommitted row) until released."""

    def __init__(self, location, folder):
        self.release = folder / "release-the-lock"
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, location, str(self.release)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=ROOT)
        assert self.proc.stdout.readline().strip() == "holding", self.proc.stderr.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release.touch()
        self.proc.wait(timeout=60)


def _second_writer(location, path, profile, timeout):
    return subprocess.Popen([sys.executable, "-m", "mineledger", "--store", location, "import",
                             str(path), "--profile", str(profile)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "MINELEDGER_LOCK_TIMEOUT": timeout})


def test_readers_go_on_and_a_second_writer_waits_while_one_writes(full, tmp_path, profiles):
    with _hold(full.location, tmp_path) as holder:
        figures = cli_json("--store", full.location, "summary", "--country", "BIH", "--format", "json")
        assert figures["hazards"]["count"] == 5  # the held write is not seen, nor waited for
        assert holder.proc.poll() is None
        second = _second_writer(full.location, hazards_file(tmp_path, "w2", 3), profiles[0], "120")
        said = second.stderr.readline()  # printed once it finds the lock taken, then it waits
        assert "another process is writing to the store; waiting for it to finish" in said
        assert second.poll() is None
    out, err = second.communicate(timeout=120)
    assert holder.proc.returncode == 0
    assert second.returncode == 0, err
    assert "locked" not in err
    assert len(full.read_layer("hazards")) == 5 + 1 + 3


def test_a_writer_that_waits_too_long_gives_up_clearly_and_writes_nothing(full, tmp_path, profiles):
    with _hold(full.location, tmp_path):
        result = run_cli("--store", full.location, "import", str(hazards_file(tmp_path, "w3", 2)),
                         "--profile", str(profiles[0]), env={"MINELEDGER_LOCK_TIMEOUT": "1"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "another writer held the store for 1 s; nothing was written" in result.stderr
    assert set(full.read_layer("hazards")["local_id"].dropna()) == {f"h-{i}" for i in range(5)}


# --- backup and restore, whatever the back end ---------------------------------------------

def test_backup_and_restore_on_either_back_end(full, store_at, tmp_path):
    """A backup is a verified GeoPackage of the whole store; it restores into a new store or,
    with --force, over one, on the same back end."""
    from mineledger import SourceError
    from mineledger.ledger.backup import backup_store, restore_store, verify_backup

    out = tmp_path / "b.gpkg"
    digest = backup_store(full, out)
    assert verify_backup(out) == digest
    assert (tmp_path / "b.gpkg.sha256").read_text().startswith(digest)
    target = store_at("restored")
    assert restore_store(out, target) == 0
    with open_store(target) as back:
        assert summary(back, "BIH")["hazards"] == summary(full, "BIH")["hazards"]
        assert len(back.read_table("change_log")) == len(full.read_table("change_log"))
    with pytest.raises(StoreError, match="pass --force"):
        restore_store(out, target)
    result = run_cli("--store", target, "restore", str(out), "--force")
    assert result.returncode == 0, result.stderr
    damaged = bytearray(out.read_bytes())
    damaged[5000] ^= 0xFF
    out.write_bytes(bytes(damaged))
    with pytest.raises(SourceError, match="does not match"):
        restore_store(out, target, force=True)


def test_a_nul_character_is_quarantined_alike_on_both_back_ends(store_at, tmp_path, profiles):
    """PostgreSQL text cannot hold NUL (\\x00); the row goes to quarantine naming the field,
    on either back end, and the other rows are stored."""
    path = tmp_path / "nul.csv"
    path.write_bytes(b'id,org,wkt\nn-1,HA\x00LO,"POLYGON((18 44, 18.1 44, 18.1 44.1, 18 44))"\n'
                     b'n-2,MAG,"POLYGON((19 44, 19.1 44, 19.1 44.1, 19 44))"\n')
    with open_store(store_at("nul")) as store:
        report = import_source(store, path, str(profiles[0]))
        assert (report.total("inserted"), report.total("quarantined")) == (1, 1)
        q = store.read_table("quarantine").iloc[0]
        assert q["field"] == "organisation" and "without NUL characters" in q["reason"]
        assert q["value"] == "HA\\x00LO"


def test_two_imports_into_a_new_store_at_once_both_land(store_at, tmp_path, profiles):
    """The first builds the store, the second waits and finds it built."""
    location = store_at("race")
    files = [hazards_file(tmp_path, f"race{i}", 3, start=i * 3) for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-m", "mineledger", "--store", location, "import",
                               str(f), "--profile", str(profiles[0])], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    with open_store(location) as store:
        assert len(store.read_layer("hazards")) == 6


def test_migrate_replaces_a_store_only_for_its_admin(full, store_at, tmp_path, profiles):
    """--force wipes a store: only an admin of that store may, as with restore --force."""
    from mineledger.access.users import put_user
    from mineledger.errors import PermissionDenied

    target = store_at("guarded")
    with open_store(target) as t:
        import_source(t, hazards_file(tmp_path, "g", 1), str(profiles[0]))
        put_user(t, "alice", "admin")
    with pytest.raises(PermissionDenied, match="'mallory' is not a user"):
        migrate_store(full, target, force=True, user="mallory")
    result = run_cli("--store", full.location, "--user", "mallory", "migrate", "--to", target,
                     "--force")
    assert result.returncode == 2 and "mallory" in result.stderr
    with open_store(target, user="alice") as t:
        assert t.read_layer("hazards")["local_id"].tolist() == ["g-0"]
    migrate_store(full, target, force=True, user="alice")


@pytest.mark.parametrize("target, message", [
    ("{tmp}", "is a folder; name a .gpkg file"),
    ("{tmp}/no/such/x.gpkg", "the folder {tmp}/no/such does not exist"),
    ("{tmp}/notes.gpkg", "not a GeoPackage/SQLite file"),
    ("mysql://u@h/db", "expected a postgresql:// URL or a .gpkg path"),
    ("{tmp}/busy.gpkg", "busy.gpkg.partial exists: another migration into"),
])
def test_migrate_refuses_bad_targets_in_one_line(full, tmp_path, target, message):
    (tmp_path / "notes.gpkg").write_text("not a store")
    (tmp_path / "busy.gpkg.partial").write_text("")
    target = target.format(tmp=tmp_path)
    result = run_cli("--store", full.location, "migrate", "--to", target, "--force")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message.format(tmp=tmp_path) in result.stderr
    assert (tmp_path / "notes.gpkg").read_text() == "not a store"


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-1", "1e30"])
def test_a_bad_lock_timeout_is_a_clear_error(full, tmp_path, profiles, value):
    with _hold(full.location, tmp_path):
        result = run_cli("--store", full.location, "import", str(hazards_file(tmp_path, "t", 1)),
                         "--profile", str(profiles[0]), env={"MINELEDGER_LOCK_TIMEOUT": value})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"MINELEDGER_LOCK_TIMEOUT={value!r}: expected a number of seconds" in result.stderr
