"""Typed results of the ledger's computations (the summary, the land release ledger …).

A result is a frozen dataclass whose field names carry their units (``area_m2``, ``…_at``
for UTC instants); it reads also as a mapping of its fields — ``figures["hazards"]["count"]``
is ``figures.hazards.count`` — because that is the shape of the JSON it prints
(:meth:`Result.to_dict`), which the README documents field by field. Attributes are typed
(an instant is an aware ``datetime``); items are as the JSON has them (the instant's text).

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, eq=False)
... class Area(Result):
...     code: str
...     area_m2: float
>>> a = Area("BA-01", 12.5)
>>> a.area_m2 == a["area_m2"], a == {"code": "BA-01", "area_m2": 12.5}, a.to_dict()
(True, True, {'code': 'BA-01', 'area_m2': 12.5})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Sequence

from mineledger.errors import QueryError


def json_as(convert: Callable[[Any], Any]) -> dict[str, Any]:
    """Field metadata: how :meth:`Result.to_dict` writes the field's value (a UTC instant as
    text, say); ``None`` stays ``None``."""
    return {"json": convert}


def _plain(value: Any) -> Any:
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Result(Mapping):
    """Base of typed results: subclasses are ``@dataclass(frozen=True, eq=False)``; they
    compare equal to any mapping with the same keys and values."""

    def __getitem__(self, key: str) -> Any:
        for f in dataclasses.fields(self):
            if f.name == key:
                value = getattr(self, key)
                convert = f.metadata.get("json")
                return convert(value) if convert is not None and value is not None else value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON data, fields in their declared order."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            convert = f.metadata.get("json")
            out[f.name] = convert(value) if convert is not None and value is not None \
                else _plain(value)
        return out


class Row(Result):
    """A result whose JSON it shapes itself (:meth:`to_dict`: keys named by a grouping, say):
    its mapping view is that JSON."""

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


def rank(rows: list, sort: str | None, top: int | None, columns: Sequence[str]) -> list:
    """Rows (a ``total`` row last stays last) sorted by ``sort`` descending, the first
    ``top`` of them.

    Raises
    ------
    QueryError
        ``sort`` is not one of ``columns``, or ``top`` is not a positive whole number.
    """
    if sort is not None and sort not in columns:
        # an area column in any unit (remaining, remaining_ha, remaining_km2 …)
        same = [c for c in columns if c.endswith("_m2") and _stem(c) == _stem(sort)]
        if not same:
            raise QueryError(f"--sort {sort!r}: expected one of {', '.join(columns)} (areas "
                             "also as remaining, remaining_km2, remaining_ha …)"
                             if any(c.endswith("_m2") for c in columns) else
                             f"--sort {sort!r}: expected one of {', '.join(columns)}")
        sort = same[0]
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise QueryError(f"--top {top!r}: expected a whole number of rows from 1")
    body, tail = (rows[:-1], rows[-1:]) if rows and _is_total(rows[-1]) else (rows, [])
    if sort is not None:
        body = sorted(body, key=lambda r: (-(r[sort] or 0) if isinstance(r[sort] or 0, (int, float))
                                           else 0, str(r[sort])))
    if top is not None:
        body = body[:top]
    return body + tail


def _stem(column: str) -> str:
    """A column's name without its area unit (``remaining_ha`` → ``remaining``)."""
    for unit in ("_m2", "_km2", "_ha"):
        if column.endswith(unit):
            return column[: -len(unit)]
    return column


def _is_total(row) -> bool:
    """A row whose first value (its key) is ``total``."""
    return list(row.to_dict().values())[:1] == ["total"]
