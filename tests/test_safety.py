"""Backups while others write, verified restores, and imports killed mid-way."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import psycopg
import pyogrio
import pytest
import shapely

from mineledger.errors import SourceError, StoreError
from mineledger.ledger.importer import import_source
from mineledger.ledger.backup import backup_store, restore_store, verify_backup
from mineledger import open_store
from tests.conftest import PG_ADMIN, run_cli

PROFILE = """
layer: events
country: COL
key: [id]
geometry: {x: lon, y: lat, crs: EPSG:4326}
fields:
  local_id: {column: id}
  event_type: {value: accident_ap_mine}
  killed: {column: k}
"""


def events_csv(folder, name: str, rows: int, start: int = 0):
    path = folder / name
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,lon,lat,k\n")
        for i in range(start, start + rows):
            fh.write(f"{name}-{i},{-75 + (i % 1000) / 1e4},{6 + (i // 1000) / 1e4},{i % 3}\n")
    return path


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "p.yaml").write_text(PROFILE, encoding="utf-8")
    return tmp_path


def test_backup_and_restore_round_trip(folder):
    with open_store(folder / "s.gpkg") as store:
        import_source(store, events_csv(folder / "data", "a.csv", 300), str(folder / "p.yaml"))
        digest = backup_store(store, folder / "b.gpkg")
    assert (folder / "b.gpkg.sha256").read_text() == f"{digest}  b.gpkg\n"
    assert verify_backup(folder / "b.gpkg") == digest
    restore_store(folder / "b.gpkg", folder / "r.gpkg")
    with open_store(folder / "r.gpkg", create=False) as back:
        assert len(back.read_layer("events")) == 300
        assert len(back.read_table("change_log")) == 300
    assert verify_backup(folder / "b.gpkg") == digest  # restoring does not change the backup


def test_a_damaged_backup_is_not_restored(folder):
    with open_store(folder / "s.gpkg") as store:
        import_source(store, events_csv(folder / "data", "a.csv", 50), str(folder / "p.yaml"))
        backup_store(store, folder / "b.gpkg")
    data = bytearray((folder / "b.gpkg").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "b.gpkg").write_bytes(bytes(data))
    with pytest.raises(SourceError, match="does not match b.gpkg.sha256 .*: the file changed or is damaged"):
        restore_store(folder / "b.gpkg", folder / "r.gpkg")
    assert not (folder / "r.gpkg").exists()
    (folder / "b.gpkg.sha256").unlink()
    with pytest.raises(SourceError, match="no checksum file b.gpkg.sha256 beside it"):
        restore_store(folder / "b.gpkg", folder / "r.gpkg")


def test_restore_replaces_a_store_only_when_told(folder):
    with open_store(folder / "s.gpkg") as store:
        import_source(store, events_csv(folder / "data", "a.csv", 10), str(folder / "p.yaml"))
        backup_store(store, folder / "b.gpkg")
        import_source(store, events_csv(folder / "data", "c.csv", 5), str(folder / "p.yaml"))
    with pytest.raises(StoreError, match="exists; pass --force"):
        restore_store(folder / "b.gpkg", folder / "s.gpkg")
    result = run_cli("--store", str(folder / "s.gpkg"), "restore", str(folder / "b.gpkg"), "--force")
    assert result.returncode == 0, result.stderr
    with open_store(folder / "s.gpkg", create=False) as store:
        assert len(store.read_layer("events")) == 10


def test_a_backup_taken_while_an_import_writes_is_consistent(folder):
    """A writer holds its transaction open (uncommitted rows) while the backup runs: the
    backup is the store as it stood before the writer, whole."""
    with open_store(folder / "s.gpkg") as store:
        import_source(store, events_csv(folder / "data", "a.csv", 100), str(folder / "p.yaml"))
    started, release = threading.Event(), threading.Event()

    def writer():
        con = sqlite3.connect(folder / "s.gpkg", isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO imports (import_id, profile) VALUES ('half-done', 'x')")
        started.set()
        release.wait(10)
        con.execute("ROLLBACK")
        con.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert started.wait(10)
        with open_store(folder / "s.gpkg", create=False) as store:
            backup_store(store, folder / "b.gpkg")
    finally:
        release.set()
        thread.join(10)
    con = sqlite3.connect(folder / "b.gpkg")
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 100
    assert con.execute("SELECT count(*) FROM imports WHERE import_id='half-done'").fetchone()[0] == 0
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_imports_killed_at_random_moments_leave_the_store_as_it_was(folder):
    """SIGKILL in the middle of an import, eight times at random (seeded) moments: every time
    the store opens, is intact, and holds exactly the imports that finished — their records
    and their change log entries, nothing of the killed ones."""
    rows = 6000
    store_path = folder / "s.gpkg"

    def start(path):
        return subprocess.Popen([sys.executable, "-m", "mineledger", "--store", str(store_path),
                                 "import", str(path), "--profile", str(folder / "p.yaml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    with open_store(store_path) as store:
        import_source(store, events_csv(folder / "data", "base.csv", 10), str(folder / "p.yaml"))
    clock = time.monotonic()  # how long a whole import takes here, start-up included
    assert start(events_csv(folder / "data", "whole.csv", rows)).wait(timeout=120) == 0
    whole = time.monotonic() - clock
    rng = random.Random(20261130)
    killed = 0
    for attempt in range(8):
        path = events_csv(folder / "data", f"f{attempt}.csv", rows)
        proc = start(path)
        time.sleep(rng.uniform(0.3, 0.95) * whole)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait(timeout=120)
        con = sqlite3.connect(store_path)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            finished = [r[0] for r in con.execute("SELECT source_file FROM imports")]
            events = con.execute("SELECT count(*) FROM events").fetchone()[0]
            log = con.execute("SELECT count(*) FROM change_log WHERE layer='events'").fetchone()[0]
            partial = con.execute("SELECT count(*) FROM events WHERE local_id LIKE ?",
                                  (f"f{attempt}.csv-%",)).fetchone()[0]
        finally:
            con.close()
        expected = 10 + rows * (len(finished) - 1)  # base.csv has 10 rows
        assert events == expected and log == expected, (attempt, finished)
        assert partial in (0, rows)  # all of this import, or none of it
    assert killed >= 3, "the imports finished before the kill: make them longer"


# --- files that are not stores, stores that cannot be written (issue 15, section 6) ------------

def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["sqlite", "gdal-geopackage", "text"])
def test_opening_a_file_that_is_not_a_store_leaves_it_byte_for_byte_untouched(tmp_path, kind):
    """It used to be switched to WAL (its header rewritten) before it was found not to be a
    store."""
    path = tmp_path / "other.gpkg"
    if kind == "sqlite":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        con.execute("INSERT INTO notes (text) VALUES ('keep me')")
        con.commit()
        con.close()
        expected = "a SQLite/GeoPackage file, but not a mineledger store"
    elif kind == "gdal-geopackage":
        gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(18.4, 43.8)], crs=4326)
        pyogrio.write_dataframe(gdf, path, layer="points", driver="GPKG")
        expected = "a SQLite/GeoPackage file, but not a mineledger store"
    else:
        path.write_text("minefield notes, not a database\n")
        expected = "not a GeoPackage/SQLite file; expected a mineledger store"
    before = _sha256(path)
    for create in (True, False):
        with pytest.raises(StoreError, match=expected):
            open_store(path, create=create)
    result = run_cli("--store", str(path), "summary", "--country", "BIH")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr
    assert _sha256(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["other.gpkg"]  # no -wal, no -shm


@pytest.fixture
def read_only_store(folder, monkeypatch):
    """A store copied into a folder that neither it nor its file can be written in (as root,
    for whom chmod stops nothing, the process is told so, as a read-only mount would)."""
    with open_store(folder / "s.gpkg") as store:
        import_source(store, events_csv(folder / "data", "a.csv", 30), str(folder / "p.yaml"))
    ro = folder / "ro"
    ro.mkdir()
    shutil.copyfile(folder / "s.gpkg", ro / "s.gpkg")
    os.chmod(ro / "s.gpkg", 0o444)
    os.chmod(ro, 0o555)
    if os.geteuid() == 0:
        real_access = os.access

        def access(path, mode, *args, **kwargs):
            if mode & os.W_OK and Path(path).resolve().is_relative_to(ro.resolve()):
                return False
            return real_access(path, mode, *args, **kwargs)
        monkeypatch.setattr(os, "access", access)
    yield ro / "s.gpkg"
    os.chmod(ro, 0o755)
    os.chmod(ro / "s.gpkg", 0o644)


def test_a_store_on_a_read_only_file_system_can_be_read(folder, read_only_store):
    from mineledger import summary
    from mineledger.ledger.export import export_layer
    from mineledger.ledger.history import layer_counts

    before = _sha256(read_only_store)
    with open_store(read_only_store, create=False) as session:
        assert summary(session, "COL").events.count == 30
        counts = {name: count for name, _, count, _ in layer_counts(session)}
        assert counts["events"] == 30 and counts["hazards"] == 0
        report = export_layer(session, "events", "csv", folder / "events.csv")
        assert report.records == 30
        with pytest.raises(StoreError, match="read-only here .*; it can be read, not changed"):
            import_source(session, events_csv(folder / "data", "b.csv", 5), str(folder / "p.yaml"))
    assert _sha256(read_only_store) == before
    assert [p.name for p in read_only_store.parent.iterdir()] == ["s.gpkg"]  # no -wal, -shm


def test_read_only_mode_can_be_asked_for(folder):
    """MINELEDGER_READ_ONLY=1 opens a store as on read-only media (a DVD, a read-only share,
    a mount the process cannot write): nothing is written beside it."""
    with open_store(folder / "s.gpkg") as store:
        import_source(store, events_csv(folder / "data", "a.csv", 30), str(folder / "p.yaml"))
    path = folder / "s.gpkg"
    before = _sha256(path)
    env = {"MINELEDGER_READ_ONLY": "1"}
    result = run_cli("--store", str(path), "summary", "--country", "COL", "--format", "json",
                     env=env)
    assert result.returncode == 0, result.stderr
    assert '"count": 30' in result.stdout
    assert run_cli("--store", str(path), "layers", env=env).returncode == 0
    result = run_cli("--store", str(path), "export", "events", "--format", "gpkg", "--out",
                     str(folder / "e.gpkg"), env=env)
    assert result.returncode == 0, result.stderr
    result = run_cli("--store", str(path), "import", str(events_csv(folder / "data", "b.csv", 5)),
                     "--profile", str(folder / "p.yaml"), env=env)
    assert result.returncode == 2 and "read-only here (MINELEDGER_READ_ONLY is set)" in result.stderr
    assert _sha256(path) == before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("s.gpkg")) == ["s.gpkg"]


# --- a full disk, and report folders (issue 15, section 6) -------------------------------------

@pytest.fixture
def small_store(folder, store_at):
    """A store (on each back end) holding 30 events of COL."""
    with open_store(store_at("small")) as store:
        import_source(store, events_csv(folder / "data", "a.csv", 30), str(folder / "p.yaml"))
        yield store


def _full_disk(monkeypatch, module, name):
    """Make ``module.name`` (a function that writes a file) write half its file and then
    find the disk full."""
    def half_written(*args, **kwargs):
        path = next(a for a in (*args, *kwargs.values()) if isinstance(a, Path))
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("half a")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(module, name, half_written)


def _one_line_from_the_cli(monkeypatch, capsys, *args) -> str:
    """Run the CLI in this process (so that monkeypatches hold); its stderr, which must be
    one line, after exit status 2."""
    from mineledger.cli import main

    monkeypatch.setattr(sys, "argv", ["mineledger", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_full_disk_during_backup_leaves_no_partial_file(folder, small_store, monkeypatch,
                                                          capsys):
    import pathlib

    real_write_text = pathlib.Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name.endswith(".sha256"):
            real_write_text(self, "half", encoding="utf-8")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, *args, **kwargs)
    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    out = folder / "backups" / "b.gpkg"
    out.parent.mkdir()
    with pytest.raises(SourceError) as refused:
        backup_store(small_store, out)
    assert str(refused.value) == (f"--out {out}: cannot write the backup: No space left on "
                                  "device; nothing was written")
    assert list(out.parent.iterdir()) == []
    line = _one_line_from_the_cli(monkeypatch, capsys, "--store", small_store.location,
                                  "backup", "--out", str(out))
    assert line == f"error: {refused.value}"
    assert list(out.parent.iterdir()) == []


def test_a_full_disk_during_report_leaves_no_partial_folder(folder, small_store, monkeypatch,
                                                            capsys):
    import mineledger.report.country as country_report
    from mineledger import write_report

    earlier = folder / "earlier"
    write_report(small_store, "COL", earlier)
    first = {p.name: p.read_bytes() for p in earlier.iterdir()}
    assert "index.html" in first
    _full_disk(monkeypatch, country_report, "_write_csv")
    out = folder / "reports" / "col"
    with pytest.raises(SourceError) as refused:
        write_report(small_store, "COL", out)
    assert str(refused.value) == (f"--out {out}: cannot write the report: No space left on "
                                  "device; nothing was written")
    assert list(out.parent.iterdir()) == []
    with pytest.raises(SourceError):
        write_report(small_store, "COL", earlier, overwrite=True)
    assert {p.name: p.read_bytes() for p in earlier.iterdir()} == first  # as it was
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no half report
    line = _one_line_from_the_cli(monkeypatch, capsys, "--store", small_store.location, "report",
                                  "--country", "COL", "--out", str(out))
    assert line == f"error: {refused.value}"


def test_report_out_refuses_a_folder_with_other_files_and_replaces_only_a_report(folder,
                                                                                 small_store):
    from mineledger import write_report

    out = folder / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    with pytest.raises(SourceError) as refused:
        write_report(small_store, "COL", out)
    assert str(refused.value) == (f"--out {out}: not empty (notes.txt); name a new or empty "
                                  "folder, or pass --overwrite to replace an earlier report")
    with pytest.raises(SourceError) as refused:
        write_report(small_store, "COL", out, overwrite=True)
    assert str(refused.value) == (f"--out {out}: holds notes.txt, which a report does not "
                                  "write; --overwrite replaces only the folder of an earlier "
                                  "report")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    empty = folder / "empty"
    empty.mkdir()
    empty.chmod(0o755)
    assert write_report(small_store, "COL", empty) == empty / "index.html"
    assert stat.S_IMODE(empty.stat().st_mode) == 0o755  # the folder's own, not mkdtemp's 0700
    fresh = folder / "fresh"
    write_report(small_store, "COL", fresh)
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o777 & ~mask
    (empty / "stale.csv").write_text("from an older report")
    with pytest.raises(SourceError, match="not empty"):
        write_report(small_store, "COL", empty)
    write_report(small_store, "COL", empty, overwrite=True)
    assert (empty / "index.html").is_file() and not (empty / "stale.csv").exists()
    result = run_cli("--store", small_store.location, "report", "--country", "COL", "--out",
                     str(empty))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    result = run_cli("--store", small_store.location, "report", "--country", "COL", "--out",
                     str(empty), "--overwrite")
    assert result.returncode == 0, result.stderr


def test_report_never_writes_through_a_symbolic_link(folder, small_store):
    from mineledger import write_report

    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    (folder / "link").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(SourceError) as refused:
        write_report(small_store, "COL", folder / "link", overwrite=True)
    assert str(refused.value) == (f"--out {folder / 'link'}: a symbolic link; a report is "
                                  "never written through one: name the folder itself")
    assert list(elsewhere.iterdir()) == []
    victim = folder / "precious.txt"
    victim.write_text("keep")
    out = folder / "r"
    write_report(small_store, "COL", out)
    (out / "index.html").unlink()
    (out / "index.html").symlink_to(victim)
    with pytest.raises(SourceError) as refused:
        write_report(small_store, "COL", out, overwrite=True)
    assert str(refused.value) == (f"--out {out}: index.html is a symbolic link; a report is "
                                  "never written through one")
    assert victim.read_text() == "keep"


def _postgis_only(backend):
    if backend != "postgis":
        pytest.skip("the PostgreSQL counterpart of a file test (the file test runs on gpkg)")


def test_a_database_that_is_not_a_store_is_left_as_it_was(backend, store_at):
    """The PostgreSQL counterpart of a file that is not a store: a database holding other
    tables is refused, and gets no mineledger table (nor PostGIS) added."""
    _postgis_only(backend)
    url = store_at("other")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP EXTENSION postgis")
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, text text)")
        conn.execute("INSERT INTO notes (text) VALUES ('keep me')")
    for create in (True, False):
        with pytest.raises(StoreError, match="holds tables \\(notes\\) but is not a mineledger "
                                             "store"):
            open_store(url, create=create)
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        extensions = [r[0] for r in conn.execute("SELECT extname FROM pg_extension")]
        rows = conn.execute("SELECT text FROM notes").fetchall()
    assert (tables, "postgis" in extensions, rows) == (["notes"], False, [("keep me",)])


def test_a_read_only_postgresql_store_can_be_read(backend, store_at, folder):
    """The PostgreSQL counterpart of a read-only file: a database in which every transaction
    is read-only (a hot standby, a read-only role) is read — summary, layers, export — and
    a write is refused in one line."""
    from mineledger import summary
    from mineledger.ledger.export import export_layer
    from mineledger.ledger.history import layer_counts

    _postgis_only(backend)
    url = store_at("ro")
    with open_store(url) as store:
        import_source(store, events_csv(folder / "data", "a.csv", 30), str(folder / "p.yaml"))
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    with open_store(url, create=False) as session:
        assert summary(session, "COL").events.count == 30
        assert {n: c for n, _, c, _ in layer_counts(session)}["events"] == 30
        assert export_layer(session, "events", "csv", folder / "e.csv").records == 30
        with pytest.raises(StoreError) as refused:
            import_source(session, events_csv(folder / "data", "b.csv", 5), str(folder / "p.yaml"))
    assert "read-only transaction" in str(refused.value) and "\n" not in str(refused.value)
