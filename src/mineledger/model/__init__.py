"""The model layer: vocabulary (IMAS 04.10 terms) and typed records. No I/O."""

from mineledger.model.vocab import (
    ActivityType,
    AdminLevel,
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

__all__ = [
    "ActivityType",
    "AdminLevel",
    "CasualtyOutcome",
    "DeviceFate",
    "EOCategory",
    "EventType",
    "GeometryStatus",
    "HazardStatus",
    "HazardType",
    "Layer",
    "ReportType",
]
