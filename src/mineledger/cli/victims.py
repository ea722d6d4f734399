"""``mineledger victims show|correct|erase``: victims' personal data, every access recorded."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from mineledger.cli.common import group, opened, say
from mineledger.errors import QueryError

victims_app = group("victims", "Victims' personal data: show, correct, erase (recorded).")


@victims_app.command("show")
def victims_show(
    victim: Annotated[str, typer.Argument(metavar="UUID", help="The victim record (8+ characters of its UUID).")],
    purpose: Annotated[str, typer.Option(metavar="TEXT", help="Why you read it (recorded).")],
):
    """Show a victim's personal data (officers and admins; every read is recorded)."""
    from mineledger.victims import personal

    with opened() as session:
        uid = personal.find_victim(session, victim)
        values = personal.read(session, [uid], purpose=purpose).get(uid)
    if not values:
        say(f"{uid}: no personal data (none recorded, or erased)")
        return
    for key, value in values.items():
        say(f"{key:16} {value}")


def _changes(items: list[str]) -> dict[str, str | None]:
    changes = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:  # never repeat the value: it may be a person's data
            raise QueryError("--set: expected FIELD=VALUE, such as address=…")
        if name == "date_of_birth" and value:
            try:
                value = dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise QueryError("--set date_of_birth=…: expected a date as YYYY-MM-DD") from None
        changes[name] = value or None
    return changes


@victims_app.command("correct")
def victims_correct(
    victim: Annotated[str, typer.Argument(metavar="UUID")],
    set_: Annotated[list[str], typer.Option("--set", metavar="FIELD=VALUE", help="name, date_of_birth, address or personal_notes (repeatable; empty value removes it).")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why (recorded).")],
):
    """Correct a victim's personal data; the change is recorded, encrypted."""
    from mineledger.victims import personal

    changes = _changes(set_)
    with opened() as session:
        uid = personal.find_victim(session, victim)
        personal.correct(session, uid, changes, reason=reason)
    say(f"{uid}: personal data corrected ({', '.join(changes)})")


@victims_app.command("erase")
def victims_erase(
    victim: Annotated[str, typer.Argument(metavar="UUID")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="The lawful request (recorded).")],
):
    """Erase a victim's personal data on a lawful request: its key is destroyed, so no copy
    in the store or its history can be read again; the erasure is recorded."""
    from mineledger.victims import personal

    with opened() as session:
        uid = personal.find_victim(session, victim)
        done = personal.erase(session, uid, reason=reason)
    say(f"{uid}: " + ("personal data erased" if done else "no personal data to erase"))
