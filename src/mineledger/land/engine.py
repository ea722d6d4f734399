"""The ledger's land, cluster by cluster: every set of the land release ledger (IMAS 07.11)
and the distinct land of the records, computed and measured without ever overlaying a whole
country.

Hazards and outcomes are grouped into *clusters*: records whose geometries intersect
(touching counts), directly or through others — one spatial index query for all of them.
Land in different clusters is disjoint, so each cluster's sets are computed from its own
records alone (most clusters hold one to a few polygons) and the country's figures are the
sums of the clusters'. Every step is vectorised over all clusters at once except the union
of a cluster that holds several polygons of one set, which is one ``union_all`` of those
polygons.

The sets of one cluster and group (definitions: :mod:`mineledger.land.landrelease`):

- ``cleared``, ``reduced``, ``cancelled``: the outcomes of each kind, cleared > reduced >
  cancelled where they overlap; ``released`` their union;
- ``remaining``: the union of each open hazard less the outcomes on it released after its
  perimeter's date of information (all of them where either date is unknown);
- ``both`` = remaining ∩ released, ``recorded`` = remaining ∪ released.

They are measured (:func:`mineledger.geo.land_area`, m²) whole, and split among the
administrative areas of a level: a set inside one area counts there whole, one across
boundaries is cut by the areas it meets, land outside every area goes to ``unassigned``.
Where two areas of a level overlap, the overlap goes to the one whose code sorts first.

The result is a table of *cells*: ``(cluster, level, code, group, set, m2)``, level 0 being
the whole country (code ``total``). Sums of cells give every figure of the ledger.
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from dataclasses import dataclass
from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mineledger.geo import geodesic_area, land_area, polygonal_part
from mineledger.geo.arrays import geometry_array
from mineledger.geo.dissolve import clusters, components, union_cluster
from mineledger.model.vocab import HazardStatus

#: Hazard statuses whose land is still suspected.
OPEN_STATUSES = (HazardStatus.OPEN.value, HazardStatus.WORKED_ON.value)
#: Outcome kinds, strongest first: an overlap goes to the first.
KINDS = ("cleared", "reduced", "cancelled")
#: The sets of the ledger, measured for each cluster and group.
LEDGER_SETS = ("cancelled", "reduced", "cleared", "remaining", "both", "recorded")
#: The distinct land of all hazard records and of all outcome records (as recorded, not cut
#: to their hazards): the summary's ``hazards`` and ``cleared`` land.
RECORD_SETS = ("hazard_records", "outcome_records")
TOTAL = "total"
UNASSIGNED = "unassigned"
#: The group of all the land (no grouping).
ALL = ""

_EMPTY = shapely.MultiPolygon()


def _valid(geoms: np.ndarray) -> np.ndarray:
    """Polygonal geometries made valid where they are not (``make_valid(structure)``: the
    land the rings enclose), non-polygonal parts dropped; ``None`` for nothing left."""
    geoms = geometry_array(geoms)
    bad = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms))
    if len(bad):
        fixed = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        geoms = geoms.copy()
        geoms[bad] = [polygonal_part(g) for g in fixed]
    kind = shapely.get_type_id(geoms)
    odd = np.flatnonzero((kind == 7) | ((kind >= 0) & (kind != 3) & (kind != 6)))
    for i in odd:  # collections and non-polygonal geometries: their polygons only
        geoms[i] = polygonal_part(geoms[i])
    empty = shapely.is_empty(geoms)
    geoms[empty] = None
    return geoms


def union_by(keys: np.ndarray, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of the geometries of each key.

    Parameters
    ----------
    keys : numpy.ndarray of int
    geoms : numpy.ndarray of valid polygonal geometries, ``None`` skipped

    Returns
    -------
    (numpy.ndarray of int, numpy.ndarray of geometries)
        The distinct keys, sorted, and the union of each (a key's only geometry as it is).
    """
    keep = ~shapely.is_missing(geoms)
    keys, geoms = np.asarray(keys)[keep], geoms[keep]
    if not len(keys):
        return np.zeros(0, dtype=np.int64), geometry_array([])
    order = np.argsort(keys, kind="stable")
    keys, geoms = keys[order], geoms[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    out = geoms[starts].copy()
    for n in np.flatnonzero(ends - starts > 1):
        out[n] = union_cluster(geoms[starts[n]:ends[n]])
    return keys[starts], out


def _frozen(sets: list[tuple[str, np.ndarray, np.ndarray]]) -> list[tuple[str, np.ndarray,
                                                                          np.ndarray]]:
    """Sets made read-only: kept by :class:`LandClusters` and shared, their measures are
    computed once (:func:`_measured`)."""
    for _, keys, geoms in sets:
        keys.flags.writeable = False
        geoms.flags.writeable = False
    return sets


#: The measures of read-only geometry arrays: ``id(array) → (weak reference, m²)``.
_MEASURED: dict[int, tuple[weakref.ref, np.ndarray]] = {}


def _measured(geoms: np.ndarray) -> np.ndarray:
    """:func:`land_area` of each geometry (0 for ``None``), in m²; kept for a read-only array
    (a set that :class:`LandClusters` shares), which cannot change, until it is gone."""
    held = _MEASURED.get(id(geoms))
    if held is not None and held[0]() is geoms:
        return held[1]
    areas = np.zeros(len(geoms))
    here = ~shapely.is_missing(geoms)
    if here.any():
        areas[here] = land_area(geoms[here])
    if not geoms.flags.writeable:
        key = id(geoms)
        _MEASURED[key] = (weakref.ref(geoms, lambda _, key=key: _MEASURED.pop(key, None)),
                          areas)
    return areas


def _aligned(keys: np.ndarray, own_keys: np.ndarray, own: np.ndarray) -> np.ndarray:
    """``own`` (geometries of ``own_keys``) placed at ``keys``; ``None`` where absent."""
    out = np.full(len(keys), None, dtype=object)
    out[np.searchsorted(keys, own_keys)] = own
    return out


def _op(fn, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``fn(a, b)`` where both are present; ``a`` where ``b`` is absent (``None``)."""
    out = a.copy()
    both = ~shapely.is_missing(a) & ~shapely.is_missing(b)
    if both.any():
        out[both] = fn(a[both], b[both])
    return out


def _or(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise union; either where the other is absent."""
    out = _op(shapely.union, a, b)
    only_b = shapely.is_missing(a) & ~shapely.is_missing(b)
    out[only_b] = b[only_b]
    return out


def _and(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise intersection; absent where either is."""
    out = _op(shapely.intersection, a, b)
    out[shapely.is_missing(b)] = None
    return out


def _date_days(values) -> np.ndarray:
    """Dates as days since the epoch (float, NaN for unknown)."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, dt.datetime):
            v = v.date()
        if isinstance(v, dt.date):
            out[i] = v.toordinal()
    return out


@dataclass
class Groups:
    """Records exploded by the groups each belongs to: ``rows`` (record positions),
    ``index`` (position of the group in ``names``)."""

    rows: np.ndarray
    index: np.ndarray
    names: list[str]

    @classmethod
    def of(cls, keys: Sequence[tuple[str, ...]], names: list[str]) -> "Groups":
        where = {n: i for i, n in enumerate(names)}
        rows = [r for r, ks in enumerate(keys) for _ in ks]
        index = [where[k] for ks in keys for k in ks]
        return cls(np.asarray(rows, dtype=np.int64), np.asarray(index, dtype=np.int64), names)

    @classmethod
    def whole(cls, n: int) -> "Groups":
        return cls(np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64), [ALL])


def clip_to_hazards(outcomes: gpd.GeoDataFrame, hazards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Outcomes linked to a known hazard (``hazard_uuid``), cut to it (land outside it is not
    counted); others as they are. Adds a boolean column ``outside_hazard`` (the flag of the
    overreach: more than 1e-6 of the outcome outside its hazard). An outcome inside its
    hazard (most) is kept as it is, with no overlay."""
    out = outcomes.copy()
    out["outside_hazard"] = False
    if "hazard_uuid" not in out or not len(out):
        return out
    shapes = dict(zip(hazards["uuid"], hazards.geometry.array))
    geoms = np.asarray(out.geometry.array, dtype=object)
    parents = np.asarray([shapes.get(hid) if hid else None for hid in out["hazard_uuid"]],
                         dtype=object)
    pick = ~shapely.is_missing(parents) & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if pick.any():
        shapely.prepare(parents[pick])
        within = np.zeros(len(out), dtype=bool)
        within[pick] = shapely.covered_by(geoms[pick], parents[pick])
        pick &= ~within  # only those reaching outside need cutting
    if pick.any():
        inside = shapely.intersection(geoms[pick], parents[pick])
        beyond = geodesic_area(shapely.difference(geoms[pick], parents[pick]))
        whole = geodesic_area(geoms[pick])
        flags = np.zeros(len(out), dtype=bool)  # by position: the index may repeat labels
        flags[pick] = beyond > 1e-6 * np.maximum(whole, 1.0)
        out["outside_hazard"] = flags
        geoms[pick] = [polygonal_part(g) or _EMPTY for g in inside]
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))


class LandClusters:
    """Hazards and outcomes prepared once: valid geometries, outcomes cut to their hazards,
    clusters, and each open hazard less the outcomes released on it after its date.

    Parameters
    ----------
    hazards : GeoDataFrame
        Hazard records with a geometry (``status``, ``perimeter_date`` or
        ``date_of_information``).
    outcomes : GeoDataFrame
        Land release outcome records with a geometry (``outcome``, ``date_released``), as
        recorded; those linked to a hazard (``hazard_uuid``) are cut to it here.
    open_statuses : sequence of str
        Hazard statuses whose land is still suspected (open, worked on).
    """

    def __init__(self, hazards: gpd.GeoDataFrame, outcomes: gpd.GeoDataFrame,
                 open_statuses: Sequence[str] = OPEN_STATUSES):
        self.hazards, self.outcomes = hazards, outcomes
        nh = len(hazards)
        self.hazard_geoms = _valid(np.asarray(hazards.geometry.array, dtype=object))
        self.outcome_raw = _valid(np.asarray(outcomes.geometry.array, dtype=object))
        self.outcome_geoms = _valid(np.asarray(clip_to_hazards(outcomes, hazards).geometry.array,
                                               dtype=object)) if len(outcomes) else \
            geometry_array([])
        self.kind = np.asarray(outcomes["outcome"], dtype=object) if len(outcomes) else \
            np.zeros(0, dtype=object)
        everything = np.concatenate([self.hazard_geoms, self.outcome_raw])
        present = ~shapely.is_missing(everything)
        a, b = (shapely.STRtree(everything[present]).query(everything[present],
                                                           predicate="intersects")
                if present.any() else (np.zeros(0, int), np.zeros(0, int)))
        where = np.flatnonzero(present)
        a, b = where[a], where[b]
        # pairs in the order of the records, not of the index's tree: the unions below then
        # take their pieces in the same order whatever else the tree holds, so a cluster's
        # land is the same to the last bit computed alone or with the whole country
        order = np.lexsort((b, a))
        a, b = a[order], b[order]
        self.label = components(len(everything), a, b)
        self.hazard_label, self.outcome_label = self.label[:nh], self.label[nh:]
        self.is_open = np.asarray(hazards["status"].isin(list(open_statuses)), dtype=bool) \
            if nh else np.zeros(0, dtype=bool)
        self.left = self._left(a, b, nh)
        self._memo: dict = {}

    def _left(self, a: np.ndarray, b: np.ndarray, nh: int) -> np.ndarray:
        """Each open hazard less the outcomes on it released after its perimeter's date of
        information (all where either date is unknown); ``None`` for closed hazards."""
        hz = self.hazards
        perimeter = hz["perimeter_date"] if "perimeter_date" in hz else hz["date_of_information"]
        doi = _date_days(list(perimeter)) if nh else np.zeros(0)
        released = _date_days(list(self.outcomes["date_released"])) if len(self.outcomes) \
            else np.zeros(0)
        left = np.where(self.is_open, self.hazard_geoms, None)
        pick = (a < nh) & (b >= nh)
        h, o = a[pick], b[pick] - nh
        pick = self.is_open[h] & ~shapely.is_missing(self.outcome_geoms[o])
        h, o = h[pick], o[pick]
        later = np.isnan(doi[h]) | np.isnan(released[o]) | (released[o] > doi[h])
        # outcomes released before a hazard's perimeter was surveyed stay in it: where such
        # a pair is, land may be released and remaining at once ("both")
        self.earlier = (h[~later], o[~later])
        h, o = h[later], o[later]
        if len(h):
            which, cuts = union_by(h, self.outcome_geoms[o])
            left[which] = shapely.difference(left[which], cuts)
            left[which] = _valid(left[which])
        return left

    def sets(self, hazard_groups: Groups | None = None, outcome_groups: Groups | None = None,
             *, recorded: bool = False) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """The ledger's sets of every cluster and group: ``[(set, keys, geometries)]`` where
        a key is ``cluster * width + group`` (sorted; ``width`` the number of groups) and a
        geometry its land: ``cancelled``, ``reduced``, ``cleared``, ``remaining``, ``both``
        — and ``released`` and ``recorded`` when ``recorded`` is asked (for a map; measures
        need them not: released is the sum of its kinds, recorded = remaining + released −
        both).

        Without groups, all the land is one group (:data:`ALL`). A group's remaining land is
        its own hazards less every later release on them, whoever reported it. ``both`` is
        overlaid only where an open hazard of the group holds an outcome of the group released
        before its date of information — elsewhere remaining land excludes released land by
        construction, and an overlay would find only slivers of rounding.

        The sets of all the land (no groups) are computed once and kept: the summary, the
        report's tables and its map share them.
        """
        if hazard_groups is None and outcome_groups is None:  # all the land: computed once
            if ("all", True) in self._memo:
                whole = self._memo[("all", True)]
                return whole if recorded else whole[:5]
            if ("all", recorded) not in self._memo:
                self._memo[("all", recorded)] = _frozen(self._sets(None, None, recorded))
            return self._memo[("all", recorded)]
        return self._sets(hazard_groups, outcome_groups, recorded)

    def _sets(self, hazard_groups, outcome_groups, recorded):
        hg = hazard_groups or Groups.whole(len(self.hazards))
        og = outcome_groups or Groups.whole(len(self.outcomes))
        width = max(len(hg.names), len(og.names), 1)
        h_keys = self.hazard_label[hg.rows] * width + hg.index
        o_keys = self.outcome_label[og.rows] * width + og.index
        kinds = {}
        for kind in KINDS:
            pick = self.kind[og.rows] == kind
            kinds[kind] = union_by(o_keys[pick], self.outcome_geoms[og.rows[pick]])
        remaining = union_by(h_keys, self.left[hg.rows])
        keys = np.unique(np.concatenate([remaining[0]] + [k for k, _ in kinds.values()]))
        cl, rd, ca = (_aligned(keys, *kinds[k]) for k in KINDS)
        rem = _aligned(keys, *remaining)
        reduced = _valid(_op(shapely.difference, rd, cl))
        cl_rd = _or(cl, rd)
        cancelled = _valid(_op(shapely.difference, ca, cl_rd))
        both = np.full(len(keys), None, dtype=object)
        overlap = np.isin(keys, self._earlier_keys(hg, og, width))
        released = _or(cl_rd, ca) if recorded else None
        if overlap.any():
            around = released[overlap] if recorded else _or(cl_rd[overlap], ca[overlap])
            both[overlap] = _valid(_and(rem[overlap], around))
        out = [("cancelled", keys, cancelled), ("reduced", keys, reduced),
               ("cleared", keys, cl), ("remaining", keys, rem), ("both", keys, both)]
        if recorded:
            out += [("released", keys, released), ("recorded", keys, _or(rem, released))]
        return out

    def _earlier_keys(self, hg: Groups, og: Groups, width: int) -> np.ndarray:
        """The keys (cluster and group) holding an open hazard and an outcome of the same
        group released before the hazard's date of information."""
        h, o = self.earlier
        if not len(h):
            return np.zeros(0, dtype=np.int64)
        pairs = pd.DataFrame({"h": h, "o": o})
        hgs = pd.DataFrame({"h": hg.rows, "g": hg.index})
        ogs = pd.DataFrame({"o": og.rows, "g": og.index})
        both = pairs.merge(hgs, on="h").merge(ogs, on=["o", "g"])
        return np.unique(self.hazard_label[both["h"].to_numpy()] * width + both["g"].to_numpy())

    def record_sets(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """The distinct land of all hazard records and of all outcome records (as recorded)
        of each cluster: ``[(set, cluster keys, geometries)]`` (computed once)."""
        if "records" not in self._memo:
            self._memo["records"] = _frozen([
                ("hazard_records", *union_by(self.hazard_label, self.hazard_geoms)),
                ("outcome_records", *union_by(self.outcome_label, self.outcome_raw))])
        return self._memo["records"]


class AdminLevel:
    """The areas of one administrative level, prepared for splitting land among them.

    Parameters
    ----------
    level : int
    admin : GeoDataFrame
        The areas of that level, with ``code`` and ``name``.
    """

    def __init__(self, level: int, admin: gpd.GeoDataFrame):
        self.level = level
        admin = admin[[g is not None and not g.is_empty for g in admin.geometry.array]] \
            if len(admin) else admin
        admin = admin.sort_values("code", kind="stable")
        self.codes = np.asarray(admin["code"], dtype=object)
        self.names = dict(zip(admin["code"], admin["name"]))
        geoms = _valid(np.asarray(admin.geometry.array, dtype=object))
        keep = ~shapely.is_missing(geoms)
        self.codes, geoms = self.codes[keep], geoms[keep]
        self.geoms = geoms
        self.tree = shapely.STRtree(geoms)
        self.own = self._own(geoms)
        shapely.prepare(self.own)
        self.outline = union_cluster(geoms) if len(geoms) else _EMPTY
        shapely.prepare(self.outline)

    def _own(self, geoms: np.ndarray) -> np.ndarray:
        """Each area less the areas before it (by code) that overlap it: overlaps go to the
        first code; areas that only share a boundary keep their land."""
        own = geoms.copy()
        a, b = self.tree.query(geoms, predicate="intersects")
        pick = b < a
        a, b = a[pick], b[pick]
        if len(a):
            pick = ~shapely.touches(geoms[a], geoms[b])
            a, b = a[pick], b[pick]
        if len(a):
            which, earlier = union_by(a, geoms[b])
            own[which] = _valid(shapely.difference(geoms[which], earlier))
        return own

    def split(self, geoms: np.ndarray, whole: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
        """Split land among the areas.

        Parameters
        ----------
        geoms : numpy.ndarray of geometries (none missing)
        whole : numpy.ndarray of float
            The land area of each geometry (m²), already measured.

        Returns
        -------
        (numpy.ndarray of int, numpy.ndarray of object, numpy.ndarray of float)
            ``(geometry position, area code or "unassigned", m²)`` of every piece.
        """
        n = len(geoms)
        if not len(self.geoms):
            return np.arange(n), np.full(n, UNASSIGNED, dtype=object), whole
        g, a = self.tree.query(geoms, predicate="intersects")
        count = np.bincount(g, minlength=n)
        # inside one area: the geometry counts there whole, with no overlay
        one = count[g] == 1
        inside = np.zeros(len(g), dtype=bool)
        if one.any():
            inside[one] = shapely.contains_properly(self.own[a[one]], geoms[g[one]])
        done = np.zeros(n, dtype=bool)
        done[g[inside]] = True
        cut = ~done[g]
        pieces = shapely.intersection(geoms[g[cut]], self.own[a[cut]]) if cut.any() else \
            geometry_array([])
        cut_area = land_area(pieces) if len(pieces) else np.zeros(0)
        # land outside every area: what the outline does not cover
        rest = np.flatnonzero(~done)
        rest_area = np.zeros(0)
        if len(rest):
            covered = shapely.covered_by(geoms[rest], self.outline)
            rest_area = np.where(covered, 0.0, whole[rest])
            odd = np.flatnonzero(~covered & (count[rest] > 0))
            if len(odd):
                rest_area[odd] = land_area(shapely.difference(geoms[rest[odd]], self.outline))
        pos = np.concatenate([g[inside], g[cut], rest])
        codes = np.concatenate([self.codes[a[inside]], self.codes[a[cut]],
                                np.full(len(rest), UNASSIGNED, dtype=object)])
        m2 = np.concatenate([whole[g[inside]], cut_area, rest_area])
        return pos, codes, m2


def distinct_land(geoms, level: AdminLevel) -> pd.Series:
    """The distinct land of polygonal geometries (overlaps counted once) by the areas of one
    level, cluster by cluster: ``code → m²``, ``unassigned`` for land outside every area
    (codes with no land absent).

    Parameters
    ----------
    geoms : sequence of polygonal geometries (``None`` and empties skipped)
    level : AdminLevel
    """
    geoms = _valid(np.asarray(geoms, dtype=object))
    geoms = geoms[~shapely.is_missing(geoms)]
    keys, land = union_by(clusters(geoms), geoms)
    cells = measure([("land", keys, land)], 1, [level])
    return m2_of(cells[cells["level"] == level.level].groupby("code")["mm2"].sum())


def measure(sets: list[tuple[str, np.ndarray, np.ndarray]], width: int,
            levels: Sequence[AdminLevel] = ()) -> pd.DataFrame:
    """Measure sets of land whole (level 0, code ``total``) and split by the areas of each
    level.

    Parameters
    ----------
    sets : list of (set name, keys, geometries)
        As :meth:`LandClusters.sets` gives them; a key is ``cluster * width + group``.
    width : int
        The number of groups.
    levels : sequence of AdminLevel

    Returns
    -------
    pandas.DataFrame
        Columns ``cluster``, ``group`` (position), ``set``, ``level``, ``code``, ``m2`` and
        ``mm2`` (the same in whole mm², which figures sum: :func:`whole_mm2`); one row per
        piece with land (rows of zero area dropped).
    """
    names = np.concatenate([np.full(len(k), s, dtype=object) for s, k, _ in sets]) \
        if sets else np.zeros(0, dtype=object)
    keys = np.concatenate([k for _, k, _ in sets]) if sets else np.zeros(0, dtype=np.int64)
    geoms = np.concatenate([g for _, _, g in sets]) if sets else geometry_array([])
    whole = np.concatenate([_measured(g) for _, _, g in sets]) if sets else np.zeros(0)
    keep = ~shapely.is_missing(geoms)
    names, keys, geoms, whole = names[keep], keys[keep], geoms[keep], whole[keep]
    frames = [pd.DataFrame({"cluster": keys // width, "group": keys % width, "set": names,
                            "level": 0, "code": TOTAL, "m2": whole})]
    for level in levels:
        pos, codes, m2 = level.split(geoms, whole)
        frames.append(pd.DataFrame({"cluster": keys[pos] // width, "group": keys[pos] % width,
                                    "set": names[pos], "level": level.level, "code": codes,
                                    "m2": m2}))
    cells = pd.concat(frames, ignore_index=True)
    cells = cells[cells["m2"] > 0].reset_index(drop=True)
    cells["mm2"] = whole_mm2(cells["m2"].to_numpy())
    return cells


#: Cells are summed as whole square millimetres (integers): a sum of integers is exact in
#: any order, so a figure is the same bit for bit whether it is summed here, in SQL from the
#: stored cells (:mod:`mineledger.land.figures`), or on either back end.
MM2_PER_M2 = 1_000_000


def whole_mm2(m2: np.ndarray) -> np.ndarray:
    """Areas in m² as whole mm² (int64, rounded); 9.2 × 10¹² m² at most.

    Raises
    ------
    ValueError
        An area too large for 64 bits (none is on Earth).
    """
    mm2 = np.rint(np.asarray(m2, dtype=float) * MM2_PER_M2)
    if len(mm2) and mm2.max() >= 2.0 ** 62:
        raise ValueError("an area larger than 4.6e12 m2 cannot be counted in whole mm2")
    return mm2.astype(np.int64)


def m2_of(mm2) -> pd.Series | float:
    """Whole mm² (sums of :func:`whole_mm2`) back as m²."""
    return mm2 / MM2_PER_M2


def clip(sets: list[tuple[str, np.ndarray, np.ndarray]], shape) -> list[tuple[str, np.ndarray,
                                                                            np.ndarray]]:
    """The sets cut to ``shape`` (an administrative area: ``--admin``): a geometry inside it
    whole is kept as it is, one across its edge cut."""
    shapely.prepare(shape)
    out = []
    for name, keys, geoms in sets:
        geoms = geoms.copy()
        here = ~shapely.is_missing(geoms)
        inside = np.zeros(len(geoms), dtype=bool)
        inside[here] = shapely.contains_properly(shape, geoms[here])
        cut = here & ~inside
        if cut.any():
            geoms[cut] = _valid(shapely.intersection(geoms[cut], shape))
        out.append((name, keys, geoms))
    return out


def table(cells: pd.DataFrame, by: Sequence[str] = ("level", "code", "group")) -> pd.DataFrame:
    """Cells summed into one row per ``by`` with a column per set (m²), and the ledger's
    identities: ``released = cancelled + reduced + cleared``, ``recorded = remaining +
    released − both`` (inclusion–exclusion: remaining and released are measured each on its
    own land, and both is their intersection)."""
    wide = m2_of(cells.groupby([*by, "set"])["mm2"].sum().unstack("set", fill_value=0)
                 .astype(float))
    for name in LEDGER_SETS[:-1] + ("hazard_records", "outcome_records"):
        if name not in wide:
            wide[name] = 0.0
    wide["released"] = wide["cancelled"] + wide["reduced"] + wide["cleared"]
    wide["recorded"] = wide["remaining"] + wide["released"] - wide["both"]
    return wide
