"""History: every change to a record, the imports that ran and undoing one, quarantine —
all from the append-only change log (README, "History, as-of figures").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import shapely

from mineledger.access import Action, PermissionDenied, Role, Session, authorize
from mineledger.access.users import operator_sees_only_own
from mineledger.land import figures  # noqa: F401  (a revert keeps the headline figures)
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


def _changed_later(session: Session, changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(record uuid, id of the later change)`` of records an import wrote that a later
    change touched — except changes of an import that was itself reverted, whose changes and
    revert cancel out."""
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
                later.append((e["record_uuid"], iid_e or "an edit"))
    return later


def _undo_command(change_id: str) -> str:
    """The command that undoes a change run (a link run, a fix, an import)."""
    if change_id.startswith("link-"):
        return f"`mineledger link --revert {change_id} --reason …`"
    if change_id.startswith("fix-"):
        return f"`mineledger fix --revert {change_id}`"
    if change_id == "an edit":
        return "the edit (see `mineledger history RECORD`)"
    return f"`mineledger imports revert {change_id[:8]} --reason …`"


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
    if "events" in by_layer:
        _no_links_to_the_gone(writer, by_layer["events"][1])
    deleted = restored = 0
    for layer, (dels, restores, befores) in by_layer.items():
        writer.delete(layer, dels, import_id=f"revert-{iid}", reason=f"revert: {reason}")
        writer.update(layer, restores, befores, import_id=f"revert-{iid}",
                      reason=f"revert: {reason}")
        deleted += len(dels)
        restored += len(restores)
    _unlink_from(writer, [r["uuid"] for layer, (dels, _, _) in by_layer.items()
                          if layer in ("hazards", "cleared_areas") for r in dels], iid, reason)
    return deleted, restored


def _no_links_to_the_gone(writer, states: list[dict[str, Any]]) -> None:
    """Earlier states of events that a revert gives back keep their link only to an area
    that still exists (one a reverted import deleted since is gone): else unlinked."""
    for layer in ("hazards", "cleared_areas"):
        wanted = [s for s in states if s.get("link_layer") == layer and s.get("link_uuid")]
        there = writer.existing(layer, sorted({s["link_uuid"] for s in wanted})) if wanted else {}
        for state in wanted:
            if state["link_uuid"] not in there:
                state.update(link_layer=None, link_uuid=None, link_distance_m=None)


def _unlink_from(writer, gone: list[str], iid: str, reason: str) -> None:
    """Events linked to areas a revert deleted lose the link (in the change log too), so no
    figure counts an event in an area that is gone."""
    for event in writer.where("events", "link_uuid", gone) if gone else []:
        writer.amend("events", event, {"link_layer": None, "link_uuid": None,
                                       "link_distance_m": None}, import_id=f"revert-{iid}",
                      reason=f"revert: {reason}: the area it was linked to is gone")


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


def _revert(session: Session, iid: str, everything: list[dict[str, Any]], *, reason: str,
            user: str, command: str) -> dict[str, int]:
    """Undo the changes ``everything`` (of one import or link run ``iid``) after checking
    that it was not reverted already and that nothing later touched the same records."""
    changes = [e for e in everything if e["layer"] in set(map(str, Layer))]
    secrets = [e for e in everything if e["layer"] == "victim_personal"]
    if session.read_changes(import_id=f"revert-{iid}"):
        raise QueryError(f"{'import ' if not iid.startswith('link-') else ''}{iid} was "
                         "reverted already")
    if not reason or not reason.strip():
        raise QueryError("a revert needs a reason (--reason)")
    later = _changed_later(session, changes)
    if later:
        what = "this import" if not iid.startswith("link-") else f"link run {iid}"
        records = sorted({uid for uid, _ in later})
        by = sorted({iid_l for _, iid_l in later})
        hint = "; ".join(_undo_command(b) for b in by[:3]) + (" …" if len(by) > 3 else "")
        raise QueryError(f"{len(records)} record(s) {what} wrote were changed later (first "
                         f"{records[0]}) by {', '.join(by[:3])}{' …' if len(by) > 3 else ''}; "
                         f"revert those changes first: {hint}")
    with session.writer(user=user, command=command) as writer:
        deleted, restored = _undo_records(writer, changes, iid, reason)
        _undo_personal(writer, secrets, iid, reason)
    return {"deleted": deleted, "restored": restored}


def revert_import(session: Session, import_id: str, *, reason: str, user: str | None = None) -> dict[str, int]:
    """Undo an import through the change log: records it inserted are deleted, records it
    changed get their state before it back. The history stays: the revert is itself in the
    change log (``import_id`` ``revert-<id>``), with the reason. A link run's id
    (``link-…``, :func:`mineledger.land.links.link_events`) is reverted the same way
    (:func:`revert_link`).

    Returns
    -------
    dict
        ``deleted`` and ``restored`` counts.

    Raises
    ------
    QueryError
        No such import, an import already reverted, or records the import wrote that a later
        change has touched since (revert that change first — a link run, say; they are
        named).
    PermissionDenied
        The acting user may not revert it (operators: only their organisation's imports).
    """
    if import_id.strip().startswith("link-"):
        return revert_link(session, import_id, reason=reason)
    actor = session.actor
    authorize(actor, Action.REVERT, country=actor.country,
              organisation=actor.organisation)  # the role first, before saying anything
    row = _import_row(session, import_id)
    iid = row["import_id"]
    everything = session.read_changes(import_id=iid)
    # every record it wrote must be the actor's to change: its country and organisation,
    # before and after
    for state in [s for e in everything if e["layer"] in set(map(str, Layer))
                  for s in (e["before"], e["after"]) if s]:
        authorize(actor, Action.REVERT, country=state.get("country"),
                  organisation=state.get("organisation"))
    user = user if user and (actor.role == Role.ADMIN or user == actor.name) else actor.name
    return _revert(session, iid, everything, reason=reason, user=user,
                   command=f"imports revert {iid}")


def revert_link(session: Session, link_id: str, *, reason: str) -> dict[str, int]:
    """Undo a run of ``mineledger link`` through the change log: each event it linked gets
    its links before the run back (``restored`` counts them; ``deleted`` is 0). An import
    whose events a link run changed can be reverted once that run is.

    Raises
    ------
    QueryError
        No such link run, one reverted already, or events a later change touched since.
    PermissionDenied
        The acting user may not change records in those events' country.
    """
    actor = session.actor
    authorize(actor, Action.AMEND, country=actor.country)  # the role first
    link_id = link_id.strip()
    everything = session.read_changes(import_id=link_id) if link_id.startswith("link-") else []
    if not everything:
        raise QueryError(f"no link run {link_id!r}; `mineledger changes --since DATE` lists them")
    for country in {(e["after"] or {}).get("country") for e in everything}:
        session.require(Action.AMEND, country=country)
    return _revert(session, link_id, everything, reason=reason, user=actor.name,
                   command=f"link --revert {link_id}")


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
    """The imports that ran, oldest first (a DataFrame of the ``imports`` table, with
    ``reverted_at``: the instant an import was reverted, or None); officers and operators see
    their country's."""
    actor = session.actor
    authorize(actor, Action.READ, country=actor.country)
    df = session.read_table("imports")
    if actor.country and not df.empty:
        df = df[df["country"] == actor.country]
    reverted: dict[str, Any] = {}
    for e in session.read_changes(import_prefix="revert-"):
        reverted.setdefault(e["import_id"][len("revert-"):], e["at"])
    df = df.reset_index(drop=True)
    df["reverted_at"] = [reverted.get(i) for i in df["import_id"]] if len(df) else []
    return df


#: What kind of change a transaction made, by the id its changes carry (or its command).
_KINDS = (("revert-", "revert"), ("fix-", "fix"), ("link-", "link"))


def changes(session: Session, since: str | dt.date | None = None,
            until: str | dt.date | None = None) -> list[dict[str, Any]]:
    """What changed in a window: one row per write transaction committed in it (imports,
    links, fixes, reverts, edits of users, settings, findings and personal data), oldest
    first, with ``committed_at`` (UTC), ``user_name``, ``command``, ``kind``, ``id`` (the
    import, link or fix id) and ``changed`` — ``{"layer action": count}``.

    ``since`` and ``until`` are dates (from the start of ``since`` to the end of ``until``,
    UTC) or times with their offset.

    Raises
    ------
    QueryError
        A bound that does not parse.
    PermissionDenied
        The acting user may not read the history of records.
    """
    actor = session.actor
    authorize(actor, Action.HISTORY, country=actor.country)
    lo, hi = _instant(since, "--since", end=False), _instant(until, "--until", end=True)
    if lo is not None and hi is not None and hi < lo:
        raise QueryError(f"--until {until} is before --since {since}")
    transactions = session.read_table("transactions")
    if not len(transactions):
        return []
    keep = [(lo is None or t >= lo) and (hi is None or t <= hi)
            for t in transactions["committed_at"]]
    transactions = transactions[keep]
    entries: dict[str, list[dict]] = {}
    for e in session.read_changes(tx_ids=list(transactions["tx_id"])) if len(transactions) else []:
        entries.setdefault(e["tx_id"], []).append(e)
    out = []
    for t in transactions.itertuples():
        these = entries.get(t.tx_id, [])
        if actor.country:  # a user of one country sees only its records' changes
            these = [e for e in these if e["layer"] in RECORD_LAYERS and
                     (e["after"] or e["before"] or {}).get("country") == actor.country]
            if not these:
                continue
        ids = sorted({e["import_id"] for e in these if e["import_id"]})
        kind = next((k for prefix, k in _KINDS if ids and ids[0].startswith(prefix)),
                    "import" if ids else "edit")
        counted: dict[str, int] = {}
        for e in these:
            key = f"{e['layer']} {e['action']}"
            counted[key] = counted.get(key, 0) + 1
        out.append({"committed_at": t.committed_at, "user_name": t.user_name,
                    "command": t.command, "kind": kind, "id": ", ".join(ids) or None,
                    "changed": counted})
    return out


#: The layers of records (not users, settings, findings or personal data).
RECORD_LAYERS = frozenset(map(str, Layer))


def _instant(text, option: str, *, end: bool):
    """A ``--since``/``--until`` bound as an aware UTC datetime."""
    if text is None:
        return None
    if isinstance(text, dt.datetime):
        return text.astimezone(dt.timezone.utc)
    try:
        if isinstance(text, dt.date):
            day = text
        elif "T" in str(text):
            moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError(text)
            return moment.astimezone(dt.timezone.utc)
        else:
            day = dt.date.fromisoformat(str(text))
    except ValueError:
        raise QueryError(f"{option} {text!r}: expected a date (YYYY-MM-DD) or a time with its "
                         "UTC offset (YYYY-MM-DDTHH:MM:SSZ)") from None
    return dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=dt.timezone.utc)
