"""Shared fixtures: the real data in ../shared/data, and stores built from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
def real_store(tmp_path_factory):
    """A store holding every real file, imported once for the session."""
    for rel, _, _ in REAL_IMPORTS:
        real(rel)
    path = tmp_path_factory.mktemp("real") / "real.gpkg"
    store = open_store(path)
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
