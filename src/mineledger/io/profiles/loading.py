"""Loading and validating import profiles: declarative mappings from a source's columns to a
record layer.

A profile is a YAML file (the built-in ones are in ``mineledger/io/profiles/builtin/``); a new
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
      event_date: {parts: {year: anio, month: mes, day: dia}}       # a date from its parts
      killed: {compute: {op: difference, columns: [total, heridos]}, min: 0}

Field rules: ``column`` or ``value`` (a constant); ``parse`` one of ``text`` (default),
``integer``, ``real``, ``code`` (digits only, thousands separators removed, zero-padded to
``width``), ``boolean``; ``regex`` (keep the first group); ``map`` (source value → stored
value; a value not in the map is rejected unless ``default`` is given); ``null_values``
(values that mean "not known"); ``required``; ``min``/``max`` (``current_year`` allowed);
``upper``; for dates ``format`` (``iso`` default, ``dmy``, ``mdy``, ``ymd``, ``serial``
— spreadsheet day numbers — or a ``strptime`` pattern). Instead of ``column``, a date field
may read ``parts`` (year, month and day columns; the precision of a date known only to the
year or the month is kept in the layer's ``year`` and ``month``), and a number field may
``compute`` the ``sum`` or the ``difference`` of columns (no expressions). Empty text is
null. A column name that starts with ``#`` is an HXL tag pattern, matched against the file's
hashtag row.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pyproj import CRS
from pyproj.exceptions import CRSError

from mineledger.errors import ProfileError
from mineledger.io.profiles.definitions import GEOMETRY_KINDS, GeometryRule, JoinRule, Profile
from mineledger.io.profiles.values import (AREA_UNITS, COMPUTE_OPS, DATE_FORMATS, DATE_PARTS,
                                           FieldRule)
from mineledger.model.codes import EXPECTED as EXPECTED_COUNTRY
from mineledger.model.codes import checked_country, country_code
from mineledger.model.records import COMMON_FIELDS, LAYERS, personal_fields
from mineledger.model.vocab import Layer

_PARSERS = {"text", "integer", "real", "code", "boolean", "date", "datetime"}
#: The parse a field's type needs; a rule whose parse gives another type is refused on load.
_PARSE_FOR_TYPE = {"integer": {"integer"}, "real": {"real", "integer"}, "boolean": {"boolean"},
                   "date": {"date"}, "datetime": {"datetime"}, "text": {"text", "code"}}
_RULE_KEYS = {"column", "value", "parse", "regex", "map", "default", "null_values", "required",
              "min", "max", "thousands", "decimal", "width", "upper", "note", "unit", "format",
              "parts", "compute"}
#: What a rule that reads a date from its parts, or computes a number, may say besides.
_DERIVED_KEYS = {"parts": {"parts", "required", "min", "max", "null_values", "note"},
                 "compute": {"compute", "required", "min", "max", "null_values", "thousands",
                             "decimal", "unit", "note"}}
#: Read keys and geometry keys a profile may use.
_READ_KEYS = {"format", "encoding", "delimiter", "pattern", "layer", "sheet", "timezone", "join",
              "ignore"}
_GEOMETRY_KEYS = {"x", "y", "wkt", "crs", "notation", "decimal", "point", "order", "geopoint",
                  "geotrace", "geoshape", "utm", "letter", "mgrs", "status_column",
                  "note_column"}
_TOP_KEYS = {"name", "description", "layer", "country", "organisation", "source", "read", "key",
             "geometry", "fields", "version", "uuid"}
_MAPPABLE_COMMON = {"country", "organisation", "date_of_information"}

def _max_value(v):
    if v == "current_year":
        return dt.date.today().year
    return v


def _check_numbers(where: str, spec: dict) -> None:
    """``required``, ``min``/``max``, ``thousands``/``decimal`` and ``width`` of a rule."""
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


def _check_format(where: str, parse: str, fmt: Any) -> None:
    """A date rule's ``format``: a notation of :data:`DATE_FORMATS` or a strptime pattern that
    reads back the dates it writes."""
    if fmt is None:
        return
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


def _check_mapping(where: str, spec: dict, ftype: str, vocab) -> dict[str, Any] | None:
    """A rule's ``map`` (keys as text; booleans written as text read as booleans), and every
    value it, ``value`` or ``default`` can produce fitting the field's vocabulary and type."""
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
    return mapping


def _parts(where: str, parts: Any, ftype: str) -> dict[str, str]:
    """A ``parts`` rule's columns: ``{year: COLUMN, month: COLUMN, day: COLUMN}``, the year
    required, a day only with a month, on a date field."""
    if ftype != "date":
        raise ProfileError(f"{where}: parts gives a date; the field is a {ftype}")
    if not isinstance(parts, dict) or not parts or set(parts) - set(DATE_PARTS):
        raise ProfileError(f"{where}: parts must be a mapping such as {{year: COLUMN, month: "
                           f"COLUMN, day: COLUMN}}, got {parts!r}")
    for part, column in parts.items():
        if not isinstance(column, str) or not column:
            raise ProfileError(f"{where}: parts.{part} must be a column name, got {column!r}")
    if "year" not in parts:
        raise ProfileError(f"{where}: parts needs the year column (parts.year)")
    if "day" in parts and "month" not in parts:
        raise ProfileError(f"{where}: parts names a day but no month (parts.month)")
    return {p: parts[p] for p in DATE_PARTS if p in parts}


def _compute(where: str, compute: Any, ftype: str) -> tuple[str, tuple[str, ...]]:
    """A ``compute`` rule: ``{op: sum|difference, columns: [A, B, …]}`` on a number field."""
    if ftype not in ("integer", "real"):
        raise ProfileError(f"{where}: compute gives a number; the field is a {ftype}")
    if not isinstance(compute, dict) or set(compute) != {"op", "columns"}:
        raise ProfileError(f"{where}: compute must be a mapping {{op: sum or difference, "
                           f"columns: [COLUMN, COLUMN, …]}}, got {compute!r}")
    op, columns = compute["op"], compute["columns"]
    if op not in COMPUTE_OPS:
        raise ProfileError(f"{where}: compute.op {op!r}; expected one of {', '.join(COMPUTE_OPS)} "
                           "(sum adds the columns; difference takes the others from the first)")
    if not isinstance(columns, list) or len(columns) < 2 or not all(
            isinstance(c, str) and c for c in columns):
        raise ProfileError(f"{where}: compute.columns must list two or more column names, "
                           f"got {columns!r}")
    return op, tuple(columns)


def _derived_rule(where: str, name: str, spec: dict, ftype: str, vocab) -> FieldRule:
    """A rule that reads a date from its ``parts`` or ``compute``s a number from columns."""
    kinds = [k for k in ("parts", "compute") if k in spec]
    given = [k for k in ("column", "value") if k in spec] + kinds
    if len(given) > 1:
        raise ProfileError(f"{where}: give one of 'column', 'value', 'parts' or 'compute', "
                           f"not {' and '.join(given)}")
    kind = kinds[0]
    extra = set(spec) - _DERIVED_KEYS[kind]
    if extra:
        raise ProfileError(f"{where}: {kind} takes {', '.join(sorted(_DERIVED_KEYS[kind] - {kind}))}"
                           f" besides, not {', '.join(sorted(extra))}")
    _check_numbers(where, spec)
    if "unit" in spec and (spec["unit"] not in AREA_UNITS or ftype != "real"):
        raise ProfileError(f"{where}: unit {spec['unit']!r} applies to area fields (real): one "
                           f"of {', '.join(AREA_UNITS)}")
    nulls = spec.get("null_values", [])
    if not isinstance(nulls, list):
        raise ProfileError(f"{where}: null_values must be a list such as [\"n/a\", \"-\"], got {nulls!r}")
    parts = _parts(where, spec["parts"], ftype) if kind == "parts" else None
    compute = _compute(where, spec["compute"], ftype) if kind == "compute" else None
    return FieldRule(
        name=name, type=ftype, vocabulary=vocab, parse=ftype, parts=parts, compute=compute,
        null_values=frozenset(str(v) for v in nulls), required=bool(spec.get("required", False)),
        min=spec.get("min"), max=_max_value(spec.get("max")), thousands=spec.get("thousands"),
        decimal=spec.get("decimal", "."), scale=AREA_UNITS.get(spec.get("unit", "m2"), 1.0))


def _rule(profile: str, name: str, spec: Any, ftype: str, vocab) -> FieldRule:
    """The field rule ``spec`` of a profile, validated against the field's type and
    vocabulary.

    Raises
    ------
    ProfileError
        Naming the profile, the field, the key and what was expected.
    """
    where = f"profile {profile!r}, field {name!r}"
    if not isinstance(spec, dict):
        spec = {"column": spec} if isinstance(spec, str) else None
    if spec is None:
        raise ProfileError(f"{where}: expected a mapping such as {{column: NAME}} or {{value: X}}")
    _known_keys(where, spec, _RULE_KEYS)
    if "parts" in spec or "compute" in spec:
        return _derived_rule(where, name, spec, ftype, vocab)
    if ("column" in spec) == ("value" in spec):
        raise ProfileError(f"{where}: give exactly one of 'column', 'value', 'parts' (a date "
                           "from year, month and day columns) or 'compute' (a number from "
                           "others)")
    parse = spec.get("parse", {"integer": "integer", "real": "real", "boolean": "boolean",
                               "date": "date", "datetime": "datetime"}.get(ftype, "text"))
    if parse not in _PARSERS:
        raise ProfileError(f"{where}: parse {parse!r}; expected one of {sorted(_PARSERS)}")
    if "column" in spec and (not isinstance(spec["column"], str) or not spec["column"]):
        raise ProfileError(f"{where}: column must be a column name (text), got {spec['column']!r}")
    if "map" not in spec and "value" not in spec and parse not in _PARSE_FOR_TYPE.get(ftype, {parse}):
        raise ProfileError(f"{where}: parse {parse!r} does not give a {ftype}; use parse: "
                           f"{sorted(_PARSE_FOR_TYPE[ftype])[0]}")
    _check_numbers(where, spec)
    fmt = spec.get("format")
    _check_format(where, parse, fmt)
    if "unit" in spec and spec["unit"] not in AREA_UNITS:
        raise ProfileError(f"{where}: unit {spec['unit']!r}; expected one of {', '.join(AREA_UNITS)}")
    if "unit" in spec and ftype != "real":
        raise ProfileError(f"{where}: unit applies to area fields (real), not to a {ftype}")
    nulls = spec.get("null_values", [])
    if not isinstance(nulls, list):
        raise ProfileError(f"{where}: null_values must be a list such as [\"n/a\", \"-\"], got {nulls!r}")
    mapping = _check_mapping(where, spec, ftype, vocab)
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


def _profile_path(name_or_path: str | Path) -> Path:
    builtin = builtin_profiles()
    candidate = Path(name_or_path)
    if str(name_or_path) in builtin:
        return builtin[str(name_or_path)]
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    raise ProfileError(f"no profile {str(name_or_path)!r}: give a profile file (.yaml) or one "
                       f"of the built-in profiles: {', '.join(builtin)}")


#: The largest profile read, in bytes: a profile is a page of YAML; a larger file is a
#: mistake (a data file named as the profile) or an attack on the reader.
MAX_PROFILE_BYTES = 1 << 20
#: The deepest nesting of mappings and lists a profile may have (the format needs 4).
MAX_PROFILE_DEPTH = 64


class _PlainDumper(yaml.SafeDumper):
    """Writes a value met twice in full, never as an anchor and an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_profile(doc: dict[str, Any]) -> str:
    """The YAML text of a profile document (keys in their order, Unicode as it is), with no
    anchors or aliases, which :func:`load_profile` refuses."""
    return yaml.dump(doc, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)


def check_yaml_shape(path: Path, text: bytes, *, error: type[Exception] = ProfileError,
                     what: str = "a profile") -> None:
    """Refuse, from the YAML's event stream and before anything is built from it, what a
    declarative file (a profile, a rule set) never needs and an attacker would use: a huge
    text, deep nesting, a key given twice in one mapping (YAML keeps the last silently:
    ``layer: events`` then ``layer: hazards`` would import events as hazards), and anchors or
    aliases (``&name``/``*name``: an alias bomb — "billion laughs" — expands a few lines into
    billions of values, and PyYAML's ``safe_load`` expands aliases).

    Raises
    ------
    error (ProfileError by default)
        Naming the file, the line and what ``what`` may hold.
    yaml.YAMLError
        The text is not YAML.
    """
    if len(text) > MAX_PROFILE_BYTES:
        raise error(f"{path}: {len(text):,} bytes; {what} is at most "
                    f"{MAX_PROFILE_BYTES:,} (is it the data file?)")
    depth = 0
    mappings: list[dict | None] = []  # per open collection: a mapping's keys so far, or None
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        twice = _key_given_twice(mappings, event, line)
        if twice:
            raise error(f"{path}: line {line}: key {twice[0]!r} given twice (first at line "
                        f"{twice[1]}); {what} gives each key once")
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = "*" if isinstance(event, yaml.AliasEvent) else "&"
            kind = "alias" if mark == "*" else "anchor"
            raise error(f"{path}: line {line}: YAML {kind} '{mark}{event.anchor}'; {what} "
                        "uses no anchors or aliases (&name, *name): write each value out")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_PROFILE_DEPTH:
                raise error(f"{path}: line {line}: nested {depth} levels deep; {what} needs "
                            f"a few (at most {MAX_PROFILE_DEPTH})")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _key_given_twice(mappings: list[dict | None], event, line: int) -> tuple[str, int] | None:
    """Follow the event stream's mappings; a key given twice in one: (the key, the line it
    was first given at)."""
    if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent, yaml.AliasEvent)):
        frame = mappings[-1] if mappings else None
        if frame is not None:
            if frame["key"] and isinstance(event, yaml.ScalarEvent):
                if event.value in frame["seen"]:
                    return event.value, frame["seen"][event.value]
                frame["seen"][event.value] = line
            frame["key"] = not frame["key"]
        if isinstance(event, yaml.MappingStartEvent):
            mappings.append({"key": True, "seen": {}})
        elif isinstance(event, yaml.SequenceStartEvent):
            mappings.append(None)
    elif isinstance(event, yaml.CollectionEndEvent):
        mappings.pop()
    return None


def safe_yaml(path: Path, text: bytes, *, error: type[Exception] = ProfileError,
              what: str = "a profile") -> Any:
    """The document of a declarative YAML file (a profile, a rule set), its shape checked
    first (:func:`check_yaml_shape`).

    Raises
    ------
    error (ProfileError by default)
        The shape refused, or not YAML (one line: where, and the parser's problem).
    """
    try:
        check_yaml_shape(path, text, error=error, what=what)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}: not valid YAML{where}: {problem}") from None


def _document(path: Path, text: bytes) -> dict:
    """The profile's YAML as a mapping with known top-level keys of the right kinds."""
    doc = safe_yaml(path, text)
    if not isinstance(doc, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    _known_keys(str(path), doc, _TOP_KEYS)
    for name_key in ("source", "read", "geometry", "fields"):
        if doc.get(name_key) is not None and not isinstance(doc.get(name_key), dict):
            raise ProfileError(f"{path}: '{name_key}' must be a mapping, got {doc.get(name_key)!r}")
    for name_key in ("organisation", "description", "name"):
        if doc.get(name_key) is not None and not isinstance(doc.get(name_key), (str, int)):
            raise ProfileError(f"{path}: '{name_key}' must be text, got {doc.get(name_key)!r}")
    return doc


def _field_rules(path: Path, name: str, layer: Layer, fields_doc: dict) -> dict[str, FieldRule]:
    spec = LAYERS[layer]
    rules = {}
    for fname, fspec in fields_doc.items():
        if fname in spec.fields:
            f = spec.fields[fname]
        elif fname in _MAPPABLE_COMMON:
            f = COMMON_FIELDS[fname]
        else:
            raise ProfileError(f"{path}: layer {layer.value!r} has no field {fname!r}; its fields are "
                               f"{', '.join(list(spec.fields) + sorted(_MAPPABLE_COMMON))}")
        if f.personal and isinstance(fspec, dict) and "parts" in fspec:
            raise ProfileError(f"{path}: field {fname!r} holds personal data; parts keeps a "
                               "date's precision in fields that are not: map the column")
        rules[fname] = _rule(name, fname, fspec, f.type, f.vocabulary)
    return rules


def _parts_fill(path: Path, layer: Layer, rules: dict[str, FieldRule]):
    """(the field whose parts fill the layer's ``year`` and ``month``, the fields they fill):
    the one ``parts`` rule, or the one on the layer's own date field (``event_date`` rather
    than ``date_of_information``), where the layer has a year. Every other ``parts`` rule
    must read complete dates (a row with a missing part goes to quarantine).

    Raises
    ------
    ProfileError
        Two of the layer's own date fields take parts and the profile maps no year.
    """
    with_parts = [n for n, r in rules.items() if r.parts is not None]
    fields = LAYERS[layer].fields
    if not with_parts or "year" not in fields:
        source = None
    else:
        own = [n for n in with_parts if n in fields] or with_parts
        if len(own) > 1 and "year" not in rules:
            raise ProfileError(f"{path}: fields {', '.join(own)} both read a date from parts; "
                               "map year (and month) to say which date they are of")
        source = own[0]
    for n in with_parts:
        rules[n].complete = n != source
    fills = tuple(f for f in ("year", "month") if f in fields and f not in rules) if source else ()
    return source, fills


def _known_keys(where: str, section: dict, keys) -> None:
    """Refuse keys a profile section does not know, naming them and the known ones."""
    unknown = set(section) - set(keys)
    if unknown:
        said = where if where.endswith(" has") else where + ":"
        raise ProfileError(f"{said} unknown key(s) {sorted(unknown)}; expected some of "
                           f"{sorted(keys)}")


def _check_read(path: Path, read: dict) -> None:
    """The ``read`` section: known keys, a text encoding, a format, names, a one-character
    delimiter, an IANA time zone, a list of ignored columns."""
    _known_keys(f"{path}: read has", read, _READ_KEYS)
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
    for name_key in ("layer", "sheet", "timezone"):
        if read.get(name_key) is not None and not isinstance(read.get(name_key), str):
            raise ProfileError(f"{path}: read.{name_key} must be a name, got {read.get(name_key)!r}")
    if read.get("pattern") is not None and not isinstance(read.get("pattern"), str):
        raise ProfileError(f"{path}: read.pattern must be a file name pattern such as '*.csv', "
                           f"got {read.get('pattern')!r}")
    delimiter = read.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ProfileError(f"{path}: read.delimiter must be one character, got {delimiter!r}")
    timezone = read.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ProfileError(f"{path}: read.timezone {timezone!r} is not an IANA time zone "
                               "(such as UTC or America/Bogota)") from None
    ignore = read.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(c, str) for c in ignore):
        raise ProfileError(f"{path}: read.ignore must be a list of column names, got {ignore!r}")


def _identity(path: Path, doc: dict, layer: Layer, rules: dict[str, FieldRule]):
    """(key columns or None, uuid column or None): how rows are identified."""
    key = doc.get("key")
    if isinstance(key, str):
        key = [key]
    if key is not None and not (isinstance(key, list) and key
                                and all(isinstance(k, str) and k for k in key)):
        raise ProfileError(f"{path}: key must be a column name or a list of them, got {key!r}")
    secret = {c for n, r in rules.items() if n in personal_fields(layer.value) for c in r.columns}
    if key and secret & set(key):
        raise ProfileError(f"{path}: key column(s) {sorted(secret & set(key))} hold personal data "
                           "(they are read into personal fields); a key is shown in messages and "
                           "history, so key victims by an id column, or by file and row")
    uuid_column = doc.get("uuid")
    if uuid_column is not None and (not isinstance(uuid_column, str) or key):
        raise ProfileError(f"{path}: uuid names the column that holds mineledger record UUIDs "
                           "(a column name), and takes the place of key: give one of them")
    return key, uuid_column


#: What ``mineledger profile infer`` writes where a person must give the country.
COUNTRY_PLACEHOLDER = "CHOOSE-ISO3"


def _country(path: Path, doc: dict, override: str | None) -> str | None:
    """The profile's country; a draft's ``CHOOSE`` placeholder gives way to ``override``
    (``--country``)."""
    country = doc.get("country")
    if isinstance(country, str) and country.startswith("CHOOSE"):
        if override is None:
            raise ProfileError(f"{path}: country {country!r} is a draft's placeholder: set "
                               "country: ISO3 in the profile, or pass --country ISO3")
        return checked_country(override, error=ProfileError)
    if country is None:
        return None
    code = country_code(country)
    if code is None:
        raise ProfileError(f"{path}: country {country!r}; expected {EXPECTED_COUNTRY}")
    return code


def load_profile(name_or_path: str | Path, *, country: str | None = None) -> Profile:
    """Load a profile by built-in name or from a YAML file (docs/profiles.md).

    ``country`` (``--country``) takes the place of the ``CHOOSE-ISO3`` placeholder that
    ``mineledger profile infer`` writes when no column gives the country; a profile that
    names its country keeps it (an import then refuses a ``--country`` that contradicts it).

    Raises
    ------
    ProfileError
        No such profile, YAML that does not parse, or content that breaks the format
        (the message names the profile, the key and what was expected).
    """
    path = _profile_path(name_or_path)
    text = path.read_bytes()
    doc = _document(path, text)
    name = str(doc.get("name") or path.stem)
    try:
        layer = Layer(doc.get("layer"))
    except ValueError:
        raise ProfileError(f"{path}: layer {doc.get('layer')!r}; expected one of "
                           f"{', '.join(l.value for l in Layer)}") from None
    rules = _field_rules(path, name, layer, doc.get("fields") or {})
    read = doc.get("read") or {}
    geometry = doc.get("geometry") or {}
    country = _country(path, doc, country)
    _check_read(path, read)
    for rule in rules.values():
        rule.timezone = read.get("timezone")
    key, uuid_column = _identity(path, doc, layer, rules)
    for name_key in ("status_column", "note_column"):
        if geometry.get(name_key) is not None and not isinstance(geometry[name_key], str):
            raise ProfileError(f"{path}: geometry.{name_key} must be a column name")
    polygonal = LAYERS[layer].geometry_type in ("POLYGON", "MULTIPOLYGON")
    parts_field, parts_fills = _parts_fill(path, layer, rules)
    return Profile(
        name=name, layer=layer.value, path=str(path), checksum=hashlib.sha256(text).hexdigest(),
        description=str(doc.get("description", "")), country=country,
        organisation=None if doc.get("organisation") is None else str(doc["organisation"]),
        source=dict(doc.get("source") or {}),
        format=read.get("format"), encoding=read.get("encoding"),
        delimiter=read.get("delimiter", ","),
        pattern=read.get("pattern") or _default_pattern(read.get("format")), key=key,
        pattern_declared=bool(read.get("pattern")),
        geometry=_geometry_rule(path, geometry, polygonal),
        crs=geometry.get("crs"), layer_name=read.get("layer"), sheet=read.get("sheet"),
        timezone=read.get("timezone"), join=_join_rule(path, read.get("join")), rules=rules,
        ignore=tuple(read.get("ignore", [])),
        status_column=geometry.get("status_column"), note_column=geometry.get("note_column"),
        uuid_column=uuid_column, parts_field=parts_field, parts_fills=parts_fills,
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
    _known_keys(f"{path}: geometry has", doc, _GEOMETRY_KEYS)
    crs = doc.get("crs")
    if crs is not None:
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
