"""The server store: PostgreSQL with PostGIS, for many people sharing one database.

The schema is the embedded store's (:mod:`mineledger.store.schema`), in the database named by
the URL (its default schema, usually ``public``): the record layers have ``geometry(TYPE,
4326)`` columns with GiST indexes, and the same ISO 8601 text for instants and dates, so the
two back ends give the same figures and the same checksums. Writers serialise on a
transaction-scoped advisory lock, so imports never interleave (no lost update, identities
intact) while readers read the last committed state; the change log and the personal-data
access log refuse UPDATE and DELETE by trigger, as on the embedded store.
"""

from __future__ import annotations

from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from mineledger.errors import StoreError
from mineledger.model.vocab import Layer
from mineledger.store import revisions, schema
from mineledger.store.base import lock_timeout_s, say_waiting
from mineledger.store.locations import hide_passwords, is_postgres_url  # noqa: F401 (re-exported)
from mineledger.store.sql import SQLStore

#: Key of the advisory lock that serialises writers ("mineledg" as a 64-bit integer).
WRITE_LOCK_KEY = int.from_bytes(b"mineledg", "big") & 0x7FFF_FFFF_FFFF_FFFF

_APPEND_ONLY = [
    "CREATE OR REPLACE FUNCTION mineledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME; END $$",
    *(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
      "FOR EACH STATEMENT EXECUTE FUNCTION mineledger_append_only()"
      for t in ("change_log", "personal_access_log")),
]


#: The area of ``level`` holding each uncoded point record (the first code where areas overlap).
_ADMIN_OF_POINTS = """
SELECT DISTINCT ON (p.fid) p.uuid, a.code
FROM {layer} p JOIN admin_areas a
  ON a.country = :country AND a.level = :level AND a.geom && p.geom AND ST_Within(p.geom, a.geom)
WHERE p.country = :country AND p.admin_code IS NULL AND p.geom IS NOT NULL AND NOT ST_IsEmpty(p.geom)
ORDER BY p.fid, a.code
"""


class BlankDatabase(StoreError):
    """The database holds no store (and ``create`` was false)."""


def _first_line(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip()
    return msg.splitlines()[0] if msg else type(exc).__name__


class PostGISStore(SQLStore):
    """The store in the PostgreSQL database at ``url`` (``postgresql://user@host:port/db``).

    Parameters
    ----------
    url : str
        A libpq URL; its password never appears in messages, logs or reports.
    create : bool
        Build the store in an empty database (installing the PostGIS extension if the
        server has it and the user may). A database that holds other tables is refused.
    check_schema : bool
        Refuse a store at an older schema revision (``mineledger db upgrade`` passes false).

    Raises
    ------
    StoreError
        The server cannot be reached, the database does not exist, PostGIS is missing, the
        database is not (and cannot become) a mineledger store, or its schema is older.
    """

    def __init__(self, url: str, *, create: bool = True, check_schema: bool = True):
        shown = hide_passwords(url)
        try:
            parsed = make_url(url)
            parsed.port  # noqa: B018 (a port that is not a number raises here)
        except (ArgumentError, ValueError):
            raise StoreError(f"{shown}: not a PostgreSQL URL; expected "
                             "postgresql://user@host:5432/database") from None
        if not parsed.database:
            raise StoreError(f"{shown}: name the database, as in "
                             "postgresql://user@host:5432/database")
        self.url = parsed.set(drivername="postgresql+psycopg")
        self.location = hide_passwords(
            parsed.set(drivername="postgresql").render_as_string(hide_password=True))
        self.engine = create_engine(self.url, pool_pre_ping=True)
        try:
            with self.engine.connect() as conn:
                blank = not inspect(conn).has_table("mineledger_meta")
                foreign = [t for t in inspect(conn).get_table_names()
                           if t not in ("spatial_ref_sys",)] if blank else []
            if blank:
                if foreign:
                    raise StoreError(
                        f"{self.location}: the database holds tables ({', '.join(sorted(foreign)[:5])}"
                        f"{' …' if len(foreign) > 5 else ''}) but is not a mineledger store; "
                        "name an empty database (createdb NAME) or an existing store")
                if not create:
                    raise BlankDatabase(f"{self.location}: an empty database, not a store; "
                                        "import into it first (mineledger import …)")
                self._create()
            elif check_schema:
                with self.engine.connect() as conn:
                    revisions.check(conn, self.location)
        except DBAPIError as exc:
            self.engine.dispose()
            reason = hide_passwords(_first_line(exc))
            hint = ""
            if f'database "{parsed.database}" does not exist' in reason:
                where = " ".join(f"{flag} {value}" for flag, value in
                                 (("-h", parsed.host), ("-p", parsed.port), ("-U", parsed.username))
                                 if value)
                hint = f"; create it first: createdb {where} '{parsed.database}'".replace("  ", " ")
            elif "refused" in reason or "timeout" in reason or "could not translate" in reason:
                hint = "; is PostgreSQL running and listening there?"
            raise StoreError(f"{self.location}: cannot open the store: {reason}{hint}") from None
        except StoreError:
            self.engine.dispose()
            raise

    def _create(self):
        with self._write_connection() as conn, conn.begin():
            self._take_write_lock(conn)
            if inspect(conn).has_table("mineledger_meta"):
                return  # another process built it while we waited
            self._build(conn)

    def _build(self, conn):
        """Install PostGIS if needed and build the schema at the head revision on ``conn``."""
        has_postgis = conn.execute(text(
            "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar_one()
        if not has_postgis:
            available = conn.execute(text(
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")).scalar_one()
            if not available:
                raise StoreError(
                    f"{self.location}: PostGIS is not installed on this server; install it "
                    "(Debian: apt install postgresql-15-postgis-3) and try again")
            try:
                with conn.begin_nested():
                    conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            except DBAPIError as exc:
                raise StoreError(
                    f"{self.location}: cannot install PostGIS in this database "
                    f"({_first_line(exc)}); ask its owner to run CREATE EXTENSION postgis") from None
        schema.metadata.create_all(conn)
        for statement in _APPEND_ONLY:
            conn.exec_driver_sql(statement)
        conn.execute(schema.meta.insert(), schema.initial_meta())
        revisions.stamp_head(conn)

    def _rebuild(self, conn):
        """Drop every table of the store and build it empty again, on ``conn`` (inside its
        transaction: ``migrate --force``)."""
        schema.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS mineledger_append_only() CASCADE")
        self._build(conn)

    # -- spatial work done in PostGIS, with the GiST indexes; areas on the spheroid --

    def _bbox_conditions(self, table, box):
        minx, miny, maxx, maxy = box
        envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)
        if minx == maxx or miny == maxy:  # a point or a line: ST_Intersects of a zero-area
            # envelope matches nothing, so test the point or the line itself
            shape = func.ST_SetSRID(func.ST_MakeLine(func.ST_MakePoint(minx, miny),
                                                     func.ST_MakePoint(maxx, maxy)), 4326)
            if minx == maxx and miny == maxy:
                shape = func.ST_SetSRID(func.ST_MakePoint(minx, miny), 4326)
            return [table.c.geom.op("&&")(envelope), func.ST_Intersects(table.c.geom, shape)]
        return [table.c.geom.op("&&")(envelope), func.ST_Intersects(table.c.geom, envelope)]

    def admin_of_points(self, layer, country, level):
        table = schema.layer_tables[Layer(layer)]
        if "admin_code" not in table.c:
            return None
        with self.engine.connect() as conn:
            return dict(conn.execute(text(_ADMIN_OF_POINTS.format(layer=table.name)),
                                     {"country": country, "level": level}).all())

    def _take_write_lock(self, conn):
        got = conn.execute(select(func.pg_try_advisory_xact_lock(WRITE_LOCK_KEY))).scalar_one()
        if got:
            return
        timeout = 0 if conn.info.get("no_wait") else lock_timeout_s()
        if timeout == 0:
            raise StoreError(f"{self.location}: another process is writing to the store and "
                             "MINELEDGER_LOCK_TIMEOUT is 0; nothing was written")
        say_waiting(self.location, timeout)
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{max(1, int(timeout * 1000))}ms'")
        try:
            conn.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
        except OperationalError as exc:
            raise StoreError(
                f"{self.location}: another writer held the store for {timeout:g} s; nothing "
                "was written; try again when it has finished, or set MINELEDGER_LOCK_TIMEOUT "
                f"to wait longer ({_first_line(exc)})") from None
        conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
