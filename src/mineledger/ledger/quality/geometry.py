"""Geometry rules: missing, invalid, degenerate, implausible, misplaced, overlapping, duplicated."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import shapely
from pyproj import Geod

from mineledger.geo import geodesic_area
from mineledger.ledger.quality.engine import Context, Finding, rule

GEOD = Geod(ellps="WGS84")
#: Layers whose records carry a location.
LOCATED = ("hazards", "cleared_areas", "activities", "devices", "events", "victims")
POLYGONAL = ("hazards", "cleared_areas")


def present(gdf):
    """The rows of ``gdf`` that have a geometry, and not an empty one."""
    if not len(gdf):
        return gdf
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    return gdf[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]


def _rings(geom) -> list[np.ndarray]:
    out = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly is None or poly.is_empty or poly.geom_type != "Polygon":
            continue
        out.append(np.asarray(poly.exterior.coords)[:, :2])
        out += [np.asarray(r.coords)[:, :2] for r in poly.interiors]
    return out


@rule("GEOM-MISSING", "warning", "a record without a location: geometry missing or empty", per_record=True)
def missing(ctx: Context) -> Iterable[Finding]:
    for layer in LOCATED:
        gdf = ctx.layer(layer)
        for r in gdf[gdf["geometry_status"].isin(["missing", "empty"])].itertuples():
            yield Finding("GEOM-MISSING", layer, r.uuid,
                          f"{r.source_file}, {r.source_locator}: geometry {r.geometry_status}",
                          "obtain the perimeter or point from the reporting organisation or the map sheet")


@rule("GEOM-INVALID", "warning", "the source geometry was invalid (repaired, or beyond repair), with the reason", per_record=True)
def invalid(ctx: Context) -> Iterable[Finding]:
    for layer in LOCATED:
        gdf = ctx.layer(layer)
        bad = gdf[gdf["geometry_status"].isin(["repaired", "unrepairable", "unparseable"])]
        for r in bad.itertuples():
            fix = ("check that the repaired polygon means what was drawn; redraw it if not"
                   if r.geometry_status == "repaired" else "redraw the geometry from the source")
            yield Finding("GEOM-INVALID", layer, r.uuid,
                          f"{r.source_file}, {r.source_locator}: {r.geometry_note}", fix)


def _source_geometries(gdf) -> np.ndarray:
    """The geometry of every row as the source gave it (before repair) where it was kept,
    else the stored one; ``None`` where the kept one cannot be read. A polygon cut at the
    antimeridian is taken as stored: its source's edge across ±180° is no edge on the ground."""
    stored = np.asarray(gdf.geometry.array, dtype=object)
    if "source_geometry" not in gdf:
        return stored
    out = stored.copy()
    for i, (wkb, status) in enumerate(zip(gdf["source_geometry"].tolist(),
                                          gdf["geometry_status"].tolist())):
        if wkb is not None and status != "antimeridian":
            try:
                out[i] = shapely.from_wkb(bytes(wkb))
            except shapely.errors.GEOSException:
                out[i] = None
    return out


def _ring_vertices(geoms: np.ndarray):
    """Every vertex of every polygon ring of ``geoms`` (the rings of :func:`_rings`, in the
    same order), as ``(xy, ring, owner)``: coordinates (n × 2), the ring of each vertex and
    the geometry of each ring (its index in ``geoms``)."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    polygons = shapely.get_type_id(parts) == 3
    parts, part_owner = parts[polygons], part_owner[polygons]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    return xy, ring, part_owner[ring_part]


def _source_vertices(gdf):
    """:func:`_ring_vertices` of the geometries as the source gave them."""
    return _ring_vertices(_source_geometries(gdf))


def _distinct_per_ring(xy: np.ndarray, ring: np.ndarray, rings: int) -> np.ndarray:
    """How many distinct vertices (to 1e-9°) each of ``rings`` rings has, all rings at once:
    the vertices sorted by (ring, x, y), counting where one differs from the one before (the
    count ``np.unique`` of (ring, x, y) rows gives, without sorting rows as byte strings)."""
    if not len(ring):
        return np.zeros(rings, dtype=np.int64)
    x, y = np.round(xy[:, 0], 9), np.round(xy[:, 1], 9)
    order = np.lexsort((y, x, ring))
    r, x, y = ring[order], x[order], y[order]
    new = np.ones(len(r), dtype=bool)
    new[1:] = (r[1:] != r[:-1]) | (x[1:] != x[:-1]) | (y[1:] != y[:-1])
    return np.bincount(r[new], minlength=rings)


#: Metres a radian of latitude or of longitude spans at most on the WGS 84 ellipsoid (a
#: meridian's radius of curvature is at most a/√(1−e²) = 6,399,594 m, a parallel's radius at
#: most a = 6,378,137 m), rounded up.
_MAX_M_PER_RADIAN = 6.4e6


def _longest_edges(geoms: np.ndarray, below: float | None = None) -> np.ndarray:
    """The longest geodesic edge (m) of the polygon rings of each geometry, all edges in one
    call; 0 for a geometry without rings. A ring with an undefined edge length (a NaN
    coordinate) counts as none, as the max of its lengths did ring by ring.

    With ``below``, a geometry whose every edge is certainly shorter than 99 % of it counts
    0 without being measured: an edge is no longer than the path from one end along a
    meridian, then a parallel, to the other, so not longer than ``_MAX_M_PER_RADIAN`` times
    the height plus the width (radians) of the box around the geometry's ring vertices."""
    longest = np.zeros(len(geoms))
    xy, ring, owner = _ring_vertices(geoms)
    if len(ring) < 2:
        return longest
    same = ring[1:] == ring[:-1]  # consecutive vertices of one ring: an edge
    if below is not None:
        of = owner[ring]  # the geometry of each vertex (in order: geometries come one by one)
        starts = np.flatnonzero(np.r_[True, of[1:] != of[:-1]])
        reach = np.radians(np.maximum.reduceat(xy[:, 0], starts) -
                           np.minimum.reduceat(xy[:, 0], starts) +
                           np.maximum.reduceat(xy[:, 1], starts) -
                           np.minimum.reduceat(xy[:, 1], starts)) * _MAX_M_PER_RADIAN
        measured = np.zeros(len(geoms), dtype=bool)
        measured[of[starts]] = ~(reach < 0.99 * below)  # NaN coordinates: measured
        same &= measured[of[1:]]
    start, end = xy[:-1][same], xy[1:][same]
    edge_ring = ring[1:][same]
    _, _, dist = GEOD.inv(start[:, 0], start[:, 1], end[:, 0], end[:, 1])
    dist = np.asarray(dist, dtype=float)
    undefined = np.zeros(len(owner), dtype=bool)
    undefined[edge_ring[np.isnan(dist)]] = True
    per_ring = np.zeros(len(owner))
    np.maximum.at(per_ring, edge_ring, np.where(np.isnan(dist), 0.0, dist))
    per_ring[undefined] = 0.0
    np.maximum.at(longest, owner, per_ring)
    return longest


@rule("GEOM-FEW-VERTICES", "error", "a polygon ring with fewer than three distinct vertices", per_record=True)
def few_vertices(ctx: Context) -> Iterable[Finding]:
    for layer in POLYGONAL:
        gdf = ctx.layer(layer)
        if not len(gdf):
            continue
        xy, ring, owner = ctx.derived(layer, "source vertices", _source_vertices)
        distinct = _distinct_per_ring(xy, ring, len(owner))
        uuids = gdf["uuid"].tolist()
        reported = set()
        for r in np.flatnonzero(distinct < 3):  # rings in order: the first bad ring of each
            if owner[r] not in reported:
                reported.add(owner[r])
                yield Finding("GEOM-FEW-VERTICES", layer, uuids[owner[r]],
                              f"a ring has {int(distinct[r])} distinct vertices; a polygon needs 3",
                              "redraw the perimeter, or record the location as a point")


@rule("GEOM-DUP-VERTEX", "info", "consecutive vertices closer than 1e-6° (duplicates)", per_record=True)
def duplicate_vertices(ctx: Context) -> Iterable[Finding]:
    tol = ctx.params["duplicate_vertex_deg"]
    for layer in POLYGONAL:
        gdf = ctx.layer(layer)
        if not len(gdf):
            continue
        xy, ring, owner = ctx.derived(layer, "source vertices", _source_vertices)
        step = np.hypot(*np.diff(xy, axis=0).T)
        close = (step < tol) & (ring[1:] == ring[:-1])  # consecutive within one ring
        n = np.bincount(owner[ring[1:][close]], minlength=len(gdf))
        for i in np.flatnonzero(n):
            yield Finding("GEOM-DUP-VERTEX", layer, gdf["uuid"].iloc[i],
                          f"{int(n[i])} pair(s) of consecutive vertices closer than {tol:g}°",
                          "remove the repeated vertices (harmless for area, a sign of hand digitising)")


@rule("GEOM-LONG-EDGE", "warning", "consecutive vertices more than 5,000 m apart", per_record=True)
def long_edges(ctx: Context) -> Iterable[Finding]:
    limit = ctx.params["long_edge_m"]
    for layer in POLYGONAL:
        gdf = present(ctx.layer(layer))
        if not len(gdf):
            continue
        longest = _longest_edges(np.asarray(gdf.geometry.array, dtype=object), below=limit)
        uuids = gdf["uuid"].tolist()
        for i in np.flatnonzero(longest > limit):
            yield Finding("GEOM-LONG-EDGE", layer, uuids[i],
                          f"an edge of {float(longest[i]):,.0f} m (more than {limit:,.0f} m)",
                          "check for a mistyped vertex; a hazard perimeter rarely runs straight that far")


@rule("GEOM-AREA", "warning", "an implausibly small or large area (below 25 m² or above 100 km²)", per_record=True)
def implausible_area(ctx: Context) -> Iterable[Finding]:
    lo, hi = ctx.params["min_area_m2"], ctx.params["max_area_m2"]
    for layer in POLYGONAL:
        gdf = present(ctx.layer(layer))
        if not len(gdf):
            continue
        # a missing area counts as 0 (``area or 0.0``: None is, NaN is not)
        area = np.array([0.0 if a is None else a for a in gdf["area_m2"].tolist()], dtype=float)
        for r in gdf[(area < lo) | (area > hi)].itertuples():
            a = r.area_m2 or 0.0
            if a < lo or a > hi:
                yield Finding("GEOM-AREA", layer, r.uuid,
                              f"area {a:,.3g} m² is {'below' if a < lo else 'above'} "
                              f"{(lo if a < lo else hi):,.0f} m²",
                              "check the units and the vertices; a sliver or a whole district is rarely one hazard")


def country_outline(ctx: Context):
    admin = ctx.layer("admin_areas")
    if not len(admin):
        return None
    level = int(admin["level"].min())
    return shapely.union_all(present(admin[admin["level"] == level]).geometry.array)


def flip(geom, how):
    if how == "sign":
        return shapely.transform(geom, lambda xy: xy * np.array([-1.0, 1.0]))
    return shapely.transform(geom, lambda xy: xy[:, ::-1])


@rule("GEOM-OUTSIDE-COUNTRY", "error", "a record outside its country's boundary (the suggested fix names a sign flip or swapped axes when that lands it inside)")
def outside_country(ctx: Context) -> Iterable[Finding]:
    outline = country_outline(ctx)
    if outline is None:
        return
    prepared = shapely.prepare(outline) or outline
    for layer in LOCATED:
        gdf = present(ctx.layer(layer))
        if not len(gdf):
            continue
        inside = shapely.intersects(outline, np.asarray(gdf.geometry.array))
        for r, ok in zip(gdf.itertuples(), inside):
            if ok:
                continue
            fix = "check the coordinates and the country of the record"
            for how, words in (("sign", "with the longitude's sign flipped"),
                               ("swap", "with latitude and longitude swapped")):
                if shapely.intersects(outline, flip(r.geometry, how)):
                    fix = f"it lies inside the country {words}: correct the source"
                    break
            c = r.geometry.representative_point()
            yield Finding("GEOM-OUTSIDE-COUNTRY", layer, r.uuid,
                          f"{r.source_file}, {r.source_locator}: at ({c.x:.5f}, {c.y:.5f}), "
                          f"outside {ctx.country}", fix)
    del prepared


@rule("GEOM-ADMIN-MISMATCH", "warning", "a record whose location lies in another administrative area than its code says")
def admin_mismatch(ctx: Context) -> Iterable[Finding]:
    admin = ctx.layer("admin_areas")
    if not len(admin):
        return
    by_code = dict(zip(admin["code"], admin.geometry.array))
    names = dict(zip(admin["code"], admin["name"]))
    level_of = dict(zip(admin["code"], admin["level"]))
    for layer in LOCATED:
        gdf = present(ctx.layer(layer))
        if "admin_code" not in gdf or not len(gdf):
            continue
        coded = gdf[gdf["admin_code"].notna()]
        for r in coded.itertuples():
            area = by_code.get(r.admin_code)
            if area is None or area.intersects(r.geometry):
                continue
            here = r.geometry.representative_point()
            where = [c for c, g in by_code.items()
                     if level_of[c] == level_of[r.admin_code] and g.intersects(here)]
            yield Finding("GEOM-ADMIN-MISMATCH", layer, r.uuid,
                          f"coded {r.admin_code} ({names.get(r.admin_code)}) but lies in "
                          f"{', '.join(f'{c} ({names.get(c)})' for c in where) or 'no area'}",
                          "correct the code or the coordinates (simplified boundaries can cause near misses)")


@rule("GEOM-OVERLAP", "warning", "hazards that overlap each other by more than 0.9 % of the smaller")
def overlaps(ctx: Context) -> Iterable[Finding]:
    share = ctx.params["overlap_share"]
    gdf = present(ctx.layer("hazards"))
    gdf = gdf[gdf["status"].isin(["open", "worked_on"])]
    geoms = np.asarray(gdf.geometry.array)
    uuids = list(gdf["uuid"])
    areas = np.asarray(gdf["area_m2"], dtype=float)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = np.zeros(len(left))
    for at in range(0, len(left), 100_000):  # intersections measured in one call per chunk
        i, j = left[at:at + 100_000], right[at:at + 100_000]
        shared[at:at + 100_000] = geodesic_area(shapely.intersection(geoms[i], geoms[j]))
    smaller = np.minimum(areas[left], areas[right])
    flagged = np.flatnonzero((smaller > 0) & (shared > share * smaller))
    same = shapely.equals(geoms[left[flagged]], geoms[right[flagged]])
    for k in flagged[~same]:
        i, j, inter = left[k], right[k], float(shared[k])
        yield Finding("GEOM-OVERLAP", "hazards", uuids[i],
                      f"overlaps hazard {uuids[j]} by {inter:,.0f} m² "
                      f"({100 * inter / smaller[k]:.1f} % of the smaller)",
                      "merge the two, or cut one by the other, after checking which is current",
                      other_uuid=uuids[j])


@rule("GEOM-DUPLICATE", "info", "records of one layer with the same geometry (flagged, never deleted: real duplicates exist)")
def duplicates(ctx: Context) -> Iterable[Finding]:
    for layer in POLYGONAL + ("events", "devices"):
        gdf = present(ctx.layer(layer))
        if not len(gdf):
            continue
        keys = shapely.to_wkb(shapely.normalize(np.asarray(gdf.geometry.array)), hex=True)
        first: dict[str, str] = {}
        for uid, key in zip(gdf["uuid"], keys):
            if key in first:
                yield Finding("GEOM-DUPLICATE", layer, uid, f"same geometry as {first[key]}",
                              "check whether both are real (two accidents at one place) or one "
                              "record entered twice", other_uuid=first[key])
            else:
                first[key] = uid
