"""Shared fixtures: the real data in ../shared/data, and stores built from it."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from mineledger import import_source, open_store, summary

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MINELEDGER_DATA", ROOT.parent / "shared" / "data"))

#: Every file of SOURCES.md with the profile that imports it, in dependency-free order.
REAL_IMPORTS = [
    ("colombia/co_2018_MGN_DPTO_POLITICO.geojson", "dane-departments", None),
    ("colombia/co_2018_MGN_MPIO_POLITICO.geojson", "dane-municipalities", None),
    ("colombia/aicma_events_1990-2019", "aicma-events", None),
    ("colombia/Situacion_Victimas_Minas_Antipersonal_en_Colombia_20240103.csv", "aicma-victims", None),
    ("bih/geoBoundaries-BIH-ADM1.geojson", "geoboundaries", "BIH"),
    ("bih/geoBoundaries-BIH-ADM2.geojson", "geoboundaries", "BIH"),
    ("bih/geoBoundaries-BIH-ADM3.geojson", "geoboundaries", "BIH"),
    ("bih/suspect_areas_simplyfied.geojson", "bih-suspected-areas", None),
    ("bih/cleared_areas_simplyfied.geojson", "bih-cleared-areas", None),
    ("bih/incidents.geojson", "bih-incidents", None),
    ("bih/lifted_minefields.geojson", "bih-lifted-minefields", None),
]


#: The back ends every store test runs on: ``$MINELEDGER_TEST_BACKENDS`` (comma-separated),
#: default both. The PostgreSQL server is ``$MINELEDGER_TEST_PG`` (a URL of a database the
#: tests may connect to in order to create and drop throwaway ones).
BACKENDS = [b.strip() for b in os.environ.get("MINELEDGER_TEST_BACKENDS", "gpkg,postgis").split(",")
            if b.strip()]
PG_ADMIN = os.environ.get("MINELEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class Databases:
    """Throwaway PostgreSQL databases of this test run, each a copy of a template with PostGIS
    (0.1 s each); all dropped when the run ends."""

    def __init__(self):
        self.prefix = f"mltest_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self.made: list[str] = []
        self.counter = itertools.count(1)
        self.ready = False

    def _admin(self):
        try:
            return psycopg.connect(PG_ADMIN, autocommit=True)
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL at {PG_ADMIN} is not reachable ({exc}); start it (.ci/run "
                        "does), point MINELEDGER_TEST_PG at one, or run only the embedded back "
                        "end with MINELEDGER_TEST_BACKENDS=gpkg")

    def url(self, name: str) -> str:
        base = PG_ADMIN.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def _drop_stale(self, conn) -> None:
        """Drop the databases of earlier runs that were killed before they could."""
        for (name,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'mltest_%'"):
            pid = name.split("_")[1]
            if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def new(self) -> str:
        """The URL of a new empty database with PostGIS."""
        with self._admin() as conn:
            if not self.ready:
                self._drop_stale(conn)
                conn.execute(f"CREATE DATABASE {self.template}")
                with psycopg.connect(self.url(self.template), autocommit=True) as t:
                    t.execute("CREATE EXTENSION postgis")
                self.made.append(self.template)
                self.ready = True
            name = f"{self.prefix}_{next(self.counter)}"
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
            self.made.append(name)
        return self.url(name)

    def drop_all(self):
        if not self.made:
            return
        with self._admin() as conn:
            for name in reversed(self.made):
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()


@pytest.fixture(scope="session")
def databases():
    dbs = Databases()
    yield dbs
    dbs.drop_all()


def locate(backend, databases, folder: Path):
    """``store_at`` for a back end, for fixtures wider than one test."""
    def store_at(name: str = "s") -> str:
        if backend == "postgis":
            return databases.new()
        return str(folder / f"{name}.gpkg")
    return store_at


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    """The back end a store test runs on (``gpkg`` or ``postgis``); session-wide, so that a
    test using the real-data store and a new store has both on one back end."""
    return request.param


@pytest.fixture
def store_at(backend, databases, tmp_path):
    """``store_at(name)``: the location of a new, empty store on this test's back end: a
    GeoPackage path in ``tmp_path``, or the URL of a throwaway PostGIS database."""
    return locate(backend, databases, tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _keys_and_user_of_the_test_session(tmp_path_factory):
    """Store keys (personal data) in a throwaway folder, never in the home folder; act as the
    login user of a one-person store unless a test says otherwise."""
    os.environ["MINELEDGER_KEY_DIR"] = str(tmp_path_factory.mktemp("keys"))
    os.environ.pop("MINELEDGER_KEY_FILE", None)
    os.environ.pop("MINELEDGER_USER", None)
    yield


def real(rel: str) -> Path:
    """Path of a real data file; skips the test (naming the file) if it is absent."""
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"real data file {path} is absent")
    return path


@pytest.fixture(scope="session")
def real_store(backend, databases, tmp_path_factory):
    """A store holding every real file, imported once for the session on each back end."""
    for rel, _, _ in REAL_IMPORTS:
        real(rel)
    location = locate(backend, databases, tmp_path_factory.mktemp("real"))("real")
    store = open_store(location)
    reports = {}
    for rel, profile, country in REAL_IMPORTS:
        reports[rel] = import_source(store, DATA / rel, profile, country=country, user="pytest")
    store.reports = reports
    yield store
    store.close()


@pytest.fixture(scope="session")
def bih_summary(real_store):
    return summary(real_store, "BIH")


@pytest.fixture(scope="session")
def col_summary(real_store):
    return summary(real_store, "COL")


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m mineledger ARGS`` as a user would, capturing output."""
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "mineledger", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd)


def cli_json(*args: str, **kw):
    result = run_cli(*args, **kw)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
