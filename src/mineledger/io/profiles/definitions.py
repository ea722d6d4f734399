"""What a loaded import profile is: the layer it feeds, how its source is read, how rows are
identified, where their geometry is, and a rule per field (docs/profiles.md). Build one with
:func:`mineledger.io.profiles.load_profile`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer

from mineledger.geo import coords
from mineledger.io.profiles.values import DateParts, FieldRule

#: The geometry kinds a table can give, each named by the key that holds its column.
GEOMETRY_KINDS = ("x", "wkt", "point", "geopoint", "geotrace", "geoshape", "utm", "mgrs")


@dataclass
class Profile:
    """A loaded import profile. Build one with :func:`load_profile`."""

    name: str
    layer: str
    path: str
    checksum: str
    description: str = ""
    country: str | None = None
    organisation: str | None = None
    source: dict[str, str] = field(default_factory=dict)
    format: str | None = None
    encoding: str | None = None  # None: UTF-8, else detected with a note
    delimiter: str = ","
    pattern: str = "*"
    pattern_declared: bool = False
    key: list[str] | None = None
    geometry: GeometryRule | None = None  # geometry from table columns
    layer_name: str | None = None
    sheet: str | None = None
    timezone: str | None = None
    join: JoinRule | None = None
    crs: str | None = None
    ignore: tuple[str, ...] = ()  # columns not kept with the record
    status_column: str | None = None  # says "empty" where the format could not carry it
    note_column: str | None = None  # why, for a geometry flagged unparseable or unrepairable
    uuid_column: str | None = None  # holds mineledger record UUIDs, kept as they are
    rules: dict[str, FieldRule] = field(default_factory=dict)
    #: the field whose date, read from its parts, fills the layer's ``parts_fills`` (``year``
    #: and ``month`` where the layer has them and the profile does not map them)
    parts_field: str | None = None
    parts_fills: tuple[str, ...] = ()

    @cached_property
    def columns(self) -> set[str]:
        """Source columns the profile reads (joined parent columns with their prefix)."""
        cols = {c for r in self.rules.values() for c in r.columns}
        cols |= set(self.geometry.columns if self.geometry else ())
        cols |= set(self.key or [])
        cols |= {c for c in (self.status_column, self.note_column, self.uuid_column) if c}
        return cols

    def settle_dates(self, values: dict[str, Any]) -> None:
        """Turn the :class:`DateParts` a row's ``parts`` rules gave into calendar dates (None
        unless the day is known), in place, and fill ``parts_fills`` from the parts of
        ``parts_field``: a year-only row gets its year, a year-month row its year and month
        (docs/profiles.md, "Dates from year, month and day columns")."""
        parts = values.get(self.parts_field) if self.parts_field is not None else None
        for name, value in values.items():
            if isinstance(value, DateParts):
                values[name] = value.date
        for name in self.parts_fills:
            values[name] = getattr(parts, name) if isinstance(parts, DateParts) else None


@dataclass
class JoinRule:
    """A repeat group's parent table, joined to each row (ODK Central, KoboToolbox).

    ``file`` (CSV or XLSX, relative to the source file's folder) or ``sheet`` (of the same
    workbook) holds the parent rows; ``child`` (the repeat row's column holding its parent's
    key) and ``parent`` (the parent's key column) link them (ODK Central: ``child:
    PARENT_KEY, parent: KEY``; KoboToolbox XLSX: ``child: _parent_index, parent: _index``). The
    parent's columns are available to field rules as ``prefix`` + column (default
    ``parent.``).
    """

    on: tuple[str, str]
    file: str | None = None
    sheet: str | None = None
    prefix: str = "parent."


@dataclass
class GeometryRule:
    """How a table's row gives its geometry; the result is in EPSG:4326 (x = longitude).

    ``kind`` is the key that names the column: ``x`` (with ``y``: two columns, decimal or
    degrees-minutes-seconds as ``notation`` says, in ``crs``), ``wkt`` (in ``crs``),
    ``point`` (one cell with both, ``order`` latlon or lonlat), ``geopoint``, ``geotrace``,
    ``geoshape`` (ODK/KoboToolbox), ``utm`` (``18N 500000 1000000``; ``letter`` says whether
    the zone letter is a hemisphere or an MGRS latitude band) or ``mgrs``.
    """

    kind: str
    column: str
    y: str | None = None
    crs: str = "EPSG:4326"
    notation: str = "decimal"
    decimal: str = "."
    order: str = "latlon"
    letter: str = "hemisphere"
    polygonal: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, self.y) if self.y else (self.column,)

    @cached_property
    def _transformer(self):
        crs = CRS.from_user_input(self.crs)
        if crs.equals(CRS.from_epsg(4326)):
            return None
        return Transformer.from_crs(crs, 4326, always_xy=True)

    def read(self, props: dict[str, Any]):
        """(geometry or None, status or None, note or None) for a row's properties.

        Status is ``missing`` when the cells are empty and ``unparseable`` (with a note that
        names the column, the value and what was expected) when they cannot be read.
        """
        raw = [props.get(c) for c in self.columns]
        texts = ["" if v is None else (str(v).strip() if not isinstance(v, (int, float))
                                       or isinstance(v, bool) else v) for v in raw]
        if all(t == "" for t in texts):
            return None, "missing", None
        shown = ", ".join(f"column {c!r} = {v!r}" for c, v in zip(self.columns, raw))
        try:
            if self.kind == "x":
                if "" in texts:
                    raise coords.CoordinateError("one coordinate is empty; expected both")
                if self.notation == "dms":
                    x = coords.parse_angle(texts[0], axis="lon", decimal=self.decimal)
                    y = coords.parse_angle(texts[1], axis="lat", decimal=self.decimal)
                else:
                    x = coords.parse_decimal(texts[0], decimal=self.decimal)
                    y = coords.parse_decimal(texts[1], decimal=self.decimal)
                geom = shapely.Point(x, y)
            elif self.kind == "wkt":
                try:
                    geom = shapely.force_2d(shapely.from_wkt(str(texts[0])))
                except shapely.errors.GEOSException as exc:
                    raise coords.CoordinateError(
                        f"not readable WKT ({str(exc).splitlines()[0]})") from None
            elif self.kind == "point":
                geom = shapely.Point(coords.parse_point(str(texts[0]), order=self.order,
                                                        decimal=self.decimal))
            elif self.kind == "geopoint":
                geom = shapely.Point(coords.parse_geopoint(str(texts[0]))[:2])
            elif self.kind == "geoshape":
                geom = coords.parse_geoshape(str(texts[0]))
            elif self.kind == "geotrace":
                line = coords.parse_geotrace(str(texts[0]))
                geom = shapely.Polygon(line.coords) if self.polygonal else line
            elif self.kind == "utm":
                geom = shapely.Point(coords.parse_utm(str(texts[0]), letter=self.letter))
            else:  # mgrs
                geom = shapely.Point(coords.parse_mgrs(str(texts[0])))
        except (coords.CoordinateError, ValueError) as exc:
            return None, "unparseable", f"{shown}: {exc}"
        if self._transformer is not None and not geom.is_empty:
            t = self._transformer
            geom = shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
            if not np.isfinite(shapely.get_coordinates(geom)).all():
                return None, "unparseable", f"{shown}: outside the area of use of {self.crs}"
        return geom, None, None
