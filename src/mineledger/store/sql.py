"""The parts of a store that SQLAlchemy Core makes the same on every back end."""

from __future__ import annotations

import datetime as dt
import json
import uuid as uuidlib
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

import geopandas as gpd
import pandas as pd
import numpy as np
import shapely
from sqlalchemy import (Connection, Engine, LargeBinary, Text, func, or_, select, true,
                        type_coerce)
from sqlalchemy.exc import DBAPIError

from mineledger.errors import QueryError, StoreError
from mineledger.geo.arrays import geometry_array
from mineledger.model.vocab import Layer
from mineledger.store import gpkg_geometry, revisions, schema
from mineledger.store.base import ERASED, FigureReader, PagedResult, Store, Writer, page_request
from mineledger.store.types import Date, JSONText, UTCDateTime

_CHUNK = 500



def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _wkb(row: dict[str, Any] | None) -> bytes | None:
    geom = (row or {}).get("geom")
    return None if geom is None else shapely.to_wkb(geom, output_dimension=2)


def _wkb_many(geoms: list) -> list[bytes | None]:
    """:func:`_wkb` of many geometries in one call."""
    arr = geometry_array(geoms)
    return shapely.to_wkb(arr, output_dimension=2).tolist()


def _visible_nul(row: dict[str, Any]) -> None:
    """Show a NUL character in text as ``\\x00``: PostgreSQL text cannot hold it, and both back
    ends must store the same. (Mapped fields refuse NUL at import; this covers notes and
    messages that quote a source.)"""
    for key, value in row.items():
        if isinstance(value, str) and "\x00" in value:
            row[key] = value.replace("\x00", "\\x00")


def _conform(table, rows: list[dict[str, Any]]) -> None:
    """Make polygons multipolygons in a MULTIPOLYGON layer (GeoPackage 1.3 §2.1.6 allows only
    the declared type and its subtypes; PostGIS's typmod enforces it), and NUL characters
    visible, before the rows are written and logged, so the change log holds what the layer
    holds."""
    polygonal = table.c.geom.type.geometry_type == "MULTIPOLYGON"
    for row in rows:
        _visible_nul(row)
        geom = row.get("geom") if polygonal else None
        if geom is not None and geom.geom_type == "Polygon":
            row["geom"] = shapely.MultiPolygon([geom]) if not geom.is_empty else shapely.MultiPolygon()


#: Types the change log keeps as they are (looked up before any isinstance test: most values)
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _loggable(row: dict[str, Any], iso: dict | None = None) -> dict[str, Any]:
    """A record as the change log keeps it, JSON-able; its geometry goes to its own column.

    ``iso`` (a dict kept across the rows of one batch) remembers the text of dates and
    instants met before: a batch's rows share a few dates and one ``created_at``."""
    out = {}
    for key, value in row.items():
        if type(value) in _PLAIN:
            if key != "fid" and key != "geom":
                out[key] = value
            continue
        if key in ("fid", "geom"):
            continue
        out[key] = _log_value(value, iso)
    return out


def _loggable_many(rows: list[dict[str, Any]], iso: dict) -> list[dict[str, Any]]:
    """:func:`_loggable` of each row (keys may come in another order), column by column
    when the rows name the same fields: a column of plain values is taken as it is."""
    keys = rows[0].keys() if rows else None
    if not rows or any(r.keys() != keys for r in rows):
        return [_loggable(r, iso) for r in rows]
    kept = [k for k in keys if k != "fid" and k != "geom"]
    if len(kept) < 2:
        return [_loggable(r, iso) for r in rows]
    columns = list(zip(*map(itemgetter(*kept), rows)))
    for j, col in enumerate(columns):
        if not set(map(type, col)) <= _PLAIN:
            columns[j] = [v if type(v) in _PLAIN else _log_value(v, iso) for v in col]
    return [dict(zip(kept, values)) for values in zip(*columns)]


def _log_value(value: Any, iso: dict | None) -> Any:
    """A value that is not plain as :func:`_loggable` keeps it."""
    if isinstance(value, shapely.Geometry):
        return shapely.to_wkb(value, hex=True)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (dt.date, dt.datetime)):
        return _isoformat(value, iso)
    return value


def _isoformat(value: dt.date, memo: dict | None) -> str:
    """``value.isoformat()``, remembered in ``memo``: a plain date by its value, an instant by
    its identity (equal instants in other time zones write other text)."""
    if memo is None:
        return value.isoformat()
    key = value if type(value) is dt.date else id(value)
    held = memo.get(key)
    if held is None or (type(value) is not dt.date and held[0] is not value):
        held = memo[key] = (value, value.isoformat())
    return held[1]


def _decode_geometries(values: list, dialect: str) -> np.ndarray:
    """Stored geometries, raw (GeoPackage blobs; PostGIS hex EWKB), as shapely geometries
    (SRID 0), decoded in one call."""
    if dialect == "sqlite":
        wkbs = [gpkg_geometry.wkb_of(v) for v in values]
    else:
        wkbs = [None if v is None else getattr(v, "data", v) for v in values]
        wkbs = [bytes(w) if isinstance(w, memoryview) else w for w in wkbs]
    geoms = shapely.from_wkb(geometry_array(wkbs))
    return geoms if dialect == "sqlite" else shapely.set_srid(geoms, 0)


def _frame(rows, columns) -> pd.DataFrame:
    """Rows (tuples in the order of ``columns``) as a DataFrame in which a missing text value
    is ``None``, never NaN (pandas 3 infers a string dtype whose missing value is NaN, and
    NaN is truthy)."""
    df = pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns) if rows else \
        pd.DataFrame(columns=columns)
    if df.columns.has_duplicates:  # (never in a store's table; column by column as before)
        for col in df.columns:
            if not pd.api.types.is_numeric_dtype(df[col]) and \
                    not pd.api.types.is_bool_dtype(df[col]):
                df[col] = df[col].astype(object).where(df[col].notna(), None)
        return df
    # every other column as objects, missing values None: built at once, not set one by one
    out = {}
    for col in df.columns:
        series = df[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            out[col] = series
        else:
            out[col] = pd.Series(series.to_numpy(dtype=object, na_value=None), index=df.index,
                                 dtype=object, name=col)
    return pd.DataFrame(out, index=df.index, columns=df.columns)


#: Column types whose stored text :func:`_typed_rows` turns into Python values.
_TEXT_TYPES = (Date, UTCDateTime, JSONText)


def _typed_rows(rows: list, table, dialect) -> list[tuple]:
    """Rows read with their dates, instants and JSON as the stored text, with those values
    made as the column types make them: a text met before gives the same date or instant
    (a layer's rows share a few), JSON is parsed for each row (its dicts are the row's own)."""
    if not rows:
        return rows
    columns = list(zip(*rows))
    for j, c in enumerate(table.columns):
        if not isinstance(c.type, _TEXT_TYPES):
            continue
        if isinstance(c.type, JSONText):
            columns[j] = [None if v is None else json.loads(v) for v in columns[j]]
            continue
        make, memo = c.type.process_result_value, {}
        columns[j] = [memo[v] if v in memo else memo.setdefault(v, make(v, dialect))
                      for v in columns[j]]
    return list(zip(*columns))


def _features(conn: Connection, table, stmt) -> gpd.GeoDataFrame:
    """The rows of ``stmt`` (a select of ``table``) as a GeoDataFrame; geometries come raw
    and are decoded all at once (a row-by-row decode was half the time of reading 10⁵
    hazards)."""
    stmt = stmt.with_only_columns(*[
        type_coerce(c, LargeBinary).label(c.name) if c.name == "geom" else
        type_coerce(c, Text).label(c.name) if isinstance(c.type, _TEXT_TYPES) else c
        for c in table.columns])
    rows = _typed_rows(conn.execute(stmt).all(), table, conn.dialect)
    columns = [c.name for c in table.columns]
    df = _frame(rows, columns)
    geoms = _decode_geometries(df.pop("geom").tolist(), conn.dialect.name)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index, crs="EPSG:4326"))


#: The layers whose records the headline figures take in.
FIGURE_LAYERS = ("hazards", "cleared_areas", "events", "victims", "admin_areas")
_MARK = "change_log"


def read_figures(conn: Connection, country: str) -> tuple[pd.DataFrame, dict] | None:
    """The stored figures of ``country`` if they take in the whole change log (see
    :meth:`Store.read_figures`)."""
    c = schema.change_log
    last = conn.execute(select(c.c.fid).where(c.c.layer.in_(FIGURE_LAYERS))
                        .order_by(c.c.fid.desc()).limit(1)).scalar() or 0
    mark = conn.execute(select(schema.figure_state.c.value).where(
        schema.figure_state.c.key == _MARK)).scalar()
    if mark is None or mark < last:
        return None  # a change to the records the figures have not taken in
    counts = conn.execute(select(schema.figure_counts.c.counts).where(
        schema.figure_counts.c.country == country)).scalar()
    if counts is None:
        return None
    t = schema.figure_totals
    rows = conn.execute(select(*[t.c[k] for k in _TOTAL_KEY], t.c.mm2)
                        .where(t.c.country == country)).all()
    cells = pd.DataFrame(rows, columns=[*_TOTAL_KEY, "mm2"])
    cells["mm2"] = cells["mm2"].astype("int64")
    return cells, counts


_TOTAL_KEY = ["grouping", "grp", "set_name", "level", "code"]


def summed_cells(conn: Connection, country: str, clusters: list | None = None) -> pd.DataFrame:
    """``figure_cells`` of a country (of some clusters) summed per key: ``mm2`` and ``cells``."""
    t = schema.figure_cells
    stmt = select(*[t.c[k] for k in _TOTAL_KEY], func.sum(t.c.mm2), func.count()) \
        .where(t.c.country == country).group_by(*[t.c[k] for k in _TOTAL_KEY])
    if clusters is None:
        rows = conn.execute(stmt).all()
    else:
        rows = [r for i in range(0, len(clusters), _CHUNK) for r in conn.execute(
            stmt.where(t.c.cluster.in_(clusters[i:i + _CHUNK]))).all()]
    frame = pd.DataFrame(rows, columns=[*_TOTAL_KEY, "mm2", "cells"])
    # PostgreSQL sums bigint as numeric
    frame[["mm2", "cells"]] = frame[["mm2", "cells"]].map(int).astype("int64")
    return frame.groupby(_TOTAL_KEY, as_index=False)[["mm2", "cells"]].sum()


class _FigureReads:
    """The reads of :class:`~mineledger.store.base.FigureReader` on a connection (``conn``)."""

    conn: Connection

    #: Conditions selecting rows whose geometry meets a box (the store's own; see
    #: :meth:`SQLStore._bbox_conditions`), set by the store that opens the writer.
    box_conditions = None

    def figure_mark(self):
        return self.conn.execute(select(schema.figure_state.c.value).where(
            schema.figure_state.c.key == _MARK)).scalar() or 0

    def changed_since(self, mark):
        c = schema.change_log
        last = self.conn.execute(select(func.max(c.c.fid))).scalar() or 0
        if last <= mark:
            return int(last), pd.DataFrame(columns=["layer", "uuid", "country"])
        found = []
        for layer in FIGURE_LAYERS:
            t = schema.layer_tables[Layer(layer)]
            changed = select(c.c.record_uuid).where(c.c.fid > mark, c.c.layer == layer)
            found += [(layer, u, k) for u, k in self.conn.execute(
                select(t.c.uuid, t.c.country).where(t.c.uuid.in_(changed)))]
            # the country a record was in before (deleted, or moved to another country)
            for uuid_, before in self.conn.execute(
                    select(c.c.record_uuid, c.c.before).where(
                        c.c.fid > mark, c.c.layer == layer, c.c.action != "insert")):
                if isinstance(before, dict) and before.get("country"):
                    found.append((layer, uuid_, before["country"]))
        frame = pd.DataFrame(found, columns=["layer", "uuid", "country"]).drop_duplicates()
        return int(last), frame.reset_index(drop=True)

    def stored_figures(self, country):
        return read_figures(self.conn, country)

    def figure_counts(self, country):
        t = schema.figure_counts
        return self.conn.execute(select(t.c.counts).where(t.c.country == country)).scalar()

    def read_records(self, layer, *, uuids=None, country=None, columns=None):
        table = schema.layer_tables[Layer(layer)]
        if columns is not None:
            stmt = select(*[table.c[c] for c in columns if c in table.c]).where(
                table.c.country == country).order_by(table.c.fid)
            frame = pd.DataFrame(self.conn.execute(stmt).all(),
                                 columns=[c for c in columns if c in table.c])
            return frame
        if uuids is None:
            stmt = select(table).where(table.c.country == country).order_by(table.c.fid)
            return _features(self.conn, table, stmt)
        uuids = list(dict.fromkeys(uuids))
        parts = [_features(self.conn, table, select(table).where(
            table.c.uuid.in_(uuids[i:i + _CHUNK])).order_by(table.c.fid))
            for i in range(0, len(uuids), _CHUNK)]
        if not parts:
            return _features(self.conn, table, select(table).where(~true()))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")

    def uuids_meeting(self, layer, country, boxes):
        table = schema.layer_tables[Layer(layer)]
        found: set[str] = set()
        for box in boxes:
            found.update(self.conn.execute(select(table.c.uuid).where(
                table.c.country == country, *self.box_conditions(table, box))).scalars())
        return found

    def figure_members(self, *, uuids=None, country=None, clusters=None):
        t = schema.figure_members
        cols = [t.c.country, t.c.layer, t.c.uuid, t.c.cluster]
        rows = []
        if uuids is not None:
            uuids = list(dict.fromkeys(uuids))
            for i in range(0, len(uuids), _CHUNK):
                rows += self.conn.execute(select(*cols).where(
                    t.c.uuid.in_(uuids[i:i + _CHUNK]))).all()
        elif clusters is None:
            rows = self.conn.execute(select(*cols).where(t.c.country == country)).all()
        else:
            clusters = list(dict.fromkeys(clusters))
            for i in range(0, len(clusters), _CHUNK):
                rows += self.conn.execute(select(*cols).where(
                    t.c.country == country, t.c.cluster.in_(clusters[i:i + _CHUNK]))).all()
        return pd.DataFrame(rows, columns=["country", "layer", "uuid", "cluster"])


    def summed_cells(self, country):
        return summed_cells(self.conn, country)

    def holds_records(self, country, layers):
        for layer in layers:
            t = schema.layer_tables[Layer(layer)]
            if self.conn.execute(select(t.c.fid).where(t.c.country == country)
                                 .limit(1)).first() is not None:
                return True
        return False

    def figure_countries(self):
        found: set[str] = set()
        for t in (schema.figure_counts, schema.figure_members, schema.figure_cells,
                  schema.figure_totals):
            found.update(self.conn.execute(select(t.c.country).distinct()).scalars())
        return sorted(found)


class SQLFigureReader(_FigureReads, FigureReader):
    def __init__(self, conn: Connection, box_conditions):
        self.conn = conn
        self.box_conditions = box_conditions


class SQLWriter(_FigureReads, Writer):
    def __init__(self, conn: Connection, user: str, command: str):
        self.conn = conn
        self.user = user
        self.command = command
        self.now = _now()
        self.tx_id = str(uuidlib.uuid4())
        self.logged = False

    def _append(self, entries):
        """Append to the change log, each entry tagged with this transaction."""
        if entries:
            for e in entries:
                e["tx_id"] = self.tx_id
            self._insert_many(schema.change_log, entries)
            self.logged = True

    def _append_columns(self, columns: dict[str, list]) -> None:
        """Append entries given column by column (lists of one length) to the change log,
        tagged with this transaction."""
        n = len(next(iter(columns.values())))
        if n:
            self._insert_columns(schema.change_log, {**columns, "tx_id": [self.tx_id] * n})
            self.logged = True

    def _insert_many(self, table, rows: list[dict[str, Any]]) -> None:
        """Insert rows that all name the same columns (the back end may write them in bulk:
        :class:`mineledger.store.geopackage.GeoPackageWriter`)."""
        self.conn.execute(table.insert(), rows)

    def _insert_columns(self, table, columns: dict[str, list]) -> None:
        """Insert rows given column by column (lists of one length, in row order)."""
        keys = list(columns)
        self._insert_many(table, [dict(zip(keys, values)) for values in zip(*columns.values())])

    def commit_stamp(self):
        """The transaction's last statement: when it commits (``--as-of`` reads changes by
        this instant, so a long import counts from when it landed, not from when it began)."""
        if self.logged:
            self.conn.execute(schema.transactions.insert(), [{
                "tx_id": self.tx_id, "started_at": self.now, "committed_at": _now(),
                "user_name": self.user, "command": self.command}])

    def existing(self, layer, uuids):
        table = schema.layer_tables[Layer(layer)]
        uuids = list(uuids)
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(uuids), _CHUNK):
            rows = self.conn.execute(select(table).where(table.c.uuid.in_(uuids[i:i + _CHUNK])))
            for row in rows.mappings():
                found[row["uuid"]] = dict(row)
        return found

    def where(self, layer, field, values, country=None):
        table = schema.layer_tables[Layer(layer)]
        values = [v for v in dict.fromkeys(values) if v is not None]
        found = []
        for i in range(0, len(values), _CHUNK):
            stmt = select(table).where(table.c[field].in_(values[i:i + _CHUNK]))
            if country:
                stmt = stmt.where(table.c.country == country)
            found += [dict(r) for r in self.conn.execute(stmt).mappings()]
        return found

    def sync_findings(self, country, rule_ids, findings):
        q = schema.quality_findings
        held = {r["fingerprint"]: dict(r) for r in self.conn.execute(
            select(q).where(q.c.country == country, q.c.rule_id.in_(rule_ids))).mappings()}
        seen = set()
        new = []
        for f in findings:
            if f["fingerprint"] in seen:
                continue
            seen.add(f["fingerprint"])
            old = held.get(f["fingerprint"])
            if old is None:
                new.append({**f, "status": "open", "first_seen_at": self.now, "last_seen_at": self.now})
            else:
                values = {"reason": f["reason"], "suggested_fix": f["suggested_fix"],
                          "last_seen_at": self.now}
                if old["status"] == "gone":
                    values.update(status="open", status_reason="found again", status_at=self.now)
                self.conn.execute(q.update().where(q.c.fingerprint == f["fingerprint"]).values(**values))
        if new:
            self.conn.execute(q.insert(), new)
        for fp, old in held.items():
            if fp not in seen and old["status"] == "open":
                self.conn.execute(q.update().where(q.c.fingerprint == fp).values(
                    status="gone", status_reason="no longer found", status_at=self.now))
        rows = self.conn.execute(select(q).where(
            q.c.country == country, q.c.rule_id.in_(rule_ids), q.c.status != "gone")
            .order_by(q.c.rule_id, q.c.fid)).mappings()
        return [dict(r) for r in rows]

    def mark_finding(self, fingerprint, status, reason, user, at):
        q = schema.quality_findings
        rows = self.conn.execute(select(q).where(q.c.fingerprint.like(f"{fingerprint}%"))).mappings().all()
        if len(rows) != 1:
            raise QueryError(f"finding {fingerprint!r}: " + ("no such finding" if not rows else
                             f"{len(rows)} findings start so; give more of the fingerprint"))
        self.conn.execute(q.update().where(q.c.fid == rows[0]["fid"]).values(
            status=status, status_reason=reason, status_by=user, status_at=at))
        old = rows[0]
        self._append([{
            "at": self.now, "user_name": user, "import_id": None, "command": self.command,
            "layer": "quality_findings", "record_uuid": old["fingerprint"], "action": "update",
            "reason": reason, "before": {"status": old["status"], "status_reason": old["status_reason"]},
            "after": {"status": status, "status_reason": reason}}])
        return {**dict(old), "status": status, "status_reason": reason}

    # -- the headline figures (FigureWriter) ---------------------------------------------

    def set_figure_mark(self, mark):
        t = schema.figure_state
        self.conn.execute(t.delete().where(t.c.key == _MARK))
        self.conn.execute(t.insert(), [{"key": _MARK, "value": int(mark)}])

    def replace_figures(self, country, clusters, members, cells):
        clusters = None if clusters is None else list(dict.fromkeys(clusters))
        self._retotal(country, clusters, cells)
        for t in (schema.figure_members, schema.figure_cells):
            if clusters is None:
                self.conn.execute(t.delete().where(t.c.country == country))
            else:
                clusters = list(dict.fromkeys(clusters))
                for i in range(0, len(clusters), _CHUNK):
                    self.conn.execute(t.delete().where(
                        t.c.country == country, t.c.cluster.in_(clusters[i:i + _CHUNK])))
        if len(members):
            self._insert_columns(schema.figure_members, {
                "country": [country] * len(members), "layer": members["layer"].tolist(),
                "uuid": members["uuid"].tolist(), "cluster": members["cluster"].tolist()})
        if len(cells):
            self._insert_columns(schema.figure_cells, {
                "country": [country] * len(cells),
                **{k: cells[k].tolist() for k in ("cluster", "grouping", "grp", "set_name")},
                "level": [int(v) for v in cells["level"]],
                "code": cells["code"].tolist(), "mm2": [int(v) for v in cells["mm2"]]})

    def _retotal(self, country, clusters, cells) -> None:
        """``figure_totals`` of the country after its ``clusters`` (all if None) are replaced
        by ``cells``: the old totals, less the clusters' cells, plus the new (integers, so
        exactly); keys no cell is left in are dropped."""
        added = pd.DataFrame(cells, columns=[*_TOTAL_KEY, "mm2"]).assign(cells=1)
        added["mm2"] = added["mm2"].astype("int64")
        parts = [added.groupby(_TOTAL_KEY, as_index=False)[["mm2", "cells"]].sum()]
        t = schema.figure_totals
        if clusters is not None:
            kept = pd.DataFrame(self.conn.execute(select(
                *[t.c[k] for k in _TOTAL_KEY], t.c.mm2, t.c.cells).where(
                t.c.country == country)).all(), columns=[*_TOTAL_KEY, "mm2", "cells"])
            removed = summed_cells(self.conn, country, clusters) if clusters else \
                kept.iloc[0:0]
            parts += [kept, removed.assign(mm2=-removed["mm2"], cells=-removed["cells"])]
        frames = [p for p in parts if len(p)]
        totals = pd.concat(frames, ignore_index=True) if frames else parts[0]
        totals = totals.astype({"mm2": "int64", "cells": "int64", "level": "int64"}) \
            .groupby(_TOTAL_KEY, as_index=False)[["mm2", "cells"]].sum()
        totals = totals[totals["cells"] > 0]
        self.conn.execute(t.delete().where(t.c.country == country))
        if len(totals):
            self._insert_columns(t, {"country": [country] * len(totals),
                                     **{k: totals[k].tolist() for k in _TOTAL_KEY[:3]},
                                     "level": [int(v) for v in totals["level"]],
                                     "code": totals["code"].tolist(),
                                     "mm2": [int(v) for v in totals["mm2"]],
                                     "cells": [int(v) for v in totals["cells"]]})

    def put_figure_counts(self, country, counts):
        t = schema.figure_counts
        self.conn.execute(t.delete().where(t.c.country == country))
        if counts is not None:
            self.conn.execute(t.insert(), [{"country": country, "counts": counts}])

    def add_lineage(self, rows):
        if rows:
            self.conn.execute(schema.lineage.insert(), [{**r, "created_at": self.now} for r in rows])

    def insert(self, layer, rows, *, import_id, reason=None):
        if not rows:
            return
        table = schema.layer_tables[Layer(layer)]
        keys = set().union(*rows)  # executemany needs every row to name the same columns
        for row in rows:
            if len(row) != len(keys):  # (a row with as many keys as all rows has them all)
                for key in keys:
                    row.setdefault(key, None)
            row.setdefault("created_at", self.now)
            row.setdefault("updated_at", self.now)
            row["import_id"] = import_id
        _conform(table, rows)
        self._insert_many(table, rows)
        self._log(layer, "insert", rows, None, import_id, reason)

    def update(self, layer, rows, before, *, import_id, reason=None):
        if not rows:
            return
        table = schema.layer_tables[Layer(layer)]
        _conform(table, rows)
        for row in rows:
            row["updated_at"] = self.now
            row["import_id"] = import_id
            row.pop("created_at", None)
            self.conn.execute(table.update().where(table.c.uuid == row["uuid"]).values(**row))
        self._log(layer, "update", rows, before, import_id, reason)

    def delete(self, layer, rows, *, import_id, reason=None):
        if not rows:
            return
        table = schema.layer_tables[Layer(layer)]
        uuids = [r["uuid"] for r in rows]
        for i in range(0, len(uuids), _CHUNK):
            self.conn.execute(table.delete().where(table.c.uuid.in_(uuids[i:i + _CHUNK])))
        self._append([{
            "at": self.now, "user_name": self.user, "import_id": import_id,
            "command": self.command, "layer": str(layer), "record_uuid": r["uuid"],
            "action": "delete", "date_of_information": r.get("date_of_information"),
            "reason": reason, "before": _loggable(r), "after": None, "before_geom": _wkb(r),
            "after_geom": None} for r in rows])

    def log(self, layer, record_uuid, action, *, before=None, after=None, reason=None,
            import_id=None):
        self._append([{
            "at": self.now, "user_name": self.user, "import_id": import_id,
            "command": self.command, "layer": layer, "record_uuid": record_uuid,
            "action": action, "reason": reason, "before": before, "after": after}])

    def set_setting(self, key, value, reason=None):
        m = schema.meta
        old = self.conn.execute(select(m.c.value).where(m.c.key == key)).scalar()
        if old is None:
            self.conn.execute(m.insert(), [{"key": key, "value": value}])
        else:
            self.conn.execute(m.update().where(m.c.key == key).values(value=value))
        self.log("settings", key, "update", before={"value": old}, after={"value": value},
                 reason=reason)

    def put_user(self, row, reason=None):
        u = schema.users
        old = self.conn.execute(select(u).where(u.c.name == row["name"])).mappings().first()
        if old is None:
            self.conn.execute(u.insert(), [{**row, "created_at": self.now, "created_by": self.user}])
        else:
            self.conn.execute(u.update().where(u.c.name == row["name"]).values(**row))
        self.log("users", row["name"], "insert" if old is None else "update",
                 before=_loggable(dict(old)) if old else None, after=_loggable(row), reason=reason)

    def remove_user(self, name, reason=None):
        u = schema.users
        old = self.conn.execute(select(u).where(u.c.name == name)).mappings().first()
        if old is None:
            raise StoreError(f"no user {name!r}")
        self.conn.execute(u.delete().where(u.c.name == name))
        self.log("users", name, "delete", before=_loggable(dict(old)), reason=reason)

    def settings(self):
        return {k: v for k, v in self.conn.execute(select(schema.meta.c.key, schema.meta.c.value))}

    def person_key(self, key_id):
        k = schema.person_keys
        return self.conn.execute(select(k.c.wrapped_key).where(k.c.key_id == key_id)).scalar()

    def add_person_key(self, key_id, wrapped):
        self.conn.execute(schema.person_keys.insert(), [{"key_id": key_id, "wrapped_key": wrapped,
                                                         "created_at": self.now}])

    def personal(self, uuids):
        return _personal_rows(self.conn, uuids)

    def put_personal(self, uuid, key_id, ciphertext, *, import_id=None, reason=None):
        v = schema.victim_personal
        old = self.conn.execute(select(v).where(v.c.uuid == uuid)).mappings().first()
        if old is None:
            self.conn.execute(v.insert(), [{"uuid": uuid, "key_id": key_id,
                                            "ciphertext": ciphertext, "updated_at": self.now}])
        else:
            self.conn.execute(v.update().where(v.c.uuid == uuid).values(
                key_id=key_id, ciphertext=ciphertext, updated_at=self.now))
        # the change log holds personal data only encrypted, under the person's key
        self.log("victim_personal", uuid, "insert" if old is None else "update",
                 before={"key_id": old["key_id"], "ciphertext": bytes(old["ciphertext"]).hex()}
                 if old else None,
                 after={"key_id": key_id, "ciphertext": ciphertext.hex()},
                 reason=reason, import_id=import_id)

    def erase_personal(self, uuid, reason):
        """Destroy a victim's person key and mark the victim erased (so a re-import does not
        bring the data back); returns the erased key id, or None if nothing was there."""
        v, k = schema.victim_personal, schema.person_keys
        old = self.conn.execute(select(v).where(v.c.uuid == uuid)).mappings().first()
        if old is None or old["key_id"] == ERASED:
            return None
        self.conn.execute(v.update().where(v.c.uuid == uuid).values(
            key_id=ERASED, ciphertext=b"", updated_at=self.now))
        self.conn.execute(k.delete().where(k.c.key_id == old["key_id"]))
        self.log("victim_personal", uuid, "erase", before={"key_id": old["key_id"]},
                 after={"key_id": ERASED}, reason=reason)
        return old["key_id"]

    def remove_personal(self, uuid, *, import_id=None, reason=None):
        """Delete a victim's personal data and key with the record (a reverted import)."""
        v, k = schema.victim_personal, schema.person_keys
        old = self.conn.execute(select(v).where(v.c.uuid == uuid)).mappings().first()
        if old is None:
            return
        self.conn.execute(v.delete().where(v.c.uuid == uuid))
        self.conn.execute(k.delete().where(k.c.key_id == old["key_id"]))
        self.log("victim_personal", uuid, "delete", before={"key_id": old["key_id"]},
                 reason=reason, import_id=import_id)

    def has_person_keys(self):
        return self.conn.execute(select(func.count()).select_from(schema.person_keys)).scalar_one() > 0

    def log_access(self, uuids, action, purpose=None):
        rows = [{"at": self.now, "user_name": self.user, "record_uuid": u, "action": action,
                 "purpose": purpose} for u in uuids]
        if rows:
            self.conn.execute(schema.access_log.insert(), rows)

    def _log(self, layer, action, rows, before, import_id, reason):
        """One change-log entry per row, built column by column (no dict per entry)."""
        n = len(rows)
        iso: dict = {}
        uuids = [row["uuid"] for row in rows]
        olds = [before[u] for u in uuids] if before else None
        self._append_columns({
            "at": [self.now] * n,
            "user_name": [self.user] * n,
            "import_id": [import_id] * n,
            "command": [self.command] * n,
            "layer": [str(layer)] * n,
            "record_uuid": uuids,
            "action": [action] * n,
            "date_of_information": [row.get("date_of_information") for row in rows],
            "reason": [reason] * n,
            "before": _loggable_many(olds, iso) if olds else [None] * n,
            "after": _loggable_many(rows, iso),
            "before_geom": _wkb_many([old.get("geom") for old in olds]) if olds else [None] * n,
            "after_geom": _wkb_many([row.get("geom") for row in rows]),
        })

    def add_import(self, row):
        self.conn.execute(schema.imports.insert(), [row])

    def sync_quarantine(self, rejected, resolved, *, import_id):
        q = schema.quarantine
        held: dict[str, dict[str, Any]] = {}
        uuids = [r["uuid"] for r in rejected]
        for i in range(0, len(uuids), _CHUNK):
            for row in self.conn.execute(select(q).where(q.c.uuid.in_(uuids[i:i + _CHUNK]))).mappings():
                held[row["uuid"]] = dict(row)
        new = []
        for r in rejected:
            _visible_nul(r)
            old = held.get(r["uuid"])
            if old is None:
                new.append({**r, "status": "open", "created_at": self.now, "updated_at": self.now})
            elif (old["reason"], old["value"], old["status"]) != (r["reason"], r["value"], "open"):
                self.conn.execute(q.update().where(q.c.uuid == r["uuid"]).values(
                    field=r["field"], value=r["value"], reason=r["reason"], raw=r["raw"],
                    import_id=import_id, status="open", resolved_import_id=None,
                    updated_at=self.now))
        if new:
            self.conn.execute(q.insert(), new)
        resolved = list(resolved)
        for i in range(0, len(resolved), _CHUNK):
            self.conn.execute(q.update().where(q.c.uuid.in_(resolved[i:i + _CHUNK]),
                                               q.c.status == "open").values(
                status="resolved", resolved_import_id=import_id, updated_at=self.now))


def _personal_rows(conn, uuids):
    v = schema.victim_personal
    uuids = list(uuids)
    found = {}
    for i in range(0, len(uuids), _CHUNK):
        for row in conn.execute(select(v).where(v.c.uuid.in_(uuids[i:i + _CHUNK]))).mappings():
            found[row["uuid"]] = {"key_id": row["key_id"], "ciphertext": bytes(row["ciphertext"])}
    return found


class SQLStore(Store):
    """A store over a SQLAlchemy engine; back ends add their DDL and connection rules."""

    engine: Engine

    def settings(self):
        with self.engine.connect() as conn:
            return {k: v for k, v in conn.execute(select(schema.meta.c.key, schema.meta.c.value))}

    def read_changes(self, *, record_uuid=None, import_id=None, layer=None, until=None,
                     latest=False, since_fid=None, import_prefix=None, tx_ids=None,
                     first=False):
        c = schema.change_log
        if tx_ids is not None:
            tx_ids = list(tx_ids)
            if len(tx_ids) > _CHUNK:  # in batches: a database takes so many values at once
                return [e for i in range(0, len(tx_ids), _CHUNK) for e in self.read_changes(
                    record_uuid=record_uuid, import_id=import_id, layer=layer, until=until,
                    latest=latest, since_fid=since_fid, import_prefix=import_prefix,
                    tx_ids=tx_ids[i:i + _CHUNK], first=first)]
        stmt = select(c).order_by(c.c.fid)
        if tx_ids is not None:
            stmt = stmt.where(c.c.tx_id.in_(tx_ids))
        if since_fid is not None:
            stmt = stmt.where(c.c.fid > since_fid)
        if import_prefix is not None:
            stmt = stmt.where(c.c.import_id.startswith(import_prefix, autoescape=True))
        if record_uuid is not None:
            stmt = stmt.where(c.c.record_uuid.startswith(record_uuid, autoescape=True))
        if import_id is not None:
            stmt = stmt.where(c.c.import_id == import_id)
        if layer is not None:
            stmt = stmt.where(c.c.layer == layer)
        t = schema.transactions
        landed = select(t.c.tx_id).where(t.c.committed_at <= until) if until is not None else None
        if until is not None:
            stmt = stmt.where(c.c.tx_id.in_(landed))
        if latest or first:  # the last (first) change of each record (within the bounds above)
            inner = select(func.max(c.c.fid) if latest else func.min(c.c.fid)).group_by(
                c.c.record_uuid)
            if layer is not None:
                inner = inner.where(c.c.layer == layer)
            if until is not None:
                inner = inner.where(c.c.tx_id.in_(landed))
            stmt = stmt.where(c.c.fid.in_(inner))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def personal(self, uuids):
        with self.engine.connect() as conn:
            return _personal_rows(conn, uuids)

    def last_commit(self):
        t = schema.transactions
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.committed_at).order_by(t.c.fid.desc()).limit(1)).scalar()

    @contextmanager
    def _write_connection(self):
        with self.engine.connect() as conn:
            conn.info["write"] = True
            try:
                yield conn
            finally:  # ``info`` stays with the pooled DBAPI connection: a later read on it
                # must not take the write lock (nor refuse to wait for it)
                conn.info.pop("write", None)
                conn.info.pop("no_wait", None)

    def upgrade_schema(self) -> tuple[str | None, str]:
        """Bring the store's schema to this mineledger's revision, in one transaction;
        returns the revisions before and after (see :mod:`mineledger.store.revisions`)."""
        try:
            with self._write_connection() as conn, conn.begin():
                self._take_write_lock(conn)
                return revisions.upgrade(conn)
        except DBAPIError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise StoreError(f"{self.location}: the schema upgrade failed, nothing was changed: "
                             f"{reason}") from None

    def _take_write_lock(self, conn: Connection) -> None:
        """Serialise writers; called first in each write transaction (SQLite takes its lock
        with ``BEGIN IMMEDIATE`` instead)."""

    #: The writer class of the back end.
    writer_class = SQLWriter

    @contextmanager
    def writer(self, *, user, command, wait=True):
        try:
            with self._write_connection() as conn:
                conn.info["no_wait"] = not wait
                with conn.begin():
                    self._take_write_lock(conn)
                    writer = self.writer_class(conn, user, command)
                    writer.box_conditions = self._bbox_conditions
                    yield writer
                    writer.commit_stamp()
        except DBAPIError as exc:  # the transaction was rolled back
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise StoreError(f"{self.location}: write failed, nothing was written: "
                             f"{reason}") from None

    def _layer_table(self, layer):
        try:
            return schema.layer_tables[Layer(layer)]
        except ValueError:
            raise QueryError(f"layer {layer!r}; expected one of "
                             f"{', '.join(l.value for l in Layer)}") from None

    def _features(self, conn, table, stmt) -> gpd.GeoDataFrame:
        return _features(conn, table, stmt)

    def read_layer(self, layer, country=None, import_ids=None):
        table = self._layer_table(layer)
        stmt = select(table).order_by(table.c.fid)
        if country:
            stmt = stmt.where(table.c.country == country)
        if import_ids is not None:
            stmt = stmt.where(table.c.import_id.in_(list(import_ids)))
        with self.engine.connect() as conn:
            return self._features(conn, table, stmt)

    def _bbox_conditions(self, table, box: tuple[float, float, float, float]) -> list:
        """Conditions selecting the rows whose geometry intersects ``box`` (min x, min y, max
        x, max y): the spatial index first, then the exact test (each back end its own)."""
        raise NotImplementedError

    def query(self, layer, *, country=None, bbox=None, filters=None, limit=100, offset=0):
        bbox, filters, limit, offset = page_request(layer, bbox, filters, limit, offset)
        table = self._layer_table(layer)
        conditions = [table.c.country == country] if country else []
        for name, values in filters.items():
            given = [v for v in values if v is not None]
            either = [table.c[name].in_(given)] if given else []
            if len(given) < len(values):
                either.append(table.c[name].is_(None))
            conditions.append(or_(*either) if either else ~true())
        if bbox is not None:
            conditions += self._bbox_conditions(table, bbox)
        with self.engine.connect() as conn:
            matched = conn.execute(select(func.count()).select_from(table)
                                   .where(*conditions)).scalar_one()
            features = self._features(conn, table, select(table).where(*conditions)
                                      .order_by(table.c.fid).limit(limit).offset(offset))
        return PagedResult(features, int(matched), limit, offset)

    def read_figures(self, country):
        with self.figure_reader() as reader:
            return reader.stored_figures(country)

    @contextmanager
    def figure_reader(self):
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # one snapshot for every statement
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():  # SQLite: BEGIN, a read transaction (one instant in WAL mode)
                yield SQLFigureReader(conn, self._bbox_conditions)

    def read_table(self, name, country=None):
        if name not in schema.ATTRIBUTE_TABLES:
            raise StoreError(f"no table {name!r}; expected one of {sorted(schema.ATTRIBUTE_TABLES)}")
        table = schema.ATTRIBUTE_TABLES[name]
        stmt = select(table).order_by(table.c.fid)
        if country and "country" in table.c:
            stmt = stmt.where(table.c.country == country)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return _frame(rows, [c.name for c in table.columns])

    def countries(self):
        found: set[str] = set()
        with self.engine.connect() as conn:
            for table in schema.layer_tables.values():
                found.update(c for c in conn.execute(select(table.c.country).distinct()).scalars() if c)
        return sorted(found)

    def count(self, layer: str, country: str | None = None) -> int:
        table = self._layer_table(layer)
        stmt = select(func.count()).select_from(table)
        if country:
            stmt = stmt.where(table.c.country == country)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()

    def schema_revision(self):
        with self.engine.connect() as conn:
            return revisions.current(conn)

    def has_records(self, conn: Connection | None = None) -> bool:
        if conn is None:
            with self.engine.connect() as conn:
                return self.has_records(conn)
        for table in schema.metadata.sorted_tables:
            if table.name == "mineledger_meta":
                continue
            key = table.c.fid if "fid" in table.c else list(table.primary_key.columns)[0]
            if conn.execute(select(key).limit(1)).first() is not None:
                return True
        return False

    def row_total(self):
        with self.engine.connect() as conn:
            return sum(conn.execute(select(func.count()).select_from(t)).scalar_one()
                       for t in schema.metadata.sorted_tables)

    def close(self):
        self.engine.dispose()
