"""Writers of the interchange formats: a layer's records to a file, and the import profile
that reads the file back into the same fields (README, "Formats in and out").

Formats and what each keeps (RFC 7946 for GeoJSON; coordinates to 1e-7 degree or better):
=======  ==============================================  ===================================
format   written by                                      missing vs empty geometry
=======  ==============================================  ===================================
gpkg     pyogrio (GDAL GPKG)                             kept
geojson  pyogrio (GDAL GeoJSON, RFC7946=YES, full        kept (``null`` vs empty coordinates)
         precision)
shp      pyogrio (GDAL ESRI Shapefile, UTF-8 .cpg);      not carried: restored from the
         zipped when the name ends in ``.shp.zip``       ``geometry_status`` column
kml      pyogrio (GDAL LIBKML, attributes in             kept
         ExtendedData)
csv      csv (WKT geometry column; ``--excel``, alias    kept (empty cell vs ``… EMPTY``)
         ``--bom``: a UTF-8 byte order mark for Excel)
xlsx     openpyxl (WKT geometry column)                  kept
parquet  GeoPandas + pyarrow (GeoParquet)                kept
=======  ==============================================  ===================================
"""


from __future__ import annotations

import csv
import datetime as dt
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from mineledger.errors import SourceError
from mineledger.io.profiles import dump_profile
from mineledger.model.records import COMMON_FIELDS, LAYERS
from mineledger.model.vocab import Layer

FORMATS = ("gpkg", "geojson", "shp", "kml", "csv", "xlsx", "parquet")
SUFFIX = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".shp", "kml": ".kml", "csv": ".csv",
          "xlsx": ".xlsx", "parquet": ".parquet"}
#: The name of a zipped shapefile ends so (``hazards.shp.zip`` holds ``hazards.shp``, ``.shx``,
#: ``.dbf``, ``.prj`` and ``.cpg``): the one file people e-mail and GIS programs open as it is.
ZIPPED_SHAPEFILE = ".shp.zip"
#: Common fields an export carries, before the layer's own fields.
EXPORTED_COMMON = ("uuid", "country", "organisation", "date_of_information", "source_file",
                   "source_locator", "geometry_status", "geometry_note")
#: Common fields an import profile may map (the others are the store's bookkeeping).
_MAPPABLE_COMMON = ("country", "organisation", "date_of_information")
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


def hxl_tag(name: str, layer: str) -> str:
    """The HXL hashtag an export writes for a field (``#meta+<field>`` when none is set).

    >>> hxl_tag("killed", "events"), hxl_tag("beneficiaries", "hazards")
    ('#affected+killed', '#meta+beneficiaries')
    """
    if name == "admin_code":
        return "#adm2+code" if layer in ("events", "victims") else "#loc+admin_code"
    return HXL_TAGS.get(name, f"#meta+{name}")


def field_type(layer: str, name: str) -> str:
    spec = LAYERS[Layer(layer)]
    f = spec.fields.get(name) or COMMON_FIELDS.get(name)
    return f.type if f else "text"


# --- writers ----------------------------------------------------------------------------------

def _gis_frame(frame: pd.DataFrame, geoms, layer: str, fmt: str, notes: list[str]):
    data = frame.copy()
    for name in data.columns:
        kind = field_type(layer, name)
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


#: A cell Excel would run as a formula starts so (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _write_csv(frame, geoms, layer, fmt, out, notes, *, hxl=False, bom=False, **_):
    header, rows = _table_rows(frame, geoms, layer)
    guarded = 0

    def cell(v):
        nonlocal guarded
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return repr(v)
        if bom and isinstance(v, str) and v.startswith(FORMULA_START) and not _number(v):
            guarded += 1  # for Excel: text that would run as a formula is shown as text
            return "'" + v
        return _iso(v)

    with open(out, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        if hxl:
            w.writerow([hxl_tag(c, layer) for c in header])
        for r in rows:
            w.writerow([cell(v) for v in r])
    if guarded:
        notes.append(f"{guarded} text cell(s) starting with =, +, -, @ or a tab were written "
                     "with a leading ' so that Excel shows them as text, not as a formula")
    return {}


def _number(text: str) -> bool:
    """Whether a text is a plain number (-75.5 is a number, not a formula)."""
    try:
        float(text)
        return True
    except ValueError:
        return False


def _write_xlsx(frame, geoms, layer, fmt, out, notes, *, hxl=False, **_):
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


def is_zipped_shapefile(out: Path) -> bool:
    """Whether ``out`` names a zipped shapefile (:data:`ZIPPED_SHAPEFILE`)."""
    return out.name.lower().endswith(ZIPPED_SHAPEFILE)


def _write_zipped_shapefile(frame, geoms, layer, fmt, out, notes, **options):
    """The shapefile's files, written in a folder beside ``out``, zipped into ``out`` (at the
    zip's top level, named as ``out`` without ``.zip``)."""
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        shp = Path(tmp) / out.name[:-len(".zip")]
        renamed = _write_gis(frame, geoms, layer, fmt, shp, notes, **options)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)
    return renamed


def write_records(frame: pd.DataFrame, geoms, layer: str, fmt: str, out: Path,
                  notes: list[str], *, hxl: bool = False, bom: bool = False) -> dict[str, str]:
    """Write the records of ``frame`` (one column per field, Python values; dates as dates,
    instants as aware UTC datetimes) with their geometries ``geoms`` (EPSG:4326) to ``out``
    in ``fmt`` (:data:`FORMATS`); ``notes`` gains what the format could not carry as it is.
    A shapefile whose name ends in ``.shp.zip`` is written zipped; ``bom`` starts a CSV with a
    UTF-8 byte order mark (what Excel needs to read accents right).

    Returns
    -------
    dict
        The fields the format had to rename (Shapefile), ``{field: name in the file}``.

    Raises
    ------
    SourceError
        The file cannot be written, or a value does not fit the format (an XLSX cell over
        32,767 characters).
    OSError
        The file system refused (full disk, no permission).
    """
    writer = {"gpkg": _write_gis, "geojson": _write_gis, "shp": _write_gis, "kml": _write_gis,
              "csv": _write_csv, "xlsx": _write_xlsx, "parquet": _write_parquet}[fmt]
    if fmt == "shp" and is_zipped_shapefile(out):
        writer = _write_zipped_shapefile
    return writer(frame, geoms, layer, fmt, out, notes, hxl=hxl, bom=bom) or {}


# --- the profile that reads an export back -----------------------------------------------------

def readback_profile(layer: str, fmt: str, out: Path, renamed: dict[str, str],
                     personal: bool = False) -> str:
    """The YAML text of the import profile that reads the export ``out`` back into the same
    fields, record UUIDs and geometry flags (``geometry_status`` and ``geometry_note``:
    missing, empty, repaired, cut along the antimeridian …); ``renamed`` maps fields to the
    names the format had to give them (Shapefile)."""
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
        kind = field_type(layer, name)
        if kind in ("date", "datetime"):
            rule["format"] = "iso"
        fields[name] = rule
    geometry: dict[str, Any] = {"status_column": renamed.get("geometry_status", "geometry_status"),
                                "note_column": renamed.get("geometry_note", "geometry_note")}
    if fmt in ("csv", "xlsx"):
        geometry.update({"wkt": "geometry_wkt", "crs": "EPSG:4326"})
    # area_m2 is measured again on import; the import records this file as the records'
    # source (their earlier source_file and source_locator stay in the file, not as
    # attributes — which for victims would be personal data); KML's own columns are not
    # the record's
    ignore = [renamed.get("area_m2", "area_m2")] if "area_m2" in spec.fields else []
    ignore += [renamed.get(f, f) for f in ("source_file", "source_locator")]
    if fmt in ("csv", "xlsx") and spec.geometry_type == "POINT":
        ignore += ["longitude", "latitude"]
    if fmt == "kml":
        mapped = {rule["column"] for rule in fields.values()}
        ignore += [c for c in ("Name", "description") if c not in mapped]
        ignore += ["id", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                   "visibility", "drawOrder", "icon"]
    if ignore:
        read["ignore"] = ignore
    base = out.name[:-len(ZIPPED_SHAPEFILE)] if is_zipped_shapefile(out) else out.stem
    doc = {
        "name": f"{base}-{fmt}",
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
            + dump_profile(doc))
