"""History: every change to a record, the imports that ran and undoing one, quarantine —
all from the append-only change log (README, "History, as-of figures").
"""

from __future__ import annotations

import re
from typing import Any

import shapely

from mineledger.access import Action, PermissionDenied, Role, Session, authorize
from mineledger.access.users import operator_sees_only_own
from mineledger.errors import QueryError
from mineledger.model.codes import checked_country
from mineledger.model.records import LAYERS
from mineledger.model.vocab import Layer
from mineledger.store.base import ERASED
from mineledger.store.snapshot import typed_state


# --- history of a record ---------------------------------------------------------------------

def record_history(session: Session, record: str) -> list[dict[str, Any]]:
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
    actor = session.actor
    authorize(actor, Action.HISTORY, country=actor.country)  # the role first, before any lookup
    record = record.strip().lower()
    if len(record) < 8 or not re.fullmatch(r"[0-9a-z_.-]+", record):
        raise QueryError(f"record {record!r}: give at least 8 characters of its UUID")
    entries = session.read_changes(record_uuid=record)
    uuids = sorted({e["record_uuid"] for e in entries})
    if not uuids:
        raise QueryError(f"no record {record!r} in the change log")
    if len(uuids) > 1:
        raise QueryError(f"{len(uuids)} records start with {record!r} ({', '.join(uuids[:3])} …); "
                         "give more of the UUID")
    country = next((s.get("country") for e in entries for s in (e["after"], e["before"])
                    if isinstance(s, dict) and s.get("country")), None)
    session.require(Action.HISTORY, country=country)

    if operator_sees_only_own(session, actor, country):
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

def _import_row(session: Session, import_id: str) -> dict[str, Any]:
    imports = session.read_table("imports")
    import_id = import_id.strip()
    if len(import_id) < 8:
        raise QueryError(f"import {import_id!r}: give at least 8 characters of its id")
    rows = imports[imports["import_id"].str.startswith(import_id)] if not imports.empty else imports
    if rows.empty:
        raise QueryError(f"no import {import_id!r}; `mineledger imports list` lists them")
    if len(rows) > 1:
        raise QueryError(f"{len(rows)} imports start with {import_id!r}; give more of the id")
    return rows.iloc[0].to_dict()


def import_details(session: Session, import_id: str) -> dict[str, Any]:
    """An import: its row in ``imports`` and what it changed (counts by layer and action),
    and whether it was reverted."""
    actor = session.actor
    authorize(actor, Action.READ, country=actor.country)  # the role first
    row = _import_row(session, import_id)
    session.require(Action.READ, country=row.get("country"))
    changes = session.read_changes(import_id=row["import_id"])
    counts: dict[str, int] = {}
    for e in changes:
        key = f"{e['layer']} {e['action']}"
        counts[key] = counts.get(key, 0) + 1
    reverts = session.read_changes(import_id=f"revert-{row['import_id']}")
    return {**row, "changes": counts, "reverted_at": reverts[0]["at"] if reverts else None}


def _changed_later(session: Session, changes: list[dict[str, Any]]) -> list[str]:
    """Records an import wrote that a later change touched — except changes of an import that
    was itself reverted, whose changes and revert cancel out."""
    reverted = {e["import_id"][len("revert-"):]
                for e in session.read_changes(import_prefix="revert-")}
    later = []
    last_fid = max((e["fid"] for e in changes), default=0)
    touched = {(e["layer"], e["record_uuid"]) for e in changes}
    for layer in {l for l, _ in touched}:
        for e in session.read_changes(layer=layer, since_fid=last_fid):
            iid_e = e["import_id"] or ""
            if iid_e in reverted or (iid_e.startswith("revert-") and iid_e[7:] in reverted):
                continue
            if e["fid"] > last_fid and (layer, e["record_uuid"]) in touched:
                later.append(e["record_uuid"])
    return later


def _undo_records(writer, changes: list[dict[str, Any]], iid: str, reason: str) -> tuple[int, int]:
    """Delete what the import inserted, give back what it changed its earlier state (the first
    change of each record in the import says what it was before); returns (deleted,
    restored)."""
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
            state = typed_state(layer, e["before"])
            state.pop("fid", None)
            state["geom"] = shapely.from_wkb(e["before_geom"]) if e["before_geom"] else None
            if current is None:
                continue
            befores[uid] = current
            restores.append(state)
    deleted = restored = 0
    for layer, (dels, restores, befores) in by_layer.items():
        writer.delete(layer, dels, import_id=f"revert-{iid}", reason=f"revert: {reason}")
        writer.update(layer, restores, befores, import_id=f"revert-{iid}",
                      reason=f"revert: {reason}")
        deleted += len(dels)
        restored += len(restores)
    return deleted, restored


def _undo_personal(writer, secrets: list[dict[str, Any]], iid: str, reason: str) -> None:
    """Victims' personal data goes back with its records (encrypted as it was); an erasure is
    never undone."""
    first_secret: dict[str, dict] = {}
    for e in secrets:
        first_secret.setdefault(e["record_uuid"], e)
    held = writer.personal(list(first_secret))
    for uid, e in first_secret.items():
        now = held.get(uid)
        if now is not None and now["key_id"] == ERASED:
            continue
        if e["action"] == "insert":
            writer.remove_personal(uid, import_id=f"revert-{iid}", reason=f"revert: {reason}")
        elif e["before"] and e["before"].get("ciphertext") and \
                writer.person_key(e["before"]["key_id"]) is not None:
            writer.put_personal(uid, e["before"]["key_id"],
                                bytes.fromhex(e["before"]["ciphertext"]),
                                import_id=f"revert-{iid}", reason=f"revert: {reason}")


def revert_import(session: Session, import_id: str, *, reason: str, user: str | None = None) -> dict[str, int]:
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
    actor = session.actor
    authorize(actor, Action.REVERT, country=actor.country,
              organisation=actor.organisation)  # the role first, before saying anything
    row = _import_row(session, import_id)
    iid = row["import_id"]
    everything = session.read_changes(import_id=iid)
    changes = [e for e in everything if e["layer"] in set(map(str, Layer))]
    secrets = [e for e in everything if e["layer"] == "victim_personal"]
    # every record it wrote must be the actor's to change: its country and organisation,
    # before and after
    for state in [s for e in changes for s in (e["before"], e["after"]) if s]:
        authorize(actor, Action.REVERT, country=state.get("country"),
                  organisation=state.get("organisation"))
    if session.read_changes(import_id=f"revert-{iid}"):
        raise QueryError(f"import {iid} was reverted already")
    if not reason or not reason.strip():
        raise QueryError("a revert needs a reason (--reason)")
    later = _changed_later(session, changes)
    if later:
        raise QueryError(f"{len(set(later))} record(s) this import wrote were changed later "
                         f"(first {sorted(set(later))[0]}); revert those changes first")
    user = user if user and (actor.role == Role.ADMIN or user == actor.name) else actor.name
    with session.writer(user=user, command=f"imports revert {iid}") as writer:
        deleted, restored = _undo_records(writer, changes, iid, reason)
        _undo_personal(writer, secrets, iid, reason)
    return {"deleted": deleted, "restored": restored}


def quarantine_rows(session: Session, country: str | None = None, *, include_resolved: bool = False):
    """Quarantined rows (file, row or feature, field, value, reason), of one country or all;
    officers and operators see their country's."""
    actor = session.actor
    country = checked_country(country) if country else actor.country
    authorize(actor, Action.READ, country=country)
    df = session.read_table("quarantine", country)
    if not include_resolved and not df.empty:
        df = df[df["status"] == "open"]
    return df.reset_index(drop=True)


def layer_counts(session: Session) -> list[tuple[str, str, int, list[str]]]:
    """(layer, geometry type, records, countries) for every layer: figures anyone may read."""
    actor = session.actor
    authorize(actor, Action.AGGREGATE, country=actor.country)
    out = []
    for name, spec in LAYERS.items():
        gdf = session.read_layer(name, actor.country)
        out.append((str(name), spec.geometry_type, len(gdf),
                    sorted(gdf["country"].dropna().unique())))
    return out


def import_rows(session: Session):
    """The imports that ran, oldest first (a DataFrame of the ``imports`` table); officers and
    operators see their country's."""
    actor = session.actor
    authorize(actor, Action.READ, country=actor.country)
    df = session.read_table("imports")
    if actor.country and not df.empty:
        df = df[df["country"] == actor.country]
    return df.reset_index(drop=True)
