"""``mineledger summary``, ``landrelease``, ``report``, ``layers``: figures and reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mineledger.cli.common import (UNIT, AreaUnit, AsOf, Country, InformationAsOf, ListFormat,
                                   Listing, SummaryFormat, app, opened, out, print_frame, say)


@app.command()
def summary(
    country: Country,
    format: Annotated[SummaryFormat, typer.Option(help="json or table.")] = SummaryFormat.table,
    unit: Annotated[AreaUnit, typer.Option(help="Area unit of the table format.")] = AreaUnit.km2,
    as_of: AsOf = None,
    information_as_of: InformationAsOf = None,
):
    """Headline figures of a country: hazards, cleared land, victims, events, quarantine.

    JSON areas are always m² (geodesic, WGS 84); the table shows km², ha or m².
    """
    from mineledger.land.summary import summary as compute_summary
    from mineledger.ledger.asof import as_of as view

    with opened() as session:
        figures = compute_summary(view(session, as_of, information_as_of), country)
    if format == SummaryFormat.json:
        out.print_json(json.dumps(figures.to_dict(), ensure_ascii=False))
        return
    div, label = UNIT[unit.value]
    h, c, v, e = figures.hazards, figures.cleared, figures.victims, figures.events
    from mineledger.ledger.asof import instant_text

    known = figures.meta.information_as_of
    table = Table(title=f"mineledger summary: {figures.country}, as of "
                        f"{instant_text(figures.meta.as_of)}"
                        + (f", information to {known}" if known else ""),
                  show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    lr = figures.land_release
    rows = [
        ("hazardous area records", f"{h.count:,}"),
        ("  without geometry", f"{h.without_geometry:,}"),
        ("  invalid, repaired", f"{h.invalid_repaired:,}"),
        (f"  area of the records, summed ({label})", f"{h.area_m2 / div:,.2f}"),
        (f"  land of the records, distinct ({label})", f"{h.distinct_area_m2 / div:,.2f}"),
        ("cleared area records", f"{c.count:,}"),
        (f"  area of the records, summed ({label})", f"{c.area_m2 / div:,.2f}"),
        (f"  land of the records, distinct ({label})", f"{c.distinct_area_m2 / div:,.2f}"),
        (f"land release, IMAS 07.11 ({label})", ""),
        ("  recorded (all land ever recorded)", f"{lr.recorded_m2 / div:,.2f}"),
        ("  released", f"{lr.released_m2 / div:,.2f}"),
        ("    cancelled", f"{lr.cancelled_m2 / div:,.2f}"),
        ("    reduced", f"{lr.reduced_m2 / div:,.2f}"),
        ("    cleared", f"{lr.cleared_m2 / div:,.2f}"),
        ("  remaining (still suspected)", f"{lr.remaining_m2 / div:,.2f}"),
        ("  both released and remaining", f"{lr.both_m2 / div:,.2f}"),
        ("victims", f"{v.count:,}"),
        ("  killed", f"{v.killed:,}"),
        ("  injured", f"{v.injured:,}"),
        ("  civilian", f"{v.civilian:,}"),
        ("  minors", f"{v.minors:,}"),
        ("events", f"{e.count:,}"),
        *[(f"  {k.replace('_', ' ')}", f"{n:,}") for k, n in e.by_type.items()],
        ("quarantined rows", f"{figures.quarantine.count:,}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


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
    by: Annotated[str, typer.Option(metavar="GROUP", help="admin1, admin2, admin3, hazard, "
                                                          "organisation, category or year.")] = "admin2",
    format: Listing = ListFormat.table,
    unit: Annotated[AreaUnit, typer.Option(help="Area unit of the table format.")] = AreaUnit.km2,
    as_of: AsOf = None,
    information_as_of: InformationAsOf = None,
):
    """The land release ledger (IMAS 07.11): recorded, cancelled, reduced, cleared, released,
    remaining (still suspected) and both (released, then suspected again), per group and in
    total.

    JSON and CSV areas are m² (geodesic, WGS 84); the table shows km², ha or m².
    """
    import pandas as pd
    from mineledger.land.landrelease import COLUMNS
    from mineledger.land.landrelease import ledger
    from mineledger.ledger.asof import as_of as view
    from mineledger.ledger.asof import computed_as_of
    from mineledger.ledger.asof import instant_text

    with opened() as session:
        snapshot = view(session, as_of, information_as_of)
        rows = ledger(snapshot, country, by)
        stamp = instant_text(computed_as_of(snapshot))
    if format != ListFormat.table:  # each row says the instant it stands for
        frame = pd.DataFrame([r.to_dict() for r in rows])
        frame["as_of"] = stamp
        if information_as_of:
            frame["information_as_of"] = information_as_of
        print_frame(frame, format, "land release", empty="no land release")
        return
    div, label = UNIT[unit.value]
    table = Table(title=f"land release: {country.upper()} by {by} ({label}), as of {stamp}"
                        + (f", information to {information_as_of}" if information_as_of else ""))
    table.add_column("area" if by.startswith("admin") else by, no_wrap=True, max_width=32)
    for col in COLUMNS:
        table.add_column(col.removesuffix("_m2"), justify="right")
    for r in rows:
        table.add_row(r.area_name or str(r.area_code), *[f"{r[c] / div:,.2f}" for c in COLUMNS])
    out.print(table)


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
