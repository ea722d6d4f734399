"""The fields of each record layer, with their types and vocabularies.

This is the logical schema that both store back ends build their tables from and that import
profiles map sources onto. A field is ``(type, vocabulary or None, description)``; types are
``text``, ``integer``, ``real``, ``boolean``, ``date`` (a calendar date), ``datetime`` (an
instant in UTC) and ``json``.

Every record also carries the provenance fields of :data:`COMMON_FIELDS` (DESIGN.md: a stable
id, the country, the reporting organisation, the source with its checksum, the date of
information, created/updated stamps).
"""

from __future__ import annotations

from dataclasses import dataclass

from mineledger.model.vocab import (
    ActivityType,
    CasualtyOutcome,
    DeviceFate,
    EOCategory,
    EventType,
    GeometryStatus,
    HazardStatus,
    HazardType,
    Layer,
    ReportType,
)


@dataclass(frozen=True)
class Field:
    """One attribute of a record layer."""

    type: str
    vocabulary: tuple[str, ...] | None = None
    description: str = ""
    #: a person's data (DESIGN: victims' personal data): never stored in plain text; kept
    #: encrypted in ``victim_personal`` with a key outside the store
    personal: bool = False


def _vocab(enum) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


#: Fields every record carries; set by the importer, not by profiles (except where noted).
COMMON_FIELDS: dict[str, Field] = {
    "uuid": Field("text", None, "stable id, derived from the source identity (UUID 5)"),
    "country": Field("text", None, "ISO 3166-1 alpha-3 code"),
    "organisation": Field("text", None, "organisation that reported the record"),
    "date_of_information": Field("date", None, "date the information describes; null if unknown"),
    "source_file": Field("text", None, "file name relative to its data folder"),
    "source_locator": Field("text", None, "row or feature in that file, or the declared key"),
    "source_checksum": Field("text", None, "SHA-256 of the source file"),
    "import_id": Field("text", None, "the import that last wrote the record"),
    "geometry_status": Field("text", _vocab(GeometryStatus), "see GeometryStatus"),
    "geometry_note": Field("text", None, "why the geometry is not as given, if it is not"),
    "source_geometry": Field("blob", None, "original WKB when the geometry was repaired or rejected"),
    "attributes": Field("json", None, "source columns not mapped to a field, as given"),
    "content_hash": Field("text", None, "hash of the mapped content; unchanged means no update"),
    "created_at": Field("datetime", None, "UTC instant the record was first stored"),
    "updated_at": Field("datetime", None, "UTC instant the record was last changed"),
}


@dataclass(frozen=True)
class LayerSpec:
    """A record layer: its geometry type and its own fields."""

    name: str
    geometry_type: str  # GeoPackage geometry type name
    fields: dict[str, Field]
    description: str


LAYERS: dict[str, LayerSpec] = {
    Layer.ADMIN_AREAS: LayerSpec(
        Layer.ADMIN_AREAS,
        "MULTIPOLYGON",
        {
            "level": Field("integer", None, "0 country, 1 first sub-national level, …"),
            "code": Field("text", None, "P-code, national code or the boundary source's id; unique within country and level"),
            "name": Field("text"),
            "parent_code": Field("text", None, "code of the enclosing area one level up, if known"),
            "reported_area_m2": Field("real", None, "the area as the source reports it, converted to m² from the unit the profile declares"),
            "area_m2": Field("real", None, "geodesic area, m²"),
        },
        "administrative areas (gazetteer)",
    ),
    Layer.HAZARDS: LayerSpec(
        Layer.HAZARDS,
        "MULTIPOLYGON",
        {
            "hazard_type": Field("text", _vocab(HazardType), "SHA or CHA (IMAS 04.10)"),
            "status": Field("text", _vocab(HazardStatus)),
            "evidence": Field("text", ("direct", "indirect"), "type of evidence of contamination"),
            "beneficiaries": Field("integer", None, "expected or confirmed beneficiaries of release"),
            "perimeter_date": Field("date", None, "date of information of the perimeter as surveyed; reports that do not redraw it leave it"),
            "parent_local_ids": Field("text", None, "ids of the hazards this one was split from or merged from, ';'-separated"),
            "eo_categories": Field("text", None, "comma-separated EOCategory values suspected or confirmed"),
            "local_id": Field("text", None, "the source's own id for the hazard"),
            "map_sheet": Field("text", None, "map sheet the feature was digitised from"),
            "admin_code": Field("text", None, "code of the finest administrative area the source gives"),
            "reported_area_m2": Field("real", None, "the area as the source reports it, converted to m² from the unit the profile declares"),
            "area_m2": Field("real", None, "geodesic area of the stored (repaired) geometry, m²"),
        },
        "hazardous areas (SHA / CHA)",
    ),
    Layer.CLEARED_AREAS: LayerSpec(
        Layer.CLEARED_AREAS,
        "MULTIPOLYGON",
        {
            "outcome": Field("text", ("cancelled", "reduced", "cleared"),
                             "land release outcome (IMAS 07.11): cancelled by NTS, reduced by TS, cleared"),
            "hazard_uuid": Field("text", None, "the hazard it released land of; null if unknown"),
            "hazard_local_id": Field("text", None, "the source's id of that hazard (resolved on import)"),
            "activity_uuid": Field("text", None, "the activity that released it"),
            "activity_local_id": Field("text", None, "the source's id of that activity"),
            "activity_type": Field("text", _vocab(ActivityType), "the kind of activity that released it"),
            "clearance_depth_m": Field("real", None, "clearance depth, m"),
            "outside_hazard": Field("boolean", None, "reaches outside its hazard (counted only inside)"),
            "eo_categories": Field("text", None, "comma-separated EOCategory values"),
            "local_id": Field("text"),
            "map_sheet": Field("text"),
            "admin_code": Field("text"),
            "date_released": Field("date", None, "end of the activity that released the land; null if unknown"),
            "reported_area_m2": Field("real", None, "the area as the source reports it, converted to m² from the unit the profile declares"),
            "area_m2": Field("real", None, "geodesic area, m²"),
        },
        "land released by clearance (and, later, by survey)",
    ),
    Layer.ACTIVITIES: LayerSpec(
        Layer.ACTIVITIES,
        "POINT",
        {
            "activity_type": Field("text", _vocab(ActivityType), "NTS, TS, clearance, BAC, EOD spot task"),
            "report_type": Field("text", _vocab(ReportType), "progress, completion or handover report"),
            "local_id": Field("text", None, "the source's id of the activity"),
            "hazard_uuid": Field("text", None, "the hazard worked on"),
            "hazard_local_id": Field("text", None, "the source's id of that hazard (resolved on import)"),
            "method": Field("text", None, "operational method (manual, mechanical, dogs …)"),
            "assets": Field("text", None, "assets used"),
            "start_date": Field("date"),
            "end_date": Field("date"),
            "evidence": Field("text", ("direct", "indirect"), "evidence recorded by the activity"),
            "eo_categories": Field("text", None, "comma-separated EOCategory values found or suspected"),
            "reported_cancelled_m2": Field("real", None, "area the report says it cancelled, m²"),
            "reported_reduced_m2": Field("real", None, "area the report says it reduced, m²"),
            "reported_cleared_m2": Field("real", None, "area the report says it cleared, m²"),
            "reported_released_m2": Field("real", None, "area the report says it released in all, m²"),
        },
        "land release and EOD activities (reference point)",
    ),
    Layer.DEVICES: LayerSpec(
        Layer.DEVICES,
        "POINT",
        {
            "eo_category": Field("text", _vocab(EOCategory)),
            "model": Field("text", None, "device model, e.g. PMA-2"),
            "condition": Field("text", None, "condition as reported"),
            "depth_m": Field("real", None, "depth below ground, m"),
            "fate": Field("text", _vocab(DeviceFate)),
            "quantity": Field("integer", None, "number of items of this record (default 1)"),
            "found_date": Field("date"),
            "activity_uuid": Field("text"),
            "activity_local_id": Field("text"),
            "hazard_uuid": Field("text"),
            "hazard_local_id": Field("text"),
            "local_id": Field("text"),
        },
        "explosive ordnance items found (devices)",
    ),
    Layer.EVENTS: LayerSpec(
        Layer.EVENTS,
        "POINT",
        {
            "event_type": Field("text", _vocab(EventType)),
            "eo_category": Field("text", _vocab(EOCategory)),
            "year": Field("integer", None, "year the event occurred; null if unknown"),
            "month": Field("integer", None, "month the event occurred, 1–12; null if unknown "
                                            "(a source that gives the year and month but not the day)"),
            "event_date": Field("date", None, "calendar date of the event where it happened"),
            "event_time": Field("datetime", None, "UTC instant of the event, when the source gives a time"),
            "killed": Field("integer", None, "people killed in the event, as the source counts them"),
            "injured": Field("integer", None, "people injured in the event, as the source counts them"),
            "outcome_unknown": Field("integer", None, "people hurt in the event whose outcome "
                                                      "(killed or injured) is not known; casualties "
                                                      "= killed + injured + outcome_unknown"),
            "admin1_name": Field("text"),
            "admin2_name": Field("text"),
            "admin_code": Field("text"),
            "area_type": Field("text", ("rural", "urban")),
            "local_id": Field("text"),
            "map_sheet": Field("text"),
            "link_layer": Field("text", ("hazards", "cleared_areas"), "layer of the area the event is linked to"),
            "link_uuid": Field("text", None, "the hazard or cleared area it falls in or near"),
            "link_distance_m": Field("real", None, "distance to it, m (0 inside)"),
        },
        "explosive-ordnance events (points)",
    ),
    Layer.VICTIMS: LayerSpec(
        Layer.VICTIMS,
        "POINT",
        {
            "year": Field("integer", None, "year of the accident"),
            "month": Field("integer", None, "month of the accident, 1–12"),
            "outcome": Field("text", _vocab(CasualtyOutcome), "killed, injured or unknown"),
            "gender": Field("text", ("male", "female", "unknown")),
            "age_group": Field("text", ("adult", "minor", "unknown"), "minor: under 18"),
            "civilian": Field("boolean", None, "civilian (true) or security forces / deminer (false)"),
            "ethnic_group": Field("text"),
            "activity": Field("text", None, "what the victim was doing, as the source says it"),
            "place_type": Field("text"),
            "site": Field("text"),
            "area_type": Field("text", ("rural", "urban")),
            "admin1_code": Field("text"),
            "admin1_name": Field("text"),
            "admin_code": Field("text", None, "code of the municipality or finest area"),
            "admin2_name": Field("text"),
            "location_precision": Field("text", ("exact", "municipal_seat", "admin_area", "unknown")),
            "name": Field("text", None, "the victim's name", personal=True),
            "date_of_birth": Field("date", None, "the victim's date of birth", personal=True),
            "address": Field("text", None, "the victim's address", personal=True),
            "personal_notes": Field("text", None, "free text about the person", personal=True),
        },
        "victims of explosive ordnance, one row per person (IMAS 10.60)",
    ),
}


def personal_fields(layer: str) -> tuple[str, ...]:
    """The personal fields of a layer (only victims have any)."""
    return tuple(n for n, f in LAYERS[Layer(layer)].fields.items() if f.personal)

