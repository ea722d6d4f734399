"""Backups while others write, verified restores, and imports killed mid-way."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from mineledger.errors import SourceError, StoreError
from mineledger.ledger.importer import import_source
from mineledger.ledger.backup import backup_store, restore_store, verify_backup
from mineledger import open_store
from tests.conftest import run_cli

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
