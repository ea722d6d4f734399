"""Column types that mean the same thing on every back end.

On the embedded GeoPackage store geometries are GeoPackage blobs, instants are ISO 8601 UTC
text (``YYYY-MM-DDTHH:MM:SS.sssZ``, the GeoPackage DATETIME form) and dates ``YYYY-MM-DD``
text, with the declared column types GeoPackage readers (GDAL, QGIS) expect.

On PostgreSQL/PostGIS geometries are PostGIS ``geometry(TYPE, 4326)`` columns (GeoAlchemy2's
type; sent and received as hex EWKB), and instants and dates are the same ISO 8601 text, so
that the two back ends compare, sort and checksum the same values.
"""

from __future__ import annotations

import datetime as dt
import json

import shapely
from geoalchemy2 import Geometry as PostGISGeometry  # imported first: it hooks table DDL events
from sqlalchemy import LargeBinary, Text
from sqlalchemy.types import TypeDecorator, UserDefinedType

from mineledger.store import gpkg_geometry


class _Declared(UserDefinedType):
    """A column whose DDL type name is given (``MULTIPOLYGON``, ``DATETIME`` …)."""

    cache_ok = True

    def __init__(self, spec: str):
        self.spec = spec

    def get_col_spec(self, **kw):
        return self.spec


class Geometry(TypeDecorator):
    """A geometry column in EPSG:4326: shapely geometries in Python."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY"):
        super().__init__()
        self.geometry_type = geometry_type
        # read by GeoAlchemy2's DDL hooks: the schema declares the GiST index itself
        self.spatial_index = False
        self.use_typmod = None
        self.use_N_D_index = False

    def load_dialect_impl(self, dialect):
        if dialect is None:  # GeoAlchemy2's DDL hooks ask without one
            return LargeBinary()
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_Declared(self.geometry_type))
        if dialect.name == "postgresql":
            # the GiST index is declared in the schema, explicitly, for PostgreSQL only
            return dialect.type_descriptor(PostGISGeometry(
                self.geometry_type, srid=gpkg_geometry.SRS_WGS84, spatial_index=False))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if dialect.name == "postgresql":
            if value is None:
                return None
            return shapely.to_wkb(shapely.set_srid(value, gpkg_geometry.SRS_WGS84), hex=True,
                                  output_dimension=2, include_srid=True)
        return gpkg_geometry.encode(value)

    def process_result_value(self, value, dialect):
        if dialect.name == "postgresql":
            if value is None:
                return None
            geom = shapely.from_wkb(getattr(value, "data", value))
            return shapely.set_srid(geom, 0)
        return gpkg_geometry.decode(value)


class _TextDeclaredAs(TypeDecorator):
    """Text in the database, declared in GeoPackage as the type named by ``ddl``."""

    impl = Text
    cache_ok = True
    ddl = "TEXT"

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_Declared(self.ddl))
        return dialect.type_descriptor(Text())


class UTCDateTime(_TextDeclaredAs):
    """An instant in UTC: aware ``datetime`` in Python, ``…Z`` text in GeoPackage."""

    cache_ok = True
    ddl = "DATETIME"

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            return value
        value = value.astimezone(dt.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class Date(_TextDeclaredAs):
    """A calendar date: ``datetime.date`` in Python, ``YYYY-MM-DD`` text in GeoPackage."""

    cache_ok = True
    ddl = "DATE"

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return value if isinstance(value, str) else value.isoformat()

    def process_result_value(self, value, dialect):
        return None if value is None else dt.date.fromisoformat(value)


def json_encoder(ensure_ascii: bool):
    """``json.dumps(value, ensure_ascii=ensure_ascii, sort_keys=True, default=str)`` as a
    function whose encoder is made once: ``json.dumps`` with options builds a
    ``JSONEncoder`` and its C encoder for every document, which was most of the time of
    encoding small ones (a record of the change log). The text is the same: it is the C
    encoder ``json.dumps`` itself uses (or ``JSONEncoder.encode`` where there is none).

    >>> json_encoder(False)({"b": [1.5, None], "a": "ü", "c": {1}}) == json.dumps(
    ...     {"b": [1.5, None], "a": "ü", "c": {1}}, ensure_ascii=False, sort_keys=True, default=str)
    True
    """
    slow = json.JSONEncoder(ensure_ascii=ensure_ascii, sort_keys=True, default=str)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return slow.encode
    string = json.encoder.encode_basestring_ascii if ensure_ascii else \
        json.encoder.encode_basestring
    markers: dict = {}  # circular references are refused, as json.dumps does
    fast = make(markers, slow.default, string, None, slow.key_separator, slow.item_separator,
                True, False, True)

    def encode(value) -> str:
        if isinstance(value, str):
            return string(value)
        try:
            return "".join(fast(value, 0))
        except BaseException:
            markers.clear()  # what a failed document left; the next starts afresh
            raise

    return encode


_JSON_TEXT = json_encoder(ensure_ascii=False)


def json_text(value) -> str | None:
    """A value as a JSON column stores it: ``json.dumps(value, ensure_ascii=False,
    sort_keys=True, default=str)``; None stays None (SQL NULL)."""
    return None if value is None else _JSON_TEXT(value)


class JSONText(TypeDecorator):
    """A JSON document kept as text (readable in QGIS and GDAL as a string)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return json_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)
