"""The stockpile ledger's rule: a lot's balance is derived from its movements and is never
negative (issue 17, rules 1 and 2; DESIGN.md: "a lot's balance = received − transferred −
exported − destroyed ± adjustments, never negative"). Pure functions on tables of
movements; the store keeps the movements (next).

A movement is dated (a day, in the store's time zone) and moves whole items of one lot:

- in, to a building: ``opening_balance`` (declared at a date), ``received_production``,
  ``received_from_state``, ``found`` (at stocktake), ``returned``;
- out, from a building: ``exported``, ``consumed`` (training or development), ``destroyed``,
  ``lost``, ``stolen``, ``issued_to_minefield``;
- ``transfer``: out of one building, into another;
- ``retained`` (APMBC Art. 3): from a building's stockpile holding to its ``retained``
  holding (the items stay in the building, counted apart);
- ``correction``: the reverse of an earlier movement it names (a wrong movement is never
  edited in place), with a reason.

A balance is kept per lot, building and holding (``stockpile`` or ``retained``). A day's
movements count together: the balance at the end of every day, from a movement's own date
on, must not be negative — so a backdated movement that a later one already relied on is
refused. Quantities are items; NEQ is derived (items × NEQ per item, kg).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from mineledger.errors import BalanceError, QueryError

STOCKPILE, RETAINED = "stockpile", "retained"


class MovementKind(str, Enum):
    OPENING_BALANCE = "opening_balance"
    RECEIVED_PRODUCTION = "received_production"
    RECEIVED_FROM_STATE = "received_from_state"
    FOUND = "found"
    RETURNED = "returned"
    EXPORTED = "exported"
    CONSUMED = "consumed"
    DESTROYED = "destroyed"
    LOST = "lost"
    STOLEN = "stolen"
    ISSUED_TO_MINEFIELD = "issued_to_minefield"
    TRANSFER = "transfer"
    RETAINED = "retained"
    CORRECTION = "correction"


INTO = {MovementKind.OPENING_BALANCE, MovementKind.RECEIVED_PRODUCTION,
        MovementKind.RECEIVED_FROM_STATE, MovementKind.FOUND, MovementKind.RETURNED}
OUT_OF = {MovementKind.EXPORTED, MovementKind.CONSUMED, MovementKind.DESTROYED,
          MovementKind.LOST, MovementKind.STOLEN, MovementKind.ISSUED_TO_MINEFIELD}

#: The columns of a table of movements.
COLUMNS = ["movement_id", "lot", "kind", "date", "quantity", "from_building", "to_building",
           "reverses"]
#: The columns of a table of balance entries.
ENTRY_COLUMNS = ["movement_id", "lot", "building", "holding", "date", "items"]


@dataclass(frozen=True)
class Shortfall:
    """A balance that would go below zero: the lot, building and holding, the day, the
    balance at its end (items, negative) and the shortfall (items)."""

    lot: str
    building: str
    holding: str
    date: dt.date
    balance: int
    shortfall: int

    def describe(self) -> str:
        where = f"building {self.building}" + (" (retained, APMBC Art. 3)"
                                               if self.holding == RETAINED else "")
        return (f"lot {self.lot}, {where}: the balance on {self.date.isoformat()} would be "
                f"{self.balance:,} items, {self.shortfall:,} short")


def _frame(movements) -> pd.DataFrame:
    frame = pd.DataFrame(movements, columns=COLUMNS) if not isinstance(movements, pd.DataFrame) \
        else movements.reindex(columns=COLUMNS)
    return frame.reset_index(drop=True)


def validate(movements, *, today: dt.date | None = None, known: Mapping[str, str] | None = None,
             reversed_before: Iterable[str] = ()) -> None:
    """Refuse movements that are not of the form, naming the movement, the field and what
    was expected: a kind not of :class:`MovementKind`; a quantity that is not a whole
    number of items above zero; a date that is not a day, or is after ``today``; the
    buildings a kind needs (in: ``to_building``; out: ``from_building``; transfer: both,
    and different; retained: ``from_building``); a correction that names no movement of
    ``known`` (id → kind) or of these, a correction (a wrong correction is put right by
    recording the movement again), or one already reversed (here or in ``reversed_before``).

    Raises
    ------
    QueryError
    """
    frame = _frame(movements)
    seen = dict(known or {})
    reversed_ = set(reversed_before)
    for r in frame.itertuples(index=False):
        name = f"movement {r.movement_id}"
        try:
            kind = MovementKind(r.kind)
        except ValueError:
            raise QueryError(f"{name}: kind {r.kind!r}: expected one of "
                             f"{', '.join(k.value for k in MovementKind)}") from None
        q = r.quantity
        if isinstance(q, bool) or not isinstance(q, (int, np.integer, float)) or \
                not float(q).is_integer() or q <= 0:
            raise QueryError(f"{name}: quantity {q!r}: expected a whole number of items above 0")
        if not isinstance(r.date, dt.date) or isinstance(r.date, dt.datetime):
            raise QueryError(f"{name}: date {r.date!r}: expected a day (YYYY-MM-DD)")
        if today is not None and r.date > today:
            raise QueryError(f"{name}: date {r.date.isoformat()} is in the future "
                             f"(today is {today.isoformat()})")
        need_from = kind in OUT_OF or kind in (MovementKind.TRANSFER, MovementKind.RETAINED)
        need_to = kind in INTO or kind == MovementKind.TRANSFER
        for field, needed, value in (("from_building", need_from, r.from_building),
                                     ("to_building", need_to, r.to_building)):
            if needed and not (isinstance(value, str) and value.strip()):
                raise QueryError(f"{name}: {kind.value} needs {field}")
        if kind == MovementKind.TRANSFER and r.from_building == r.to_building:
            raise QueryError(f"{name}: a transfer from building {r.from_building} to itself")
        if kind == MovementKind.CORRECTION:
            if r.reverses not in seen:
                raise QueryError(f"{name}: reverses {r.reverses!r}, which is not a movement")
            if seen[r.reverses] == MovementKind.CORRECTION.value:
                raise QueryError(f"{name}: movement {r.reverses} is a correction; record the "
                                 "movement it reversed again instead")
            if r.reverses in reversed_:
                raise QueryError(f"{name}: movement {r.reverses} is already reversed")
            reversed_.add(r.reverses)
        seen[r.movement_id] = kind.value


def entries(movements) -> pd.DataFrame:
    """The balance entries of movements: one per building and holding a movement changes,
    ``items`` signed (+ in, − out); a correction gives its reversed movement's entries
    negated, at the correction's own date. Columns :data:`ENTRY_COLUMNS`."""
    frame = _frame(movements)
    by_id = {r.movement_id: r for r in frame.itertuples(index=False)}
    rows = []
    for r in frame.itertuples(index=False):
        kind, source, sign = MovementKind(r.kind), r, 1
        if kind == MovementKind.CORRECTION:
            source, sign = by_id[r.reverses], -1
            kind = MovementKind(source.kind)
        q = int(source.quantity) * sign
        for building, holding, items in _effects(kind, source, q):
            rows.append((r.movement_id, source.lot, building, holding, r.date, items))
    return pd.DataFrame(rows, columns=ENTRY_COLUMNS).astype({"items": "int64"})


def _effects(kind: MovementKind, m, q: int) -> list[tuple[str, str, int]]:
    if kind in INTO:
        return [(m.to_building, STOCKPILE, q)]
    if kind in OUT_OF:
        return [(m.from_building, STOCKPILE, -q)]
    if kind == MovementKind.TRANSFER:
        return [(m.from_building, STOCKPILE, -q), (m.to_building, STOCKPILE, q)]
    return [(m.from_building, STOCKPILE, -q), (m.from_building, RETAINED, q)]  # retained


def balances(movements, at: dt.date | None = None) -> pd.DataFrame:
    """Items of each lot, building and holding at the end of day ``at`` (default: after
    every movement): columns ``lot``, ``building``, ``holding``, ``items``; holdings that
    never held anything are absent."""
    e = entries(movements)
    if at is not None:
        e = e[e["date"] <= at]
    return (e.groupby(["lot", "building", "holding"], as_index=False)["items"].sum()
            .astype({"items": "int64"}))


def shortfalls(movements) -> list[Shortfall]:
    """Every end of day at which a balance is below zero, in date order (the first of each
    lot, building and holding)."""
    e = entries(movements)
    if e.empty:
        return []
    key = ["lot", "building", "holding"]
    daily = e.groupby([*key, "date"], as_index=False)["items"].sum().sort_values([*key, "date"])
    daily["balance"] = daily.groupby(key)["items"].cumsum()
    short = daily[daily["balance"] < 0].groupby(key, as_index=False).first()
    found = [Shortfall(r.lot, r.building, r.holding, r.date, int(r.balance), int(-r.balance))
             for r in short.itertuples(index=False)]
    return sorted(found, key=lambda s: (s.date, s.lot, s.building, s.holding))


def record(existing, new, *, today: dt.date | None = None) -> pd.DataFrame:
    """The movements ``existing`` with ``new`` added, if every balance stays at zero or
    above at the end of every day from then on; else nothing is added.

    Parameters
    ----------
    existing, new : DataFrame or rows of :data:`COLUMNS`
        ``existing`` is what the ledger holds (its balances are never negative).

    Returns
    -------
    DataFrame
        All the movements.

    Raises
    ------
    QueryError
        A new movement not of the form (:func:`validate`), or an id already used.
    BalanceError
        A balance would go below zero, at a new movement's date or at any later date (a
        backdated entry): the message names the lot, building, date, balance and shortfall.
    """
    old, add = _frame(existing), _frame(new)
    used = set(old["movement_id"])
    ids = add["movement_id"]
    again = [m for m in ids if m in used] + list(ids[ids.duplicated()])
    if again:
        raise QueryError(f"movement {again[0]}: its id is already used")
    validate(add, today=today, known=dict(zip(old["movement_id"], old["kind"])),
             reversed_before=old.loc[old["kind"] == MovementKind.CORRECTION.value, "reverses"])
    both = pd.concat([old, add], ignore_index=True) if len(old) else add
    short = shortfalls(both)
    if short:
        first = short[0]
        raise BalanceError(f"{first.describe()}; nothing was recorded"
                           + (f" ({len(short) - 1} more balance(s) would go below zero)"
                              if len(short) > 1 else ""))
    return both


#: The columns of a stocktake's counts.
COUNT_COLUMNS = ["stocktake_id", "lot", "building", "holding", "date", "counted"]


def stocktake_findings(movements, counts) -> pd.DataFrame:
    """The counts of stocktakes that differ from the balance the movements give at the end
    of the count's day (issue 17, rule 3): columns ``stocktake_id``, ``lot``, ``building``,
    ``holding``, ``date``, ``counted``, ``expected``, ``difference`` (counted − expected,
    items). A difference is settled by a ``found`` or ``lost`` movement of that day, which an
    officer records with the stocktake as its reference; the finding is then gone.

    Parameters
    ----------
    movements : DataFrame or rows of :data:`COLUMNS`
    counts : DataFrame or rows of :data:`COUNT_COLUMNS` (``holding`` defaults to
        ``stockpile``)
    """
    counts = pd.DataFrame(counts, columns=COUNT_COLUMNS) if not isinstance(counts, pd.DataFrame) \
        else counts.reindex(columns=COUNT_COLUMNS)
    counts["holding"] = counts["holding"].fillna(STOCKPILE)
    e = entries(movements)
    rows = []
    for c in counts.itertuples(index=False):
        mine = e[(e["lot"] == c.lot) & (e["building"] == c.building) &
                 (e["holding"] == c.holding) & (e["date"] <= c.date)]
        expected = int(mine["items"].sum())
        if int(c.counted) != expected:
            rows.append((c.stocktake_id, c.lot, c.building, c.holding, c.date, int(c.counted),
                         expected, int(c.counted) - expected))
    return pd.DataFrame(rows, columns=[*COUNT_COLUMNS, "expected", "difference"])
