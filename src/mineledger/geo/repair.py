"""Geometry repair that keeps what a polygon meant.

An invalid polygon (self-intersecting "bow-tie", ring with a spike …) is repaired with
``shapely.make_valid(method="structure")``, which rebuilds the area the rings enclose, and the
polygonal part of the result is kept: stray lines or points that repair may produce are not
area and are dropped.
"""

from __future__ import annotations

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry


def polygonal_part(geom: BaseGeometry | None) -> MultiPolygon | None:
    """The polygonal part of a geometry as a MultiPolygon, or ``None`` if it has none.

    Examples
    --------
    >>> from shapely import GeometryCollection, LineString, box
    >>> polygonal_part(GeometryCollection([box(0, 0, 1, 1), LineString([(2, 2), (3, 3)])])).wkt
    'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))'
    >>> polygonal_part(LineString([(0, 0), (1, 1)])) is None
    True
    """
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    parts = [
        p
        for part in getattr(geom, "geoms", [])
        for p in ([part] if isinstance(part, Polygon) else getattr(part, "geoms", []))
        if isinstance(p, Polygon) and not p.is_empty
    ]
    return MultiPolygon(parts) if parts else None


def to_multipolygon(geom: BaseGeometry | None) -> MultiPolygon | None:
    """Promote a Polygon to a one-part MultiPolygon; MultiPolygons pass; others give ``None``."""
    return polygonal_part(geom)


def repair_polygonal(geom: BaseGeometry, valid: bool | None = None
                     ) -> tuple[MultiPolygon | None, str | None]:
    """Repair an invalid polygonal geometry, keeping its polygonal part.

    Parameters
    ----------
    geom : shapely geometry
        A Polygon or MultiPolygon in longitude/latitude.
    valid : bool, optional
        ``shapely.is_valid(geom)`` when the caller has it already (computed for many
        geometries in one call).

    Returns
    -------
    (MultiPolygon or None, str or None)
        The valid MultiPolygon (``None`` if nothing polygonal survives) and the reason the
        input was invalid (``shapely.is_valid_reason``), or ``(geom, None)`` promoted to a
        MultiPolygon when it was valid already.

    Examples
    --------
    A bow-tie keeps both lobes:

    >>> from shapely import Polygon
    >>> fixed, why = repair_polygonal(Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)]))
    >>> len(fixed.geoms), fixed.area, why.split("[")[0]
    (2, 2.0, 'Self-intersection')
    """
    if valid if valid is not None else shapely.is_valid(geom):
        return polygonal_part(geom), None
    reason = shapely.is_valid_reason(geom)
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    return polygonal_part(fixed), reason
