"""Readers of source files, by format, through pyogrio (vector formats) and pandas (CSV).

A reader yields :class:`SourceRow` objects: where the row is in its file (1-based row or
feature number), its properties as text or as the format typed them, and its geometry
(vector formats) already in EPSG:4326.
"""

from __future__ import annotations

import csv
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyogrio
from pyproj import CRS

from mineledger.errors import SourceError

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".kml", ".fgb"}
TABLE_SUFFIXES = {".csv", ".txt"}


@dataclass
class SourceRow:
    """One row or feature of a source file."""

    number: int  # 1-based: the first data row, or the first feature
    properties: dict[str, Any]
    geometry: Any = None  # shapely geometry in EPSG:4326, or None
    has_geometry_column: bool = False
    shape_error: str | None = None  # the row does not fit the table's shape

    @property
    def locator(self) -> str:
        return f"{'feature' if self.has_geometry_column else 'row'} {self.number}"


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_source(path: str | Path, *, fmt: str | None = None, encoding: str = "utf-8-sig",
                crs: str | None = None, delimiter: str = ",", layer: str | None = None) -> tuple[list[str], list[SourceRow], list[str]]:
    """Read a source file into its column names and rows.

    Parameters
    ----------
    path : str or Path
        The file.
    fmt : {"csv", "vector"}, optional
        Defaults from the suffix: ``.csv``/``.txt`` are tables, GIS suffixes vector.
    encoding : str
        Text encoding of a CSV (``utf-8-sig`` accepts UTF-8 with or without BOM).
    crs : str, optional
        For vector files: the CRS the profile declares. A file that declares none is read in
        this CRS; a file that declares none and a profile that declares none is refused.

    Returns
    -------
    (list of str, list of SourceRow, list of str)
        Column names, rows, and what the reading library warned about (GDAL's notes on
        rings it closed, columns it could not type …), for the import report.

    Raises
    ------
    SourceError
        The file is missing, unreadable, not in the expected format or encoding, or a vector
        file's CRS is unknown.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    fmt = fmt or ("csv" if path.suffix.lower() in TABLE_SUFFIXES else "vector")
    if fmt == "csv":
        return _read_csv(path, encoding, delimiter)
    if fmt == "vector":
        return _read_vector(path, crs, layer)
    raise SourceError(f"{path}: unknown format {fmt!r}; expected csv or vector")


def _read_csv(path: Path, encoding: str, delimiter: str):
    try:
        with open(path, newline="", encoding=encoding) as fh:
            records = list(csv.reader(fh, delimiter=delimiter))
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not valid {encoding} text at byte {exc.start}; declare the "
                          "file's encoding in the profile (read.encoding: cp1252, latin-1 …)") from None
    except csv.Error as exc:
        raise SourceError(f"{path}: not a readable CSV table: {exc}") from None
    if not records or not any(records[0]):
        raise SourceError(f"{path}: empty file; expected a header row and data rows")
    columns = [c.strip() for c in records[0]]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise SourceError(f"{path}: the header names column(s) {repeated} more than once; "
                          "expected each column once")
    rows = []
    number = 0
    for values in records[1:]:
        if not values:  # a blank line
            continue
        number += 1
        row = SourceRow(number, dict(zip(columns, values)))
        if len(values) != len(columns):
            row.shape_error = (f"the row has {len(values)} fields, the header {len(columns)}; "
                               "expected one value per column (a stray delimiter or quote?)")
        rows.append(row)
    return columns, rows, []


def _read_vector(path: Path, declared_crs: str | None, layer: str | None = None):
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if layer is not None:
                names = [str(n) for n, _ in pyogrio.list_layers(path)]
                if layer not in names:
                    raise SourceError(f"{path}: no layer {layer!r}; its layers are {names}")
            info = pyogrio.read_info(path, layer=layer)
            gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
    except SourceError:
        raise
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, …
        raise SourceError(f"{path}: cannot read as a GIS file: {exc}") from None
    notes = sorted({f"{path.name}: {w.message}" for w in caught})
    file_crs = info.get("crs")
    if gdf.geometry.name in gdf and len(gdf):
        if file_crs is None and declared_crs is None:
            raise SourceError(f"{path}: the file declares no coordinate reference system and "
                              "the profile declares none (geometry.crs); refusing to guess")
        source_crs = CRS.from_user_input(file_crs or declared_crs)
        if gdf.crs is None:
            gdf = gdf.set_crs(source_crs)
        if not source_crs.equals(CRS.from_epsg(4326)):
            gdf = gdf.to_crs(4326)
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    props = gdf[columns].astype(object).where(gdf[columns].notna(), None)
    rows = [SourceRow(i + 1, dict(zip(columns, values)), geom, True)
            for i, (values, geom) in enumerate(zip(props.itertuples(index=False, name=None),
                                                   gdf.geometry.array))]
    return columns, rows, notes
