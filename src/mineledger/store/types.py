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


#: The encoder of :func:`json_text`, made once (``json.dumps`` with options builds one a call).
_JSON_TEXT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def json_text(value) -> str | None:
    """A value as a JSON column stores it: ``json.dumps(value, ensure_ascii=False,
    sort_keys=True, default=str)``; None stays None (SQL NULL)."""
    return None if value is None else _JSON_TEXT.encode(value)


class JSONText(TypeDecorator):
    """A JSON document kept as text (readable in QGIS and GDAL as a string)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return json_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)
