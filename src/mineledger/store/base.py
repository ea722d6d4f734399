"""The store interface that every service uses, whatever the back end.

A :class:`Store` reads layers and tables; all writing goes through a :class:`Writer`
obtained from :meth:`Store.writer`, which is one transaction (it lands whole or not at all)
and which appends every insert and update to the append-only change log itself, so that no
service can write a record without leaving its history.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any, Iterable

import geopandas as gpd
import pandas as pd


#: Where the store says it is waiting for another writer (the CLI prints it on stderr).
log = logging.getLogger("mineledger.store")


#: The longest wait ``MINELEDGER_LOCK_TIMEOUT`` may ask for (PostgreSQL's lock_timeout is a
#: 32-bit count of milliseconds): 24 days.
MAX_LOCK_TIMEOUT_S = 2_000_000


def lock_timeout_s() -> float:
    """Seconds a writer waits for another writer to finish before giving up:
    ``$MINELEDGER_LOCK_TIMEOUT``, default 600; 0 means do not wait.

    Raises
    ------
    StoreError
        The variable is not a number of seconds from 0 to 2,000,000.
    """
    import math

    from mineledger.errors import StoreError

    text = os.environ.get("MINELEDGER_LOCK_TIMEOUT", "600")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 <= value <= MAX_LOCK_TIMEOUT_S):
        raise StoreError(f"MINELEDGER_LOCK_TIMEOUT={text!r}: expected a number of seconds from 0 "
                         f"to {MAX_LOCK_TIMEOUT_S:,}")
    return value


def say_waiting(location: str, timeout: float) -> None:
    """Tell the user that a write waits for another writer, once per wait."""
    log.warning("%s: another process is writing to the store; waiting for it to finish "
                "(up to %g s, MINELEDGER_LOCK_TIMEOUT) …", location, timeout)


#: ``key_id`` of a victim whose personal data was erased on a lawful request (the row stays,
#: so that no later import writes that person's data again).
ERASED = "erased"


class Writer(ABC):
    """One write transaction on a store. Obtain it with :meth:`Store.writer`."""

    user: str
    command: str

    @abstractmethod
    def existing(self, layer: str, uuids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored rows among ``uuids`` of ``layer``, as ``{uuid: row}`` (geometry included)."""

    @abstractmethod
    def where(self, layer: str, field: str, values: Iterable[Any],
              country: str | None = None) -> list[dict[str, Any]]:
        """The stored rows of ``layer`` whose ``field`` is one of ``values`` (geometry included)."""

    @abstractmethod
    def sync_findings(self, country: str, rule_ids: list[str],
                      findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store a run's findings of these rules: new ones open, known ones keep the status a
        person gave them, open ones no longer found become ``gone``. Returns the findings of
        these rules that are not gone."""

    @abstractmethod
    def mark_finding(self, fingerprint: str, status: str, reason: str, user: str,
                     at: Any) -> dict[str, Any]:
        """Set a finding's status with the reason; raises QueryError if there is none such."""

    @abstractmethod
    def add_lineage(self, rows: list[dict[str, Any]]) -> None:
        """Record that hazards were split or merged (parent_uuid, child_uuid, kind, …)."""

    @abstractmethod
    def insert(self, layer: str, rows: list[dict[str, Any]], *, import_id: str | None,
               reason: str | None = None) -> None:
        """Insert new records and log each as ``insert`` in the change log."""

    @abstractmethod
    def update(self, layer: str, rows: list[dict[str, Any]], before: dict[str, dict[str, Any]],
               *, import_id: str | None, reason: str | None = None) -> None:
        """Update records by uuid; log each with its state before and after."""

    def amend(self, layer: str, current: dict[str, Any], changes: dict[str, Any], *,
              import_id: str | None, reason: str) -> dict[str, Any]:
        """Change some fields of one stored record (as read with :meth:`existing`), logging
        its state before and after; returns the new state."""
        after = {k: v for k, v in current.items() if k not in ("fid", "created_at", "updated_at")}
        after.update(changes)
        self.update(layer, [after], {current["uuid"]: dict(current)}, import_id=import_id,
                    reason=reason)
        return after

    @abstractmethod
    def add_import(self, row: dict[str, Any]) -> None:
        """Record that an import ran (even one that changed nothing)."""

    @abstractmethod
    def sync_quarantine(self, rejected: list[dict[str, Any]], resolved: Iterable[str], *,
                        import_id: str) -> None:
        """Put rejected rows in quarantine (a row already there gets the latest reason), and
        mark the entries in ``resolved`` (quarantine ids of rows now stored) resolved."""


class Store(ABC):
    """A mineledger store. Open one with :func:`mineledger.store.open_store`."""

    location: str

    @abstractmethod
    def writer(self, *, user: str, command: str) -> AbstractContextManager[Writer]:
        """A write transaction: commits when the block ends, rolls back on any exception.

        Raises
        ------
        StoreError
            If another process holds the write lock for longer than the store's timeout.
        """

    @abstractmethod
    def read_layer(self, layer: str, country: str | None = None,
                   import_ids: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """All records of a layer (optionally of one country, or last written by some
        imports) in EPSG:4326."""

    @abstractmethod
    def read_table(self, name: str, country: str | None = None) -> pd.DataFrame:
        """An attribute table (``imports``, ``change_log``, ``quarantine``) as a DataFrame."""

    def settings(self) -> dict[str, str]:
        """The store's settings (``timezone``, ``store_id``, ``operator_reads:ISO3`` …)."""
        raise NotImplementedError

    def read_changes(self, *, record_uuid: str | None = None, import_id: str | None = None,
                     layer: str | None = None, until=None, latest: bool = False,
                     since_fid: int | None = None,
                     import_prefix: str | None = None) -> list[dict[str, Any]]:
        """Change log entries, oldest first: of a record (UUID or prefix), of an import (or
        of imports whose id starts with a prefix), of a layer, after a ``fid``, of the
        transactions committed by an instant (UTC); ``latest``: only each record's last one."""
        raise NotImplementedError

    def last_commit(self):
        """The UTC instant the store's last write transaction committed, or None."""
        raise NotImplementedError

    def personal(self, uuids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Encrypted personal data of victims by UUID: ``{key_id, ciphertext}``."""
        raise NotImplementedError

    # -- spatial work a back end may push down to its database; ``None``: do it in Python --

    def area_by_admin(self, layer: str, country: str, level: int) -> list[dict[str, Any]] | None:
        """Distinct polygonal area of ``layer`` per administrative area of ``level``, in m²,
        by the rule of :func:`mineledger.land.admin_areas.area_by_admin` (rows ``{"code",
        "area_m2"}`` sorted by code, then ``unassigned``); ``None`` if this back end leaves
        it to Python."""
        return None

    def admin_of_points(self, layer: str, country: str, level: int) -> dict[str, str] | None:
        """``{uuid: code}``: the administrative area of ``level`` that holds each located
        point record of ``layer`` that carries no code (where areas overlap, the first code);
        ``None`` if this back end leaves it to Python."""
        return None

    @abstractmethod
    def countries(self) -> list[str]:
        """ISO3 codes of the countries that have records in the store."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
