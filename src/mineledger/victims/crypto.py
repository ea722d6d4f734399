"""Encryption of victims' personal data at rest (DESIGN: "encrypted at rest with a key kept
outside the store").

Three layers of keys, all AES-256-GCM (``cryptography``):

- the **store key**: 32 random bytes in a file outside the store —
  ``$MINELEDGER_KEY_DIR/<store id>.key`` (default ``~/.local/share/mineledger/keys``), or the
  file ``$MINELEDGER_KEY_FILE`` names; created, readable by its owner only, the first time
  personal data is written. A copy of the store (or of a backup) without it shows no
  personal data;
- a **person key** per victim, stored in the store's ``person_keys`` table encrypted with the
  store key;
- the **personal data** (name, date of birth, address, notes, the source's unmapped columns)
  as JSON, encrypted with the person key, bound to the victim's UUID (associated data).

Erasure on a lawful request deletes the person key: every copy of that person's data — the
current one and those the append-only change log keeps — becomes unreadable for good
(crypto-erasure).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from mineledger.errors import StoreError

NONCE = 12


def key_path(store_id: str) -> Path:
    """Where the store key of a store lives."""
    if os.environ.get("MINELEDGER_KEY_FILE"):
        return Path(os.environ["MINELEDGER_KEY_FILE"])
    base = os.environ.get("MINELEDGER_KEY_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "mineledger", "keys")
    return Path(base) / f"{store_id}.key"


def store_key(store_id: str, *, create: bool) -> bytes:
    """The store key (32 bytes).

    Raises
    ------
    StoreError
        No key file (and ``create`` false): personal data cannot be read on this machine —
        the message says where the key is expected.
    """
    path = key_path(store_id)
    if path.is_file():
        data = path.read_bytes()
        if len(data) != 32:
            raise StoreError(f"{path}: not a mineledger store key (expected 32 bytes)")
        return data
    if not create:
        raise StoreError(f"no key for this store's personal data at {path}; copy the store's "
                         "key file there (or set MINELEDGER_KEY_FILE) — without it victims' "
                         "personal data cannot be read")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def erased_path(store_id: str) -> Path:
    """The list of erased person keys, kept beside the store key (outside the store), so
    that an erasure outlives a restore of an older backup."""
    return key_path(store_id).with_suffix(".erased")


def record_erasure(store_id: str, key_id: str) -> None:
    path = erased_path(store_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(key_id + "\n")


def erased(store_id: str) -> set[str]:
    path = erased_path(store_id)
    return set(path.read_text(encoding="utf-8").split()) if path.is_file() else set()


def _aead(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def seal(key: bytes, data: bytes, bound_to: str) -> bytes:
    """nonce ‖ AES-256-GCM(data), authenticated together with ``bound_to``."""
    nonce = secrets.token_bytes(NONCE)
    return nonce + _aead(key).encrypt(nonce, data, bound_to.encode())


def unseal(key: bytes, blob: bytes, bound_to: str) -> bytes:
    """The data :func:`seal` sealed; raises :class:`StoreError` if the key or binding is wrong."""
    from cryptography.exceptions import InvalidTag

    try:
        return _aead(key).decrypt(blob[:NONCE], blob[NONCE:], bound_to.encode())
    except InvalidTag:
        raise StoreError("personal data does not open with this key (a key from another "
                         "store?)") from None


def new_person_key(master: bytes, key_id: str) -> tuple[bytes, bytes]:
    """(person key, the person key wrapped with the store key)."""
    key = secrets.token_bytes(32)
    return key, seal(master, key, f"person-key:{key_id}")


def open_person_key(master: bytes, wrapped: bytes, key_id: str) -> bytes:
    return unseal(master, wrapped, f"person-key:{key_id}")


def encrypt_personal(person_key: bytes, uuid: str, values: dict[str, Any]) -> bytes:
    return seal(person_key, json.dumps(values, sort_keys=True, default=str).encode(), uuid)


def decrypt_personal(person_key: bytes, uuid: str, blob: bytes) -> dict[str, Any]:
    return json.loads(unseal(person_key, blob, uuid))
