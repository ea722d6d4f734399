"""The store as it stood: a read-only view rebuilt from the append-only change log.

Every insert, update and delete is in ``change_log`` with the record's whole state after it
(and before it), so the state of any record at any instant is the state its last change up
to that instant left. :class:`Snapshot` is a read-only store that answers every read that
way; services run on it unchanged, so ``summary``, ``landrelease``, ``check`` and ``report``
take ``--as-of`` and ``--information-as-of`` with no code of their own (README, "History,
as-of figures").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import shapely

from mineledger.errors import QueryError, StoreError
from mineledger.model.records import COMMON_FIELDS, LAYERS
from mineledger.model.vocab import Layer
from mineledger.store import schema
from mineledger.store.base import PagedResult, Store, page_request


def store_timezone(store: Store) -> str:
    """The time zone whose days ``--as-of DATE`` means (the store's ``timezone`` setting;
    UTC unless an admin set another)."""
    return store.settings().get("timezone") or "UTC"


def parse_instant(text: str | dt.date | dt.datetime, store: Store) -> dt.datetime:
    """``--as-of`` → an instant in UTC.

    A date (``2025-12-31``) means the end of that day in the store's time zone; an ISO 8601
    time with an offset (``2025-12-31T10:00:00Z``, as a report prints it) means itself.

    Raises
    ------
    QueryError
        Not a date or a time with a UTC offset.
    """
    day = None
    if isinstance(text, dt.datetime):
        moment = text
    elif isinstance(text, dt.date):
        moment = None
        day = text
    else:
        text = str(text).strip()
        moment = day = None
        try:
            if "T" in text or " " in text:
                moment = dt.datetime.fromisoformat(text)
            elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = dt.date.fromisoformat(text)
            else:
                raise ValueError(text)
        except ValueError:
            raise QueryError(f"--as-of {text!r}: expected a date (YYYY-MM-DD) or a time with a "
                             "UTC offset (YYYY-MM-DDTHH:MM:SSZ)") from None
    if moment is None:
        zone = ZoneInfo(store_timezone(store))
        moment = dt.datetime.combine(day, dt.time.max, tzinfo=zone)
    elif moment.tzinfo is None:
        raise QueryError(f"--as-of {text!r}: a time needs its UTC offset (…Z or …+01:00)")
    moment = moment.astimezone(dt.timezone.utc)
    if moment > dt.datetime.now(dt.timezone.utc):
        raise QueryError(f"--as-of {text}: that is still to come (the end of a day that has not "
                         "ended, or a later time); the store can only say what it said up to now "
                         "— give an earlier date, or a time such as 2025-12-31T10:00:00Z")
    return moment


def _day(text: str | dt.date | None, option: str) -> dt.date | None:
    if text is None or isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise QueryError(f"{option} {text!r}: expected a date (YYYY-MM-DD)") from None


def typed_state(layer: str, state: dict[str, Any]) -> dict[str, Any]:
    """A change log state (JSON) with dates and times as Python values again."""
    spec = LAYERS[Layer(layer)]
    out = dict(state)
    for name, value in state.items():
        f = spec.fields.get(name) or COMMON_FIELDS.get(name)
        if f is None or value is None or not isinstance(value, str):
            continue
        if f.type == "date":
            out[name] = dt.date.fromisoformat(value[:10])
        elif f.type == "datetime":
            out[name] = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif f.type == "blob":
            out[name] = bytes.fromhex(value)
    return out


class Snapshot(Store):
    """A read-only view of a store as it was at ``at`` (UTC) and/or as known by
    ``information_as_of`` (changes whose date of information is later are left out; changes
    with no date of information count as known).

    Raises
    ------
    StoreError
        On any attempt to write.
    """

    read_only = True

    def __init__(self, base: Store, at: dt.datetime | None = None,
                 information_as_of: dt.date | None = None):
        self.base = base
        self.location = base.location
        self.at = at
        self.information_as_of = information_as_of
        self._layers: dict[str, gpd.GeoDataFrame] = {}

    def writer(self, *, user, command, wait=True):
        raise StoreError("a view of the store as of a past instant cannot be written")

    def settings(self):
        return self.base.settings()

    def personal(self, uuids):
        return self.base.personal(uuids)

    def last_commit(self):
        return self.base.last_commit()

    def read_changes(self, **kw):
        until = kw.pop("until", None)
        bound = self.at if until is None else min(until, self.at or until)
        return self.base.read_changes(until=bound, **kw)

    def _layer(self, layer: str) -> gpd.GeoDataFrame:
        if layer in self._layers:
            return self._layers[layer]
        if self.information_as_of is None:
            entries = self.base.read_changes(layer=str(layer), until=self.at, latest=True)
        else:
            last: dict[str, dict] = {}
            for e in self.base.read_changes(layer=str(layer), until=self.at):
                doi = e.get("date_of_information")
                if doi is None or doi <= self.information_as_of:
                    last[e["record_uuid"]] = e
            entries = list(last.values())
        # in the order the records were first written, as the store numbers them
        first = {e["record_uuid"]: e["fid"] for e in self.base.read_changes(
            layer=str(layer), until=self.at, first=True)}
        rows, geoms = [], []
        for e in sorted(entries, key=lambda e: first.get(e["record_uuid"], e["fid"])):
            if e["action"] == "delete" or not e["after"]:
                continue
            rows.append(typed_state(layer, e["after"]))
            geoms.append(shapely.from_wkb(e["after_geom"]) if e["after_geom"] is not None else None)
        columns = [c.name for c in schema.layer_tables[Layer(layer)].columns if c.name != "geom"]
        df = pd.DataFrame(rows, columns=columns)
        spec = LAYERS[Layer(layer)]
        for col in df.columns:  # the dtypes the store's own read gives: text is None, not NaN
            f = spec.fields.get(col) or COMMON_FIELDS.get(col)
            kind = f.type if f is not None else "text"
            if kind in ("integer", "real"):
                df[col] = pd.to_numeric(df[col])
            elif kind != "boolean" or not pd.api.types.is_bool_dtype(df[col]):
                df[col] = df[col].astype(object).where(df[col].notna(), None)
        df["fid"] = range(1, len(df) + 1)  # in the store's order; not the store's numbers
        gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))
        self._layers[layer] = gdf
        return gdf

    def read_layer(self, layer, country=None, import_ids=None):
        gdf = self._layer(str(Layer(layer)))
        if country:
            gdf = gdf[gdf["country"] == country]
        if import_ids is not None:
            gdf = gdf[gdf["import_id"].isin(list(import_ids))]
        return gdf.reset_index(drop=True)

    def read_table(self, name, country=None):
        df = self.base.read_table(name, country)
        if self.at is None or df.empty:
            return df
        if name == "change_log":
            landed = {e["fid"] for e in self.base.read_changes(until=self.at)}
            return df[df["fid"].isin(landed)].reset_index(drop=True)
        stamp = {"imports": "finished_at", "quarantine": "created_at",
                 "hazard_lineage": "created_at", "quality_findings": "first_seen_at",
                 "personal_access_log": "at", "transactions": "committed_at"}.get(name)
        if stamp:
            df = df[df[stamp].map(lambda v: v is not None and v <= self.at)].copy()
        if name == "quarantine" and not df.empty:
            # a row that a later import stored was still open then
            imports = self.base.read_table("imports")
            finished = dict(zip(imports["import_id"], imports["finished_at"]))
            later = df["resolved_import_id"].map(
                lambda i: i is not None and (finished.get(i) is None or finished[i] > self.at))
            df.loc[later.to_numpy(dtype=bool), "status"] = "open"
        return df.reset_index(drop=True)

    def query(self, layer, *, country=None, bbox=None, filters=None, limit=100, offset=0):
        bbox, filters, limit, offset = page_request(layer, bbox, filters, limit, offset)
        gdf = self._layer(str(Layer(layer)))
        keep = pd.Series(True, index=gdf.index)
        if country:
            keep &= gdf["country"] == country
        for name, values in filters.items():
            given = [v for v in values if v is not None]
            match = gdf[name].isin(given)
            if len(given) < len(values):
                match |= gdf[name].isna()
            keep &= match
        if bbox is not None:
            geoms = gdf.geometry.array
            present = ~(gdf.geometry.isna().to_numpy() | shapely.is_empty(geoms))
            hits = present.copy()
            hits[present] = shapely.intersects(geoms[present], shapely.box(*bbox)) \
                if bbox[0] < bbox[2] and bbox[1] < bbox[3] else shapely.intersects(
                    geoms[present], shapely.LineString([bbox[:2], bbox[2:]])
                    if bbox[:2] != bbox[2:] else shapely.Point(bbox[:2]))
            keep &= hits
        found = gdf[keep.to_numpy(dtype=bool)]
        return PagedResult(found.iloc[offset:offset + limit].reset_index(drop=True), len(found),
                           limit, offset)

    def count(self, layer, country=None):
        return len(self.read_layer(layer, country))

    def countries(self):
        found: set[str] = set()
        for layer in LAYERS:
            found.update(c for c in self._layer(str(layer))["country"].dropna().unique())
        return sorted(found)

    def schema_revision(self):
        return self.base.schema_revision()

    def upgrade_schema(self):
        raise StoreError("a view of the store as of a past instant cannot be upgraded")

    def has_records(self):
        return any(self.countries())

    def row_total(self):
        return self.base.row_total()

    def close(self):
        pass


def view_as_of(store: Store, at: str | dt.datetime | None = None,
               information_as_of: str | dt.date | None = None) -> Store:
    """``store`` itself if neither bound is given, else a :class:`Snapshot` of it.

    ``at``: a date (the end of that day in the store's time zone) or a time with its UTC
    offset; ``information_as_of``: a date.

    Raises
    ------
    QueryError
        A bound that does not parse, or an instant in the future. (One before the store held
        anything gives an empty store: "no records for that country".)
    """
    if at is None and information_as_of is None:
        return store
    instant = parse_instant(at, store) if at is not None else None
    known = _day(information_as_of, "--information-as-of")
    return Snapshot(store, instant, known)


def instant_text(moment: dt.datetime) -> str:
    """An instant as ``--as-of`` takes it back: ISO 8601 UTC with milliseconds and ``Z``.

    >>> instant_text(dt.datetime(2026, 11, 30, 3, 4, 5, 678900, tzinfo=dt.timezone.utc))
    '2026-11-30T03:04:05.678Z'
    """
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
