"""The logical schema, built from :mod:`mineledger.model.records` for every back end.

Record layers are feature tables (GeoPackage: ``fid`` integer primary key, one geometry
column ``geom``); ``imports``, ``change_log`` and ``quarantine`` are attribute tables.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Float, Index, Integer, LargeBinary, MetaData,
                        Table, Text)

from mineledger.model.records import COMMON_FIELDS, LAYERS, Field
from mineledger.store.types import Date, Geometry, JSONText, UTCDateTime

metadata = MetaData()

_TYPES = {
    "text": Text,
    # 64-bit on PostgreSQL as in SQLite (a record's ``fid`` stays SQLite's INTEGER rowid)
    "integer": lambda: Integer().with_variant(BigInteger(), "postgresql"),
    "real": Float,
    "boolean": Boolean,
    "date": Date,
    "datetime": UTCDateTime,
    "json": JSONText,
    "blob": LargeBinary,
}


def _fid() -> Column:
    """The feature id: SQLite's INTEGER rowid (GeoPackage requires it), BIGSERIAL on PostgreSQL."""
    return Column("fid", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True,
                  autoincrement=True)


def _column(name: str, field: Field) -> Column:
    kwargs = {}
    if name == "uuid":
        kwargs = {"nullable": False, "unique": True}
    return Column(name, _TYPES[field.type](), **kwargs)


def _layer_table(spec) -> Table:
    cols = [_fid(),
            Column("geom", Geometry(spec.geometry_type))]
    for name, field in COMMON_FIELDS.items():
        if name not in spec.fields:
            cols.append(_column(name, field))
    cols += [_column(name, field) for name, field in spec.fields.items() if not field.personal]
    table = Table(spec.name, metadata, *cols, sqlite_autoincrement=True)
    Index(f"ix_{spec.name}_country", table.c.country)
    Index(f"ix_{spec.name}_source", table.c.source_file)
    # GeoPackage keeps its R-tree in its own tables (see store.geopackage); PostGIS a GiST index
    Index(f"ix_{spec.name}_geom", table.c.geom, postgresql_using="gist").ddl_if(dialect="postgresql")
    return table


layer_tables: dict[str, Table] = {name: _layer_table(spec) for name, spec in LAYERS.items()}

imports = Table(
    "imports", metadata,
    _fid(),
    Column("import_id", Text, nullable=False, unique=True),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("user_name", Text),
    Column("command", Text),
    Column("profile", Text),
    Column("layer", Text),
    Column("country", Text),
    Column("source_file", Text),
    Column("source_checksum", Text),
    Column("rows_read", Integer),
    Column("inserted", Integer),
    Column("updated", Integer),
    Column("unchanged", Integer),
    Column("quarantined", Integer),
    Column("title", Text),
    Column("publisher", Text),
    Column("licence", Text),
    Column("url", Text),
    sqlite_autoincrement=True,
)

change_log = Table(
    "change_log", metadata,
    _fid(),
    Column("at", UTCDateTime(), nullable=False),
    Column("user_name", Text, nullable=False),
    Column("import_id", Text),
    Column("command", Text),
    Column("layer", Text, nullable=False),
    Column("record_uuid", Text, nullable=False),
    Column("action", Text, nullable=False),  # insert | update | delete
    Column("date_of_information", Date()),
    Column("reason", Text),
    Column("before", JSONText()),
    Column("after", JSONText()),
    Column("before_geom", LargeBinary),  # WKB, kept out of the JSON to halve its size
    Column("after_geom", LargeBinary),
    Column("tx_id", Text),  # the transaction (see ``transactions``)
    sqlite_autoincrement=True,
)
Index("ix_change_log_record", change_log.c.record_uuid)
Index("ix_change_log_tx", change_log.c.tx_id)
Index("ix_change_log_import", change_log.c.import_id)  # revision 0002

#: One row per write transaction that changed something, written as its last statement:
#: ``--as-of`` counts a change from when its transaction landed.
transactions = Table(
    "transactions", metadata,
    _fid(),
    Column("tx_id", Text, nullable=False, unique=True),
    Column("started_at", UTCDateTime()),
    Column("committed_at", UTCDateTime(), nullable=False),
    Column("user_name", Text),
    Column("command", Text),
    sqlite_autoincrement=True,
)
Index("ix_transactions_committed", transactions.c.committed_at)  # revision 0002

quarantine = Table(
    "quarantine", metadata,
    _fid(),
    Column("uuid", Text, nullable=False, unique=True),
    Column("import_id", Text),
    Column("country", Text),
    Column("layer", Text),
    Column("profile", Text),
    Column("source_file", Text),
    Column("source_locator", Text),
    Column("field", Text),
    Column("value", Text),
    Column("reason", Text),
    Column("raw", JSONText()),
    Column("status", Text, nullable=False),  # open | resolved (the row was stored later)
    Column("resolved_import_id", Text),
    Column("created_at", UTCDateTime()),
    Column("updated_at", UTCDateTime()),
    sqlite_autoincrement=True,
)

lineage = Table(
    "hazard_lineage", metadata,
    _fid(),
    Column("parent_uuid", Text, nullable=False),
    Column("child_uuid", Text, nullable=False),
    Column("kind", Text, nullable=False),  # split | merge
    Column("date_of_information", Date()),
    Column("import_id", Text),
    Column("created_at", UTCDateTime()),
    sqlite_autoincrement=True,
)

quality_findings = Table(
    "quality_findings", metadata,
    _fid(),
    Column("fingerprint", Text, nullable=False, unique=True),
    Column("rule_id", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("country", Text),
    Column("layer", Text),
    Column("record_uuid", Text),
    Column("other_uuid", Text),
    Column("reason", Text),
    Column("suggested_fix", Text),
    Column("status", Text, nullable=False),  # open | resolved | accepted | gone
    Column("status_reason", Text),
    Column("status_by", Text),
    Column("status_at", UTCDateTime()),
    Column("first_seen_at", UTCDateTime()),
    Column("last_seen_at", UTCDateTime()),
    sqlite_autoincrement=True,
)

#: Headline figures kept up to date at each commit (:mod:`mineledger.land.figures`): derived
#: from the records, never edited, rebuilt whole by ``mineledger figures rebuild`` (revision
#: 0004). ``figure_members``: the cluster of land (records whose geometries meet) each hazard
#: and outcome record is in; ``figure_cells``: the land of each cluster by set, grouping,
#: administrative area and level, whole mm²; ``figure_totals`` their sums; ``figure_counts``:
#: the other figures of a country as JSON; ``figure_state``: the last change-log entry the
#: figures take in.
figure_members = Table(
    "figure_members", metadata,
    _fid(),
    Column("country", Text, nullable=False),
    Column("layer", Text, nullable=False),
    Column("uuid", Text, nullable=False),
    Column("cluster", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index("ix_figure_members_uuid", figure_members.c.uuid)
Index("ix_figure_members_cluster", figure_members.c.country, figure_members.c.cluster)


def _figure_key() -> list[Column]:
    """The key of a figure cell beside its country (and cluster): grouping ("" all the land,
    ``year``, ``records``), group, set, administrative level (0: the country) and area code."""
    return [Column("grouping", Text, nullable=False), Column("grp", Text, nullable=False),
            Column("set_name", Text, nullable=False), Column("level", Integer, nullable=False),
            Column("code", Text, nullable=False)]


figure_cells = Table(
    "figure_cells", metadata,
    _fid(),
    Column("country", Text, nullable=False),
    Column("cluster", Text, nullable=False),
    *_figure_key(),
    Column("mm2", BigInteger(), nullable=False),  # whole mm²
    sqlite_autoincrement=True,
)
Index("ix_figure_cells_cluster", figure_cells.c.country, figure_cells.c.cluster)

#: The sums of ``figure_cells`` per country and key (``mm2``, and how many ``cells``), kept
#: with them: what a summary reads.
figure_totals = Table(
    "figure_totals", metadata,
    _fid(),
    Column("country", Text, nullable=False),
    *_figure_key(),
    Column("mm2", BigInteger(), nullable=False),
    Column("cells", BigInteger(), nullable=False),
    sqlite_autoincrement=True,
)
Index("ix_figure_totals_country", figure_totals.c.country)

figure_counts = Table(
    "figure_counts", metadata,
    _fid(),
    Column("country", Text, nullable=False, unique=True),
    Column("counts", JSONText(), nullable=False),
    sqlite_autoincrement=True,
)

figure_state = Table(
    "figure_state", metadata,
    Column("key", Text, primary_key=True),
    Column("value", BigInteger(), nullable=False),
)

#: The tables of the headline figures, in the order they are cleared and written.
FIGURE_TABLES = (figure_members, figure_cells, figure_totals, figure_counts, figure_state)

#: Written to ``mineledger_meta`` for readers of stores made before Alembic; the schema's
#: revision is Alembic's (:mod:`mineledger.store.revisions`).
SCHEMA_VERSION = "8"


def initial_meta() -> list[dict[str, str]]:
    """The settings of a new store: a new store id (it names the key of victims' personal
    data), UTC as its time zone."""
    import uuid

    return [{"key": "schema_version", "value": SCHEMA_VERSION},
            {"key": "store_id", "value": str(uuid.uuid4())},
            {"key": "timezone", "value": "UTC"}]


meta = Table(
    "mineledger_meta", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

users = Table(
    "users", metadata,
    _fid(),
    Column("name", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),  # admin | officer | operator | viewer | public
    Column("country", Text),
    Column("organisation", Text),
    Column("created_at", UTCDateTime()),
    Column("created_by", Text),
    sqlite_autoincrement=True,
)

#: Victims' personal data, encrypted with a key per person (AES-256-GCM); the person keys
#: are themselves encrypted with the store's key, which is kept outside the store.
victim_personal = Table(
    "victim_personal", metadata,
    _fid(),
    Column("uuid", Text, nullable=False, unique=True),  # the victim record
    Column("key_id", Text, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime()),
    sqlite_autoincrement=True,
)

person_keys = Table(
    "person_keys", metadata,
    _fid(),
    Column("key_id", Text, nullable=False, unique=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime()),
    sqlite_autoincrement=True,
)

#: Every access to personal data (read, correction, erasure); append-only.
access_log = Table(
    "personal_access_log", metadata,
    _fid(),
    Column("at", UTCDateTime(), nullable=False),
    Column("user_name", Text, nullable=False),
    Column("record_uuid", Text, nullable=False),
    Column("action", Text, nullable=False),  # read | export | correct | erase
    Column("purpose", Text),
    sqlite_autoincrement=True,
)

ATTRIBUTE_TABLES = {"imports": imports, "change_log": change_log, "quarantine": quarantine,
                    "hazard_lineage": lineage, "quality_findings": quality_findings,
                    "users": users, "personal_access_log": access_log,
                    "transactions": transactions}
#: Tables of the store that hold no records and are not read as tables.
PRIVATE_TABLES = {"mineledger_meta": meta, "victim_personal": victim_personal,
                  "person_keys": person_keys}
