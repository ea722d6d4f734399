"""``mineledger export`` and ``link``: records out to files, events linked to areas."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mineledger.cli.common import app, command_line, opened, say, warn


@app.command()
def link(
    country: Annotated[Optional[str], typer.Option(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")] = None,
    within: Annotated[float, typer.Option(metavar="METRES", help="Link an event outside every "
                                          "area to the nearest one within this distance.")] = 100.0,
    revert: Annotated[Optional[str], typer.Option(metavar="LINK_ID", help="Undo a link run "
                                                  "(its id is printed when it runs).")] = None,
    reason: Annotated[Optional[str], typer.Option(metavar="TEXT", help="With --revert: why "
                                                  "(kept in the change log).")] = None,
):
    """Link events (incidents, lifted minefields …) to the hazardous or cleared area they fall
    in, or the nearest within --within metres; changes go through the change log under a link
    id, which --revert undoes (then an import the run touched can be reverted too)."""
    from mineledger.errors import QueryError

    if revert:
        from mineledger.ledger.history import revert_link

        if country is not None or within != 100.0:
            raise QueryError("--revert undoes a link run: give it alone, with --reason")
        with opened() as session:
            counts = revert_link(session, revert, reason=reason or "")
        say(f"{revert} reverted: {counts['restored']:,} event(s) have their links before it back")
        return
    if reason is not None:
        raise QueryError("--reason goes with --revert")
    if not country:
        raise QueryError("--country is required (or --revert LINK_ID)")
    from mineledger.land.links import link_events

    with opened() as session:
        counts = link_events(session, country, within_m=within, command=command_line())
    say(f"{country.upper()}: {counts['events']:,} events: {counts['in_hazard']:,} in a "
        f"hazardous area, {counts['in_cleared']:,} in a cleared area, {counts['near']:,} "
        f"within {within:g} m of one, {counts['unlinked']:,} not linked "
        f"({counts['changed']:,} links changed"
        + (f"; undo with: mineledger link --revert {counts['link_id']} --reason …)"
           if counts["changed"] else ")"))


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
    out_path: Annotated[Path, typer.Option("--out", metavar="PATH", help="File to write "
                                           "(shp: X.shp, or X.shp.zip for a zipped shapefile).")],
    country: Annotated[Optional[str], typer.Option(metavar="ISO3")] = None,
    admin: Annotated[Optional[str], typer.Option(metavar="CODE", help="Only records in this "
                                                 "administrative area (its code in the store).")] = None,
    status: Annotated[Optional[list[str]], typer.Option(metavar="STATUS", help="Only hazards with "
                                                        "this status (repeatable).")] = None,
    date_from: Annotated[Optional[str], typer.Option(
        "--from", metavar="DATE", help="Records dated from (YYYY, YYYY-MM or YYYY-MM-DD).")] = None,
    date_to: Annotated[Optional[str], typer.Option(
        "--to", metavar="DATE", help="Records dated up to (YYYY, YYYY-MM or YYYY-MM-DD).")] = None,
    hxl: Annotated[bool, typer.Option("--hxl", help="CSV/XLSX: a row of HXL hashtags under the "
                                      "header.")] = False,
    excel: Annotated[bool, typer.Option("--excel", help="CSV for Excel: UTF-8 with a byte "
                                        "order mark, so Excel shows accents right.")] = False,
    bom: Annotated[bool, typer.Option("--bom", help="CSV: the same as --excel.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file (the old one stays "
                                            "whole until the new one is).")] = False,
    personal: Annotated[bool, typer.Option("--personal", help="Victims: include their personal "
                                           "data (officers and admins; recorded).")] = False,
    purpose: Annotated[Optional[str], typer.Option(metavar="TEXT", help="With --personal: why "
                                                   "(recorded).")] = None,
):
    """Export a layer's records to a file, with an import profile that reads it back.

    The profile is written beside the file (FILE.profile.yaml); what the format cannot carry
    as it is (Shapefile field names, empty geometries, KML names) is said, and restored by
    that profile on import. Nothing is left behind if the write fails (a full disk).
    """
    from mineledger.errors import QueryError
    from mineledger.ledger.export import export_layer

    if purpose is not None and not personal:
        raise QueryError("--purpose goes with --personal (the reason personal data is read)")
    with opened() as session:
        report = export_layer(session, layer, format.value, out_path, country=country,
                              admin=admin, status=status, date_from=date_from, date_to=date_to,
                              hxl=hxl, bom=bom, excel=excel, overwrite=overwrite,
                              personal=personal, purpose=purpose)
    say(f"{report.path}: {report.records:,} {layer} record(s) as {report.format}; "
        f"profile to read it back: {report.profile_path}")
    for note in report.notes:
        warn(f"note: {note}")
