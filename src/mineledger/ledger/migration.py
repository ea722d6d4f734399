"""Moving a whole store from one back end to another (``mineledger migrate``), and bringing
a store's schema up to date (``mineledger db upgrade``): admins only. The copy and its
verification are the store's mechanics (:mod:`mineledger.store.copy`)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mineledger.access import Action, Session
from mineledger.store import revisions
from mineledger.store.base import Store
from mineledger.store.copy import MigrationReport, TableCopy, copy_store

__all__ = ["MigrationReport", "TableCopy", "migrate_store", "schema_status", "total_rows",
           "upgrade_store"]


def migrate_store(session: Session, target: str | Path, *, force: bool = False,
                  user: str | None = None,
                  progress: Callable[[int], None] | None = None) -> MigrationReport:
    """Copy the whole store of ``session`` into the store at ``target`` (a ``postgresql://``
    URL or a ``.gpkg`` path) and verify it.

    Parameters
    ----------
    session : Session
        The store to move, at the current schema revision (``mineledger db upgrade`` it
        first), and who acts (an admin).
    target : str
        An empty PostgreSQL database (PostGIS installed or installable), an empty store, or a
        GeoPackage path that does not exist yet.
    force : bool
        Replace a target that holds records (every table of it is emptied first, in the same
        transaction) — only if ``user`` is an admin of the target.
    user : str, optional
        Who acts on the target (default: the session's user).
    progress : callable, optional
        Called with the number of rows copied, batch by batch.

    Returns
    -------
    MigrationReport
        Rows and SHA-256 of every table, equal on both sides.

    Raises
    ------
    PermissionDenied
        Only admins move stores (the same right as backup and restore).
    StoreError
        The target holds records and ``force`` is false; it is the source itself; it cannot be
        reached or built; or a table differs after the copy (then nothing was changed).
    """
    session.require(Action.BACKUP)

    def may_replace(target_store: Store) -> None:
        Session(target_store, user or session.user_name).require(Action.BACKUP)

    return copy_store(session.store, target, force=force, may_replace=may_replace,
                      progress=progress)


def total_rows(session: Session) -> int:
    """Rows in every table of the store (for progress)."""
    return session.store.row_total()


def upgrade_store(session: Session) -> tuple[str | None, str]:
    """Bring the store's schema to this mineledger's revision (admins), in one transaction;
    returns the revisions before and after.

    Raises
    ------
    PermissionDenied
    StoreError
        The upgrade failed (nothing was changed).
    """
    session.require(Action.BACKUP)
    return session.store.upgrade_schema()


def schema_status(session: Session) -> tuple[str | None, str, bool]:
    """(the store's schema revision, the one this mineledger needs, whether this mineledger
    knows the store's revision — so that ``db upgrade`` can bring it up)."""
    current = session.store.schema_revision()
    return current, revisions.head(), current in revisions.known()
