"""The geo layer: geodesic measures, geometry repair and CRS handling. No I/O."""

from mineledger.geo.area import geodesic_area, land_area, union_area
from mineledger.geo.dissolve import clusters, dissolve
from mineledger.geo.repair import polygonal_part, repair_polygonal, to_multipolygon

__all__ = [
    "clusters",
    "dissolve",
    "geodesic_area",
    "land_area",
    "polygonal_part",
    "repair_polygonal",
    "to_multipolygon",
    "union_area",
]
