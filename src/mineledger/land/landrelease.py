"""The land release ledger: recorded, cancelled, reduced, cleared, released, remaining and
both, in m².

Definitions (README, "Land release"; the outcomes of IMAS 07.11 and the GICHD Minimum Data
Requirements):

- ``cleared``, ``reduced``, ``cancelled``: the distinct area of the outcome polygons of each
  kind, overlaps counted once; where outcomes of different kinds overlap, cleared takes
  precedence over reduced over cancelled.
- ``released = cancelled + reduced + cleared``.
- ``remaining`` — the land still suspected: the distinct area of open hazards (status open or
  worked on), each less the land released after its perimeter's date of information; where
  either date is unknown, released land is not remaining.
- ``both``: the land in ``released`` and in ``remaining`` at once — released, then suspected
  again by a hazard whose information is later; never hidden.
- ``recorded``: all land ever recorded, the distinct union of remaining and released land, so
  ``recorded = remaining + released − both``.

No column is called "suspected": it would read as still suspected, and released land is not.

An outcome linked to a hazard (``hazard_uuid``) counts only inside that hazard; one with no
known hazard counts where it lies. Rows by administrative area partition the land, with a row
``unassigned`` for land outside every area, so rows add up to the ``total`` row exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mineledger.access import Action, Session
from mineledger.errors import QueryError
from mineledger.land import figures
from mineledger.land.admin_areas import OUTSIDE_AREAS, UNASSIGNED
from mineledger.land.engine import AdminLevel, Groups, LandClusters, clip, measure, table
from mineledger.ledger.asof import require_country
from mineledger.ledger.selection import Selection
from mineledger.model.codes import checked_country
from mineledger.model.results import Result, Row, rank

#: Outcome kinds, strongest first: an overlap goes to the first.
OUTCOMES = ("cleared", "reduced", "cancelled")
#: Groupings the ledger offers besides administrative levels.
GROUPINGS = ("hazard", "organisation", "category", "year")
UNKNOWN = "unknown"
TOTAL = "total"
COLUMNS = ("recorded_m2", "cancelled_m2", "reduced_m2", "cleared_m2", "released_m2",
           "remaining_m2", "both_m2")

_EMPTY = shapely.MultiPolygon()


@dataclass(frozen=True, eq=False)
class LandRelease(Result):
    """The land release ledger's total (IMAS 07.11), m²: the columns of :class:`LedgerRow`
    without a group. ``released_m2 = cancelled_m2 + reduced_m2 + cleared_m2``;
    ``recorded_m2 = remaining_m2 + released_m2 − both_m2`` (to 1e-6)."""

    recorded_m2: float
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float
    released_m2: float
    remaining_m2: float
    both_m2: float


@dataclass(frozen=True, eq=False)
class LedgerRow(Row, LandRelease):
    """One row of the land release ledger (IMAS 07.11): a group's land, m² — the columns of
    :class:`LandRelease` and the group they are of.

    In every row ``released_m2 = cancelled_m2 + reduced_m2 + cleared_m2`` and ``recorded_m2
    = remaining_m2 + released_m2 − both_m2`` (the second to 1e-6: each is measured on its
    own land).
    """

    area_code: str
    area_name: str | None
    #: with two groupings (an administrative level and another): the other's name and key
    group_by: str | None = None
    group: str | None = None
    #: by a grouping that is not administrative (year, organisation …): its name — the key
    #: is then ``area_code`` and the JSON calls it by that name
    by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON: the area (``area_code``, ``area_name``) or the group under its
        grouping's name (``year``; by hazard, ``hazard`` and ``hazard_local_id``), the other
        grouping's key under its name (if any), then the columns of :data:`COLUMNS`."""
        if self.by is None:
            out = {"area_code": self.area_code, "area_name": self.area_name}
        elif self.by == "hazard":
            out = {"hazard": self.area_code, "hazard_local_id": self.area_name}
        else:
            out = {self.by: self.area_code}
        if self.group_by:
            out[self.group_by] = self.group
        out.update({c: getattr(self, c) for c in COLUMNS})
        return out

    def totals(self) -> LandRelease:
        """The row's columns alone (the summary's ``land_release``)."""
        return LandRelease(**{c: getattr(self, c) for c in COLUMNS})


def as_date(value) -> dt.date | None:
    """A date, or None for any spelling of "unknown" (None, NaN, NaT)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def _where(gdf: gpd.GeoDataFrame, mask) -> gpd.GeoDataFrame:
    """Rows of ``gdf`` where ``mask`` (a sequence of booleans) holds; an empty frame stays one."""
    return gdf.loc[np.asarray(list(mask), dtype=bool)] if len(gdf) else gdf


def usable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The records of ``gdf`` that have a geometry (not missing, not empty)."""
    return _where(gdf, [g is not None and not g.is_empty for g in gdf.geometry.array])


def ledger_row(code: str, name: str | None, area) -> LedgerRow:
    """A ledger row from the land of each set (``cancelled``, ``reduced``, ``cleared``,
    ``remaining``, ``both``, ``recorded``; a mapping), m²."""
    cancelled, reduced, cleared = (float(area.get(k, 0.0)) for k in ("cancelled", "reduced",
                                                                     "cleared"))
    return LedgerRow(area_code=code, area_name=name,
                     recorded_m2=float(area.get("recorded", 0.0)), cancelled_m2=cancelled,
                     reduced_m2=reduced, cleared_m2=cleared,
                     released_m2=cancelled + reduced + cleared,
                     remaining_m2=float(area.get("remaining", 0.0)),
                     both_m2=float(area.get("both", 0.0)))


def _merged_one(geoms: np.ndarray):
    """One MultiPolygon of the polygons of disjoint geometries (clusters' land)."""
    geoms = geoms[~shapely.is_missing(geoms)]
    parts = shapely.get_parts(shapely.get_parts(geoms)) if len(geoms) else geoms
    parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)] \
        if len(parts) else parts
    return shapely.multipolygons(parts) if len(parts) else _EMPTY


def ledger_sets(hazards: gpd.GeoDataFrame, outcomes: gpd.GeoDataFrame) -> dict[str, Any]:
    """The ledger's land as geometries, ``{set: MultiPolygon}``: ``cleared``, ``reduced``,
    ``cancelled`` (disjoint), ``released`` (their union), ``remaining``, ``both``,
    ``recorded`` — for a map, or to measure small cases; figures come from
    :func:`ledger`, which measures the same land cluster by cluster."""
    sets = LandClusters(usable(hazards), usable(outcomes)).sets(recorded=True)
    return merged(sets)


def merged(sets: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """The clusters' land of each set (:meth:`LandClusters.sets`) as one MultiPolygon."""
    return {name: _merged_one(geoms) for name, _, geoms in sets}


def release_sets(outcomes: gpd.GeoDataFrame) -> dict[str, Any]:
    """The distinct land of each outcome kind (cleared > reduced > cancelled where they
    overlap) and ``released``, their union, as geometries."""
    none = gpd.GeoDataFrame({"uuid": [], "status": [], "date_of_information": []},
                            geometry=gpd.GeoSeries([], crs=4326))
    sets = ledger_sets(none, outcomes)
    return {k: sets[k] for k in (*OUTCOMES, "released")}


def land_sets(session: Session, country: str) -> dict[str, Any]:
    """The ledger's land of a country as geometries (:func:`ledger_sets`), for a map."""
    return ledger_sets(session.read_layer("hazards", country),
                       session.read_layer("cleared_areas", country))


def _row_of(wide: pd.DataFrame, key, code: str, name: str | None, **extra) -> LedgerRow:
    row = ledger_row(code, name, wide.loc[key] if key in wide.index else {})
    return dataclasses.replace(row, **extra) if extra else row


def _total(rows: list[LedgerRow]) -> LedgerRow:
    """The total of rows that partition the land (by area): each column summed exactly."""
    return ledger_row(TOTAL, None, {k: math.fsum(getattr(r, f"{k}_m2") for r in rows)
                                    for k in ("cancelled", "reduced", "cleared", "remaining",
                                              "both", "recorded")})


def rows_by_admin(sets, level: AdminLevel, shape=None) -> list[LedgerRow]:
    """Ledger rows for the areas of one administrative level, ``unassigned`` and ``total``
    (of the land inside ``shape`` if given); the rows add up to the total exactly.

    ``sets``: :meth:`LandClusters.sets` of all the land."""
    sets = clip(sets, shape) if shape is not None else sets
    cells = measure(sets, 1, [level])
    wide = table(cells[cells["level"] == level.level], by=("code",))
    codes = sorted(c for c in wide.index if c != UNASSIGNED and
                   (wide.loc[c, list(SETS)] > 0).any())
    rows = [_row_of(wide, c, c, level.names.get(c)) for c in codes]
    rows.append(_row_of(wide, UNASSIGNED, UNASSIGNED, OUTSIDE_AREAS))
    return rows + [_total(rows)]


#: The measured sets of a row (released and recorded follow from them).
SETS = ("cancelled", "reduced", "cleared", "remaining", "both")


def _groups(land: LandClusters, by: str) -> tuple[list[str], Groups, Groups]:
    """The group names of a grouping (unknown last) and the records of each."""
    hk, ok = _group_keys(land.hazards, by), _group_keys(land.outcomes, by)
    names = sorted({k for ks in hk + ok for k in ks}, key=lambda k: (k == UNKNOWN, k))
    return names, Groups.of(hk, names), Groups.of(ok, names)


def _whole(land: LandClusters, shape, by: str) -> LedgerRow:
    """The total row of a grouping: all the land, measured once (a piece of land can be in
    several groups, and counts once here)."""
    sets = land.sets()
    sets = clip(sets, shape) if shape is not None else sets
    wide = table(measure(sets, 1), by=("level",))
    return _row_of(wide, 0, TOTAL, None, by=by)


def _rows_by_group(land: LandClusters, by: str, shape=None) -> list[LedgerRow]:
    """:func:`ledger` by hazard, organisation, category or year. Each group's row is its own
    land: its outcomes' release, its hazards' remaining land, and what is in both of those."""
    names, hg, og = _groups(land, by)
    sets = land.sets(hg, og)
    sets = clip(sets, shape) if shape is not None else sets
    wide = table(measure(sets, len(names)), by=("group",))
    local = dict(zip(land.hazards["uuid"], land.hazards["local_id"])) \
        if by == "hazard" and "local_id" in land.hazards else {}
    rows = [_row_of(wide, g, key, local.get(key), by=by) for g, key in enumerate(names)]
    return rows + [_whole(land, shape, by)]


def _rows_by_area_and_group(land: LandClusters, by: str, level: AdminLevel,
                            shape=None) -> list[LedgerRow]:
    """One row per administrative area and group (the group's land cut by the areas), and a
    total row of all the land."""
    names, hg, og = _groups(land, by)
    sets = land.sets(hg, og)
    sets = clip(sets, shape) if shape is not None else sets
    cells = measure(sets, len(names), [level])
    wide = table(cells[cells["level"] == level.level], by=("group", "code"))
    rows = []
    for g, key in enumerate(names):
        codes = sorted(c for gg, c in wide.index if gg == g and c != UNASSIGNED)
        for code in codes + [UNASSIGNED]:
            if (g, code) in wide.index and (wide.loc[(g, code), list(SETS)] > 0).any():
                rows.append(_row_of(wide, (g, code), code,
                                    OUTSIDE_AREAS if code == UNASSIGNED else level.names.get(code),
                                    group_by=by, group=key))
    total = _whole(land, shape, by)
    return rows + [dataclasses.replace(total, by=None)]


def _admin_level(by: str) -> int | None:
    return int(by[5:]) if by.startswith("admin") and by[5:].isdigit() else None


def _check_groupings(by: list[str]) -> None:
    known = [b for b in by if _admin_level(b) is not None or b in GROUPINGS]
    admins = [b for b in by if _admin_level(b) is not None]
    if not by or len(by) > 2 or len(known) != len(by) or (len(by) == 2 and len(admins) != 1):
        raise QueryError(f"--by {','.join(by) or '(none)'}: expected admin1, admin2, admin3, "
                         "hazard, organisation, category or year — or an administrative level "
                         "and one of the others (admin1 and year: one row per area and year)")


def _selected_land(session: Session, country: str, selection: Selection, admin_all):
    """The hazards and outcomes (with a geometry) in the selection."""
    if selection.types:
        raise QueryError("--type: land carries no event type; select land by --category "
                         "(EO category), --from/--to or --admin")
    hazards = selection.select("hazards", session.read_layer("hazards", country), admin_all)
    outcomes = selection.select("cleared_areas", session.read_layer("cleared_areas", country),
                                admin_all)
    return usable(hazards), usable(outcomes)


def ledger(session: Session, country: str, by: str | Sequence[str] = "admin2",
           selection: Selection | None = None, *, sort: str | None = None,
           top: int | None = None, stored: bool = True) -> list[LedgerRow]:
    """The land release ledger of a country, one row per group and a ``total`` row.

    Parameters
    ----------
    session : Session
        The store, and who acts.
    country : str
        ISO 3166-1 alpha-3.
    by : str or sequence of str
        ``admin1``, ``admin2``, ``admin3`` … (an administrative level loaded for the country),
        ``hazard`` (outcomes with no known hazard under ``unknown``), ``organisation``,
        ``category`` (EO category) or ``year`` (of release; remaining land by the year of the
        hazard's date of information; undated: ``unknown``) — or an administrative level and
        one of the others (one row per area and group).
    selection : Selection, optional
        Outcomes released in a window (``--from/--to``; hazards by their date of
        information), land inside an area (``--admin``), of EO categories (``--category``).
    sort, top : optional
        A column of :data:`COLUMNS` to sort the rows by (descending), and how many to keep;
        the total row stays last and counts all the land.
    stored : bool
        By one administrative level or by year, of all the records and the store as it is
        now, read the figures kept at each commit (:mod:`mineledger.land.figures`); false
        computes them from the records (the same rows, to the last digit).

    Returns
    -------
    list of LedgerRow
        Rows with ``area_code``, ``area_name`` and the columns of :data:`COLUMNS` in m².
        In every row ``released_m2 = cancelled_m2 + reduced_m2 + cleared_m2`` and
        ``recorded_m2 = remaining_m2 + released_m2 − both_m2``. By administrative level, the rows
        (with ``unassigned``) add up to the ``total`` row; by other groupings a piece of land
        can belong to several groups, and the total counts it once.

    Raises
    ------
    QueryError
        Unknown country, unknown grouping, an administrative level not loaded, a selection
        land cannot take (an event type), a bad sort column or top.
    """
    by = [b.strip() for part in ([by] if isinstance(by, str) else by) for b in part.split(",")
          if b.strip()]
    _check_groupings(by)
    country = checked_country(country)
    session.require(Action.AGGREGATE, country=country)
    require_country(session, country)
    selection = selection or Selection()
    kept = stored_rows(figures.stored_land(session, country), country, by) \
        if stored and selection.empty else None
    if kept is not None:
        return rank(kept, sort, top, COLUMNS)
    admin_all = session.read_layer("admin_areas", country)
    hazards, outcomes = _selected_land(session, country, selection, admin_all)
    level = next((_admin_level(b) for b in by if _admin_level(b) is not None), None)
    admin = None
    if level is not None:
        admin = admin_all[admin_all["level"] == level]
        if not len(admin):
            raise QueryError(f"--by admin{level}: no administrative areas of level {level} "
                             f"are loaded for {country}")
    others = [b for b in by if _admin_level(b) is None]
    shape = selection.area_shape(admin_all) if selection.admin else None
    land = LandClusters(hazards, outcomes)
    if not others:
        # the land inside the area, by the areas of the level asked (of any level: a
        # municipality's land by province is one row, its province's)
        rows = rows_by_admin(land.sets(), AdminLevel(level, admin), shape)
    elif admin is None:
        rows = _rows_by_group(land, others[0], shape)
    else:
        rows = _rows_by_area_and_group(land, others[0], AdminLevel(level, admin), shape)
    return rank(rows, sort, top, COLUMNS)


def stored_rows(land: figures.StoredLand | None, country: str,
                by: list[str]) -> list[LedgerRow] | None:
    """The ledger by one administrative level or by year (``by``: ``["admin2"]``,
    ``["year"]``), of all the records, from the figures kept for ``country``
    (:func:`mineledger.land.figures.stored_land`): the rows :func:`ledger` computes, to the
    last digit; None where they cannot give them (none kept, another grouping).

    Raises
    ------
    QueryError
        No administrative areas of that level are loaded for the country.
    """
    level = _admin_level(by[0]) if len(by) == 1 else None
    if land is None or len(by) != 1 or (level is None and by[0] != "year"):
        return None
    if level is None:
        return land.ledger_by_year()
    names = land.names_of(level)
    if not names:
        raise QueryError(f"--by admin{level}: no administrative areas of level {level} "
                         f"are loaded for {country}")
    return land.ledger_by_admin(level, names)


def _group_keys(gdf: gpd.GeoDataFrame, by: str) -> list[tuple[str, ...]]:
    """The groups each record belongs to (a record with several EO categories is in each)."""
    if not len(gdf):
        return []
    if by == "hazard":  # hazards by their own id; outcomes by the hazard they released
        ids = gdf["hazard_uuid"] if "hazard_uuid" in gdf else gdf["uuid"]
        return [(i or UNKNOWN,) for i in ids]
    if by == "organisation":
        return [(o or UNKNOWN,) for o in gdf["organisation"]]
    if by == "category":
        return [tuple(sorted({c.strip() for c in (cats or "").split(",") if c.strip()})) or (UNKNOWN,)
                for cats in gdf["eo_categories"]]
    dates = gdf["date_released"] if "date_released" in gdf else gdf["date_of_information"]
    return [(str(as_date(d).year) if as_date(d) is not None else UNKNOWN,) for d in dates]
