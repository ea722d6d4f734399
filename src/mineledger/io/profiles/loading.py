"""Import profiles: declarative mappings from a source's columns to a record layer.

A profile is a YAML file (the built-in ones are in ``mineledger/io/profiles/``); a new
source needs a profile, not code. The format is documented in ``docs/profiles.md``. In
short::

    name: bih-incidents            # how --profile refers to it
    layer: events                  # hazards | cleared_areas | events | victims | admin_areas
    country: BIH                   # default ISO3 (or map a column to the field ``country``)
    source: {title, publisher, licence, url}   # credited in reports
    read: {format: csv|xlsx|vector|parquet, encoding: cp1252, pattern: "*.geojson",
           delimiter: ",", layer: NAME, sheet: NAME, timezone: UTC,
           join: {file|sheet, child, parent, prefix}, ignore: [col, …]}
    key: [col, …]                  # optional: columns that identify a row in its source
    geometry: {x: lon_column, y: lat_column, crs: EPSG:4326}   # tables; omit for GIS files
              # or {wkt: col, crs}, {point: col, order: latlon}, {geopoint: col},
              # {geoshape: col}, {geotrace: col}, {utm: col, letter: hemisphere}, {mgrs: col}
    fields:
      event_type: {column: typeArea, map: {Incidents: mine_incident}}
      year: {column: ano, parse: integer, thousands: ",", min: 1990, max: current_year}
      location_precision: {value: exact}

Field rules: ``column`` or ``value`` (a constant); ``parse`` one of ``text`` (default),
``integer``, ``real``, ``code`` (digits only, thousands separators removed, zero-padded to
``width``), ``boolean``; ``regex`` (keep the first group); ``map`` (source value → stored
value; a value not in the map is rejected unless ``default`` is given); ``null_values``
(values that mean "not known"); ``required``; ``min``/``max`` (``current_year`` allowed);
``upper``; for dates ``format`` (``iso`` default, ``dmy``, ``mdy``, ``ymd``, ``serial``
— spreadsheet day numbers — or a ``strptime`` pattern). Empty text is null. A column name
that starts with ``#`` is an HXL tag pattern, matched against the file's hashtag row.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mineledger.errors import ProfileError
from mineledger.model.records import COMMON_FIELDS, LAYERS
from mineledger.model.vocab import Layer

_PARSERS = {"text", "integer", "real", "code", "boolean", "date", "datetime"}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)
#: The parse a field's type needs; a rule whose parse gives another type is refused on load.
_PARSE_FOR_TYPE = {"integer": {"integer"}, "real": {"real", "integer"}, "boolean": {"boolean"},
                   "date": {"date"}, "datetime": {"datetime"}, "text": {"text", "code"}}
_RULE_KEYS = {"column", "value", "parse", "regex", "map", "default", "null_values", "required",
              "min", "max", "thousands", "decimal", "width", "upper", "note", "unit", "format"}
#: Date notations a rule may declare (``format``); anything with ``%`` is a strptime pattern.
DATE_FORMATS = ("iso", "dmy", "mdy", "ymd", "serial")
_DATE_PARTS = re.compile(r"(\d{1,4})[/.\- ](\d{1,2})[/.\- ](\d{1,4})"
                         r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", re.ASCII)
#: Read keys and geometry keys a profile may use.
_READ_KEYS = {"format", "encoding", "delimiter", "pattern", "layer", "sheet", "timezone", "join",
              "ignore"}
_GEOMETRY_KEYS = {"x", "y", "wkt", "crs", "notation", "decimal", "point", "order", "geopoint",
                  "geotrace", "geoshape", "utm", "letter", "mgrs", "status_column",
                  "note_column"}
#: The geometry kinds a table can give, each named by the key that holds its column.
GEOMETRY_KINDS = ("x", "wkt", "point", "geopoint", "geotrace", "geoshape", "utm", "mgrs")
#: Area units a profile may declare; values are converted to m² on input.
AREA_UNITS = {"m2": 1.0, "ha": 1e4, "km2": 1e6}
_TOP_KEYS = {"name", "description", "layer", "country", "organisation", "source", "read", "key",
             "geometry", "fields", "version", "uuid"}
_MAPPABLE_COMMON = {"country", "organisation", "date_of_information"}


class FieldError(Exception):
    """A value that does not fit its field rule (turned into a quarantine reason)."""

    def __init__(self, field: str, column: str | None, value: Any, expected: str):
        self.field, self.column, self.value, self.expected = field, column, value, expected
        where = f"column {column!r}" if column else "constant"
        super().__init__(f"field {field!r} ({where}): got {value!r}, expected {expected}")


@dataclass
class FieldRule:
    """How one stored field is made from a source row."""

    name: str
    type: str
    vocabulary: tuple[str, ...] | None
    column: str | None = None
    value: Any = None
    parse: str = "text"
    regex: re.Pattern | None = None
    map: dict[str, Any] | None = None
    default: Any = None
    has_default: bool = False
    null_values: frozenset[str] = frozenset()
    required: bool = False
    min: float | None = None
    max: float | None = None
    thousands: str | None = None
    decimal: str = "."
    width: int | None = None
    upper: bool = False
    scale: float = 1.0
    format: str | None = None  # date notation (DATE_FORMATS or a strptime pattern)
    timezone: str | None = None  # the zone of times written without a UTC offset

    def apply(self, props: dict[str, Any]) -> Any:
        """The stored value for a row's properties; raises :class:`FieldError`."""
        if self.column is None:
            return self.value
        raw = props.get(self.column)
        if type(raw).__name__ == "FormulaWithoutValue":
            raise FieldError(self.name, self.column, str(raw), "a value: the cell holds a formula "
                             "with no computed value (open and save the workbook in a "
                             "spreadsheet program, or paste values)")
        value = unicodedata.normalize("NFC", raw).strip() if isinstance(raw, str) else raw
        if isinstance(value, str) and "\x00" in value:
            raise FieldError(self.name, self.column, raw.replace("\x00", "\\x00"),
                             "text without NUL characters (\\x00): is the file binary, or "
                             "UTF-16 read as another encoding?")
        if value == "" or value is None or (isinstance(value, str) and value in self.null_values):
            if self.required:
                raise FieldError(self.name, self.column, raw, "a value (the field is required)")
            return None
        if self.regex is not None:
            m = self.regex.search(str(value))
            if not m:
                raise FieldError(self.name, self.column, raw, f"text matching /{self.regex.pattern}/")
            value = m.group(1) if m.groups() else m.group(0)
        if self.map is not None:
            # a GIS integer column with nulls reads as float: 1.0 is the code "1"
            key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            if key in self.map:
                value = self.map[key]
            elif self.has_default:
                value = self.default
            else:
                shown = ", ".join(repr(k) for k in list(self.map)[:12])
                raise FieldError(self.name, self.column, raw, f"one of {shown}")
            if value is None:
                return None
        value = self._parse(value, raw)
        if self.upper and isinstance(value, str):
            value = value.upper()
        if self.vocabulary and value not in self.vocabulary:
            raise FieldError(self.name, self.column, raw,
                             "one of " + ", ".join(self.vocabulary))
        return value

    def _expected_date(self) -> str:
        fmt = self.format or "iso"
        if fmt == "iso":
            return ("a date as YYYY-MM-DD or an ISO 8601 time (for day-first or month-first "
                    "dates declare format: dmy or mdy in the profile)")
        if fmt == "serial":
            return "a spreadsheet date serial number (days since 1899-12-30)"
        if "%" in fmt:
            return f"a date in the form {fmt}"
        order = {"dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY", "ymd": "YYYY/MM/DD"}[fmt]
        return f"a date as {order} (separator / . - or space)"

    def _when(self, value, raw, kind: str):
        """A date or a UTC datetime from a cell; never guesses day-first against month-first."""
        fmt = self.format or "iso"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and fmt == "serial":
            moment = _from_serial(float(value))
            if moment is None:
                raise FieldError(self.name, self.column, raw, self._expected_date())
        elif isinstance(value, (dt.datetime, dt.date)):
            moment = value
        else:
            text = str(value).strip()
            moment = None
            try:
                if fmt == "iso":
                    moment = dt.datetime.fromisoformat(text) if ("T" in text or ":" in text) \
                        else dt.date.fromisoformat(text)
                elif fmt == "serial":
                    moment = _from_serial(float(text.replace(",", ".")))
                elif "%" in fmt:
                    moment = dt.datetime.strptime(text, fmt)
                    if not any(c in fmt for c in "HIMSfzp"):
                        moment = moment.date()
                else:
                    m = _DATE_PARTS.fullmatch(text)
                    if m:
                        a, b, c = (int(x) for x in m.groups()[:3])
                        y, mo, d = {"dmy": (c, b, a), "mdy": (c, a, b), "ymd": (a, b, c)}[fmt]
                        if y < 1000:
                            raise ValueError("two-digit year")
                        if m.group(4) is None:
                            moment = dt.date(y, mo, d)
                        else:
                            moment = dt.datetime(y, mo, d, int(m.group(4)), int(m.group(5)),
                                                 int(m.group(6) or 0))
            except (ValueError, OverflowError):
                moment = None
            if moment is None:
                raise FieldError(self.name, self.column, raw, self._expected_date())
        if kind == "date":
            # the calendar date as the source wrote it (in its own time zone)
            return moment.date() if isinstance(moment, dt.datetime) else moment
        if not isinstance(moment, dt.datetime):
            raise FieldError(self.name, self.column, raw, "a date with a time of day (this is a "
                             "date only; map it to a date field)")
        if moment.tzinfo is None:
            if not self.timezone:
                raise FieldError(self.name, self.column, raw, "a time with a UTC offset (such as "
                                 "2021-03-04T23:30:00-05:00), or declare read.timezone in the "
                                 "profile for times written without one")
            from zoneinfo import ZoneInfo

            zone = ZoneInfo(self.timezone)
            moment = moment.replace(tzinfo=zone)
            # a wall-clock time the zone skips (spring) or repeats (autumn) is no instant
            if moment.astimezone(dt.timezone.utc).astimezone(zone).replace(tzinfo=None) != \
                    moment.replace(tzinfo=None):
                raise FieldError(self.name, self.column, raw, f"a time that exists in "
                                 f"{self.timezone} (clocks skip it when they go forward)")
            if moment.replace(fold=1).utcoffset() != moment.utcoffset():
                raise FieldError(self.name, self.column, raw, f"a time that happened once in "
                                 f"{self.timezone} (this one is repeated when clocks go back; "
                                 "give its UTC offset)")
        try:
            return moment.astimezone(dt.timezone.utc)
        except (OverflowError, ValueError):
            raise FieldError(self.name, self.column, raw, "a time within years 1–9999 in UTC") from None

    def _number_text(self, value) -> str:
        text = str(value)
        if self.thousands:
            text = text.replace(self.thousands, "")
        if self.decimal != ".":
            text = text.replace(self.decimal, ".")
        return text

    def _parse(self, value, raw):
        kind = self.parse
        if kind == "text":
            if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                value = int(value)  # a spreadsheet number cell holding a code: 1234, not 1234.0
            if isinstance(value, dt.datetime) and value.time() == dt.time(0):
                value = value.date()  # a spreadsheet date cell: 2021-03-04, not …00:00:00
            if isinstance(value, (dt.date, dt.datetime)):
                return value.isoformat()
            return str(value) if not isinstance(value, (bool, int, float)) or self.type == "text" \
                else value
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("true", "1", "yes", "y", "si", "sí"):
                return True
            if text in ("false", "0", "no", "n"):
                return False
            raise FieldError(self.name, self.column, raw, "true or false")
        if kind == "code":
            text = self._number_text(value)
            if isinstance(value, float) and value.is_integer():
                text = str(int(value))
            if not _DIGITS.fullmatch(text):
                raise FieldError(self.name, self.column, raw, "a numeric code (digits only)")
            if self.width:
                if len(text) > self.width:
                    raise FieldError(self.name, self.column, raw, f"a code of at most {self.width} digits")
                text = text.zfill(self.width)
            return text
        if kind in ("date", "datetime"):
            return self._when(value, raw, kind)
        if isinstance(value, bool):
            raise FieldError(self.name, self.column, raw, "a number")
        text = self._number_text(value)
        if not isinstance(value, (int, float)) and not _NUMBER.fullmatch(text):
            raise FieldError(self.name, self.column, raw,
                             "an integer" if kind == "integer" else "a number")
        if kind == "integer" and isinstance(value, str) and re.fullmatch(r"[+-]?\d+", text):
            number = int(text)  # exactly, whatever its size (float would round above 2**53)
        else:
            number = float(text)
        if kind == "integer":
            if isinstance(number, float) and not number.is_integer():
                raise FieldError(self.name, self.column, raw, "an integer")
            number = int(number)
            if not -2**63 <= number < 2**63:
                raise FieldError(self.name, self.column, raw, "a whole number of at most 18 digits")
        lo, hi = self.min, self.max
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise FieldError(self.name, self.column, raw, f"a value from {lo:g} to {hi:g}"
                             if lo is not None and hi is not None else
                             (f"at least {lo:g}" if lo is not None else f"at most {hi:g}"))
        return number * self.scale if self.scale != 1.0 else number


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

    @cached_property
    def columns(self) -> set[str]:
        """Source columns the profile reads (joined parent columns with their prefix)."""
        cols = {r.column for r in self.rules.values() if r.column}
        cols |= set(self.geometry.columns if self.geometry else ())
        cols |= set(self.key or [])
        cols |= {c for c in (self.status_column, self.note_column, self.uuid_column) if c}
        return cols


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
        from pyproj import CRS, Transformer

        crs = CRS.from_user_input(self.crs)
        if crs.equals(CRS.from_epsg(4326)):
            return None
        return Transformer.from_crs(crs, 4326, always_xy=True)

    def read(self, props: dict[str, Any]):
        """(geometry or None, status or None, note or None) for a row's properties.

        Status is ``missing`` when the cells are empty and ``unparseable`` (with a note that
        names the column, the value and what was expected) when they cannot be read.
        """
        import shapely

        from mineledger.geo import coords

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
            import numpy as np

            t = self._transformer
            geom = shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
            if not np.isfinite(shapely.get_coordinates(geom)).all():
                return None, "unparseable", f"{shown}: outside the area of use of {self.crs}"
        return geom, None, None


def _from_serial(serial: float) -> dt.datetime | None:
    """A spreadsheet date serial (1900 date system) → datetime; None if out of range.

    Serial 1 is 1900-01-01; serial 60 is the 1900-02-29 that Lotus 1-2-3 and Excel count but
    that did not exist, so serials from 61 on count from 1899-12-30.

    >>> _from_serial(45000.5)
    datetime.datetime(2023, 3, 15, 12, 0)
    """
    if not (1 <= serial < 2958466) or int(serial) == 60 or serial != serial:
        return None
    base = dt.datetime(1899, 12, 30) if serial >= 61 else dt.datetime(1899, 12, 31)
    return base + dt.timedelta(days=serial)


def _max_value(v):
    if v == "current_year":
        return dt.date.today().year
    return v


def _rule(profile: str, name: str, spec: Any, ftype: str, vocab) -> FieldRule:
    where = f"profile {profile!r}, field {name!r}"
    if not isinstance(spec, dict):
        spec = {"column": spec} if isinstance(spec, str) else None
    if spec is None:
        raise ProfileError(f"{where}: expected a mapping such as {{column: NAME}} or {{value: X}}")
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {sorted(unknown)}; expected some of {sorted(_RULE_KEYS)}")
    if ("column" in spec) == ("value" in spec):
        raise ProfileError(f"{where}: give exactly one of 'column' or 'value'")
    parse = spec.get("parse", {"integer": "integer", "real": "real", "boolean": "boolean",
                               "date": "date", "datetime": "datetime"}.get(ftype, "text"))
    if parse not in _PARSERS:
        raise ProfileError(f"{where}: parse {parse!r}; expected one of {sorted(_PARSERS)}")
    if "column" in spec and (not isinstance(spec["column"], str) or not spec["column"]):
        raise ProfileError(f"{where}: column must be a column name (text), got {spec['column']!r}")
    if "map" not in spec and "value" not in spec and parse not in _PARSE_FOR_TYPE.get(ftype, {parse}):
        raise ProfileError(f"{where}: parse {parse!r} does not give a {ftype}; use parse: "
                           f"{sorted(_PARSE_FOR_TYPE[ftype])[0]}")
    if "required" in spec and not isinstance(spec["required"], bool):
        raise ProfileError(f"{where}: required must be true or false, got {spec['required']!r}")
    if isinstance(spec.get("min"), (int, float)) and isinstance(spec.get("max"), (int, float)) \
            and spec["min"] > spec["max"]:
        raise ProfileError(f"{where}: min {spec['min']} is above max {spec['max']}")
    for key in ("min", "max"):
        if key in spec and spec[key] != "current_year" and (
                isinstance(spec[key], bool) or not isinstance(spec[key], (int, float))):
            raise ProfileError(f"{where}: {key} must be a number (or current_year), got {spec[key]!r}")
    for key in ("thousands", "decimal"):
        if key in spec and not (isinstance(spec[key], str) and len(spec[key]) == 1):
            raise ProfileError(f"{where}: {key} must be one character such as \",\" or \".\", got {spec[key]!r}")
    if "width" in spec and (isinstance(spec["width"], bool) or not isinstance(spec["width"], int)
                            or spec["width"] < 1):
        raise ProfileError(f"{where}: width must be a positive whole number, got {spec['width']!r}")
    fmt = spec.get("format")
    if fmt is not None:
        if parse not in ("date", "datetime"):
            raise ProfileError(f"{where}: format applies to dates (parse: date or datetime)")
        if not isinstance(fmt, str) or (fmt not in DATE_FORMATS and "%" not in fmt):
            raise ProfileError(f"{where}: format {fmt!r}; expected one of "
                               f"{', '.join(DATE_FORMATS)} or a strptime pattern such as %d.%m.%Y")
        if "%" in fmt:
            try:  # a pattern that cannot read back a date it writes reads none
                sample = dt.datetime(2001, 2, 3, 4, 5, 6)
                dt.datetime.strptime(sample.strftime(fmt), fmt)
            except ValueError as exc:
                raise ProfileError(f"{where}: format {fmt!r} is not a strptime pattern that reads "
                                   f"dates ({exc}); for example %d.%m.%Y") from None
    if "unit" in spec and spec["unit"] not in AREA_UNITS:
        raise ProfileError(f"{where}: unit {spec['unit']!r}; expected one of {', '.join(AREA_UNITS)}")
    if "unit" in spec and ftype != "real":
        raise ProfileError(f"{where}: unit applies to area fields (real), not to a {ftype}")
    nulls = spec.get("null_values", [])
    if not isinstance(nulls, list):
        raise ProfileError(f"{where}: null_values must be a list such as [\"n/a\", \"-\"], got {nulls!r}")
    mapping = spec.get("map")
    if mapping is not None:
        if not isinstance(mapping, dict):
            raise ProfileError(f"{where}: 'map' must be a mapping of source value to stored value")
        mapping = {str(k): v for k, v in mapping.items()}
        if ftype == "boolean":  # "true"/"false" written as text mean the booleans
            mapping = {k: {"true": True, "false": False}.get(v.lower(), v)
                       if isinstance(v, str) else v for k, v in mapping.items()}
        if vocab:
            bad = [v for v in mapping.values() if v is not None and v not in vocab]
            if bad:
                raise ProfileError(f"{where}: map gives {bad[0]!r}, expected one of {', '.join(vocab)}")
    if "value" in spec and vocab and spec["value"] not in vocab:
        raise ProfileError(f"{where}: value {spec['value']!r}, expected one of {', '.join(vocab)}")
    produced = list((mapping or {}).values()) + ([spec["default"]] if "default" in spec else []) \
        + ([spec["value"]] if "value" in spec else [])
    for v in produced:
        if v is None:
            continue
        if vocab and v not in vocab:
            raise ProfileError(f"{where}: gives {v!r}, expected one of {', '.join(vocab)}")
        if not _fits(ftype, v):
            raise ProfileError(f"{where}: gives {v!r}, which is not a {ftype}")
    try:
        regex = re.compile(spec["regex"]) if "regex" in spec else None
    except re.error as exc:
        raise ProfileError(f"{where}: regex does not compile: {exc}") from None
    return FieldRule(
        name=name, type=ftype, vocabulary=vocab, column=spec.get("column"), value=spec.get("value"),
        parse=parse, regex=regex, map=mapping, default=spec.get("default"),
        has_default="default" in spec,
        null_values=frozenset(str(v) for v in spec.get("null_values", [])),
        required=bool(spec.get("required", False)), min=spec.get("min"),
        max=_max_value(spec.get("max")), thousands=spec.get("thousands"),
        decimal=spec.get("decimal", "."), width=spec.get("width"), upper=bool(spec.get("upper")),
        scale=AREA_UNITS.get(spec.get("unit", "m2"), 1.0), format=fmt,
    )


def _default_pattern(fmt: str | None) -> str:
    """Files taken from a folder when the profile names no pattern."""
    return {"csv": "*.csv", "vector": "*.geojson", "xlsx": "*.xlsx",
            "parquet": "*.parquet"}.get(fmt or "", "*.*")


def _fits(ftype: str, value: Any) -> bool:
    """Whether a constant (from ``value``, ``map`` or ``default``) can be stored in a field."""
    if ftype == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if ftype == "real":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ftype == "boolean":
        return isinstance(value, bool)
    if ftype == "date":
        return isinstance(value, dt.date)
    if ftype == "datetime":
        return isinstance(value, dt.datetime) and value.tzinfo is not None
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _profile_dir():
    return resources.files("mineledger.io.profiles") / "builtin"


def builtin_profiles() -> dict[str, Path]:
    """The profiles shipped with mineledger, by name."""
    out = {}
    for entry in _profile_dir().iterdir():
        if entry.name.endswith(".yaml"):
            out[entry.name[:-5]] = Path(str(entry))
    return dict(sorted(out.items()))


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a profile by built-in name or from a YAML file.

    Raises
    ------
    ProfileError
        No such profile, YAML that does not parse, or content that breaks the format
        (the message names the profile, the key and what was expected).
    """
    builtin = builtin_profiles()
    candidate = Path(name_or_path)
    if str(name_or_path) in builtin:
        path = builtin[str(name_or_path)]
    elif candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        path = candidate
    else:
        raise ProfileError(f"no profile {str(name_or_path)!r}: give a profile file (.yaml) or one "
                           f"of the built-in profiles: {', '.join(builtin)}")
    text = path.read_bytes()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(doc, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise ProfileError(f"{path}: unknown key(s) {sorted(unknown)}; expected some of {sorted(_TOP_KEYS)}")
    name = str(doc.get("name") or path.stem)
    try:
        layer = Layer(doc.get("layer"))
    except ValueError:
        raise ProfileError(f"{path}: layer {doc.get('layer')!r}; expected one of "
                           f"{', '.join(l.value for l in Layer)}") from None
    spec = LAYERS[layer]
    fields_doc = doc.get("fields") or {}
    if not isinstance(fields_doc, dict):
        raise ProfileError(f"{path}: 'fields' must map field names to rules")
    rules = {}
    for fname, fspec in fields_doc.items():
        if fname in spec.fields:
            f = spec.fields[fname]
        elif fname in _MAPPABLE_COMMON:
            f = COMMON_FIELDS[fname]
        else:
            raise ProfileError(f"{path}: layer {layer.value!r} has no field {fname!r}; its fields are "
                               f"{', '.join(list(spec.fields) + sorted(_MAPPABLE_COMMON))}")
        rules[fname] = _rule(name, fname, fspec, f.type, f.vocabulary)
    read = doc.get("read") or {}
    geometry = doc.get("geometry") or {}
    key = doc.get("key")
    if isinstance(key, str):
        key = [key]
    if key is not None and not (isinstance(key, list) and key
                                and all(isinstance(k, str) and k for k in key)):
        raise ProfileError(f"{path}: key must be a column name or a list of them, got {key!r}")
    for name_key in ("source", "read", "geometry", "fields"):
        if doc.get(name_key) is not None and not isinstance(doc.get(name_key), dict):
            raise ProfileError(f"{path}: '{name_key}' must be a mapping, got {doc.get(name_key)!r}")
    for name_key in ("organisation", "description", "name"):
        if doc.get(name_key) is not None and not isinstance(doc.get(name_key), (str, int)):
            raise ProfileError(f"{path}: '{name_key}' must be text, got {doc.get(name_key)!r}")
    country = doc.get("country")
    if country is not None and not re.fullmatch(r"[A-Z]{3}", str(country)):
        raise ProfileError(f"{path}: country {country!r}; expected an ISO 3166-1 alpha-3 code such as COL")
    if not isinstance(read, dict) or not isinstance(geometry, dict):
        raise ProfileError(f"{path}: 'read' and 'geometry' must be mappings")
    unknown_read = set(read) - _READ_KEYS
    if unknown_read:
        raise ProfileError(f"{path}: read has unknown key(s) {sorted(unknown_read)}; expected "
                           f"some of {sorted(_READ_KEYS)}")
    encoding = read.get("encoding")
    if encoding is not None:
        try:
            if not codecs.lookup(str(encoding))._is_text_encoding:
                raise LookupError(encoding)
        except LookupError:
            raise ProfileError(f"{path}: read.encoding {encoding!r} is not a known text "
                               "encoding (utf-8-sig, cp1252, latin-1 …)") from None
    if read.get("format") not in (None, "csv", "xlsx", "vector", "parquet"):
        raise ProfileError(f"{path}: read.format {read.get('format')!r}; expected csv, xlsx, "
                           "vector or parquet")
    delimiter = read.get("delimiter", ",")
    for name_key in ("layer", "sheet", "timezone"):
        if read.get(name_key) is not None and not isinstance(read.get(name_key), str):
            raise ProfileError(f"{path}: read.{name_key} must be a name, got {read.get(name_key)!r}")
    if read.get("pattern") is not None and not isinstance(read.get("pattern"), str):
        raise ProfileError(f"{path}: read.pattern must be a file name pattern such as '*.csv', "
                           f"got {read.get('pattern')!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ProfileError(f"{path}: read.delimiter must be one character, got {delimiter!r}")
    timezone = read.get("timezone")
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ProfileError(f"{path}: read.timezone {timezone!r} is not an IANA time zone "
                               "(such as UTC or America/Bogota)") from None
    for rule in rules.values():
        rule.timezone = timezone
    join = _join_rule(path, read.get("join"))
    ignore = read.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(c, str) for c in ignore):
        raise ProfileError(f"{path}: read.ignore must be a list of column names, got {ignore!r}")
    ignore = tuple(ignore)
    from mineledger.model.records import personal_fields

    secret = {r.column for n, r in rules.items() if n in personal_fields(layer.value) and r.column}
    if key and secret & set(key):
        raise ProfileError(f"{path}: key column(s) {sorted(secret & set(key))} hold personal data "
                           "(they are read into personal fields); a key is shown in messages and "
                           "history, so key victims by an id column, or by file and row")
    uuid_column = doc.get("uuid")
    if uuid_column is not None and (not isinstance(uuid_column, str) or key):
        raise ProfileError(f"{path}: uuid names the column that holds mineledger record UUIDs "
                           "(a column name), and takes the place of key: give one of them")
    for name_key in ("status_column", "note_column"):
        if geometry.get(name_key) is not None and not isinstance(geometry[name_key], str):
            raise ProfileError(f"{path}: geometry.{name_key} must be a column name")
    geometry_rule = _geometry_rule(path, geometry, spec.geometry_type in ("POLYGON", "MULTIPOLYGON"))
    return Profile(
        name=name, layer=layer.value, path=str(path), checksum=hashlib.sha256(text).hexdigest(),
        description=str(doc.get("description", "")), country=country,
        organisation=None if doc.get("organisation") is None else str(doc["organisation"]),
        source=dict(doc.get("source") or {}),
        format=read.get("format"), encoding=encoding, delimiter=delimiter,
        pattern=read.get("pattern") or _default_pattern(read.get("format")), key=key,
        pattern_declared=bool(read.get("pattern")), geometry=geometry_rule,
        crs=geometry.get("crs"), layer_name=read.get("layer"), sheet=read.get("sheet"),
        timezone=timezone, join=join, rules=rules, ignore=ignore,
        status_column=geometry.get("status_column"), note_column=geometry.get("note_column"),
        uuid_column=uuid_column,
    )


def _join_rule(path: Path, doc: Any) -> JoinRule | None:
    if doc is None:
        return None
    where = f"{path}: read.join"
    if isinstance(doc, dict) and True in doc:
        raise ProfileError(f"{where}: YAML reads the key 'on' as true; name the columns with "
                           "child: COLUMN (the repeat row's) and parent: COLUMN (the parent's)")
    if not isinstance(doc, dict) or set(doc) - {"file", "sheet", "child", "parent", "prefix"}:
        keys = sorted(map(str, doc)) if isinstance(doc, dict) else doc
        raise ProfileError(f"{where}: expected a mapping with child (the repeat row's column "
                           "that holds its parent's key), parent (the parent's key column), "
                           f"file or sheet, and optionally prefix; got {keys!r}")
    for key in ("child", "parent"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            raise ProfileError(f"{where}.{key}: expected a column name, got {doc.get(key)!r}")
    if not doc.get("file") and not doc.get("sheet"):
        raise ProfileError(f"{where}: give file (CSV or XLSX beside the source) or sheet")
    prefix = doc.get("prefix", "parent.")
    if not isinstance(prefix, str) or not prefix:
        raise ProfileError(f"{where}.prefix: expected text such as 'parent.'")
    return JoinRule((doc["child"], doc["parent"]), doc.get("file"), doc.get("sheet"), prefix)


def _geometry_rule(path: Path, doc: dict, polygonal: bool) -> GeometryRule | None:
    unknown = set(doc) - _GEOMETRY_KEYS
    if unknown:
        raise ProfileError(f"{path}: geometry has unknown key(s) {sorted(unknown)}; expected "
                           f"some of {sorted(_GEOMETRY_KEYS)}")
    crs = doc.get("crs")
    if crs is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(crs)
        except CRSError:
            raise ProfileError(f"{path}: geometry.crs {crs!r} is not a coordinate reference "
                               "system pyproj knows (for example EPSG:4326 or EPSG:9377)") from None
    if bool(doc.get("x")) != bool(doc.get("y")):
        raise ProfileError(f"{path}: geometry needs both x (longitude, easting) and y "
                           "(latitude, northing) columns")
    kinds = [k for k in GEOMETRY_KINDS if doc.get(k)]
    if len(kinds) > 1:
        raise ProfileError(f"{path}: geometry takes one of {', '.join(GEOMETRY_KINDS)}; got "
                           f"{', '.join(kinds)}")
    if not kinds:
        return None
    kind = kinds[0]
    column = doc[kind]
    if not isinstance(column, str):
        raise ProfileError(f"{path}: geometry.{kind} must be a column name, got {column!r}")
    if kind == "x" and not isinstance(doc.get("y"), str):
        raise ProfileError(f"{path}: geometry.y must be a column name, got {doc.get('y')!r}")
    if kind in ("x", "wkt") and not crs:
        raise ProfileError(f"{path}: geometry.crs is required with x/y or wkt columns (for "
                           "example EPSG:4326)")
    if kind not in ("x", "wkt") and crs is not None:
        from pyproj import CRS

        if not CRS.from_user_input(crs).equals(CRS.from_epsg(4326)):
            raise ProfileError(f"{path}: geometry.{kind} gives WGS 84 degrees (or UTM/MGRS "
                               f"grid references); geometry.crs {crs!r} does not apply")
    notation = doc.get("notation", "decimal")
    if notation not in ("decimal", "dms"):
        raise ProfileError(f"{path}: geometry.notation {notation!r}; expected decimal or dms "
                           "(degrees-minutes-seconds; decimal degrees are read too)")
    if notation == "dms" and kind != "x":
        raise ProfileError(f"{path}: geometry.notation applies to x/y columns; point cells "
                           "read degrees-minutes-seconds as they are")
    decimal = doc.get("decimal", ".")
    if decimal not in (".", ","):
        raise ProfileError(f"{path}: geometry.decimal {decimal!r}; expected '.' or ','")
    order = doc.get("order", "latlon")
    if order not in ("latlon", "lonlat"):
        raise ProfileError(f"{path}: geometry.order {order!r}; expected latlon or lonlat")
    letter = doc.get("letter", "hemisphere")
    if letter not in ("hemisphere", "band"):
        raise ProfileError(f"{path}: geometry.letter {letter!r}; expected hemisphere (18N = "
                           "zone 18, northern hemisphere) or band (18S = zone 18, MGRS band S)")
    if polygonal and kind not in ("wkt", "geoshape", "geotrace"):
        raise ProfileError(f"{path}: the layer holds polygons; geometry.{kind} gives points "
                           "(use wkt, geoshape or geotrace)")
    if not polygonal and kind in ("geoshape", "geotrace"):
        raise ProfileError(f"{path}: the layer holds points; geometry.{kind} gives a shape "
                           "(use geopoint, point, x/y, utm or mgrs)")
    return GeometryRule(kind, column, doc.get("y") if kind == "x" else None, crs or "EPSG:4326",
                        notation, decimal, order, letter, polygonal)
