"""Victims' personal data: written encrypted, read only by roles allowed to, every access
recorded, correctable, and erasable on a lawful request (crypto-erasure, recorded).

The personal fields are those the victims layer marks ``personal`` (``name``,
``date_of_birth``, ``address``, ``personal_notes``) and the source's unmapped columns of a
victim row (``attributes``: free text about a person may hide there). They never reach a
table in plain text, the change log, the quarantine, an error message or a default export.
See :mod:`mineledger.victims.crypto` for the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid as uuidlib
from typing import Any, Iterable

from mineledger.access import Action, Session
from mineledger.access.roles import refuse_role
from mineledger.errors import QueryError
from mineledger.model.records import personal_fields
from mineledger.store.base import ERASED
from mineledger.victims import crypto

#: What a personal value shows as wherever it must not appear.
WITHHELD = "[personal data withheld]"
PERSONAL = personal_fields("victims")


def split(record: dict[str, Any]) -> dict[str, Any]:
    """Take a victim record's personal values out of it (in place); returns them (only those
    that are set). The source's unmapped columns go with them."""
    values = {f: record.pop(f) for f in PERSONAL if f in record}
    attributes = record.get("attributes")
    record["attributes"] = None
    if attributes:
        values["attributes"] = attributes
    return {k: v for k, v in values.items() if v not in (None, "", {})}


def fingerprint(master: bytes, values: dict[str, Any]) -> str:
    """A keyed hash of personal values, for the record's content hash (a plain hash of a
    name could be found by trying names)."""
    text = json.dumps(values, sort_keys=True, default=str).encode()
    return hmac.new(master, text, hashlib.sha256).hexdigest()


def _store_id(store_or_writer) -> str:
    return store_or_writer.settings()["store_id"]


def write(writer, values_by_uuid: dict[str, dict[str, Any]], *, import_id: str | None,
          reason: str) -> int:
    """Encrypt and store personal values of victims (``{uuid: values}``); a victim whose
    stored values are the same is left alone. Returns how many were written."""
    if not values_by_uuid:
        return 0
    # a second key must never be made for a store that already has personal data: it would
    # leave the data under the first key unreadable
    master = crypto.store_key(_store_id(writer), create=not writer.has_person_keys())
    held = writer.personal(list(values_by_uuid))
    written = 0
    for uid, values in values_by_uuid.items():
        old = held.get(uid)
        if old is not None and old["key_id"] == ERASED:
            continue  # erased on a lawful request: never written again
        person_key = None
        if old is not None:
            wrapped = writer.person_key(old["key_id"])
            if wrapped is not None:
                person_key = crypto.open_person_key(master, wrapped, old["key_id"])
                if crypto.decrypt_personal(person_key, uid, old["ciphertext"]) == \
                        json.loads(json.dumps(values, default=str)):
                    continue
                key_id = old["key_id"]
        if person_key is None:
            key_id = str(uuidlib.uuid4())
            person_key, wrapped = crypto.new_person_key(master, key_id)
            writer.add_person_key(key_id, wrapped)
        writer.put_personal(uid, key_id, crypto.encrypt_personal(person_key, uid, values),
                            import_id=import_id, reason=reason)
        written += 1
    return written


def _victims_country(session: Session, uuids: Iterable[str]) -> set[str | None]:
    victims = session.read_layer("victims")
    found = victims[victims["uuid"].isin(list(uuids))]
    return set(found["country"]) or {None}


def read(session: Session, uuids: Iterable[str], *, purpose: str,
         action: str = "read") -> dict[str, dict[str, Any]]:
    """Decrypted personal values by victim UUID, for roles allowed to read them; every read
    is recorded in ``personal_access_log`` (who, when, which record, why).

    Raises
    ------
    PermissionDenied
        The role may not read personal data (or not in that country).
    QueryError
        No purpose given.
    StoreError
        The store key is not on this machine.
    """
    uuids = list(uuids)
    if not purpose or not purpose.strip():
        raise QueryError("reading personal data needs a purpose (--purpose), which is recorded")
    for country in _victims_country(session, uuids):
        actor = session.require(Action.READ_PERSONAL, country=country)
    held = {u: r for u, r in session.personal(uuids).items() if r["key_id"] != ERASED}
    out: dict[str, dict[str, Any]] = {}
    if held:
        master = crypto.store_key(_store_id(session), create=False)
        gone = crypto.erased(_store_id(session))  # erasures that outlive a restored backup
    with session.writer(user=actor.name, command=f"personal {action}") as writer:
        for uid, row in held.items():
            wrapped = writer.person_key(row["key_id"])
            if wrapped is None or row["key_id"] in gone:
                continue  # erased
            key = crypto.open_person_key(master, wrapped, row["key_id"])
            out[uid] = crypto.decrypt_personal(key, uid, row["ciphertext"])
        writer.log_access(uuids, action, purpose.strip())
    return out


def correct(session: Session, uuid: str, changes: dict[str, Any], *, reason: str) -> dict[str, Any]:
    """Correct a victim's personal values (``{field: value}``; None removes one), recorded
    (encrypted) in the change log with the reason.

    Raises
    ------
    QueryError
        Unknown victim or field, or no reason.
    PermissionDenied
        The role may not correct personal data.
    """
    unknown = sorted(set(changes) - set(PERSONAL))
    if unknown:
        raise QueryError(f"not personal fields: {unknown}; expected some of {', '.join(PERSONAL)}")
    if not reason or not reason.strip():
        raise QueryError("a correction needs a reason (--reason)")
    uid = find_victim(session, uuid)
    actor = None
    for country in _victims_country(session, [uid]):
        actor = session.require(Action.CORRECT_PERSONAL, country=country)
    current = {}
    held = session.personal([uid]).get(uid)
    if held is not None and held["key_id"] == ERASED:
        raise QueryError(f"victim {uid}: personal data erased on a lawful request; it is not "
                         "written again")
    if held is not None:
        current = read(session, [uid], purpose=f"correction: {reason}", action="correct").get(uid, {})
    values = {**current, **changes}
    values = {k: v for k, v in values.items() if v not in (None, "")}
    with session.writer(user=actor.name, command="victims correct") as writer:
        write(writer, {uid: values}, import_id=None, reason=f"correction: {reason.strip()}")
    return values


def erase(session: Session, uuid: str, *, reason: str) -> bool:
    """Erase a victim's personal data on a lawful request: the person key is destroyed, so
    every copy in the store and its change log becomes unreadable; the erasure (who, when,
    why — no personal data) is itself recorded. Returns False if there was nothing to erase.

    Raises
    ------
    QueryError
        Unknown victim, or no reason.
    PermissionDenied
        The role may not erase personal data.
    """
    if not reason or not reason.strip():
        raise QueryError("an erasure needs a reason (--reason), such as the request's reference")
    uid = find_victim(session, uuid)
    for country in _victims_country(session, [uid]):
        actor = session.require(Action.ERASE_PERSONAL, country=country)
    with session.writer(user=actor.name, command="victims erase") as writer:
        key_id = writer.erase_personal(uid, reason.strip())
        writer.log_access([uid], "erase", reason.strip())
        if key_id:  # recorded outside the store too: a backup restored later cannot undo it
            crypto.record_erasure(_store_id(session), key_id)
    return key_id is not None


def reapply_erasures(session: Session) -> int:
    """After a restore: erase again what was erased after the backup was taken (the list of
    erased keys lives beside the store key). Returns how many."""
    gone = crypto.erased(_store_id(session))
    if not gone:
        return 0
    found = [(u, r["key_id"]) for u, r in session.personal(
        session.read_layer("victims")["uuid"]).items() if r["key_id"] in gone]
    with session.writer(user="mineledger", command="restore: re-apply erasures") as writer:
        for uid, _ in found:
            writer.erase_personal(uid, "erased after the restored backup was taken; re-applied")
    return len(found)


def find_victim(session: Session, uuid: str) -> str:
    """The full UUID of a victim given its first 8+ characters (roles that may read personal
    data only: nobody else learns who is in the store).

    Raises
    ------
    PermissionDenied, QueryError
    """
    refuse_role(session.actor, Action.READ_PERSONAL)  # first: no answer about who is in the store
    uuid = uuid.strip().lower()
    victims = session.read_layer("victims")
    found = victims[victims["uuid"].str.startswith(uuid)] if len(uuid) >= 8 else victims.iloc[0:0]
    if len(found) != 1:
        raise QueryError(f"victim {uuid!r}: " + ("no such victim (give at least 8 characters of "
                         "its UUID)" if found.empty else f"{len(found)} victims start so"))
    return found.iloc[0]["uuid"]
