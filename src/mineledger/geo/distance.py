"""Distances between geometries in metres on the WGS 84 ellipsoid, edge to edge, and the pairs
within a reach found through a spatial index (never all pairs).

IATG 02.20 measures a separation "in a straight line from the nearest edge of the explosive
site to the nearest edge of the exposed site": :func:`edge_distances` does so in an azimuthal
equidistant projection centred on the first geometry, which keeps distances from its centre
true to the ellipsoid; edge to edge, a few kilometres apart, the measure is within about 1e-5
of the geodesic (``tests/test_storage_check.py`` holds it to 1e-6 against ``pyproj.Geod``).
"""

from __future__ import annotations

import functools

import numpy as np
import shapely
from pyproj import Transformer

from mineledger.geo.arrays import geometry_array

#: Metres in a degree of latitude, at least (at the equator), and of longitude at the equator.
_M_PER_DEG_LAT, _M_PER_DEG_LON = 110_574.0, 111_320.0


@functools.lru_cache(maxsize=4096)
def _aeqd(lon: float, lat: float) -> Transformer:
    return Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} "
                                "+ellps=WGS84 +units=m +no_defs", always_xy=True)


def _projected(geoms, transformer: Transformer):
    return shapely.transform(geoms, lambda xy: np.column_stack(
        transformer.transform(xy[:, 0], xy[:, 1])))


def edge_distances(origin, targets) -> np.ndarray:
    """Metres from the nearest edge of ``origin`` to the nearest edge of each of ``targets``
    (0 where they touch or overlap).

    Parameters
    ----------
    origin : shapely geometry
        Longitude/latitude (EPSG:4326), not empty.
    targets : array_like of shapely geometries
        Longitude/latitude; a missing or empty one gives NaN.

    Returns
    -------
    numpy.ndarray of float, m

    >>> from shapely import Point
    >>> d = edge_distances(Point(18.0, 44.0), [Point(18.0, 44.01)])
    >>> round(float(d[0]), 1)  # pyproj.Geod: 1111.1 m due north
    1111.1
    """
    targets = geometry_array(targets)
    out = np.full(len(targets), np.nan)
    usable = ~(shapely.is_missing(targets) | shapely.is_empty(targets))
    if not usable.any():
        return out
    centre = shapely.centroid(origin)
    t = _aeqd(round(centre.x, 6), round(centre.y, 6))
    out[usable] = shapely.distance(_projected(origin, t), _projected(targets[usable], t))
    return out


def within_reach(origins, targets, reach_m) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (origin index, target index) whose geometries may be within ``reach_m``
    metres edge to edge: each origin's bounds widened by its reach in degrees (generously:
    a degree of latitude is at least 110.574 km, one of longitude at least 111.32 km · cos of
    the bounds' farthest latitude), queried in an STRtree of the targets. A superset of the
    pairs within reach; :func:`edge_distances` decides.

    Parameters
    ----------
    origins, targets : array_like of shapely geometries (EPSG:4326)
    reach_m : float or array_like of float
        Metres, one for all origins or one each.
    """
    origins, targets = geometry_array(origins), geometry_array(targets)
    reach = np.broadcast_to(np.asarray(reach_m, dtype=float), (len(origins),))
    if not len(origins) or not len(targets):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bounds = shapely.bounds(origins)
    dlat = reach / _M_PER_DEG_LAT * 1.01
    far = np.minimum(np.maximum(np.abs(bounds[:, 1]), np.abs(bounds[:, 3])) + dlat, 89.9)
    dlon = np.minimum(reach / (_M_PER_DEG_LON * np.cos(np.radians(far))) * 1.01, 360.0)
    boxes = shapely.box(bounds[:, 0] - dlon, bounds[:, 1] - dlat, bounds[:, 2] + dlon,
                        bounds[:, 3] + dlat)
    ok = ~np.isnan(bounds).any(axis=1)
    o_idx, t_idx = shapely.STRtree(targets).query(boxes[ok], predicate="intersects")
    return np.flatnonzero(ok)[o_idx], t_idx

