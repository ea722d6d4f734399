"""The model layer: vocabulary (IMAS 04.10 terms) and typed records. No I/O."""

from mineledger.model.vocab import (
    AdminLevel,
    CasualtyOutcome,
    EOCategory,
    EventType,
    GeometryStatus,
    HazardStatus,
    HazardType,
    Layer,
)

__all__ = [
    "AdminLevel",
    "CasualtyOutcome",
    "EOCategory",
    "EventType",
    "GeometryStatus",
    "HazardStatus",
    "HazardType",
    "Layer",
]
