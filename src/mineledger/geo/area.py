"""Areas in square metres on the WGS 84 ellipsoid.

Rule (DESIGN.md): never compute an area in degrees or in Web Mercator. Areas here are
geodesic (Karney's algorithm through :class:`pyproj.Geod`) on rings oriented
counter-clockwise first, since rings produced by ``make_valid`` can be clockwise and a signed
geodesic area would then come out negative.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

#: The WGS 84 ellipsoid on which every area and length is measured.
WGS84 = Geod(ellps="WGS84")


def geodesic_area(geometries) -> np.ndarray | float:
    """Geodesic area of polygonal geometries, in m² on the WGS 84 ellipsoid.

    Parameters
    ----------
    geometries : shapely geometry or array_like of geometries
        Longitude/latitude (EPSG:4326) geometries. Points and lines have area 0; ``None``
        and empty geometries give 0.

    Returns
    -------
    float or numpy.ndarray of float
        Area in m², one per geometry; a scalar for a scalar input. Never negative: every
        ring is oriented (exterior counter-clockwise, holes clockwise) before measuring.

    Examples
    --------
    A 0.001° × 0.001° square at the equator is about 111.3 m × 110.6 m:

    >>> from shapely import box
    >>> round(float(geodesic_area(box(0, 0, 0.001, 0.001))))
    12309
    >>> float(geodesic_area(box(0, 0, 0.001, 0.001).reverse())) > 0
    True
    """
    scalar = isinstance(geometries, shapely.Geometry) or geometries is None
    geoms = np.atleast_1d(np.asarray(geometries, dtype=object))
    out = np.zeros(len(geoms), dtype=float)
    polygonal = shapely.get_type_id(geoms)
    for i in np.flatnonzero(np.isin(polygonal, (3, 6, 7))):  # Polygon, MultiPolygon, Collection
        geom = geoms[i]
        if geom.is_empty:
            continue
        oriented = shapely.orient_polygons(geom, exterior_cw=False)
        area, _ = WGS84.geometry_area_perimeter(oriented)
        out[i] = abs(area)
    return float(out[0]) if scalar else out


def union_area(geometries) -> float:
    """Area of the union of polygonal geometries, in m²: overlaps counted once.

    Parameters
    ----------
    geometries : array_like of shapely geometries
        Longitude/latitude polygons; ``None`` and empty entries are ignored.

    Returns
    -------
    float
        Geodesic area in m² of ``shapely.union_all(geometries)``.

    Examples
    --------
    >>> from shapely import box
    >>> a = geodesic_area(box(0, 0, 0.001, 0.001))
    >>> abs(union_area([box(0, 0, 0.001, 0.001)] * 2) - a) < 1e-6
    True
    """
    geoms = np.asarray([g for g in np.atleast_1d(np.asarray(geometries, dtype=object))
                        if g is not None and not g.is_empty], dtype=object)
    if len(geoms) == 0:
        return 0.0
    return float(geodesic_area(shapely.union_all(geoms)))
