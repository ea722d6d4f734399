"""Draft an import profile from a file: ``mineledger profile infer FILE``.

The draft is a start, not a guess passed off as fact: it maps the columns whose names (or
HXL hashtags) it recognises, declares what it detected (text encoding, coordinate columns
and their notation, the CRS of a GIS file, day-first or month-first dates when the values
prove it) and writes ``CHOOSE`` where a person must decide — dates whose order the values do
not settle, source values to map onto the vocabulary. A profile with ``CHOOSE`` left in it
does not load, so nothing is imported on a guess.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any


from mineledger.errors import ProfileError, SourceError
from mineledger.io.profiles import dump_profile
from mineledger.io.readers import AmbiguousEncoding, format_of, hxl_match, read_source
from mineledger.model.records import COMMON_FIELDS, LAYERS
from mineledger.model.vocab import EventType, Layer

#: Column names (normalised: lower case, no accents, letters and digits only) that name a
#: field, in English, Spanish, French and the ODK/KoboToolbox conventions.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "country": ("country", "pais", "iso3", "countrycode", "pays", "shapegroup", "countryiso"),
    "organisation": ("organisation", "organization", "org", "operator", "organizacion"),
    "date_of_information": ("dateofinformation", "reportdate", "fechareporte", "today",
                            "submissiondate", "submissiontime", "date", "fecha"),
    "year": ("year", "ano", "anio", "annee"),
    "month": ("month", "mes", "mois"),
    "event_date": ("eventdate", "accidentdate", "incidentdate", "fechaevento", "dateoccurred",
                   "date", "fecha"),
    "event_time": ("eventtime", "occurredat", "datetime"),
    "killed": ("killed", "dead", "deaths", "muertos", "fallecidos"),
    "injured": ("injured", "wounded", "heridos"),
    "admin1_name": ("admin1name", "adm1name", "departamento", "province", "region", "state"),
    "admin1_code": ("admin1code", "adm1code", "adm1pcode", "codigodanedepartamento"),
    "admin2_name": ("admin2name", "adm2name", "municipio", "district", "municipality"),
    "admin_code": ("admincode", "adm2code", "adm2pcode", "pcode", "codigodanemunicipio"),
    "local_id": ("localid", "id", "hazardid", "code", "reference", "ref", "instanceid", "key"),
    "hazard_local_id": ("hazardlocalid", "hazardid", "hazardref", "parenthazard"),
    "event_type": ("eventtype", "type", "tipoevento", "tipodeevento", "tipo", "tipoaccidente",
                   "tipodeaccidente", "incidenttype", "accidenttype"),
    "outcome_unknown": ("outcomeunknown", "unknownoutcome", "estadodesconocido"),
    "eo_category": ("eocategory", "eotype", "devicetype", "ordnancetype", "itemtype"),
    "hazard_type": ("hazardtype", "shacha", "areatype"),
    "status": ("status", "estado"),
    "outcome": ("outcome", "condition", "killedinjured"),
    "gender": ("gender", "sex", "sexo", "genero"),
    "age_group": ("agegroup", "age", "rangoedad", "edad"),
    "model": ("model", "devicemodel"),
    "quantity": ("quantity", "qty", "count", "number", "cantidad"),
    "depth_m": ("depthm", "depth", "profundidad"),
    "found_date": ("founddate", "datefound"),
    "start_date": ("startdate", "start", "fechainicio"),
    "end_date": ("enddate", "end", "fechafin"),
    "activity_type": ("activitytype", "activity", "tasktype"),
    "method": ("method", "metodo"),
    "name": ("name", "nombre", "shapename", "admname"),
    "code": ("code", "pcode", "shapeid"),
    "level": ("level", "admlevel"),
    "reported_area_m2": ("reportedaream2", "aream2", "area", "sqm", "m2"),
    "beneficiaries": ("beneficiaries", "beneficiarios"),
}
#: HXL hashtag patterns that name a field.
HXL_FIELDS = {
    "country": "#country+code", "admin1_name": "#adm1+name", "admin1_code": "#adm1+code",
    "admin2_name": "#adm2+name", "admin_code": "#adm2+code", "event_date": "#date+occurred",
    "killed": "#affected+killed", "injured": "#affected+injured", "organisation": "#org",
    "date_of_information": "#date+reported", "event_type": "#event+type",
    "local_id": "#meta+id", "year": "#date+year",
}
#: Source values (normalised) that mean a vocabulary value, in the languages of the field.
VALUE_SYNONYMS = {
    "muerto": "killed", "muerta": "killed", "fallecido": "killed", "dead": "killed",
    "killed": "killed", "mort": "killed", "herido": "injured", "herida": "injured",
    "injured": "injured", "wounded": "injured", "blesse": "injured",
    "hombre": "male", "masculino": "male", "male": "male", "man": "male", "homme": "male",
    "mujer": "female", "femenino": "female", "female": "female", "woman": "female",
    "femme": "female", "mayorde18anos": "adult", "adult": "adult", "adulto": "adult",
    "menorde18anos": "minor", "minor": "minor", "child": "minor", "nino": "minor",
    "menor": "minor", "rural": "rural", "urbana": "urban", "urbano": "urban", "urban": "urban",
    "sininformacion": "unknown", "unknown": "unknown", "desconocido": "unknown",
    "nd": "unknown", "sha": "SHA", "cha": "CHA", "civil": True, "civilian": True,
    "fuerzapublica": False, "military": False, "militar": False,
}
#: Words (normalised, see :func:`_words`) that name explosive ordnance or a kind of event in
#: an event-type column, in Spanish, English and French.
_IED = {"aei", "ied", "ieds", "eei", "improvise", "improvised", "improvisado"}
_AT = {"mat", "antitanque", "antitank", "antichar", "antivehiculo", "antivehicle"}
_AP = {"map", "antipersonal", "antipersona", "antipersonnel", "ap"}
_UXO = {"muse", "uxo", "erw", "rew", "reg", "unexploded", "explotar"}
_ACCIDENT = {"accidente", "accidentes", "accident", "accidents"}
_INCIDENT = {"incidente", "incidentes", "incident", "incidents"}
_FOUND = {"hallazgo", "hallazgos", "found", "find", "finds", "encontrado", "decouverte"}
#: Other event types by a word the value holds.
_EVENT_WORDS = {"incautacion": "seizure", "incautaciones": "seizure", "seizure": "seizure",
                "decomiso": "seizure", "arsenal": "stored_arsenal", "fabrica": "mine_production_site",
                "produccion": "mine_production_site", "production": "mine_production_site", "desminado": "military_demining",
                "demining": "military_demining", "sospecha": "suspected_minefield",
                "suspected": "suspected_minefield", "lifted": "lifted_minefield",
                "levantado": "lifted_minefield"}
#: Column names (normalised) of the day of a date given in parts.
_DAY = ("day", "dia", "jour", "dd")
_LON = ("longitude", "lon", "long", "lng", "x", "longitud", "gpslongitude", "easting")
_LAT = ("latitude", "lat", "y", "latitud", "gpslatitude", "northing")
#: Spreadsheet day numbers (1900 date system) taken for dates: 1950-01-01 to 2099-12-31.
SERIAL_RANGE = (18264, 73051)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}.*)?")
_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_NUM = re.compile(r"[+-]?\d+([.,]\d+)?")
_GEOPOINT = re.compile(r"-?\d+(\.\d+)? -?\d+(\.\d+)?( -?\d+(\.\d+)?){0,2}")
_MGRS = re.compile(r"\d{1,2}[C-HJ-NP-X] ?[A-HJ-NP-Z]{2} ?\d{2,10}( ?\d{1,5})?", re.I)
_UTM = re.compile(r"\d{1,2} ?[NSns] \d{5,7}(\.\d+)?(mE)? \d{5,8}(\.\d+)?(mN)?")


def _delimiter(path: Path) -> str:
    """The delimiter of a CSV: the one of , ; tab | that its header line holds most of."""
    with open(path, "rb") as fh:
        head = fh.readline()
    counts = {d: head.count(d.encode()) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _norm(name: str) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    text = text.rsplit("/", 1)[-1].rsplit("-", 1)[-1] if "/" in text else text
    return re.sub(r"[^a-z0-9]", "", text)


def _words(value: str) -> set[str]:
    """The words of a value, without accents, in lower case; ``anti-tank`` gives ``antitank``
    as well as ``anti`` and ``tank``."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", text)
    return set(words) | {a + b for a, b in zip(words, words[1:])}


def event_type_of(value: str) -> str | None:
    """The :class:`EventType` an event-type cell means, or None when no synonym settles it.

    An IED (Spanish AEI) is an ``ied_incident``, an anti-tank mine (MAT, *mina antitanque*)
    an ``accident_at_mine``; an accident by an anti-personnel mine (MAP) or by unexploded
    ordnance (MUSE, UXO, ERW) is ``accident_ap_mine`` or ``accident_uxo``; UXO found is
    ``uxo_found``; an incident otherwise is a ``mine_incident``.

    >>> event_type_of("Accidente por MAP"), event_type_of("Incidente"), event_type_of("AEI")
    ('accident_ap_mine', 'mine_incident', 'ied_incident')
    >>> event_type_of("Accidente por mina antitanque"), event_type_of("Accidente") is None
    ('accident_at_mine', True)
    """
    term = re.sub(r"[^a-z0-9]+", "_", str(value).strip().lower()).strip("_")
    if term in {t.value for t in EventType}:
        return term
    words = _words(value)
    if words & _IED:
        return EventType.IED_INCIDENT.value
    if words & _AT:
        return EventType.ACCIDENT_AT_MINE.value
    if words & _ACCIDENT and words & _AP:
        return EventType.ACCIDENT_AP_MINE.value
    if words & _ACCIDENT and words & _UXO:
        return EventType.ACCIDENT_UXO.value
    if words & _FOUND and words & _UXO:
        return EventType.UXO_FOUND.value
    if words & _INCIDENT:
        return EventType.MINE_INCIDENT.value
    meant = {_EVENT_WORDS[w] for w in words if w in _EVENT_WORDS}
    return meant.pop() if len(meant) == 1 else None


def _samples(rows, column: str, n: int = 500) -> list[Any]:
    values = []
    for row in rows:
        v = row.properties.get(column)
        if v is not None and str(v).strip() != "":
            values.append(v)
            if len(values) >= n:
                break
    return values


def _date_rule(values: list[Any]) -> dict[str, Any] | None:
    """A date rule for a column whose values are dates, or None."""
    if not values:
        return None
    if all(isinstance(v, (dt.date, dt.datetime)) for v in values):
        return {}
    texts = [str(v).strip() for v in values]
    numbers = [float(t.replace(",", ".")) for t in texts if _NUM.fullmatch(t)]
    if len(numbers) == len(texts) and all(SERIAL_RANGE[0] <= n < SERIAL_RANGE[1] for n in numbers):
        return {"format": "serial"}  # spreadsheet day numbers: a date cell that lost its format
    if all(_ISO_DATE.fullmatch(t) for t in texts):
        return {"format": "iso"}
    parts = [_DMY.fullmatch(t) for t in texts]
    if all(parts):
        first = max(int(m.group(1)) for m in parts)
        second = max(int(m.group(2)) for m in parts)
        if first > 12 >= second:
            return {"format": "dmy"}
        if second > 12 >= first:
            return {"format": "mdy"}
        return {"format": "CHOOSE-dmy-or-mdy"}  # the values do not say: a person must
    return None


def _guess_layer(columns: list[str], geometry_kind: str | None, stem: str = "") -> str:
    names = {_norm(c) for c in columns}
    stem = stem.lower()
    if geometry_kind in ("Polygon", "MultiPolygon"):
        if re.search(r"clear|releas|cancel|reduc", stem):
            return "cleared_areas"
        if re.search(r"admin|boundar|adm\d|mpio|dpto|municip|depart|district|province", stem) or \
                names & {"shapename", "shapeid", "shapegroup", "admlevel", "pcode"}:
            return "admin_areas"
    if names & {"gender", "sexo", "genero", "sex", "age", "edad", "rangoedad"}:
        return "victims"
    if geometry_kind in ("geoshape", "geotrace", "Polygon", "MultiPolygon"):
        return "hazards"
    if names & {"model", "devicemodel", "quantity", "fate", "eocategory"}:
        return "devices"
    return "events"


def _table_geometry(table) -> dict[str, Any]:
    cols = table.columns
    rows = table.rows
    by_norm = {_norm(c): c for c in cols}
    hxl = table.hxl
    lon = next((c for c, t in hxl.items() if hxl_match("#geo+lon", t)), None) or \
        next((by_norm[n] for n in _LON if n in by_norm), None) or \
        next((c for n, c in by_norm.items() if n.startswith(("longitud", "lon", "lng"))), None)
    lat = next((c for c, t in hxl.items() if hxl_match("#geo+lat", t)), None) or \
        next((by_norm[n] for n in _LAT if n in by_norm), None) or \
        next((c for n, c in by_norm.items() if n.startswith(("latitud", "lat"))), None)
    for c in cols:
        values = [str(v).strip() for v in _samples(rows, c, 50)]
        if not values:
            continue
        if all(v.upper().startswith(("POINT", "POLYGON", "MULTIPOLYGON", "LINESTRING")) for v in values):
            return {"wkt": c, "crs": "EPSG:4326"}
        if all(";" in v for v in values) and all(_GEOPOINT.fullmatch(p.strip()) for v in values
                                                 for p in v.split(";") if p.strip()):
            closed = all(v.split(";")[0].strip() == v.rstrip("; ").split(";")[-1].strip()
                         for v in values)
            return {"geoshape" if closed or "shape" in c.lower() else "geotrace": c}
    if lon and lat:
        values = [str(v) for v in _samples(rows, lon, 50) + _samples(rows, lat, 50)]
        geom: dict[str, Any] = {"x": lon, "y": lat, "crs": "EPSG:4326"}
        if any(re.search(r"[°'\"NSEWO]\s*$|^\s*[NSEWO]", v) for v in values):
            geom["notation"] = "dms"
        if any(re.fullmatch(r"-?\d+,\d+", v.strip()) for v in values):
            geom["decimal"] = ","
        numbers = [float(v.replace(",", ".")) for v in values if _NUM.fullmatch(v.strip())]
        if numbers and max(abs(n) for n in numbers) > 180:
            geom["crs"] = "CHOOSE-the-projected-CRS-for-example-EPSG:9377"
        return geom
    for c in cols:
        values = [str(v).strip() for v in _samples(rows, c, 50)]
        if not values:
            continue
        if all(_GEOPOINT.fullmatch(v) for v in values) and any(len(v.split()) >= 2 for v in values):
            return {"geopoint": c}
        if all(_MGRS.fullmatch(v) for v in values):
            return {"mgrs": c}
        if all(_UTM.fullmatch(v) for v in values):
            return {"utm": c, "letter": "hemisphere"}
    return {}


def _columns_by_values(table, spec, used: set[str]) -> dict[str, tuple[str, dict]]:
    """Vocabulary fields whose values a column holds (every distinct value a synonym of one
    of the field's values, at least two of them): field -> (column, map)."""
    found: dict[str, tuple[str, dict]] = {}
    for column in table.columns:
        if column in used:
            continue
        distinct = sorted({str(v).strip() for v in _samples(table.rows, column, 2000)})
        if not 2 <= len(distinct) <= 30:
            continue
        meant = {d: VALUE_SYNONYMS.get(_norm(d)) for d in distinct}
        for name, f in spec.fields.items():
            vocab = f.vocabulary or ((True, False) if f.type == "boolean" else None)
            if vocab is None or name in found:
                continue
            hits = {d: m for d, m in meant.items() if m is not None and m in vocab}
            informative = {m for m in hits.values() if m != "unknown"}
            if len(hits) == len(distinct) and len(informative) >= 2:
                found[name] = (column, hits)
                break
    return found


def _read_table(path: Path, fmt: str, encoding: str | None, delimiter: str, sheet, gis_layer):
    """(the table, the code pages that read it differently): a CSV whose encoding is not
    given is detected as import detects it (:func:`~mineledger.io.readers.read_source`); when
    the code pages that fit it read it differently, the draft is made from the first (the
    most used) and the choice left to a person."""
    options = {"fmt": fmt, "layer": gis_layer, "sheet": sheet, "crs": "EPSG:4326",
               "delimiter": delimiter}
    try:
        return read_source(path, encoding=encoding, **options), ()
    except AmbiguousEncoding as exc:
        return read_source(path, encoding=exc.candidates[0], **options), exc.candidates


def _read_section(path: Path, table, fmt: str, delimiter: str, sheet, gis_layer,
                  comments: list[str], encoding: str | None = None,
                  candidates: tuple[str, ...] = ()) -> dict[str, Any]:
    read: dict[str, Any] = {"format": fmt}
    if delimiter != ",":
        read["delimiter"] = delimiter
    if candidates:
        read["encoding"] = "CHOOSE-" + "-or-".join(candidates[:4])
        comments.append(f"encoding: not UTF-8, and {', '.join(candidates)} read it differently; "
                        f"drafted as {candidates[0]} reads it. Set read.encoding to the one "
                        "whose names read right (`mineledger profile infer --encoding` drafts "
                        "with it), and correct accented column names below if it is not "
                        f"{candidates[0]}")
    elif encoding is not None:
        read["encoding"] = encoding
    elif table.encoding and table.encoding != "utf-8-sig":
        read["encoding"] = table.encoding
        comments.append(f"encoding {table.encoding} detected: check accented text after import")
    if sheet:
        read["sheet"] = sheet
    if gis_layer:
        read["layer"] = gis_layer
    return read


def _geometry_section(table) -> tuple[dict[str, Any], str | None]:
    """The ``geometry`` section of a table (empty for a GIS file) and the kind of geometry
    (``Point``, ``Polygon``, ``geoshape``, ``geotrace`` or None)."""
    if table.is_vector:
        kinds = {g.geom_type for r in table.rows[:500] if (g := r.geometry) is not None}
        return {}, "Polygon" if kinds & {"Polygon", "MultiPolygon"} else ("Point" if kinds else None)
    geometry = _table_geometry(table)
    kind = next((k for k in ("geoshape", "geotrace") if k in geometry), None) or (
        "Point" if geometry else None)
    return geometry, kind


def _typed_rule(name: str, f, source_col: str, values: list, rule: dict[str, Any],
                comments: list[str]) -> None:
    """Add to ``rule`` what the values say of a date, number or numeric code."""
    if f.type in ("date", "datetime"):
        extra = _date_rule(values)
        if extra is None:
            comments.append(f"{name}: column {source_col!r} does not look like dates "
                            f"(e.g. {values[:2]!r}); set format")
            extra = {"format": "CHOOSE"}
        rule.update(extra)
    elif f.type in ("integer", "real"):
        texts = [str(v) for v in values]
        if any(re.fullmatch(r"\d{1,3}(,\d{3})+", t) for t in texts):
            rule["thousands"] = ","
    elif name.endswith("code") and values and all(
            re.fullmatch(r"\d{1,3}(,\d{3})+|\d+", str(v)) for v in values):
        # a numeric code: digits only, thousands separators taken out ("5,313" → 5313)
        rule["parse"] = "code"
        if any("," in str(v) for v in values):
            rule["thousands"] = ","
        widths = {len(str(v).replace(",", "")) for v in values}
        if len(widths) > 1:
            rule["width"] = max(widths)  # leading zeros were lost: pad back
            comments.append(f"{name}: codes of {sorted(widths)} digits: padded to "
                            f"{max(widths)} with zeros; check the code list's width")


def _vocabulary_map(name: str, f, source_col: str, values: list, rule: dict[str, Any],
                    comments: list[str]) -> None:
    """Map the values seen onto the field's vocabulary, ``CHOOSE`` where unsure."""
    if f.vocabulary and not values:
        comments.append(f"{name}: column {source_col!r} is empty in the file; add a map "
                        f"onto {', '.join(f.vocabulary)} when it has values")
    if f.vocabulary and values:
        distinct = sorted({str(v).strip() for v in values})[:30]
        vocab = {v.lower(): v for v in f.vocabulary}

        def meant(value: str) -> str | None:
            synonym = VALUE_SYNONYMS.get(_norm(value))
            if synonym in f.vocabulary:
                return synonym
            return event_type_of(value) if name == "event_type" else None

        rule["map"] = {d: vocab.get(d.lower()) or meant(d) or "CHOOSE" for d in distinct}
        if any(v == "CHOOSE" for v in rule["map"].values()):
            comments.append(f"{name}: map each source value onto one of "
                            f"{', '.join(f.vocabulary)} (CHOOSE marks the ones to decide)")


def _named_fields(table, spec, fields: dict[str, Any], used: set, comments: list[str]) -> None:
    """Fields found by their column's name (or HXL tag), the layer's own first ("fecha" of
    an accident is its date, not the report's)."""
    targets = {**spec.fields, **{k: v for k, v in COMMON_FIELDS.items() if k in
                                 ("country", "organisation", "date_of_information")}}
    by_norm: dict[str, str] = {}
    for c in table.columns:
        by_norm.setdefault(_norm(c), c)
    for c in table.columns:  # ODK Central names a grouped question group-question
        if "-" in str(c):
            by_norm.setdefault(_norm(str(c).rsplit("-", 1)[-1]), c)
    for name, f in targets.items():
        if name in ("area_m2", "link_layer", "link_distance_m") or name.endswith("_uuid") \
                or name in fields:
            continue
        column = None
        if name in HXL_FIELDS and table.hxl and any(hxl_match(HXL_FIELDS[name], t)
                                                    for t in table.hxl.values()):
            column = HXL_FIELDS[name]
            source_col = next(c for c, t in table.hxl.items() if hxl_match(column, t))
        else:
            for candidate in (_norm(name),) + SYNONYMS.get(name, ()):
                if candidate in by_norm and by_norm[candidate] not in used:
                    column = source_col = by_norm[candidate]
                    break
        if column is None:
            continue
        used.add(source_col)
        values = _samples(table.rows, source_col)
        rule: dict[str, Any] = {"column": column}
        _typed_rule(name, f, source_col, values, rule, comments)
        _vocabulary_map(name, f, source_col, values, rule, comments)
        fields[name] = rule


def _date_from_parts(table, spec, fields: dict[str, Any], used: set, comments: list[str]) -> None:
    """Year, month and day columns, with no date column, give the layer's own date from its
    parts (``event_date: {parts: …}``); the layer's year and month keep the precision of rows
    without a day, so they are not mapped as well."""
    own = [n for n, f in spec.fields.items() if f.type == "date" and not f.personal]
    if not own or own[0] in fields or "year" not in spec.fields or "month" not in fields \
            or "column" not in fields.get("year", {}) or "column" not in fields["month"]:
        return
    day = next((c for c in table.columns if c not in used and _norm(c) in _DAY), None)
    if day is None:
        return
    year, month = fields.pop("year")["column"], fields.pop("month")["column"]
    fields[own[0]] = {"parts": {"year": year, "month": month, "day": day}}
    used.add(day)
    comments.append(f"{own[0]}: from columns {year}, {month}, {day} (parts); a row without its "
                    "day keeps its year (and month) in the year and month fields")


def infer_profile(path: str | Path, *, layer: str | None = None, sheet: str | None = None,
                  gis_layer: str | None = None, encoding: str | None = None) -> str:
    """A draft profile (YAML text) for a source file.

    Parameters
    ----------
    path : str or Path
        A CSV, XLSX, GIS or GeoParquet file.
    layer : str, optional
        The layer the file feeds; guessed from its columns and geometry if not given.
    sheet, gis_layer : str, optional
        The XLSX sheet or GIS layer to read.
    encoding : str, optional
        The text encoding of a CSV (as ``read.encoding``); detected as import detects it if
        not given, and ``CHOOSE`` in the draft when the code pages that fit read it
        differently.

    Raises
    ------
    SourceError
        The file cannot be read (as :func:`~mineledger.io.readers.read_source`).
    ProfileError
        ``layer`` is not a layer.
    """
    path = Path(path)
    if path.is_dir() and path.suffix.lower() != ".gdb":
        raise SourceError(f"{path}: a folder; profile infer drafts from one file of it")
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    fmt = format_of(path)
    delimiter = _delimiter(path) if fmt == "csv" else ","
    table, candidates = _read_table(path, fmt, encoding, delimiter, sheet, gis_layer)
    comments: list[str] = []
    read = _read_section(path, table, fmt, delimiter, sheet, gis_layer, comments, encoding,
                         candidates)
    geometry, geometry_kind = _geometry_section(table)
    if layer is None:
        layer = _guess_layer(table.columns, geometry_kind, path.stem)
        comments.append(f"layer {layer} guessed from the columns and geometry: check it")
    try:
        spec = LAYERS[Layer(layer)]
    except ValueError:
        raise ProfileError(f"--layer {layer!r}; expected one of "
                           f"{', '.join(l.value for l in Layer)}") from None
    used = set(geometry.get(k) for k in ("x", "y", "wkt", "geopoint", "geoshape", "geotrace",
                                         "utm", "mgrs") if geometry.get(k))
    fields: dict[str, Any] = {}
    for name, (column, mapping) in _columns_by_values(table, spec, used).items():
        fields[name] = {"column": column, "map": mapping}
        used.add(column)
        named = [n for n, f in spec.fields.items() if _norm(column) in (_norm(n),) + SYNONYMS.get(n, ())]
        if named and named[0] != name:
            comments.append(f"{name}: column {column!r} is named like {named[0]} but its values "
                            f"({', '.join(list(mapping)[:3])}) are {name}: mapped by its values "
                            "— check the headers")
    _named_fields(table, spec, fields, used, comments)
    _date_from_parts(table, spec, fields, used, comments)
    if not any(n == "country" for n in fields):
        comments.append("country: no country column; set country: ISO3 below or pass --country")
    doc: dict[str, Any] = {
        "name": re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-"),
        "description": f"Draft profile for {path.name} (mineledger profile infer); review it.",
        "layer": layer,
        "country": "CHOOSE-ISO3" if "country" not in fields else None,
        "read": read,
    }
    if not doc["country"]:
        del doc["country"]
    if geometry:
        doc["geometry"] = geometry
    doc["fields"] = fields
    unmapped = [c for c in table.columns if c not in used]
    lines = [f"# Draft import profile for {path.name}, written by `mineledger profile infer`.",
             "# Review every line; then `mineledger profile check THIS.yaml FILE`."]
    lines += [f"# - {c}" for c in comments]
    if table.hxl:
        lines.append("# The file has an HXL hashtag row: columns named #tag+attr match by tag.")
    if unmapped:
        lines.append("# Columns not mapped (kept with each record as attributes): "
                     + ", ".join(unmapped))
    return "\n".join(lines) + "\n" + dump_profile(doc)
