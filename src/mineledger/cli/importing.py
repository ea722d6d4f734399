"""``mineledger import``, ``profiles`` and ``profile infer|check``: bringing sources in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from mineledger.cli.common import (OptionalCountry, app, command_line, group, out, rich_progress,
                                   say, state, warn)
from mineledger.errors import SourceError

if TYPE_CHECKING:
    from mineledger.ledger.importer import ImportReport

profile_app = group("profile", "Import profiles: draft one from a file, check one before importing.")


def _flags(report: "ImportReport") -> dict[str, int]:
    flags: dict[str, int] = {}
    for f in report.files:
        for k, v in f.geometry_flags.items():
            flags[k] = flags.get(k, 0) + v
    return flags


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
    from mineledger.ledger.importer import import_into

    report = import_into(state.store, path, profile, user=state.user, country=country,
                         strict=strict, command=command_line(), progress=rich_progress)
    files = len(report.files)
    say(f"{path}: {files} file{'s' if files != 1 else ''}, "
        f"{report.total('rows_read')} rows read: {report.total('inserted')} inserted, "
        f"{report.total('updated')} updated, {report.total('unchanged')} unchanged, "
        f"{report.total('quarantined')} quarantined")
    if report.total("rows_read") == 0:
        warn(f"warning: {path}: no rows or features to import")
    for f in report.files:
        for note in f.notes:
            warn(f"note: {note}")
    flags = _flags(report)
    if flags:
        say("  stored with flagged geometry: " +
            ", ".join(f"{k} {v}" for k, v in sorted(flags.items())))
    if report.warnings:
        warn("quality: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report.warnings.items()))
             + " (details: mineledger check --country …)")
    if report.total("quarantined"):
        warn(f"warning: {report.total('quarantined')} row(s) went to quarantine "
             f"(see `mineledger quarantine list`):")
        for q in [q for f in report.files for q in f.quarantined][:10]:
            warn(f"  {q}")


@app.command()
def profiles():
    """List the built-in import profiles."""
    from mineledger.io.profiles import builtin_profiles
    from mineledger.io.profiles import load_profile

    table = Table(title="built-in profiles")
    table.add_column("name")
    table.add_column("layer")
    table.add_column("description")
    for name in builtin_profiles():
        p = load_profile(name)
        table.add_row(name, p.layer, p.description.strip().split(". ")[0])
    out.print(table)


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
    encoding: Annotated[Optional[str], typer.Option(metavar="ENCODING", help="Text encoding "
                                                    "of a CSV (cp1252, latin-1 …); detected "
                                                    "if not given.")] = None,
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
    if encoding is not None:
        try:
            "".encode(encoding)
        except LookupError:
            raise SourceError(f"--encoding {encoding!r} is not a known text encoding (utf-8-sig, "
                              "cp1252, latin-1 …)") from None
    text = infer_profile(path, layer=layer, sheet=sheet, gis_layer=gis_layer, encoding=encoding)
    if out_path is None:
        sys.stdout.write(text)
        return
    try:
        out_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"--out {out_path}: cannot write it: {exc.strerror or exc}") from None
    say(f"draft profile written to {out_path}")


@profile_app.command("check")
def profile_check(
    profile: Annotated[str, typer.Argument(metavar="PROFILE", help="A profile .yaml or built-in name.")],
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A source file or folder.")],
    country: OptionalCountry = None,
    show: Annotated[int, typer.Option(metavar="N", help="Quarantine reasons to show.")] = 10,
):
    """Say what an import would store and quarantine, without writing anything.

    Runs the whole import against the store (--store, so links to existing hazards resolve;
    a throwaway store if it does not exist) and rolls it back.
    """
    from mineledger.io.profiles import load_profile
    from mineledger.ledger.importer import check_source

    loaded = load_profile(profile, country=country)
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    report = check_source(state.store, path, loaded, country=country, user=state.user)
    say(f"{path} with profile {loaded.name!r} (layer {loaded.layer}): "
        f"{report.total('rows_read')} rows read; would store "
        f"{report.total('inserted') + report.total('updated') + report.total('unchanged')} "
        f"({report.total('inserted')} new, {report.total('updated')} changed, "
        f"{report.total('unchanged')} unchanged) and quarantine "
        f"{report.total('quarantined')}")
    flags = _flags(report)
    if flags:
        say("  geometry flagged: " + ", ".join(f"{k} {v}" for k, v in sorted(flags.items())))
    by_field: dict[str, int] = {}
    for f in report.files:
        for q in f.quarantined:
            by_field[q.field or "(row)"] = by_field.get(q.field or "(row)", 0) + 1
    if by_field:
        say("  quarantined by field: " + ", ".join(f"{k} {v}" for k, v in sorted(by_field.items())))
    for q in [q for f in report.files for q in f.quarantined][:show]:
        say(f"  {q}")
    for f in report.files:
        for note in f.notes:
            say(f"  note: {note}")
