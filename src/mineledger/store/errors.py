"""What a database refused that no check of mineledger foresaw (a permission, a constraint),
as the store's callers catch it; light to import."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError as DatabaseRefused

from mineledger.store.locations import hide_passwords

__all__ = ["DatabaseRefused", "refusal"]


def refusal(exc: DatabaseRefused) -> str:
    """The first line of the database's reason, passwords hidden."""
    return hide_passwords(str(exc.orig or exc).strip().splitlines()[0])
