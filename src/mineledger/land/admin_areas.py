"""Attribution of area and counts to administrative areas.

Rule (README, "Figures"): a record that carries an administrative code is attributed by that
code; one without, by its location. Areas are distinct (overlaps counted once) and partition the union
exactly: every piece of land goes to one row, land outside every administrative polygon to the
row ``unassigned``, so the rows add up to the distinct total.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mineledger.access import Action, Session
from mineledger.geo import dissolve, land_area, polygonal_part
from mineledger.land.engine import AdminLevel, distinct_land
from mineledger.model.codes import checked_country
from mineledger.model.results import Result

#: The row of land (or records) outside every administrative area.
UNASSIGNED = "unassigned"
#: The name of that row, for areas and for counts.
OUTSIDE_AREAS = "outside every administrative area"
NO_AREA = "no administrative area"


@dataclass(frozen=True, eq=False)
class AreaRow(Result):
    """Land of one administrative area (or ``unassigned``), m²."""

    code: str
    name: str | None
    area_m2: float


@dataclass(frozen=True, eq=False)
class CountRow(Result):
    """Records of one administrative area (or ``unassigned``); ``in_gazetteer``: the code is
    one of the areas in the store."""

    code: str
    name: str | None
    count: int
    in_gazetteer: bool


def finest_level(admin: gpd.GeoDataFrame) -> int | None:
    """The finest administrative level present, or ``None`` if there are no areas."""
    if admin.empty:
        return None
    return int(admin["level"].max())


def _usable(geoms) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    return np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)


def list_areas(session: Session, country: str, level: int | None = None) -> pd.DataFrame:
    """A country's administrative areas (one level or all): ``level``, ``code``, ``name``,
    ``parent_code``, sorted by level and name — the codes ``--admin`` and the figures by area
    use. Anyone who may read figures of the country may list them.

    Raises
    ------
    QueryError
        Not a country code.
    PermissionDenied
        The acting user may not read that country's figures.
    """
    country = checked_country(country)
    session.require(Action.AGGREGATE, country=country)
    areas = session.read_layer("admin_areas", country)
    if level is not None:
        areas = areas[areas["level"] == level]
    frame = pd.DataFrame(areas[["level", "code", "name", "parent_code"]])
    return frame.sort_values(["level", "name", "code"]).reset_index(drop=True)


def area_by_admin(records: gpd.GeoDataFrame, admin: gpd.GeoDataFrame) -> list[AreaRow]:
    """Distinct polygonal area per administrative area, in m².

    Parameters
    ----------
    records : GeoDataFrame
        Polygonal records with an ``admin_code`` column (may be null).
    admin : GeoDataFrame
        The administrative areas of one level, with ``code`` and ``name``.

    Returns
    -------
    list of AreaRow
        Every area with land in it, sorted by code, then the row ``unassigned`` (always
        present). The rows add up to the geodesic area of the union of ``records``.
    """
    ok = _usable(records.geometry.array) if len(records) else np.zeros(0, bool)
    recs = records[ok]
    names = dict(zip(admin["code"], admin["name"]))
    if "admin_code" not in recs or recs["admin_code"].isna().all():  # by location alone
        level = int(admin["level"].iloc[0]) if len(admin) and "level" in admin else 1
        return land_rows(distinct_land(recs.geometry.array, AdminLevel(level, admin)), names)
    claimed = shapely.Polygon()
    rows: dict[str, float] = {}
    coded = recs[recs["admin_code"].notna()] if "admin_code" in recs else recs.iloc[0:0]
    for code, group in coded.groupby("admin_code", sort=True):
        piece = shapely.difference(dissolve(group.geometry.array), claimed)
        rows[code] = float(land_area(piece))
        claimed = shapely.union(claimed, piece)
    located = recs[recs["admin_code"].isna()] if "admin_code" in recs else recs
    remainder = shapely.difference(dissolve(located.geometry.array), claimed)
    for code, area in partition(remainder, admin).items():
        rows[code] = rows.get(code, 0.0) + area
    unassigned = rows.pop(UNASSIGNED)
    out = [AreaRow(c, names.get(c), a) for c, a in sorted(rows.items())]
    out.append(AreaRow(UNASSIGNED, OUTSIDE_AREAS, unassigned))
    return out


def land_rows(by_code: pd.Series, names: dict[str, str | None]) -> list[AreaRow]:
    """Rows of land by area (``code → m²``): the areas with land, sorted by code, then
    ``unassigned`` (always present)."""
    rows = [AreaRow(c, names.get(c), float(a)) for c, a in sorted(by_code.items())
            if c != UNASSIGNED and a > 0]
    return rows + [AreaRow(UNASSIGNED, OUTSIDE_AREAS, float(by_code.get(UNASSIGNED, 0.0)))]


def partition(geometry, admin: gpd.GeoDataFrame) -> dict[str, float]:
    """Split the land of one polygonal geometry among administrative areas, in m².

    Parameters
    ----------
    geometry : shapely geometry
        Polygonal, longitude/latitude; may be empty.
    admin : GeoDataFrame
        Areas of one level with ``code``. Where two areas overlap (simplified boundaries),
        the overlap goes to the one whose code sorts first, so no land is counted twice.

    Returns
    -------
    dict
        ``{code: area_m2}`` for every area with land in it, and always ``"unassigned"``
        for land outside every area. The values add up to the geodesic area of
        ``geometry`` (to floating-point rounding of the cut edges, about 1e-7).
    """
    out: dict[str, float] = {}
    geometry = polygonal_part(geometry)
    parts = np.asarray(shapely.get_parts(geometry)) if geometry is not None else np.zeros(0, object)
    if len(parts) == 0:
        return {UNASSIGNED: 0.0}
    tree = shapely.STRtree(parts)
    admin = admin.sort_values("code")
    admin_geoms = np.asarray(admin.geometry.array)
    admin_tree = shapely.STRtree(admin_geoms)
    codes, pieces = [], []
    for i, (code, area_geom) in enumerate(zip(admin["code"], admin_geoms)):
        if area_geom is None or area_geom.is_empty:
            continue
        idx = tree.query(area_geom, predicate="intersects")
        if len(idx) == 0:
            continue
        # the parts of a union are disjoint: a MultiPolygon of them needs no second union
        piece = shapely.intersection(shapely.multipolygons(parts[idx]), area_geom)
        earlier = np.array([j for j in admin_tree.query(area_geom, predicate="intersects")
                            if j < i], dtype=int)
        if len(earlier):  # areas that share only a boundary (most of them) take no land
            earlier = earlier[~shapely.touches(admin_geoms[earlier], area_geom)]
        if len(earlier):
            piece = shapely.difference(piece, shapely.union_all(admin_geoms[earlier]))
        codes.append(code)
        pieces.append(piece)
    for code, area in zip(codes, land_area(np.array(pieces, dtype=object)) if pieces else []):
        if area > 0:
            out[code] = out.get(code, 0.0) + float(area)
    whole = shapely.multipolygons(parts)
    outside = shapely.difference(whole, shapely.union_all(admin_geoms)) if len(admin_geoms) else whole
    out[UNASSIGNED] = float(land_area(outside))
    return out


def count_by_admin(records: gpd.GeoDataFrame, admin: gpd.GeoDataFrame,
                   name_column: str | None = None,
                   located: dict[str, str] | None = None,
                   weights=None) -> list[CountRow]:
    """Number of point records per administrative area (by code if they carry one, else by
    location; a point in two overlapping areas counts in the one whose code sorts first);
    records in no area, or without a location, count as ``unassigned``.

    ``located``, if given, is the area of each uncoded record already found by the store
    (:meth:`mineledger.store.Store.admin_of_points`, ``{uuid: code}``). ``weights``, if
    given, counts each record as that many (an event as the people it hurt).

    Returns
    -------
    list of CountRow
        Sorted by code, then ``unassigned``.
    """
    names = dict(zip(admin["code"], admin["name"]))
    codes = records["admin_code"].copy() if "admin_code" in records else \
        pd.Series([None] * len(records), index=records.index, dtype=object)
    need = codes.isna()
    if located is not None:
        codes.loc[need] = records.loc[need, "uuid"].map(located).values
    elif need.any() and not admin.empty:
        pts = records[need]
        ok = _usable(pts.geometry.array)
        joined = gpd.sjoin(pts[ok][[pts.geometry.name]], admin[["code", admin.geometry.name]],
                           how="inner", predicate="within")
        joined = joined.rename_axis("row").sort_values(["row", "code"])
        joined = joined[~joined.index.duplicated(keep="first")]
        codes.loc[joined.index] = joined["code"].values
    counts = codes.fillna(UNASSIGNED).value_counts() if weights is None else \
        pd.Series(np.asarray(weights, dtype=float), index=codes.index).groupby(
            codes.fillna(UNASSIGNED)).sum()
    fallback = {}
    if name_column and name_column in records:
        fallback = dict(zip(records["admin_code"], records[name_column]))
    out = [CountRow(c, names.get(c, fallback.get(c)), int(n), c in names)
           for c, n in sorted(counts.items()) if c != UNASSIGNED]
    out.append(CountRow(UNASSIGNED, NO_AREA, int(counts.get(UNASSIGNED, 0)), False))
    return out
