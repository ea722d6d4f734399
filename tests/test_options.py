"""Every option of a figure command acts in every output format, or is refused with one line
naming it (ledger-truth §5): the test walks commands × formats × options, running each with
and without the option. Options are the command line's, whatever the back end: the walk runs
on the embedded store only (the figures' own tests run on both)."""

from __future__ import annotations

import json

import pytest
import shapely

from mineledger import import_source
from mineledger import open_store
from tests.conftest import run_cli
from tests.test_questions import AREAS, EVENTS, VICTIMS, _csv, _profile

HAZARDS = [  # id, date, category, status, box
    ("H1", "2005-05-01", "ap_mine", "open", (0.1, 1.1, 0.9, 1.9)),
    ("H2", "2010-05-01", "uxo", "open", (1.1, -0.9, 1.9, -0.1)),
]
OUTCOMES = [("O1", "H1", "2006-01-01", "cleared", "ap_mine", (0.1, 1.1, 0.5, 1.9))]


@pytest.fixture(scope="module")
def land(tmp_path_factory):
    """A small country (areas, events, victims, hazards, an outcome) in a GeoPackage."""
    tmp = tmp_path_factory.mktemp("options")
    data = tmp / "data"
    data.mkdir()
    (data / "SOURCES.md").write_text("test\n")
    rows = {
        "areas": (["code", "name", "parent", "level", "wkt"],
                  [(c, n, p or "", 1 if p is None else 2, '"' + shapely.box(*b).wkt + '"')
                   for c, n, p, b in AREAS]),
        "events": (["id", "year", "date", "type", "lon", "lat"], EVENTS),
        "victims": (["id", "year", "month", "outcome", "civilian", "age", "gender", "mun"],
                    VICTIMS),
        "hazards": (["id", "date", "cat", "status", "wkt"],
                    [(i, d, c, st, '"' + shapely.box(*b).wkt + '"') for i, d, c, st, b in HAZARDS]),
        "outcomes": (["id", "hazard", "date", "outcome", "cat", "wkt"],
                     [(i, h, d, o, c, '"' + shapely.box(*b).wkt + '"')
                      for i, h, d, o, c, b in OUTCOMES]),
    }
    common = "country: XXA\nkey: [id]\ngeometry: {wkt: wkt, crs: EPSG:4326}\nfields:\n" \
             "  local_id: {column: id}\n  eo_categories: {column: cat}\n"
    profiles = {
        "areas": "layer: admin_areas\ncountry: XXA\nkey: [code]\n"
                 "geometry: {wkt: wkt, crs: EPSG:4326}\nfields:\n  code: {column: code}\n"
                 "  name: {column: name}\n  parent_code: {column: parent}\n"
                 "  level: {column: level}\n",
        "events": "layer: events\ncountry: XXA\nkey: [id]\n"
                  "geometry: {x: lon, y: lat, crs: EPSG:4326}\nfields:\n"
                  "  local_id: {column: id}\n  year: {column: year}\n"
                  "  event_date: {column: date}\n  event_type: {column: type}\n",
        "victims": "layer: victims\ncountry: XXA\nkey: [id]\nfields:\n"
                   "  year: {column: year}\n  month: {column: month}\n"
                   "  outcome: {column: outcome}\n  civilian: {column: civilian}\n"
                   "  age_group: {column: age}\n  gender: {column: gender}\n"
                   "  admin_code: {column: mun}\n",
        "hazards": "layer: hazards\n" + common + "  date_of_information: {column: date}\n"
                   "  status: {column: status}\n  hazard_type: {value: CHA}\n",
        "outcomes": "layer: cleared_areas\n" + common + "  hazard_local_id: {column: hazard}\n"
                    "  date_released: {column: date}\n  outcome: {column: outcome}\n",
    }
    location = str(tmp / "options.gpkg")
    with open_store(location) as store:
        for name, (header, values) in rows.items():
            path = _csv(data / f"{name}.csv", header, values)
            report = import_source(store, path, _profile(tmp, name, profiles[name]))
            assert report.total("quarantined") == 0, name
    return location


FIGURES = {
    "summary": (["table", "json", "csv"],
                [["--unit", "ha"], ["--from", "2006"], ["--to", "2005"], ["--admin", "1"],
                 ["--type", "accident_uxo"], ["--category", "uxo"], ["--by", "year"],
                 ["--by", "admin1,year"], ["--sort", "events"], ["--top", "1"]]),
    "landrelease": (["table", "json", "csv"],
                    [["--unit", "ha"], ["--by", "admin1"], ["--by", "admin1,year"],
                     ["--from", "2006"], ["--to", "2005"], ["--admin", "2"],
                     ["--category", "uxo"], ["--sort", "remaining_m2"], ["--top", "1"]]),
}
#: Options that need another to act (given with it, both must act together).
NEEDS = {"--sort": ["--by", "admin2"], "--top": ["--by", "admin2"]}
MATRIX = [(cmd, fmt, opt) for cmd, (fmts, opts) in FIGURES.items() for fmt in fmts for opt in opts]


_PLAIN: dict[tuple, object] = {}


def _run(location, *args):
    return run_cli("--store", location, *args)


@pytest.fixture(autouse=True)
def _embedded_only(backend):
    if backend != "gpkg":
        pytest.skip("the command line's options, whatever the back end: walked once")


def _plain(location, base):
    if tuple(base) not in _PLAIN:
        _PLAIN[tuple(base)] = _run(location, *base)
    return _PLAIN[tuple(base)]


@pytest.mark.parametrize("command, fmt, option", MATRIX,
                         ids=[f"{c}-{f}-{' '.join(o)}" for c, f, o in MATRIX])
def test_every_option_acts_in_every_format_or_is_refused(land, command, fmt, option):
    base = [command, "--country", "XXA", "--format", fmt]
    if command == "summary" and option[0] in NEEDS:
        base += NEEDS[option[0]]
    plain, given = _plain(land, base), _run(land, *base, *option)
    if given.returncode == 2:
        lines = given.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), given.stderr
        assert "Traceback" not in given.stderr
        # refused for this option, or (the same line as without it) for the format itself
        assert option[0] in lines[0] or given.stderr == plain.stderr, given.stderr
        return
    assert given.returncode == 0, given.stderr
    if plain.returncode == 2:  # the option is what makes the command whole (csv needs --by)
        return
    assert given.stdout != plain.stdout, f"{option} changed nothing in {fmt}"


def test_units_name_the_fields_of_json_and_csv(land):
    for command in (["summary"], ["landrelease", "--by", "admin1"]):
        figures = _run(land, *command, "--country", "XXA", "--format", "json", "--unit", "km2")
        text = figures.stdout
        assert "_km2" in text and "_m2\"" not in text
        plain = _run(land, *command, "--country", "XXA", "--format", "json")
        assert "_m2" in plain.stdout and "_km2" not in plain.stdout
    csv = _run(land, "landrelease", "--country", "XXA", "--format", "csv", "--unit", "ha").stdout
    assert csv.splitlines()[0].startswith("area_code,area_name,recorded_ha,cancelled_ha")
    m2 = json.loads(_run(land, "landrelease", "--country", "XXA", "--format", "json").stdout)
    ha = json.loads(_run(land, "landrelease", "--country", "XXA", "--format", "json", "--unit",
                         "ha").stdout)
    assert ha[-1]["remaining_ha"] == pytest.approx(m2[-1]["remaining_m2"] / 1e4)


@pytest.mark.parametrize("fmt", ["table", "json", "html"])
def test_the_rule_list_in_every_format(land, fmt):
    listed = _run(land, "check", "--list", "--format", fmt)
    assert listed.returncode == 0, listed.stderr
    one = _run(land, "check", "--list", "--format", fmt, "--rule", "GEOM-MISSING")
    assert one.stdout != listed.stdout and "GEOM-MISSING" in one.stdout
    if fmt == "json":
        assert [r["id"] for r in json.loads(one.stdout)["rules"]] == ["GEOM-MISSING"]
    if fmt == "html":
        assert listed.stdout.startswith("<!DOCTYPE html>")
    refused = _run(land, "check", "--list", "--format", fmt, "--set", "min_area_m2=1")
    assert refused.returncode == 2 and "--set" in refused.stderr


def test_export_refuses_a_purpose_without_personal_data(land, tmp_path):
    result = _run(land, "export", "events", "--format", "csv", "--out", str(tmp_path / "e.csv"),
                  "--purpose", "audit")
    assert result.returncode == 2 and "--purpose goes with --personal" in result.stderr


#: The listing commands (their other options, each given a value that acts on ``land``).
LISTINGS = [
    (["changes", "--since", "2000-01-01"], [["--until", "2000-01-02"]]),
    (["areas", "list", "--country", "XXA"], [["--level", "2"]]),
    (["quarantine", "list"], []),  # nothing quarantined here: its options act in test_cli
    (["imports", "list"], []),
    (["users", "list"], []),
]
WALK = [(base, fmt, opt) for base, opts in LISTINGS for fmt in ("table", "json", "csv")
        for opt in [None, *opts]]


def _parses(fmt: str, text: str) -> None:
    """The output is what its format says: JSON that loads, CSV whose rows have the header's
    width, a table with a line at least."""
    import csv
    import io

    if fmt == "json":
        json.loads(text)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert not rows or all(len(r) == len(rows[0]) for r in rows), text
    else:
        assert text.strip(), "a table prints something, even to say it is empty"


@pytest.mark.parametrize("base, fmt, option", WALK,
                         ids=[f"{' '.join(b)}-{f}-{' '.join(o or ['plain'])}" for b, f, o in WALK])
def test_every_listing_in_every_format_and_its_options_act(land, base, fmt, option):
    plain = _plain(land, [*base, "--format", fmt])
    assert plain.returncode == 0, plain.stderr
    _parses(fmt, plain.stdout)
    if option is None:
        return
    given = _run(land, *base, "--format", fmt, *option)
    if given.returncode == 2:
        lines = given.stderr.strip().splitlines()
        assert len(lines) == 1 and option[0] in lines[0] and "Traceback" not in given.stderr
        return
    assert given.returncode == 0, given.stderr
    _parses(fmt, given.stdout)
    assert given.stdout != plain.stdout, f"{option} changed nothing in {fmt}"
