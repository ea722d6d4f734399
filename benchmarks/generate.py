"""A seeded generator of synthetic national mine action data, for benchmarks.

``python -m benchmarks.generate --size M --out benchmarks/data/M`` writes GeoPackages a
national authority could hand over:

- ``admin.gpkg``: three levels of administrative areas (Voronoi cells of random seats,
  nested: each level-2 area is a union of level-3 areas, each level-1 a union of level-2);
- ``hazards.gpkg``: irregular hazard polygons (12 vertices, radial jitter) from 200 m² to
  5 km² (log-uniform), clustered near villages and along roads, with a date of information;
- ``cleared.gpkg``: land release outcomes (cancelled / reduced / cleared) on 30 % of the
  hazards, each a shrunken copy of its hazard;
- ``devices.gpkg`` (half as many as hazards, inside cleared land), ``events.gpkg``
  (accidents, a tenth as many, near villages, with killed/injured) and ``victims.gpkg``.

Sizes: S = 10⁴, M = 10⁵, L = 10⁶ hazards. The country is a square around 44° N 18° E whose
side grows with the size, so the density of hazards stays that of a heavily contaminated
country. Everything comes from ``numpy.random.default_rng(seed)``: the same seed gives the
same files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Transformer

#: XS (10³) is for the tests of the baselines only.
SIZES = {"XS": 1_000, "S": 10_000, "M": 100_000, "L": 1_000_000}
#: A local equal-area projection at the country's centre: the generator works in metres.
LOCAL = "+proj=laea +lat_0=44 +lon_0=18 +datum=WGS84 +units=m"


def _to_lonlat(geoms):
    t = Transformer.from_crs(LOCAL, 4326, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _admin(rng, half: float, n3: int):
    """Three nested levels of administrative areas in a square of side 2·half (metres)."""
    country = shapely.box(-half, -half, half, half)
    seats = rng.uniform(-half, half, size=(n3, 2))
    cells = shapely.voronoi_polygons(shapely.multipoints(seats), extend_to=country)
    cells = [shapely.intersection(c, country) for c in shapely.get_parts(cells)]
    centres = np.array([shapely.get_coordinates(shapely.centroid(c))[0] for c in cells])
    n2, n1 = max(2, n3 // 10), max(2, n3 // 100)
    seats2 = rng.uniform(-half, half, size=(n2, 2))
    seats1 = rng.uniform(-half, half, size=(n1, 2))
    up3 = np.argmin(((centres[:, None, :] - seats2[None]) ** 2).sum(-1), axis=1)
    up2 = np.argmin(((seats2[:, None, :] - seats1[None]) ** 2).sum(-1), axis=1)
    rows = []
    level3 = {}
    for i, cell in enumerate(cells):
        level3.setdefault(up3[i], []).append(cell)
        rows.append((3, f"L3-{i:05d}", f"Municipality {i}", f"L2-{up3[i]:04d}", cell))
    level2 = {}
    for j, parts in level3.items():
        shape = shapely.union_all(parts)
        level2.setdefault(up2[j], []).append(shape)
        rows.append((2, f"L2-{j:04d}", f"District {j}", f"L1-{up2[j]:03d}", shape))
    for k, parts in level2.items():
        rows.append((1, f"L1-{k:03d}", f"Region {k}", None, shapely.union_all(parts)))
    geoms = _to_lonlat(np.array([r[4] for r in rows], dtype=object))
    return gpd.GeoDataFrame({"level": [r[0] for r in rows], "code": [r[1] for r in rows],
                             "name": [r[2] for r in rows], "parent": [r[3] for r in rows]},
                            geometry=geoms, crs=4326)


def _irregular(rng, centres, areas, k: int = 12):
    """Star-shaped polygons of about the given areas (m²) around the centres (metres)."""
    n = len(centres)
    angles = np.sort(rng.uniform(0, 2 * np.pi, size=(n, k)), axis=1)
    jitter = rng.uniform(0.6, 1.0, size=(n, k))
    # the mean area of such a polygon is close to π·r²·E[j²]; scale r to hit the target
    r = np.sqrt(areas / (np.pi * 0.65))[:, None] * jitter
    x = centres[:, :1] + r * np.cos(angles)
    y = centres[:, 1:] + r * np.sin(angles)
    ring = np.stack([x, y], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    # star-shaped around its centre: scaling the radii by √(target/area) gives the target
    # area exactly (metres in an equal-area projection)
    actual = shapely.area(shapely.polygons(ring))
    factor = np.sqrt(areas / actual)[:, None, None]
    ring = centres[:, None, :] + (ring - centres[:, None, :]) * factor
    return shapely.polygons(ring)


def generate(size: str, out: Path, seed: int = 20261130) -> dict[str, int]:
    """Write the synthetic files for a size into ``out``; returns the record counts."""
    n = SIZES[size]
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    half = 50_000 * np.sqrt(n / 10_000)  # S: 100 km square, M: 316 km, L: 1000 km
    admin = _admin(rng, half, max(30, n // 100))
    villages = rng.uniform(-half * 0.95, half * 0.95, size=(max(50, n // 20), 2))
    roads = [shapely.LineString(villages[rng.choice(len(villages), 2, replace=False)])
             for _ in range(max(20, n // 50))]
    near_village = int(n * 0.6)
    centres = np.empty((n, 2))
    centres[:near_village] = villages[rng.integers(0, len(villages), near_village)] + \
        rng.normal(0, 1_000, size=(near_village, 2))
    along = shapely.line_interpolate_point(
        np.array(roads, dtype=object)[rng.integers(0, len(roads), n - near_village)],
        rng.uniform(0, 1, n - near_village), normalized=True)
    centres[near_village:] = shapely.get_coordinates(along) + rng.normal(0, 300, size=(n - near_village, 2))
    centres = np.clip(centres, -half, half)
    areas = np.exp(rng.uniform(np.log(200), np.log(5e6), n))
    hazards_m = _irregular(rng, centres, areas)
    days = rng.integers(0, 15 * 365, n)
    seen = [dt.date(2010, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    hazards = gpd.GeoDataFrame({
        "hazard_id": [f"HZ-{i:07d}" for i in range(n)],
        "hazard_type": rng.choice(["SHA", "CHA"], n, p=[0.6, 0.4]),
        "status": "open",
        "date_of_information": seen,
        "organisation": rng.choice(["NMAA", "HALO", "MAG", "NPA", "DDG"], n),
    }, geometry=_to_lonlat(hazards_m), crs=4326)
    worked = np.sort(rng.choice(n, int(n * 0.3), replace=False))
    shrink = rng.uniform(0.3, 1.0, len(worked))
    c = centres[worked]
    rings = [shapely.get_coordinates(shapely.get_exterior_ring(hazards_m[i])) for i in worked]
    outcome_m = shapely.polygons(np.stack([c[j] + (rings[j] - c[j]) * shrink[j]
                                           for j in range(len(worked))]))
    released = [seen[i] + dt.timedelta(days=int(rng.integers(30, 900))) for i in worked]
    cleared = gpd.GeoDataFrame({
        "outcome_id": [f"LR-{i:07d}" for i in range(len(worked))],
        "hazard_id": hazards["hazard_id"].to_numpy()[worked],
        "outcome": rng.choice(["cancelled", "reduced", "cleared"], len(worked), p=[0.3, 0.3, 0.4]),
        "date_released": released,
        "organisation": hazards["organisation"].to_numpy()[worked],
    }, geometry=_to_lonlat(outcome_m), crs=4326)
    nd = n // 2
    inside = rng.integers(0, len(worked), nd)
    dev_xy = c[inside] + rng.normal(0, 20, size=(nd, 2))
    devices = gpd.GeoDataFrame({
        "device_id": [f"DV-{i:07d}" for i in range(nd)],
        "hazard_id": hazards["hazard_id"].to_numpy()[worked][inside],
        "eo_category": rng.choice(["ap_mine", "at_mine", "uxo", "cluster_munition"], nd),
        "fate": rng.choice(["destroyed_in_situ", "removed"], nd),
    }, geometry=_to_lonlat(shapely.points(dev_xy)), crs=4326)
    ne = max(10, n // 10)
    ev_xy = villages[rng.integers(0, len(villages), ne)] + rng.normal(0, 2_000, size=(ne, 2))
    ev_days = rng.integers(0, 25 * 365, ne)
    events = gpd.GeoDataFrame({
        "event_id": [f"EV-{i:07d}" for i in range(ne)],
        "event_date": [dt.date(2000, 1, 1) + dt.timedelta(days=int(d)) for d in ev_days],
        "killed": rng.poisson(0.4, ne), "injured": rng.poisson(1.0, ne),
    }, geometry=_to_lonlat(shapely.points(ev_xy)), crs=4326)
    pick = rng.integers(0, ne, ne)
    victims = gpd.GeoDataFrame({
        "victim_id": [f"VI-{i:07d}" for i in range(ne)],
        "year": [events["event_date"].iloc[p].year for p in pick],
        "outcome": rng.choice(["killed", "injured"], ne, p=[0.25, 0.75]),
        "gender": rng.choice(["male", "female"], ne, p=[0.8, 0.2]),
        "age_group": rng.choice(["adult", "minor"], ne, p=[0.8, 0.2]),
    }, geometry=events.geometry.to_numpy()[pick], crs=4326)
    for name, gdf in (("admin", admin), ("hazards", hazards), ("cleared", cleared),
                      ("devices", devices), ("events", events), ("victims", victims)):
        path = out / f"{name}.gpkg"
        path.unlink(missing_ok=True)
        pyogrio.write_dataframe(gdf, path, layer=name,
                                promote_to_multi=name in ("admin", "hazards", "cleared"))
    return {"admin": len(admin), "hazards": n, "cleared": len(cleared), "devices": nd,
            "events": ne, "victims": ne}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="S")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    clock = time.perf_counter()
    counts = generate(args.size, args.out, args.seed)
    print(f"{args.size}: {counts} in {time.perf_counter() - clock:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
