"""Copying a whole store into another, between back ends (the mechanics of ``mineledger
migrate``, of backing up a PostgreSQL store and of restoring into one).

Every table of the schema is copied row for row, ``fid`` included: the records, the change
log and its transactions (so ``--as-of`` and ``history`` work on the copy), imports,
quarantine, findings, lineage, users, settings (the store id, so the key of victims' personal
data still opens it) and the encrypted personal data with its access log. Then each table is
counted and checksummed on both sides; any difference undoes the copy. The copy is one
transaction on PostgreSQL, and a GeoPackage is written beside its final name and moved into
place only when verified, so a failed copy leaves the target as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import shapely
from sqlalchemy import Connection, Table, select, text
from sqlalchemy.exc import DBAPIError

from mineledger.errors import StoreError
from mineledger.store import revisions, schema
from mineledger.store.base import Store, lock_timeout_s
from mineledger.store.geopackage import GeoPackageStore
from mineledger.store.postgis import PostGISStore, hide_passwords, is_postgres_url

#: Rows read and written per round trip.
_BATCH = 2000


@dataclass
class TableCopy:
    """One table moved: rows on each side and their SHA-256 (see :func:`table_checksum`)."""

    name: str
    rows: int
    checksum: str


@dataclass
class MigrationReport:
    source: str
    target: str
    tables: list[TableCopy] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def _tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(schema.metadata.sorted_tables)


def _order(table: Table):
    return table.c.fid if "fid" in table.c else table.c[table.primary_key.columns.keys()[0]]


def _canonical(value: Any) -> Any:
    if isinstance(value, shapely.Geometry):
        return "geom:" + shapely.to_wkb(value, hex=True, output_dimension=2, byte_order=1)
    if isinstance(value, (bytes, memoryview)):
        return "bytes:" + bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def _rows(conn: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in ``fid`` order, in batches, as the schema's Python values."""
    result = conn.execution_options(yield_per=_BATCH).execute(select(table).order_by(_order(table)))
    for batch in result.mappings().partitions(_BATCH):
        yield [dict(r) for r in batch]


def _refuse_nul(table: Table, batch: list[dict[str, Any]]) -> None:
    """PostgreSQL text cannot hold NUL (``\\x00``), which an older embedded store may; name
    the row rather than fail inside the copy."""
    for row in batch:
        for key, value in row.items():
            if isinstance(value, str) and "\x00" in value:
                raise StoreError(
                    f"migrate: table {table.name}, fid {row.get('fid', row.get('key'))}, "
                    f"column {key}: the text holds a NUL character (\\x00), which PostgreSQL "
                    "cannot store; correct it in the source store first")


def table_checksum(conn: Connection, table: Table) -> tuple[int, str]:
    """(rows, SHA-256) of a table: every row in ``fid`` order, every column by name, values
    as the schema reads them (geometries as little-endian 2D WKB, instants in UTC), so that
    the same content gives the same checksum on either back end."""
    digest = hashlib.sha256()
    n = 0
    for batch in _rows(conn, table):
        for row in batch:
            digest.update(json.dumps({k: _canonical(v) for k, v in row.items()}, sort_keys=True,
                                     default=str, ensure_ascii=False).encode())
            digest.update(b"\n")
            n += 1
    return n, digest.hexdigest()


def _copy(src: Connection, dst: Connection, report: MigrationReport, progress=None) -> None:
    for table in _tables():
        if table.name == "mineledger_meta":
            dst.execute(table.delete())  # the target's own id and settings give way
        for batch in _rows(src, table):
            if dst.dialect.name == "postgresql":
                _refuse_nul(table, batch)
            dst.execute(table.insert(), batch)
            if progress:
                progress(len(batch))
        if dst.dialect.name == "postgresql" and "fid" in table.c:
            dst.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'fid'), "
                f"coalesce((SELECT max(fid) FROM {table.name}), 0) + 1, false)"))
    for table in _tables():
        n_src, sum_src = table_checksum(src, table)
        n_dst, sum_dst = table_checksum(dst, table)
        if (n_src, sum_src) != (n_dst, sum_dst):
            raise StoreError(f"migrate: table {table.name} differs after the copy ({n_src} rows "
                             f"read, {n_dst} written; checksums {sum_src[:12]} and "
                             f"{sum_dst[:12]}); nothing was changed in {report.target}")
        report.tables.append(TableCopy(table.name, n_dst, sum_dst))


def _snapshot(store: Store):
    """A read connection that sees the store at one instant for as long as it is open (on
    PostgreSQL, REPEATABLE READ; a SQLite read transaction in WAL mode already does), so a
    copy made while others write is consistent and verifies."""
    conn = store.engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def _same_database(a: Store, b: Store) -> bool:
    """Whether two PostgreSQL stores are one database (the same server cluster and name,
    however the URLs spell host, port or password)."""
    with a.engine.connect() as ca, b.engine.connect() as cb:
        # the target's server sees the source's connection, in its own database, only if
        # they are one (needs no privilege: every role sees every session's pid and database)
        pid, started = ca.execute(text(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")).one()
        return cb.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid AND backend_start = :started "
            "AND datname = current_database()"), {"pid": pid, "started": started}).scalar_one() > 0


#: Called with the target store once it is open and holds records, before anything is
#: written; raises to refuse replacing it (the caller's permission check).
MayReplace = Callable[[Store], None]


def copy_store(source: Store, target: str | Path, *, force: bool = False,
               may_replace: MayReplace | None = None,
               progress: Callable[[int], None] | None = None) -> MigrationReport:
    """Copy the whole store ``source`` into the store at ``target`` (a ``postgresql://`` URL or
    a ``.gpkg`` path) and verify it, table by table.

    Parameters
    ----------
    source : Store
        At the current schema revision.
    target : str or Path
        An empty PostgreSQL database (PostGIS installed or installable), an empty store, or a
        GeoPackage path that does not exist yet.
    force : bool
        Replace a target that holds records (every table of it is emptied first, in the same
        transaction); ``may_replace`` is asked first.
    progress : callable, optional
        Called with the number of rows copied, batch by batch.

    Raises
    ------
    StoreError
        The target holds records and ``force`` is false; it is the source itself; it cannot be
        reached or built; or a table differs after the copy (then nothing was changed).
    """
    try:
        if is_postgres_url(str(target)):
            return _into_postgres(source, str(target), force, may_replace, progress)
        if "://" in str(target):
            raise StoreError(f"migrate: {hide_passwords(str(target))}: expected a "
                             "postgresql:// URL or a .gpkg path")
        return _into_geopackage(source, Path(target), force, may_replace, progress)
    except DBAPIError as exc:
        reason = hide_passwords(str(exc.orig or exc).strip().splitlines()[0])
        raise StoreError(f"migrate: the database refused: {reason}; nothing was changed in "
                         f"{hide_passwords(str(target))}") from None


def _check_replace(target: Store, force: bool, may_replace: MayReplace | None) -> None:
    """Refuse to overwrite a store that holds anything unless forced, and then only if the
    caller allows it."""
    if not target.has_records():
        return
    if not force:
        raise StoreError(f"migrate: {target.location} already holds a store with records; pass "
                         "--force to replace it (everything in it is deleted)")
    if may_replace is not None:
        may_replace(target)


def _into_postgres(source, target, force, may_replace, progress):
    with PostGISStore(target, check_schema=False) as dst_store:
        if isinstance(source, PostGISStore) and _same_database(source, dst_store):
            raise StoreError(f"migrate: {dst_store.location} is the source store itself")
        report = MigrationReport(source.location, dst_store.location)
        _check_replace(dst_store, force, may_replace)
        if not force:  # (a forced copy rebuilds the target's schema anyway)
            with dst_store.engine.connect() as conn:
                revisions.check(conn, dst_store.location)
        with dst_store._write_connection() as dst, dst.begin():
            dst_store._take_write_lock(dst)
            if dst_store.has_records(dst):  # filled while this one waited?
                if not force:
                    raise StoreError(f"migrate: {dst_store.location} was filled by another "
                                     "process meanwhile; nothing was changed")
                if may_replace is not None:  # asked again, now that no one else writes
                    may_replace(dst_store)
            if force:
                dst_store._rebuild(dst)
            with _snapshot(source) as src:
                _copy(src, dst, report, progress)
    return report


def copy_file_into(source: Path, target: Path, what: str = "migrate") -> None:
    """Copy the GeoPackage ``source`` into the live store file ``target`` through SQLite's
    backup API: it takes the store's locks, so an import running there finishes first (or
    this waits), and no file is swapped under anyone's open connection.

    Raises
    ------
    StoreError
        Another writer kept the store locked longer than the lock timeout.
    """
    src_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst_db = sqlite3.connect(target, timeout=lock_timeout_s())
    try:
        src_db.backup(dst_db)
    except sqlite3.OperationalError as exc:
        raise StoreError(f"{what}: {target} stayed locked by another writer ({exc}); "
                         "nothing was changed") from None
    finally:
        dst_db.close()
        src_db.close()


def _into_geopackage(source, target: Path, force, may_replace, progress):
    if isinstance(source, GeoPackageStore) and target.resolve() == source.path.resolve():
        raise StoreError(f"migrate: {target} is the source store itself")
    if target.is_dir():
        raise StoreError(f"migrate: {target} is a folder; name a .gpkg file, such as "
                         f"{target / 'mineledger.gpkg'}")
    if not target.parent.is_dir():
        raise StoreError(f"migrate: the folder {target.parent} does not exist; create it first")
    if target.exists():  # only a mineledger store is ever replaced, and only if allowed
        with GeoPackageStore(target, create=False, check_schema=False) as existing:
            _check_replace(existing, force, may_replace)
    partial = target.with_name(target.name + ".partial")
    try:  # the partial file is this copy's own: a second one into the same file stops
        os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        raise StoreError(f"migrate: {partial} exists: another migration into {target} is "
                         "running, or one was interrupted (then delete that file)") from None
    try:
        with GeoPackageStore(partial) as dst_store:
            report = MigrationReport(source.location, str(target))
            with dst_store._write_connection() as dst, dst.begin():
                with _snapshot(source) as src:
                    _copy(src, dst, report, progress)
            dst_store.checkpoint()
        if target.exists():
            copy_file_into(partial, target)
        else:
            os.replace(partial, target)
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
    return report
