"""The building blocks of the outside-style baselines: read a layer from the store's
GeoPackage, cluster the pieces that overlap, union each cluster alone, clip pieces to
administrative areas through an STRtree, and measure in an equal-area projection.

Nothing here imports mineledger: this is what an engineer who knows GeoPandas and Shapely 2
would write to answer the same questions from the file.
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

COUNTRY = "QSY"
UNASSIGNED = "unassigned"
EMPTY = shapely.MultiPolygon()


def read(store, layer: str, columns: list[str], country: str = COUNTRY, *,
         usable: bool = True, geometry: bool = True):
    """One layer of the store, the country's rows only: from its GeoPackage through pyogrio
    and Arrow, or (a ``postgresql://`` URL) with ``geopandas.read_postgis``. With ``usable``,
    rows without a geometry are dropped (as any analysis of land would)."""
    if str(store).startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(str(store).replace("postgresql://", "postgresql+psycopg://"))
        # float8: the stored doubles as they are
        sql = text(f"SELECT {', '.join(columns + (['geom'] if geometry else []))} "
                   f"FROM {layer} WHERE country = :c")
        with engine.connect() as conn:
            gdf = gpd.read_postgis(sql, conn, geom_col="geom", params={"c": country}) \
                if geometry else pd.read_sql(sql, conn, params={"c": country})
        engine.dispose()
    else:
        # CAST: OGR reads a GeoPackage FLOAT column as float32
        cols = ", ".join(f"CAST({c} AS REAL) AS {c}" if c.endswith("_m2") or c.endswith("_m")
                         else c for c in columns)
        gdf = pyogrio.read_dataframe(store, use_arrow=True, read_geometry=geometry,
                                     sql=f"SELECT {cols}{', geom' if geometry else ''} "
                                         f"FROM {layer} WHERE country = '{country}'")
    if not geometry or not usable:
        return gdf
    geoms = gdf.geometry.array
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return gdf[keep].reset_index(drop=True)


def dates(values) -> np.ndarray:
    """A column of dates as ``datetime64[D]`` (unknown: NaT)."""
    return pd.to_datetime(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype="datetime64[D]")


def polygons(geoms) -> tuple[np.ndarray, np.ndarray]:
    """The non-empty polygons of ``geoms`` (multipolygons and collections exploded) and the
    index of the geometry each came from."""
    first, owner1 = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    parts, owner2 = shapely.get_parts(first, return_index=True)
    owner = owner1[owner2]
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return parts[keep], owner[keep]


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` nodes and the edges ``a[i]``–``b[i]`` (both ways given):
    min-label propagation with pointer jumping; each label is the smallest node of its
    component."""
    label = np.arange(n)
    while len(a):
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    return label


def overlap_clusters(geoms: np.ndarray, key: np.ndarray | None = None) -> np.ndarray:
    """A dense cluster number per geometry: geometries that overlap (intersect without only
    touching), directly or through others, and share ``key`` (if given) share a cluster."""
    n = len(geoms)
    if n == 0:
        return np.zeros(0, dtype=int)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    if key is not None:
        keep &= key[a] == key[b]
    a, b = a[keep], b[keep]
    if len(a):
        overlap = ~shapely.touches(geoms[a], geoms[b])
        a, b = a[overlap], b[overlap]
    _, dense = np.unique(components(n, a, b), return_inverse=True)
    return dense


def grouped_union(geoms: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    """``union_all`` of the geometries of each group ``0 … n-1`` (empty for a group with none):
    one GEOS unary union per group of two or more, called for all of them at once (the
    ufunc ``shapely.union_all`` itself uses); a group of one keeps its geometry."""
    out = np.full(n, EMPTY, dtype=object)
    if not len(geoms):
        return out
    count = np.bincount(groups, minlength=n)
    single = count[groups] == 1
    out[groups[single]] = geoms[single]
    many = ~single
    if many.any():
        g, m = groups[many], geoms[many]
        order = np.argsort(g, kind="stable")
        g, m = g[order], m[order]
        which, dense = np.unique(g, return_inverse=True)
        collections = shapely.geometrycollections(m, indices=dense)
        out[which] = shapely.lib.unary_union(collections)
    return out


def owned_areas(admin) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes, names and geometries of one level's areas sorted by code, each less the areas
    before it that it overlaps (so no land is in two areas: the first code takes it)."""
    admin = admin[~(shapely.is_missing(admin.geometry.array) | shapely.is_empty(admin.geometry.array))]
    admin = admin.sort_values("code")
    geoms = np.asarray(admin.geometry.array, dtype=object)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = b < a
    a, b = a[keep], b[keep]
    if len(a):
        real = ~shapely.touches(geoms[a], geoms[b])
        a, b = a[real], b[real]
    geoms = geoms.copy()
    for i in np.unique(a):
        geoms[i] = shapely.difference(geoms[i], shapely.union_all(geoms[b[a == i]]))
    return admin["code"].to_numpy(), admin["name"].to_numpy(), geoms


def clip_to_areas(parts: np.ndarray, areas: np.ndarray, codes: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polygons cut to the (disjoint) areas they intersect, found through an STRtree: a
    polygon inside one area is kept whole, one across a boundary is cut, and land outside
    every area goes to ``unassigned``. Returns the pieces, the index of the polygon each came
    from, and its area's code."""
    codes = np.asarray(codes, dtype=object)
    shapely.prepare(areas)
    pi, aj = shapely.STRtree(areas).query(parts, predicate="intersects")
    inside = shapely.covers(areas[aj], parts[pi])
    whole = np.zeros(len(parts), dtype=bool)
    whole[pi[inside]] = True
    out_geoms, out_owner, out_code = [parts[pi[inside]]], [pi[inside]], [codes[aj[inside]]]
    cut = ~whole[pi]
    ci, cj = pi[cut], aj[cut]
    if len(ci):
        pieces = shapely.intersection(parts[ci], areas[cj])
        p, o = polygons(pieces)
        out_geoms.append(p), out_owner.append(ci[o]), out_code.append(codes[cj[o]])
    # the land outside every area: a polygon that meets none is outside whole; one across a
    # boundary, less the areas it meets
    met = np.zeros(len(parts), dtype=bool)
    met[pi] = True
    alone = np.flatnonzero(~met)
    out_geoms.append(parts[alone]), out_owner.append(alone)
    out_code.append(np.full(len(alone), UNASSIGNED, dtype=object))
    if len(ci):
        crossing, dense = np.unique(ci, return_inverse=True)
        order = np.argsort(dense, kind="stable")
        cover = grouped_union(areas[cj[order]], dense[order], len(crossing))
        rest = shapely.difference(parts[crossing], cover)
        p, o = polygons(rest)
        out_geoms.append(p), out_owner.append(crossing[o])
        out_code.append(np.full(len(p), UNASSIGNED, dtype=object))
    return (np.concatenate(out_geoms), np.concatenate(out_owner),
            np.concatenate(out_code).astype(object))


#: How land is measured: ``"geodesic"`` (WGS 84 ellipsoid, pyproj ``Geod``: the measure
#: mineledger uses) or ``"6933"`` (the World Cylindrical Equal Area projection).
MEASURE = "6933"


@lru_cache(maxsize=None)
def _to_6933() -> Transformer:
    return Transformer.from_crs(4326, 6933, always_xy=True)


def area_m2(geoms: np.ndarray, how: str | None = None) -> np.ndarray:
    """Area of each geometry, m², equal-area: all coordinates projected to EPSG:6933 in one
    call then planar areas (``how="6933"``, the default), or the geodesic area on the WGS 84
    ellipsoid, polygon by polygon (``how="geodesic"``)."""
    how = how or MEASURE
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return np.zeros(0)
    if how == "6933":
        t = _to_6933()
        return shapely.area(shapely.transform(
            geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))))
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    return np.array([abs(geod.geometry_area_perimeter(shapely.orient_polygons(g))[0])
                     if g is not None and not g.is_empty else 0.0 for g in geoms])
