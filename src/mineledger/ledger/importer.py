"""Import: read → map (profile) → validate → store, in one transaction.

Every row or feature of a source is either stored or put in quarantine with a reason that
names the file, the row or feature, the field and what was expected. A record whose geometry
is missing, empty or invalid is stored and flagged (invalid polygons repaired, the original
kept). Identity comes from the source — a key the profile declares, or the file's name
relative to its data folder plus the row or feature number — so importing the same source
again changes no record (it only records that the import ran).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point

from mineledger.access import Action, Actor, PermissionDenied, Role, Session, authorize
from mineledger.access.roles import refuse_role
from mineledger.access.session import open_store
from mineledger.errors import MineledgerError, ProfileError, SourceError, StrictImportError
from mineledger.geo import geodesic_area, repair_polygonal
from mineledger.geo.antimeridian import (crosses_antimeridian, crosses_antimeridian_many,
                                         split_at_antimeridian)
from mineledger.geo.arrays import geometry_array
from mineledger.io.profiles import FieldError, Profile, load_profile
from mineledger.io.readers import (DATA_SUFFIXES, SourceRow, file_checksum, hxl_match,
                                   is_source, read_sheet, read_source)
from mineledger.land import lifecycle
from mineledger.ledger.quality import import_warnings
from mineledger.model import rules
from mineledger.model.codes import EXPECTED as EXPECTED_COUNTRY
from mineledger.model.codes import checked_country, country_code
from mineledger.model.records import LAYERS, personal_fields
from mineledger.model.vocab import GeometryStatus
from mineledger.progress import ProgressFactory, no_progress
from mineledger.store.base import Writer
from mineledger.store.locations import is_postgres_url
from mineledger.store.types import json_encoder
from mineledger.victims import crypto, personal

#: Namespace of mineledger record UUIDs (UUID 5 of the source identity).
NAMESPACE = uuid.UUID("6b1f8e1e-3c2a-5d0e-9a57-4d1e2f6c9b10")
#: Fields of a hazard's summary that reports maintain after import (the life cycle); a
#: re-imported source row overwrites them only if its date of information is later.
SUMMARY_FIELDS = ("status", "hazard_type", "evidence", "date_of_information", "perimeter_date")
#: Imports with more rows than this show a progress bar.
PROGRESS_THRESHOLD = 2000
#: A folder holding this file is a data folder: source names are relative to it.
DATA_FOLDER_MARKER = "SOURCES.md"


@dataclass
class QuarantinedRow:
    """A row that was not stored, with the reason a person can act on."""

    source_file: str
    locator: str
    field: str | None
    value: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.source_file}, {self.locator}: {self.reason}"


@dataclass
class FileReport:
    """What one import of one file did."""

    import_id: str
    source_file: str
    layer: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: list[QuarantinedRow] = field(default_factory=list)
    geometry_flags: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did, file by file, and what the per-record quality rules found in the
    records it wrote (``warnings``: ``{rule id: findings}``; nothing is stored)."""

    profile: str
    files: list[FileReport] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)

    def total(self, attr: str) -> int:
        if attr == "quarantined":
            return sum(len(f.quarantined) for f in self.files)
        return sum(getattr(f, attr) for f in self.files)


def data_root(path: Path) -> Path:
    """The data folder a source file belongs to: the nearest ancestor holding ``SOURCES.md``,
    else the folder above the file's own, so that ``a/victims.csv`` and ``b/victims.csv``
    stay two sources."""
    path = path.resolve()
    for parent in path.parents:
        if (parent / DATA_FOLDER_MARKER).is_file():
            return parent
    return path.parent.parent


def _join_root(path: Path) -> Path:
    """Where ``read.join`` may read: the data folder holding ``SOURCES.md``, else only the
    source file's own folder (the folder above it may be ``/`` or a home directory)."""
    resolved = path.resolve()
    marked = [p for p in resolved.parents if (p / DATA_FOLDER_MARKER).is_file()]
    return marked[0] if marked else resolved.parent


def source_name(path: Path) -> str:
    """The file's name relative to its data folder (POSIX separators), e.g.
    ``bih/incidents.geojson``: independent of where the data folder sits on disk."""
    return path.resolve().relative_to(data_root(path)).as_posix()


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


_NAMESPACE_BYTES = NAMESPACE.bytes
_UNSEEN = object()
#: Values a mapped cell may share with other rows (nothing a row could change in place).
_IMMUTABLE = frozenset({str, int, float, bool, type(None), dt.date, dt.datetime})
#: The most cell texts remembered per field (a column of unique ids gains nothing).
_REMEMBER_MAX = 50_000


def _record_uuid(layer: str, identity: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, f"{layer}|{identity}"))``, without building UUID objects
    (RFC 4122 §4.3: SHA-1 of namespace and name, version 5, variant 10).

    >>> _record_uuid("hazards", "x") == str(uuid.uuid5(NAMESPACE, "hazards|x"))
    True
    """
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{layer}|{identity}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: ``json.dumps(doc, sort_keys=True, default=str)``, with the encoder made once.
_HASH_JSON = json_encoder(ensure_ascii=True)
_HASH_PLAIN = frozenset({str, int, float, bool, type(None)})


def _content_hash(record: dict[str, Any], geometry_hex: dict[str, str] | None = None,
                  leave_out: str | None = None) -> str:
    """SHA-256 of the record's values (geometries as 2D hex WKB; ``geometry_hex`` gives them
    by field name when they were encoded for many records at once), the field ``leave_out``
    left out."""
    doc = {}
    for key, value in record.items():
        if key == leave_out:
            continue
        if geometry_hex is not None and key in geometry_hex:
            value = geometry_hex[key]
        elif type(value) in _HASH_PLAIN:
            pass
        elif isinstance(value, shapely.Geometry):
            value = shapely.to_wkb(value, hex=True, output_dimension=2)
        elif isinstance(value, bytes):
            value = value.hex()
        doc[key] = value
    return hashlib.sha256(_HASH_JSON(doc).encode()).hexdigest()


def _content_hashes(records: list[dict[str, Any]], geometry_hex: list[str | None],
                    leave_out: str) -> list[str]:
    """:func:`_content_hash` of each record (its ``geom`` given by ``geometry_hex``), column
    by column when the records name the same fields."""
    keys = records[0].keys() if records else None
    fields = [k for k in keys if k != leave_out and k != "geom"] if keys is not None else []
    if len(fields) < 2 or "geom" not in keys or any(r.keys() != keys for r in records):
        return [_content_hash(r, {"geom": h}, leave_out) for r, h in zip(records, geometry_hex)]
    columns = list(zip(*map(itemgetter(*fields), records)))
    for j, col in enumerate(columns):
        if not set(map(type, col)) <= _HASH_PLAIN:
            columns[j] = [v if type(v) in _HASH_PLAIN else
                          shapely.to_wkb(v, hex=True, output_dimension=2)
                          if isinstance(v, shapely.Geometry) else
                          v.hex() if isinstance(v, bytes) else v for v in col]
    fields.append("geom")
    columns.append(geometry_hex)
    sha256, encode = hashlib.sha256, _HASH_JSON
    return [sha256(encode(dict(zip(fields, values))).encode()).hexdigest()
            for values in zip(*columns)]


class _Mapper:
    """Turns source rows into records or quarantine entries for one file."""

    def __init__(self, profile: Profile, source_file: str, checksum: str, country: str | None,
                 use_columns: bool = True, consumed: set[str] | None = None):
        self.profile = profile
        self.spec = LAYERS[profile.layer]
        self.polygonal = self.spec.geometry_type in ("POLYGON", "MULTIPOLYGON")
        self.source_file = source_file
        self.checksum = checksum
        self.country = country
        # geometry from table columns is for tables; a GIS file brings its own geometry
        self.rule = profile.geometry if use_columns else None
        self.personal = set(personal_fields(profile.layer))
        self.consumed = consumed if consumed is not None else profile.columns
        # a rule that reads one column maps a text cell the same way every time: its value
        # is remembered by the text (a file repeats its statuses, types and dates)
        self.remembered = {name: {} for name, rule in profile.rules.items()
                           if rule.column is not None and rule.parts is None
                           and rule.compute is None}

    def identity(self, row: SourceRow, country: str | None) -> tuple[str, str, str | None]:
        """(locator shown to people, identity the UUID is made from, error if the key is empty).

        With ``uuid:`` in the profile the identity is the record UUID itself (``uuid:…``)."""
        if self.profile.uuid_column:
            value = _plain(row.properties.get(self.profile.uuid_column))
            try:
                rid = str(uuid.UUID(str(value).strip()))
            except ValueError:
                return row.locator, "", (f"column {self.profile.uuid_column!r} = {value!r}: "
                                         "expected a record UUID")
            return f"{row.locator} (uuid {rid})", f"uuid:{rid}", None
        if self.profile.key:
            values = [_plain(row.properties.get(k)) for k in self.profile.key]
            parts = [f"{k}={v}" for k, v in zip(self.profile.key, values)]
            locator = f"{row.locator} (key {', '.join(parts)})"
            empty = [k for k, v in zip(self.profile.key, values) if v is None or str(v).strip() == ""]
            error = (f"key column(s) {empty} empty; expected a value that identifies the row"
                     if empty else None)
            return locator, f"key|{country}|{'|'.join(parts)}", error
        return row.locator, f"{self.source_file}|{row.locator}", None

    def row_country(self, row: SourceRow) -> str | None:
        """The country a row names, if the profile maps one and it is a valid code."""
        rule = self.profile.rules.get("country")
        if rule is None:
            return None
        try:
            value = rule.apply(row.properties)
        except FieldError:
            return None
        return country_code(value)

    def map(self, row: SourceRow) -> tuple[dict[str, Any] | None, list[tuple[str | None, Any, str]]]:
        values: dict[str, Any] = {}
        errors: list[tuple[str | None, Any, str]] = []
        remembered = self.remembered
        for name, rule in self.profile.rules.items():
            memo = remembered.get(name)
            if memo is not None:
                raw = row.properties.get(rule.column)
                if type(raw) is str:
                    value = memo.get(raw, _UNSEEN)
                    if value is not _UNSEEN:
                        values[name] = value
                        continue
            try:
                values[name] = value = _plain(rule.apply(row.properties))
            except FieldError as exc:
                if name in self.personal:  # a person's data never goes into a message
                    errors.append((name, None, f"field {name!r} (column {rule.column!r}): "
                                               f"{personal.WITHHELD}, expected {exc.expected}"))
                else:
                    errors.append((name, exc.value, str(exc)))
                continue
            if memo is not None and type(raw) is str and type(value) in _IMMUTABLE \
                    and len(memo) < _REMEMBER_MAX:
                memo[raw] = value
        self.profile.settle_dates(values)  # a date from its parts, its year and month
        given = values.pop("country", None)
        country = country_code(given) if given else None
        if given and country is None:
            errors.append(("country", given, f"field 'country': got {given!r}, expected "
                                              f"{EXPECTED_COUNTRY}"))
        if country and self.country and country != self.country:
            errors.append(("country", country, f"field 'country': the row says {country!r}, "
                                                f"--country says {self.country!r}"))
        country = country or self.country or self.profile.country
        if not country and not errors:
            errors.append(("country", None, "field 'country': no country; expected an ISO3 code "
                                            "from the row, --country or the profile"))
        geom, status, note, original, geom_error = self.geometry(row)
        if geom_error:
            errors.append(("geometry", None, geom_error))
        if errors:
            return None, errors
        record = {
            **values,
            "country": country,
            "organisation": values.get("organisation") or self.profile.organisation,
            "source_file": self.source_file,
            "source_checksum": self.checksum,
            "geom": geom,
            "geometry_status": status.value,
            "geometry_note": note,
            "source_geometry": original,
            "attributes": {k: _plain(v) for k, v in row.properties.items()
                           if k not in self.consumed} or None,
        }
        return record, []  # area_m2 is measured for all records at once (_import_file)

    def geometry(self, row: SourceRow):
        """(geometry, status, note, original WKB, error) for a row."""
        geom = row.geometry
        status_note = None
        if self.rule is not None:
            geom, status, note = self.rule.read(row.properties)
            if status == "missing":
                return self._said(row)
            if status is not None:
                return None, GeometryStatus(status), note, None, None
        elif row.geometry_issue is not None:
            status, note = row.geometry_issue
            if geom is None:
                return None, GeometryStatus(status), note, None, None
            status_note = note
        if geom is None:
            return self._said(row)
        if geom.is_empty:  # KML reads an empty polygon back as an empty collection
            empty = shapely.MultiPolygon() if self.polygonal else Point()
            return empty, GeometryStatus.EMPTY, None, None, None
        kind = geom.geom_type
        if self.polygonal:
            if kind not in ("Polygon", "MultiPolygon"):
                return None, None, None, None, (f"geometry: got {kind}, expected Polygon or "
                                                f"MultiPolygon for layer {self.profile.layer!r}")
            if geom.is_empty:
                return shapely.MultiPolygon(), GeometryStatus.EMPTY, None, None, None
            minx, miny, maxx, maxy = geom.bounds
            if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
                note = (f"coordinates reach ({minx:g}, {miny:g})–({maxx:g}, {maxy:g}): expected "
                        "longitude in [-180, 180] and latitude in [-90, 90]; is the CRS right?")
                return None, GeometryStatus.UNPARSEABLE, note, shapely.to_wkb(geom), None
            if row.crosses if row.crosses is not None else crosses_antimeridian(geom):
                return self._cut_at_antimeridian(geom, status_note)
            fixed, reason = repair_polygonal(geom, row.valid)
            if reason is None and status_note is None:
                return fixed, *self._as_exported(row), None, None
            original = shapely.to_wkb(geom, output_dimension=2)
            if fixed is None:
                return None, GeometryStatus.UNREPAIRABLE, f"invalid ({reason}); nothing polygonal survived repair", original, None
            note = "; ".join(n for n in (status_note, reason and f"invalid ({reason}); repaired "
                                         "with make_valid(structure)") if n)
            return fixed, GeometryStatus.REPAIRED, note, original, None
        if kind == "MultiPoint" and len(geom.geoms) == 1:
            geom = geom.geoms[0]
        elif kind != "Point":
            return None, None, None, None, (f"geometry: got {kind}, expected Point for layer "
                                            f"{self.profile.layer!r}")
        if geom.is_empty:
            return Point(), GeometryStatus.EMPTY, None, None, None
        columns = self.rule.columns if self.rule is not None else ("x", "y")
        after = f" after transforming from {self.rule.crs}" if self.rule is not None and \
            self.rule._transformer is not None else ""
        return self._checked_point(geom.x, geom.y, columns[0], columns[-1], after)

    @staticmethod
    def _cut_at_antimeridian(geom, status_note):
        """A polygon across ±180°: stored cut along it (RFC 7946 §3.1.9), the original kept."""
        cut = split_at_antimeridian(geom)
        fixed, reason = repair_polygonal(cut, None)
        note = "; ".join(n for n in (status_note, "crosses the antimeridian: stored cut in two "
                                     "along ±180° (RFC 7946 §3.1.9)", reason and
                                     f"invalid ({reason}); repaired") if n)
        original = shapely.to_wkb(geom, output_dimension=2)
        if fixed is None:
            return None, GeometryStatus.UNREPAIRABLE, note, original, None
        return fixed, GeometryStatus.ANTIMERIDIAN, note, original, None

    def _as_exported(self, row: SourceRow) -> tuple[GeometryStatus, str | None]:
        """(status, note) of a valid polygon: ``ok``, unless the profile's status column (a
        mineledger export) says the geometry is one that was ``repaired`` or cut along the
        ``antimeridian`` when first imported — then it keeps that flag and its note (the
        original geometry stays in the store it was exported from)."""
        said = row.properties.get(self.profile.status_column) if self.profile.status_column \
            else None
        if said in (GeometryStatus.REPAIRED, GeometryStatus.ANTIMERIDIAN):
            note = row.properties.get(self.profile.note_column) if self.profile.note_column \
                else None
            return GeometryStatus(said), note or None
        return GeometryStatus.OK, None

    def _said(self, row: SourceRow):
        """No geometry in the row: missing, unless the profile's status column (a mineledger
        export) says it was empty, or unreadable for a reason it keeps."""
        said = row.properties.get(self.profile.status_column) if self.profile.status_column \
            else None
        if said == GeometryStatus.EMPTY:  # a format that cannot carry an empty geometry
            empty = shapely.MultiPolygon() if self.polygonal else Point()
            return empty, GeometryStatus.EMPTY, None, None, None
        if said in (GeometryStatus.UNPARSEABLE, GeometryStatus.UNREPAIRABLE):
            note = row.properties.get(self.profile.note_column) if self.profile.note_column \
                else None
            return None, GeometryStatus(said), note or None, None, None
        return None, GeometryStatus.MISSING, None, None, None

    @staticmethod
    def _checked_point(x, y, xcol, ycol, after=""):
        if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
            note = (f"{xcol!r} = {x!r}, {ycol!r} = {y!r}{after}: expected longitude in "
                    "[-180, 180] and latitude in [-90, 90]")
            return None, GeometryStatus.UNPARSEABLE, note, None, None
        return Point(x, y), GeometryStatus.OK, None, None, None


def _resolve_hxl(path: Path, profile: Profile, table) -> tuple[list[str], set[str]]:
    """Give each row the values of the HXL tag patterns the profile reads (``#adm1+code`` …),
    from the first column whose hashtag matches; returns the patterns resolved and the
    columns they read."""
    patterns = sorted(c for c in profile.columns if c.startswith("#"))
    if not patterns:
        return [], set()
    if not table.hxl:
        raise ProfileError(f"{path}: profile {profile.name!r} reads HXL tag(s) {patterns} but the "
                           "file has no HXL hashtag row (a row of #tags under the header)")
    found = {}
    for pattern in patterns:
        columns = [c for c, tag in table.hxl.items() if hxl_match(pattern, tag)]
        if len(columns) > 1:
            raise ProfileError(f"{path}: HXL tag pattern {pattern!r} matches {len(columns)} "
                               f"columns ({', '.join(repr(c) + ' ' + table.hxl[c] for c in columns)}); "
                               "make it specific enough to match one (add its attributes)")
        if columns:
            found[pattern] = columns[0]
    for row in table.rows:
        for pattern, column in found.items():
            row.properties[pattern] = row.properties.get(column)
    return list(found), set(found.values())


def _join_parent(path: Path, profile: Profile, table) -> list[str]:
    """Join each row of a repeat group to its parent row (``read.join``); a row whose parent
    is not found gets a shape error (quarantined with the key it looked for).

    Raises
    ------
    SourceError
        The parent table is missing, or lies outside the source's data folder (the folder
        holding ``SOURCES.md``, else the source's own folder; ``..``, absolute paths and
        symbolic links resolved first).
    """
    join = profile.join
    parent_path = (path.parent / join.file) if join.file else path
    if join.file:  # a shared profile must not read files beside the data into the store
        root, resolved = _join_root(path), parent_path.resolve()  # symlinks followed
        if not resolved.is_relative_to(root):
            raise SourceError(f"{path}: read.join.file {join.file!r} is {resolved}, outside the "
                              f"source's data folder {root}; expected a table inside it")
    if not parent_path.is_file():
        raise SourceError(f"{path}: read.join names {parent_path}, which does not exist")
    parent = read_sheet(parent_path, join.sheet, encoding=profile.encoding,
                        delimiter=profile.delimiter)
    child_col, parent_col = join.on
    if child_col not in table.columns:
        raise ProfileError(f"{path}: read.join.child names column {child_col!r}, which the file "
                           f"does not have; its columns are {table.columns}")
    if parent_col not in parent.columns:
        raise ProfileError(f"{parent_path}: read.join.parent names column {parent_col!r}, which "
                           f"it does not have; its columns are {parent.columns}")
    index: dict[str, dict] = {}
    repeated: dict[str, list[int]] = {}
    for prow in parent.rows:
        key = _plain(prow.properties.get(parent_col))
        if isinstance(key, float) and key.is_integer():
            key = int(key)
        if key is not None and str(key) != "":
            if str(key) in index:
                repeated.setdefault(str(key), [index[str(key)]["__row__"]]).append(prow.number)
            index.setdefault(str(key), {**prow.properties, "__row__": prow.number})
    added = [join.prefix + c for c in parent.columns]
    for row in table.rows:
        key = _plain(row.properties.get(child_col))
        if isinstance(key, float) and key.is_integer():
            key = int(key)
        found = index.get(str(key)) if key is not None else None
        if key is not None and str(key) in repeated:
            row.shape_error = (f"column {child_col!r} = {key!r}: the parent key is not unique in "
                               f"{parent_path.name} (rows {', '.join(map(str, repeated[str(key)]))}"
                               f" have {parent_col} = {key!r}); expected one parent row")
            continue
        if found is None:
            row.shape_error = (f"column {child_col!r} = {key!r}: no parent row with "
                               f"{parent_col} = {key!r} in {parent_path.name}"
                               f"{' sheet ' + repr(join.sheet) if join.sheet else ''}")
            continue
        for c in parent.columns:
            row.properties[join.prefix + c] = found.get(c)
    return added


def _read_file(path: Path, profile: Profile):
    """Read a source file as the profile says, join its parent rows and resolve its HXL tags;
    returns (table, columns, columns the profile consumes).

    Raises
    ------
    ProfileError
        The profile reads columns the file does not have (naming them and the file's own).
    """
    table = read_source(path, fmt=profile.format, encoding=profile.encoding, crs=profile.crs,
                        delimiter=profile.delimiter, layer=profile.layer_name,
                        sheet=profile.sheet)
    columns = table.columns
    if profile.join is not None:
        columns = columns + _join_parent(path, profile, table)
    patterns, tagged = _resolve_hxl(path, profile, table)
    columns = columns + patterns
    # columns the profile does not read are kept with the record (attributes); a repeat
    # group's parent columns are not, as they belong to the parent
    consumed = profile.columns | tagged | set(profile.ignore) | (
        {c for c in columns if c.startswith(profile.join.prefix)} if profile.join else set())
    geometry_columns = set(profile.geometry.columns) if table.is_vector and profile.geometry else set()
    missing = sorted(profile.columns - geometry_columns - set(columns))
    if missing and (table.rows or not table.is_vector):  # an empty GIS file maps nothing
        hint = ""
        if len(columns) == 1 and any(d in columns[0] for d in ";\t|"):
            hint = " (the header reads as one column: is the delimiter another? set read.delimiter)"
        raise ProfileError(f"{path}: profile {profile.name!r} reads column(s) {missing} that the "
                           f"file does not have; its columns are {table.columns}{hint}")
    return table, columns, consumed


class _FileImport:
    """The import of one file: rows mapped to records or quarantine entries, checked against
    the store and the acting user's rights, then written through ``writer``."""

    def __init__(self, writer: Writer, path: Path, profile: Profile, country: str | None,
                 command: str, actor: Actor | None):
        self.writer, self.path, self.profile = writer, path, profile
        self.country, self.command, self.actor = country, command, actor
        self.started = dt.datetime.now(dt.timezone.utc)
        self.name = source_name(path)
        self.checksum = file_checksum(path)
        self.table, _, consumed = _read_file(path, profile)
        self.import_id = str(uuid.uuid4())
        self.report = FileReport(self.import_id, self.name, profile.layer,
                                 rows_read=len(self.table.rows), notes=self.table.notes)
        self.mapper = _Mapper(profile, self.name, self.checksum, country,
                              use_columns=not self.table.is_vector, consumed=consumed)
        self.records: dict[str, dict[str, Any]] = {}
        self.first_seen: dict[str, str] = {}
        self.sources: dict[str, tuple[SourceRow, str]] = {}
        self.rejected: list[dict[str, Any]] = []
        # a victim row's columns other than those read into non-personal fields may hold a
        # person's data: the quarantine keeps them withheld (the source file has them)
        self.shown_columns = None
        if personal_fields(profile.layer):
            self.shown_columns = {c for n, r in profile.rules.items()
                                  if n not in self.mapper.personal for c in r.columns}
            self.shown_columns |= set(profile.geometry.columns if profile.geometry else ()) | \
                set(profile.key or []) | {profile.uuid_column}

    def reject(self, row: SourceRow, locator: str, errors, row_country=None) -> None:
        """Send a row to quarantine with every reason it was refused."""
        field_name, value, _ = errors[0]
        reason = "; ".join(e[2] for e in errors)
        shown = self.shown_columns
        props = {k: (v if shown is None or k in shown else personal.WITHHELD)
                 for k, v in row.properties.items()}
        self.report.quarantined.append(QuarantinedRow(self.name, locator, field_name, value,
                                                      reason))
        self.rejected.append({
            "uuid": _record_uuid("quarantine", f"{self.name}|{row.locator}"),
            "import_id": self.import_id,
            "country": row_country or self.country or self.profile.country,
            "layer": self.profile.layer,
            "profile": self.profile.name,
            "source_file": self.name,
            "source_locator": locator,
            "field": field_name,
            "value": None if value is None else str(value),
            "reason": reason,
            "raw": {**{k: _plain(v) for k, v in props.items()},
                    **({"geometry_wkt": row.geometry.wkt} if row.geometry is not None else {})},
        })

    def map_rows(self, progress: ProgressFactory) -> None:
        """Map every row to a record (keyed by its UUID) or to quarantine."""
        rows = self.table.rows
        if self.mapper.polygonal and self.mapper.rule is None:  # validity of all in one call
            geoms = geometry_array(r.geometry for r in rows)
            polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
            for row, valid, crosses in zip(geometry_array(rows)[polygonal],
                                           shapely.is_valid(geoms[polygonal]).tolist(),
                                           crosses_antimeridian_many(geoms[polygonal]).tolist()):
                row.valid, row.crosses = valid, crosses
        show = progress if len(rows) > PROGRESS_THRESHOLD else no_progress
        with show(f"{self.name}", len(rows)) as advance:
            for row in rows:
                self._map_row(row)
                advance(1)

    def _map_row(self, row: SourceRow) -> None:
        profile, report = self.profile, self.report
        record, errors = self.mapper.map(row)
        if row.shape_error:
            record, errors = None, [(None, None, row.shape_error)] + errors
        rec_country = (record or {}).get("country") or self.country or profile.country
        locator, identity, key_error = self.mapper.identity(row, rec_country)
        if key_error:
            errors = errors + [(",".join(profile.key or [profile.uuid_column or ""]), None,
                                key_error)]
        if errors:
            self.reject(row, locator, errors, self.mapper.row_country(row))
            return
        rid = identity[5:] if identity.startswith("uuid:") else _record_uuid(profile.layer, identity)
        if rid in self.records:
            self.reject(row, locator, [(",".join(profile.key or []), None,
                                        f"the key repeats {self.first_seen[rid]}; "
                                        "expected a unique key")])
            return
        record["uuid"] = rid
        record["source_locator"] = locator
        self.records[rid] = record
        self.sources[rid] = (row, locator)
        self.first_seen[rid] = row.locator
        status = record["geometry_status"]
        if status != GeometryStatus.OK:
            report.geometry_flags[status] = report.geometry_flags.get(status, 0) + 1
            if status in (GeometryStatus.UNPARSEABLE, GeometryStatus.UNREPAIRABLE) \
                    and report.geometry_flags[status] <= 5:
                report.notes.append(f"{self.name}, {locator}: geometry {status}: "
                                    f"{record['geometry_note']}")

    def prepare(self) -> dict[str, dict[str, Any]]:
        """Measure, authorise, link and hash the records; returns the personal values taken
        out of victim records (``{uuid: values}``)."""
        records, profile, writer = self.records, self.profile, self.writer
        if "area_m2" in LAYERS[profile.layer].fields and records:  # one call: vectorised
            areas = geodesic_area([r["geom"] for r in records.values()])
            for r, area in zip(records.values(), areas):
                r["area_m2"] = None if r["geom"] is None else float(area)
        if self.actor is not None:  # every record must be the actor's to write
            for rec_country, org in sorted({(r["country"], r.get("organisation") or "")
                                            for r in records.values()}):
                authorize(self.actor, Action.IMPORT, country=rec_country,
                          organisation=org or None)
        self.report.notes += lifecycle.resolve_links(writer, list(records.values()))
        if profile.layer == "hazards":
            for r in records.values():  # the perimeter is as of the record's own information
                r["perimeter_date"] = r.get("date_of_information")
        if profile.layer == "cleared_areas":
            beyond = lifecycle.flag_outside_hazard(writer, list(records.values()))
            if beyond:
                self.report.notes.append(f"{beyond} outcome(s) reach outside their hazard: "
                                         "flagged (outside_hazard), counted only inside")
        secrets: dict[str, dict[str, Any]] = {}
        if personal_fields(profile.layer):  # victims: personal values leave the record here
            for rid, record in records.items():
                values = personal.split(record)
                if values:
                    secrets[rid] = values
        master = crypto.store_key(writer.settings()["store_id"],
                                  create=not writer.has_person_keys()) if secrets else None
        hexes = shapely.to_wkb(geometry_array(r["geom"] for r in records.values()), hex=True,
                               output_dimension=2).tolist()
        # a victim's personal values count by their fingerprint
        docs = [{**record, "personal": personal.fingerprint(master, secrets[rid])}
                if rid in secrets else record for rid, record in records.items()]
        for record, digest in zip(records.values(),
                                  _content_hashes(docs, hexes, "source_checksum")):
            record["content_hash"] = digest
        return secrets

    def _refuse_foreign(self, existing: dict[str, dict[str, Any]]) -> None:
        """An operator changes only its own organisation's records."""
        actor = self.actor
        if actor is None or actor.role != Role.OPERATOR:
            return
        foreign = [rid for rid, old in existing.items()
                   if old.get("organisation") != actor.organisation]
        if foreign:
            old = existing[foreign[0]]
            raise PermissionDenied(
                f"{actor} may not change {len(foreign)} record(s) of other organisations "
                f"(the first: {old.get('source_file')}, {old.get('source_locator')}, of "
                f"{old.get('organisation') or 'no organisation'})")

    def _apply_life_cycle(self, existing: dict[str, dict[str, Any]]) -> None:
        """Activities move their hazards on; a re-imported hazard keeps the summary fields a
        later report gave it."""
        records, profile = self.records, self.profile
        if profile.layer == "activities":
            def refuse(act, reason):
                row, locator = self.sources[act["uuid"]]
                del records[act["uuid"]]
                self.reject(row, locator, [("report_type", act.get("report_type"), reason)],
                            act.get("country"))
            lifecycle.apply_activities(self.writer, [r for rid, r in records.items()
                                                     if rid not in existing],
                                       import_id=self.import_id, reject=refuse,
                                       notes=self.report.notes)
        if profile.layer == "hazards":
            # a re-imported row changes the summary fields only if its date of information is
            # later than the one applied (a report may have moved the hazard on since)
            for rid, r in records.items():
                old = existing.get(rid)
                if old is not None and not rules.applies(r.get("date_of_information"),
                                                         old.get("date_of_information")):
                    for f in SUMMARY_FIELDS:  # content_hash stays the source's, so the next
                        r[f] = old.get(f)     # re-import of this source is no change

    def write(self, secrets: dict[str, dict[str, Any]]) -> None:
        """Insert new records, update changed ones, apply lineage and release, sync the
        quarantine and record that the import ran."""
        writer, profile, report, records = self.writer, self.profile, self.report, self.records
        existing = writer.existing(profile.layer, records)
        self._refuse_foreign(existing)
        self._apply_life_cycle(existing)
        inserts = [r for rid, r in records.items() if rid not in existing]
        updates = [r for rid, r in records.items()
                   if rid in existing and existing[rid]["content_hash"] != r["content_hash"]]
        report.inserted, report.updated = len(inserts), len(updates)
        report.unchanged = len(records) - len(inserts) - len(updates)
        writer.insert(profile.layer, inserts, import_id=self.import_id, reason=f"import {self.name}")
        writer.update(profile.layer, updates, existing, import_id=self.import_id,
                      reason=f"re-import {self.name}: source changed")
        written = {r["uuid"] for r in inserts + updates}
        personal.write(writer, {rid: v for rid, v in secrets.items() if rid in written},
                       import_id=self.import_id, reason=f"import {self.name}")
        if profile.layer == "hazards":
            report.notes += lifecycle.apply_lineage(writer, inserts, import_id=self.import_id)
        if profile.layer == "cleared_areas":
            lifecycle.apply_release(writer, {r["hazard_uuid"] for r in inserts + updates
                                             if r.get("hazard_uuid")}, import_id=self.import_id)
        writer.sync_quarantine(self.rejected, resolved=[
            _record_uuid("quarantine", f"{self.name}|{r['source_locator'].split(' (key')[0]}")
            for r in records.values()], import_id=self.import_id)
        writer.add_import({
            "import_id": self.import_id, "started_at": self.started,
            "finished_at": dt.datetime.now(dt.timezone.utc), "user_name": writer.user,
            "command": self.command, "profile": profile.name, "layer": profile.layer,
            "country": self.country or profile.country, "source_file": self.name,
            "source_checksum": self.checksum, "rows_read": report.rows_read,
            "inserted": report.inserted, "updated": report.updated,
            "unchanged": report.unchanged, "quarantined": len(report.quarantined),
            "title": profile.source.get("title"), "publisher": profile.source.get("publisher"),
            "licence": profile.source.get("licence"), "url": profile.source.get("url"),
        })


def _import_file(writer: Writer, path: Path, profile: Profile, country: str | None,
                 progress: ProgressFactory, command: str, actor: Actor | None = None) -> FileReport:
    job = _FileImport(writer, path, profile, country, command, actor)
    job.map_rows(progress)
    secrets = job.prepare()
    job.write(secrets)
    return job.report


def _source_files(path: Path, profile: Profile) -> list[Path]:
    """The file, or the folder's files matching the profile's ``read.pattern`` in name order.

    Raises
    ------
    SourceError
        No such file or folder, or a folder with no matching file.
    """
    if is_source(path):
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.glob(profile.pattern) if is_source(p)
                       and (profile.pattern_declared or p.suffix.lower() in DATA_SUFFIXES))
        if not files:
            raise SourceError(f"{path}: no files matching {profile.pattern!r} (profile {profile.name!r})")
        return files
    raise SourceError(f"{path}: no such file or folder")


def import_source(session: Session, path: str | Path, profile: str | Profile, *,
                  country: str | None = None, strict: bool = False, user: str | None = None,
                  command: str | None = None, warnings: bool = True,
                  progress: ProgressFactory = no_progress, _dry_run: list | None = None) -> ImportReport:
    """Import a file, or every matching file of a folder, in one transaction.

    Parameters
    ----------
    session : Session
        The store, and who acts (their role decides what they may import).
    path : str or Path
        A source file, or a folder whose files matching the profile's ``read.pattern`` are
        imported in name order.
    profile : str or Profile
        A built-in profile name, a profile YAML path, or a loaded :class:`Profile`.
    country : str, optional
        ISO 3166-1 alpha-3 code for rows whose profile gives none; a row whose own country
        differs is quarantined.
    strict : bool
        If any row is quarantined, raise :class:`StrictImportError` and write nothing.
    user : str, optional
        The name the change log records; only an admin may record another name than their own
        (a service account).
    command : str, optional
        Recorded in the change log (default ``"import"``).
    warnings : bool
        Run the per-record quality rules on what was written (``ImportReport.warnings``).

    Returns
    -------
    ImportReport

    Raises
    ------
    SourceError, ProfileError, StrictImportError, StoreError
        Nothing is written when any is raised.
    PermissionDenied
        The acting user may not import (these records).
    """
    if country is not None:
        country = checked_country(country, error=ProfileError)
    if not isinstance(profile, Profile):
        profile = load_profile(profile, country=country)
    files = _source_files(Path(path), profile)
    if country and profile.country and country != profile.country:
        raise ProfileError(f"profile {profile.name!r} is for {profile.country}; --country says "
                           f"{country}: drop --country, or use a profile for {country}")
    if not profile.country and "country" not in profile.rules and not country:
        raise ProfileError(f"profile {profile.name!r} gives no country: pass --country ISO3")
    actor = session.actor
    refuse_role(actor, Action.IMPORT)
    # the change log names who acted; only an admin may record another name (a service account)
    user = user if user and (actor.role == Role.ADMIN or user == actor.name) else actor.name
    command = command or "import"
    report = ImportReport(profile.name)
    with session.writer(user=user, command=command) as writer:
        for file in files:
            report.files.append(_import_file(writer, file, profile, country, progress, command,
                                             actor))
        if strict and report.total("quarantined"):
            first = next(q for f in report.files for q in f.quarantined)
            raise StrictImportError(
                f"--strict: {report.total('quarantined')} row(s) would go to quarantine, so "
                f"nothing was imported; the first: {first}")
        if _dry_run is not None:
            _dry_run.append(report)
            raise _DryRun
    if warnings and report.total("inserted") + report.total("updated"):
        report.warnings = import_warnings(session, {f.import_id for f in report.files},
                                          session.countries())
    return report


def import_into(location: str | Path, path: str | Path, profile: str | Profile, *,
                user: str | None = None, **options) -> ImportReport:
    """Import into the store at ``location`` as ``user``: the profile and the source are
    checked first, the store is opened once and :func:`import_source` runs with ``options``
    (its report carries the quality warnings). A GeoPackage that this import was to create is
    not left behind when the import fails.

    Raises
    ------
    ProfileError, SourceError
        A bad profile or source (no store is created for it).
    StoreError, StrictImportError, PermissionDenied
        As :func:`import_source`.
    """
    country = options.get("country")
    if country is not None:
        country = options["country"] = checked_country(country, error=ProfileError)
    loaded = profile if isinstance(profile, Profile) else load_profile(profile, country=country)
    if not Path(path).exists():
        raise SourceError(f"{path}: no such file or folder")
    new_file = None if is_postgres_url(str(location)) or Path(location).exists() \
        else Path(location)
    try:
        with open_store(location, user=user) as session:
            return import_source(session, path, loaded, **options)
    except MineledgerError:
        if new_file is not None:  # the store this import made holds nothing: take it away
            for leftover in (new_file, Path(f"{new_file}-wal"), Path(f"{new_file}-shm")):
                leftover.unlink(missing_ok=True)
        raise


class _DryRun(Exception):
    """Raised inside the writer to roll a checked import back."""


def check_source(store_location: str | Path, path: str | Path, profile: str | Profile, *,
                 country: str | None = None, user: str | None = None) -> ImportReport:
    """What :func:`import_source` would store and quarantine, with nothing written.

    The import runs in full against the store at ``store_location`` (so links to hazards
    already stored resolve, and unchanged rows are counted as such) inside a transaction that
    is rolled back; if there is no store there, against a throwaway one.

    Raises
    ------
    SourceError, ProfileError, StoreError
        As :func:`import_source`.
    """
    location = str(store_location)
    with tempfile.TemporaryDirectory() as tmp:
        exists = "://" in location or Path(location).is_file()
        target = location if exists else str(Path(tmp) / "check.gpkg")
        if not exists:  # a throwaway store's key is thrown away with it
            saved = {k: os.environ.get(k) for k in ("MINELEDGER_KEY_DIR", "MINELEDGER_KEY_FILE")}
            os.environ["MINELEDGER_KEY_DIR"] = tmp
            os.environ.pop("MINELEDGER_KEY_FILE", None)
        with open_store(target, create=not exists, user=user) as session:
            box: list[ImportReport] = []
            try:
                import_source(session, path, profile, country=country, command="profile check",
                              _dry_run=box)
            except _DryRun:
                pass
            finally:
                if not exists:
                    for k, v in saved.items():
                        if v is None:
                            os.environ.pop(k, None)
                        else:
                            os.environ[k] = v
            return box[0]



