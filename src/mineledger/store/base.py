"""The store interface that every service uses, whatever the back end.

A :class:`Store` reads layers and tables; all writing goes through a :class:`Writer`
obtained from :meth:`Store.writer`, which is one transaction (it lands whole or not at all)
and which appends every insert and update to the append-only change log itself, so that no
service can write a record without leaving its history. The writer's interface is split by
concern (:class:`RecordWriter`, :class:`AdminWriter`, :class:`PersonalDataWriter`); every
method a service calls is declared here, and nothing outside ``mineledger.store`` touches
SQLite or PostgreSQL directly.

A store holds no acting user: who acts is a :class:`mineledger.access.Session`, one per
command or request, over a store that many sessions may share.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import numbers
import os
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from mineledger.errors import QueryError, StoreError
from mineledger.model.records import COMMON_FIELDS, LAYERS
from mineledger.model.vocab import Layer


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


@dataclass
class PagedResult:
    """One page of a layer's records (:meth:`Store.query`).

    ``features``: the page, in ``fid`` order, EPSG:4326; ``matched``: how many records pass
    the filters in all, whatever ``limit`` and ``offset``.
    """

    features: gpd.GeoDataFrame
    matched: int
    limit: int
    offset: int


#: The most records one page may hold.
MAX_PAGE = 10_000


#: The most values the filters of one paged query may name.
MAX_FILTER_VALUES = 10_000


def _typed_value(name: str, kind: str, value):
    """A filter value as the field's type holds it (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if kind == "text":
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return str(value)
        elif kind == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                return int(value)
        elif kind == "real":
            if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                number = float(value)
                if math.isfinite(number):
                    return number
        elif kind == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
        elif kind == "date":
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value
            return dt.date.fromisoformat(str(value))
        elif kind == "datetime":
            moment = value if isinstance(value, dt.datetime) else \
                dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                return moment.astimezone(dt.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        pass
    expected = {"text": "text", "integer": "a whole number", "real": "a finite number",
                "boolean": "true or false", "date": "a date (YYYY-MM-DD)",
                "datetime": "a time with its UTC offset"}.get(kind, kind)
    raise QueryError(f"filter on {name!r}: got {value!r}, expected {expected}")


def page_request(layer: str, bbox, filters, limit, offset):
    """A paged query's bounding box, filters (values as their fields hold them), limit and
    offset, checked; the same on every back end, so that they all answer alike.

    Returns
    -------
    (bbox tuple or None, {field: [values]}, limit, offset)

    Raises
    ------
    QueryError
        An unknown layer; a field the layer does not have or that cannot be filtered on
        (geometry, JSON, binary); a value that is not of the field's type (NaN included); more
        than 10,000 values; a bounding box that is not four numbers ``(min lon, min lat,
        max lon, max lat)`` within ±180/±90; a limit outside 1–10,000 or an offset that is
        not a whole number from 0.
    """
    try:
        spec = LAYERS[Layer(layer)]
    except ValueError:
        raise QueryError(f"layer {layer!r}; expected one of "
                         f"{', '.join(l.value for l in Layer)}") from None
    kinds = {n: f.type for n, f in {**COMMON_FIELDS, **spec.fields}.items() if not f.personal}
    typed: dict[str, list] = {}
    count = 0
    for name, wanted in (filters or {}).items():
        if name not in kinds:
            raise QueryError(f"filter on {name!r}: the layer has no such field")
        if kinds[name] in ("json", "blob"):
            raise QueryError(f"filter on {name!r}: a {kinds[name]} field cannot be filtered on")
        if isinstance(wanted, np.ndarray):
            wanted = wanted.tolist()
        values = list(wanted) if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
        count += len(values)
        if count > MAX_FILTER_VALUES:
            raise QueryError(f"filters name {count:,}+ values; at most {MAX_FILTER_VALUES:,}")
        typed[name] = [_typed_value(name, kinds[name], v) for v in values]
    box = None
    if bbox is not None:
        if isinstance(bbox, (str, bytes)) or not isinstance(bbox, (list, tuple, np.ndarray)) \
                or len(bbox) != 4 or any(isinstance(v, (bool, str, bytes)) for v in bbox):
            raise QueryError(f"bbox {bbox!r}: expected four numbers, min lon, min lat, "
                             "max lon, max lat")
        try:
            box = tuple(float(v) for v in bbox)
        except (TypeError, ValueError):
            raise QueryError(f"bbox {bbox!r}: expected four numbers, min lon, min lat, "
                             "max lon, max lat") from None
        minx, miny, maxx, maxy = box
        if not (all(map(math.isfinite, box)) and -180 <= minx <= maxx <= 180
                and -90 <= miny <= maxy <= 90):
            raise QueryError(f"bbox {bbox!r}: expected min lon ≤ max lon within ±180 and min "
                             "lat ≤ max lat within ±90")
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or \
            not 1 <= limit <= MAX_PAGE:
        raise QueryError(f"limit {limit!r}: expected a whole number from 1 to {MAX_PAGE:,}")
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral) or \
            not 0 <= offset <= 2**31 - 1:
        raise QueryError(f"offset {offset!r}: expected a whole number from 0")
    return box, typed, int(limit), int(offset)


class RecordWriter(ABC):
    """Writing records, always with their history, and the import's bookkeeping."""

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
    def insert(self, layer: str, rows: list[dict[str, Any]], *, import_id: str | None,
               reason: str | None = None) -> None:
        """Insert new records and log each as ``insert`` in the change log."""

    @abstractmethod
    def update(self, layer: str, rows: list[dict[str, Any]], before: dict[str, dict[str, Any]],
               *, import_id: str | None, reason: str | None = None) -> None:
        """Update records by uuid; log each with its state before and after."""

    @abstractmethod
    def delete(self, layer: str, rows: list[dict[str, Any]], *, import_id: str | None,
               reason: str | None = None) -> None:
        """Delete records (as read with :meth:`existing`); log each with its state before."""

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
    def log(self, layer: str, record_uuid: str, action: str, *, before: dict | None = None,
            after: dict | None = None, reason: str | None = None,
            import_id: str | None = None) -> None:
        """Append one entry to the change log for something that is not a record layer's row
        (a setting, a user, a finding)."""

    @abstractmethod
    def add_lineage(self, rows: list[dict[str, Any]]) -> None:
        """Record that hazards were split or merged (parent_uuid, child_uuid, kind, …)."""

    @abstractmethod
    def add_import(self, row: dict[str, Any]) -> None:
        """Record that an import ran (even one that changed nothing)."""

    @abstractmethod
    def sync_quarantine(self, rejected: list[dict[str, Any]], resolved: Iterable[str], *,
                        import_id: str) -> None:
        """Put rejected rows in quarantine (a row already there gets the latest reason), and
        mark the entries in ``resolved`` (quarantine ids of rows now stored) resolved."""

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


class AdminWriter(ABC):
    """Writing the store's settings and users (each change in the change log)."""

    @abstractmethod
    def settings(self) -> dict[str, str]:
        """The settings as this transaction sees them."""

    @abstractmethod
    def set_setting(self, key: str, value: str, reason: str | None = None) -> None:
        """Set one setting."""

    @abstractmethod
    def put_user(self, row: dict[str, Any], reason: str | None = None) -> None:
        """Add a user, or change one (by ``name``)."""

    @abstractmethod
    def remove_user(self, name: str, reason: str | None = None) -> None:
        """Remove a user; raises StoreError if there is none such."""


class PersonalDataWriter(ABC):
    """Writing victims' personal data: only ever encrypted (see
    :mod:`mineledger.victims.crypto`), and every access recorded."""

    @abstractmethod
    def personal(self, uuids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Encrypted personal data of victims by UUID: ``{key_id, ciphertext}``."""

    @abstractmethod
    def has_person_keys(self) -> bool:
        """Whether any person key is stored (the store key exists then)."""

    @abstractmethod
    def person_key(self, key_id: str) -> bytes | None:
        """A person key, wrapped with the store key; None if erased."""

    @abstractmethod
    def add_person_key(self, key_id: str, wrapped: bytes) -> None:
        """Store a new person key, wrapped with the store key."""

    @abstractmethod
    def put_personal(self, uuid: str, key_id: str, ciphertext: bytes, *,
                     import_id: str | None = None, reason: str | None = None) -> None:
        """Store a victim's encrypted personal data (logged encrypted)."""

    @abstractmethod
    def erase_personal(self, uuid: str, reason: str) -> str | None:
        """Destroy a victim's person key and mark the victim erased; returns the erased key
        id, or None if nothing was there."""

    @abstractmethod
    def remove_personal(self, uuid: str, *, import_id: str | None = None,
                        reason: str | None = None) -> None:
        """Delete a victim's personal data and key with the record (a reverted import)."""

    @abstractmethod
    def log_access(self, uuids: Iterable[str], action: str, purpose: str | None = None) -> None:
        """Record who read, exported, corrected or erased these victims' data, and why."""


class FigureReader(ABC):
    """Reading what the headline figures (:mod:`mineledger.land.figures`) are computed from
    and what they stored, in one transaction (one instant of the store)."""

    @abstractmethod
    def figure_mark(self) -> int:
        """The last change-log entry (``fid``) the stored figures take in; 0 if none."""

    @abstractmethod
    def changed_since(self, mark: int) -> tuple[int, pd.DataFrame]:
        """The records of the layers with figures changed after change-log entry ``mark``:
        (the last entry's ``fid``, a frame of ``layer``, ``uuid``, ``country``), one row per
        record and country it was in (before or after the change)."""

    @abstractmethod
    def read_records(self, layer: str, *, uuids: Iterable[str] | None = None,
                     country: str | None = None,
                     columns: Sequence[str] | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        """The stored records of ``layer`` (as :meth:`Store.read_layer`), of ``uuids`` or of
        ``country``, as this transaction sees them; with ``columns``, those columns only (no
        geometry: a DataFrame)."""

    @abstractmethod
    def figure_counts(self, country: str) -> dict[str, Any] | None:
        """The country's stored other figures (JSON), None if there are none."""

    @abstractmethod
    def uuids_meeting(self, layer: str, country: str,
                      boxes: list[tuple[float, float, float, float]]) -> set[str]:
        """The uuids of ``country``'s records of ``layer`` whose geometry meets one of the
        boxes (min x, min y, max x, max y; degrees)."""

    @abstractmethod
    def figure_members(self, *, uuids: Iterable[str] | None = None, country: str | None = None,
                       clusters: Iterable[str] | None = None) -> pd.DataFrame:
        """Rows of ``figure_members`` (``country``, ``layer``, ``uuid``, ``cluster``) of
        ``uuids``, or of ``country`` and ``clusters`` (all its clusters if None)."""

    @abstractmethod
    def holds_records(self, country: str, layers: Iterable[str]) -> bool:
        """Whether any of ``layers`` holds a record of ``country``."""

    @abstractmethod
    def summed_cells(self, country: str) -> pd.DataFrame:
        """The country's ``figure_cells`` summed per key (``grouping``, ``grp``, ``set_name``,
        ``level``, ``code``: ``mm2``, ``cells``), which ``figure_totals`` must equal."""

    @abstractmethod
    def figure_countries(self) -> list[str]:
        """The countries with stored figures (counts, members or cells)."""

    @abstractmethod
    def stored_figures(self, country: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        """:meth:`Store.read_figures`, as this transaction sees the store."""


class FigureWriter(FigureReader):
    """Keeping the headline figures (:mod:`mineledger.land.figures`): derived tables, written
    in the transaction whose changes they take in, never logged."""

    @abstractmethod
    def replace_figures(self, country: str, clusters: Iterable[str] | None,
                        members: pd.DataFrame, cells: pd.DataFrame) -> None:
        """Drop the members and cells of ``country``'s ``clusters`` (all of them if None),
        then write ``members`` (``layer``, ``uuid``, ``cluster``) and ``cells`` (``cluster``,
        ``grouping``, ``grp``, ``set_name``, ``level``, ``code``, ``mm2``: whole mm²) for it."""

    @abstractmethod
    def put_figure_counts(self, country: str, counts: dict[str, Any] | None) -> None:
        """Store (or, with None, drop) the country's other figures (JSON)."""

    @abstractmethod
    def set_figure_mark(self, mark: int) -> None:
        """Record that the figures take in every change-log entry up to ``mark``."""


class Writer(RecordWriter, AdminWriter, PersonalDataWriter, FigureWriter):
    """One write transaction on a store. Obtain it with :meth:`Store.writer`."""


class Store(ABC):
    """A mineledger store. Open one with :func:`mineledger.store.connect` (or, with who
    acts, :func:`mineledger.open_store`)."""

    location: str
    #: A view of the past (:class:`mineledger.store.snapshot.Snapshot`) stands for an instant
    #: and/or a date of information; the store itself for now.
    at: dt.datetime | None = None
    information_as_of: dt.date | None = None
    read_only: bool = False

    @abstractmethod
    def writer(self, *, user: str, command: str,
               wait: bool = True) -> AbstractContextManager[Writer]:
        """A write transaction: commits when the block ends, rolls back on any exception.
        With ``wait`` false, a store another process is writing is refused at once
        (``MINELEDGER_LOCK_TIMEOUT`` is not waited).

        Raises
        ------
        StoreError
            If another process holds the write lock for longer than the store's timeout.
        """

    def figure_reader(self) -> AbstractContextManager["FigureReader"]:
        """A read transaction that sees the store at one instant, for the headline figures
        (:class:`FigureReader`); a view of the past has none.

        Raises
        ------
        StoreError
            This store keeps no figures (a view of the past).
        """
        raise StoreError("a view of the store as of a past instant keeps no figures")

    @abstractmethod
    def read_layer(self, layer: str, country: str | None = None,
                   import_ids: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """All records of a layer (optionally of one country, or last written by some
        imports) in EPSG:4326."""

    @abstractmethod
    def query(self, layer: str, *, country: str | None = None,
              bbox: Sequence[float] | None = None,
              filters: Mapping[str, Any] | None = None, limit: int = 100,
              offset: int = 0) -> PagedResult:
        """One page of a layer's records, filtered in the database.

        Parameters
        ----------
        layer : str
        country : str, optional
            ISO 3166-1 alpha-3.
        bbox : (min lon, min lat, max lon, max lat), optional
            Records whose geometry intersects the box (WGS 84 degrees); through the
            GeoPackage R-tree or the PostGIS GiST index, then the exact test.
        filters : {field: value or list of values}, optional
            Records whose field equals the value (or one of the values).
        limit, offset : int
            The page: at most ``limit`` records (1–10,000) after the first ``offset``, in
            ``fid`` order.

        Raises
        ------
        QueryError
            See :func:`page_request`.
        """

    @abstractmethod
    def read_table(self, name: str, country: str | None = None) -> pd.DataFrame:
        """An attribute table (``imports``, ``change_log``, ``quarantine``) as a DataFrame."""

    @abstractmethod
    def settings(self) -> dict[str, str]:
        """The store's settings (``timezone``, ``store_id``, ``operator_reads:ISO3`` …)."""

    @abstractmethod
    def read_changes(self, *, record_uuid: str | None = None, import_id: str | None = None,
                     layer: str | None = None, until=None, latest: bool = False,
                     since_fid: int | None = None, import_prefix: str | None = None,
                     tx_ids: Iterable[str] | None = None,
                     first: bool = False) -> list[dict[str, Any]]:
        """Change log entries, oldest first: of a record (UUID or prefix), of an import (or
        of imports whose id starts with a prefix), of a layer, after a ``fid``, of the
        transactions committed by an instant (UTC), of some transactions (``tx_ids``);
        ``latest`` (``first``): only each record's last (first) one."""

    @abstractmethod
    def last_commit(self) -> dt.datetime | None:
        """The UTC instant the store's last write transaction committed, or None."""

    @abstractmethod
    def personal(self, uuids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Encrypted personal data of victims by UUID: ``{key_id, ciphertext}``."""

    @abstractmethod
    def countries(self) -> list[str]:
        """ISO3 codes of the countries that have records in the store."""

    @abstractmethod
    def count(self, layer: str, country: str | None = None) -> int:
        """The number of records of a layer (of one country)."""

    # -- the store as a whole --------------------------------------------------------------

    @abstractmethod
    def schema_revision(self) -> str | None:
        """The store's schema revision (Alembic's; see :mod:`mineledger.store.revisions`)."""

    @abstractmethod
    def upgrade_schema(self) -> tuple[str | None, str]:
        """Bring the store's schema to this mineledger's revision, in one transaction;
        returns the revisions before and after.

        Raises
        ------
        StoreError
            The upgrade failed (nothing was changed).
        """

    @abstractmethod
    def has_records(self) -> bool:
        """Whether the store holds anything but its settings (records, history, users …)."""

    @abstractmethod
    def row_total(self) -> int:
        """Rows in every table of the store (for progress)."""

    # -- spatial work a back end may push down to its database; ``None``: do it in Python --

    def read_figures(self, country: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        """The stored headline figures of ``country`` — (cells, counts), as
        :class:`FigureWriter` wrote them — if they take in every change of the store; None if
        they are behind, not built, or this store is a view of the past (compute them)."""
        return None

    def admin_of_points(self, layer: str, country: str, level: int) -> dict[str, str] | None:
        """``{uuid: code}``: the administrative area of ``level`` that holds each located
        point record of ``layer`` that carries no code (where areas overlap, the first code);
        ``None`` if this back end leaves it to Python."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
