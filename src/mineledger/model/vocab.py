"""Enumerations of the mine action vocabulary.

Values are the IMAS 04.10 glossary terms written as lower-case identifiers; they are what the
store holds and what the JSON and CSV outputs show.
"""

from __future__ import annotations

from enum import StrEnum


class Layer(StrEnum):
    """The record layers of a store; each is a GeoPackage feature table of that name."""

    ADMIN_AREAS = "admin_areas"
    HAZARDS = "hazards"
    CLEARED_AREAS = "cleared_areas"
    ACTIVITIES = "activities"
    DEVICES = "devices"
    EVENTS = "events"
    VICTIMS = "victims"


class HazardType(StrEnum):
    """Hazardous area types (IMAS 04.10 §3.127, 3.57).

    ``SHA``: suspected hazardous area, indirect evidence of explosive ordnance.
    ``CHA``: confirmed hazardous area, direct evidence.
    """

    SHA = "SHA"
    CHA = "CHA"


class HazardStatus(StrEnum):
    """Life cycle of a hazardous area (GICHD Minimum Data Requirements)."""

    OPEN = "open"
    WORKED_ON = "worked_on"
    CLOSED = "closed"
    HANDED_OVER = "handed_over"
    SUPERSEDED = "superseded"  # split or merged by survey into other hazards (see lineage)


class ActivityType(StrEnum):
    """Land release and EOD activities (IMAS 07.11, 08.10, 08.20, 09.10, 09.11)."""

    NTS = "nts"
    TS = "ts"
    CLEARANCE = "clearance"
    BAC = "bac"
    EOD_SPOT_TASK = "eod_spot_task"


class ReportType(StrEnum):
    """Kinds of activity report."""

    PROGRESS = "progress"
    COMPLETION = "completion"
    HANDOVER = "handover"


class DeviceFate(StrEnum):
    """What became of a device found."""

    DESTROYED_IN_SITU = "destroyed_in_situ"
    REMOVED = "removed"
    UNKNOWN = "unknown"


class EOCategory(StrEnum):
    """Explosive ordnance categories (IMAS 04.10)."""

    AP_MINE = "ap_mine"
    AT_MINE = "at_mine"
    UXO = "uxo"
    AXO = "axo"
    CLUSTER_MUNITION = "cluster_munition"
    IED = "ied"
    OTHER_ERW = "other_erw"
    UNKNOWN = "unknown"


class EventType(StrEnum):
    """Kinds of explosive-ordnance event recorded as points.

    The first eight are the AICMA ``TIPO_EVENTO`` codes 1–8 in that order; the next two are
    the BiH map-sheet point layers; the last two come from national case files (IMAS 04.10:
    an accident is an event that injures or kills, an incident one that does not or not yet):
    an accident caused by an anti-tank mine, and an incident with an improvised explosive
    device (IED).
    """

    ACCIDENT_AP_MINE = "accident_ap_mine"
    ACCIDENT_UXO = "accident_uxo"
    STORED_ARSENAL = "stored_arsenal"
    MILITARY_DEMINING = "military_demining"
    SEIZURE = "seizure"
    UXO_FOUND = "uxo_found"
    MINE_PRODUCTION_SITE = "mine_production_site"
    SUSPECTED_MINEFIELD = "suspected_minefield"
    MINE_INCIDENT = "mine_incident"
    LIFTED_MINEFIELD = "lifted_minefield"
    ACCIDENT_AT_MINE = "accident_at_mine"
    IED_INCIDENT = "ied_incident"


class CasualtyOutcome(StrEnum):
    """What happened to a victim (IMAS 10.60): killed, injured, or not known."""

    KILLED = "killed"
    INJURED = "injured"
    UNKNOWN = "unknown"


class GeometryStatus(StrEnum):
    """Why a record's geometry is what it is.

    ``ok``: as the source gave it. ``missing``: the source has no geometry (null).
    ``empty``: the source has an empty geometry. ``repaired``: the source geometry was
    invalid and was repaired with ``shapely.make_valid`` (structure method, polygonal part
    kept); the original is kept in ``source_geometry``. ``unrepairable``: invalid, and
    nothing polygonal survived repair; the stored geometry is null, the original kept.
    ``unparseable``: the source coordinates could not be read; the stored geometry is null,
    the reason is in ``geometry_note``. ``antimeridian``: the source polygon crosses ±180° of
    longitude and is stored cut in two along it (RFC 7946 §3.1.9), the original kept.
    """

    OK = "ok"
    MISSING = "missing"
    EMPTY = "empty"
    REPAIRED = "repaired"
    UNREPAIRABLE = "unrepairable"
    UNPARSEABLE = "unparseable"
    ANTIMERIDIAN = "antimeridian"


class AdminLevel:
    """Administrative levels are integers: 0 country, 1 first sub-national level, and so on."""

    COUNTRY = 0
