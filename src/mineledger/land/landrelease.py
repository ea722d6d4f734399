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
from mineledger.geo import dissolve, geodesic_area, land_area, overlay, polygonal_part
from mineledger.land.admin_areas import OUTSIDE_AREAS, UNASSIGNED, partition
from mineledger.ledger.asof import require_country
from mineledger.ledger.selection import Selection
from mineledger.model.codes import checked_country
from mineledger.model.results import Result, Row, rank
from mineledger.model.vocab import HazardStatus

#: Outcome kinds, strongest first: an overlap goes to the first.
OUTCOMES = ("cleared", "reduced", "cancelled")
#: Hazard statuses whose land is still suspected.
OPEN_STATUSES = (HazardStatus.OPEN.value, HazardStatus.WORKED_ON.value)
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


def _union(geoms) -> Any:
    """Distinct land of polygonal geometries, one MultiPolygon (empty if none). Multi-part
    inputs are split into their parts first, so that clusters are found among the parts."""
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return _EMPTY
    return dissolve(shapely.get_parts(np.asarray(geoms, dtype=object)))


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


def clip_to_hazards(outcomes: gpd.GeoDataFrame, hazards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Outcomes linked to a known hazard, cut to it (land outside it is not counted); others
    as they are. Adds a boolean column ``outside_hazard`` (the flag of the overreach)."""
    out = outcomes.copy()
    out["outside_hazard"] = False
    if "hazard_uuid" not in out or not len(out):
        return out
    shapes = dict(zip(hazards["uuid"], hazards.geometry.array))
    geoms = np.asarray(out.geometry.array, dtype=object)
    parents = np.asarray([shapes.get(hid) if hid else None for hid in out["hazard_uuid"]],
                         dtype=object)
    pick = np.asarray([p is not None and g is not None and not g.is_empty
                       for p, g in zip(parents, geoms)], dtype=bool)
    if pick.any():  # all linked outcomes at once
        inside = shapely.intersection(geoms[pick], parents[pick])
        beyond = geodesic_area(shapely.difference(geoms[pick], parents[pick]))
        whole = geodesic_area(geoms[pick])
        flags = np.zeros(len(out), dtype=bool)  # by position: the index may repeat labels
        flags[pick] = beyond > 1e-6 * np.maximum(whole, 1.0)
        out["outside_hazard"] = flags
        geoms[pick] = [polygonal_part(g) or _EMPTY for g in inside]
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))


def release_sets(outcomes: gpd.GeoDataFrame) -> dict[str, Any]:
    """The distinct land of each outcome kind, with cleared > reduced > cancelled precedence.

    Returns
    -------
    dict
        ``{"cleared": geom, "reduced": geom, "cancelled": geom, "released": geom}``; the first
        three are disjoint and their union is ``released``.
    """
    sets: dict[str, Any] = {}
    taken = _EMPTY
    for kind in OUTCOMES:
        own = _union(outcomes[outcomes["outcome"] == kind].geometry.array) if len(outcomes) else _EMPTY
        sets[kind] = polygonal_part(shapely.difference(own, taken)) or _EMPTY
        taken = _union([taken, own])
    sets["released"] = taken
    return sets


class OutcomeIndex:
    """Outcome polygons with their release dates and a spatial index, built once and used
    for many hazards."""

    def __init__(self, outcomes: gpd.GeoDataFrame):
        keep = [g is not None and not g.is_empty for g in outcomes.geometry.array] if len(outcomes) else []
        self.geoms = np.asarray([g for g, k in zip(outcomes.geometry.array, keep) if k], dtype=object) \
            if len(outcomes) else np.zeros(0, dtype=object)
        self.dates = [as_date(d) for d, k in zip(outcomes["date_released"], keep) if k] if len(outcomes) else []
        self.tree = shapely.STRtree(self.geoms) if len(self.geoms) else None

    def left_of(self, hazards: np.ndarray, dois: list[dt.date | None]) -> np.ndarray:
        """Each hazard less the outcomes on it released after its date of information (all
        of them if either date is unknown): one spatial query for all hazards, then a small
        union per hazard. The union of the result is the remaining land —
        ``(∪ h) − R = ∪ (h − R)``, and outcomes off a hazard do not change it."""
        left = hazards.copy()
        if self.tree is None or not len(hazards):
            return left
        h_idx, o_idx = self.tree.query(hazards, predicate="intersects")
        on: dict[int, list[int]] = {}
        for h, o in zip(h_idx.tolist(), o_idx.tolist()):
            doi, released = dois[h], self.dates[o]
            if doi is None or released is None or released > doi:
                on.setdefault(h, []).append(o)
        if on:
            which = np.fromiter(on, dtype=int, count=len(on))
            cut = np.asarray([_union(self.geoms[os]) for os in on.values()], dtype=object)
            left[which] = shapely.difference(hazards[which], cut)
        return left


def remaining_land(hazards: gpd.GeoDataFrame, outcomes: gpd.GeoDataFrame | OutcomeIndex) -> Any:
    """Open hazards' land less land released after each hazard's date of information (or
    whenever a date is unknown)."""
    open_h = usable(hazards[hazards["status"].isin(OPEN_STATUSES)])
    if not len(open_h):
        return _EMPTY
    index = outcomes if isinstance(outcomes, OutcomeIndex) else OutcomeIndex(outcomes)
    # the date of the perimeter as surveyed: a progress report that moves the hazard's date of
    # information on does not redraw it, so it must not bring released land back
    perimeter = open_h["perimeter_date"] if "perimeter_date" in open_h else open_h["date_of_information"]
    dois = [as_date(d) for d in perimeter]
    return _union(index.left_of(np.asarray(open_h.geometry.array, dtype=object), dois))


def _measure(sets: dict[str, Any], admin: gpd.GeoDataFrame | None) -> dict[str, dict[str, float]]:
    """``{set name: {code: m²}}``, by administrative area or (admin None) as one total."""
    if admin is None:
        return {k: {TOTAL: float(land_area(g))} for k, g in sets.items()}
    return {k: partition(g, admin) for k, g in sets.items()}


def ledger_row(code: str, name: str | None, area: dict[str, float]) -> LedgerRow:
    """A ledger row from the land of each set (``cancelled``, ``reduced``, ``cleared``,
    ``remaining``, ``both``, ``recorded``), m²."""
    cancelled, reduced, cleared = area.get("cancelled", 0.0), area.get("reduced", 0.0), area.get("cleared", 0.0)
    released = cancelled + reduced + cleared
    remaining = area.get("remaining", 0.0)
    return LedgerRow(area_code=code, area_name=name, recorded_m2=area.get("recorded", 0.0),
                     cancelled_m2=cancelled, reduced_m2=reduced, cleared_m2=cleared,
                     released_m2=released, remaining_m2=remaining,
                     both_m2=area.get("both", 0.0))


def ledger_sets(hazards, outcomes, *, clipped=None, sets=None, index=None) -> dict[str, Any]:
    """The ledger's land; ``clipped`` (outcomes cut to their hazards), their ``sets`` and
    ``index`` are reused when a caller has them already."""
    outcomes = clipped if clipped is not None else clip_to_hazards(outcomes, hazards)
    sets = sets if sets is not None else release_sets(outcomes)
    remaining = remaining_land(hazards, index if index is not None else outcomes)
    return _with_both(sets, remaining)


def _with_both(sets: dict[str, Any], remaining) -> dict[str, Any]:
    """The ledger's sets from the release sets and the remaining land: ``both`` (released and
    remaining at once) and ``recorded`` (either), each overlaid part by part."""
    return {"cleared": sets["cleared"], "reduced": sets["reduced"],
            "cancelled": sets["cancelled"], "remaining": remaining,
            "both": overlay.intersection(remaining, sets["released"]),
            "recorded": overlay.union(remaining, sets["released"])}


def clip_sets(sets: dict[str, Any], shape) -> dict[str, Any]:
    """The ledger's land inside ``shape`` (an administrative area), each set cut part by part."""
    return {k: overlay.intersection(g, shape) for k, g in sets.items()}


def ledger_total(sets: dict[str, Any]) -> LedgerRow:
    """The ``total`` row of the ledger's land (the whole country, measured once)."""
    return ledger_row(TOTAL, None, {k: v[TOTAL] for k, v in _measure(sets, None).items()})


def land_sets(session: Session, country: str) -> dict[str, Any]:
    """The ledger's land of a country as geometries (``cleared``, ``reduced``, ``cancelled``,
    ``remaining``, ``both``, ``recorded``), to be measured by :func:`rows_by_admin` or drawn
    on a map."""
    hazards = usable(session.read_layer("hazards", country))
    outcomes = usable(session.read_layer("cleared_areas", country))
    return ledger_sets(hazards, outcomes)


def rows_by_admin(sets: dict[str, Any], admin: gpd.GeoDataFrame) -> list[LedgerRow]:
    """Ledger rows for the areas of one administrative level, ``unassigned`` and ``total``;
    the rows add up to the total exactly."""
    names = dict(zip(admin["code"], admin["name"]))
    measured = _measure(sets, admin)
    codes = sorted({c for m in measured.values() for c, a in m.items()
                    if c != UNASSIGNED and a > 0})
    rows = [ledger_row(c, names.get(c), {k: m.get(c, 0.0) for k, m in measured.items()})
            for c in codes]
    rows.append(ledger_row(UNASSIGNED, OUTSIDE_AREAS,
                     {k: m.get(UNASSIGNED, 0.0) for k, m in measured.items()}))
    rows.append(ledger_row(TOTAL, None, {k: math.fsum(m.values()) for k, m in measured.items()}))
    return rows


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
           top: int | None = None) -> list[LedgerRow]:
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
    if not others:
        sets = ledger_sets(hazards, outcomes)
        # the land inside the area, by the areas of the level asked (of any level: a
        # municipality's land by province is one row, its province's)
        rows = rows_by_admin(clip_sets(sets, shape) if shape is not None else sets, admin)
    elif admin is None:
        rows = _ledger_by_group(hazards, outcomes, others[0], shape)
    else:
        rows = _ledger_by_area_and_group(hazards, outcomes, others[0], admin, shape)
    return rank(rows, sort, top, COLUMNS)


def _group_sets(hazards, outcomes, by: str, shape=None):
    """``(key, name, sets)`` of each group of a non-administrative grouping, then
    ``(total, None, sets)`` of all the land (inside ``shape`` if given)."""
    hz_key, oc_key = _group_keys(hazards, by), _group_keys(outcomes, by)
    names = dict(zip(hazards["uuid"], hazards["local_id"])) if by == "hazard" else {}
    clipped = clip_to_hazards(outcomes, hazards)  # against every hazard, not the group's only
    all_sets = release_sets(clipped)
    index = OutcomeIndex(clipped)
    hz_rows: dict[str, list[int]] = {}
    oc_rows: dict[str, list[int]] = {}
    for rows_of, keys_of in ((hz_rows, hz_key), (oc_rows, oc_key)):
        for i, ks in enumerate(keys_of):
            for k in ks:
                rows_of.setdefault(k, []).append(i)
    for key in sorted(set(hz_rows) | set(oc_rows), key=lambda k: (k == UNKNOWN, k)):
        sets = release_sets(clipped.iloc[oc_rows.get(key, [])])
        # remaining is a stock: the group's hazards (by year: those of that year's
        # information) less every later release on them, whoever reported it
        remaining = remaining_land(hazards.iloc[hz_rows.get(key, [])], index)
        sets = _with_both(sets, remaining)
        yield key, names.get(key), clip_sets(sets, shape) if shape is not None else sets
    whole = ledger_sets(hazards, outcomes, clipped=clipped, sets=all_sets, index=index)
    yield TOTAL, None, clip_sets(whole, shape) if shape is not None else whole


def _ledger_by_group(hazards, outcomes, by: str, shape=None) -> list[LedgerRow]:
    """:func:`ledger` by hazard, organisation, category or year (a piece of land can belong
    to several groups; the total counts it once). Each group's row is its own land: its
    outcomes' release, its hazards' remaining land, and what is in both of those."""
    return [dataclasses.replace(
                ledger_row(key, name, {k: v[TOTAL] for k, v in _measure(sets, None).items()}),
                by=by)
            for key, name, sets in _group_sets(hazards, outcomes, by, shape)]


def _ledger_by_area_and_group(hazards, outcomes, by: str, admin, shape=None) -> list[LedgerRow]:
    """One row per administrative area and group (the group's land cut by the areas), and a
    total row of all the land."""
    rows = []
    for key, _, sets in _group_sets(hazards, outcomes, by, shape):
        if key == TOTAL:
            rows.append(ledger_total(sets))
            continue
        for r in rows_by_admin(sets, admin)[:-1]:
            if any(getattr(r, c) > 0 for c in COLUMNS):
                rows.append(dataclasses.replace(r, group_by=by, group=key))
    return rows


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
