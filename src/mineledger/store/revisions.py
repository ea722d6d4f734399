"""Schema revisions of a store, kept by Alembic: one history for both back ends.

A new store is built whole from :mod:`mineledger.store.schema` and stamped with the head
revision; an older store is refused until ``mineledger db upgrade`` (:func:`upgrade`) runs
the revisions in ``store/migrations/versions`` on it, in one transaction.

>>> head()
'0004'
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from mineledger.errors import StoreError

_MIGRATIONS = Path(__file__).with_name("migrations")
#: ``schema_version`` in ``mineledger_meta`` of stores made before Alembic, and the revision
#: that stands for it.
_LEGACY = {"8": "0001"}


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The revision this mineledger writes and reads."""
    return _script().get_current_head()


def current(conn: Connection) -> str | None:
    """The store's revision: Alembic's, else the one standing for a pre-Alembic
    ``schema_version``; ``None`` if neither is known."""
    rev = MigrationContext.configure(conn).get_current_revision()
    if rev is not None:
        return rev
    if inspect(conn).has_table("mineledger_meta"):
        legacy = conn.execute(text(
            "SELECT value FROM mineledger_meta WHERE key = 'schema_version'")).scalar()
        return _LEGACY.get(legacy, f"schema version {legacy}" if legacy else None)
    return None


def known() -> set[str]:
    """Every revision in this mineledger's history."""
    return {s.revision for s in _script().walk_revisions()}


def legacy(schema_version: str | None) -> str | None:
    """The revision standing for a pre-Alembic ``schema_version``, if any."""
    return _LEGACY.get(schema_version)


def stamp_head(conn: Connection) -> None:
    """Mark a store just built from the schema as being at the head revision."""
    MigrationContext.configure(conn).stamp(_script(), "head")


def check(conn: Connection, location: str) -> None:
    """Refuse a store whose schema is not the head revision, saying what to do.

    Raises
    ------
    StoreError
        Older revision (run ``mineledger db upgrade``), or a revision this mineledger does not
        know (written by a newer version).
    """
    rev, want = current(conn), head()
    if rev == want:
        return
    if rev in known():
        raise StoreError(f"{location}: the store's schema is at revision {rev}, this mineledger "
                         f"needs {want}; back it up, then run `mineledger --store {location} "
                         "db upgrade`")
    raise StoreError(f"{location}: the store's schema ({rev or 'unknown'}) is not one this "
                     f"mineledger knows (it reads revision {want}); it was written by a newer "
                     "or a development version of mineledger")


def upgrade(conn: Connection) -> tuple[str | None, str]:
    """Run the pending revisions on ``conn`` (inside its transaction); returns (before, after).

    Raises
    ------
    StoreError
        The store's revision is unknown to this mineledger.
    """
    before = current(conn)
    if before not in known():
        raise StoreError(f"the store's schema ({before or 'unknown'}) is not one this mineledger "
                         "can upgrade")
    if MigrationContext.configure(conn).get_current_revision() is None:
        MigrationContext.configure(conn).stamp(_script(), before)  # a pre-Alembic store
    cfg = _config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")
    return before, head()
