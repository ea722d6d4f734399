"""Import profiles: declarative mappings from a source's columns to a record layer.

A profile is a YAML file (the built-in ones are in ``mineledger/io/profiles/``); a new
source needs a profile, not code. The format is documented in ``docs/profiles.md``. In
short::

    name: bih-incidents            # how --profile refers to it
    layer: events                  # hazards | cleared_areas | events | victims | admin_areas
    country: BIH                   # default ISO3 (or map a column to the field ``country``)
    source: {title, publisher, licence, url}   # credited in reports
    read: {format: csv|vector, encoding: utf-8-sig, pattern: "*.geojson", delimiter: ","}
    key: [col, …]                  # optional: columns that identify a row in its source
    geometry: {x: lon_column, y: lat_column, crs: EPSG:4326}   # CSV points; omit for GIS files
    fields:
      event_type: {column: typeArea, map: {Incidents: mine_incident}}
      year: {column: ano, parse: integer, thousands: ",", min: 1990, max: current_year}
      location_precision: {value: exact}

Field rules: ``column`` or ``value`` (a constant); ``parse`` one of ``text`` (default),
``integer``, ``real``, ``code`` (digits only, thousands separators removed, zero-padded to
``width``), ``boolean``; ``regex`` (keep the first group); ``map`` (source value → stored
value; a value not in the map is rejected unless ``default`` is given); ``null_values``
(values that mean "not known"); ``required``; ``min``/``max`` (``current_year`` allowed);
``upper``. Empty text is null.
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

_PARSERS = {"text", "integer", "real", "code", "boolean", "date"}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)
#: The parse a field's type needs; a rule whose parse gives another type is refused on load.
_PARSE_FOR_TYPE = {"integer": {"integer"}, "real": {"real", "integer"}, "boolean": {"boolean"},
                   "date": {"date"}, "text": {"text", "code"}}
_RULE_KEYS = {"column", "value", "parse", "regex", "map", "default", "null_values", "required",
              "min", "max", "thousands", "decimal", "width", "upper", "note", "unit"}
#: Area units a profile may declare; values are converted to m² on input.
AREA_UNITS = {"m2": 1.0, "ha": 1e4, "km2": 1e6}
_TOP_KEYS = {"name", "description", "layer", "country", "organisation", "source", "read", "key",
             "geometry", "fields", "version"}
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

    def apply(self, props: dict[str, Any]) -> Any:
        """The stored value for a row's properties; raises :class:`FieldError`."""
        if self.column is None:
            return self.value
        raw = props.get(self.column)
        value = unicodedata.normalize("NFC", raw).strip() if isinstance(raw, str) else raw
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
            key = str(value)
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
        if kind == "date":
            if isinstance(value, dt.datetime):
                return value.date()
            if isinstance(value, dt.date):
                return value
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                raise FieldError(self.name, self.column, raw, "a date as YYYY-MM-DD") from None
        if isinstance(value, bool):
            raise FieldError(self.name, self.column, raw, "a number")
        text = self._number_text(value)
        if not isinstance(value, (int, float)) and not _NUMBER.fullmatch(text):
            raise FieldError(self.name, self.column, raw,
                             "an integer" if kind == "integer" else "a number")
        number = float(text)
        if kind == "integer":
            if not number.is_integer():
                raise FieldError(self.name, self.column, raw, "an integer")
            number = int(number)
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
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    pattern: str = "*"
    pattern_declared: bool = False
    key: list[str] | None = None
    x: str | None = None
    wkt: str | None = None
    layer_name: str | None = None
    y: str | None = None
    crs: str | None = None
    rules: dict[str, FieldRule] = field(default_factory=dict)

    @cached_property
    def columns(self) -> set[str]:
        """Source columns the profile reads."""
        cols = {r.column for r in self.rules.values() if r.column}
        cols |= {c for c in (self.x, self.y, self.wkt) if c}
        cols |= set(self.key or [])
        return cols


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
                               "date": "date"}.get(ftype, "text"))
    if parse not in _PARSERS:
        raise ProfileError(f"{where}: parse {parse!r}; expected one of {sorted(_PARSERS)}")
    if "column" in spec and (not isinstance(spec["column"], str) or not spec["column"]):
        raise ProfileError(f"{where}: column must be a column name (text), got {spec['column']!r}")
    if "map" not in spec and "value" not in spec and parse not in _PARSE_FOR_TYPE.get(ftype, {parse}):
        raise ProfileError(f"{where}: parse {parse!r} does not give a {ftype}; use parse: "
                           f"{sorted(_PARSE_FOR_TYPE[ftype])[0]}")
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
        scale=AREA_UNITS.get(spec.get("unit", "m2"), 1.0),
    )


def _default_pattern(fmt: str | None) -> str:
    """Files taken from a folder when the profile names no pattern."""
    return {"csv": "*.csv", "vector": "*.geojson"}.get(fmt or "", "*.*")


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
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _profile_dir():
    return resources.files("mineledger.io") / "profiles"


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
    country = doc.get("country")
    if country is not None and not re.fullmatch(r"[A-Z]{3}", str(country)):
        raise ProfileError(f"{path}: country {country!r}; expected an ISO 3166-1 alpha-3 code such as COL")
    encoding = read.get("encoding", "utf-8-sig")
    try:
        codecs.lookup(str(encoding))
    except LookupError:
        raise ProfileError(f"{path}: read.encoding {encoding!r} is not a known text encoding "
                           "(utf-8-sig, cp1252, latin-1 …)") from None
    if read.get("format") not in (None, "csv", "vector"):
        raise ProfileError(f"{path}: read.format {read.get('format')!r}; expected csv or vector")
    delimiter = read.get("delimiter", ",")
    if read.get("layer") is not None and not isinstance(read.get("layer"), str):
        raise ProfileError(f"{path}: read.layer must be a layer name, got {read.get('layer')!r}")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ProfileError(f"{path}: read.delimiter must be one character, got {delimiter!r}")
    if geometry.get("crs") is not None:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(geometry["crs"])
        except CRSError:
            raise ProfileError(f"{path}: geometry.crs {geometry['crs']!r} is not a coordinate "
                               "reference system pyproj knows (for example EPSG:4326)") from None
    if bool(geometry.get("x")) != bool(geometry.get("y")):
        raise ProfileError(f"{path}: geometry needs both x (longitude) and y (latitude) columns")
    if (geometry.get("x") or geometry.get("wkt")) and not geometry.get("crs"):
        raise ProfileError(f"{path}: geometry.crs is required with x/y or wkt columns (for "
                           "example EPSG:4326)")
    if geometry.get("x") and geometry.get("wkt"):
        raise ProfileError(f"{path}: geometry takes x/y columns or a wkt column, not both")
    unknown_geom = set(geometry) - {"x", "y", "wkt", "crs"}
    if unknown_geom:
        raise ProfileError(f"{path}: geometry has unknown key(s) {sorted(unknown_geom)}; "
                           "expected x, y, wkt, crs")
    return Profile(
        name=name, layer=layer.value, path=str(path), checksum=hashlib.sha256(text).hexdigest(),
        description=str(doc.get("description", "")), country=country,
        organisation=doc.get("organisation"), source=dict(doc.get("source") or {}),
        format=read.get("format"), encoding=encoding, delimiter=delimiter,
        pattern=read.get("pattern") or _default_pattern(read.get("format")), key=key,
        pattern_declared=bool(read.get("pattern")),
        x=geometry.get("x"), y=geometry.get("y"), wkt=geometry.get("wkt"),
        crs=geometry.get("crs"), layer_name=read.get("layer"), rules=rules,
    )
