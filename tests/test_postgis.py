"""The PostgreSQL/PostGIS back end on its own: clear errors, spatial work done in PostGIS
equal to the embedded store's, and many processes importing and querying at once."""

from __future__ import annotations

import json
from collections.abc import Mapping
import os
import subprocess
import sys

import psycopg
import pytest

from mineledger import StoreError, open_store, summary
from mineledger.land.admin_areas import count_by_admin, finest_level
from mineledger.ledger.migration import migrate_store
from mineledger.store import revisions
from tests.conftest import BACKENDS, PG_ADMIN, ROOT, run_cli
from tests.test_backends import PROFILE, hazards_file

pytestmark = pytest.mark.skipif("postgis" not in BACKENDS, reason="PostGIS back end not selected")


@pytest.fixture
def pg(databases):
    return databases.new()


# --- opening: what a user who mistyped something sees ----------------------------------------

def test_unreachable_server_missing_database_and_hidden_password(databases):
    base = PG_ADMIN.rsplit("/", 1)[0]
    with pytest.raises(StoreError, match=r"cannot open the store: .*is PostgreSQL running"):
        open_store("postgresql://ada:s3cret@127.0.0.1:1/mineledger")
    try:
        open_store(f"{base}/mltest_absent_db")
    except StoreError as exc:
        assert "does not exist; create it first: createdb" in str(exc)
    else:
        pytest.fail("a missing database was not refused")
    result = run_cli("--store", "postgresql://ada:s3cret@127.0.0.1:1/mineledger", "layers")
    assert result.returncode == 2 and "s3cret" not in result.stdout + result.stderr
    assert "postgresql://ada:***@127.0.0.1:1/mineledger" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(StoreError, match="name the database"):
        open_store("postgresql://127.0.0.1:5432")


def test_a_database_of_something_else_is_not_taken_over(pg):
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("CREATE TABLE payroll (id int)")
    with pytest.raises(StoreError, match=r"holds tables \(payroll\) but is not a mineledger store"):
        open_store(pg)
    with psycopg.connect(pg) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'hazards'").fetchone()[0] == 0


def test_an_empty_database_is_not_a_store_for_reading(pg):
    with pytest.raises(StoreError, match="an empty database, not a store"):
        open_store(pg, create=False)
    result = run_cli("--store", pg, "summary", "--country", "BIH")
    assert result.returncode == 2 and "an empty database, not a store" in result.stderr


def test_the_schema_is_postgis_with_gist_indexes_and_alembic(pg):
    open_store(pg).close()
    with psycopg.connect(pg) as conn:
        columns = dict(conn.execute(
            "SELECT f_table_name, type || ',' || srid FROM geometry_columns").fetchall())
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")}
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        fid = conn.execute("SELECT data_type FROM information_schema.columns "
                           "WHERE table_name = 'change_log' AND column_name = 'fid'").fetchone()[0]
    assert columns == {"hazards": "MULTIPOLYGON,4326", "cleared_areas": "MULTIPOLYGON,4326",
                       "activities": "POINT,4326", "events": "POINT,4326",
                       "victims": "POINT,4326", "devices": "POINT,4326",
                       "admin_areas": "MULTIPOLYGON,4326"}
    assert {f"ix_{t}_geom" for t in columns} <= indexes
    assert version == revisions.head() and fid == "bigint"


# --- spatial work pushed down --------------------------------------------------------------

@pytest.mark.realdata
def test_pushed_down_counts_equal_the_python_ones_on_the_real_data(real_store):
    """PostGIS finds the area of each point record (ST_Within, GiST) as Python does: the same
    counts by administrative area. (Land by area is computed cluster by cluster in Python on
    both back ends, one rule and one figure: a whole-layer ST_Union did not scale.)"""
    if not real_store.location.startswith("postgresql:"):
        pytest.skip("the PostGIS store's push-down")
    for country in ("BIH", "COL"):
        admin_all = real_store.read_layer("admin_areas", country)
        level = finest_level(admin_all)
        admin = admin_all[admin_all["level"] == level]
        for layer in ("events", "victims"):
            records = real_store.read_layer(layer, country)
            if not len(records):
                continue
            pushed = count_by_admin(records, admin,
                                    located=real_store.admin_of_points(layer, country, level))
            assert pushed == count_by_admin(records, admin), (country, layer)
    bih = summary(real_store, "BIH")["hazards"]
    assert round(bih["distinct_area_m2"] / 1e6, 2) == 806.94


@pytest.mark.realdata
def test_the_real_store_moved_to_the_other_back_end_gives_the_same_figures(real_store, tmp_path,
                                                                          databases):
    """migrate the whole real store (≈145,000 rows) to the other back end: every table
    verified, and every figure of both countries equal (areas to 0.1 %, counts exactly)."""
    other = str(tmp_path / "real.gpkg") if real_store.location.startswith("postgresql:") \
        else databases.new()
    report = migrate_store(real_store, other)
    assert {t.name: t.rows for t in report.tables}["hazards"] == 11068
    with open_store(other) as moved:
        for country in ("BIH", "COL"):
            a, b = summary(real_store, country), summary(moved, country)
            assert json.dumps(_counts(a)) == json.dumps(_counts(b)), country
            for part in ("hazards", "cleared"):
                assert a[part]["area_m2"] == pytest.approx(b[part]["area_m2"], rel=1e-9)
                assert a[part]["distinct_area_m2"] == pytest.approx(b[part]["distinct_area_m2"], rel=1e-3)
                for x, y in zip(a[part]["by_admin"], b[part]["by_admin"]):
                    assert x["code"] == y["code"]
                    assert x["area_m2"] == pytest.approx(y["area_m2"], rel=1e-3, abs=1.0)


def _counts(figures):
    """Every count of a summary (areas dropped)."""
    if isinstance(figures, Mapping):
        return {k: _counts(v) for k, v in figures.items()
                if k not in ("meta",) and "area" not in k}
    if isinstance(figures, list):
        return [_counts(v) for v in figures]
    return figures


# --- eight importers and sixteen queriers at once ------------------------------------------

IMPORTER = """
import sys
from mineledger import import_source, open_store
store = open_store(sys.argv[1], user="pytest")
report = import_source(store, sys.argv[2], sys.argv[3], user="pytest")
print(report.total("inserted"), report.total("quarantined"))
store.close()
"""

QUERIER = """
import os, sys, time
from mineledger import open_store, summary
from mineledger.errors import QueryError
store = open_store(sys.argv[1], create=False, user="pytest")
seen = []
deadline = time.monotonic() + 240
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    try:
        seen.append(summary(store, "BIH")["hazards"]["count"])
    except QueryError:  # no BIH record yet
        seen.append(0)
    seen.append(len(store.read_layer("hazards")))
print(" ".join(map(str, seen)))
store.close()
"""

PER_FILE = 40


def test_eight_importers_and_sixteen_queriers_at_once(pg, tmp_path):
    """No error, no lost update, identities intact, and no reader ever sees half an import."""
    (tmp_path / "h.yaml").write_text(PROFILE, encoding="utf-8")
    files = []
    for i in range(8):
        path = hazards_file(tmp_path, f"org{i}", PER_FILE, start=i * PER_FILE, org=f"ORG{i}")
        with open(path, "a", encoding="utf-8") as fh:  # one row without its key, quarantined
            fh.write(f',ORG{i},"POLYGON((18 44, 18.1 44, 18.1 44.1, 18 44))"\n')
        files.append(path)
    open_store(pg).close()
    done = tmp_path / "importers-done"
    env = {**os.environ, "MINELEDGER_LOCK_TIMEOUT": "300"}
    queriers = [subprocess.Popen([sys.executable, "-c", QUERIER, pg, str(done)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(16)]
    importers = [subprocess.Popen([sys.executable, "-c", IMPORTER, pg, str(f), str(tmp_path / "h.yaml")],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for f in files]
    everyone = importers + queriers
    try:
        results = [p.communicate(timeout=300) for p in importers]  # the hang guard
        done.touch()
        seen = [p.communicate(timeout=300) for p in queriers]
    except subprocess.TimeoutExpired:
        for p in everyone:
            p.kill()
        pytest.fail("importers or queriers hung (no result in 300 s)")
    for p, (out, err) in zip(importers, results):
        assert p.returncode == 0, err
        assert out.split() == [str(PER_FILE), "1"]
    counts = []
    for p, (out, err) in zip(queriers, seen):
        assert p.returncode == 0, err
        counts += [int(n) for n in out.split()]
    assert counts and all(n % PER_FILE == 0 for n in counts), sorted(set(counts))
    with open_store(pg, user="pytest") as store:
        hazards = store.read_layer("hazards")
        log = store.read_table("change_log")
        imports = store.read_table("imports")
        tx = store.read_table("transactions")
        quarantine = store.read_table("quarantine")
    assert len(hazards) == 8 * PER_FILE and hazards["uuid"].is_unique and hazards["fid"].is_unique
    assert sorted(hazards["local_id"]) == sorted(f"org{i}-{j}" for i in range(8)
                                                 for j in range(i * PER_FILE, (i + 1) * PER_FILE))
    assert (hazards.groupby("organisation").size() == PER_FILE).all()
    inserts = log[log["action"] == "insert"]
    assert len(inserts) == 8 * PER_FILE and set(inserts["record_uuid"]) == set(hazards["uuid"])
    assert len(imports) == 8 and (imports["inserted"] == PER_FILE).all()
    assert len(quarantine) == 8 and (quarantine["status"] == "open").all()
    assert tx["tx_id"].is_unique and tx["committed_at"].is_monotonic_increasing
    # every import's changes landed in one transaction
    assert (log.groupby("import_id")["tx_id"].nunique() == 1).all()


def test_the_same_database_spelt_otherwise_is_the_source_itself(pg):
    """localhost for 127.0.0.1, a password added: still the same database (a migration into
    itself would wait on its own locks for ever)."""
    open_store(pg).close()
    other = pg.replace("127.0.0.1", "localhost").replace("postgres@", "postgres:pw@")
    with open_store(pg) as store:
        with pytest.raises(StoreError, match="is the source store itself"):
            migrate_store(store, other, force=True)


def test_no_password_reaches_the_store_or_the_screen(pg, tmp_path):
    """Trust authentication ignores the password, so it can be given here."""
    from tests.test_backends import hazards_file as hz

    (tmp_path / "h.yaml").write_text(PROFILE, encoding="utf-8")
    url = pg.replace("postgres@", "postgres:Sup3rS3cret@") + "?connect_timeout=5"
    result = run_cli("--store", url, "import", str(hz(tmp_path, "p", 2)), "--profile",
                     str(tmp_path / "h.yaml"))
    assert result.returncode == 0, result.stderr
    shown = run_cli("--store", url, "imports", "list", "--format", "json").stdout
    with open_store(pg) as store:
        stored = " ".join(store.read_table("imports")["command"]) + " ".join(
            store.read_table("change_log")["command"].dropna())
    for text in (result.stdout + result.stderr, shown, stored):
        assert "Sup3rS3cret" not in text
    assert "postgres:***@" in stored


@pytest.mark.parametrize("url, message", [
    ("postgresql://postgres@127.0.0.1:abc/x", "not a PostgreSQL URL"),
    ("postgresql://postgres@127.0.0.1/x?bogus=1", 'invalid connection option "bogus"'),
    ("postgresql://postgres:pw@127.0.0.1/x?password=Sup3rS3cret", "does not exist"),
])
def test_malformed_urls_are_one_line_errors(url, message):
    result = run_cli("--store", url, "layers")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr and "Sup3rS3cret" not in result.stderr
