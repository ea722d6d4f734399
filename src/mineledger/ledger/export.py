"""Export: a layer's records, filtered, to the formats partners open (the writers are in
:mod:`mineledger.io.writers`).

``export_layer(session, "hazards", "gpkg", "out.gpkg", country="BIH")`` writes the records and,
beside the file, an import profile (``out.gpkg.profile.yaml``) that reads the file back into the
same fields — so that what a format cannot carry as it is (Shapefile's 10-character field
names and its lack of empty geometries, KML's own names for ``name`` and ``description``, text
dates) is restored on import. Every such loss is said in the report's notes. The file and
its profile are written in a folder beside them and moved into place only when both are
whole: a full disk or a refused write leaves nothing behind (and an older file as it was).

The formats, and what each keeps, are listed in :mod:`mineledger.io.writers`.
"""


from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mineledger.access import Action, Session
from mineledger.access.users import operator_sees_only_own
from mineledger.errors import QueryError, SourceError
from mineledger.io.writers import (EXPORTED_COMMON, FORMATS, SUFFIX, ZIPPED_SHAPEFILE, field_type,
                                   is_zipped_shapefile, readback_profile, write_records)
from mineledger.ledger.selection import DATE_FIELD, Selection
from mineledger.model.codes import checked_country
from mineledger.model.records import LAYERS, personal_fields
from mineledger.model.vocab import Layer
from mineledger.victims import personal as people

__all__ = ["DATE_FIELD", "ExportReport", "FORMATS", "SUFFIX", "export_layer", "select_records"]


@dataclass
class ExportReport:
    """What an export wrote."""

    layer: str
    format: str
    path: Path
    profile_path: Path
    records: int
    notes: list[str] = field(default_factory=list)


def _with_status(gdf, layer: str, status: list[str]):
    spec = LAYERS[Layer(layer)]
    if "status" not in spec.fields:
        raise QueryError(f"--status: layer {layer!r} has no status field")
    bad = [s for s in status if s not in spec.fields["status"].vocabulary]
    if bad:
        raise QueryError(f"--status {bad[0]!r}; expected one of "
                         f"{', '.join(spec.fields['status'].vocabulary)}")
    return gdf[gdf["status"].isin(status)]


def select_records(session: Session, layer: str, *, country: str | None = None,
                   admin: str | None = None, status: list[str] | None = None,
                   date_from: str | dt.date | None = None, date_to: str | dt.date | None = None,
                   notes: list[str] | None = None):
    """The records of a layer that pass the filters and that the acting user may read, as a
    GeoDataFrame (EPSG:4326).

    Parameters
    ----------
    layer : str
        A record layer (``hazards``, ``cleared_areas``, ``events``, ``victims`` …).
    country : str, optional
        ISO 3166-1 alpha-3.
    admin : str, optional
        Code of an administrative area in the store: records whose admin code is that area's
        or that of an area within it (by ``parent_code``), and records with no admin code
        whose geometry lies in it (not only on its edge) — the summary's attribution.
    status : list of str, optional
        Hazard statuses (``open``, ``worked_on`` …); only for layers with a status.
    date_from, date_to : str or date, optional
        Inclusive bounds (UTC calendar dates) on the layer's date field (:data:`DATE_FIELD`);
        records with no date are left out when a bound is given, and ``notes`` says how many.

    Raises
    ------
    QueryError
        An unknown layer, a filter the layer has no field for, a bad date, an unknown admin
        code.
    PermissionDenied
        The acting user may not read records (of that country).
    """
    notes = notes if notes is not None else []
    if layer not in set(map(str, Layer)):
        raise QueryError(f"layer {layer!r}; expected one of {', '.join(l.value for l in Layer)}")
    actor = session.actor
    country = checked_country(country) if country else actor.country
    session.require(Action.READ, country=country)
    gdf = session.read_layer(layer, country)
    if operator_sees_only_own(session, actor, country):
        gdf = gdf[gdf["organisation"] == actor.organisation]
    if status:
        gdf = _with_status(gdf, layer, status)
    # the records of a selection, as the figures select them (dates as YYYY, YYYY-MM or
    # YYYY-MM-DD; an area and those within it)
    selection = Selection.of(date_from, date_to, admin)
    if not selection.empty:
        areas = session.read_layer("admin_areas", country) if admin else None
        gdf = selection.select(layer, gdf, areas)
        notes.extend(selection.notes)
    return gdf.reset_index(drop=True)


def _columns(layer: str) -> list[str]:
    """The columns an export carries: never the personal fields (they are added only to a
    ``personal`` export)."""
    return list(EXPORTED_COMMON) + [n for n, f in LAYERS[Layer(layer)].fields.items()
                                    if not f.personal]


def _plain_frame(gdf, layer: str) -> pd.DataFrame:
    """Exported columns as Python values: dates as date, times as aware UTC datetimes."""
    out = pd.DataFrame(index=range(len(gdf)))
    for name in _columns(layer):
        values = gdf[name].astype(object).tolist() if name in gdf else [None] * len(gdf)
        kind = field_type(layer, name)
        clean = []
        for v in values:
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
                clean.append(None)
            elif kind == "integer":
                clean.append(int(v))
            elif kind == "boolean":
                clean.append(bool(v))
            elif isinstance(v, np.generic):
                clean.append(v.item())
            else:
                clean.append(v)
        out[name] = pd.Series(clean, dtype=object)
    return out


#: The files beside a shapefile that an export writes (and replaces with --overwrite).
_SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg")


def _written_files(fmt: str, out: Path) -> list[Path]:
    """The files an export to ``out`` writes: the file, a loose shapefile's other parts, and
    the profile that reads it back."""
    parts = [out.with_suffix(s) for s in _SHAPEFILE_PARTS] \
        if fmt == "shp" and not is_zipped_shapefile(out) else []
    return [out, *parts, out.with_name(out.name + ".profile.yaml")]


def _check_output(layer: str, fmt: str, out: Path, *, hxl: bool, bom: bool, excel: bool,
                  personal: bool, overwrite: bool) -> None:
    """Refuse options that would not act and outputs that must not be overwritten."""
    if fmt not in FORMATS:
        raise QueryError(f"--format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if personal and layer != "victims":
        raise QueryError("--personal applies to the victims layer")
    if hxl and fmt not in ("csv", "xlsx"):
        raise QueryError("--hxl applies to csv and xlsx exports")
    if excel and fmt != "csv":
        raise QueryError("--excel applies to csv exports (an xlsx file is Excel's own)")
    if bom and fmt != "csv":
        raise QueryError("--bom applies to csv exports")
    if fmt == "shp" and out.suffix.lower() != SUFFIX[fmt] and not is_zipped_shapefile(out):
        raise QueryError(f"--out {out}: a shp export needs a name ending in .shp, or in "
                         f"{ZIPPED_SHAPEFILE} for a zipped shapefile")
    if fmt != "shp" and out.suffix.lower() != SUFFIX[fmt]:
        raise QueryError(f"--out {out}: a {fmt} export needs a name ending in {SUFFIX[fmt]}")
    if not out.parent.is_dir():
        raise SourceError(f"--out {out}: the folder {out.parent} does not exist")
    for p in _written_files(fmt, out):
        if p.is_dir():
            raise SourceError(f"--out {out}: {p} is a folder; name a file")
        if not overwrite and (p.exists() or p.is_symlink()):
            raise SourceError(f"{p} exists; pass --overwrite to replace it")


def _write_in_place(fmt: str, out: Path, write) -> None:
    """Call ``write(folder)``, which writes the export's files under their own names into a
    new folder beside ``out``; then move each into place (a loose shapefile's parts that this
    export did not write are removed, so that no stale part is read with it). On any error
    the folder goes and nothing is moved.

    Raises
    ------
    SourceError
        The file system refused (full disk, quota, read-only, no permission), naming ``out``.
    """
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial",
                                        dir=out.parent))
    except OSError as exc:
        raise SourceError(f"--out {out}: cannot write it: {exc.strerror or exc}; nothing was "
                          "written") from None
    try:
        write(staging)
        written = {p.name for p in staging.iterdir()}
        for target in _written_files(fmt, out):
            if target.name in written:
                os.replace(staging / target.name, target)
            elif target.suffix in _SHAPEFILE_PARTS:
                target.unlink(missing_ok=True)
    except OSError as exc:
        raise SourceError(f"--out {out}: cannot write it: {exc.strerror or exc}; nothing was "
                          "written") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _add_personal(session: Session, frame: pd.DataFrame, layer: str, purpose: str | None,
                  notes: list[str]) -> None:
    """Add the victims' personal data to ``frame`` (each access recorded with ``purpose``)."""
    values = people.read(session, list(frame["uuid"]), purpose=purpose or "", action="export")
    for name in personal_fields("victims"):
        column = [values.get(u, {}).get(name) for u in frame["uuid"]]
        if field_type(layer, name) == "date":
            column = [dt.date.fromisoformat(v) if v else None for v in column]
        frame[name] = pd.Series(column, dtype=object)
    notes.append(f"personal data of {len(values):,} victim(s) included; each access is "
                 "recorded. Keep this file as the data protection rules say")


def export_layer(session: Session, layer: str, fmt: str, out: str | Path, *,
                 country: str | None = None, admin: str | None = None,
                 status: list[str] | None = None, date_from: str | None = None,
                 date_to: str | None = None, hxl: bool = False, bom: bool = False,
                 excel: bool = False, overwrite: bool = False, personal: bool = False,
                 purpose: str | None = None) -> ExportReport:
    """Write a layer's records to a file and an import profile that reads it back.

    Parameters
    ----------
    session : Session
        The store, and who acts.
    layer : str
        ``hazards`` (the hazardous-area layer), ``cleared_areas``, ``activities``,
        ``devices``, ``events``, ``victims`` or ``admin_areas``.
    fmt : {"gpkg", "geojson", "shp", "kml", "csv", "xlsx", "parquet"}
    out : str or Path
        The file to write; the profile is written beside it as ``<name>.profile.yaml``
        (``hazards.shp`` → ``hazards.shp.profile.yaml``). A shapefile named ``X.shp.zip`` is
        written zipped (``X.shp``, ``.shx``, ``.dbf``, ``.prj``, ``.cpg`` in one zip).
    country, admin, status, date_from, date_to
        Filters, as in :func:`select_records`.
    hxl : bool
        CSV and XLSX: a row of HXL hashtags under the header
        (:data:`mineledger.io.writers.HXL_TAGS`).
    excel : bool
        CSV for Excel: UTF-8 with a byte order mark, without which Excel reads the text as its
        own code page and shows accents wrong (``Å ipovo`` for ``Šipovo``).
    bom : bool
        The same as ``excel`` (its older name).
    overwrite : bool
        Replace an existing file (otherwise refused); the old one stays whole until the new
        one is.
    personal : bool
        Victims only: add their personal data (name, date of birth, address, notes) — for
        roles allowed to read it, with a ``purpose`` that is recorded for each victim. Left
        out otherwise, and always from public exports.

    Returns
    -------
    ExportReport
        With notes on anything the format could not carry as it is.

    Raises
    ------
    QueryError
        Bad filters or format.
    SourceError
        The output exists (without ``overwrite``), its folder does not, a value does not
        fit the format (an XLSX cell over 32,767 characters), or the file system refused the
        write (a full disk …); nothing is left behind.
    PermissionDenied
        The acting user may not export (or read personal data).
    """
    actor = session.actor
    session.require(Action.EXPORT, country=checked_country(country) if country else actor.country)
    out = Path(out)
    _check_output(layer, fmt, out, hxl=hxl, bom=bom, excel=excel, personal=personal,
                  overwrite=overwrite)
    profile_path = out.with_name(out.name + ".profile.yaml")
    notes: list[str] = []
    gdf = select_records(session, layer, country=country, admin=admin, status=status,
                         date_from=date_from, date_to=date_to, notes=notes)
    frame = _plain_frame(gdf, layer)
    if personal:
        _add_personal(session, frame, layer, purpose, notes)
    geoms = np.asarray(gdf.geometry.array, dtype=object) if len(gdf) else np.array([], dtype=object)

    def write(folder: Path) -> None:
        renamed = write_records(frame, geoms, layer, fmt, folder / out.name, notes, hxl=hxl,
                                bom=bom or excel)
        (folder / profile_path.name).write_text(
            readback_profile(layer, fmt, out, renamed, personal), encoding="utf-8")

    _write_in_place(fmt, out, write)
    return ExportReport(layer, fmt, out, profile_path, len(frame), notes)
