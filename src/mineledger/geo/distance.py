"""Distances between geometries in metres on the WGS 84 ellipsoid, edge to edge, and the pairs
within a reach found through a spatial index (never all pairs).

IATG 02.20 measures a separation "in a straight line from the nearest edge of the explosive
site to the nearest edge of the exposed site": :func:`pair_distances` finds the nearest points
of each pair and measures the geodesic between them on the WGS 84 ellipsoid
(``tests/test_storage_check.py`` holds it to 1e-6 against ``pyproj.Geod``).
"""

from __future__ import annotations

import numpy as np
import shapely
from mineledger.geo.area import WGS84
from mineledger.geo.arrays import geometry_array

#: Metres in a degree of latitude, at least (at the equator), and of longitude at the equator.
_M_PER_DEG_LAT, _M_PER_DEG_LON = 110_574.0, 111_320.0


def _scaled(geoms: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Each geometry with its longitudes multiplied by its own factor."""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    coords[:, 0] *= factor[owner]
    return shapely.set_coordinates(geoms.copy(), coords)


def pair_distances(a, b) -> np.ndarray:
    """Metres from the nearest edge of each ``a[i]`` to the nearest edge of ``b[i]`` (0 where
    they touch or overlap; NaN where either is missing or empty).

    The nearest points are found in a plane where longitudes are scaled by the cosine of the
    pair's latitude, and the distance between them is the geodesic on the WGS 84 ellipsoid
    (``pyproj.Geod``): the distance is flat near its minimum, so the plane's slight error in
    which points are nearest moves it by far less than a millimetre at a few kilometres.
    """
    a, b = geometry_array(a), geometry_array(b)
    out = np.full(len(a), np.nan)
    ok = ~(shapely.is_missing(a) | shapely.is_empty(a) | shapely.is_missing(b) |
           shapely.is_empty(b))
    if not ok.any():
        return out
    a, b = a[ok], b[ok]
    lat = shapely.get_y(shapely.centroid(a))
    factor = np.cos(np.radians(lat))
    line = shapely.shortest_line(_scaled(a, factor), _scaled(b, factor))
    ends = shapely.get_coordinates(line).reshape(-1, 2, 2)
    lon1, lat1 = ends[:, 0, 0] / factor, ends[:, 0, 1]
    lon2, lat2 = ends[:, 1, 0] / factor, ends[:, 1, 1]
    _, _, metres = WGS84.inv(lon1, lat1, lon2, lat2)
    metres = np.where(shapely.intersects(a, b), 0.0, metres)
    out[ok] = metres
    return out


def edge_distances(origin, targets) -> np.ndarray:
    """Metres from the nearest edge of ``origin`` to the nearest edge of each of ``targets``
    (0 where they touch or overlap): :func:`pair_distances` of ``origin`` with each.

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
    return pair_distances(np.full(len(targets), origin, dtype=object), targets)


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

