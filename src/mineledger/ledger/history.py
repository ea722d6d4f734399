"""History: what the store said at an instant, what was known by a date of information,
every change to a record, and undoing an import — all from the append-only change log.

Every insert, update and delete is in ``change_log`` with the record's whole state after it
(and before it), so the state of any record at any instant is the state its last change up
to that instant left. :class:`Snapshot` is a read-only store that answers every read that
way; services run on it unchanged, so ``summary``, ``landrelease``, ``check`` and ``report``
take ``--as-of`` and ``--information-as-of`` with no code of their own.
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
from mineledger.access.roles import Action, PermissionDenied, actor_of, authorize, require
from mineledger.store.base import ERASED, Store


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


def _typed(layer: str, state: dict[str, Any]) -> dict[str, Any]:
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
        self.user_name = getattr(base, "user_name", None)
        self._layers: dict[str, gpd.GeoDataFrame] = {}

    def writer(self, *, user, command):
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
        first_seen = {}
        rows, geoms = [], []
        for e in sorted(entries, key=lambda e: e["fid"]):
            if e["action"] == "delete" or not e["after"]:
                continue
            first_seen.setdefault(e["record_uuid"], e["fid"])
            rows.append(_typed(layer, e["after"]))
            geoms.append(shapely.from_wkb(e["after_geom"]) if e["after_geom"] is not None else None)
        from mineledger.store import schema

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
        df["fid"] = range(1, len(df) + 1)
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

    def countries(self):
        found: set[str] = set()
        for layer in LAYERS:
            found.update(c for c in self._layer(str(layer))["country"].dropna().unique())
        return sorted(found)

    def close(self):
        pass


def as_of(store: Store, at: str | dt.datetime | None = None,
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


def require_country(store: Store, country: str) -> None:
    """Raise :class:`QueryError` unless the store (as of its instant, for a past view) holds
    records of ``country``; the message names the countries it does hold, and the instant.

    Raises
    ------
    QueryError
        ``the store holds no records for country 'BIH' (it has: COL)``, or for a view of the
        past ``the store held no records for country 'BIH' as of 2020-01-01T23:59:59.999Z
        (it had: COL)``.
    """
    known = store.countries()
    if country in known:
        return
    listed = ", ".join(known) or "none"
    if isinstance(store, Snapshot):
        when = " ".join(w for w in (
            f"as of {instant_text(store.at)}" if store.at is not None else "",
            f"with information as of {store.information_as_of.isoformat()}"
            if store.information_as_of is not None else "") if w)
        raise QueryError(f"the store held no records for country {country!r} {when} "
                         f"(it had: {listed})")
    raise QueryError(f"the store holds no records for country {country!r} (it has: {listed})")


def computed_as_of(store: Store) -> dt.datetime:
    """The instant a result computed now reflects: the bound of a snapshot, else the time of
    the store's last change (so that ``--as-of`` that instant gives the same numbers)."""
    if isinstance(store, Snapshot) and store.at is not None:
        return store.at
    return store.last_commit() or dt.datetime.now(dt.timezone.utc)


def instant_text(moment: dt.datetime) -> str:
    """An instant as ``--as-of`` takes it back: ISO 8601 UTC with milliseconds and ``Z``.

    >>> instant_text(dt.datetime(2026, 11, 30, 3, 4, 5, 678900, tzinfo=dt.timezone.utc))
    '2026-11-30T03:04:05.678Z'
    """
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- history of a record ---------------------------------------------------------------------

def record_history(store: Store, record: str) -> list[dict[str, Any]]:
    """Every change to a record (by UUID or a unique prefix of at least 8 characters), oldest
    first: ``at`` (UTC), ``user_name``, ``command``, ``import_id``, ``action``, ``reason``,
    ``date_of_information`` and ``changed`` — ``{field: (before, after)}``.

    Personal data appears only as ``(encrypted)``.

    Raises
    ------
    QueryError
        No record, or a prefix that several records share.
    PermissionDenied
        The acting user may not read history (or in that record's country).
    """
    actor = actor_of(store)
    authorize(actor, Action.HISTORY, country=actor.country)  # the role first, before any lookup
    record = record.strip().lower()
    if len(record) < 8 or not re.fullmatch(r"[0-9a-z_.-]+", record):
        raise QueryError(f"record {record!r}: give at least 8 characters of its UUID")
    entries = store.read_changes(record_uuid=record)
    uuids = sorted({e["record_uuid"] for e in entries})
    if not uuids:
        raise QueryError(f"no record {record!r} in the change log")
    if len(uuids) > 1:
        raise QueryError(f"{len(uuids)} records start with {record!r} ({', '.join(uuids[:3])} …); "
                         "give more of the UUID")
    country = next((s.get("country") for e in entries for s in (e["after"], e["before"])
                    if isinstance(s, dict) and s.get("country")), None)
    require(store, Action.HISTORY, country=country)
    from mineledger.access.roles import operator_sees_only_own

    if operator_sees_only_own(store, actor, country):
        orgs = {s.get("organisation") for e in entries for s in (e["after"], e["before"])
                if isinstance(s, dict) and "organisation" in s}
        if orgs and orgs != {actor.organisation}:
            raise PermissionDenied(f"{actor} reads only its organisation's records in {country}")
    out = []
    for e in entries:
        before, after = e["before"] or {}, e["after"] or {}
        changed = {}
        if e["layer"] == "victim_personal":
            changed = {"personal data": ("(encrypted)" if before else None,
                                         "(encrypted)" if after else "(erased)")}
        else:
            for k in sorted(set(before) | set(after)):
                if k in ("updated_at", "created_at", "content_hash", "import_id",
                         "source_checksum"):
                    continue
                if before.get(k) != after.get(k):
                    changed[k] = (before.get(k), after.get(k))
            if (e.get("before_geom") or b"") != (e.get("after_geom") or b""):
                changed["geometry"] = ("(before)" if e.get("before_geom") else None,
                                       "(after)" if e.get("after_geom") else None)
        out.append({"at": e["at"], "user_name": e["user_name"], "command": e["command"],
                    "import_id": e["import_id"], "layer": e["layer"], "action": e["action"],
                    "reason": e["reason"], "date_of_information": e["date_of_information"],
                    "record_uuid": e["record_uuid"], "changed": changed})
    return out


# --- imports ---------------------------------------------------------------------------------

def _import_row(store: Store, import_id: str) -> dict[str, Any]:
    imports = store.read_table("imports")
    import_id = import_id.strip()
    if len(import_id) < 8:
        raise QueryError(f"import {import_id!r}: give at least 8 characters of its id")
    rows = imports[imports["import_id"].str.startswith(import_id)] if not imports.empty else imports
    if rows.empty:
        raise QueryError(f"no import {import_id!r}; `mineledger imports list` lists them")
    if len(rows) > 1:
        raise QueryError(f"{len(rows)} imports start with {import_id!r}; give more of the id")
    return rows.iloc[0].to_dict()


def import_details(store: Store, import_id: str) -> dict[str, Any]:
    """An import: its row in ``imports`` and what it changed (counts by layer and action),
    and whether it was reverted."""
    actor = actor_of(store)
    authorize(actor, Action.READ, country=actor.country)  # the role first
    row = _import_row(store, import_id)
    require(store, Action.READ, country=row.get("country"))
    changes = store.read_changes(import_id=row["import_id"])
    counts: dict[str, int] = {}
    for e in changes:
        key = f"{e['layer']} {e['action']}"
        counts[key] = counts.get(key, 0) + 1
    reverts = store.read_changes(import_id=f"revert-{row['import_id']}")
    return {**row, "changes": counts, "reverted_at": reverts[0]["at"] if reverts else None}


def revert_import(store: Store, import_id: str, *, reason: str, user: str | None = None) -> dict[str, int]:
    """Undo an import through the change log: records it inserted are deleted, records it
    changed get their state before it back. The history stays: the revert is itself in the
    change log (``import_id`` ``revert-<id>``), with the reason.

    Returns
    -------
    dict
        ``deleted`` and ``restored`` counts.

    Raises
    ------
    QueryError
        No such import, an import already reverted, or records the import wrote that a later
        change has touched since (revert that change first; they are named).
    PermissionDenied
        The acting user may not revert it (operators: only their organisation's imports).
    """
    actor = actor_of(store)
    authorize(actor, Action.REVERT, country=actor.country,
              organisation=actor.organisation)  # the role first, before saying anything
    row = _import_row(store, import_id)
    iid = row["import_id"]
    everything = store.read_changes(import_id=iid)
    changes = [e for e in everything if e["layer"] in set(map(str, Layer))]
    secrets = [e for e in everything if e["layer"] == "victim_personal"]
    # every record it wrote must be the actor's to change: its country and organisation,
    # before and after
    for state in [s for e in changes for s in (e["before"], e["after"]) if s]:
        authorize(actor, Action.REVERT, country=state.get("country"),
                  organisation=state.get("organisation"))
    if store.read_changes(import_id=f"revert-{iid}"):
        raise QueryError(f"import {iid} was reverted already")
    if not reason or not reason.strip():
        raise QueryError("a revert needs a reason (--reason)")
    # later changes to the same records block it — except an import that was itself
    # reverted, whose changes and revert cancel out
    reverted = {e["import_id"][len("revert-"):]
                for e in store.read_changes(import_prefix="revert-")}
    later = []
    last_fid = max((e["fid"] for e in changes), default=0)
    touched = {(e["layer"], e["record_uuid"]) for e in changes}
    for layer in {l for l, _ in touched}:
        for e in store.read_changes(layer=layer, since_fid=last_fid):
            iid_e = e["import_id"] or ""
            if iid_e in reverted or (iid_e.startswith("revert-") and iid_e[7:] in reverted):
                continue
            if e["fid"] > last_fid and (layer, e["record_uuid"]) in touched:
                later.append(e["record_uuid"])
    if later:
        raise QueryError(f"{len(set(later))} record(s) this import wrote were changed later "
                         f"(first {sorted(set(later))[0]}); revert those changes first")
    deleted = restored = 0
    user = user if user and (actor.role.value == "admin" or user == actor.name) else actor.name
    with store.writer(user=user, command=f"imports revert {iid}") as writer:
        # the first change of each record in this import says what it was before it
        first: dict[tuple[str, str], dict] = {}
        for e in changes:
            first.setdefault((e["layer"], e["record_uuid"]), e)
        by_layer: dict[str, tuple[list, list, dict]] = {}
        for (layer, uid), e in first.items():
            current = writer.existing(layer, [uid]).get(uid)
            dels, restores, befores = by_layer.setdefault(layer, ([], [], {}))
            if e["action"] == "insert":
                if current is not None:
                    dels.append(current)
            elif e["before"]:
                state = _typed(layer, e["before"])
                state.pop("fid", None)
                state["geom"] = shapely.from_wkb(e["before_geom"]) if e["before_geom"] else None
                if current is None:
                    continue
                befores[uid] = current
                restores.append(state)
        for layer, (dels, restores, befores) in by_layer.items():
            writer.delete(layer, dels, import_id=f"revert-{iid}", reason=f"revert: {reason}")
            writer.update(layer, restores, befores, import_id=f"revert-{iid}",
                          reason=f"revert: {reason}")
            deleted += len(dels)
            restored += len(restores)
        # victims' personal data goes back with its records (encrypted as it was)
        first_secret: dict[str, dict] = {}
        for e in secrets:
            first_secret.setdefault(e["record_uuid"], e)
        held = writer.personal(list(first_secret))
        for uid, e in first_secret.items():
            now = held.get(uid)
            if now is not None and now["key_id"] == ERASED:
                continue  # an erasure is never undone
            if e["action"] == "insert":
                writer.remove_personal(uid, import_id=f"revert-{iid}", reason=f"revert: {reason}")
            elif e["before"] and e["before"].get("ciphertext") and \
                    writer.person_key(e["before"]["key_id"]) is not None:
                writer.put_personal(uid, e["before"]["key_id"],
                                    bytes.fromhex(e["before"]["ciphertext"]),
                                    import_id=f"revert-{iid}", reason=f"revert: {reason}")
    return {"deleted": deleted, "restored": restored}


def quarantine_rows(store: Store, country: str | None = None, *, include_resolved: bool = False):
    """Quarantined rows (file, row or feature, field, value, reason), of one country or all;
    officers and operators see their country's."""
    actor = actor_of(store)
    country = country.upper() if country else actor.country
    authorize(actor, Action.READ, country=country)
    df = store.read_table("quarantine", country)
    if not include_resolved and not df.empty:
        df = df[df["status"] == "open"]
    return df.reset_index(drop=True)


def layer_counts(store: Store) -> list[tuple[str, str, int, list[str]]]:
    """(layer, geometry type, records, countries) for every layer: figures anyone may read."""
    actor = actor_of(store)
    authorize(actor, Action.AGGREGATE, country=actor.country)
    out = []
    for name, spec in LAYERS.items():
        gdf = store.read_layer(name, actor.country)
        out.append((str(name), spec.geometry_type, len(gdf),
                    sorted(gdf["country"].dropna().unique())))
    return out


def import_rows(store: Store):
    """The imports that ran, oldest first (a DataFrame of the ``imports`` table); officers and
    operators see their country's."""
    actor = actor_of(store)
    authorize(actor, Action.READ, country=actor.country)
    df = store.read_table("imports")
    if actor.country and not df.empty:
        df = df[df["country"] == actor.country]
    return df.reset_index(drop=True)
