"""Overlays of land, part by part: the intersection, difference and union of two polygonal
geometries computed by pairing their parts through a spatial index (STRtree), so that no
overlay ever runs on a whole country at once — each part meets only the parts it touches.

Both inputs are taken as *land*: polygons or multipolygons whose parts do not overlap (a
dissolved layer, :func:`mineledger.geo.dissolve`). The results are valid MultiPolygons.

>>> from shapely import box
>>> a, b = box(0, 0, 2, 2), box(1, 0, 3, 2)
>>> intersection(a, b).area, difference(a, b).area, union(a, b).area
(2.0, 2.0, 6.0)
"""

from __future__ import annotations

import numpy as np
import shapely

from mineledger.geo.dissolve import dissolve
from mineledger.geo.repair import polygonal_part

_EMPTY = shapely.MultiPolygon()


def parts(geom) -> np.ndarray:
    """The polygons of a polygonal geometry (none for ``None`` or empty)."""
    if geom is None or geom.is_empty:
        return np.zeros(0, dtype=object)
    found = shapely.get_parts(np.asarray([geom], dtype=object))
    return found[(shapely.get_type_id(found) == 3) & ~shapely.is_empty(found)]


def _polygons(pieces: np.ndarray) -> np.ndarray:
    flat = shapely.get_parts(shapely.get_parts(pieces))
    return flat[(shapely.get_type_id(flat) == 3) & ~shapely.is_empty(flat)]


def intersection(a, b) -> shapely.MultiPolygon:
    """The land in both ``a`` and ``b``."""
    pa, pb = parts(a), parts(b)
    if not len(pa) or not len(pb):
        return _EMPTY
    ia, ib = shapely.STRtree(pb).query(pa, predicate="intersects")
    if not len(ia):
        return _EMPTY
    pieces = _polygons(shapely.intersection(pa[ia], pb[ib]))
    # pieces of distinct pairs never overlap, but may share an edge: merge those
    return dissolve(pieces) if len(pieces) else _EMPTY


def difference(a, b) -> shapely.MultiPolygon:
    """The land of ``a`` that is not in ``b``."""
    pa, pb = parts(a), parts(b)
    if not len(pa):
        return _EMPTY
    if not len(pb):
        return polygonal_part(shapely.multipolygons(pa)) or _EMPTY
    ia, ib = shapely.STRtree(pb).query(pa, predicate="intersects")
    out = list(pa)
    if len(ia):
        order = np.argsort(ia, kind="stable")
        ia, ib = ia[order], ib[order]
        starts = np.flatnonzero(np.r_[True, np.diff(ia) > 0])
        for s, e in zip(starts, np.r_[starts[1:], len(ia)]):
            cut = pb[ib[s:e]]
            out[ia[s]] = shapely.difference(pa[ia[s]], cut[0] if len(cut) == 1
                                            else shapely.union_all(cut))
    pieces = _polygons(np.asarray(out, dtype=object))
    return shapely.multipolygons(pieces) if len(pieces) else _EMPTY


def union(a, b) -> shapely.MultiPolygon:
    """The land in ``a`` or ``b`` (or both), once."""
    return dissolve(np.concatenate([parts(a), parts(b)]))
