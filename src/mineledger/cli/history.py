"""``mineledger imports``, ``history``, ``changes`` and ``quarantine``: what happened to the
ledger."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mineledger.cli.common import ListFormat, Listing, app, group, opened, print_frame, say
from mineledger.errors import QueryError

quarantine_app = group("quarantine", "Rows that were not stored, and why.")
imports_app = group("imports", "The imports that ran: list them, show one, revert one.",
                    invoke_without_command=True)


@quarantine_app.command("list")
def quarantine_list(
    country: Annotated[Optional[str], typer.Option(metavar="ISO3", help="Only this country.")] = None,
    format: Listing = ListFormat.table,
    all_: Annotated[bool, typer.Option("--all", help="Include rows resolved by a later "
                                                      "import.")] = False,
):
    """List quarantined rows: file, row or feature, field, value and reason."""
    from mineledger.ledger.history import quarantine_rows

    with opened() as session:
        df = quarantine_rows(session, country, include_resolved=all_)
    cols = ["source_file", "source_locator", "field", "value", "reason", "profile", "country",
            "status"]
    print_frame(df[cols], format, "quarantine", empty="no quarantined rows")


@imports_app.callback()
def imports(ctx: typer.Context, format: Listing = ListFormat.table):
    """List the imports that ran, newest last, with what each changed (same as `imports list`)."""
    if ctx.invoked_subcommand is None:
        imports_list(format)
    elif format != ListFormat.table:  # an option accepted acts, or is refused
        raise QueryError(f"--format before `{ctx.invoked_subcommand}` is the listing's; give "
                         f"it after: mineledger imports {ctx.invoked_subcommand} --format "
                         f"{format.value}")


@imports_app.command("list")
def imports_list(format: Listing = ListFormat.table):
    """List the imports that ran, newest last, with what each changed."""
    import pandas as pd

    from mineledger.ledger.history import import_rows

    with opened() as session:
        df = import_rows(session)
    cols = ["finished_at", "profile", "source_file", "rows_read", "inserted", "updated",
            "unchanged", "quarantined", "user_name", "import_id", "reverted_at"]
    df = df[cols].copy()
    for col in ("finished_at", "reverted_at"):
        df[col] = [t.isoformat(timespec="seconds") if t is not None and not pd.isna(t) else None
                   for t in df[col]]
    if format == ListFormat.table:  # the id's first 8 characters are enough for show/revert
        df["id"] = df["import_id"].str[:8]
        df["reverted"] = ["reverted " + t if t else "" for t in df["reverted_at"]]
        df = df.drop(columns=["import_id", "user_name", "reverted_at"]).rename(columns={
            "finished_at": "finished (UTC)", "rows_read": "rows", "inserted": "new",
            "updated": "upd", "unchanged": "same", "quarantined": "quar"})
    print_frame(df, format, "imports", empty="no imports yet")


@imports_app.command("show")
def imports_show(
    import_id: Annotated[str, typer.Argument(metavar="IMPORT_ID", help="The import (or a prefix of its id).")],
):
    """Show one import: its source, profile, counts and what it changed, and whether it was
    reverted."""
    from mineledger.ledger.history import import_details

    with opened() as session:
        d = import_details(session, import_id)
    for key in ("import_id", "started_at", "finished_at", "user_name", "command", "profile",
                "layer", "country", "source_file", "source_checksum", "rows_read", "inserted",
                "updated", "unchanged", "quarantined", "reverted_at"):
        value = d.get(key)
        if hasattr(value, "isoformat"):  # instants as everywhere else: seconds, UTC offset
            value = value.isoformat(timespec="seconds")
        say(f"{key:16} {value if value is not None else ''}")
    for key, n in sorted(d["changes"].items()):
        say(f"  changes: {key:28} {n:,}")


@imports_app.command("revert")
def imports_revert(
    import_id: Annotated[str, typer.Argument(metavar="IMPORT_ID", help="The import (or a prefix of its id).")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (kept in the change log).")],
):
    """Undo an import through the change log: its new records are deleted and the records it
    changed get their earlier state back; the history stays visible."""
    from mineledger.ledger.history import revert_import

    with opened() as session:
        counts = revert_import(session, import_id, reason=reason)
    say(f"import {import_id} reverted: {counts['deleted']:,} record(s) deleted, "
        f"{counts['restored']:,} restored")


@app.command()
def history(
    record: Annotated[str, typer.Argument(metavar="RECORD", help="A record's UUID (or its first 8+ characters).")],
    format: Listing = ListFormat.table,
):
    """Every change to a record: when (UTC), who, which import or command, why, and the
    fields before and after."""
    import pandas as pd
    from mineledger.ledger.asof import instant_text
    from mineledger.ledger.history import record_history

    with opened() as session:
        rows = record_history(session, record)
    table = pd.DataFrame([{
        "at": instant_text(r["at"]), "user": r["user_name"], "action": r["action"],
        "layer": r["layer"], "command": r["command"], "import_id": r["import_id"],
        "reason": r["reason"],
        "changed": "; ".join(f"{k}: {b!r} → {a!r}" for k, (b, a) in r["changed"].items())}
        for r in rows])
    print_frame(table, format, f"history of {rows[0]['record_uuid']}", empty="no changes")


@app.command()
def changes(
    since: Annotated[str, typer.Option("--since", metavar="DATE|TIME",
                                       help="From the start of this day (UTC), or this time.")],
    until: Annotated[Optional[str], typer.Option("--until", metavar="DATE|TIME",
                                                 help="Up to the end of this day, or this time.")] = None,
    format: Listing = ListFormat.table,
):
    """What changed in a window: every import, link run, fix, revert and edit committed in
    it — when (UTC), who, the command, its id and what it changed."""
    import pandas as pd

    from mineledger.ledger.asof import instant_text
    from mineledger.ledger.history import changes as list_changes

    with opened() as session:
        rows = list_changes(session, since, until)
    frame = pd.DataFrame([{
        "committed_at": instant_text(r["committed_at"]), "user": r["user_name"],
        "kind": r["kind"], "id": r["id"], "command": r["command"],
        # JSON keeps the counts as data ({"events update": 1022}); a table or CSV cell, text
        "changed": dict(sorted(r["changed"].items())) if format == ListFormat.json else
        "; ".join(f"{k} {n}" for k, n in sorted(r["changed"].items()))}
        for r in rows], columns=["committed_at", "user", "kind", "id", "command", "changed"])
    print_frame(frame, format, f"changes since {since}", empty="no changes in that window")
