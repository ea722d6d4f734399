"""Questions an officer asks, answered by one command each (ledger-truth §4): figures of a
selection and by group, the most contaminated areas, the areas' codes, what changed in a
window, and undoing a link run so that an import it touched can be undone."""

from __future__ import annotations

import json

import pytest
import shapely

from mineledger import import_source, open_store
from mineledger.errors import QueryError
from mineledger.land.breakdown import breakdown
from mineledger.land.landrelease import ledger
from mineledger.land.links import link_events
from mineledger.land.summary import summary
from mineledger.ledger.history import changes, import_rows, revert_import, revert_link
from mineledger.ledger.selection import Selection
from tests.conftest import cli_json, run_cli
from tests.test_lifecycle import HAZARD_COLS, SQ, hazard, write

#: Two departments (level 1) of two municipalities each (level 2), codes DANE-like.
AREAS = [("1", "North", None, (0, 1, 2, 2)), ("2", "South", None, (0, -1, 2, 1)),
         ("101", "N-West", "1", (0, 1, 1, 2)), ("102", "N-East", "1", (1, 1, 2, 2)),
         ("201", "S-West", "2", (0, -1, 1, 1)), ("202", "S-East", "2", (1, -1, 2, 1))]
EVENTS = [  # id, year, date, type, lon, lat
    ("E1", 2005, "2005-03-01", "accident_ap_mine", 0.5, 1.5),
    ("E2", 2005, "", "accident_ap_mine", 1.5, 1.5),
    ("E3", 2006, "2006-07-01", "accident_uxo", 0.5, 0.5),
    ("E4", 2010, "2010-01-01", "accident_ap_mine", 1.5, 0.5),
    ("E5", 2011, "2011-01-01", "accident_ap_mine", 1.5, 0.5),
]
VICTIMS = [  # id, year, month, outcome, civilian, age, gender, municipality
    ("V1", 2005, 3, "killed", "true", "adult", "male", "101"),
    ("V2", 2005, 3, "injured", "true", "minor", "female", "101"),
    ("V3", 2005, 8, "injured", "false", "adult", "male", "102"),
    ("V4", 2006, 7, "killed", "false", "adult", "male", "201"),
    ("V5", 2010, 1, "injured", "true", "minor", "male", "202"),
]


def _csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n",
                    encoding="utf-8")
    return path


def _profile(folder, name, text):
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def country(store_at, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "SOURCES.md").write_text("test\n")
    areas = _csv(data / "areas.csv", ["code", "name", "parent", "level", "wkt"],
                 [(c, n, p or "", 1 if p is None else 2,
                   '"' + shapely.box(*b).wkt + '"') for c, n, p, b in AREAS])
    events = _csv(data / "events.csv", ["id", "year", "date", "type", "lon", "lat"], EVENTS)
    victims = _csv(data / "victims.csv", ["id", "year", "month", "outcome", "civilian", "age",
                                          "gender", "mun"], VICTIMS)
    p_areas = _profile(tmp_path, "areas", "layer: admin_areas\ncountry: XXA\nkey: [code]\n"
                       "geometry: {wkt: wkt, crs: EPSG:4326}\nfields:\n  code: {column: code}\n"
                       "  name: {column: name}\n  parent_code: {column: parent}\n"
                       "  level: {column: level}\n")
    p_events = _profile(tmp_path, "events", "layer: events\ncountry: XXA\nkey: [id]\n"
                        "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n"
                        "  local_id: {column: id}\n  year: {column: year}\n"
                        "  event_date: {column: date}\n  event_type: {column: type}\n")
    p_victims = _profile(tmp_path, "victims", "layer: victims\ncountry: XXA\nkey: [id]\nfields:\n"
                         "  year: {column: year}\n  month: {column: month}\n"
                         "  outcome: {column: outcome}\n  civilian: {column: civilian}\n"
                         "  age_group: {column: age}\n  gender: {column: gender}\n"
                         "  admin_code: {column: mun}\n")
    location = store_at("officer")
    with open_store(location) as store:
        for path, profile in ((areas, p_areas), (events, p_events), (victims, p_victims)):
            assert import_source(store, path, profile).total("quarantined") == 0
        yield store, location


def test_victims_in_one_year_by_civilian_and_minor_status(country):
    store, location = country
    (row, total) = breakdown(store, "XXA", ["year"], Selection.of("2005", "2005"))
    assert row.to_dict() == {**total.to_dict(), "year": "2005"}
    assert (row.casualties, row.killed, row.injured, row.civilian, row.military, row.minors,
            row.female, row.male, row.events) == (3, 1, 2, 2, 1, 1, 1, 2, 2)
    assert row.source == "victim records"
    figures = summary(store, "XXA", Selection.of("2005-01-01", "2005-12-31"))
    assert (figures.victims.count, figures.victims.civilian, figures.victims.minors) == (3, 2, 1)
    assert figures.events.count == 2 and figures.meta.selection == {"from": "2005-01-01",
                                                                    "to": "2005-12-31"}
    rows = cli_json("--store", location, "summary", "--country", "XXA", "--from", "2005",
                    "--to", "2005", "--by", "year", "--format", "json")
    assert rows[0]["civilian"] == 2 and rows[0]["minors"] == 1


def test_ap_mine_accidents_per_department_in_a_decade(country):
    store, location = country
    rows = breakdown(store, "XXA", ["admin1"], Selection.of("2000", "2010",
                                                            types=["accident_ap_mine"]),
                     sort="events")
    assert [(r.codes[0], r.names[0], r.events) for r in rows] == [
        ("1", "North", 2), ("2", "South", 1), ("total", None, 3)]  # E5 is of 2011
    # victim records carry no event type, and these events carry no counts: no source
    # (as the summary says), not zeros from "event counts"
    assert rows[0].source == "none"
    assert summary(store, "XXA", Selection.of(types=["accident_ap_mine"])).victims.source == "none"
    result = run_cli("--store", location, "summary", "--country", "XXA", "--type",
                     "accident_ap_mine", "--from", "2000", "--to", "2010", "--by", "admin1",
                     "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("1,North,2,")
    table = run_cli("--store", location, "summary", "--country", "XXA", "--type",
                    "accident_ap_mine", "--from", "2000", "--to", "2010", "--by", "admin1",
                    "--sort", "events")
    # "not recorded" (a narrow cell wraps it), not 0 killed
    assert table.returncode == 0 and "recorded" in table.stdout, table.stdout


def test_two_groupings_at_once_add_up_to_the_total(country):
    store, _ = country
    rows = breakdown(store, "XXA", ["admin2", "year"])
    by_key = {(r.codes[0], r.codes[1]): r for r in rows}
    assert by_key[("101", "2005")].casualties == 2 and by_key[("101", "2005")].names[0] == "N-West"
    assert by_key[("202", "2010")].minors == 1
    assert sum(r.casualties for r in rows[:-1]) == rows[-1].casualties == 5
    with pytest.raises(QueryError, match="one or two different"):
        breakdown(store, "XXA", ["year", "year"])
    with pytest.raises(QueryError, match="--sort 'nope'"):
        breakdown(store, "XXA", ["year"], sort="nope")


def test_a_selection_by_area_takes_the_areas_within(country):
    store, location = country
    figures = summary(store, "XXA", Selection.of(admin="1"))
    assert figures.victims.count == 3 and figures.events.count == 2  # 101, 102; E1, E2
    with pytest.raises(QueryError, match="--admin '9'"):
        summary(store, "XXA", Selection.of(admin="9"))
    listed = cli_json("--store", location, "areas", "list", "--country", "XXA", "--level", "2",
                      "--format", "json")
    assert [(a["code"], a["name"], a["parent_code"]) for a in listed] == [
        ("102", "N-East", "1"), ("101", "N-West", "1"), ("202", "S-East", "2"),
        ("201", "S-West", "2")]


def test_the_most_contaminated_areas(store_at, tmp_path):
    d = tmp_path / "rep"
    strips = [shapely.box(SQ.bounds[0] + i * 0.0003, SQ.bounds[1], SQ.bounds[0] + (i + 1) * 0.0003,
                          SQ.bounds[1] + 0.0003 * (i + 1)) for i in range(4)]
    with open_store(store_at("top")) as store:
        import_source(store, write(d, "hazards.csv", HAZARD_COLS,
                                   [hazard(f"H{i}", g) for i, g in enumerate(strips)]),
                      "completion-hazards")
        rows = ledger(store, "XKX", "hazard", sort="remaining_m2", top=2)
        assert [r.area_name for r in rows] == ["H3", "H2", None]
        assert rows[0].remaining_m2 > rows[1].remaining_m2
        # the total is the strips' union measured whole, the rows each strip: 30 m strips
        # measured in the local equal-area projection add up to 1.3e-8 (1e-9 with Karney's)
        assert rows[-1].area_code == "total" and rows[-1].remaining_m2 == pytest.approx(
            sum(r.remaining_m2 for r in ledger(store, "XKX", "hazard")[:-1]), rel=1e-7)


def test_a_link_run_is_reverted_then_the_import_it_touched(store_at, tmp_path):
    d = tmp_path / "rep"
    with open_store(store_at("lnk")) as store:
        import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("H1")]),
                      "completion-hazards")
        centre = SQ.centroid
        events = _csv(d / "events.csv", ["id", "lon", "lat"], [("E1", centre.x, centre.y)])
        profile = _profile(tmp_path, "ev", "layer: events\ncountry: XKX\nkey: [id]\n"
                           "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n"
                           "  local_id: {column: id}\n  event_type: {value: mine_incident}\n")
        imported = import_source(store, events, profile).files[0].import_id
        counts = link_events(store, "XKX")
        assert counts["changed"] == 1 and counts["link_id"].startswith("link-")
        with pytest.raises(QueryError, match="changed later"):
            revert_import(store, imported, reason="wrong file")
        assert revert_link(store, counts["link_id"], reason="redo") == {"deleted": 0,
                                                                         "restored": 1}
        assert store.read_layer("events")["link_uuid"].isna().all()
        with pytest.raises(QueryError, match="reverted already"):
            revert_link(store, counts["link_id"], reason="again")
        assert revert_import(store, imported, reason="wrong file")["deleted"] == 1
        listed = import_rows(store)
        reverted = listed.set_index("import_id")["reverted_at"]
        assert reverted[imported] is not None
        kinds = [c["kind"] for c in changes(store, "2000-01-01")]
        assert kinds == ["import", "import", "link", "revert", "revert"]
        link_row = [c for c in changes(store, "2000-01-01") if c["kind"] == "link"][0]
        assert link_row["changed"] == {"events update": 1} and link_row["id"] == counts["link_id"]


def test_changes_in_a_window_through_the_cli(country):
    _, location = country
    rows = cli_json("--store", location, "changes", "--since", "2000-01-01", "--format", "json")
    assert [r["kind"] for r in rows] == ["import", "import", "import"]
    assert rows[0]["changed"] == {"admin_areas insert": 6}
    assert cli_json("--store", location, "changes", "--since", "2999-01-01", "--format",
                    "json") == []
    result = run_cli("--store", location, "changes", "--since", "yesterday")
    assert result.returncode == 2 and "--since 'yesterday'" in result.stderr
    listed = json.loads(run_cli("--store", location, "imports", "list", "--format",
                                "json").stdout)
    assert all(r["reverted_at"] is None for r in listed)


def test_reverting_an_import_unlinks_the_events_of_its_areas(store_at, tmp_path):
    d = tmp_path / "rep"
    with open_store(store_at("unl")) as store:
        hazards = import_source(store, write(d, "hazards.csv", HAZARD_COLS, [hazard("H1")]),
                                "completion-hazards").files[0].import_id
        centre = SQ.centroid
        events = _csv(d / "events.csv", ["id", "lon", "lat"], [("E1", centre.x, centre.y)])
        profile = _profile(tmp_path, "ev", "layer: events\ncountry: XKX\nkey: [id]\n"
                           "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n"
                           "  local_id: {column: id}\n  event_type: {value: mine_incident}\n")
        import_source(store, events, profile)
        link_events(store, "XKX")
        assert summary(store, "XKX").events.linked.in_hazard == 1
        assert revert_import(store, hazards, reason="wrong survey")["deleted"] == 1
        event = store.read_layer("events").iloc[0]
        assert event["link_uuid"] is None and event["link_layer"] is None
        linked = summary(store, "XKX").events.linked
        assert (linked.in_hazard, linked.unlinked) == (0, 1)


def _hazards_in(store, tmp_path, rows):
    """Hazards of XXA (id, WKT, EO categories) imported by a small profile."""
    path = _csv(tmp_path / "data" / "hazards.csv", ["id", "wkt", "cats"],
                [(i, '"' + w + '"', c) for i, w, c in rows])
    profile = _profile(tmp_path, "hz", "layer: hazards\ncountry: XXA\nkey: [id]\n"
                       "geometry: {wkt: wkt, crs: EPSG:4326}\nfields:\n"
                       "  local_id: {column: id}\n  status: {value: open}\n"
                       "  eo_categories: {column: cats}\n")
    assert import_source(store, path, profile).total("quarantined") == 0


def test_the_land_of_a_municipality_by_province_and_by_category(country, tmp_path):
    """--admin of a finer level than --by: the land inside the municipality, in the row of
    its province (it came out as no land at all); --category unknown selects the land whose
    records name no category, as --by category groups it."""
    store, location = country
    _hazards_in(store, tmp_path, [("H1", shapely.box(0.2, 1.2, 0.3, 1.3).wkt, ""),
                                  ("H2", shapely.box(1.2, 1.2, 1.3, 1.3).wkt, "ap_mine")])
    west = ledger(store, "XXA", "admin2", Selection.of(admin="101"))
    by_province = ledger(store, "XXA", "admin1", Selection.of(admin="101"))
    assert [r.area_code for r in by_province] == ["1", "unassigned", "total"]
    assert by_province[0].recorded_m2 == pytest.approx(west[-1].recorded_m2, rel=1e-9)
    assert by_province[0].recorded_m2 > 1e7  # about 0.1° × 0.1°
    whole = ledger(store, "XXA", "category")
    assert [r.area_code for r in whole] == ["ap_mine", "unknown", "total"]
    unknown = ledger(store, "XXA", "category", Selection.of(categories=["unknown"]))
    assert unknown[-1].recorded_m2 == pytest.approx(whole[1].recorded_m2, rel=1e-9)
    # JSON names a group by its grouping; the summary's total carries the columns alone
    by_cat = cli_json("--store", location, "landrelease", "--country", "XXA", "--by",
                      "category", "--format", "json")
    assert list(by_cat[0])[:2] == ["category", "recorded_m2"]
    by_hazard = cli_json("--store", location, "landrelease", "--country", "XXA", "--by",
                         "hazard", "--format", "json")
    assert [(r["hazard_local_id"]) for r in by_hazard] == ["H1", "H2", None]
    figures = cli_json("--store", location, "summary", "--country", "XXA", "--format", "json")
    assert list(figures["land_release"]) == ["recorded_m2", "cancelled_m2", "reduced_m2",
                                             "cleared_m2", "released_m2", "remaining_m2",
                                             "both_m2"]
    # --sort takes a column in the unit asked
    ha = run_cli("--store", location, "landrelease", "--country", "XXA", "--by", "hazard",
                 "--unit", "ha", "--sort", "remaining_ha", "--format", "csv")
    assert ha.returncode == 0, ha.stderr
    assert ha.stdout.splitlines()[0].startswith("hazard,hazard_local_id,recorded_ha")
    # what a selection leaves out is said, in every format (JSON: on stderr)
    for fmt in ("table", "json", "csv"):
        dated = run_cli("--store", location, "landrelease", "--country", "XXA", "--from",
                        "2000", "--format", fmt)
        said = dated.stdout if fmt == "table" else dated.stderr
        assert "note: 2 hazards record(s) with no date_of_information left out by " \
               "--from/--to" in said, (fmt, dated.stdout, dated.stderr)


def test_listings_say_what_they_cannot_do(country):
    """Options before a subcommand are refused, not ignored; a revert's time shows only on
    the import reverted (others said NaT)."""
    store, location = country
    before = run_cli("--store", location, "imports", "--format", "json", "list")
    assert before.returncode == 2 and "give it after" in before.stderr
    first = import_rows(store)["import_id"].iloc[0]
    revert_import(store, first, reason="test")
    listed = cli_json("--store", location, "imports", "list", "--format", "json")
    assert [r["reverted_at"] is not None for r in listed] == [True, False, False]
    assert "NaT" not in run_cli("--store", location, "imports").stdout
    rows = cli_json("--store", location, "summary", "--country", "XXA", "--by", "year",
                    "--format", "json")
    assert rows[0]["year"] == "2005" and rows[0]["as_of"]


def test_reverting_a_link_run_never_restores_a_link_to_an_area_that_is_gone(store_at, tmp_path):
    """A link run moved an event from a hazard nearby (H1) to one it lies in (H2); H1's import
    is then reverted; reverting the link run gives the event its earlier state, but not a
    link to H1, which no longer exists."""
    from tests.test_geo import metric_square

    d = tmp_path / "rep"
    east, centre_y = SQ.bounds[2], SQ.centroid.y
    spot = (east + 0.0005, centre_y)  # about 40 m east of H1
    h2 = metric_square(spot[0], spot[1], 20.0)
    with open_store(store_at("gone")) as store:
        first = import_source(store, write(d, "h1.csv", HAZARD_COLS, [hazard("H1")]),
                              "completion-hazards").files[0].import_id
        events = _csv(d / "events.csv", ["id", "lon", "lat"], [("E1", *spot)])
        profile = _profile(tmp_path, "ev", "layer: events\ncountry: XKX\nkey: [id]\n"
                           "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n"
                           "  local_id: {column: id}\n  event_type: {value: mine_incident}\n")
        import_source(store, events, profile)
        link_events(store, "XKX")
        uuids = store.read_layer("hazards").set_index("local_id")["uuid"]
        assert store.read_layer("events").iloc[0]["link_uuid"] == uuids["H1"]
        import_source(store, write(d, "h2.csv", HAZARD_COLS, [hazard("H2", h2)]),
                      "completion-hazards")
        moved = link_events(store, "XKX")
        h2_uuid = store.read_layer("hazards").set_index("local_id")["uuid"]["H2"]
        assert store.read_layer("events").iloc[0]["link_uuid"] == h2_uuid
        revert_import(store, first, reason="wrong survey")
        revert_link(store, moved["link_id"], reason="redo")
        event = store.read_layer("events").iloc[0]
        assert event["link_uuid"] is None and event["link_layer"] is None


def test_codes_that_would_merge_with_the_figures_own_rows_are_quarantined(store_at, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "SOURCES.md").write_text("test\n")
    areas = _csv(data / "areas.csv", ["code", "name", "level", "wkt", "org"],
                 [("total", "A", 1, '"' + shapely.box(0, 0, 1, 1).wkt + '"', ""),
                  ("Unassigned", "B", 1, '"' + shapely.box(1, 0, 2, 1).wkt + '"', ""),
                  ("C1", "C", 1, '"' + shapely.box(2, 0, 3, 1).wkt + '"', "Total")])
    profile = _profile(tmp_path, "areas", "layer: admin_areas\ncountry: XXA\nkey: [code]\n"
                       "geometry: {wkt: wkt, crs: EPSG:4326}\nfields:\n  code: {column: code}\n"
                       "  name: {column: name}\n  level: {column: level}\n"
                       "  organisation: {column: org}\n")
    with open_store(store_at("rsv")) as store:
        report = import_source(store, areas, profile)
        assert (report.total("inserted"), report.total("quarantined")) == (0, 3)
        reasons = list(store.read_table("quarantine")["reason"])
        assert all("the figures' own rows are so named" in r for r in reasons), reasons


def test_changes_show_a_country_bound_user_only_that_country(country):
    """A viewer of XXB sees none of XXA's imports (nor the edits of users, which carry no
    country); a window that ends before it starts is refused."""
    from mineledger.access.users import put_user

    store, location = country
    with open_store(location, user="ada") as admin:
        put_user(admin, "ada", "admin")
        put_user(admin, "vic", "viewer", country="XXB")
        put_user(admin, "val", "viewer", country="XXA")
    with open_store(location, create=False, user="vic") as other:
        assert changes(other, "2000-01-01") == []
    with open_store(location, create=False, user="val") as own:
        assert [c["kind"] for c in changes(own, "2000-01-01")] == ["import"] * 3
        with pytest.raises(QueryError, match="--until 2000-01-01 is before --since 2001-01-01"):
            changes(own, "2001-01-01", "2000-01-01")
