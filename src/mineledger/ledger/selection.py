"""Which records a figure is about: a window of dates, an administrative area, event types
and explosive-ordnance categories (``--from/--to``, ``--admin``, ``--type``, ``--category``
of ``summary``, ``landrelease`` and ``export``; README, "Figures").

Each layer is dated by its own field (:data:`DATE_FIELD`); a record known only by its year
(or year and month) is in the window when that year (month) meets it. A record belongs to an
administrative area by the code it carries (its own area or one within, by ``parent_code``),
else by where it lies (meeting the area's interior, not only its edge) — the summary's
attribution.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from mineledger.errors import QueryError
from mineledger.model.vocab import EOCategory, EventType

#: The field each layer's window reads (a year field counts by its year).
DATE_FIELD = {"admin_areas": None, "hazards": "date_of_information",
              "cleared_areas": "date_released", "activities": "end_date",
              "devices": "found_date", "events": "event_date", "victims": "year"}
#: Layers that carry an event type, and an EO category (one, or a comma-separated list).
TYPED = {"events": "event_type"}
#: The group of records with no category (or no date …): "unknown", as --by names it.
UNKNOWN = "unknown"
CATEGORISED = {"events": "eo_category", "devices": "eo_category", "hazards": "eo_categories",
               "cleared_areas": "eo_categories", "activities": "eo_categories"}


def parse_bound(text: str | dt.date | None, option: str, *, end: bool) -> dt.date | None:
    """A window bound: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (the first day of the year or
    month for ``--from``, the last for ``--to``).

    Raises
    ------
    QueryError
        Not a date in one of those forms.

    >>> parse_bound("2010", "--to", end=True), parse_bound("2000-02", "--from", end=False)
    (datetime.date(2010, 12, 31), datetime.date(2000, 2, 1))
    """
    if text is None or isinstance(text, dt.date):
        return text
    value = str(text).strip()
    try:
        if re.fullmatch(r"\d{4}", value):
            year = int(value)
            return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", value):
            year, month = map(int, value.split("-"))
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, last if end else 1)
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise QueryError(f"{option} {text!r}: expected a date as YYYY, YYYY-MM or YYYY-MM-DD")


@dataclass(frozen=True)
class Selection:
    """The records a figure is about; empty selects everything."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    admin: str | None = None
    types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def of(cls, date_from=None, date_to=None, admin: str | None = None,
           types=None, categories=None) -> "Selection":
        """A selection from the options as given.

        Raises
        ------
        QueryError
            A bad date, a window that ends before it starts, an event type or an EO category
            not in the vocabulary (the message lists them).
        """
        lo = parse_bound(date_from, "--from", end=False)
        hi = parse_bound(date_to, "--to", end=True)
        if lo and hi and lo > hi:
            raise QueryError(f"--from {lo} is after --to {hi}")
        types = tuple(types or ())
        bad = [t for t in types if t not in set(map(str, EventType))]
        if bad:
            raise QueryError(f"--type {bad[0]!r}: expected one of "
                             f"{', '.join(t.value for t in EventType)}")
        categories = tuple(categories or ())
        bad = [c for c in categories if c not in set(map(str, EOCategory))]
        if bad:
            raise QueryError(f"--category {bad[0]!r}: expected one of "
                             f"{', '.join(c.value for c in EOCategory)}")
        return cls(lo, hi, admin or None, types, categories)

    @property
    def empty(self) -> bool:
        return not (self.date_from or self.date_to or self.admin or self.types or self.categories)

    @property
    def dated(self) -> bool:
        return bool(self.date_from or self.date_to)

    def describe(self) -> dict[str, object]:
        """The selection as the JSON of a figure states it (only what was asked)."""
        out: dict[str, object] = {}
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        if self.admin:
            out["admin"] = self.admin
        if self.types:
            out["type"] = list(self.types)
        if self.categories:
            out["category"] = list(self.categories)
        return out

    def applies_to(self, layer: str) -> bool:
        """Whether every asked filter can apply to the layer (victims carry no event type
        or EO category; land carries no event type)."""
        if self.types and layer not in TYPED:
            return False
        if self.categories and layer not in CATEGORISED:
            return False
        return True

    def area_shape(self, admin_areas):
        """The land of the selection's administrative area (one geometry).

        Raises
        ------
        QueryError
            No administrative area with that code.
        """
        area_and_within(admin_areas, self.admin)
        return shapely.union_all(admin_areas.loc[admin_areas["code"] == self.admin].geometry.array)

    def select(self, layer: str, gdf, admin_areas=None):
        """The records of ``gdf`` (a layer) in the selection; ``admin_areas`` (the country's
        administrative areas) are needed for ``admin``. A filter the layer cannot take is
        refused: ask :meth:`applies_to` first.

        Raises
        ------
        QueryError
            A filter the layer has no field for, an unknown administrative area.
        """
        if self.admin:  # first, so that what the others leave out is counted in the area
            gdf = gdf[in_admin_area(gdf, admin_areas, self.admin)]
        if self.types:
            if layer not in TYPED:
                raise QueryError(f"--type: {layer} carry no event type")
            gdf = gdf[gdf[TYPED[layer]].isin(self.types)]
        if self.categories:
            if layer not in CATEGORISED:
                raise QueryError(f"--category: {layer} carry no EO category")
            column = gdf[CATEGORISED[layer]]
            wanted = set(self.categories)
            # "unknown" also selects records with no category, as --by category groups them
            keep = [bool(wanted & ({c.strip() for c in (v or "").split(",") if c.strip()}
                                   or {UNKNOWN})) for v in column]
            gdf = gdf[np.asarray(keep, dtype=bool)] if len(gdf) else gdf
        if self.dated:
            gdf = self._within_dates(layer, gdf)
        return gdf

    def _within_dates(self, layer: str, gdf):
        """Records whose date (:data:`DATE_FIELD`) meets the window; an event known only by
        its year, a victim by its year (and month), by that year (month). Undated records are
        left out and :attr:`notes` says how many."""
        name = DATE_FIELD.get(layer)
        if name is None:
            raise QueryError(f"--from/--to: layer {layer!r} has no date to filter on")
        lo, hi = self.date_from, self.date_to
        if name == "year":  # victims: year and month
            months = gdf["month"] if "month" in gdf else pd.Series([None] * len(gdf), index=gdf.index)
            values = [_period(y, m) for y, m in zip(gdf["year"], months)]
        else:
            dates = gdf[name].astype(object).where(gdf[name].notna(), None)
            years = gdf["year"] if layer == "events" and "year" in gdf else [None] * len(gdf)
            values = [(d, d) if isinstance(d, dt.date) else _period(y, None)
                      for d, y in zip(dates, years)]
        keep = np.asarray([v is not None and (lo is None or v[1] >= lo) and
                           (hi is None or v[0] <= hi) for v in values], dtype=bool)
        undated = sum(v is None for v in values)
        if undated:
            what = "event_date or year" if layer == "events" else name
            self.notes.append(f"{undated} {layer} record(s) with no {what} left out by "
                              "--from/--to")
        return gdf[keep] if len(gdf) else gdf


def _period(year, month) -> tuple[dt.date, dt.date] | None:
    """The days a year (or a year and month) spans; None when unknown."""
    if year is None or (isinstance(year, float) and year != year) or pd.isna(year):
        return None
    year = int(year)
    if month is None or (isinstance(month, float) and month != month) or pd.isna(month):
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(month)
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def area_and_within(admin_areas, code: str) -> set[str]:
    """``code`` and the codes of every area within it: by ``parent_code`` where the areas say
    it, else by where they lie (an area of a finer level whose interior point lies in it —
    geoBoundaries carries no parent codes).

    Raises
    ------
    QueryError
        No administrative area with that code.
    """
    if admin_areas is None or not (admin_areas["code"] == code).any():
        raise QueryError(f"--admin {code!r}: no administrative area with that code; "
                         "`mineledger areas list --country …` lists them")
    codes = {code}
    while True:
        more = set(admin_areas.loc[admin_areas["parent_code"].isin(codes), "code"]) - codes
        if not more:
            break
        codes |= more
    own = admin_areas[admin_areas["code"] == code]
    finer = admin_areas[(admin_areas["level"] > own["level"].min()) & ~admin_areas["code"].isin(codes)]
    finer = finer[~(finer.geometry.isna() | finer.geometry.is_empty)]
    if len(finer):
        shape = shapely.union_all(own.geometry.array)
        inside = shapely.within(shapely.point_on_surface(finer.geometry.array), shape)
        codes |= set(finer.loc[inside, "code"])
    return codes


def in_admin_area(gdf, admin_areas, code: str) -> np.ndarray:
    """Which records of ``gdf`` belong to the administrative area ``code``: by the code they
    carry (``admin_code`` or ``admin1_code``: that area or one within it), else by location
    (meeting the area's interior, not only its edge)."""
    codes = area_and_within(admin_areas, code)
    shape = shapely.union_all(admin_areas.loc[admin_areas["code"] == code].geometry.array)
    geoms = gdf.geometry.array
    has = ~(gdf.geometry.isna().to_numpy() | shapely.is_empty(geoms)) if len(gdf) else \
        np.zeros(0, dtype=bool)
    coded = np.zeros(len(gdf), dtype=bool)
    by_code = np.zeros(len(gdf), dtype=bool)
    for col in ("admin_code", "admin1_code"):
        if col in gdf:
            known = gdf[col].notna().to_numpy(dtype=bool)
            by_code |= known & gdf[col].isin(codes).to_numpy(dtype=bool)
            coded |= known
    inside = np.zeros(len(gdf), dtype=bool)
    where = has & ~coded
    if where.any():
        inside[where] = shapely.intersects(geoms[where], shape) & \
            ~shapely.touches(geoms[where], shape)
    return by_code | inside
