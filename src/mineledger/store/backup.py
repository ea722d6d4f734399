"""Backups of a store and restores, the mechanics (who may do them is decided by the caller,
:mod:`mineledger.ledger.backup`).

A backup is a GeoPackage store file. Of an embedded store it is taken with SQLite's online
backup API, page by page inside one read transaction, so it is the store as it stood at one
instant even while an import is writing (WAL); of a PostgreSQL store it is a copy into a new
GeoPackage from one REPEATABLE READ snapshot, every table counted and checksummed
(:mod:`mineledger.store.copy`). Its SHA-256 is written beside it (``FILE.sha256``, in
``sha256sum`` format). A backup is restored only after its checksum, its schema revision and
SQLite's integrity check are verified.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.exc import OperationalError

from mineledger.errors import SourceError, StoreError
from mineledger.store import revisions
from mineledger.store.base import Store
from mineledger.store.copy import copy_file_into, copy_store
from mineledger.store.geopackage import GeoPackageStore
from mineledger.store.postgis import BlankDatabase, PostGISStore


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: SQLite's result codes for a write the file system refused: SQLITE_IOERR, SQLITE_FULL.
_SQLITE_DISK_ERRORS = {10: errno.EIO, 13: errno.ENOSPC}


def _sqlite_copy(store: GeoPackageStore, copy: Path) -> None:
    """SQLite's online backup of the embedded store into the new file ``copy``."""
    src = sqlite3.connect(store.reading_uri(), uri=True)
    try:
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # one consistent snapshot, whatever writers do meanwhile
            # WAL, as the store itself: opening the backup to look inside then leaves its
            # bytes (and so its checksum) as they are; the WAL is folded in on close
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    except sqlite3.OperationalError as exc:  # "database or disk is full" …
        code = _SQLITE_DISK_ERRORS.get(getattr(exc, "sqlite_errorcode", 0) & 0xFF)
        if code is None:
            raise
        raise OSError(code, str(exc)) from None
    finally:
        src.close()


def backup_file(store: Store, out: Path) -> str:
    """Write a consistent copy of ``store`` to the new GeoPackage ``out`` and its checksum to
    ``out.sha256``; returns the SHA-256 (hex). Both are written in a folder beside ``out``
    and moved into place when whole: whatever fails, no partial file is left.

    Raises
    ------
    StoreError
        A PostgreSQL store at an older schema revision (back it up with pg_dump before
        upgrading it), or a copy that did not verify (nothing is left behind).
    OSError
        The file system refused a write (a full disk, a quota, a read-only folder); nothing
        is left behind.
    """
    if not isinstance(store, GeoPackageStore):  # PostgreSQL: moved into a GeoPackage, verified
        current = store.schema_revision()
        if current != revisions.head():
            raise StoreError(f"{store.location}: the schema is at revision {current}; a backup "
                             "is written at this mineledger's revision, so back this database "
                             "up with pg_dump before `mineledger db upgrade`")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        copy, sums = staging / out.name, staging / f"{out.name}.sha256"
        if isinstance(store, GeoPackageStore):
            _sqlite_copy(store, copy)
        else:
            copy_store(store, str(copy))
        digest = sha256_of(copy)
        sums.write_text(f"{digest}  {out.name}\n", encoding="utf-8")
        os.replace(copy, out)
        try:
            os.replace(sums, f"{out}.sha256")
        except OSError:  # a backup without its checksum would not be restored
            out.unlink(missing_ok=True)
            raise
        return digest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def verify_backup_file(backup: Path) -> str:
    """Check a backup against its ``.sha256`` and that it opens as an intact mineledger
    store of a schema revision this version knows; returns the checksum.

    Raises
    ------
    SourceError
        No backup or checksum file, a checksum that does not match (the file changed or was
        damaged), or a file that is not an intact mineledger store.
    """
    if not backup.is_file():
        raise SourceError(f"{backup}: no such backup")
    sums = Path(f"{backup}.sha256")
    if not sums.is_file():
        raise SourceError(f"{backup}: no checksum file {sums.name} beside it; a backup is "
                          "restored only when it can be verified")
    text = sums.read_text(encoding="utf-8")
    expected = text.split()[0].lower() if text.strip() else ""
    actual = sha256_of(backup)
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
    rev = revision[0] if revision else revisions.legacy(version[0] if version else None)
    if rev not in revisions.known():
        raise SourceError(f"{backup}: store schema {rev or 'unknown'}, not one this mineledger "
                          f"knows (it reads revision {revisions.head()}); not restored")
    return actual


def users_of_store_file(path: Path) -> list[tuple[str, str, str | None, str | None]] | None:
    """The users of the store file ``path`` (name, role, country, organisation), read without
    changing a byte of it; ``None`` for a damaged store (SQLite cannot read its users).

    Raises
    ------
    StoreError
        The file is not a mineledger store (another kind of file, or a SQLite/GeoPackage file
        of something else): a restore never replaces it.
    """
    with open(path, "rb") as fh:
        head = fh.read(16)
    refusal = (f"{path}: not a mineledger store; a restore replaces only a store (move the "
               "file away, or name another --store)")
    if head and head != b"SQLite format 3\x00":
        raise StoreError(refusal)
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if "mineledger_meta" not in tables:
                raise StoreError(refusal)
            return con.execute("SELECT name, role, country, organisation FROM users").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return None


def postgres_holds_records(url: str) -> bool:
    """Whether the PostgreSQL database at ``url`` holds a store with records; nothing is
    built in an empty database.

    Raises
    ------
    StoreError
        The database cannot be reached, or holds other tables.
    """
    try:
        with PostGISStore(url, create=False, check_schema=False) as store:
            return store.has_records()
    except BlankDatabase:
        return False


def users_in_file(path: Path) -> list[tuple[str, str, str | None, str | None]]:
    """The users of the store file ``path`` (name, role, country, organisation), read
    without changing a byte of it (opening it as a store would switch it to WAL and change
    its checksum)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT name, role, country, organisation FROM users").fetchall()
    finally:
        con.close()


def openable(target: Path) -> GeoPackageStore | None:
    """The store in ``target`` if it opens as one (the caller closes it), else None (a damaged
    store: the reason to restore)."""
    try:
        store = GeoPackageStore(target, create=False, check_schema=False)
        store.read_table("users")
        return store
    except (StoreError, sqlite3.DatabaseError, OperationalError):
        return None


def restore_file(backup: Path, target: Path, *, live: bool) -> None:
    """Put a verified backup in place of the store file ``target``: into a ``live`` store
    through SQLite's backup API (it takes the store's locks, so a running import finishes
    first, and every open connection sees the restored content); otherwise a copy moved into
    place in one step (a damaged store's journal is removed, it is not the backup's)."""
    if live:
        copy_file_into(backup, target, what="restore")
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restore", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(backup, tmp)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def restore_into_postgres(backup: Path, target: str, *, may_replace=None) -> None:
    """Copy a verified backup into the PostgreSQL database ``target``, replacing what is there,
    in one transaction; the backup's bytes stay as they are (a copy is upgraded to this
    version's schema first). ``may_replace(store)`` is asked, under the writers' lock, if the
    database holds records when the copy starts."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / backup.name
        shutil.copyfile(backup, copy)
        with GeoPackageStore(copy, create=False, check_schema=False) as source:
            source.upgrade_schema()
            copy_store(source, target, force=True, may_replace=may_replace)
