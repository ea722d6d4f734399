"""The ``mineledger`` command: a thin layer over the Python API.

Every command maps to one service call; errors that a user can cause
(:class:`~mineledger.errors.MineledgerError`) are printed as one clear line on stderr with exit
status 2, never as a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from contextlib import ExitStack, contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from sqlalchemy.exc import DBAPIError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from mineledger.errors import MineledgerError, QueryError, SourceError
from mineledger.io.profiles import builtin_profiles, load_profile
from mineledger.store import DEFAULT_STORE, open_store

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  help="mineledger: mine action accountability ledger (hazards, land release, "
                       "events, victims) in a GeoPackage file or a PostgreSQL/PostGIS database.")
quarantine_app = typer.Typer(no_args_is_help=True, help="Rows that were not stored, and why.")
app.add_typer(quarantine_app, name="quarantine")
check_app = typer.Typer(help="Data quality: run the rule catalogue, list it, mark findings.",
                        invoke_without_command=True)
app.add_typer(check_app, name="check")
imports_app = typer.Typer(help="The imports that ran: list them, show one, revert one.",
                          invoke_without_command=True)
app.add_typer(imports_app, name="imports")
users_app = typer.Typer(no_args_is_help=True, help="Users of the store and their roles (admin).")
app.add_typer(users_app, name="users")
settings_app = typer.Typer(no_args_is_help=True, help="Settings of the store (admin).")
app.add_typer(settings_app, name="settings")
victims_app = typer.Typer(no_args_is_help=True,
                          help="Victims' personal data: show, correct, erase (recorded).")
app.add_typer(victims_app, name="victims")
db_app = typer.Typer(no_args_is_help=True,
                     help="The store's schema: its revision, and upgrading it (Alembic).")
app.add_typer(db_app, name="db")
profile_app = typer.Typer(no_args_is_help=True,
                          help="Import profiles: draft one from a file, check one before importing.")
app.add_typer(profile_app, name="profile")

# Piped or captured output is not squeezed into 80 columns: tables of figures stay whole.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)


class State:
    store: str = DEFAULT_STORE
    user: str | None = None


state = State()


class SummaryFormat(str, Enum):
    json = "json"
    table = "table"


class AreaUnit(str, Enum):
    km2 = "km2"
    ha = "ha"
    m2 = "m2"


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


_UNIT = {"km2": (1e6, "km²"), "ha": (1e4, "ha"), "m2": (1.0, "m²")}


def _command_line() -> str:
    """The command as typed, for the change log, with any database password hidden."""
    from mineledger.store.postgis import hide_passwords

    return hide_passwords(" ".join(["mineledger", *sys.argv[1:]]))


@app.callback()
def main_options(
    store: Annotated[str, typer.Option(
        "--store", envvar="MINELEDGER_STORE", metavar="PATH|URL",
        help="The store: a .gpkg file (created on first import), or a PostgreSQL/PostGIS "
             "database, postgresql://user@host:5432/name. Default ./mineledger.gpkg, or "
             "$MINELEDGER_STORE.")] = DEFAULT_STORE,
    user: Annotated[Optional[str], typer.Option(
        "--user", envvar="MINELEDGER_USER", metavar="NAME",
        help="Act as this user of the store (its role decides what is allowed). Default: "
             "$MINELEDGER_USER, else the login name.")] = None,
):
    state.store = store
    state.user = user


@contextmanager
def _rich_progress(description: str, total: int):
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="A source file, or a folder of them.",
                                         metavar="PATH")],
    profile: Annotated[str, typer.Option(metavar="NAME", help="A built-in profile name (see `mineledger profiles`) "
                                              "or a profile .yaml file.")],
    country: Annotated[Optional[str], typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code for rows "
                                                        "that carry none.")] = None,
    strict: Annotated[bool, typer.Option(help="Fail, writing nothing, if any row would go to "
                                              "quarantine.")] = False,
):
    """Import a source into the store, in one transaction.

    Rows that cannot be accepted go to quarantine with the reason (exit status 0 with a
    warning; 2 with --strict). Importing the same source again changes no record.
    """
    from mineledger.ledger.importer import import_source

    loaded = load_profile(profile)  # refuse a bad profile or path before touching the store
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    with open_store(state.store, user=state.user) as store:
        report = import_source(store, path, loaded, country=country, strict=strict,
                               command=_command_line(),
                               progress=_rich_progress)
    files = len(report.files)
    out.print(f"{path}: {files} file{'s' if files != 1 else ''}, "
              f"{report.total('rows_read')} rows read: {report.total('inserted')} inserted, "
              f"{report.total('updated')} updated, {report.total('unchanged')} unchanged, "
              f"{report.total('quarantined')} quarantined", highlight=False, markup=False)
    if report.total("rows_read") == 0:
        err.print(f"warning: {path}: no rows or features to import", highlight=False, markup=False)
    for f in report.files:
        for note in f.notes:
            err.print(f"note: {note}", highlight=False, markup=False)
    flags: dict[str, int] = {}
    for f in report.files:
        for k, v in f.geometry_flags.items():
            flags[k] = flags.get(k, 0) + v
    if flags:
        out.print("  stored with flagged geometry: " +
                  ", ".join(f"{k} {v}" for k, v in sorted(flags.items())), highlight=False,
                  markup=False)
    if report.total("inserted") + report.total("updated"):
        from mineledger.ledger.quality import import_warnings

        with open_store(state.store, create=False, user=state.user) as store:
            countries = store.countries()
            warnings_found = import_warnings(store, {f.import_id for f in report.files}, countries)
        if warnings_found:
            err.print("quality: " + ", ".join(f"{k} {v:,}" for k, v in sorted(warnings_found.items()))
                      + " (details: mineledger check --country …)", highlight=False, markup=False)
    if report.total("quarantined"):
        err.print(f"warning: {report.total('quarantined')} row(s) went to quarantine "
                  f"(see `mineledger quarantine list`):", highlight=False, markup=False)
        shown = [q for f in report.files for q in f.quarantined][:10]
        for q in shown:
            err.print(f"  {q}", highlight=False, markup=False)


@app.command()
def summary(
    country: Annotated[str, typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")],
    format: Annotated[SummaryFormat, typer.Option(help="json or table.")] = SummaryFormat.table,
    unit: Annotated[AreaUnit, typer.Option(help="Area unit of the table format.")] = AreaUnit.km2,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="DATE|TIME", help="As the store "
                     "stood at the end of this day (store time zone) or at this UTC time.")] = None,
    information_as_of: Annotated[Optional[str], typer.Option("--information-as-of", metavar="DATE",
                                 help="As known by this date of information.")] = None,
):
    """Headline figures of a country: hazards, cleared land, victims, events, quarantine.

    JSON areas are always m² (geodesic, WGS 84); the table shows km², ha or m².
    """
    from mineledger.land.summary import summary as compute

    from mineledger.ledger.history import as_of as view

    with open_store(state.store, create=False, user=state.user) as store:
        figures = compute(view(store, as_of, information_as_of), country)
    if format == SummaryFormat.json:
        out.print_json(json.dumps(figures, ensure_ascii=False))
        return
    div, label = _UNIT[unit.value]
    h, c, v, e = figures["hazards"], figures["cleared"], figures["victims"], figures["events"]
    known = figures["meta"]["information_as_of"]
    table = Table(title=f"mineledger summary: {figures['country']}, as of "
                        f"{figures['meta']['as_of']}" + (f", information to {known}" if known else ""),
                  show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("hazardous areas", f"{h['count']:,}"),
        ("  without geometry", f"{h['without_geometry']:,}"),
        ("  invalid, repaired", f"{h['invalid_repaired']:,}"),
        (f"  area ({label})", f"{h['area_m2'] / div:,.2f}"),
        (f"  distinct area ({label})", f"{h['distinct_area_m2'] / div:,.2f}"),
        ("cleared areas", f"{c['count']:,}"),
        (f"  area ({label})", f"{c['area_m2'] / div:,.2f}"),
        (f"  distinct area ({label})", f"{c['distinct_area_m2'] / div:,.2f}"),
        ("victims", f"{v['count']:,}"),
        ("  killed", f"{v['killed']:,}"),
        ("  injured", f"{v['injured']:,}"),
        ("  civilian", f"{v['civilian']:,}"),
        ("  minors", f"{v['minors']:,}"),
        ("events", f"{e['count']:,}"),
        *[(f"  {k.replace('_', ' ')}", f"{n:,}") for k, n in e["by_type"].items()],
        ("quarantined rows", f"{figures['quarantine']['count']:,}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


@app.command()
def report(
    country: Annotated[str, typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")],
    out_dir: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder to write index.html and the "
                                                        "CSV tables into.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="DATE|TIME", help="As the store "
                     "stood at the end of this day (store time zone) or at this UTC time.")] = None,
    information_as_of: Annotated[Optional[str], typer.Option("--information-as-of", metavar="DATE",
                                 help="As known by this date of information.")] = None,
):
    """Write a self-contained HTML report (map, charts, per-area tables, sources) and CSVs."""
    from mineledger.report import write_report

    if out_dir.exists() and not out_dir.is_dir():
        raise QueryError(f"--out {out_dir}: a file; expected a folder (created if absent)")
    from mineledger.ledger.history import as_of as view

    with open_store(state.store, create=False, user=state.user) as store:
        index = write_report(view(store, as_of, information_as_of), country, out_dir)
    out.print(f"report written: {index}", highlight=False, markup=False)


@app.command()
def landrelease(
    country: Annotated[str, typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")],
    by: Annotated[str, typer.Option(metavar="GROUP", help="admin1, admin2, admin3, hazard, "
                                                          "organisation, category or year.")] = "admin2",
    format: Annotated[ListFormat, typer.Option(help="table, json or csv.")] = ListFormat.table,
    unit: Annotated[AreaUnit, typer.Option(help="Area unit of the table format.")] = AreaUnit.km2,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="DATE|TIME", help="As the store "
                     "stood at the end of this day (store time zone) or at this UTC time.")] = None,
    information_as_of: Annotated[Optional[str], typer.Option("--information-as-of", metavar="DATE",
                                 help="As known by this date of information.")] = None,
):
    """The land release ledger: suspected, cancelled, reduced, cleared, released, remaining
    and both (released yet still suspected), per group and in total.

    JSON and CSV areas are m² (geodesic, WGS 84); the table shows km², ha or m².
    """
    import pandas as pd

    from mineledger.land.landrelease import COLUMNS, ledger

    from mineledger.ledger.history import as_of as view, computed_as_of, instant_text

    with open_store(state.store, create=False, user=state.user) as store:
        snapshot = view(store, as_of, information_as_of)
        rows = ledger(snapshot, country, by)
        stamp = instant_text(computed_as_of(snapshot))
    if format != ListFormat.table:  # each row says the instant it stands for
        frame = pd.DataFrame(rows)
        frame["as_of"] = stamp
        if information_as_of:
            frame["information_as_of"] = information_as_of
        _print_frame(frame, format, "land release", empty="no land release")
        return
    div, label = _UNIT[unit.value]
    table = Table(title=f"land release: {country.upper()} by {by} ({label}), as of {stamp}"
                        + (f", information to {information_as_of}" if information_as_of else ""))
    table.add_column("area" if by.startswith("admin") else by, no_wrap=True, max_width=32)
    for col in COLUMNS:
        table.add_column(col.removesuffix("_m2"), justify="right")
    for r in rows:
        table.add_row(r["area_name"] or str(r["area_code"]),
                      *[f"{r[c] / div:,.2f}" for c in COLUMNS])
    out.print(table)


@app.command()
def link(
    country: Annotated[str, typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")],
    within: Annotated[float, typer.Option(metavar="METRES", help="Link an event outside every "
                                          "area to the nearest one within this distance.")] = 100.0,
):
    """Link events (incidents, lifted minefields …) to the hazardous or cleared area they fall
    in, or the nearest within --within metres; changes go through the change log."""
    from mineledger.land.links import link_events

    with open_store(state.store, create=False, user=state.user) as store:
        counts = link_events(store, country, within_m=within,
                             command=_command_line())
    out.print(f"{country.upper()}: {counts['events']:,} events: {counts['in_hazard']:,} in a "
              f"hazardous area, {counts['in_cleared']:,} in a cleared area, {counts['near']:,} "
              f"within {within:g} m of one, {counts['unlinked']:,} not linked "
              f"({counts['changed']:,} links changed)", highlight=False, markup=False)


class CheckFormat(str, Enum):
    table = "table"
    json = "json"
    html = "html"


@check_app.callback()
def check(
    ctx: typer.Context,
    country: Annotated[Optional[str], typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")] = None,
    rule: Annotated[Optional[list[str]], typer.Option("--rule", metavar="ID",
                                                      help="Run only this rule (repeatable).")] = None,
    format: Annotated[CheckFormat, typer.Option(help="table, json or html.")] = CheckFormat.table,
    list_: Annotated[bool, typer.Option("--list", help="List the rules and exit.")] = False,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="NAME=VALUE",
                    help="Override a threshold, e.g. --set min_area_m2=10 (see --list).")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="DATE|TIME", help="As the store "
                     "stood at the end of this day (store time zone) or at this UTC time.")] = None,
    information_as_of: Annotated[Optional[str], typer.Option("--information-as-of", metavar="DATE",
                                 help="As known by this date of information.")] = None,
):
    """Run the data quality catalogue on a country and store the findings.

    Findings keep the status a person gave them (`mineledger check mark`) on later runs.
    """
    if ctx.invoked_subcommand is not None:
        return
    from mineledger.ledger.quality import CATALOGUE

    from mineledger.ledger.quality.engine import DEFAULTS

    if list_:
        table = Table(title="data quality rules")
        for col in ("id", "severity", "description"):
            table.add_column(col)
        for r in CATALOGUE:
            table.add_row(r.id, r.severity, r.description)
        out.print(table)
        out.print("thresholds (--set NAME=VALUE): " + ", ".join(f"{k}={v:g}" for k, v in DEFAULTS.items()),
                  highlight=False)
        return
    params = {}
    for item in set_ or []:
        name, _, value = item.partition("=")
        if name not in DEFAULTS:
            raise QueryError(f"--set {item!r}: unknown threshold; expected one of {', '.join(DEFAULTS)}")
        try:
            params[name] = float(value)
        except ValueError:
            raise QueryError(f"--set {item!r}: expected a number after '='") from None
    if not country:
        raise QueryError("--country is required (or --list)")
    from mineledger.ledger.quality import run_checks

    from mineledger.ledger.history import as_of as view

    with open_store(state.store, create=False, user=state.user) as store:
        findings = run_checks(view(store, as_of, information_as_of), country, rule or None,
                              params=params, command=_command_line())
    cols = ["fingerprint", "rule_id", "severity", "layer", "record_uuid", "reason",
            "suggested_fix", "status", "status_reason"]
    rows = [{c: f.get(c) for c in cols} for f in findings]
    if format == CheckFormat.json:
        out.print_json(json.dumps(rows, ensure_ascii=False, default=str))
    elif format == CheckFormat.html:
        from jinja2 import Environment

        env = Environment(autoescape=True)
        page = env.from_string(
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>mineledger check {{ c }}"
            "</title></head><body><h1>Data quality: {{ c }} ({{ rows|length }} findings)</h1>"
            "<table border='1' cellspacing='0'><tr>{% for k in cols %}<th>{{ k }}</th>{% endfor %}</tr>"
            "{% for r in rows %}<tr>{% for k in cols %}<td>{{ r[k] or '' }}</td>{% endfor %}</tr>"
            "{% endfor %}</table></body></html>")
        sys.stdout.write(page.render(c=country.upper(), rows=rows, cols=cols))
    else:
        counts: dict[tuple[str, str], int] = {}
        for f in findings:
            counts[(f["rule_id"], f["status"])] = counts.get((f["rule_id"], f["status"]), 0) + 1
        table = Table(title=f"data quality: {country.upper()} ({len(findings):,} findings)")
        for col in ("rule", "status", "findings", "example"):
            table.add_column(col)
        for (rid, status), n in sorted(counts.items()):
            example = next(f for f in findings if f["rule_id"] == rid and f["status"] == status)
            table.add_row(rid, status, f"{n:,}", example["reason"][:90])
        out.print(table)


@check_app.command("mark")
def check_mark(
    fingerprint: Annotated[str, typer.Argument(metavar="FINGERPRINT",
                                               help="The finding (its fingerprint or a prefix).")],
    status: Annotated[str, typer.Option(metavar="STATUS", help="resolved, accepted or open.")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why.")],
):
    """Mark a finding resolved or accepted (or open again), with a reason; later runs keep it."""
    from mineledger.ledger.quality import mark_finding

    with open_store(state.store, create=False, user=state.user) as store:
        row = mark_finding(store, fingerprint, status, reason)
    out.print(f"{row['rule_id']} on {row['layer']} {row['record_uuid']}: {status} ({reason})",
              highlight=False, markup=False)


@app.command()
def fix(
    rule: Annotated[Optional[str], typer.Argument(metavar="RULE", help="The rule whose findings to fix.")] = None,
    country: Annotated[Optional[str], typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the fix (default: show what it would do).")] = False,
    revert: Annotated[Optional[str], typer.Option(metavar="FIX_ID", help="Undo an applied fix.")] = None,
):
    """Fix a rule's findings: a dry run unless --apply; each fix is in the change log under a
    fix id that --revert undoes."""
    from mineledger.ledger.quality.fixes import apply_fix, plan_fix, revert_fix

    with open_store(state.store, create=False, user=state.user) as store:
        if revert:
            n = revert_fix(store, revert, command=_command_line())
            out.print(f"{revert}: {n} record(s) restored", highlight=False, markup=False)
            return
        if not rule or not country:
            raise QueryError("give a RULE and --country (or --revert FIX_ID)")
        plan = plan_fix(store, country, rule)
        for p in plan[:20]:
            out.print(f"{p['layer']} {p['uuid']} ({p['locator']}): {p['change']}", highlight=False,
                      markup=False)
        if len(plan) > 20:
            out.print(f"… and {len(plan) - 20:,} more", highlight=False)
        if not plan:
            out.print(f"nothing to fix for {rule} in {country.upper()}", highlight=False)
            return
        if not apply:
            out.print(f"dry run: {len(plan):,} record(s) would change; add --apply to apply",
                      highlight=False)
            return
        fix_id = apply_fix(store, rule, plan, command=_command_line())
    out.print(f"applied to {len(plan):,} record(s) as {fix_id}; undo with: mineledger fix "
              f"--revert {fix_id}", highlight=False, markup=False)


@quarantine_app.command("list")
def quarantine_list(
    country: Annotated[Optional[str], typer.Option(metavar="ISO3", help="Only this country.")] = None,
    format: Annotated[ListFormat, typer.Option(help="table, json or csv.")] = ListFormat.table,
    all_: Annotated[bool, typer.Option("--all", help="Include rows resolved by a later "
                                                      "import.")] = False,
):
    """List quarantined rows: file, row or feature, field, value and reason."""
    from mineledger.ledger.history import quarantine_rows

    with open_store(state.store, create=False, user=state.user) as store:
        df = quarantine_rows(store, country, include_resolved=all_)
    cols = ["source_file", "source_locator", "field", "value", "reason", "profile", "country",
            "status"]
    _print_frame(df[cols], format, "quarantine", empty="no quarantined rows")


@imports_app.callback()
def imports(
    ctx: typer.Context,
    format: Annotated[ListFormat, typer.Option(help="table, json or csv.")] = ListFormat.table,
):
    """List the imports that ran, newest last, with what each changed (same as `imports list`)."""
    if ctx.invoked_subcommand is None:
        imports_list(format)


@imports_app.command("list")
def imports_list(
    format: Annotated[ListFormat, typer.Option(help="table, json or csv.")] = ListFormat.table,
):
    """List the imports that ran, newest last, with what each changed."""
    from mineledger.ledger.history import import_rows

    with open_store(state.store, create=False, user=state.user) as store:
        df = import_rows(store)
    cols = ["finished_at", "profile", "source_file", "rows_read", "inserted", "updated",
            "unchanged", "quarantined", "user_name", "import_id"]
    df = df[cols].copy()
    df["finished_at"] = [t.isoformat(timespec="seconds") if t is not None else None
                         for t in df["finished_at"]]
    if format == ListFormat.table:  # the id's first 8 characters are enough for show/revert
        df["id"] = df["import_id"].str[:8]
        df = df.drop(columns=["import_id", "user_name"]).rename(columns={
            "finished_at": "finished (UTC)", "rows_read": "rows", "inserted": "new",
            "updated": "upd", "unchanged": "same", "quarantined": "quar"})
    _print_frame(df, format, "imports", empty="no imports yet")


@imports_app.command("show")
def imports_show(
    import_id: Annotated[str, typer.Argument(metavar="IMPORT_ID", help="The import (or a prefix of its id).")],
):
    """Show one import: its source, profile, counts and what it changed, and whether it was
    reverted."""
    from mineledger.ledger.history import import_details

    with open_store(state.store, create=False, user=state.user) as store:
        d = import_details(store, import_id)
    for key in ("import_id", "started_at", "finished_at", "user_name", "command", "profile",
                "layer", "country", "source_file", "source_checksum", "rows_read", "inserted",
                "updated", "unchanged", "quarantined", "reverted_at"):
        out.print(f"{key:16} {d.get(key) if d.get(key) is not None else ''}", highlight=False,
                  markup=False)
    for key, n in sorted(d["changes"].items()):
        out.print(f"  changes: {key:28} {n:,}", highlight=False, markup=False)


@imports_app.command("revert")
def imports_revert(
    import_id: Annotated[str, typer.Argument(metavar="IMPORT_ID", help="The import (or a prefix of its id).")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (kept in the change log).")],
):
    """Undo an import through the change log: its new records are deleted and the records it
    changed get their earlier state back; the history stays visible."""
    from mineledger.ledger.history import revert_import

    with open_store(state.store, create=False, user=state.user) as store:
        counts = revert_import(store, import_id, reason=reason)
    out.print(f"import {import_id} reverted: {counts['deleted']:,} record(s) deleted, "
              f"{counts['restored']:,} restored", highlight=False, markup=False)


@app.command()
def history(
    record: Annotated[str, typer.Argument(metavar="RECORD", help="A record's UUID (or its first 8+ characters).")],
    format: Annotated[ListFormat, typer.Option(help="table, json or csv.")] = ListFormat.table,
):
    """Every change to a record: when (UTC), who, which import or command, why, and the
    fields before and after."""
    import pandas as pd

    from mineledger.ledger.history import instant_text, record_history

    with open_store(state.store, create=False, user=state.user) as store:
        rows = record_history(store, record)
    table = pd.DataFrame([{
        "at": instant_text(r["at"]), "user": r["user_name"], "action": r["action"],
        "layer": r["layer"], "command": r["command"], "import_id": r["import_id"],
        "reason": r["reason"],
        "changed": "; ".join(f"{k}: {b!r} → {a!r}" for k, (b, a) in r["changed"].items())}
        for r in rows])
    _print_frame(table, format, f"history of {rows[0]['record_uuid']}", empty="no changes")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    role: Annotated[str, typer.Option(metavar="ROLE", help="admin, officer, operator, viewer or public.")],
    country: Annotated[Optional[str], typer.Option(metavar="ISO3", help="The country the user works in (officer, operator: required).")] = None,
    organisation: Annotated[Optional[str], typer.Option(metavar="ORG", help="An operator's organisation (required for operators).")] = None,
):
    """Add a user, or change one's role. The first user added must be an admin."""
    from mineledger.access.roles import put_user

    with open_store(state.store, create=False, user=state.user) as store:
        row = put_user(store, name, role, country=country, organisation=organisation)
    out.print(f"user {row['name']}: {row['role']}"
              + "".join(f" {x}" for x in (row["country"], row["organisation"]) if x),
              highlight=False, markup=False)


@users_app.command("list")
def users_list(
    format: Annotated[ListFormat, typer.Option(help="table, json or csv.")] = ListFormat.table,
):
    """List the store's users and their roles."""
    from mineledger.access.roles import list_users

    with open_store(state.store, create=False, user=state.user) as store:
        df = list_users(store)
    _print_frame(df, format, "users", empty="no users: this is a one-person store (its user is admin)")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(metavar="NAME")]):
    """Remove a user."""
    from mineledger.access.roles import remove_user

    with open_store(state.store, create=False, user=state.user) as store:
        remove_user(store, name)
    out.print(f"user {name} removed", highlight=False, markup=False)


@settings_app.command("show")
def settings_show():
    """Show the store's settings."""
    from mineledger.access.roles import show_settings

    with open_store(state.store, create=False, user=state.user) as store:
        for key, value in sorted(show_settings(store).items()):
            out.print(f"{key} = {value}", highlight=False, markup=False)


@settings_app.command("set")
def settings_set(
    key: Annotated[str, typer.Argument(metavar="KEY", help="timezone, or operator_reads:ISO3.")],
    value: Annotated[str, typer.Argument(metavar="VALUE")],
):
    """Set a setting: `timezone ZONE` (the days --as-of DATE means; IANA name, default UTC),
    `operator_reads:ISO3 all|own` (whether operators read other organisations' records)."""
    from mineledger.access.roles import set_setting

    with open_store(state.store, create=False, user=state.user) as store:
        set_setting(store, key, value)
    out.print(f"{key} = {value}", highlight=False, markup=False)


@victims_app.command("show")
def victims_show(
    victim: Annotated[str, typer.Argument(metavar="UUID", help="The victim record (8+ characters of its UUID).")],
    purpose: Annotated[str, typer.Option(metavar="TEXT", help="Why you read it (recorded).")],
):
    """Show a victim's personal data (officers and admins; every read is recorded)."""
    from mineledger.victims import personal

    with open_store(state.store, create=False, user=state.user) as store:
        uid = personal.find_victim(store, victim)
        values = personal.read(store, [uid], purpose=purpose).get(uid)
    if not values:
        out.print(f"{uid}: no personal data (none recorded, or erased)", highlight=False, markup=False)
        return
    for key, value in values.items():
        out.print(f"{key:16} {value}", highlight=False, markup=False)


@victims_app.command("correct")
def victims_correct(
    victim: Annotated[str, typer.Argument(metavar="UUID")],
    set_: Annotated[list[str], typer.Option("--set", metavar="FIELD=VALUE", help="name, date_of_birth, address or personal_notes (repeatable; empty value removes it).")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (recorded).")],
):
    """Correct a victim's personal data; the change is recorded, encrypted."""
    import datetime as dt

    from mineledger.victims import personal

    changes = {}
    for item in set_:
        name, sep, value = item.partition("=")
        if not sep:  # never repeat the value: it may be a person's data
            raise QueryError("--set: expected FIELD=VALUE, such as address=…")
        if name == "date_of_birth" and value:
            try:
                value = dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise QueryError("--set date_of_birth=…: expected a date as YYYY-MM-DD") from None
        changes[name] = value or None
    with open_store(state.store, create=False, user=state.user) as store:
        uid = personal.find_victim(store, victim)
        personal.correct(store, uid, changes, reason=reason)
    out.print(f"{uid}: personal data corrected ({', '.join(changes)})", highlight=False, markup=False)


@victims_app.command("erase")
def victims_erase(
    victim: Annotated[str, typer.Argument(metavar="UUID")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="The lawful request (recorded).")],
):
    """Erase a victim's personal data on a lawful request: its key is destroyed, so no copy
    in the store or its history can be read again; the erasure is recorded."""
    from mineledger.victims import personal

    with open_store(state.store, create=False, user=state.user) as store:
        uid = personal.find_victim(store, victim)
        done = personal.erase(store, uid, reason=reason)
    out.print(f"{uid}: " + ("personal data erased" if done else "no personal data to erase"),
              highlight=False, markup=False)


@app.command()
def backup(
    out_path: Annotated[Path, typer.Option("--out", metavar="FILE", help="The backup file to write (.gpkg).")],
):
    """Take a consistent copy of the store while others use it, as a GeoPackage file with a
    SHA-256 checksum beside it (FILE.sha256): SQLite's backup API for a .gpkg store, one
    REPEATABLE READ snapshot, checksummed table by table, for a PostgreSQL store. A store at an
    older schema revision is backed up as it is (before `db upgrade`). The key of victims'
    personal data is not in it."""
    from mineledger.ledger.backup import backup_store

    with open_store(state.store, create=False, user=state.user, check_schema=False) as store:
        digest = backup_store(store, out_path)
    out.print(f"backup written: {out_path} (sha256 {digest}, in {out_path}.sha256)",
              highlight=False, markup=False)


@app.command()
def restore(
    backup_path: Annotated[Path, typer.Argument(metavar="FILE", help="A backup written by `mineledger backup`.")],
    force: Annotated[bool, typer.Option(help="Replace an existing store.")] = False,
):
    """Restore a backup into the store (--store) after verifying its checksum and that it is
    a mineledger store; an existing store is replaced only with --force."""
    from mineledger.ledger.backup import restore_store

    again = restore_store(backup_path, state.store, force=force, user=state.user)
    out.print(f"restored {backup_path} into {state.store}"
              + (f"; {again} erasure(s) made since the backup re-applied" if again else ""),
              highlight=False, markup=False)


@app.command()
def migrate(
    target: Annotated[str, typer.Option("--to", metavar="URL|PATH",
                                        help="Where to: postgresql://… or a .gpkg path.")],
    source: Annotated[str, typer.Option("--from", metavar="PATH|URL",
                                        help="The store to move (default: --store).")] = "",
    force: Annotated[bool, typer.Option(help="Replace a target that already holds records "
                                             "(only its admin may).")] = False,
):
    """Move a whole store, history and quarantine included, to another back end (a GeoPackage
    to PostgreSQL/PostGIS, or back); every table is counted and checksummed on both sides."""
    from mineledger.ledger.migration import migrate_store, total_rows

    with open_store(source or state.store, create=False, user=state.user) as store, \
            ExitStack() as bars:
        shown = []

        def progress(n):  # the bar appears once the target is accepted and rows move
            if not shown:
                shown.append(bars.enter_context(_rich_progress("migrating", total_rows(store))))
            shown[0](n)

        report = migrate_store(store, target, force=force, user=state.user, progress=progress)
    table = Table(title=f"{report.source} → {report.target}".replace("[", "\\["))
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("sha256 (both sides)")
    for t in report.tables:
        table.add_row(t.name, f"{t.rows:,}", t.checksum[:16])
    out.print(table)
    out.print(f"{report.rows:,} rows in {len(report.tables)} tables copied and verified",
              highlight=False, markup=False)


@db_app.command("status")
def db_status():
    """Show the store's schema revision and the one this mineledger needs."""
    from mineledger.store import revisions

    with open_store(state.store, create=False, user=state.user, check_schema=False) as store:
        with store.engine.connect() as conn:
            current = revisions.current(conn)
    head = revisions.head()
    advice = ("" if current == head else " (run `mineledger db upgrade`)"
              if current in revisions.known() else
              " (written by a newer or a development version of mineledger; it cannot upgrade it)")
    out.print(f"{store.location}: schema revision {current}; this mineledger needs {head}{advice}",
              highlight=False, markup=False)


@db_app.command("upgrade")
def db_upgrade():
    """Bring the store's schema to this mineledger's revision (Alembic migrations, in one
    transaction; back the store up first)."""
    from mineledger.access.roles import Action, require

    with open_store(state.store, create=False, user=state.user, check_schema=False) as store:
        require(store, Action.BACKUP)
        before, after = store.upgrade_schema()
    out.print(f"{store.location}: schema revision {before} → {after}" if before != after else
              f"{store.location}: schema already at revision {after}", highlight=False, markup=False)


@app.command()
def layers():
    """List the store's layers with their record counts."""
    from mineledger.ledger.history import layer_counts

    with open_store(state.store, create=False, user=state.user) as store:
        table = Table(title=f"layers of {store.location}".replace("[", "\\["))
        table.add_column("layer")
        table.add_column("geometry")
        table.add_column("records", justify="right")
        table.add_column("countries")
        for name, geometry, count, countries in layer_counts(store):
            table.add_row(name, geometry, f"{count:,}", ", ".join(countries))
    out.print(table)


@app.command()
def profiles():
    """List the built-in import profiles."""
    table = Table(title="built-in profiles")
    table.add_column("name")
    table.add_column("layer")
    table.add_column("description")
    for name in builtin_profiles():
        p = load_profile(name)
        table.add_row(name, p.layer, p.description.strip().split(". ")[0])
    out.print(table)


class ExportFormat(str, Enum):
    gpkg = "gpkg"
    geojson = "geojson"
    shp = "shp"
    kml = "kml"
    csv = "csv"
    xlsx = "xlsx"
    parquet = "parquet"


@app.command()
def export(
    layer: Annotated[str, typer.Argument(metavar="LAYER", help="hazards, cleared_areas, "
                                         "activities, devices, events, victims or admin_areas.")],
    format: Annotated[ExportFormat, typer.Option("--format", help="Output format.")],
    out_path: Annotated[Path, typer.Option("--out", metavar="PATH", help="File to write.")],
    country: Annotated[Optional[str], typer.Option(metavar="ISO3")] = None,
    admin: Annotated[Optional[str], typer.Option(metavar="CODE", help="Only records in this "
                                                 "administrative area (its code in the store).")] = None,
    status: Annotated[Optional[list[str]], typer.Option(metavar="STATUS", help="Only hazards with "
                                                        "this status (repeatable).")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", metavar="YYYY-MM-DD")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", metavar="YYYY-MM-DD")] = None,
    hxl: Annotated[bool, typer.Option("--hxl", help="CSV/XLSX: a row of HXL hashtags under the "
                                      "header.")] = False,
    bom: Annotated[bool, typer.Option("--bom", help="CSV: UTF-8 byte order mark, for "
                                      "spreadsheet programs.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
    personal: Annotated[bool, typer.Option("--personal", help="Victims: include their personal "
                                           "data (officers and admins; recorded).")] = False,
    purpose: Annotated[Optional[str], typer.Option(metavar="TEXT", help="With --personal: why "
                                                   "(recorded).")] = None,
):
    """Export a layer's records to a file, with an import profile that reads it back.

    The profile is written beside the file (FILE.profile.yaml); what the format cannot carry
    as it is (Shapefile field names, empty geometries, KML names) is said, and restored by
    that profile on import.
    """
    from mineledger.ledger.export import export_layer

    with open_store(state.store, create=False, user=state.user) as store:
        report = export_layer(store, layer, format.value, out_path, country=country, admin=admin,
                              status=status, date_from=date_from, date_to=date_to, hxl=hxl,
                              bom=bom, overwrite=overwrite, personal=personal, purpose=purpose)
    out.print(f"{report.path}: {report.records:,} {layer} record(s) as {report.format}; "
              f"profile to read it back: {report.profile_path}", highlight=False, markup=False)
    for note in report.notes:
        err.print(f"note: {note}", highlight=False, markup=False)


@profile_app.command("infer")
def profile_infer(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A source file.")],
    layer: Annotated[Optional[str], typer.Option(metavar="LAYER", help="The layer the file "
                                                 "feeds (guessed if not given).")] = None,
    sheet: Annotated[Optional[str], typer.Option(metavar="NAME", help="XLSX sheet.")] = None,
    gis_layer: Annotated[Optional[str], typer.Option("--gis-layer", metavar="NAME",
                                                     help="Layer of a GeoPackage, KML, file "
                                                          "geodatabase.")] = None,
    out_path: Annotated[Optional[Path], typer.Option("--out", metavar="PATH",
                                                     help="Write the draft here (default: print it).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
):
    """Draft an import profile from a file's columns and values.

    The draft maps the columns it recognises, declares what it detected (encoding, CRS,
    coordinate columns, date order) and marks with CHOOSE what a person must decide
    (day-first or month-first dates, values to map onto the vocabulary); `mineledger profile
    check` then says what would be stored.
    """
    from mineledger.io.infer import infer_profile

    if out_path is not None and out_path.exists() and not overwrite:
        raise SourceError(f"{out_path} exists; pass --overwrite to replace it")
    text = infer_profile(path, layer=layer, sheet=sheet, gis_layer=gis_layer)
    if out_path is None:
        sys.stdout.write(text)
    else:
        try:
            out_path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"--out {out_path}: cannot write it: {exc.strerror or exc}") from None
        out.print(f"draft profile written to {out_path}", highlight=False, markup=False)


@profile_app.command("check")
def profile_check(
    profile: Annotated[str, typer.Argument(metavar="PROFILE", help="A profile .yaml or built-in name.")],
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A source file or folder.")],
    country: Annotated[Optional[str], typer.Option(metavar="ISO3")] = None,
    show: Annotated[int, typer.Option(metavar="N", help="Quarantine reasons to show.")] = 10,
):
    """Say what an import would store and quarantine, without writing anything.

    Runs the whole import against the store (--store, so links to existing hazards resolve;
    a throwaway store if it does not exist) and rolls it back.
    """
    from mineledger.ledger.importer import check_source

    loaded = load_profile(profile)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    report = check_source(state.store, path, loaded, country=country, user=state.user)
    out.print(f"{path} with profile {loaded.name!r} (layer {loaded.layer}): "
              f"{report.total('rows_read')} rows read; would store "
              f"{report.total('inserted') + report.total('updated') + report.total('unchanged')} "
              f"({report.total('inserted')} new, {report.total('updated')} changed, "
              f"{report.total('unchanged')} unchanged) and quarantine "
              f"{report.total('quarantined')}", highlight=False, markup=False)
    flags: dict[str, int] = {}
    for f in report.files:
        for k, v in f.geometry_flags.items():
            flags[k] = flags.get(k, 0) + v
    if flags:
        out.print("  geometry flagged: " + ", ".join(f"{k} {v}" for k, v in sorted(flags.items())),
                  highlight=False, markup=False)
    by_field: dict[str, int] = {}
    for f in report.files:
        for q in f.quarantined:
            by_field[q.field or "(row)"] = by_field.get(q.field or "(row)", 0) + 1
    if by_field:
        out.print("  quarantined by field: " + ", ".join(f"{k} {v}" for k, v in
                                                      sorted(by_field.items())),
                  highlight=False, markup=False)
    shown = [q for f in report.files for q in f.quarantined][:show]
    for q in shown:
        out.print(f"  {q}", highlight=False, markup=False)
    for f in report.files:
        for note in f.notes:
            out.print(f"  note: {note}", highlight=False, markup=False)


def _print_frame(df, format: ListFormat, title: str, empty: str):
    df = df.astype(object).where(df.notna(), None)
    if format == ListFormat.json:
        out.print_json(json.dumps(df.to_dict("records"), ensure_ascii=False, default=str))
    elif format == ListFormat.csv:
        buf = io.StringIO()
        df.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
        sys.stdout.write(buf.getvalue())
    elif df.empty:
        out.print(empty)
    else:
        table = Table(title=f"{title} ({len(df):,})")
        for col in df.columns:
            table.add_column(col)
        for row in df.itertuples(index=False):  # Text: values are data, never rich markup
            table.add_row(*[Text("" if v is None else str(v)) for v in row])
        out.print(table)


def main() -> None:
    """Entry point: run the CLI, turning mineledger errors into one line and exit status 2.

    Usage errors (a missing option, an unknown command) are reported by Typer itself, also
    with exit status 2.
    """
    logging.basicConfig(format="%(message)s", level=logging.WARNING, stream=sys.stderr)
    try:
        app(prog_name="mineledger")
    except MineledgerError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(2)
    except DBAPIError as exc:  # the database refused something no check foresaw (permissions …)
        from mineledger.store.postgis import hide_passwords

        reason = str(exc.orig or exc).strip().splitlines()[0]
        err.print(f"error: {hide_passwords(state.store)}: the database refused: "
                  f"{hide_passwords(reason)}; nothing was changed", highlight=False, markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
