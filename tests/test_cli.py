"""The command line as a user meets it: documented, thin, and never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mineledger.cli import app
from tests.conftest import ROOT, cli_json, run_cli
from tests.test_import import GOOD, replace_field, victims_csv


def _commands():
    import typer.main

    group = typer.main.get_command(app)
    names = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            names += [f"{name} {sub}" for sub in cmd.commands]
        else:
            names.append(name)
    return sorted(names)


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented_in_the_readme(command):
    readme = (ROOT / "README.md").read_text()
    assert f"mineledger {command}" in readme, f"README.md does not document `mineledger {command}`"


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command):
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_readme_opens_with_the_two_setup_commands():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert re.findall(r"^make (\w+)", head, flags=re.M) == ["demo", "test"]


def test_import_summary_and_quarantine_through_the_cli(tmp_path, store_at):
    store = store_at("cli")
    path = victims_csv(tmp_path, GOOD, replace_field(GOOD, 12, "Muerto"), replace_field(GOOD, 7, "13"))
    result = run_cli("--store", store, "import", str(path), "--profile", "aicma-victims")
    assert result.returncode == 0, result.stderr
    assert "3 rows read: 2 inserted, 0 updated, 0 unchanged, 1 quarantined" in result.stdout
    assert "warning: 1 row(s) went to quarantine" in result.stderr
    assert "victims.csv, row 3: field 'month' (column 'mes'): got '13'" in result.stderr
    figures = cli_json("--store", store, "summary", "--country", "COL", "--format", "json")
    assert (figures["victims"]["count"], figures["victims"]["killed"]) == (2, 1)
    assert figures["quarantine"]["count"] == 1
    listed = cli_json("--store", store, "quarantine", "list", "--format", "json")
    assert listed[0]["source_locator"] == "row 3" and listed[0]["field"] == "month"
    assert cli_json("--store", store, "quarantine", "list", "--country", "XXA", "--format",
                    "json") == []  # --country acts


def test_store_from_environment_variable(tmp_path):
    store = str(tmp_path / "env.gpkg")
    path = victims_csv(tmp_path, GOOD)
    result = run_cli("import", str(path), "--profile", "aicma-victims", env={"MINELEDGER_STORE": store})
    assert result.returncode == 0, result.stderr
    assert Path(store).exists() and not (tmp_path / "mineledger.gpkg").exists()
    figures = cli_json("summary", "--country", "COL", "--format", "json",
                       env={"MINELEDGER_STORE": store})
    assert figures["victims"]["count"] == 1


def test_default_store_is_in_the_working_folder(tmp_path):
    path = victims_csv(tmp_path, GOOD)
    result = run_cli("import", str(path), "--profile", "aicma-victims", cwd=tmp_path,
                     env={"MINELEDGER_STORE": ""})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mineledger.gpkg").exists()


def test_strict_import_exits_2_and_writes_nothing(tmp_path, store_at):
    store = store_at("s")
    path = victims_csv(tmp_path, GOOD, replace_field(GOOD, 7, "13"))
    result = run_cli("--store", store, "import", str(path), "--profile", "aicma-victims", "--strict")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --strict: 1 row(s) would go to quarantine")
    if "://" in store:  # the database stays, with no import in it
        listed = run_cli("--store", store, "imports", "--format", "json")
        assert listed.stdout.strip() == "[]"
    else:  # a store file the failed import would have created is not left behind
        assert not Path(store).exists()


@pytest.mark.parametrize("args,message", [
    (["import", "/no/such/file.csv", "--profile", "aicma-victims"], "no such file or folder"),
    (["import", "{csv}", "--profile", "nope"], "no profile 'nope'"),
    (["import", "{csv}", "--profile", "aicma-victims", "--country", "co"], "expected an ISO 3166-1 alpha-3"),
    (["summary", "--country", "XXX"], "no records for country 'XXX'"),
    (["--store", "{missing}", "summary", "--country", "COL"], "no store here"),
    (["--store", "{textfile}", "layers"], "not a GeoPackage/SQLite file"),
    (["--store", "{folder}", "import", "{csv}", "--profile", "aicma-victims"], "a folder; expected a store file"),
    (["--store", "{folder}/no/such/s.gpkg", "import", "{csv}", "--profile", "aicma-victims"], "does not exist; create it first"),
    (["--store", "{emptyfile}", "layers"], "an empty file, not a store"),
    (["report", "--country", "COL", "--out", "{textfile}"], "a file; expected a folder"),
    (["summary", "--country", "CO"], "expected an ISO 3166-1 alpha-3 code"),
])
def test_user_errors_are_one_line_with_exit_status_2(tmp_path, args, message):
    csv = victims_csv(tmp_path, GOOD)
    textfile = tmp_path / "t.gpkg"
    textfile.write_text("not a database")
    store = str(tmp_path / "e.gpkg")
    run_cli("--store", store, "import", str(csv), "--profile", "aicma-victims")
    (tmp_path / "empty.gpkg").write_bytes(b"")
    args = [a.format(csv=csv, missing=tmp_path / "absent.gpkg", textfile=textfile, folder=tmp_path,
                     emptyfile=tmp_path / "empty.gpkg") for a in args]
    if args[0] != "--store":
        args = ["--store", store, *args]
    result = run_cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_summary_table_shows_chosen_unit(real_store, bih_summary):
    distinct = bih_summary["hazards"]["distinct_area_m2"]
    km2 = run_cli("--store", real_store.location, "summary", "--country", "BIH")
    ha = run_cli("--store", real_store.location, "summary", "--country", "BIH", "--unit", "ha")
    assert "land of the records, distinct (km²)" in km2.stdout and f"{distinct / 1e6:,.2f}" in km2.stdout
    assert "land of the records, distinct (ha)" in ha.stdout and f"{distinct / 1e4:,.2f}" in ha.stdout
    # the ledger's words (IMAS 07.11) beside its figures; "suspected" only for what still is
    lines = km2.stdout.splitlines()
    assert any("remaining (still suspected)" in ln and "805.80" in ln for ln in lines)
    assert any("recorded (all land ever recorded)" in ln and "844.28" in ln for ln in lines)
    assert km2.stdout.count("suspected") == km2.stdout.count("still suspected") == 1


def test_summary_json_has_the_contract_keys(real_store):
    figures = cli_json("--store", real_store.location, "summary", "--country", "BIH", "--format", "json")
    for dotted in ["hazards.count", "hazards.without_geometry", "hazards.invalid_repaired",
                   "hazards.area_m2", "hazards.distinct_area_m2", "hazards.by_admin",
                   "cleared.count", "cleared.area_m2", "cleared.distinct_area_m2",
                   "victims.count", "victims.killed", "victims.injured", "victims.civilian",
                   "victims.minors", "victims.by_year", "events.count", "events.by_type",
                   "quarantine.count"]:
        node = figures
        for part in dotted.split("."):
            assert part in node, dotted
            node = node[part]
    assert set(figures["hazards"]["by_admin"][0]) == {"code", "name", "area_m2"}


def test_usage_errors_are_typers_not_tracebacks(tmp_path):
    for args in (["summary"], ["summary", "--country", "COL", "--format", "xml"], ["bogus"]):
        result = run_cli("--store", str(tmp_path / "u.gpkg"), *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "Error" in result.stderr


def test_file_names_with_brackets_are_printed_as_they_are(tmp_path, store_at):
    path = victims_csv(tmp_path, GOOD, name="a[red]x.csv")
    result = run_cli("--store", store_at("b"), "import", str(path), "--profile", "aicma-victims")
    assert result.returncode == 0, result.stderr
    assert "a[red]x.csv: 1 file, 1 rows read: 1 inserted" in result.stdout


def test_failed_import_does_not_create_a_store(tmp_path):
    store = tmp_path / "never.gpkg"
    result = run_cli("--store", str(store), "import", str(tmp_path / "absent.csv"), "--profile", "aicma-victims")
    assert result.returncode == 2 and not store.exists()
