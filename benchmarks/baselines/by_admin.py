"""Distinct hazardous land per level-3 area, the outside way, from the store's GeoPackage.

The same question as ``mineledger.land.admin_areas.area_by_admin(hazards, level-3 areas)``:
each piece of land once (overlapping hazards counted once), split among the areas (the code
sorting first takes an overlap of two areas), with ``unassigned`` for land outside every area.

Method: the hazards, exploded to polygons, are clipped to the areas each intersects (STRtree;
a polygon inside one area is kept whole); within each area only the pieces that overlap
another piece are clustered and unioned, cluster by cluster; then every piece is measured
(EPSG:6933) and summed by area. Nothing is unioned across the country. (The synthetic hazards
carry no ``admin_code``, which mineledger would attribute by code first.)

``python -m benchmarks.baselines.by_admin STORE.gpkg`` prints ``{code: m²}`` as JSON.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd

from benchmarks.baselines.common import (COUNTRY, UNASSIGNED, area_m2, clip_to_areas,
                                         grouped_union, overlap_clusters, owned_areas,
                                         polygons, read)


def land_by_area(hazards, admin) -> dict[str, float]:
    """``{code: m²}`` of the hazards' distinct land in each area with land, sorted by code,
    then ``unassigned`` (always present)."""
    codes, _, areas = owned_areas(admin)
    parts, _ = polygons(hazards.geometry.array)
    pieces, _, code = clip_to_areas(parts, areas, codes)
    cluster = overlap_clusters(pieces, code)
    n = int(cluster.max()) + 1 if len(cluster) else 0
    code_of = np.empty(n, dtype=object)
    code_of[cluster] = code
    land = grouped_union(pieces, cluster, n)
    by_code = pd.Series(area_m2(land)).groupby(code_of).sum() if n else pd.Series(dtype=float)
    out = {c: float(a) for c, a in sorted(by_code.items()) if c != UNASSIGNED and a > 0}
    out[UNASSIGNED] = float(by_code.get(UNASSIGNED, 0.0))
    return out


def by_admin(store, level: int = 3, country: str = COUNTRY) -> dict[str, float]:
    hazards = read(store, "hazards", ["uuid"], country)
    admin = read(store, "admin_areas", ["level", "code", "name"], country)
    return land_by_area(hazards, admin[admin["level"] == level])


if __name__ == "__main__":
    print(json.dumps(by_admin(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3), indent=1))
