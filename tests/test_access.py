"""Users and roles: every forbidden action, for every role, is refused in the service layer —
and leaves the store as it was."""

from __future__ import annotations

import pytest

from mineledger.errors import QueryError
from tests.conftest import locate
from mineledger.victims import personal
from mineledger.access.users import put_user, set_setting
from mineledger.errors import PermissionDenied
from mineledger.ledger.export import export_layer
from mineledger.ledger.history import (import_rows, quarantine_rows, record_history,
                                         revert_import)
from mineledger.ledger.importer import import_source
from mineledger.land.landrelease import ledger
from mineledger.land.links import link_events
from mineledger.ledger.quality import mark_finding, run_checks
from mineledger.ledger.backup import backup_store
from mineledger.land.summary import summary
from mineledger.report import write_report
from mineledger import open_store
from tests.conftest import run_cli

EVENTS = """\
id,org,lat,lon
E1,HALO,6.2,-75.5
E2,MAG,6.3,-75.6
"""
VICTIMS = "id,year,name,lat,lon\nV1,2020,Juan Pérez,6.2,-75.5\n"
HAZARDS = 'id,wkt\nH1,"POLYGON ((-75.5 6.2, -75.49 6.2, -75.49 6.21, -75.5 6.2))"\n'
USERS = {"ada": ("admin", None, None), "olga": ("officer", "COL", None),
         "omar": ("operator", "COL", "HALO"), "vera": ("viewer", None, None),
         "pat": ("public", None, None)}


def _profile(tmp, name, text):
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def world(backend, databases, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("access")
    data = tmp / "data"
    data.mkdir()
    (data / "events.csv").write_text(EVENTS, encoding="utf-8")
    (data / "victims.csv").write_text(VICTIMS, encoding="utf-8")
    (data / "hazards.csv").write_text(HAZARDS, encoding="utf-8")
    (data / "halo.csv").write_text("id,org,lat,lon\nE9,HALO,6.4,-75.7\n", encoding="utf-8")
    (data / "mag.csv").write_text("id,org,lat,lon\nE8,MAG,6.4,-75.7\n", encoding="utf-8")
    profiles = {
        "events": _profile(tmp, "events.yaml", "layer: events\ncountry: COL\nkey: [id]\n"
                           "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n"
                           "  local_id: {column: id}\n  organisation: {column: org}\n"
                           "  event_type: {value: accident_ap_mine}\n"),
        "victims": _profile(tmp, "victims.yaml", "layer: victims\ncountry: COL\nkey: [id]\n"
                            "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n"
                            "  year: {column: year}\n  name: {column: name}\n"),
        "hazards": _profile(tmp, "hazards.yaml", "layer: hazards\ncountry: COL\nkey: [id]\n"
                            "geometry: {wkt: wkt, crs: EPSG:4326}\nfields:\n"
                            "  local_id: {column: id}\n  hazard_type: {value: SHA}\n"),
    }
    path = locate(backend, databases, tmp)("s")
    with open_store(path) as store:  # a one-person store: its user is admin
        ids = {name: import_source(store, data / f"{name}.csv", profiles[name]).files[0].import_id
               for name in ("events", "victims", "hazards")}
        put_user(store, "ada", "admin")
    with open_store(path, user="ada") as store:
        for name, (role, country, org) in USERS.items():
            put_user(store, name, role, country=country, organisation=org)
        run_checks(store, "COL")
        fp = store.read_table("quality_findings")["fingerprint"].iloc[0] \
            if len(store.read_table("quality_findings")) else None
        victim = store.read_layer("victims")["uuid"].iloc[0]
        event = store.read_layer("events")["uuid"].iloc[0]
    return {"path": path, "data": data, "profiles": profiles, "imports": ids, "finding": fp,
            "victim": victim, "event": event, "tmp": tmp}


ACTIONS = {
    "import its organisation's events": (
        lambda s, w: import_source(s, w["data"] / "halo.csv", w["profiles"]["events"]),
        {"ada", "olga", "omar"}),
    "import another organisation's events": (
        lambda s, w: import_source(s, w["data"] / "mag.csv", w["profiles"]["events"]),
        {"ada", "olga"}),
    "revert an import": (
        lambda s, w: revert_import(s, w["imports"]["hazards"], reason="x"), {"ada", "olga"}),
    "link events": (lambda s, w: link_events(s, "COL"), {"ada", "olga"}),
    "run the quality catalogue": (lambda s, w: run_checks(s, "COL"), {"ada", "olga"}),
    "mark a finding": (
        lambda s, w: mark_finding(s, w["finding"], "accepted", "ok"), {"ada", "olga"}),
    "read figures": (lambda s, w: summary(s, "COL"), set(USERS)),
    "read the land release ledger": (lambda s, w: ledger(s, "COL", "hazard"), set(USERS)),
    "write a report": (lambda s, w: write_report(s, "COL", w["tmp"] / "r"),
                       {"ada", "olga", "omar", "vera"}),
    "export records": (lambda s, w: export_layer(s, "events", "csv", w["tmp"] / "x.csv",
                                                 country="COL", overwrite=True),
                       {"ada", "olga", "omar", "vera"}),
    "export personal data": (
        lambda s, w: export_layer(s, "victims", "csv", w["tmp"] / "v.csv", country="COL",
                                  overwrite=True, personal=True, purpose="audit"), {"ada", "olga"}),
    "read history": (lambda s, w: record_history(s, w["event"]), {"ada", "olga", "omar", "vera"}),
    "list quarantine": (lambda s, w: quarantine_rows(s, "COL"), {"ada", "olga", "omar", "vera"}),
    "list imports": (lambda s, w: import_rows(s), {"ada", "olga", "omar", "vera"}),
    "read personal data": (lambda s, w: personal.read(s, [w["victim"]], purpose="audit"),
                           {"ada", "olga"}),
    "correct personal data": (
        lambda s, w: personal.correct(s, w["victim"], {"address": "x"}, reason="r"), {"ada", "olga"}),
    "erase personal data": (lambda s, w: personal.erase(s, w["victim"], reason="r"),
                            {"ada", "olga"}),
    "add a user": (lambda s, w: put_user(s, "new", "viewer"), {"ada"}),
    "set a setting": (lambda s, w: set_setting(s, "timezone", "UTC"), {"ada"}),
    "back up the store": (lambda s, w: backup_store(s, w["tmp"] / "never.gpkg"), {"ada"}),
    "read another country's figures": (lambda s, w: summary(s, "BIH"), {"ada", "vera", "pat"}),
}

FORBIDDEN = [(user, action) for action, (_, allowed) in ACTIONS.items()
             for user in USERS if user not in allowed]


@pytest.mark.parametrize("user, action", FORBIDDEN)
def test_every_forbidden_action_is_refused(world, user, action):
    call, _ = ACTIONS[action]
    with open_store(world["path"], create=False, user=user) as store:
        log = len(store.read_table("change_log"))
        access = len(store.read_table("personal_access_log"))
        with pytest.raises(PermissionDenied) as refusal:
            call(store, world)
        assert user in str(refusal.value) and USERS[user][0] in str(refusal.value)
        assert len(store.read_table("change_log")) == log
        assert len(store.read_table("personal_access_log")) == access
    assert not (world["tmp"] / "never.gpkg").exists()


def test_the_forbidden_table_covers_every_role():
    assert {u for u, _ in FORBIDDEN} == set(USERS) - {"ada"}  # an admin may do everything
    assert len(FORBIDDEN) == 48


@pytest.mark.parametrize("user", ["olga", "omar"])
def test_allowed_actions_work(world, user):
    with open_store(world["path"], create=False, user=user) as store:
        report = import_source(store, world["data"] / "halo.csv", world["profiles"]["events"])
        assert report.total("quarantined") == 0
        assert summary(store, "COL")["events"]["count"] >= 3


def test_a_stranger_cannot_act_once_the_store_has_users(world):
    with open_store(world["path"], create=False, user="mallory") as store:
        with pytest.raises(PermissionDenied, match="'mallory' is not a user of this store"):
            summary(store, "COL")
    result = run_cli("--store", str(world["path"]), "--user", "mallory", "summary", "--country", "COL")
    assert result.returncode == 2
    assert result.stderr.startswith("error: 'mallory' is not a user of this store")


def test_operators_read_only_their_own_records_when_the_country_says_so(world):
    with open_store(world["path"], create=False, user="ada") as store:
        set_setting(store, "operator_reads:COL", "own")
    try:
        with open_store(world["path"], create=False, user="omar") as store:
            text = export_layer(store, "events", "csv", world["tmp"] / "o.csv", country="COL",
                                overwrite=True).path.read_text()
            assert "HALO" in text and "MAG" not in text
    finally:
        with open_store(world["path"], create=False, user="ada") as store:
            set_setting(store, "operator_reads:COL", "all")


def test_user_management_checks_its_input(store_at, world, tmp_path):
    with open_store(world["path"], create=False, user="ada") as store:
        with pytest.raises(QueryError, match="--role 'boss'"):
            put_user(store, "x", "boss")
        with pytest.raises(QueryError, match="an officer works in one country: give --country"):
            put_user(store, "x", "officer")
        with pytest.raises(QueryError, match="give --organisation"):
            put_user(store, "x", "operator", country="COL")
    with open_store(store_at("solo")) as store:
        with pytest.raises(QueryError, match="the first user of a store must be an admin"):
            put_user(store, "x", "viewer")


def test_an_operator_cannot_overwrite_or_revert_another_organisations_records(world):
    hijack = world["data"] / "hijack.csv"
    hijack.write_text("id,org,lat,lon\nE2,HALO,6.9,-75.9\n", encoding="utf-8")  # MAG's E2
    with open_store(world["path"], create=False, user="omar") as store:
        before = store.read_layer("events").set_index("local_id").loc["E2"]
        with pytest.raises(PermissionDenied, match=r"may not change 1 record\(s\) of other "
                                                   r"organisations .* of MAG"):
            import_source(store, hijack, world["profiles"]["events"])
        after = store.read_layer("events").set_index("local_id").loc["E2"]
        assert (after["organisation"], after.geometry.wkt) == (before["organisation"], before.geometry.wkt)
        # the first import holds HALO's E1 and MAG's E2: not an operator's to revert
        with pytest.raises(PermissionDenied, match="only for its own organisation"):
            revert_import(store, world["imports"]["events"], reason="x")


def test_strangers_learn_nothing_from_lookups(world):
    with open_store(world["path"], create=False, user="pat") as store:
        with pytest.raises(PermissionDenied, match="may not read the history"):
            record_history(store, "%%%%%%%%")
        with pytest.raises(PermissionDenied, match="may not read victims' personal data"):
            personal.find_victim(store, world["victim"][:8])


def test_the_only_admin_cannot_be_demoted_or_removed(world):
    from mineledger.access.users import remove_user

    with open_store(world["path"], create=False, user="ada") as store:
        with pytest.raises(QueryError, match="ada is the store's only admin"):
            put_user(store, "ada", "viewer")
        with pytest.raises(QueryError, match="ada is the store's only admin"):
            remove_user(store, "ada")
