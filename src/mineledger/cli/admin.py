"""``mineledger users``, ``settings``, ``backup``, ``restore``, ``migrate`` and ``db``: the
store as a whole and who may use it (admins)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from mineledger.cli.common import (ListFormat, Listing, app, group, opened, out, print_frame,
                                   rich_progress, say, state)

users_app = group("users", "Users of the store and their roles (admin).")
settings_app = group("settings", "Settings of the store (admin).")
db_app = group("db", "The store's schema: its revision, and upgrading it (Alembic).")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    role: Annotated[str, typer.Option(metavar="ROLE", help="admin, officer, operator, viewer or public.")],
    country: Annotated[Optional[str], typer.Option(metavar="ISO3", help="The country the user works in (officer, operator: required).")] = None,
    organisation: Annotated[Optional[str], typer.Option(metavar="ORG", help="An operator's organisation (required for operators).")] = None,
):
    """Add a user, or change one's role. The first user added must be an admin."""
    from mineledger.access.users import put_user

    with opened() as session:
        row = put_user(session, name, role, country=country, organisation=organisation)
    say(f"user {row['name']}: {row['role']}"
        + "".join(f" {x}" for x in (row["country"], row["organisation"]) if x))


@users_app.command("list")
def users_list(format: Listing = ListFormat.table):
    """List the store's users and their roles."""
    from mineledger.access.users import list_users

    with opened() as session:
        df = list_users(session)
    print_frame(df, format, "users", empty="no users: this is a one-person store (its user is admin)")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(metavar="NAME")]):
    """Remove a user."""
    from mineledger.access.users import remove_user

    with opened() as session:
        remove_user(session, name)
    say(f"user {name} removed")


@settings_app.command("show")
def settings_show():
    """Show the store's settings."""
    from mineledger.access.users import show_settings

    with opened() as session:
        for key, value in sorted(show_settings(session).items()):
            say(f"{key} = {value}")


@settings_app.command("set")
def settings_set(
    key: Annotated[str, typer.Argument(metavar="KEY", help="timezone, or operator_reads:ISO3.")],
    value: Annotated[str, typer.Argument(metavar="VALUE")],
):
    """Set a setting: `timezone ZONE` (the days --as-of DATE means; IANA name, default UTC),
    `operator_reads:ISO3 all|own` (whether operators read other organisations' records)."""
    from mineledger.access.users import set_setting

    with opened() as session:
        set_setting(session, key, value)
    say(f"{key} = {value}")


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

    with opened(check_schema=False) as session:
        digest = backup_store(session, out_path)
    say(f"backup written: {out_path} (sha256 {digest}, in {out_path}.sha256)")


@app.command()
def restore(
    backup_path: Annotated[Path, typer.Argument(metavar="FILE", help="A backup written by `mineledger backup`.")],
    force: Annotated[bool, typer.Option(help="Replace an existing store.")] = False,
):
    """Restore a backup into the store (--store) after verifying its checksum and that it is
    a mineledger store; an existing store is replaced only with --force."""
    from mineledger.ledger.backup import restore_store

    again = restore_store(backup_path, state.store, force=force, user=state.user)
    say(f"restored {backup_path} into {state.store}"
        + (f"; {again} erasure(s) made since the backup re-applied" if again else ""))


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
    from mineledger.ledger.migration import migrate_store
    from mineledger.ledger.migration import total_rows

    with opened(source or None) as session, ExitStack() as bars:
        shown = []

        def progress(n):  # the bar appears once the target is accepted and rows move
            if not shown:
                shown.append(bars.enter_context(rich_progress("migrating", total_rows(session))))
            shown[0](n)

        report = migrate_store(session, target, force=force, user=state.user, progress=progress)
    table = Table(title=f"{report.source} → {report.target}".replace("[", "\\["))
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("sha256 (both sides)")
    for t in report.tables:
        table.add_row(t.name, f"{t.rows:,}", t.checksum[:16])
    out.print(table)
    say(f"{report.rows:,} rows in {len(report.tables)} tables copied and verified")


@db_app.command("status")
def db_status():
    """Show the store's schema revision and the one this mineledger needs."""
    from mineledger.ledger.migration import schema_status

    with opened(check_schema=False) as session:
        current, head, known = schema_status(session)
        location = session.location
    advice = ("" if current == head else " (run `mineledger db upgrade`)" if known else
              " (written by a newer or a development version of mineledger; it cannot upgrade it)")
    say(f"{location}: schema revision {current}; this mineledger needs {head}{advice}")


@db_app.command("upgrade")
def db_upgrade():
    """Bring the store's schema to this mineledger's revision (Alembic migrations, in one
    transaction; back the store up first)."""
    from mineledger.ledger.migration import upgrade_store

    with opened(check_schema=False) as session:
        before, after = upgrade_store(session)
        location = session.location
    say(f"{location}: schema revision {before} → {after}" if before != after else
        f"{location}: schema already at revision {after}")


figures_app = group("figures", "The headline figures kept at each commit: rebuild or check them (admin).")


@figures_app.command("rebuild")
def figures_rebuild():
    """Recompute every country's stored headline figures from its records (they are kept at
    each commit; rebuild if `figures check` finds them wrong)."""
    from mineledger.land.figures import rebuild

    with opened() as session:
        countries = rebuild(session)
    say(f"figures rebuilt for {len(countries)} "
        f"{'country' if len(countries) == 1 else 'countries'}"
        + (f": {', '.join(countries)}" if countries else ""))


@figures_app.command("check")
def figures_check():
    """Compare the stored headline figures with a full recomputation; exit status 1 if any
    differ (each difference is printed)."""
    from mineledger.land.figures import check

    with opened() as session:
        found = check(session)
    bad = False
    for result in found:
        if result.differences:
            bad = True
            say(f"{result.country}: {len(result.differences)} difference(s) from a full "
                "recomputation (run `mineledger figures rebuild`):")
            for line in result.differences[:50]:
                say(f"  {line}")
        else:
            say(f"{result.country}: the stored figures equal a full recomputation "
                f"({result.cells:,} cells of land, and the counts of events, victims and "
                "records)")
    if bad:
        raise typer.Exit(1)
