"""GeoPackage geometry blobs (OGC 12-128r18 §2.1.3), encoded and decoded in Python.

The Python that mineledger runs on may be unable to load SQLite extensions, so the blob is
built here: the ``GP`` header (version 0, little-endian, XY envelope for non-points), the
SRS id, then standard little-endian WKB. The SQL functions the GeoPackage R-tree triggers need
(``ST_IsEmpty``, ``ST_MinX`` …) are implemented on the same header, see :func:`register_sql_functions`.
"""

from __future__ import annotations

import math
import sqlite3
import struct

import shapely
from shapely.geometry.base import BaseGeometry

from mineledger.geo.arrays import geometry_array

#: SRS id of WGS 84 longitude/latitude in ``gpkg_spatial_ref_sys``.
SRS_WGS84 = 4326

_ENVELOPE_XY = 1
_EMPTY_FLAG = 0b10000
_HEADER = struct.Struct("<2sBBi")
_ENV = struct.Struct("<4d")


def encode(geom: BaseGeometry | None, srs_id: int = SRS_WGS84) -> bytes | None:
    """Encode a shapely geometry as a GeoPackage blob; ``None`` stays ``None`` (SQL NULL).

    Examples
    --------
    >>> from shapely import Point, box
    >>> blob = encode(box(0, 0, 1, 2))
    >>> blob[:2], decode(blob).bounds
    (b'GP', (0.0, 0.0, 1.0, 2.0))
    >>> decode(encode(Point())).is_empty
    True
    """
    if geom is None:
        return None
    wkb = shapely.to_wkb(geom, byte_order=1, output_dimension=2, flavor="iso")
    if geom.is_empty:
        flags = 1 | _EMPTY_FLAG
        return _HEADER.pack(b"GP", 0, flags, srs_id) + wkb
    if geom.geom_type == "Point":
        return _HEADER.pack(b"GP", 0, 1, srs_id) + wkb
    minx, miny, maxx, maxy = geom.bounds
    flags = 1 | (_ENVELOPE_XY << 1)
    return _HEADER.pack(b"GP", 0, flags, srs_id) + _ENV.pack(minx, maxx, miny, maxy) + wkb


def encode_many(geoms, srs_id: int = SRS_WGS84) -> list[bytes | None]:
    """:func:`encode` of many geometries at once (WKB and envelopes computed in one call
    each); the blobs are byte for byte those of :func:`encode`.

    Examples
    --------
    >>> from shapely import Point, box
    >>> geoms = [box(0, 0, 1, 2), Point(3, 4), Point(), None]
    >>> encode_many(geoms) == [encode(g) for g in geoms]
    True
    """
    arr = geometry_array(geoms)
    wkbs = shapely.to_wkb(arr, byte_order=1, output_dimension=2, flavor="iso")
    empty = shapely.is_empty(arr)
    point = shapely.get_type_id(arr) == 0
    bounds = shapely.bounds(arr)
    plain = _HEADER.pack(b"GP", 0, 1, srs_id)
    hollow = _HEADER.pack(b"GP", 0, 1 | _EMPTY_FLAG, srs_id)
    boxed = _HEADER.pack(b"GP", 0, 1 | (_ENVELOPE_XY << 1), srs_id)
    out: list[bytes | None] = []
    for wkb, e, p, (minx, miny, maxx, maxy) in zip(wkbs.tolist(), empty.tolist(),
                                                    point.tolist(), bounds.tolist()):
        if wkb is None:
            out.append(None)
        elif e:
            out.append(hollow + wkb)
        elif p:
            out.append(plain + wkb)
        else:
            out.append(boxed + _ENV.pack(minx, maxx, miny, maxy) + wkb)
    return out


def _header_length(flags: int) -> int:
    envelope = (flags >> 1) & 0b111
    return 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(envelope, 0)


def decode(blob: bytes | None) -> BaseGeometry | None:
    """Decode a GeoPackage blob (any envelope, either byte order) to a shapely geometry."""
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob (no 'GP' magic)")
    return shapely.from_wkb(blob[_header_length(blob[3]):])


def wkb_of(blob: bytes | None) -> bytes | None:
    """The WKB part of a GeoPackage blob (for bulk decoding with ``shapely.from_wkb``)."""
    if blob is None:
        return None
    blob = bytes(blob)
    return blob[_header_length(blob[3]):]


def _is_empty(blob):
    if blob is None:
        return None
    return 1 if bytes(blob[3:4])[0] & _EMPTY_FLAG else 0


def _bound(index):
    def fn(blob):
        if blob is None:
            return None
        blob = bytes(blob)
        flags = blob[3]
        if flags & _EMPTY_FLAG:
            return None
        if (flags >> 1) & 0b111:
            minx, maxx, miny, maxy = _ENV.unpack_from(blob, 8)
            return (minx, maxx, miny, maxy)[index]
        wkb = blob[_header_length(flags):]
        if len(wkb) == 21 and wkb[0] == 1 and wkb[1:5] == b"\x01\x00\x00\x00":  # LE 2D point
            x, y = struct.unpack_from("<2d", wkb, 5)
            return (x, x, y, y)[index]
        minx, miny, maxx, maxy = decode(blob).bounds
        value = (minx, maxx, miny, maxy)[index]
        return None if math.isnan(value) else value

    return fn


def _intersects_box(blob, minx, miny, maxx, maxy):
    """1 if the geometry in ``blob`` intersects the box, else 0 (NULL for no geometry)."""
    if blob is None:
        return None
    geom = decode(blob)
    if geom is None or geom.is_empty:
        return 0
    return int(shapely.intersects(geom, shapely.box(minx, miny, maxx, maxy)))


def register_sql_functions(connection: sqlite3.Connection) -> None:
    """Register ``ST_IsEmpty``, ``ST_MinX``, ``ST_MaxX``, ``ST_MinY``, ``ST_MaxY``, and
    ``mineledger_intersects_box(geom, minx, miny, maxx, maxy)``.

    The GeoPackage R-tree triggers call the first five; GDAL registers its own, and every
    connection mineledger opens registers these, so inserts keep the spatial index up to
    date. The last is the exact test of a paged query's bounding box, run only on the rows
    the R-tree has found (:meth:`mineledger.store.sql.SQLStore.query`).
    """
    connection.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    connection.create_function("mineledger_intersects_box", 5, _intersects_box,
                               deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        connection.create_function(name, 1, _bound(i), deterministic=True)
