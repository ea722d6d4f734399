"""The embedded store: one SQLite file that is also a valid OGC GeoPackage (1.3).

QGIS and GDAL open it as it is: the record layers are feature tables with an R-tree spatial
index, ``imports``, ``change_log`` and ``quarantine`` are attribute tables. Every connection
registers the SQL functions the R-tree triggers call and sets WAL mode (QGIS resets the
journal mode when it closes a file). Writers take the lock up front (``BEGIN IMMEDIATE``), so
a second writer waits for the first (saying so) instead of failing half-way; readers go on
reading the last committed state while a writer works (WAL).

An existing file is first looked into read-only (SQLite ``mode=ro``): a file that is not a
mineledger store — another SQLite database, a GeoPackage of GDAL's, a text file — is refused
before anything could change a byte of it. A store that this process cannot write (a
read-only mount, a DVD, a file or folder without write permission, or
``MINELEDGER_READ_ONLY=1``) is opened read-only: it can be read, and nothing, not even a
``-wal`` or ``-shm`` file, is written beside it.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from operator import itemgetter
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import shapely
from sqlalchemy import LargeBinary, column, create_engine, event, func, select, table as sql_table, text
from sqlalchemy.exc import OperationalError

from mineledger.errors import StoreError
from mineledger.model.records import LAYERS
from mineledger.store import gpkg_geometry, revisions, schema
from mineledger.store.base import lock_timeout_s, say_waiting
from mineledger.store.sql import SQLStore, SQLWriter
from mineledger.store.types import Date, Geometry, JSONText, json_text
from mineledger.geo.arrays import geometry_array

#: ``PRAGMA application_id`` of a GeoPackage ('GPKG').
APPLICATION_ID = 0x47504B47
#: ``PRAGMA user_version`` of GeoPackage 1.3.0.
USER_VERSION = 10300
#: Milliseconds a writer first waits silently for another writer's lock.
_QUIET_WAIT_MS = 2000
#: Set (to anything but ``0``) to open every GeoPackage store read-only.
READ_ONLY_ENV = "MINELEDGER_READ_ONLY"


def read_only_reason(path: Path) -> str | None:
    """Why the store file ``path`` must be opened read-only, or None if it can be written:
    :data:`READ_ONLY_ENV` is set, or the file or its folder is not writable by this process
    (``os.access``: permissions, a read-only mount). A store in WAL mode needs its folder too:
    even a reader writes ``-wal`` and ``-shm`` files beside it."""
    if os.environ.get(READ_ONLY_ENV, "") not in ("", "0"):
        return f"{READ_ONLY_ENV} is set"
    if not os.access(path, os.W_OK):
        return "the file cannot be written"
    if not os.access(path.parent, os.W_OK):
        return "its folder cannot be written"
    return None


def sqlite_uri(path: Path, **params: str) -> str:
    """A SQLite URI of the file ``path`` with query ``params`` (``mode=ro``, ``immutable=1``),
    the path percent-encoded (a ``?`` or ``#`` in a name is part of it)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(str(path.resolve()))}" + (f"?{query}" if query else "")

_GPKG_DDL = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
"""

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

_RTREE = """
CREATE VIRTUAL TABLE rtree_{t}_geom USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER rtree_{t}_geom_insert AFTER INSERT ON {t}
WHEN (new.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN INSERT OR REPLACE INTO rtree_{t}_geom VALUES (NEW.fid,
  ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
CREATE TRIGGER rtree_{t}_geom_update1 AFTER UPDATE OF geom ON {t}
WHEN OLD.fid = NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN INSERT OR REPLACE INTO rtree_{t}_geom VALUES (NEW.fid,
  ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
CREATE TRIGGER rtree_{t}_geom_update2 AFTER UPDATE OF geom ON {t}
WHEN OLD.fid = NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid; END;
CREATE TRIGGER rtree_{t}_geom_update3 AFTER UPDATE ON {t}
WHEN OLD.fid != NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid;
  INSERT OR REPLACE INTO rtree_{t}_geom VALUES (NEW.fid,
  ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
CREATE TRIGGER rtree_{t}_geom_update4 AFTER UPDATE ON {t}
WHEN OLD.fid != NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN DELETE FROM rtree_{t}_geom WHERE id IN (OLD.fid, NEW.fid); END;
CREATE TRIGGER rtree_{t}_geom_delete AFTER DELETE ON {t} WHEN old.geom NOT NULL
BEGIN DELETE FROM rtree_{t}_geom WHERE id = OLD.fid; END;
"""

_APPEND_ONLY = """
CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;
CREATE TRIGGER personal_access_log_no_update BEFORE UPDATE ON personal_access_log
BEGIN SELECT RAISE(ABORT, 'personal_access_log is append-only'); END;
CREATE TRIGGER personal_access_log_no_delete BEFORE DELETE ON personal_access_log
BEGIN SELECT RAISE(ABORT, 'personal_access_log is append-only'); END;
"""


def _executescript(conn, script: str) -> None:
    """Run a multi-statement script inside the current transaction (unlike
    ``sqlite3.executescript``, which commits first)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            conn.exec_driver_sql(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement: {buffer.strip()[:80]}")


#: Inserts of at least this many rows go through :meth:`GeoPackageWriter._insert_many`'s bulk
#: path; fewer, through SQLAlchemy.
BULK_MIN = 64


class GeoPackageWriter(SQLWriter):
    """The GeoPackage's writer: many rows at once are written in bulk.

    A bulk insert encodes every geometry in one call (:func:`gpkg_geometry.encode_many`),
    converts the other values with the columns' own SQLAlchemy bind processors (so the
    stored text is the same as SQLAlchemy's) and hands all rows to SQLite's ``executemany``.
    The R-tree of a layer is filled from the envelopes already computed, not by its insert
    trigger, which would call back into Python five times a row: the trigger is dropped
    for the insert and put back, as it was, in the same transaction (a failure rolls both
    back). On 10⁵ hazards this makes the store's write several times faster.
    """

    def _insert_many(self, table, rows):
        if len(rows) < BULK_MIN or set(rows[0]) - set(table.c.keys()):
            return super()._insert_many(table, rows)
        keys = [c.key for c in table.columns if c.key in rows[0]]
        try:  # every row names the same columns (one C call a row, then one transpose)
            columns = list(zip(*map(itemgetter(*keys), rows))) if len(keys) > 1 else \
                [[r[keys[0]] for r in rows]]
        except KeyError:
            columns = [[r.get(k) for r in rows] for k in keys]
        self._bulk(table, dict(zip(keys, columns)))

    def _insert_columns(self, table, columns):
        n = len(next(iter(columns.values())))
        if n < BULK_MIN or set(columns) - set(table.c.keys()):
            return super()._insert_columns(table, columns)
        self._bulk(table, columns)

    def _bulk(self, table, given: dict[str, list]) -> None:
        """Insert the rows given column by column with one ``executemany``; see the class."""
        dialect = self.conn.dialect
        columns = [c for c in table.columns if c.key in given]
        values = []
        geometry = None
        for c in columns:
            col = given[c.key]
            if isinstance(c.type, Geometry):
                geometry = col
                values.append(gpkg_geometry.encode_many(col))
                continue
            process = c.type.dialect_impl(dialect).bind_processor(dialect)
            if process is None:
                values.append(col)
            elif all(v is col[0] for v in col):  # one value for all (when, who, import id)
                values.append([process(col[0])] * len(col))
            elif isinstance(c.type, JSONText):  # what its processor does, without the calls
                values.append([json_text(v) for v in col])
            elif isinstance(c.type, LargeBinary) and all(v is None or type(v) is bytes
                                                         for v in col):
                values.append(col)  # SQLite stores bytes as the BLOB it makes of them
            elif isinstance(c.type, Date):  # a few dates, many times each
                memo: dict = {}
                values.append([process(v) if type(v) is not dt.date else
                               memo[v] if v in memo else memo.setdefault(v, process(v))
                               for v in col])
            else:
                values.append([process(v) for v in col])
        sql = (f'INSERT INTO "{table.name}" ({", ".join(chr(34) + c.name + chr(34) for c in columns)}) '
               f'VALUES ({", ".join("?" * len(columns))})')
        trigger = None
        if geometry is not None and "uuid" in table.c:
            trigger = self.conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (f"rtree_{table.name}_geom_insert",)).scalar()
        if trigger is None:
            self.conn.exec_driver_sql(sql, list(zip(*values)))
            return
        first = self.conn.exec_driver_sql(f'SELECT coalesce(max(fid), 0) FROM "{table.name}"').scalar()
        self.conn.exec_driver_sql(f'DROP TRIGGER "rtree_{table.name}_geom_insert"')
        self.conn.exec_driver_sql(sql, list(zip(*values)))
        self.conn.exec_driver_sql(trigger)
        fid_of = dict(self.conn.exec_driver_sql(
            f'SELECT uuid, fid FROM "{table.name}" WHERE fid > ?', (first,)).all())
        arr = geometry_array(geometry)
        keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
        bounds = shapely.bounds(arr)
        entries = [(fid_of[u], b[0], b[2], b[1], b[3])
                   for u, b, k in zip(given["uuid"], bounds.tolist(), keep.tolist()) if k]
        if entries:
            self.conn.exec_driver_sql(
                f'INSERT OR REPLACE INTO "rtree_{table.name}_geom" VALUES (?, ?, ?, ?, ?)', entries)


class GeoPackageStore(SQLStore):
    """The embedded store at ``path`` (created, as a valid GeoPackage, if ``create``)."""

    writer_class = GeoPackageWriter

    def __init__(self, path: str | Path, *, create: bool = True, check_schema: bool = True):
        self.path = Path(path)
        self.location = str(self.path)
        if self.path.is_dir():
            raise StoreError(f"{self.path}: a folder; expected a store file such as "
                             f"{self.path / 'mineledger.gpkg'}")
        if not self.path.parent.is_dir():
            raise StoreError(f"{self.path}: the folder {self.path.parent} does not exist; "
                             "create it first")
        exists = self.path.exists()
        if not exists and not create:
            raise StoreError(f"{self.path}: no store here; import into it first "
                             "(mineledger import …) or name another with --store")
        #: Why the store is opened read-only (None: it is not).
        self.read_only = read_only_reason(self.path) if exists else None
        if exists:
            self._check_is_sqlite()
            self._check_is_store_file()
        if self.read_only:
            uri = self.reading_uri()
            self.engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(
                uri, uri=True, timeout=lock_timeout_s(), check_same_thread=False))
        else:
            self.engine = create_engine(f"sqlite:///{self.path}",
                                        connect_args={"timeout": lock_timeout_s()})
        event.listen(self.engine, "connect", self._on_connect)
        event.listen(self.engine, "begin", self._on_begin)
        try:
            if not exists or self._is_blank():
                if not create:
                    raise StoreError(f"{self.path}: an empty file, not a store; import into it "
                                     "first (mineledger import …)")
                if not self._create():  # another process built it while this one waited
                    self._check_is_mineledger(check_schema)
            else:
                self._check_is_mineledger(check_schema)
        except OperationalError as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc.orig}") from None

    def _bbox_conditions(self, table, box):
        minx, miny, maxx, maxy = box
        rtree = sql_table(f"rtree_{table.name}_geom", column("id"), column("minx"),
                          column("maxx"), column("miny"), column("maxy"))
        candidates = select(rtree.c.id).where(rtree.c.minx <= maxx, rtree.c.maxx >= minx,
                                              rtree.c.miny <= maxy, rtree.c.maxy >= miny)
        return [table.c.fid.in_(candidates),
                func.mineledger_intersects_box(table.c.geom, minx, miny, maxx, maxy) == 1]

    def _check_is_sqlite(self):
        with open(self.path, "rb") as fh:
            head = fh.read(16)
        if head and head != b"SQLite format 3\x00":
            raise StoreError(f"{self.path}: not a GeoPackage/SQLite file; expected a mineledger store")

    def reading_uri(self) -> str:
        """The SQLite URI that reads the store without writing to it or beside it: read-only
        (``mode=ro``), and ``immutable=1`` when the store cannot be written and has no
        write-ahead log to read (a reader of a WAL file would otherwise need to create the
        ``-shm`` file beside it)."""
        wal = Path(f"{self.path}-wal")
        if self.read_only and not (wal.exists() and wal.stat().st_size > 0):
            return sqlite_uri(self.path, mode="ro", immutable="1")
        return sqlite_uri(self.path, mode="ro")

    def _check_is_store_file(self) -> None:
        """Refuse a SQLite file that is not a mineledger store, looking into it read-only
        before the engine opens it (which would switch it to WAL, rewriting its header)."""
        try:
            con = sqlite3.connect(self.reading_uri(), uri=True, timeout=lock_timeout_s())
            try:
                names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            wal = self.read_only and Path(f"{self.path}-wal").exists()
            hint = (f" (read-only here: {self.read_only}; its write-ahead log "
                    f"{self.path.name}-wal needs {self.path.name}-shm beside it)" if wal else "")
            raise StoreError(f"{self.path}: cannot be read as a store: {exc}{hint}") from None
        if names and "mineledger_meta" not in names:
            raise StoreError(f"{self.path}: a SQLite/GeoPackage file, but not a mineledger "
                             "store; name a new file or an existing store with --store")

    def _on_connect(self, dbapi_conn: sqlite3.Connection, _record):
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
        gpkg_geometry.register_sql_functions(dbapi_conn)
        cur = dbapi_conn.cursor()
        if not self.read_only:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @contextmanager
    def _write_connection(self):
        if self.read_only:
            raise StoreError(f"{self.path}: read-only here ({self.read_only}); it can be "
                             "read, not changed: copy it to a folder you can write in to "
                             "change it")
        with super()._write_connection() as conn:
            yield conn

    def _on_begin(self, conn):
        if not conn.info.get("write"):
            conn.exec_driver_sql("BEGIN")
            return
        timeout = 0 if conn.info.get("no_wait") else lock_timeout_s()
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {min(_QUIET_WAIT_MS, int(timeout * 1000))}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError:
            if timeout == 0:
                raise StoreError(f"{self.location}: another process is writing to the store and "
                                 "MINELEDGER_LOCK_TIMEOUT is 0; nothing was written") from None
            say_waiting(self.location, timeout)
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite retries until the timeout
            except OperationalError as exc:
                raise StoreError(
                    f"{self.location}: another writer held the store for {timeout:g} s; "
                    "nothing was written; try again when it has finished, or set "
                    f"MINELEDGER_LOCK_TIMEOUT to wait longer ({exc.orig})") from None
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def _is_blank(self) -> bool:
        with self.engine.connect() as conn:
            n = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one()
        return n == 0

    def _check_is_mineledger(self, check_schema: bool = True):
        with self.engine.connect() as conn:
            has = conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name='mineledger_meta'").scalar_one()
            if not has:
                raise StoreError(f"{self.path}: a SQLite/GeoPackage file, but not a mineledger "
                                 "store; name a new file or an existing store with --store")
            if check_schema:
                revisions.check(conn, self.location)

    def _create(self) -> bool:
        """Build the store in the blank file; false if another process did it first."""
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with self._write_connection() as conn, conn.begin():
            if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one():
                return False
            conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.exec_driver_sql(f"PRAGMA user_version = {USER_VERSION}")
            _executescript(conn, _GPKG_DDL)
            conn.execute(text(
                "INSERT INTO gpkg_spatial_ref_sys VALUES "
                "('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),"
                "('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),"
                "('WGS 84 geodetic', 4326, 'EPSG', 4326, :wkt, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')"),
                {"wkt": _WGS84_WKT})
            schema.metadata.create_all(conn)
            for name, spec in LAYERS.items():
                conn.execute(text(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                    "last_change, srs_id) VALUES (:t, 'features', :t, :d, :now, 4326)"),
                    {"t": str(name), "d": spec.description, "now": now})
                conn.execute(text(
                    "INSERT INTO gpkg_geometry_columns VALUES (:t, 'geom', :g, 4326, 0, 0)"),
                    {"t": str(name), "g": spec.geometry_type})
                conn.execute(text(
                    "INSERT INTO gpkg_extensions VALUES (:t, 'geom', 'gpkg_rtree_index', "
                    "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')"),
                    {"t": str(name)})
                _executescript(conn, _RTREE.format(t=name))
            for name, table in schema.ATTRIBUTE_TABLES.items():
                conn.execute(text(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                    "last_change) VALUES (:t, 'attributes', :t, :d, :now)"),
                    {"t": name, "d": f"mineledger {name}", "now": now})
            _executescript(conn, _APPEND_ONLY)
            conn.execute(schema.meta.insert(), schema.initial_meta())
            revisions.stamp_head(conn)
        # The application id lives in the file header; readers that look at the header
        # itself (GDAL) must see it before the WAL is checkpointed on close.
        self.checkpoint()
        return True

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file (``PRAGMA wal_checkpoint(TRUNCATE)``)."""
        raw = self.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
