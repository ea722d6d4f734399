"""Storage safety: consistent backups while others use the store, and restores that verify
before they replace anything.

A backup is a GeoPackage store file. Of an embedded store it is taken with SQLite's online
backup API, page by page inside one read transaction, so it is the store as it stood at one
instant even while an import is writing (WAL); of a PostgreSQL store it is a migration into a
new GeoPackage from one REPEATABLE READ snapshot, every table counted and checksummed (see
:mod:`mineledger.ledger.migration`). Its SHA-256 is written beside it (``FILE.sha256``, in
``sha256sum`` format). ``restore`` checks the checksum, that the file is a mineledger store
this version knows and that SQLite finds it intact, before it copies it into place (or
migrates it into the PostgreSQL database), then upgrades an older schema.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.exc import OperationalError

from mineledger.errors import SourceError, StoreError
from mineledger.access.roles import Action, require
from mineledger.store.base import Store


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup_store(store: Store, out: str | Path) -> str:
    """Write a consistent copy of the store to the GeoPackage ``out`` and its checksum to
    ``out.sha256``; returns the SHA-256 (hex).

    Raises
    ------
    PermissionDenied
        Only admins back up and restore.
    SourceError
        ``out`` exists, or its folder does not.
    StoreError
        A PostgreSQL store's copy did not verify (nothing is left behind).
    """
    require(store, Action.BACKUP)
    out = Path(out)
    if out.exists():
        raise SourceError(f"{out} exists; name a new file for the backup")
    if not out.parent.is_dir():
        raise SourceError(f"{out}: the folder {out.parent} does not exist")
    path = getattr(store, "path", None)
    if path is None:  # PostgreSQL: the same content, moved into a GeoPackage and verified
        from mineledger.ledger.migration import migrate_store
        from mineledger.store import revisions

        with store.engine.connect() as conn:
            current = revisions.current(conn)
        if current != revisions.head():
            raise StoreError(f"{store.location}: the schema is at revision {current}; a backup "
                             "is written at this mineledger's revision, so back this database "
                             "up with pg_dump before `mineledger db upgrade`")

        migrate_store(store, str(out))
        return _write_sum(out)
    partial = out.with_name(out.name + ".partial")
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # one consistent snapshot, whatever writers do meanwhile
            # WAL, as the store itself: opening the backup to look inside then leaves its
            # bytes (and so its checksum) as they are; the WAL is folded in on close
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, out)
    return _write_sum(out)


def _write_sum(out: Path) -> str:
    digest = _sha256(out)
    Path(f"{out}.sha256").write_text(f"{digest}  {out.name}\n", encoding="utf-8")
    return digest


def verify_backup(backup: str | Path) -> str:
    """Check a backup against its ``.sha256`` and that it opens as an intact mineledger
    store; returns the checksum.

    Raises
    ------
    SourceError
        No backup or checksum file, a checksum that does not match (the file changed or was
        damaged), or a file that is not an intact mineledger store.
    """
    backup = Path(backup)
    if not backup.is_file():
        raise SourceError(f"{backup}: no such backup")
    sums = Path(f"{backup}.sha256")
    if not sums.is_file():
        raise SourceError(f"{backup}: no checksum file {sums.name} beside it; a backup is "
                          "restored only when it can be verified")
    expected = sums.read_text(encoding="utf-8").split()[0].lower() if sums.read_text().strip() else ""
    actual = _sha256(backup)
    if actual != expected:
        raise SourceError(f"{backup}: checksum {actual[:16]}… does not match {sums.name} "
                          f"({expected[:16]}…): the file changed or is damaged; not restored")
    try:
        con = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
            version = con.execute("SELECT value FROM mineledger_meta WHERE key='schema_version'"
                                  ).fetchone()
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            revision = con.execute("SELECT version_num FROM alembic_version").fetchone() \
                if "alembic_version" in tables else None
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise SourceError(f"{backup}: not a mineledger store ({exc})") from None
    if ok != "ok":
        raise SourceError(f"{backup}: SQLite finds it damaged ({ok}); not restored")
    from mineledger.store import revisions

    known = revisions.known()
    rev = revision[0] if revision else revisions.legacy(version[0] if version else None)
    if rev not in known:
        raise SourceError(f"{backup}: store schema {rev or 'unknown'}, not one this mineledger "
                          f"knows (it reads revision {revisions.head()}); not restored")
    return actual


def _require_admin_of_file(path: Path, user: str | None) -> None:
    """The acting user must be an admin of the store in ``path`` (read without changing a
    byte of it: opening it as a store would switch it to WAL and change its checksum)."""
    from mineledger.access.roles import Actor, PermissionDenied, Role, acting_name, authorize

    name = acting_name(user)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT name, role, country, organisation FROM users").fetchall()
    finally:
        con.close()
    if not rows:
        return  # a one-person store: its user is admin
    found = [r for r in rows if r[0] == name]
    if not found:
        raise PermissionDenied(f"{name!r} is not a user of the store in {path}")
    _, role, country, org = found[0]
    authorize(Actor(name, Role(role), country, org), Action.BACKUP)


def restore_store(backup: str | Path, target: str | Path, *, force: bool = False,
                  user: str | None = None) -> int:
    """Replace (or create) the store at ``target`` with a verified backup.

    An existing target is replaced only with ``force``, and only by an admin of it, through
    SQLite's backup API (it waits for a running import, and nobody's connection is left on a
    swapped file); a damaged target, or none, gets a copy moved into place in one step.
    Victims' data erased after the backup was taken is erased again. Returns how many such
    erasures were re-applied.

    Raises
    ------
    SourceError
        The backup does not verify (see :func:`verify_backup`).
    StoreError
        The target exists and ``force`` is not given.
    PermissionDenied
        The acting user is not an admin of the existing store (or of the backup, if there is
        none yet).
    """
    from mineledger.store import open_store

    verify_backup(backup)
    from mineledger.store.postgis import is_postgres_url

    if is_postgres_url(str(target)):
        return _restore_into_postgres(Path(backup), str(target), force, user)
    target = Path(target)
    usable = False
    if target.exists():
        if not force:
            raise StoreError(f"{target} exists; pass --force to replace it with the backup")
        try:
            with open_store(target, create=False, user=user) as current:
                require(current, Action.BACKUP)
                current.read_table("users")
            usable = True
        except (StoreError, sqlite3.DatabaseError, OperationalError):
            # a damaged store (the reason to restore): the backup's admins decide
            _require_admin_of_file(Path(backup), user)
    else:
        _require_admin_of_file(Path(backup), user)
    if usable:
        # into the live store with SQLite's backup API: it takes the store's locks, so a
        # running import finishes first (or waits), and every open connection sees the
        # restored content — no file is swapped under anyone
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        from mineledger.store.base import lock_timeout_s

        dst = sqlite3.connect(target, timeout=lock_timeout_s())
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restore",
                                   dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(backup, tmp)
            for suffix in ("-wal", "-shm"):  # a damaged store's journal is not the backup's
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return _after_restore(target, user)


def _after_restore(target, user) -> int:
    """Bring a restored store to this version's schema, and erase again the victims' data
    erased after the backup was taken (their list is kept beside the store key, outside the
    store); returns how many erasures were re-applied."""
    from mineledger.victims.personal import reapply_erasures
    from mineledger.store import open_store

    with open_store(target, create=False, user=user, check_schema=False) as restored:
        restored.upgrade_schema()
    with open_store(target, create=False, user=user) as restored:
        return reapply_erasures(restored)


def _restore_into_postgres(backup: Path, target: str, force: bool, user: str | None) -> int:
    """Migrate a verified backup into the PostgreSQL database ``target`` (replacing a store
    there only with ``force``, and only by its admin), in one transaction."""
    from mineledger.ledger.migration import migrate_store
    from mineledger.store import open_store

    with open_store(target, user=user, check_schema=False) as current:
        from mineledger.ledger.migration import has_records

        if has_records(current):
            if not force:
                raise StoreError(f"{current.location} holds a store; pass --force to replace it "
                                 "with the backup")
            require(current, Action.BACKUP)
        else:
            _require_admin_of_file(backup, user)
    with tempfile.TemporaryDirectory() as tmp:  # the backup's bytes stay as they are
        copy = Path(tmp) / backup.name
        shutil.copyfile(backup, copy)
        with open_store(copy, create=False, user=user, check_schema=False) as source:
            source.upgrade_schema()
            from mineledger.access.roles import Actor, Role, acting_name

            # the right to restore was checked above, against the store being replaced (or,
            # into an empty database, against the backup's own admins)
            source._actor = Actor(acting_name(user), Role.ADMIN, None, None)
            migrate_store(source, target, force=True, user=user)
    return _after_restore(target, user)
