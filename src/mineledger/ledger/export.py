"""Export: a layer's records, filtered, to the formats partners open.

``export_layer(store, "hazards", "gpkg", "out.gpkg", country="BIH")`` writes the records and,
beside the file, an import profile (``out.gpkg.profile.yaml``) that reads the file back into the
same fields — so that what a format cannot carry as it is (Shapefile's 10-character field
names and its lack of empty geometries, KML's own names for ``name`` and ``description``, text
dates) is restored on import. Every such loss is said in the report's notes.

Formats and what each keeps (RFC 7946 for GeoJSON; coordinates to 1e-7 degree or better):

=======  ==============================================  ===================================
format   written by                                      missing vs empty geometry
=======  ==============================================  ===================================
gpkg     pyogrio (GDAL GPKG)                             kept
geojson  pyogrio (GDAL GeoJSON, RFC7946=YES, full        kept (``null`` vs empty coordinates)
         precision)
shp      pyogrio (GDAL ESRI Shapefile, UTF-8 .cpg)       not carried: restored from the
                                                         ``geometry_status`` column
kml      pyogrio (GDAL LIBKML, attributes in             kept
         ExtendedData)
csv      csv (WKT geometry column; ``--bom`` for Excel)  kept (empty cell vs ``… EMPTY``)
xlsx     openpyxl (WKT geometry column)                  kept
parquet  GeoPandas + pyarrow (GeoParquet)                kept
=======  ==============================================  ===================================
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import yaml

from mineledger.errors import QueryError, SourceError
from mineledger.model.records import COMMON_FIELDS, LAYERS
from mineledger.model.vocab import Layer
from mineledger.store.base import Store

FORMATS = ("gpkg", "geojson", "shp", "kml", "csv", "xlsx", "parquet")
SUFFIX = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".shp", "kml": ".kml", "csv": ".csv",
          "xlsx": ".xlsx", "parquet": ".parquet"}
#: Common fields an export carries, before the layer's own fields.
EXPORTED_COMMON = ("uuid", "country", "organisation", "date_of_information", "source_file",
                   "source_locator", "geometry_status", "geometry_note")
#: Common fields an import profile may map (the others are the store's bookkeeping).
_MAPPABLE_COMMON = ("country", "organisation", "date_of_information")
#: The field each layer's --from/--to filter reads (a year field counts by its year).
DATE_FIELD = {"admin_areas": None, "hazards": "date_of_information",
              "cleared_areas": "date_released", "activities": "end_date",
              "devices": "found_date", "events": "event_date", "victims": "year"}
#: Excel's limit on the characters of one cell.
XLSX_CELL_LIMIT = 32767
#: Shapefile (dBASE) limits: field name length and text field width.
DBF_NAME, DBF_TEXT = 10, 254
#: HXL hashtags (HXL standard 1.1 core hashtags) of the fields, for --hxl; a field not listed
#: is tagged ``#meta+<field>``.
HXL_TAGS = {
    "uuid": "#meta+id", "country": "#country+code", "organisation": "#org+name",
    "date_of_information": "#date+reported", "source_file": "#meta+source",
    "geometry_status": "#meta+geometry_status", "longitude": "#geo+lon", "latitude": "#geo+lat",
    "geometry_wkt": "#geo+wkt", "admin1_code": "#adm1+code", "admin1_name": "#adm1+name",
    "admin2_name": "#adm2+name", "event_date": "#date+occurred", "event_time": "#date+time_utc",
    "killed": "#affected+killed", "injured": "#affected+injured", "event_type": "#event+type",
    "eo_category": "#item+type", "year": "#date+year", "month": "#date+month",
    "outcome": "#affected+outcome", "gender": "#affected+gender", "age_group": "#affected+age",
    "hazard_type": "#status+type", "status": "#status", "area_m2": "#indicator+area_m2",
    "name": "#loc+name", "code": "#loc+code", "level": "#loc+level",
    "local_id": "#meta+local_id", "start_date": "#date+start", "end_date": "#date+end",
    "date_released": "#date+released", "activity_type": "#activity+type",
}


@dataclass
class ExportReport:
    """What an export wrote."""

    layer: str
    format: str
    path: Path
    profile_path: Path
    records: int
    notes: list[str] = field(default_factory=list)


def hxl_tag(name: str, layer: str) -> str:
    """The HXL hashtag an export writes for a field (``#meta+<field>`` when none is set).

    >>> hxl_tag("killed", "events"), hxl_tag("beneficiaries", "hazards")
    ('#affected+killed', '#meta+beneficiaries')
    """
    if name == "admin_code":
        return "#adm2+code" if layer in ("events", "victims") else "#loc+admin_code"
    return HXL_TAGS.get(name, f"#meta+{name}")


def _field_type(layer: str, name: str) -> str:
    spec = LAYERS[Layer(layer)]
    f = spec.fields.get(name) or COMMON_FIELDS.get(name)
    return f.type if f else "text"


def _parse_day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise QueryError(f"{option} {text!r}: expected a date as YYYY-MM-DD") from None


def select_records(store: Store, layer: str, *, country: str | None = None,
                   admin: str | None = None, status: list[str] | None = None,
                   date_from: str | dt.date | None = None, date_to: str | dt.date | None = None,
                   notes: list[str] | None = None):
    """The records of a layer that pass the filters, as a GeoDataFrame (EPSG:4326).

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
    """
    from mineledger.access.roles import Action, actor_of, authorize, operator_sees_only_own

    notes = notes if notes is not None else []
    try:
        spec = LAYERS[Layer(layer)]
    except ValueError:
        raise QueryError(f"layer {layer!r}; expected one of {', '.join(l.value for l in Layer)}") from None
    actor = actor_of(store)
    country = country.upper() if country else actor.country
    authorize(actor, Action.READ, country=country)
    gdf = store.read_layer(layer, country)
    if operator_sees_only_own(store, actor, country):
        gdf = gdf[gdf["organisation"] == actor.organisation]
    if status:
        if "status" not in spec.fields:
            raise QueryError(f"--status: layer {layer!r} has no status field")
        bad = [s for s in status if s not in spec.fields["status"].vocabulary]
        if bad:
            raise QueryError(f"--status {bad[0]!r}; expected one of "
                             f"{', '.join(spec.fields['status'].vocabulary)}")
        gdf = gdf[gdf["status"].isin(status)]
    lo, hi = _parse_day(date_from, "--from") if isinstance(date_from, (str, type(None))) else date_from, \
        _parse_day(date_to, "--to") if isinstance(date_to, (str, type(None))) else date_to
    if lo and hi and lo > hi:
        raise QueryError(f"--from {lo} is after --to {hi}")
    if lo or hi:
        name = DATE_FIELD[layer]
        if name is None:
            raise QueryError(f"--from/--to: layer {layer!r} has no date to filter on")
        values = gdf[name]
        if layer == "events" and "year" in gdf:
            # an event known only by its year is filtered by its year
            values = pd.Series([d if d is not None else (int(y) if y == y and y is not None else None)
                                for d, y in zip(gdf["event_date"], gdf["year"])], index=gdf.index,
                               dtype=object)
            keep = values.map(lambda v: v is not None and (
                (lo is None or (v >= lo if isinstance(v, dt.date) else v >= lo.year)) and
                (hi is None or (v <= hi if isinstance(v, dt.date) else v <= hi.year))))
            undated = int(values.isna().sum())
            if undated:
                notes.append(f"{undated} record(s) with no event_date or year left out by --from/--to")
            gdf = gdf[keep.to_numpy(dtype=bool)]
        elif name == "year":
            keep = values.notna() & (values >= (lo.year if lo else -1e9)) & \
                (values <= (hi.year if hi else 1e9))
        else:
            days = values.map(lambda v: v if isinstance(v, dt.date) else None)
            keep = days.map(lambda d: d is not None and (lo is None or d >= lo)
                            and (hi is None or d <= hi)).astype(bool)
        undated = int(values.isna().sum())
        if undated:
            notes.append(f"{undated} record(s) with no {name} left out by --from/--to")
        gdf = gdf[keep.to_numpy()]
    if admin:
        areas = store.read_layer("admin_areas", country)
        area = areas[areas["code"] == admin]
        if area.empty:
            raise QueryError(f"--admin {admin!r}: no administrative area with that code"
                             f"{' in ' + country if country else ''}; see the admin_areas layer")
        # the area and the areas within it (by parent_code), as the summary attributes them:
        # a record's own admin code first, else where its geometry lies
        codes = {admin}
        while True:
            more = set(areas.loc[areas["parent_code"].isin(codes), "code"]) - codes
            if not more:
                break
            codes |= more
        shape = shapely.union_all(area.geometry.array)
        geoms = gdf.geometry.array
        has = ~(gdf.geometry.isna().to_numpy() | shapely.is_empty(geoms))
        coded = np.zeros(len(gdf), dtype=bool)
        by_code = np.zeros(len(gdf), dtype=bool)
        for col in ("admin_code", "admin1_code"):
            if col in gdf:
                known = gdf[col].notna().to_numpy(dtype=bool)
                by_code |= known & gdf[col].isin(codes).to_numpy(dtype=bool)
                coded |= known
        inside = np.zeros(len(gdf), dtype=bool)
        where = has & ~coded
        if where.any():  # inside: meets the area's interior, not only its edge
            inside[where] = shapely.intersects(geoms[where], shape) & \
                ~shapely.touches(geoms[where], shape)
        gdf = gdf[by_code | inside]
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
        kind = _field_type(layer, name)
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


def export_layer(store: Store, layer: str, fmt: str, out: str | Path, *,
                 country: str | None = None, admin: str | None = None,
                 status: list[str] | None = None, date_from: str | None = None,
                 date_to: str | None = None, hxl: bool = False, bom: bool = False,
                 overwrite: bool = False, personal: bool = False,
                 purpose: str | None = None) -> ExportReport:
    """Write a layer's records to a file and an import profile that reads it back.

    Parameters
    ----------
    store : Store
    layer : str
        ``hazards`` (the hazardous-area layer), ``cleared_areas``, ``activities``,
        ``devices``, ``events``, ``victims`` or ``admin_areas``.
    fmt : {"gpkg", "geojson", "shp", "kml", "csv", "xlsx", "parquet"}
    out : str or Path
        The file to write; the profile is written beside it as ``<name>.profile.yaml``
        (``hazards.shp`` → ``hazards.shp.profile.yaml``).
    country, admin, status, date_from, date_to
        Filters, as in :func:`select_records`.
    hxl : bool
        CSV and XLSX: a row of HXL hashtags under the header (:data:`HXL_TAGS`).
    bom : bool
        CSV: start with a UTF-8 byte order mark, so spreadsheet programs read accents right.
    overwrite : bool
        Replace an existing file (otherwise refused).
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
        The output exists (without ``overwrite``), its folder does not, or a value does not
        fit the format (an XLSX cell over 32,767 characters).
    """
    from mineledger.access.roles import Action, actor_of, authorize

    if fmt not in FORMATS:
        raise QueryError(f"--format {fmt!r}; expected one of {', '.join(FORMATS)}")
    actor = actor_of(store)
    authorize(actor, Action.EXPORT, country=country.upper() if country else actor.country)
    if personal and layer != "victims":
        raise QueryError("--personal applies to the victims layer")
    if hxl and fmt not in ("csv", "xlsx"):
        raise QueryError("--hxl applies to csv and xlsx exports")
    if bom and fmt != "csv":
        raise QueryError("--bom applies to csv exports")
    out = Path(out)
    if out.suffix.lower() != SUFFIX[fmt]:
        raise QueryError(f"--out {out}: a {fmt} export needs a name ending in {SUFFIX[fmt]}")
    if not out.parent.is_dir():
        raise SourceError(f"--out {out}: the folder {out.parent} does not exist")
    profile_path = out.with_name(out.name + ".profile.yaml")
    if not overwrite:
        for p in (out, profile_path):
            if p.exists():
                raise SourceError(f"{p} exists; pass --overwrite to replace it")
    notes: list[str] = []
    gdf = select_records(store, layer, country=country, admin=admin, status=status,
                         date_from=date_from, date_to=date_to, notes=notes)
    frame = _plain_frame(gdf, layer)
    if personal:
        from mineledger.victims import personal as people
        from mineledger.model.records import personal_fields

        values = people.read(store, list(frame["uuid"]), purpose=purpose or "", action="export")
        for name in personal_fields("victims"):
            column = [values.get(u, {}).get(name) for u in frame["uuid"]]
            if _field_type(layer, name) == "date":
                column = [dt.date.fromisoformat(v) if v else None for v in column]
            frame[name] = pd.Series(column, dtype=object)
        notes.append(f"personal data of {len(values):,} victim(s) included; each access is "
                     "recorded. Keep this file as the data protection rules say")
    geoms = np.asarray(gdf.geometry.array, dtype=object) if len(gdf) else np.array([], dtype=object)
    if overwrite:  # GDAL does not replace a file; a shapefile is several
        for suffix in (".shx", ".dbf", ".prj", ".cpg") if fmt == "shp" else ():
            out.with_suffix(suffix).unlink(missing_ok=True)
        out.unlink(missing_ok=True)
    writer = {"gpkg": _write_gis, "geojson": _write_gis, "shp": _write_gis, "kml": _write_gis,
              "csv": _write_csv, "xlsx": _write_xlsx, "parquet": _write_parquet}[fmt]
    try:
        renamed = writer(frame, geoms, layer, fmt, out, notes, hxl=hxl, bom=bom)
        profile_path.write_text(_profile_yaml(layer, fmt, out, renamed or {}, personal),
                                encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"--out {out}: cannot write it: {exc.strerror or exc}") from None
    return ExportReport(layer, fmt, out, profile_path, len(frame), notes)


# --- writers ----------------------------------------------------------------------------------

def _gis_frame(frame: pd.DataFrame, geoms, layer: str, fmt: str, notes: list[str]):
    import geopandas as gpd

    data = frame.copy()
    for name in data.columns:
        kind = _field_type(layer, name)
        if kind == "datetime" or (kind == "date" and fmt in ("kml", "shp")):
            # Shapefile has no time type and KML no typed dates: ISO 8601 text (UTC "Z")
            data[name] = data[name].map(_iso)
        elif kind == "date":
            data[name] = pd.to_datetime(data[name].map(lambda d: d.isoformat() if d else None)) \
                .dt.date.astype(object).where(data[name].notna(), None)
        elif kind == "boolean" and fmt == "shp":
            data[name] = data[name].map(lambda b: None if b is None else int(b))
        elif kind == "integer":
            data[name] = pd.array(data[name].tolist(), dtype="Int64")
        elif kind == "real":
            data[name] = pd.array(data[name].tolist(), dtype="Float64")
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(list(geoms), crs="EPSG:4326"))


def _short_names(columns: list[str]) -> dict[str, str]:
    """dBASE field names (at most 10 characters), unique, for the columns that need one.

    >>> _short_names(["reported_area_m2", "reported_aa", "status"])
    {'reported_area_m2': 'reported_a', 'reported_aa': 'reported_1'}
    """
    taken = {c for c in columns if len(c) <= DBF_NAME}
    out = {}
    for c in columns:
        if len(c) <= DBF_NAME:
            continue
        short, n = c[:DBF_NAME], 0
        while short.lower() in {t.lower() for t in taken}:
            n += 1
            short = c[:DBF_NAME - len(str(n))] + str(n)
        taken.add(short)
        out[c] = short
    return out


def _write_gis(frame, geoms, layer, fmt, out, notes, **_):
    import pyogrio

    gdf = _gis_frame(frame, geoms, layer, fmt, notes)
    renamed: dict[str, str] = {}
    options: dict[str, Any] = {}
    driver = {"gpkg": "GPKG", "geojson": "GeoJSON", "shp": "ESRI Shapefile", "kml": "LIBKML"}[fmt]
    has_geom = ~(gdf.geometry.isna().to_numpy())
    empty = int((has_geom & shapely.is_empty(gdf.geometry.array)).sum()) if len(gdf) else 0
    if fmt == "geojson":
        # RFC 7946 (no crs member, counter-clockwise exteriors, split at the antimeridian),
        # but with every digit: GDAL's RFC 7946 default of 7 decimals can make a small valid
        # polygon invalid (BiH hazard cc061678… became a GeometryCollection)
        options["layer_options"] = {"RFC7946": "YES", "WRITE_NAME": "NO",
                                    "COORDINATE_PRECISION": "15"}
    if fmt == "shp":
        renamed = _short_names(list(gdf.columns.drop(gdf.geometry.name)))
        gdf = gdf.rename(columns=renamed)
        options["encoding"] = "UTF-8"
        if renamed:
            notes.append("Shapefile field names are at most 10 characters: "
                         + ", ".join(f"{k} → {v}" for k, v in renamed.items())
                         + "; the profile written beside the file maps them back")
        long = [c for c in gdf.columns if c != gdf.geometry.name and gdf[c].dtype == object
                and gdf[c].map(lambda v: isinstance(v, str) and len(v.encode()) > DBF_TEXT).any()]
        if long:
            notes.append(f"Shapefile text fields hold at most {DBF_TEXT} bytes: values of "
                         f"{', '.join(long)} are cut there (use gpkg to keep them whole)")
        if empty:
            notes.append(f"Shapefile has no empty geometry: {empty} empty geometr"
                         f"{'y is' if empty == 1 else 'ies are'} written as null; the "
                         "geometry_status column says 'empty' and the profile restores it")
        gdf.geometry.array[has_geom & shapely.is_empty(gdf.geometry.array)] = None
    if fmt == "kml":
        notes.append("KML keeps the attributes in ExtendedData; GDAL reads 'name' and "
                     "'description' back as Name and description, and the profile maps them")
    polygonal = LAYERS[Layer(layer)].geometry_type in ("POLYGON", "MULTIPOLYGON")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "Empty multi geometry …"
            pyogrio.write_dataframe(gdf, out, layer=layer, driver=driver,
                                    promote_to_multi=polygonal or None,
                                    geometry_type="MultiPolygon" if polygonal else "Point",
                                    **options)
    except Exception as exc:  # pyogrio.errors.DataSourceError …
        raise SourceError(f"{out}: cannot write {fmt}: {exc}") from None
    return renamed


def _iso(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        v = v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)
        return v.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _wkt(geom) -> str | None:
    if geom is None:
        return None
    return shapely.to_wkt(geom, rounding_precision=-1, trim=True)


def _table_rows(frame, geoms, layer):
    points = LAYERS[Layer(layer)].geometry_type == "POINT"
    header = list(frame.columns) + (["longitude", "latitude"] if points else []) + ["geometry_wkt"]
    rows = []
    for values, geom in zip(frame.itertuples(index=False, name=None), geoms):
        extra = []
        if points:
            ok = geom is not None and not geom.is_empty
            extra = [geom.x if ok else None, geom.y if ok else None]
        rows.append(list(values) + extra + [_wkt(geom)])
    return header, rows


def _write_csv(frame, geoms, layer, fmt, out, notes, *, hxl=False, bom=False, **_):
    header, rows = _table_rows(frame, geoms, layer)

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return repr(v)
        return _iso(v)

    with open(out, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        if hxl:
            w.writerow([hxl_tag(c, layer) for c in header])
        for r in rows:
            w.writerow([cell(v) for v in r])
    return {}


def _write_xlsx(frame, geoms, layer, fmt, out, notes, *, hxl=False, **_):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    header, rows = _table_rows(frame, geoms, layer)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(layer)

    def text_cell(v):  # text that starts with "=" is text, not a formula to run
        if isinstance(v, str) and v.startswith("="):
            cell = WriteOnlyCell(sheet, value=v)
            cell.data_type = "s"
            return cell
        return v
    sheet.append(header)
    if hxl:
        sheet.append([hxl_tag(c, layer) for c in header])
    for i, r in enumerate(rows):
        values = [_iso(v) if isinstance(v, dt.datetime) else v for v in r]
        too_long = [header[j] for j, v in enumerate(values)
                    if isinstance(v, str) and len(v) > XLSX_CELL_LIMIT]
        if too_long:
            raise SourceError(
                f"{out}: record {frame['uuid'].iloc[i]} ({frame['source_locator'].iloc[i]}): "
                f"{too_long[0]} has {len(values[header.index(too_long[0])]):,} characters; an "
                f"XLSX cell holds at most {XLSX_CELL_LIMIT:,}. Export this layer as gpkg or csv")
        sheet.append([text_cell(v) for v in values])
    book.save(out)
    return {}


def _write_parquet(frame, geoms, layer, fmt, out, notes, **_):
    gdf = _gis_frame(frame, geoms, layer, fmt, notes)
    try:
        gdf.to_parquet(out, index=False)
    except Exception as exc:  # pyarrow.ArrowInvalid …
        raise SourceError(f"{out}: cannot write GeoParquet: {exc}") from None
    return {}


# --- the profile that reads an export back -----------------------------------------------------

def _profile_yaml(layer: str, fmt: str, out: Path, renamed: dict[str, str],
                  personal: bool = False) -> str:
    spec = LAYERS[Layer(layer)]
    read: dict[str, Any] = {"format": {"gpkg": "vector", "geojson": "vector", "shp": "vector",
                                       "kml": "vector", "csv": "csv", "xlsx": "xlsx",
                                       "parquet": "parquet"}[fmt],
                            "pattern": out.name}
    if fmt in ("gpkg", "kml"):
        read["layer"] = layer
    if fmt == "xlsx":
        read["sheet"] = layer
    if fmt == "csv":
        read["encoding"] = "utf-8-sig"
    kml_names = {"name": "Name", "description": "description"} if fmt == "kml" else {}
    fields: dict[str, Any] = {}
    for name in list(_MAPPABLE_COMMON) + list(spec.fields):
        if name == "area_m2":
            continue  # computed again from the geometry on import
        if spec.fields.get(name) is not None and spec.fields[name].personal and not personal:
            continue
        column = kml_names.get(name, renamed.get(name, name))
        rule: dict[str, Any] = {"column": column}
        kind = _field_type(layer, name)
        if kind in ("date", "datetime"):
            rule["format"] = "iso"
        fields[name] = rule
    geometry: dict[str, Any] = {"status_column": renamed.get("geometry_status", "geometry_status"),
                                "note_column": renamed.get("geometry_note", "geometry_note")}
    if fmt in ("csv", "xlsx"):
        geometry.update({"wkt": "geometry_wkt", "crs": "EPSG:4326"})
    # area_m2 is measured again on import; KML's own columns are not the record's
    ignore = [renamed.get("area_m2", "area_m2")] if "area_m2" in spec.fields else []
    if fmt in ("csv", "xlsx") and spec.geometry_type == "POINT":
        ignore += ["longitude", "latitude"]
    if fmt == "kml":
        ignore += ["id", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                   "visibility", "drawOrder", "icon"]
    if ignore:
        read["ignore"] = ignore
    doc = {
        "name": f"{out.stem}-{fmt}",
        "description": f"Reads back {out.name}, a mineledger export of layer {layer} "
                       f"({fmt}), into the same fields.",
        "layer": layer,
        "read": read,
        "uuid": renamed.get("uuid", "uuid"),
        "geometry": geometry,
        "fields": fields,
    }
    return ("# Written by `mineledger export`; import the file with\n"
            f"#   mineledger import {out.name} --profile {out.name}.profile.yaml\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
