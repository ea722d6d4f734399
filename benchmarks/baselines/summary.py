"""The headline figures of ``mineledger summary``, the outside way, from the store's GeoPackage.

What :func:`mineledger.land.summary.summary` computes for a country's dashboard: hazards and
cleared areas (records, without geometry, repaired, the sum of their stored areas and their
distinct land by finest-level area), the land release ledger's total row, casualties from the
victim records, events (by type, by year, by area, by link) and the quarantine — each read with
pyogrio and computed with GeoPandas/Shapely (distinct land and the ledger by
:mod:`benchmarks.baselines.by_admin` and :mod:`benchmarks.baselines.ledger`; points located in
areas with ``geopandas.sjoin``, the code sorting first taking a point on a shared boundary).

``python -m benchmarks.baselines.summary STORE.gpkg`` prints the figures as JSON.
"""

from __future__ import annotations

import json
import math
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from benchmarks.baselines.by_admin import land_by_area
from benchmarks.baselines.common import COUNTRY, UNASSIGNED, read
from benchmarks.baselines.ledger import land_pieces, measure_sets

MISSING = ("missing", "empty")
UNUSABLE = ("unrepairable", "unparseable")


def _layer(store, layer, columns, country):
    return read(store, layer, columns, country, usable=False)


def _usable(gdf):
    g = gdf.geometry.array
    return gdf[~(shapely.is_missing(g) | shapely.is_empty(g))]


def _polygon_figures(gdf, admin) -> dict:
    land = land_by_area(_usable(gdf), admin)
    return {"count": len(gdf),
            "without_geometry": int(gdf["geometry_status"].isin(MISSING).sum()),
            "invalid_repaired": int((gdf["geometry_status"] == "repaired").sum()),
            "invalid_unrepairable": int(gdf["geometry_status"].isin(UNUSABLE).sum()),
            "area_m2": float(pd.to_numeric(gdf["area_m2"], errors="coerce").fillna(0).sum()),
            "distinct_area_m2": math.fsum(land.values()),
            "by_admin": land}


def _by_year(years) -> dict:
    years = pd.to_numeric(pd.Series(years), errors="coerce").astype("Int64")
    out = {str(int(y)): int(n) for y, n in years.value_counts().sort_index().items()}
    if years.isna().any():
        out["unknown"] = int(years.isna().sum())
    return out


def _count_by_area(points, admin) -> dict:
    """Records per area: by their ``admin_code`` where they carry one, else by location."""
    codes = points["admin_code"].astype(object).where(points["admin_code"].notna(), None)
    need = codes.isna().to_numpy()
    pts = _usable(points[need])
    hit = gpd.sjoin(pts[[pts.geometry.name]], admin[["code", admin.geometry.name]],
                    how="inner", predicate="within")
    first = hit.reset_index().sort_values(["index", "code"]).drop_duplicates("index")
    codes.loc[first["index"].to_numpy()] = first["code"].to_numpy()
    counts = codes.fillna(UNASSIGNED).value_counts()
    out = {c: int(n) for c, n in sorted(counts.items()) if c != UNASSIGNED}
    out[UNASSIGNED] = int(counts.get(UNASSIGNED, 0))
    return out


def summary(store, country: str = COUNTRY) -> dict:
    admin_all = _layer(store, "admin_areas", ["level", "code", "name"], country)
    level = int(admin_all["level"].max())
    admin = admin_all[admin_all["level"] == level]
    cols = ["uuid", "geometry_status", "area_m2"]
    hazards = _layer(store, "hazards", cols, country)
    cleared = _layer(store, "cleared_areas", cols, country)
    pieces = land_pieces(store, country)
    total = measure_sets(pieces["geometry"].to_numpy(), pieces["kind"].to_numpy(),
                         np.full(len(pieces), "total", dtype=object)).loc["total"]
    victims = _layer(store, "victims", ["uuid", "year", "outcome", "age_group", "civilian",
                                        "admin_code", "geometry_status"], country)
    events = _layer(store, "events", ["uuid", "event_type", "year", "admin_code",
                                      "geometry_status", "link_layer", "link_distance_m"],
                    country)
    quarantine = read(store, "quarantine", ["status"], country, geometry=False)
    inside = events["link_distance_m"] == 0
    return {
        "country": country,
        "hazards": _polygon_figures(hazards, admin),
        "cleared": _polygon_figures(cleared, admin),
        "land_release": {c: float(total[c]) for c in total.index},
        "victims": {"count": len(victims),
                    "killed": int((victims["outcome"] == "killed").sum()),
                    "injured": int((victims["outcome"] == "injured").sum()),
                    "outcome_unknown": int((~victims["outcome"].isin(["killed", "injured"])).sum()),
                    "civilian": int((victims["civilian"] == True).sum()),  # noqa: E712
                    "minors": int((victims["age_group"] == "minor").sum()),
                    "by_year": _by_year(victims["year"]),
                    "by_admin": _count_by_area(victims, admin)},
        "events": {"count": len(events),
                   "by_type": {t: int(n) for t, n in events["event_type"].value_counts().items()},
                   "by_year": _by_year(events["year"]),
                   "by_admin": _count_by_area(events, admin),
                   "linked": {"in_hazard": int(((events["link_layer"] == "hazards") & inside).sum()),
                              "in_cleared": int(((events["link_layer"] == "cleared_areas") & inside).sum()),
                              "near": int((events["link_distance_m"] > 0).sum()),
                              "unlinked": int(events["link_layer"].isna().sum())}},
        "quarantine": {"count": int((quarantine["status"] == "open").sum()),
                       "resolved": int((quarantine["status"] == "resolved").sum())},
        "admin": {"level": level, "areas": len(admin),
                  "levels": {str(k): int(v) for k, v in
                             admin_all["level"].value_counts().sort_index().items()}},
    }


if __name__ == "__main__":
    print(json.dumps(summary(sys.argv[1]), indent=1))
