"""Backups and restores of the whole store, with who may make them: admins (README, "History,
as-of figures, users and victims' personal data", Backup and restore). The mechanics — SQLite's backup API, the copy into a GeoPackage, the
checks before a restore — are the store's (:mod:`mineledger.store.backup`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mineledger.access import Action, Actor, PermissionDenied, Role, Session, acting_name, authorize
from mineledger.access.session import actor_in
from mineledger.errors import SourceError, StoreError
from mineledger.store import connect, hide_passwords, is_postgres_url
from mineledger.store.base import lock_timeout_s
from mineledger.store import backup as mechanics
from mineledger.victims.personal import reapply_erasures


def backup_store(session: Session, out: str | Path) -> str:
    """Write a consistent copy of the store to the GeoPackage ``out`` and its checksum to
    ``out.sha256``; returns the SHA-256 (hex).

    Raises
    ------
    PermissionDenied
        Only admins back up and restore.
    SourceError
        ``out`` or its checksum file exists, its folder does not, or the file system refused
        the write (a full disk …): nothing is left behind.
    StoreError
        A PostgreSQL store's copy did not verify (nothing is left behind).
    """
    session.require(Action.BACKUP)
    out = Path(out)
    for path in (out, Path(f"{out}.sha256")):
        if path.exists() or path.is_symlink():
            raise SourceError(f"{path} exists; name a new file for the backup")
    if not out.parent.is_dir():
        raise SourceError(f"{out}: the folder {out.parent} does not exist")
    try:
        return mechanics.backup_file(session.store, out)
    except OSError as exc:
        raise SourceError(f"--out {out}: cannot write the backup: {exc.strerror or exc}; "
                          "nothing was written") from None


def verify_backup(backup: str | Path) -> str:
    """Check a backup against its ``.sha256`` and that it opens as an intact mineledger
    store; returns the checksum (see :func:`mineledger.store.backup.verify_backup_file`).

    Raises
    ------
    SourceError
    """
    return mechanics.verify_backup_file(Path(backup))


def _require_admin_of_file(path: Path, user: str | None) -> None:
    """The acting user must be an admin of the store in ``path`` (a one-person store's user
    is)."""
    name = acting_name(user)
    rows = mechanics.users_in_file(path)
    if not rows:
        return
    found = [r for r in rows if r[0] == name]
    if not found:
        raise PermissionDenied(f"{name!r} is not a user of the store in {path}")
    _, role, country, org = found[0]
    authorize(Actor(name, Role(role), country, org), Action.BACKUP)


def restore_store(backup: str | Path, target: str | Path, *, force: bool = False,
                  user: str | None = None) -> int:
    """Replace (or create) the store at ``target`` with a verified backup.

    An existing store is replaced only with ``force``, and only by an admin of it — read from
    the store file itself, whatever its schema revision; a target that is not a store at all
    (another kind of file) is never replaced; a damaged store (SQLite cannot read its users),
    or none, is replaced when an admin of the backup restores it. Victims' data erased after
    the backup was taken is erased again. Returns how many such erasures were re-applied.

    Raises
    ------
    SourceError
        The backup does not verify (see :func:`verify_backup`).
    StoreError
        The target exists and ``force`` is not given; it is not a mineledger store; or the
        lock timeout setting is wrong (checked before anything is replaced).
    PermissionDenied
        The acting user is not an admin of the existing store (or of the backup, if there is
        none yet).
    """
    lock_timeout_s()  # a wrong setting stops the restore before anything is replaced
    backup = Path(backup)
    verify_backup(backup)
    if is_postgres_url(str(target)):
        _restore_into_postgres(backup, str(target), force, user)
        return _after_restore(str(target), user)
    target = Path(target)
    live = False
    if target.exists():
        if not force:
            raise StoreError(f"{target} exists; pass --force to replace it with the backup")
        users = mechanics.users_of_store_file(target)  # None: a damaged store
        if users is not None:
            authorize(actor_in(pd.DataFrame(users, columns=["name", "role", "country",
                                                            "organisation"]),
                               acting_name(user)), Action.BACKUP)
            live = mechanics.openable(target) is not None
    if not live:  # no store there, or a damaged one: the backup's admins decide
        _require_admin_of_file(backup, user)
    mechanics.restore_file(backup, target, live=live)
    return _after_restore(str(target), user)


def _restore_into_postgres(backup: Path, target: str, force: bool, user: str | None) -> None:
    holds = mechanics.postgres_holds_records(target)
    if holds and not force:
        raise StoreError(f"{hide_passwords(target)} holds a store; pass --force to replace it "
                         "with the backup")
    if not holds:
        _require_admin_of_file(backup, user)

    def may_replace(store) -> None:  # checked again under the writers' lock, before the copy
        Session(store, user).require(Action.BACKUP)

    mechanics.restore_into_postgres(backup, target, may_replace=may_replace)


def _after_restore(target: str, user: str | None) -> int:
    """Bring a restored store to this version's schema, and erase again the victims' data
    erased after the backup was taken (their list is kept beside the store key, outside the
    store); returns how many erasures were re-applied."""
    with connect(target, create=False, check_schema=False) as restored:
        restored.upgrade_schema()
    with connect(target, create=False) as restored:
        return reapply_erasures(Session(restored, user))
