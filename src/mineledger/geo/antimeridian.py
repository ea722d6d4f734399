"""Polygons that cross the antimeridian (±180° of longitude), as RFC 7946 §3.1.9 asks them to
be stored: cut in two along the antimeridian, so that no part's coordinates cross it.

A ring drawn across the antimeridian in longitude/latitude jumps from +179.5 to −179.5: read as
a plane, the polygon would wrap the other way round the earth, 359° wide (Fiji, Kiribati and
Chukotka carry explosive remnants of war). The jump is the sign: an edge whose longitudes
differ by more than 180° takes the short way across ±180°. The polygon is unwrapped (negative
longitudes + 360°), cut at 180° and its eastern part shifted back, which gives a MultiPolygon
that planar overlays and areas treat right.

>>> from shapely import Polygon
>>> square = Polygon([(179.5, -17), (-179.5, -17), (-179.5, -16), (179.5, -16)])
>>> crosses_antimeridian(square)
True
>>> split = split_at_antimeridian(square)
>>> [tuple(round(v, 1) for v in p.bounds) for p in split.geoms]
[(179.5, -17.0, 180.0, -16.0), (-180.0, -17.0, -179.5, -16.0)]
"""

from __future__ import annotations

import numpy as np
import shapely

from mineledger.geo.repair import polygonal_part

_WEST = shapely.box(0.0, -90.0, 180.0, 90.0)
_EAST = shapely.box(180.0, -90.0, 360.0, 90.0)


def crosses_antimeridian(geom) -> bool:
    """Whether a polygonal geometry has an edge whose longitudes differ by more than 180°."""
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return False
    rings = shapely.get_rings(shapely.get_parts(geom))
    for ring in rings:
        x = shapely.get_coordinates(ring)[:, 0]
        if len(x) > 1 and np.abs(np.diff(x)).max() > 180.0:
            return True
    return False


def crosses_antimeridian_many(geoms) -> np.ndarray:
    """:func:`crosses_antimeridian` of each geometry of an array, all rings at once.

    >>> from shapely import Polygon, box
    >>> crosses_antimeridian_many(np.array([box(0, 0, 1, 1), None,
    ...     Polygon([(179.5, -17), (-179.5, -17), (-179.5, -16), (179.5, -16)])])).tolist()
    [False, False, True]
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype=bool)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    if not polygonal.any():
        return out
    which = np.flatnonzero(polygonal)
    parts, part_owner = shapely.get_parts(geoms[which], return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    if len(ring) < 2:
        return out
    same = ring[1:] == ring[:-1]  # consecutive coordinates of one ring
    step = np.abs(np.diff(xy[:, 0]))[same]
    edge_ring = ring[1:][same]
    # a ring crosses if its largest step exceeds 180°; a NaN step makes that max NaN (no)
    wide = np.zeros(len(rings), dtype=bool)
    wide[edge_ring[step > 180.0]] = True
    wide[edge_ring[np.isnan(step)]] = False
    owners = which[part_owner[ring_part[np.flatnonzero(wide)]]]
    out[owners] = True
    return out


def split_at_antimeridian(geom) -> shapely.MultiPolygon:
    """The polygon cut along ±180° into parts that do not cross it (RFC 7946 §3.1.9); the
    part east of the antimeridian gets its longitudes back in [−180, 0]."""
    unwrapped = shapely.transform(geom, lambda xy: np.column_stack(
        [np.where(xy[:, 0] < 0, xy[:, 0] + 360.0, xy[:, 0]), xy[:, 1]]))
    if not unwrapped.is_valid:
        unwrapped = shapely.make_valid(unwrapped, method="structure", keep_collapsed=False)
    west = polygonal_part(shapely.intersection(unwrapped, _WEST))
    east = polygonal_part(shapely.intersection(unwrapped, _EAST))
    if east is not None:
        east = shapely.transform(east, lambda xy: np.column_stack([xy[:, 0] - 360.0, xy[:, 1]]))
    parts = [p for side in (west, east) if side is not None for p in side.geoms]
    return shapely.MultiPolygon(parts)
