"""The land release ledger by admin2 and by year, the outside way, from the store's GeoPackage.

The same question as ``mineledger.land.landrelease.ledger(store, "QSY", "admin2")`` (and
``"year"``):

- outcomes linked to a hazard (``hazard_uuid``) count only inside it;
- cleared > reduced > cancelled where outcomes of different kinds overlap;
- remaining: open hazards (``open``, ``worked_on``) less the land released on them after
  their perimeter's date of information (all of it where a date is unknown);
- both = remaining ∩ released; recorded = remaining ∪ released;
- by admin2, the land is partitioned among the areas (the code sorting first takes an
  overlap) with ``unassigned`` for land outside every area, and the total is the sum of the
  rows; by year, outcomes by their year of release and remaining land by the year of its
  hazard's date of information (``unknown`` last), and the total is all the land once.

Method: every layer is exploded to polygons and (by admin2) clipped to the areas each polygon
intersects (an STRtree; a polygon inside one area is kept whole). Within each row's key the
pieces that overlap are clustered (STRtree + connected components) and each cluster is
unioned on its own, every set of the ledger computed cluster by cluster; a piece that
overlaps nothing is measured as it is. Nothing is unioned across the country.

``python -m benchmarks.baselines.ledger STORE.gpkg admin2|year`` prints the rows as JSON.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
import shapely

from benchmarks.baselines.common import (COUNTRY, EMPTY, UNASSIGNED, area_m2, clip_to_areas,
                                         dates, grouped_union, overlap_clusters, owned_areas,
                                         polygons, read)

KINDS = ("cleared", "reduced", "cancelled", "remaining")
OPEN = ("open", "worked_on")
COLUMNS = ("recorded_m2", "cancelled_m2", "reduced_m2", "cleared_m2", "released_m2",
           "remaining_m2", "both_m2")


def land_pieces(store, country: str = COUNTRY) -> pd.DataFrame:
    """The polygons of the ledger's land before any union: each outcome polygon (cut to its
    hazard) with its kind and year of release, and each open hazard's polygon less the land
    released on it later, kind ``remaining``, with the year of the hazard's information."""
    hazards = read(store, "hazards", ["uuid", "status", "date_of_information", "perimeter_date"],
                   country)
    outcomes = read(store, "cleared_areas", ["hazard_uuid", "outcome", "date_released"], country)
    # outcomes linked to a known hazard: cut to it, all pairs in one call
    geoms = np.asarray(outcomes.geometry.array, dtype=object)
    where = pd.Index(hazards["uuid"]).get_indexer(outcomes["hazard_uuid"])
    linked = where >= 0
    geoms[linked] = shapely.intersection(geoms[linked],
                                         hazards.geometry.array[where[linked]])
    o_parts, o_owner = polygons(geoms)
    released = dates(outcomes["date_released"])[o_owner]
    # remaining: each open hazard less the outcomes on it released after its perimeter's date
    open_h = hazards[hazards["status"].isin(OPEN)].reset_index(drop=True)
    h_geoms = np.asarray(open_h.geometry.array, dtype=object)
    doi = dates(open_h["perimeter_date"])
    hi, oi = shapely.STRtree(o_parts).query(h_geoms, predicate="intersects")
    later = np.isnat(doi[hi]) | np.isnat(released[oi]) | (released[oi] > doi[hi])
    hi, oi = hi[later], oi[later]
    left = h_geoms.copy()
    if len(hi):
        cut_ones, dense = np.unique(hi, return_inverse=True)
        order = np.argsort(dense, kind="stable")
        cutters = grouped_union(o_parts[oi[order]], dense[order], len(cut_ones))
        left[cut_ones] = shapely.difference(h_geoms[cut_ones], cutters)
    r_parts, r_owner = polygons(left)
    h_year = pd.to_datetime(pd.Series(open_h["date_of_information"], dtype=object),
                            errors="coerce").dt.year.to_numpy()
    o_year = pd.to_datetime(pd.Series(outcomes["date_released"], dtype=object),
                            errors="coerce").dt.year.to_numpy()
    frame = pd.DataFrame({
        "geometry": np.concatenate([o_parts, r_parts]),
        "kind": np.concatenate([outcomes["outcome"].to_numpy(dtype=object)[o_owner],
                                np.full(len(r_parts), "remaining", dtype=object)]),
        "year": np.concatenate([_year_keys(o_year[o_owner]), _year_keys(h_year[r_owner])]),
    })
    frame.attrs["years"] = sorted(set(_year_keys(h_year_all(hazards))) | set(_year_keys(o_year)),
                                  key=lambda k: (k == "unknown", k))
    return frame


def h_year_all(hazards) -> np.ndarray:
    return pd.to_datetime(pd.Series(hazards["date_of_information"], dtype=object),
                          errors="coerce").dt.year.to_numpy()


def _year_keys(years: np.ndarray) -> np.ndarray:
    return np.array(["unknown" if np.isnan(y) else str(int(y)) for y in years], dtype=object)


def measure_sets(geoms: np.ndarray, kinds: np.ndarray, keys: np.ndarray) -> pd.DataFrame:
    """The ledger's columns per key: pieces that overlap within a key are clustered, each
    cluster's sets (with cleared > reduced > cancelled) built from its own pieces only."""
    if not len(geoms):
        return pd.DataFrame(columns=COLUMNS, dtype=float)
    cluster = overlap_clusters(geoms, keys)
    n = int(cluster.max()) + 1
    key_of = np.empty(n, dtype=object)
    key_of[cluster] = keys
    u = {k: grouped_union(geoms[kinds == k], cluster[kinds == k], n) for k in KINDS}
    has = {k: ~shapely.is_empty(u[k]) for k in KINDS}
    cleared = u["cleared"]
    reduced = _minus(u["reduced"], cleared, has["reduced"] & has["cleared"])
    strong = _plus(cleared, u["reduced"], has["cleared"] & has["reduced"])
    cancelled = _minus(u["cancelled"], strong, has["cancelled"] & ~shapely.is_empty(strong))
    released = _plus(strong, u["cancelled"], ~shapely.is_empty(strong) & has["cancelled"])
    remaining = u["remaining"]
    meet = has["remaining"] & ~shapely.is_empty(released)
    both = np.full(n, EMPTY, dtype=object)
    both[meet] = shapely.intersection(remaining[meet], released[meet])
    recorded = _plus(remaining, released, meet)
    m = {name: area_m2(g) for name, g in (("cleared_m2", cleared), ("reduced_m2", reduced),
                                          ("cancelled_m2", cancelled), ("remaining_m2", remaining),
                                          ("both_m2", both), ("recorded_m2", recorded))}
    frame = pd.DataFrame(m).groupby(key_of).sum()
    frame["released_m2"] = frame["cancelled_m2"] + frame["reduced_m2"] + frame["cleared_m2"]
    return frame[list(COLUMNS)]


def _minus(a, b, where):
    out = a.copy()
    if where.any():
        out[where] = shapely.difference(a[where], b[where])
    return out


def _plus(a, b, where):
    out = np.where(shapely.is_empty(a), b, a)
    if where.any():
        out[where] = shapely.union(a[where], b[where])
    return out


def _row(key, name, values) -> dict:
    return {"area_code": key, "area_name": name, **{c: float(values[c]) for c in COLUMNS}}


def by_admin(store, level: int = 2, country: str = COUNTRY) -> list[dict]:
    """Rows for every area of the level with land, then ``unassigned`` and ``total`` (the sum
    of the rows)."""
    pieces = land_pieces(store, country)
    admin = read(store, "admin_areas", ["level", "code", "name"], country)
    codes, names, areas = owned_areas(admin[admin["level"] == level])
    geoms, owner, code = clip_to_areas(pieces["geometry"].to_numpy(), areas, codes)
    kinds = pieces["kind"].to_numpy()[owner]
    frame = measure_sets(geoms, kinds, code)
    name_of = dict(zip(codes, names))
    rows = [_row(c, name_of.get(c), frame.loc[c]) for c in sorted(frame.index)
            if c != UNASSIGNED and (frame.loc[c] > 0).any()]
    zero = pd.Series(0.0, index=list(COLUMNS))
    rows.append(_row(UNASSIGNED, "outside every administrative area",
                     frame.loc[UNASSIGNED] if UNASSIGNED in frame.index else zero))
    rows.append({"area_code": "total", "area_name": None,
                 **{c: math.fsum(r[c] for r in rows) for c in COLUMNS}})
    return rows


def by_year(store, country: str = COUNTRY) -> list[dict]:
    """Rows for every year (of release; remaining land by its hazard's year of information),
    ``unknown`` last, then ``total``: all the land, each piece once."""
    pieces = land_pieces(store, country)
    geoms, kinds = pieces["geometry"].to_numpy(), pieces["kind"].to_numpy()
    frame = measure_sets(geoms, kinds, pieces["year"].to_numpy())
    zero = pd.Series(0.0, index=list(COLUMNS))
    rows = [_row(y, None, frame.loc[y] if y in frame.index else zero)
            for y in pieces.attrs["years"]]
    whole = measure_sets(geoms, kinds, np.full(len(geoms), "total", dtype=object))
    rows.append(_row("total", None, whole.loc["total"] if len(whole) else zero))
    return rows


def main() -> None:
    store, by = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "admin2"
    rows = by_year(store) if by == "year" else by_admin(store, int(by.removeprefix("admin")))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
