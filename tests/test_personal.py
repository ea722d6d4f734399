"""Victims' personal data: encrypted at rest with a key outside the store, withheld from
quarantine, messages and default exports, read only by allowed roles with every access
recorded, correctable, and erasable for good."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mineledger.errors import StoreError
from mineledger.victims import personal
from mineledger.ledger.export import export_layer
from mineledger.ledger.importer import import_source
from mineledger import open_store
from mineledger.victims import crypto
from tests.conftest import run_cli

NAMES = ("Juan Pérez Quintero", "Ana Gómez Ruiz")
VICTIMS = f"""\
id,year,outcome,name,dob,address,notes,lat,lon,comment
1,2020,killed,{NAMES[0]},1980-02-03,Vereda La Ceiba,herded goats near the school,6.2,-75.5,told by his sister Rosa
2,2021,injured,{NAMES[1]},1999-12-31,,,6.3,-75.6,
3,2022,injured,Carlos Bad Row,31/12/1999,,,6.3,-75.6,
"""
PROFILE = """
layer: victims
country: COL
key: [id]
geometry: {x: lon, y: lat, crs: EPSG:4326}
fields:
  year: {column: year}
  outcome: {column: outcome}
  name: {column: name}
  date_of_birth: {column: dob}
  address: {column: address}
  personal_notes: {column: notes}
"""
SECRETS = [*NAMES, "Carlos Bad Row", "Vereda La Ceiba", "goats", "Rosa", "1980-02-03"]


@pytest.fixture
def world(tmp_path, store_at):
    data = tmp_path / "data"
    data.mkdir()
    (data / "v.csv").write_text(VICTIMS, encoding="utf-8")
    profile = tmp_path / "v.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    store = open_store(store_at("s"))
    report = import_source(store, data / "v.csv", str(profile))
    uuids = dict(zip(("1", "2"), store.read_layer("victims").sort_values("source_locator")["uuid"]))
    yield store, report, uuids, data / "v.csv", str(profile)
    store.close()


def _bytes_of_store(store) -> bytes:
    """Everything the store holds at rest: the GeoPackage file and its WAL, or a dump of the
    PostgreSQL database."""
    if not hasattr(store.store, "path"):
        dump = subprocess.run(["pg_dump", "--data-only", f"--dbname={store.location}"],
                              capture_output=True, check=True)
        return dump.stdout
    raw = store.store.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return b"".join(p.read_bytes() for p in store.store.path.parent.glob(store.store.path.name + "*"))


def test_the_store_file_holds_no_personal_data_in_plain_text(world):
    store, report, uuids, _, _ = world
    assert report.total("inserted") == 2
    blob = _bytes_of_store(store)
    for secret in SECRETS:
        assert secret.encode() not in blob, secret
    log = store.read_table("change_log")
    assert not any(secret in str(v) for secret in SECRETS for v in log["after"])
    victims = store.read_layer("victims")
    assert "name" not in victims.columns and victims["attributes"].isna().all()
    key = crypto.key_path(store.settings()["store_id"])
    assert key.is_file() and (not hasattr(store.store, "path") or store.store.path.parent not in key.parents)
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_quarantine_and_messages_withhold_personal_data(world):
    store, report, _, _, _ = world
    (q,) = report.files[0].quarantined
    assert q.field == "date_of_birth" and q.value is None
    assert "[personal data withheld], expected a date" in q.reason
    row = store.read_table("quarantine").iloc[0]
    assert row["raw"]["name"] == personal.WITHHELD and row["raw"]["comment"] == personal.WITHHELD
    assert row["raw"]["year"] == "2022"  # what is not a person's data stays, to fix the row


def test_allowed_roles_read_it_and_every_read_is_recorded(world):
    store, _, uuids, _, _ = world
    got = personal.read(store, [uuids["1"]], purpose="case review 17")
    assert got[uuids["1"]] == {"name": NAMES[0], "date_of_birth": "1980-02-03",
                               "address": "Vereda La Ceiba",
                               "personal_notes": "herded goats near the school",
                               "attributes": {"comment": "told by his sister Rosa"}}
    log = store.read_table("personal_access_log")
    assert (log.iloc[-1]["record_uuid"], log.iloc[-1]["action"], log.iloc[-1]["purpose"]) == (
        uuids["1"], "read", "case review 17")


def test_a_correction_is_recorded_encrypted(world):
    store, _, uuids, _, _ = world
    personal.correct(store, uuids["2"], {"address": "Calle 5 # 3-20", "name": "Ana Gómez Ruíz"},
                     reason="family letter 2024-05")
    got = personal.read(store, [uuids["2"]], purpose="check")[uuids["2"]]
    assert (got["name"], got["address"]) == ("Ana Gómez Ruíz", "Calle 5 # 3-20")
    entries = [e for e in store.read_changes(record_uuid=uuids["2"]) if e["layer"] == "victim_personal"]
    assert [e["action"] for e in entries] == ["insert", "update"]
    assert entries[1]["reason"] == "correction: family letter 2024-05"
    assert b"Calle 5" not in _bytes_of_store(store)


def test_erasure_destroys_the_key_and_is_recorded(world):
    store, _, uuids, source, profile = world
    old = store.personal([uuids["1"]])[uuids["1"]]
    assert personal.erase(store, uuids["1"], reason="request 2025/44 (Art. 17)")
    assert personal.read(store, [uuids["1"]], purpose="after erasure") == {}
    assert store.personal([uuids["1"]]) == {uuids["1"]: {"key_id": "erased", "ciphertext": b""}}
    # the change log still has the old ciphertext, and nothing can open it any more
    with store.writer(user="t", command="t") as w:
        assert w.person_key(old["key_id"]) is None
    entries = [e for e in store.read_changes(record_uuid=uuids["1"]) if e["layer"] == "victim_personal"]
    assert entries[-1]["action"] == "erase" and entries[-1]["reason"] == "request 2025/44 (Art. 17)"
    assert "ciphertext" in entries[0]["after"]
    # the victim stays counted; only the person's data is gone
    assert len(store.read_layer("victims")) == 2


def test_default_exports_leave_it_out_and_personal_exports_are_recorded(world, tmp_path):
    store, _, uuids, _, _ = world
    out = tmp_path / "v.csv"
    export_layer(store, "victims", "csv", out)
    text = out.read_text()
    assert not any(s in text for s in SECRETS) and ",name," not in text
    out2 = tmp_path / "vp.csv"
    report = export_layer(store, "victims", "csv", out2, personal=True, purpose="handover to MoH")
    assert NAMES[0] in out2.read_text() and "1980-02-03" in out2.read_text()
    assert "personal data of 2 victim(s) included" in report.notes[0]
    log = store.read_table("personal_access_log")
    assert set(log[log["action"] == "export"]["record_uuid"]) == set(uuids.values())


def test_a_copy_of_the_store_without_its_key_shows_nothing(world, tmp_path, monkeypatch, backend):
    if backend == "postgis":
        pytest.skip("copies a GeoPackage file")
    store, _, uuids, _, _ = world
    _bytes_of_store(store)
    copy = tmp_path / "elsewhere" / "copy.gpkg"
    copy.parent.mkdir()
    shutil.copy(store.store.path, copy)
    monkeypatch.setenv("MINELEDGER_KEY_DIR", str(tmp_path / "no-keys-here"))
    with open_store(copy, create=False) as other:
        with pytest.raises(StoreError, match="no key for this store's personal data"):
            personal.read(other, [uuids["1"]], purpose="curious")


def test_reimporting_the_same_source_changes_nothing(world):
    store, _, _, source, profile = world
    entries = len(store.read_table("change_log"))
    report = import_source(store, source, profile)
    assert (report.total("unchanged"), report.total("inserted"), report.total("updated")) == (2, 0, 0)
    assert len(store.read_table("change_log")) == entries


def test_the_cli_shows_corrects_and_erases(world, tmp_path):
    store, _, uuids, _, _ = world
    path = store.location
    result = run_cli("--store", path, "victims", "show", uuids["1"][:8], "--purpose", "review")
    assert result.returncode == 0 and NAMES[0] in result.stdout
    result = run_cli("--store", path, "victims", "correct", uuids["1"][:8], "--set",
                     "date_of_birth=1980-02-04", "--reason", "registry")
    assert result.returncode == 0, result.stderr
    result = run_cli("--store", path, "victims", "erase", uuids["1"][:8], "--reason", "request 7")
    assert result.returncode == 0 and "personal data erased" in result.stdout
    result = run_cli("--store", path, "victims", "show", uuids["1"][:8], "--purpose", "again")
    assert "no personal data (none recorded, or erased)" in result.stdout
    result = run_cli("--store", path, "import", str(tmp_path / "data" / "v.csv"), "--profile",
                     str(tmp_path / "v.yaml"))
    assert "Carlos" not in result.stdout + result.stderr


def test_an_erasure_sticks_through_reimports_and_restores(world, tmp_path, backend):
    if backend == "postgis":
        pytest.skip("backup and restore of a GeoPackage file")
    store, _, uuids, source, profile = world
    from mineledger.ledger.backup import backup_store, restore_store

    backup_store(store, tmp_path / "before.gpkg")
    assert personal.erase(store, uuids["1"], reason="request 9")
    changed = source.read_text().replace("herded goats", "herded sheep")
    source.write_text(changed, encoding="utf-8")
    report = import_source(store, source, profile)  # the row changed: the record updates …
    assert report.total("updated") == 1
    assert personal.read(store, [uuids["1"]], purpose="check") == {}  # … its person stays erased
    store.close()
    again = restore_store(tmp_path / "before.gpkg", store.store.path, force=True)
    assert again == 1  # the backup predates the erasure: it is applied again
    with open_store(store.store.path, create=False) as back:
        assert personal.read(back, [uuids["1"]], purpose="check") == {}
        assert personal.read(back, [uuids["2"]], purpose="check")[uuids["2"]]["name"] == NAMES[1]


def test_personal_columns_cannot_be_keys(tmp_path):
    from mineledger.errors import ProfileError
    from mineledger.io.profiles import load_profile

    path = tmp_path / "k.yaml"
    path.write_text(PROFILE.replace("key: [id]", "key: [name, dob]"), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"key column\(s\) \['dob', 'name'\] hold personal data"):
        load_profile(path)


def test_reverting_a_victims_import_takes_its_personal_data_with_it(world):
    store, report, uuids, source, profile = world
    from mineledger.ledger.history import revert_import

    source.write_text(source.read_text().replace(NAMES[1], "Ana Renamed"), encoding="utf-8")
    second = import_source(store, source, profile).files[0].import_id
    assert personal.read(store, [uuids["2"]], purpose="c")[uuids["2"]]["name"] == "Ana Renamed"
    revert_import(store, second, reason="wrong file")
    assert personal.read(store, [uuids["2"]], purpose="c")[uuids["2"]]["name"] == NAMES[1]
    revert_import(store, report.files[0].import_id, reason="all wrong")
    assert store.read_layer("victims").empty
    assert store.personal(list(uuids.values())) == {}
    with store.writer(user="t", command="t") as w:
        assert not w.has_person_keys()


def test_a_second_store_key_is_never_made(world, tmp_path, monkeypatch):
    store, _, _, source, profile = world
    monkeypatch.setenv("MINELEDGER_KEY_DIR", str(tmp_path / "elsewhere"))
    source.write_text(source.read_text().replace(NAMES[1], "Ana Otra"), encoding="utf-8")
    with pytest.raises(StoreError, match="no key for this store's personal data"):
        import_source(store, source, profile)
    assert not (tmp_path / "elsewhere").exists()
