"""Readers of source files, by format, each through a well-kept library.

========  ==========================================================  ====================
format    files                                                       read by
========  ==========================================================  ====================
csv       ``.csv``, ``.txt`` (any delimiter, UTF-8 with or without    ``csv`` (stdlib)
          BOM, cp1252, Latin-1 …; HXL hashtag row recognised)
xlsx      ``.xlsx``, ``.xlsm`` (one sheet; HXL hashtag row            openpyxl
          recognised)
vector    GeoPackage, GeoJSON, Shapefile (loose or zipped), KML,      pyogrio (GDAL)
          KMZ, FlatGeobuf, Esri file geodatabase (``.gdb`` folder
          or zipped)
parquet   GeoParquet (or a plain Parquet table)                       GeoPandas + pyarrow
========  ==========================================================  ====================

A reader gives a :class:`SourceTable`: column names, :class:`SourceRow` objects (where the
row is in its file — 1-based data row or feature number —, its properties as text or as the
format typed them, and its geometry already in EPSG:4326, 2D), the HXL hashtags of the
columns if the file has them, and notes for the import report (what the reading library
warned about, an encoding that had to be detected …).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyproj import CRS

from mineledger.errors import SourceError

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".kml", ".kmz", ".fgb", ".zip", ".gdb"}
TABLE_SUFFIXES = {".csv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet"}
FORMATS = ("csv", "xlsx", "vector", "parquet")
#: Files a folder import takes when the profile declares no pattern.
DATA_SUFFIXES = VECTOR_SUFFIXES | TABLE_SUFFIXES | XLSX_SUFFIXES | PARQUET_SUFFIXES
#: Legacy encodings that detection chooses among (Windows and ISO code pages of the
#: languages of mine-affected countries, and UTF-16).
_LEGACY_ENCODINGS = ("cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1251",
                     "cp1256", "cp1254", "utf_16")
#: The core hashtags of the HXL standard (1.1); extension hashtags start with ``#x_``.
HXL_CORE = frozenset(
    "access activity adm1 adm2 adm3 adm4 adm5 affected beneficiary capacity cause channel "
    "contact country crisis currency date delivery description event frequency geo group impact "
    "indicator inneed item loc meta modality need operations org population reached region "
    "respondee sector service severity status subsector targeted value".split())
#: An HXL hashtag with its attributes, e.g. ``#affected+killed+f`` (HXL standard 1.1).
HXL_TAG = re.compile(r"\s*#[A-Za-z][A-Za-z0-9_]*(\s*\+\s*[A-Za-z][A-Za-z0-9_]*)*\s*")
#: The largest value one field of a row may hold, in bytes (UTF-8): 1 MiB. A row with a larger
#: value goes to quarantine with a reason naming the column and the size (the value is cut
#: there), and the rest of the file is read; the csv module's own limit (128 KiB), which
#: refused the whole file, is lifted while a CSV is read.
MAX_FIELD_BYTES = 1 << 20


@dataclass
class SourceRow:
    """One row or feature of a source file."""

    number: int  # 1-based: the first data row, or the first feature
    properties: dict[str, Any]
    geometry: Any = None  # shapely geometry in EPSG:4326, or None
    has_geometry_column: bool = False
    shape_error: str | None = None  # the row does not fit the table's shape
    #: (status, note) when the file holds a geometry the library could not read as it is
    geometry_issue: tuple[str, str] | None = None
    #: ``shapely.is_valid(geometry)``, when the importer has measured it for all rows at once
    valid: bool | None = None
    #: ``crosses_antimeridian(geometry)``, when the importer has tested all rows at once
    crosses: bool | None = None

    @property
    def locator(self) -> str:
        return f"{'feature' if self.has_geometry_column else 'row'} {self.number}"

    def cut_oversized(self) -> None:
        """Cut a value over :data:`MAX_FIELD_BYTES` to its first characters and a note of its
        size, and give the row a shape error naming the column and the size (so it goes to
        quarantine, which keeps only the cut value)."""
        for name, value in self.properties.items():
            if not isinstance(value, str) or len(value) <= MAX_FIELD_BYTES // 4:
                continue
            size = len(value.encode("utf-8", "surrogatepass"))
            if size <= MAX_FIELD_BYTES:
                continue
            self.properties[name] = f"{value[:60]}… ({size:,} bytes, cut)"
            error = (f"column {name!r} holds {size:,} bytes; expected at most "
                     f"{MAX_FIELD_BYTES:,} (a larger value is not a field but a broken or "
                     "hostile file)")
            self.shape_error = f"{self.shape_error}; {error}" if self.shape_error else error


class AmbiguousEncoding(SourceError):
    """A CSV that is not UTF-8, whose bytes the legacy code pages that fit them read as
    different text: choosing one would be a guess. ``candidates`` are those code pages in
    the order of :data:`_LEGACY_ENCODINGS` (the most used first)."""

    def __init__(self, message: str, candidates: tuple[str, ...]):
        super().__init__(message)
        self.candidates = candidates


class FormulaWithoutValue(str):
    """A spreadsheet cell that holds a formula and no computed value (a workbook written by a
    program, never opened and saved in a spreadsheet): its text is the formula. A field rule
    that reads it refuses it; as an unmapped attribute it is kept as written."""


@dataclass
class SourceTable:
    """What a reader gives: columns, rows, HXL hashtags by column, notes."""

    columns: list[str]
    rows: list[SourceRow]
    notes: list[str] = field(default_factory=list)
    hxl: dict[str, str] = field(default_factory=dict)  # column -> normalised hashtag
    is_vector: bool = False
    encoding: str | None = None  # the text encoding used (tables)


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes (of every file of a ``.gdb`` folder, in name order), hex."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode())
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def format_of(path: Path) -> str:
    """The reader a file's suffix calls for: ``csv``, ``xlsx``, ``parquet`` or ``vector``."""
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return "csv"
    if suffix in XLSX_SUFFIXES:
        return "xlsx"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return "vector"


def is_source(path: Path) -> bool:
    """Whether a path is one source: a file, or an Esri file geodatabase folder."""
    return path.is_file() or (path.is_dir() and path.suffix.lower() == ".gdb")


def read_source(path: str | Path, *, fmt: str | None = None, encoding: str | None = "utf-8-sig",
                crs: str | None = None, delimiter: str = ",", layer: str | None = None,
                sheet: str | None = None) -> SourceTable:
    """Read a source file into its columns and rows.

    Parameters
    ----------
    path : str or Path
        The file (or ``.gdb`` folder).
    fmt : {"csv", "xlsx", "vector", "parquet"}, optional
        Defaults from the suffix (see the module's table).
    encoding : str or None
        Text encoding of a CSV (``utf-8-sig`` accepts UTF-8 with or without BOM). None
        detects it: UTF-8 if the bytes are UTF-8, else what charset-normalizer finds, with a
        note that says so — declare it in the profile to silence the note.
    crs : str, optional
        For vector files: the CRS the profile declares. A file that declares none is read in
        this CRS; a file that declares none and a profile that declares none is refused.
    delimiter : str
        CSV field delimiter.
    layer : str, optional
        For vector files with several layers (GeoPackage, file geodatabase, KML folders).
        A file with more than one non-empty layer and no layer named is refused.
    sheet : str, optional
        For spreadsheets: the sheet; default the first.

    Returns
    -------
    SourceTable

    Raises
    ------
    SourceError
        The file is missing, unreadable, not in the expected format or encoding, has several
        layers and none is named, or a vector file's CRS is unknown; an XLSX workbook read as
        CSV says so; :class:`AmbiguousEncoding` when ``encoding`` is None and the code pages
        that fit the bytes read them differently.
    """
    path = Path(path)
    if not is_source(path):
        raise SourceError(f"{path}: no such file")
    fmt = fmt or format_of(path)
    if fmt == "csv":
        return _read_csv(path, encoding, delimiter)
    if fmt == "xlsx":
        return _read_xlsx(path, sheet)
    if fmt == "vector":
        return _read_vector(path, crs, layer)
    if fmt == "parquet":
        return _read_parquet(path, crs)
    raise SourceError(f"{path}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


# --- tables -----------------------------------------------------------------------------------

def _decode(path: Path, encoding: str | None) -> tuple[str, str, list[str]]:
    data = path.read_bytes()
    if encoding is not None:
        try:
            return data.decode(encoding), encoding, []
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}: not valid {encoding} text at byte {exc.start}; declare "
                              "the file's encoding in the profile (read.encoding: cp1252, "
                              "latin-1 …)") from None
    try:
        return data.decode("utf-8-sig"), "utf-8-sig", []
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    from charset_normalizer import from_bytes

    ranked = list(from_bytes(data, cp_isolation=list(_LEGACY_ENCODINGS)))
    if not ranked:
        raise SourceError(f"{path}: not UTF-8 (byte {first_bad}) and no text encoding fits; "
                          "declare it in the profile (read.encoding)")
    # every encoding that fits the bytes: if they read the text differently, the choice would
    # be a guess (cp1252 and cp1250 read ñ as ñ and ń; cp1251 and cp1252 read Cyrillic and
    # Latin), and a guess stored as text is a wrong value: refuse, showing the readings
    order = {e: i for i, e in enumerate(_LEGACY_ENCODINGS)}
    decodings: dict[str, str] = {}
    for match in sorted(ranked, key=lambda m: order.get(m.encoding, 99)):
        decodings.setdefault(str(match), match.encoding)
    if len(decodings) > 1:
        lines = [t.splitlines() for t in decodings]
        row = next((i for i in range(min(len(x) for x in lines))
                    if len({x[i] for x in lines}) > 1), 0)
        shown = "; ".join(f"as {enc}: {lines[k][row][:80]!r}"
                          for k, enc in list(enumerate(decodings.values()))[:4])
        raise AmbiguousEncoding(f"{path}: not UTF-8 (byte {first_bad}), and the encodings that "
                                f"fit it read it differently — line {row + 1} {shown}. Declare "
                                "the right one in the profile (read.encoding)",
                                tuple(decodings.values()))
    text = next(iter(decodings))
    best = ranked[0]
    # charset-normalizer lists under one match every encoding that reads the bytes the same
    found = min(best.could_be_from_charset or [best.encoding], key=lambda e: order.get(e, 99))
    note = (f"{path.name}: not UTF-8 (byte {first_bad}); read as {found}, as detected — "
            f"declare read.encoding: {found} in the profile if that is right")
    return text, found, [note]


def _hxl_row(values: list[Any]) -> bool:
    """Whether a row is an HXL hashtag row: every non-empty cell a hashtag, at least one."""
    cells = [str(v) for v in values if v is not None and str(v).strip()]
    if not cells or not all(HXL_TAG.fullmatch(c) for c in cells):
        return False
    # every hashtag a standard one: a data row that happens to start with "#" is data
    tags = [hxl_normalise(c).split("+")[0][1:] for c in cells]
    return all(t in HXL_CORE or t.startswith("x_") for t in tags)


def hxl_normalise(tag: str) -> str:
    """A hashtag in canonical form: lower case, no spaces, attributes in order of appearance.

    >>> hxl_normalise(" #Affected +Killed ")
    '#affected+killed'
    """
    return re.sub(r"\s+", "", str(tag)).lower()


def hxl_match(pattern: str, tag: str) -> bool:
    """Whether an HXL tag pattern matches a column's hashtag (HXL 1.1 tag patterns).

    The hashtag must be the same; every attribute the pattern names with ``+`` must be on the
    column, and none it names with ``-``. Case and order of attributes do not matter.

    >>> hxl_match("#affected+killed", "#affected+f+killed")
    True
    >>> hxl_match("#affected+killed", "#affected+injured")
    False
    >>> hxl_match("#adm1-code", "#adm1+code")
    False
    """
    pattern, tag = hxl_normalise(pattern), hxl_normalise(tag)
    p_tag, *p_parts = re.split(r"(?=[+-])", pattern)
    t_tag, *t_attrs = tag.split("+")
    if p_tag != t_tag:
        return False
    attrs = set(t_attrs)
    return all((part[1:] in attrs) == (part[0] == "+") for part in p_parts)


def _table(path: Path, records: list[list[Any]], notes: list[str],
           encoding: str | None = None) -> SourceTable:
    """Rows of cells (header first) → SourceTable, with the HXL hashtag row taken out."""
    while records and not any(v is not None and str(v).strip() for v in records[0]):
        records = records[1:]
    if not records:
        raise SourceError(f"{path}: empty file; expected a header row and data rows")
    header = records[0]
    body = records[1:]
    hxl: dict[str, str] = {}
    if _hxl_row(header):  # HXL without text headers: the hashtags are the header
        columns = [hxl_normalise(v) if v not in (None, "") else f"column_{i + 1}"
                   for i, v in enumerate(header)]
        hxl = {c: c for c, v in zip(columns, header) if v not in (None, "")}
    else:
        columns = [str(c).strip() if c is not None else "" for c in header]
        if body and _hxl_row(body[0]):
            hxl = {c: hxl_normalise(v) for c, v in zip(columns, body[0])
                   if v is not None and str(v).strip()}
            body = body[1:]
            notes.append(f"{path.name}: HXL hashtag row found under the header "
                         f"({len(hxl)} tagged columns); it is not a data row")
    blank = [i + 1 for i, c in enumerate(columns) if not c]
    if blank and len(columns) > 1:
        for i in blank:
            columns[i - 1] = f"column_{i}"
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise SourceError(f"{path}: the header names column(s) {repeated} more than once; "
                          "expected each column once")
    rows = []
    number = 0
    for values in body:
        if not any(v is not None and str(v).strip() for v in values):  # a blank line
            continue
        number += 1
        # spreadsheets pad short rows with None; trailing empty cells are not extra fields
        while len(values) > len(columns) and (values[-1] is None or values[-1] == ""):
            values = values[:-1]
        row = SourceRow(number, dict(zip(columns, values)))
        if len(values) != len(columns) and not (len(values) < len(columns) and encoding is None):
            row.shape_error = (f"the row has {len(values)} fields, the header {len(columns)}; "
                               "expected one value per column (a stray delimiter or quote?)")
        row.cut_oversized()
        rows.append(row)
    return SourceTable(columns, rows, notes, hxl, False, encoding)


#: The first bytes of a zip archive (PKWARE APPNOTE 4.3.7): an XLSX workbook is one.
ZIP_MAGIC = b"PK\x03\x04"


def _refuse_zip(path: Path) -> None:
    """A workbook (or another zip) read as CSV would give one column of binary noise."""
    with open(path, "rb") as fh:
        head = fh.read(len(ZIP_MAGIC))
    if head == ZIP_MAGIC:
        raise SourceError(f"{path}: this is an XLSX workbook (or another zip archive), not CSV "
                          "text; declare read.format: xlsx in the profile (or save the sheet "
                          "as CSV)")


def _read_csv(path: Path, encoding: str | None, delimiter: str) -> SourceTable:
    _refuse_zip(path)
    text, used, notes = _decode(path, encoding)
    # no field can be longer than the text: the csv module's limit (a process-wide setting,
    # put back after) would refuse the whole file for one oversized field
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        records = list(csv.reader(text.splitlines(keepends=True), delimiter=delimiter))
    except csv.Error as exc:
        raise SourceError(f"{path}: not a readable CSV table: {exc}") from None
    finally:
        csv.field_size_limit(limit)
    return _table(path, records, notes, used)


def _read_xlsx(path: Path, sheet: str | None) -> SourceTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise SourceError(f"{path}: cannot read as an XLSX workbook: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise SourceError(f"{path}: no sheet {sheet!r}; its sheets are {book.sheetnames}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        # read-only sheets trust the <dimension> tag, which many exporters write as "A1"
        # whatever the sheet holds: read every cell there is (openpyxl, "Worksheet dimensions")
        ws.reset_dimensions()
        records = [list(r) for r in ws.iter_rows(values_only=True)]
        name = ws.title
    finally:
        book.close()
    if any(v is None for r in records for v in r):  # formulas with no value read as None
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            formula_sheet = formulas[name]
            formula_sheet.reset_dimensions()
            for r, frow in zip(records, formula_sheet.iter_rows(values_only=True)):
                for i, f in enumerate(frow):
                    if i < len(r) and r[i] is None and isinstance(f, str) and f.startswith("="):
                        r[i] = FormulaWithoutValue(f)
        finally:
            formulas.close()
    notes = []
    if sheet is None and len(book.sheetnames) > 1:
        notes.append(f"{path.name}: read sheet {book.sheetnames[0]!r} of {book.sheetnames}; "
                     "name another with read.sheet")
    records = [[(v.strip() if type(v) is str else v) for v in r] for r in records]
    return _table(path, records, notes)


def read_sheet(path: Path, sheet: str | None, *, fmt: str | None = None,
               encoding: str | None = "utf-8-sig", delimiter: str = ",") -> SourceTable:
    """A table another profile joins to (a repeat group's parent): CSV file or XLSX sheet."""
    fmt = fmt or format_of(path)
    if fmt == "xlsx":
        return _read_xlsx(path, sheet)
    if fmt == "csv":
        return _read_csv(path, encoding, delimiter)
    raise SourceError(f"{path}: a joined table must be CSV or XLSX, got {fmt}")


# --- GIS files --------------------------------------------------------------------------------

def _gdal_path(path: Path) -> Path | str:
    """What GDAL opens: a zipped file geodatabase, or the one KML of a zip or KMZ, is read
    inside the zip (GDAL's LIBKML driver loses the ExtendedData schema of a KMZ that holds a
    single doc.kml)."""
    if path.suffix.lower() in (".zip", ".kmz"):
        try:
            names = zipfile.ZipFile(path).namelist()
        except zipfile.BadZipFile:
            raise SourceError(f"{path}: not a readable zip file") from None
        gdbs = sorted({n.split(".gdb/")[0] + ".gdb" for n in names if ".gdb/" in n})
        if len(gdbs) == 1:
            return f"/vsizip/{path.resolve()}/{gdbs[0]}"
        kmls = [n for n in names if n.lower().endswith(".kml")]
        shps = [n for n in names if n.lower().endswith(".shp")]
        if not shps and not gdbs and len(kmls) == 1:
            return f"/vsizip/{path.resolve()}/{kmls[0]}"
        # GDAL's own KMZ (doc.kml + layers/*.kml) reads whole; another KMZ with several KML
        # files would be read only in part
        loose = [n for n in kmls if n != "doc.kml" and not n.startswith("layers/")]
        if not shps and not gdbs and len(kmls) > 1 and loose:
            raise SourceError(f"{path}: holds {len(kmls)} KML files ({', '.join(kmls[:5])}); "
                              "GDAL would read only one of them. Unzip it and import each KML")
        tables = [n for n in names if n.lower().endswith((".csv", ".xlsx"))]
        if tables and not shps and not gdbs and not kmls:
            raise SourceError(f"{path}: a zip of tables ({', '.join(tables[:4])}"
                              f"{' …' if len(tables) > 4 else ''}), such as an ODK Central "
                              "export: unzip it and import each table with its profile (a "
                              "repeat group's table joins its parent with read.join)")
    return path


def _pick_layer(path: Path, src, layer: str | None) -> str | None:
    layers = pyogrio.list_layers(src)
    names = [str(n) for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise SourceError(f"{path}: no layer {layer!r}; its layers are {names}")
        return layer
    if len(names) <= 1:
        return None
    counts = {n: pyogrio.read_info(src, layer=n).get("features", 0) for n in names}
    nonempty = [n for n, c in counts.items() if c]
    if len(nonempty) > 1:
        raise SourceError(f"{path}: the file has {len(nonempty)} layers with features "
                          f"({', '.join(f'{n}: {counts[n]}' for n in nonempty)}); name one with "
                          "read.layer in the profile (one profile per layer)")
    return nonempty[0] if nonempty else names[0]


def _read_vector(path: Path, declared_crs: str | None, layer: str | None = None) -> SourceTable:
    src = _gdal_path(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer = _pick_layer(path, src, layer)
            info = pyogrio.read_info(src, layer=layer)
            gdf = pyogrio.read_dataframe(src, layer=layer, on_invalid="ignore")
    except SourceError:
        raise
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, …
        raise SourceError(f"{path}: cannot read as a GIS file: {exc}") from None
    notes = sorted({f"{path.name}: {w.message}" for w in caught})
    return _vector_table(path, gdf, info.get("crs"), declared_crs, notes)


def _read_parquet(path: Path, declared_crs: str | None) -> SourceTable:
    import geopandas as gpd
    import pandas as pd

    try:
        gdf = gpd.read_parquet(path)
        file_crs = gdf.crs.to_string() if gdf.crs is not None else None
    except ValueError as exc:
        if "geo" not in str(exc).lower():
            raise SourceError(f"{path}: cannot read as GeoParquet: {exc}") from None
        try:  # a plain Parquet table (no geo metadata): read as a table
            df = pd.read_parquet(path)
        except Exception as exc2:
            raise SourceError(f"{path}: cannot read as Parquet: {exc2}") from None
        binary = [c for c in df.columns if df[c].map(lambda v: isinstance(v, (bytes, bytearray))).any()]
        if binary:
            raise SourceError(f"{path}: column(s) {binary} hold binary values (WKB geometry?) but "
                              "the file has no valid GeoParquet metadata ('geo'); write it with "
                              "GeoPandas to_parquet, or export the geometry as WKT")
        records = [list(df.columns)] + df.astype(object).where(df.notna(), None).values.tolist()
        return _table(path, records, [])
    except Exception as exc:  # pyarrow.ArrowInvalid, OSError …
        raise SourceError(f"{path}: cannot read as GeoParquet: {exc}") from None
    return _vector_table(path, gdf, file_crs, declared_crs, [])


def _raw_geojson_geometries(path: Path) -> list[Any] | None:
    """The geometry members of a GeoJSON FeatureCollection as written (for features GDAL
    could not read), or None if the file is not one."""
    if path.suffix.lower() not in (".geojson", ".json"):
        return None
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        return None
    return [f.get("geometry") if isinstance(f, dict) else None for f in doc["features"]]


def _depth(coords: Any) -> int:
    depth = 0
    while isinstance(coords, list) and coords:
        coords, depth = coords[0], depth + 1
    return depth


def read_geojson_geometry(raw: Any) -> tuple[Any, tuple[str, str] | None]:
    """A GeoJSON geometry object GDAL could not read → (geometry or None, (status, note)).

    Fixes one known writer mistake: a Polygon whose coordinates lack the ring nesting level
    (a list of positions instead of a list of rings, RFC 7946 §3.1.6), and a MultiPolygon
    whose polygons lack it; the result is flagged ``repaired``. Anything else is
    ``unparseable`` with the reason.

    >>> g, issue = read_geojson_geometry({"type": "Polygon", "coordinates": [[0, 0], [1, 0], [1, 1], [0, 0]]})
    >>> g.wkt, issue[0]
    ('POLYGON ((0 0, 1 0, 1 1, 0 0))', 'repaired')
    """
    text = json.dumps(raw)[:200]
    error = "GDAL could not read it"
    try:
        geom = shapely.force_2d(shapely.from_geojson(json.dumps(raw)))
        if not geom.is_empty:
            return geom, None
    except Exception as exc:  # shapely.errors.GEOSException
        error = str(exc).splitlines()[0]
    if isinstance(raw, dict):
        kind, coords = raw.get("type"), raw.get("coordinates")
        fixed = None
        if kind == "Polygon" and _depth(coords) == 2:
            fixed = {"type": "Polygon", "coordinates": [coords]}
        elif kind == "MultiPolygon" and _depth(coords) == 3:  # one polygon's rings
            fixed = {"type": "MultiPolygon", "coordinates": [coords]}
        if fixed is not None:
            try:
                geom = shapely.force_2d(shapely.from_geojson(json.dumps(fixed)))
                return geom, ("repaired", f"{kind} coordinates lacked the ring nesting level "
                                          "(RFC 7946 §3.1.6); read as exterior ring(s)")
            except Exception:
                pass
    return None, ("unparseable", f"geometry not readable ({error}): {text}")


def _vector_table(path: Path, gdf, file_crs, declared_crs, notes) -> SourceTable:
    has_geom = gdf.geometry.name in gdf if hasattr(gdf, "geometry") else False
    issues: dict[int, tuple[Any, tuple[str, str]]] = {}
    if has_geom and len(gdf):
        if file_crs is None and declared_crs is None:
            raise SourceError(f"{path}: the file declares no coordinate reference system and "
                              "the profile declares none (geometry.crs); refusing to guess")
        source_crs = CRS.from_user_input(file_crs or declared_crs)
        if gdf.crs is None:
            gdf = gdf.set_crs(source_crs)
        nulls = gdf.geometry.isna().to_numpy() | shapely.is_empty(gdf.geometry.array)
        if nulls.any():  # GDAL gives null or empty for geometries it could not read
            raw = _raw_geojson_geometries(path)
            if raw is not None and len(raw) == len(gdf):
                for i in nulls.nonzero()[0]:
                    if isinstance(raw[i], dict) and (_depth(raw[i].get("coordinates")) > 0
                                                     or raw[i].get("geometries")):
                        issues[int(i)] = read_geojson_geometry(raw[i])
        if gdf.geometry.has_z.any():
            notes.append(f"{path.name}: coordinates carry altitude (Z); stored as 2D "
                         "longitude/latitude")
            gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.array))
        if not source_crs.equals(CRS.from_epsg(4326)):
            if issues:  # geometries read from the raw text are in the same CRS: transform too
                import geopandas as gpd

                fixed = gpd.GeoSeries([g for g, _ in issues.values()], crs=source_crs).to_crs(4326)
                issues = {i: (g, issue[1]) for (i, issue), g in zip(issues.items(), fixed)}
            gdf = gdf.to_crs(4326)
    columns = [str(c) for c in gdf.columns if not has_geom or c != gdf.geometry.name]
    props = gdf[columns].astype(object).where(gdf[columns].notna(), None)
    # the geometries as a plain array: iterating the GeoPandas array fetches them one by one
    geoms = np.asarray(gdf.geometry.array, dtype=object) if has_geom else [None] * len(gdf)
    rows = []
    for i, (values, geom) in enumerate(zip(props.itertuples(index=False, name=None), geoms)):
        row = SourceRow(i + 1, dict(zip(columns, values)), geom, True)
        row.cut_oversized()
        if i in issues:
            row.geometry, row.geometry_issue = issues[i]
        rows.append(row)
    return SourceTable(columns, rows, notes, {}, True)
