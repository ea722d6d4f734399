"""``mineledger summary``, ``landrelease``, ``report``, ``layers``, ``areas``: figures and
reports. Every option acts in every format or is refused with one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from mineledger.cli.common import (UNIT, AreaUnit, AsOf, Country, InformationAsOf, ListFormat,
                                   Listing, app, err, group, in_unit, opened, out, print_frame,
                                   say)
from mineledger.errors import QueryError

areas_app = group("areas", "Administrative areas: their codes and names.")

By = Annotated[Optional[list[str]], typer.Option(
    "--by", metavar="GROUP", help="Group the figures (repeatable, or comma-separated, for two "
    "at once): year, admin1, admin2, admin3, type, category (summary); admin1 … admin3, "
    "hazard, organisation, category, year (landrelease).")]
From = Annotated[Optional[str], typer.Option("--from", metavar="DATE",
                                             help="Records dated from (YYYY, YYYY-MM or YYYY-MM-DD).")]
To = Annotated[Optional[str], typer.Option("--to", metavar="DATE",
                                           help="Records dated up to (YYYY, YYYY-MM or YYYY-MM-DD).")]
Admin = Annotated[Optional[str], typer.Option("--admin", metavar="CODE",
                                              help="Only this administrative area (and those within).")]
Types = Annotated[Optional[list[str]], typer.Option("--type", metavar="TYPE",
                                                    help="Only events of this type (repeatable).")]
Categories = Annotated[Optional[list[str]], typer.Option(
    "--category", metavar="CATEGORY", help="Only this EO category (repeatable).")]
Sort = Annotated[Optional[str], typer.Option("--sort", metavar="COLUMN",
                                             help="Sort the rows by this column, largest first.")]
Top = Annotated[Optional[int], typer.Option("--top", metavar="N", help="Keep the first N rows.")]
Unit = Annotated[Optional[AreaUnit], typer.Option(
    help="Area unit: the table's (default km2), and the JSON's and CSV's fields (*_km2, *_ha; "
         "default m2).")]


def _groupings(by: list[str] | None) -> list[str]:
    groupings = [b.strip() for part in (by or []) for b in part.split(",") if b.strip()]
    if by and not groupings:  # --by '' is not "no grouping": say so
        raise QueryError("--by: expected a grouping (year, admin1 … see --help), got nothing")
    return groupings


def _selection(date_from, date_to, admin, types, categories):
    from mineledger.ledger.selection import Selection

    for option, value in (("--admin", admin), ("--from", date_from), ("--to", date_to)):
        if value is not None and not str(value).strip():
            raise QueryError(f"{option}: expected a value, got nothing")
    return Selection.of(date_from, date_to, admin, types, categories)


@app.command()
def summary(
    country: Country,
    format: Annotated[ListFormat, typer.Option(help="table, json or csv (csv: with --by).")] = ListFormat.table,
    unit: Unit = None,
    as_of: AsOf = None,
    information_as_of: InformationAsOf = None,
    date_from: From = None, date_to: To = None, admin: Admin = None, type_: Types = None,
    category: Categories = None, by: By = None, sort: Sort = None, top: Top = None,
):
    """Headline figures of a country — hazards, land release, casualties, events,
    quarantine — or, with --by, events and casualties per year, area, type or category.

    Casualties come from the victim records where the country has them, else from the counts
    the events carry (the figures say which). JSON and CSV areas are m² unless --unit says
    otherwise (the field names carry the unit); the table shows km², ha or m².
    """
    from mineledger.land.breakdown import breakdown
    from mineledger.land.summary import summary as compute_summary
    from mineledger.ledger.asof import as_of as view
    from mineledger.ledger.asof import computed_as_of, instant_text

    groupings = _groupings(by)
    if not groupings and (sort or top):
        raise QueryError("--sort and --top order the rows of --by; give --by")
    if not groupings and format == ListFormat.csv:
        raise QueryError("--format csv writes rows: give --by (the headline is JSON or a table)")
    if groupings and unit is not None:
        raise QueryError("--unit: the figures by --by count events and people; they have no areas")
    selection = _selection(date_from, date_to, admin, type_, category)
    with opened() as session:
        snapshot = view(session, as_of, information_as_of)
        if groupings:
            rows = breakdown(snapshot, country, groupings, selection, sort=sort, top=top)
            stamp = instant_text(computed_as_of(snapshot))
        else:
            figures = compute_summary(snapshot, country, selection)
    if groupings:
        rows = [r.to_dict() for r in rows]
        if format == ListFormat.table:  # no source of casualties: not recorded, not zero
            rows = [{**r, **{k: "not recorded" for k in CASUALTY_COLUMNS if k in r}}
                    if r.get("source") == "none" else r for r in rows]
        _rows_out(rows, format, stamp, information_as_of,
                  f"{country.upper()} by {', '.join(groupings)}", "no events or casualties",
                  selection.notes)
        return
    if format == ListFormat.json:
        out.print_json(json.dumps(in_unit(figures.to_dict(), unit), ensure_ascii=False))
        return
    _summary_table(figures, unit)


#: The columns of casualties in the rows of ``summary --by``.
CASUALTY_COLUMNS = ("killed", "injured", "outcome_unknown", "casualties", "civilian",
                    "military", "minors", "female", "male")


def _rows_out(rows: list[dict], format, stamp: str, information_as_of, title: str,
              empty: str, notes: list[str]) -> None:
    """Rows of figures in a format; each row of JSON and CSV says the instant it stands for,
    and the notes of the selection (what it left out) follow a table, or go to stderr."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if format != ListFormat.table and len(frame):
        frame["as_of"] = stamp
        if information_as_of:
            frame["information_as_of"] = information_as_of
    print_frame(frame, format, title + f", as of {stamp}", empty=empty)
    for note in notes:
        if format == ListFormat.table:
            out.print(f"note: {note}", highlight=False, markup=False)
        else:
            err.print(f"note: {note}", highlight=False, markup=False)


def _summary_table(figures, unit) -> None:
    from mineledger.ledger.asof import instant_text

    div, label = UNIT[(unit or AreaUnit.km2).value]
    known = figures.meta.information_as_of
    selection = figures.meta.selection
    table = Table(title=f"mineledger summary: {figures.country}, as of "
                        f"{instant_text(figures.meta.as_of)}"
                        + (f", information to {known}" if known else "")
                        + "".join(f", {k} {v}" for k, v in selection.items()), show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = []
    for name, p in (("hazardous area records", figures.hazards),
                    ("cleared area records", figures.cleared)):
        if p is not None:
            rows += [(name, f"{p.count:,}"),
                     ("  without geometry", f"{p.without_geometry:,}"),
                     ("  invalid, repaired", f"{p.invalid_repaired:,}"),
                     (f"  area of the records, summed ({label})", f"{p.area_m2 / div:,.2f}"),
                     (f"  land of the records, distinct ({label})",
                      f"{p.distinct_area_m2 / div:,.2f}")]
    lr = figures.land_release
    if lr is not None:
        rows += [(f"land release, IMAS 07.11 ({label})", ""),
                 ("  recorded (all land ever recorded)", f"{lr.recorded_m2 / div:,.2f}"),
                 ("  released", f"{lr.released_m2 / div:,.2f}"),
                 ("    cancelled", f"{lr.cancelled_m2 / div:,.2f}"),
                 ("    reduced", f"{lr.reduced_m2 / div:,.2f}"),
                 ("    cleared", f"{lr.cleared_m2 / div:,.2f}"),
                 ("  remaining (still suspected)", f"{lr.remaining_m2 / div:,.2f}"),
                 ("  both released and remaining", f"{lr.both_m2 / div:,.2f}")]
    v, e = figures.victims, figures.events
    unrecorded = v.source == "none"  # no victim records, no counts in the events
    rows += [(f"casualties ({v.source})", "not recorded" if unrecorded else f"{v.count:,}"),
             ("  killed", "not recorded" if unrecorded else f"{v.killed:,}"),
             ("  injured", "not recorded" if unrecorded else f"{v.injured:,}"),
             ("  civilian", "not recorded" if v.civilian is None else f"{v.civilian:,}"),
             ("  minors", "not recorded" if v.minors is None else f"{v.minors:,}"),
             ("events", f"{e.count:,}"),
             *[(f"  {k.replace('_', ' ')}", f"{n:,}") for k, n in e.by_type.items()],
             ("quarantined rows", f"{figures.quarantine.count:,}")]
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)
    for note in figures.meta.notes:
        out.print(f"note: {note}", highlight=False, markup=False)


@app.command()
def report(
    country: Country,
    out_dir: Annotated[Path, typer.Option("--out", metavar="DIR", help="A new or empty folder "
                                          "to write index.html and the CSV tables into.")],
    overwrite: Annotated[bool, typer.Option(help="Replace the folder of an earlier report.")] = False,
    as_of: AsOf = None,
    information_as_of: InformationAsOf = None,
):
    """Write a self-contained HTML report (map, charts, per-area tables, sources) and CSVs
    into a new or empty folder (--overwrite: replace an earlier report's folder)."""
    from mineledger.ledger.asof import as_of as view
    from mineledger.report import write_report

    with opened() as session:
        index = write_report(view(session, as_of, information_as_of), country, out_dir,
                             overwrite=overwrite)
    say(f"report written: {index}")


@app.command()
def landrelease(
    country: Country,
    by: By = None,
    format: Listing = ListFormat.table,
    unit: Unit = None,
    as_of: AsOf = None,
    information_as_of: InformationAsOf = None,
    date_from: From = None, date_to: To = None, admin: Admin = None,
    category: Categories = None, sort: Sort = None, top: Top = None,
):
    """The land release ledger (IMAS 07.11): recorded, cancelled, reduced, cleared, released,
    remaining (still suspected) and both (released, then suspected again), per group and in
    total — by default per admin2 area.

    JSON and CSV areas are m² unless --unit says otherwise (the field names carry the unit);
    the table shows km², ha or m².
    """

    from mineledger.land.landrelease import COLUMNS, ledger
    from mineledger.ledger.asof import as_of as view
    from mineledger.ledger.asof import computed_as_of, instant_text

    groupings = _groupings(by) or ["admin2"]
    selection = _selection(date_from, date_to, admin, None, category)
    with opened() as session:
        snapshot = view(session, as_of, information_as_of)
        rows = ledger(snapshot, country, groupings, selection, sort=sort, top=top)
        stamp = instant_text(computed_as_of(snapshot))
    if format != ListFormat.table:  # each row says the instant it stands for
        _rows_out([in_unit(r.to_dict(), unit) for r in rows], format, stamp,
                  information_as_of, "land release", "no land release", selection.notes)
        return
    div, label = UNIT[(unit or AreaUnit.km2).value]
    described = "".join(f", {k} {v}" for k, v in selection.describe().items())
    table = Table(title=f"land release: {country.upper()} by {', '.join(groupings)} ({label}), "
                        f"as of {stamp}" + (f", information to {information_as_of}"
                                            if information_as_of else "") + described)
    admin_rows = groupings[0].startswith("admin")
    table.add_column("area" if admin_rows else groupings[0], no_wrap=True, max_width=32)
    if admin_rows:
        table.add_column("code", no_wrap=True, max_width=24)
    second = rows[0].group_by if rows and rows[0].group_by else None
    if second:
        table.add_column(second)
    for col in COLUMNS:
        table.add_column(col.removesuffix("_m2"), justify="right")
    for r in rows:
        label_cells = [r.area_name or str(r.area_code)] + ([r.area_code] if admin_rows else [])
        table.add_row(*label_cells, *([str(r.group or "")] if second else []),
                      *[f"{getattr(r, c) / div:,.2f}" for c in COLUMNS])
    out.print(table)
    for note in selection.notes:
        out.print(f"note: {note}", highlight=False, markup=False)


@app.command()
def layers():
    """List the store's layers with their record counts."""
    from mineledger.ledger.history import layer_counts

    with opened() as session:
        table = Table(title=f"layers of {session.location}".replace("[", "\\["))
        table.add_column("layer")
        table.add_column("geometry")
        table.add_column("records", justify="right")
        table.add_column("countries")
        for name, geometry, count, countries in layer_counts(session):
            table.add_row(name, geometry, f"{count:,}", ", ".join(countries))
    out.print(table)


@areas_app.command("list")
def areas_list(
    country: Country,
    level: Annotated[Optional[int], typer.Option(metavar="N", help="Only this level.")] = None,
    format: Listing = ListFormat.table,
):
    """List a country's administrative areas: level, code, name and the code of the area
    they are in (the codes --admin and the figures by area use)."""
    from mineledger.land.admin_areas import list_areas

    with opened() as session:
        frame = list_areas(session, country, level)
    print_frame(frame, format, f"administrative areas of {country.upper()}",
                empty="no administrative areas")
