"""Benchmarks at national scale, each workload beside what a user would otherwise run.

``python -m benchmarks.run --sizes S M`` generates the synthetic data of each size (cached in
``benchmarks/data/``), prepares a store holding it, then runs every workload and its baseline
in turn, each in a fresh Python process (so the peak memory is that workload's), and writes
``benchmarks/results/<size>.json`` and a markdown table.

Workloads (mineledger) and baselines (what an expert would write by hand):

=================  =======================================  =========================================
workload           mineledger                               baseline
=================  =======================================  =========================================
import             ``import_source`` of hazards.gpkg into   pyogrio read of the file + pyogrio write
                   a new store (one transaction, mapping,   of the same records to a new GeoPackage
                   validation, repair, change log)
area               ``geodesic_area`` of all hazards         GeoPandas ``to_crs(EPSG:6933).area``
                   (ellipsoid, oriented rings)
by-admin           hazardous area by level-3 area           hazards dissolved (``union_all``), then
                   (distinct land, ``area_by_admin``)       ``geopandas.overlay`` with the areas,
                                                            ``to_crs(6933).area``, groupby
ledger             land release ledger by admin2, by year   —
quality            the whole data quality catalogue         —
export             ``export_layer`` hazards → GeoPackage    pyogrio write of the same records
report             the country report (HTML, charts, CSV)   —
=================  =======================================  =========================================

With ``--backend postgis`` the same workloads run on a PostgreSQL/PostGIS store (the prepared
store migrated into a database ``mlbench_<size>`` on ``$MINELEDGER_BENCH_PG``, default
``postgresql://postgres@127.0.0.1:5432``), each beside what a GIS analyst would write by hand:

=================  =======================================  =========================================
workload           mineledger on PostGIS                    baseline
=================  =======================================  =========================================
import             ``import_source`` into a new database    pyogrio read + GeoPandas ``to_postgis``
area               ``geodesic_area`` of the layer it reads  ``SELECT sum(ST_Area(geom::geography))``
by-admin           distinct land by level-3 area, computed  ``ST_Intersection`` of hazards and areas,
                   in PostGIS (``Store.area_by_admin``)     ``ST_Area(geography)``, ``GROUP BY code``
export             ``export_layer`` hazards → GeoPackage    ``read_postgis`` + pyogrio write
=================  =======================================  =========================================

Wall seconds are the operation only (reading inputs a workload needs is outside the clock,
except where reading is the workload); peak memory is the process's maximum resident set
(``ru_maxrss``), interpreter and libraries included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
PROFILES = HERE / "profiles"
COUNTRY = "QSY"
WORKLOADS = ["import", "area", "by-admin", "ledger", "quality", "export", "report"]
BASELINES = {"import": "raw pyogrio read + write", "area": "GeoPandas to_crs(6933).area",
             "by-admin": "GeoPandas dissolve + overlay + groupby", "export": "raw pyogrio write"}
#: The issue's targets at size M (ratio to baseline, or seconds).
TARGETS = {"import": ("ratio", 3.0), "area": ("ratio", 1.2), "by-admin": ("ratio", 1.0),
           "quality": ("seconds", 60.0)}
PEAK_TARGET_MB = 2048


PG_SERVER = os.environ.get("MINELEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
BASELINES_PG = {"import": "pyogrio read + GeoPandas to_postgis",
                "area": "SQL sum(ST_Area(geography))",
                "by-admin": "SQL ST_Intersection + ST_Area(geography) GROUP BY",
                "export": "read_postgis + pyogrio write"}


def _fresh_path(path: Path) -> Path:
    """``path`` with any earlier run's file (and its -wal, -shm) removed."""
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    return path


def _store_for(size: str) -> Path:
    return DATA / size / "store.gpkg"


def _pg(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _fresh_db(name: str) -> str:
    """An empty database with PostGIS installed (outside any clock)."""
    import psycopg

    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {name}")
    with psycopg.connect(_pg(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    return _pg(name)


def _location(size: str, backend: str) -> str:
    return _pg(f"mlbench_{size.lower()}") if backend == "postgis" else str(_store_for(size))


def prepare_postgis(size: str) -> None:
    """The prepared store migrated (once) into a database of its own."""
    import psycopg

    name = f"mlbench_{size.lower()}"
    try:
        with psycopg.connect(_pg(name)) as conn:
            if conn.execute("SELECT to_regclass('transactions') IS NOT NULL").fetchone()[0]:
                return
    except psycopg.OperationalError:
        pass
    print(f"[{size}] migrating the store to PostGIS", flush=True)
    from mineledger import open_store
    from mineledger.ledger.migration import migrate_store

    url = _fresh_db(name)
    with open_store(_store_for(size), create=False, user="bench") as store:
        migrate_store(store, url, user="bench")


def prepare(size: str) -> dict:
    """Generate the size's files (once) and a store holding all of them (once); returns
    the seconds each took (absent if it was done before) and the records imported."""
    from benchmarks.generate import generate

    folder = DATA / size
    done: dict = {}
    if not (folder / "victims.gpkg").exists():
        print(f"[{size}] generating", flush=True)
        clock = time.perf_counter()
        generate(size, folder)
        done["generate_seconds"] = round(time.perf_counter() - clock, 1)
    if _store_for(size).exists():
        return done
    print(f"[{size}] preparing the store", flush=True)
    from mineledger import import_source, open_store

    tmp = folder / "store.partial.gpkg"
    for p in folder.glob("store.partial.gpkg*"):
        p.unlink()
    clock = time.perf_counter()
    rows = 0
    with open_store(tmp, user="bench") as store:
        for name in ("admin", "hazards", "cleared", "devices", "events", "victims"):
            rows += import_source(store, folder / f"{name}.gpkg", str(PROFILES / f"{name}.yaml"),
                                  user="bench").total("rows_read")
    os.replace(tmp, _store_for(size))
    done.update(seconds=time.perf_counter() - clock, rows=rows)
    return done


def _work_copy(size: str, tag: str, backend: str = "gpkg") -> str:
    """A copy of the prepared store for a workload that writes (findings, lifecycle)."""
    if backend == "postgis":
        name = f"mlbench_{size.lower()}_{tag}"
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {name} TEMPLATE mlbench_{size.lower()}")
        return _pg(name)
    target = DATA / size / f"work-{tag}.gpkg"
    for p in target.parent.glob(target.name + "*"):
        p.unlink()
    shutil.copy(_store_for(size), target)
    return str(target)


def run_one(size: str, workload: str, baseline: bool, backend: str = "gpkg") -> dict:
    """Run one workload (or its baseline) in this process; returns its measurements."""
    if backend == "postgis":
        return run_one_postgis(size, workload, baseline)
    import geopandas as gpd
    import pyogrio

    # every library loads before any clock starts: the clocks time the work only
    from mineledger import import_source, open_store
    from mineledger.geo import geodesic_area
    from mineledger.report import write_report
    from mineledger.land.admin_areas import area_by_admin
    from mineledger.ledger.export import export_layer
    from mineledger.land.landrelease import ledger
    from mineledger.ledger.quality import run_checks

    folder = DATA / size
    rows = 0
    if workload == "import":
        target = _fresh_path(folder / ("baseline-import.gpkg" if baseline else "import.gpkg"))
        clock = time.perf_counter()
        if baseline:
            gdf = pyogrio.read_dataframe(folder / "hazards.gpkg")
            pyogrio.write_dataframe(gdf, target, layer="hazards")
            rows = len(gdf)
        else:
            with open_store(target, user="bench") as store:
                report = import_source(store, folder / "hazards.gpkg",
                                       str(PROFILES / "hazards.yaml"), user="bench")
            rows = report.total("rows_read")
        seconds = time.perf_counter() - clock
    elif workload == "area":
        gdf = pyogrio.read_dataframe(folder / "hazards.gpkg")
        rows = len(gdf)
        clock = time.perf_counter()
        if baseline:
            total = float(gdf.to_crs(6933).area.sum())
        else:
            total = float(geodesic_area(gdf.geometry.array).sum())
        seconds = time.perf_counter() - clock
        return {"seconds": seconds, "rows": rows, "result_m2": total}
    elif workload == "by-admin":
        if baseline:
            hazards = pyogrio.read_dataframe(folder / "hazards.gpkg")
            admin = pyogrio.read_dataframe(folder / "admin.gpkg")
            admin = admin[admin["level"] == 3]
            rows = len(hazards)
            # the generated polygons are jittered and some self-intersect: repaired first, as
            # mineledger's were at import (outside both clocks)
            hazards["geometry"] = hazards.geometry.make_valid()
            clock = time.perf_counter()
            # the same question as mineledger's: each piece of land once, so the hazards are
            # dissolved before the overlay (an overlay of the raw polygons adds up overlaps)
            land = gpd.GeoDataFrame(geometry=[hazards.union_all()], crs=hazards.crs).explode()
            pieces = gpd.overlay(land, admin[["code", "geometry"]], how="intersection",
                                 keep_geom_type=True)
            by_code = pieces.to_crs(6933).area.groupby(pieces["code"]).sum()
            total = float(by_code.sum())
        else:
            with open_store(_store_for(size), create=False, user="bench") as store:
                hazards = store.read_layer("hazards", COUNTRY)
                admin = store.read_layer("admin_areas", COUNTRY)
                admin = admin[admin["level"] == 3]
                rows = len(hazards)
                clock = time.perf_counter()
                total = sum(r["area_m2"] for r in area_by_admin(hazards, admin))
        seconds = time.perf_counter() - clock
        return {"seconds": seconds, "rows": rows, "result_m2": total}
    elif workload == "ledger":
        with open_store(_store_for(size), create=False, user="bench") as store:
            rows = len(store.read_layer("hazards", COUNTRY))
            clock = time.perf_counter()
            by_admin2 = ledger(store, COUNTRY, "admin2")
            by_year = ledger(store, COUNTRY, "year")
            seconds = time.perf_counter() - clock
        return {"seconds": seconds, "rows": rows, "groups": len(by_admin2) + len(by_year)}
    elif workload == "quality":
        with open_store(_work_copy(size, "quality"), create=False, user="bench") as store:
            rows = sum(len(store.read_layer(layer, COUNTRY)) for layer in
                       ("hazards", "cleared_areas", "devices", "events", "victims"))
            clock = time.perf_counter()
            findings = run_checks(store, COUNTRY, user="bench")
            seconds = time.perf_counter() - clock
        return {"seconds": seconds, "rows": rows, "findings": len(findings)}
    elif workload == "export":
        out = _fresh_path(folder / ("baseline-export.gpkg" if baseline else "export.gpkg"))
        with open_store(_store_for(size), create=False, user="bench") as store:
            if baseline:
                gdf = store.read_layer("hazards", COUNTRY).drop(
                    columns=["fid", "source_geometry", "attributes"])
                rows = len(gdf)
                clock = time.perf_counter()
                pyogrio.write_dataframe(gdf, out, layer="hazards", promote_to_multi=True)
            else:
                clock = time.perf_counter()
                rows = export_layer(store, "hazards", "gpkg", out, country=COUNTRY,
                                    overwrite=True).records
            seconds = time.perf_counter() - clock
    elif workload == "report":
        with open_store(_store_for(size), create=False, user="bench") as store:
            rows = len(store.read_layer("hazards", COUNTRY))
            clock = time.perf_counter()
            write_report(store, COUNTRY, folder / "report", overwrite=True)
            seconds = time.perf_counter() - clock
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    return {"seconds": seconds, "rows": rows}


def _hazard_count(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM hazards")).scalar_one()


def run_one_postgis(size: str, workload: str, baseline: bool) -> dict:
    """One workload (or its hand-written baseline) on the PostGIS store."""
    import geopandas as gpd
    import pyogrio
    from sqlalchemy import create_engine, text

    from mineledger import import_source, open_store
    from mineledger.geo import geodesic_area
    from mineledger.report import write_report
    from mineledger.land.admin_areas import land_by_admin
    from mineledger.ledger.export import export_layer
    from mineledger.land.landrelease import ledger
    from mineledger.ledger.quality import run_checks

    folder = DATA / size
    url = _location(size, "postgis")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    rows = 0
    extra: dict = {}
    if workload == "import":
        target = _fresh_db(f"mlbench_{size.lower()}_import{'_base' if baseline else ''}")
        clock = time.perf_counter()
        if baseline:
            gdf = pyogrio.read_dataframe(folder / "hazards.gpkg")
            gdf.to_postgis("hazards", create_engine(
                target.replace("postgresql://", "postgresql+psycopg://")), index=False)
            rows = len(gdf)
        else:
            with open_store(target, user="bench") as store:
                rows = import_source(store, folder / "hazards.gpkg", str(PROFILES / "hazards.yaml"),
                                     user="bench").total("rows_read")
        seconds = time.perf_counter() - clock
    elif workload == "area":
        rows = _hazard_count(engine)
        if baseline:
            clock = time.perf_counter()
            with engine.connect() as conn:
                total = float(conn.execute(text(
                    "SELECT sum(ST_Area(geom::geography)) FROM hazards")).scalar_one())
        else:
            with open_store(url, create=False, user="bench") as store:
                clock = time.perf_counter()
                gdf = store.read_layer("hazards", COUNTRY)
                total = float(geodesic_area(gdf.geometry.array).sum())
        seconds = time.perf_counter() - clock
        extra = {"result_m2": total}
    elif workload == "by-admin":
        rows = _hazard_count(engine)
        if baseline:
            clock = time.perf_counter()
            with engine.connect() as conn:
                by_code = conn.execute(text(
                    "SELECT a.code, sum(ST_Area(ST_Intersection(h.geom, a.geom)::geography)) "
                    "FROM hazards h JOIN admin_areas a ON a.level = 3 AND h.geom && a.geom "
                    "AND ST_Intersects(h.geom, a.geom) GROUP BY a.code")).all()
            total = float(sum(a for _, a in by_code))
        else:
            with open_store(url, create=False, user="bench") as store:
                admin = store.read_layer("admin_areas", COUNTRY)
                admin = admin[admin["level"] == 3]
                clock = time.perf_counter()
                total = sum(r["area_m2"] for r in land_by_admin(
                    store, "hazards", COUNTRY, 3, None, admin))
        seconds = time.perf_counter() - clock
        extra = {"result_m2": total}
    elif workload == "ledger":
        with open_store(url, create=False, user="bench") as store:
            clock = time.perf_counter()
            by_admin2 = ledger(store, COUNTRY, "admin2")
            by_year = ledger(store, COUNTRY, "year")
            seconds = time.perf_counter() - clock
            rows = store.count("hazards", COUNTRY)
        extra = {"groups": len(by_admin2) + len(by_year)}
    elif workload == "quality":
        with open_store(_work_copy(size, "quality", "postgis"), create=False, user="bench") as store:
            rows = sum(store.count(layer, COUNTRY) for layer in
                       ("hazards", "cleared_areas", "devices", "events", "victims"))
            clock = time.perf_counter()
            findings = run_checks(store, COUNTRY, user="bench")
            seconds = time.perf_counter() - clock
        extra = {"findings": len(findings)}
    elif workload == "export":
        out = _fresh_path(folder / ("pg-baseline-export.gpkg" if baseline else "pg-export.gpkg"))
        clock = time.perf_counter()
        if baseline:
            gdf = gpd.read_postgis("SELECT * FROM hazards", engine, geom_col="geom").drop(
                columns=["fid", "source_geometry", "attributes"])
            rows = len(gdf)
            pyogrio.write_dataframe(gdf, out, layer="hazards", promote_to_multi=True)
        else:
            with open_store(url, create=False, user="bench") as store:
                rows = export_layer(store, "hazards", "gpkg", out, country=COUNTRY,
                                    overwrite=True).records
        seconds = time.perf_counter() - clock
    elif workload == "report":
        with open_store(url, create=False, user="bench") as store:
            rows = store.count("hazards", COUNTRY)
            clock = time.perf_counter()
            write_report(store, COUNTRY, folder / "pg-report", overwrite=True)
            seconds = time.perf_counter() - clock
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    engine.dispose()
    return {"seconds": seconds, "rows": rows, **extra}


def _child(size: str, workload: str, baseline: bool, backend: str = "gpkg") -> dict:
    cmd = [sys.executable, "-m", "benchmarks.run", "--one", workload, "--size", size,
           "--backend", backend]
    if baseline:
        cmd.append("--baseline")
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
    if done.returncode != 0:
        raise SystemExit(f"{workload} ({'baseline' if baseline else 'mineledger'}) failed:\n"
                         f"{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count()}
    try:
        with open("/proc/meminfo") as fh:
            info["memory_gb"] = round(int(fh.readline().split()[1]) / 1024 ** 2, 1)
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def bench(size: str, backend: str = "gpkg", workloads: list[str] = WORKLOADS) -> list[dict]:
    # in a process of its own, so its peak memory is measured (at L: 10⁶ hazards and all
    # their outcomes, devices, events and victims imported into one store)
    made = _child(size, "prepare", False, backend)
    baselines = BASELINES_PG if backend == "postgis" else BASELINES
    if backend == "postgis":
        prepare_postgis(size)
    rows = []
    if "rows" in made:  # the store was built in this run: how long and how much memory
        rows.append({"size": size, "backend": "gpkg", "workload": "prepare (all six files)",
                     "seconds": round(made["seconds"], 3), "peak_mb": made["peak_mb"],
                     "rows": made["rows"], "rows_per_s": round(made["rows"] / made["seconds"]),
                     "baseline": None, "baseline_seconds": None, "baseline_peak_mb": None,
                     "ratio": None, **({"generate_seconds": made["generate_seconds"]}
                                       if "generate_seconds" in made else {})})
    for workload in workloads:
        print(f"[{size} {backend}] {workload}", flush=True)
        mine = _child(size, workload, False, backend)
        base = _child(size, workload, True, backend) if workload in baselines else None
        row = {"size": size, "backend": backend, "workload": workload,
               "seconds": round(mine["seconds"], 3),
               "peak_mb": mine["peak_mb"], "rows": mine["rows"],
               "rows_per_s": round(mine["rows"] / mine["seconds"]) if mine["seconds"] else None,
               "baseline": baselines.get(workload),
               "baseline_seconds": round(base["seconds"], 3) if base else None,
               "baseline_peak_mb": base["peak_mb"] if base else None,
               "ratio": round(mine["seconds"] / base["seconds"], 2) if base else None}
        for key in ("result_m2", "findings", "groups"):
            if key in mine:
                row[key] = mine[key]
        if base and "result_m2" in base:
            row["baseline_result_m2"] = base["result_m2"]
        kind, limit = TARGETS.get(workload, (None, None))
        if size == "M" and kind and backend == "gpkg":  # the targets are the laptop's
            value = row["ratio"] if kind == "ratio" else row["seconds"]
            row["target"] = f"{'≤' if kind == 'ratio' else '<'} {limit:g}{'×' if kind == 'ratio' else ' s'}"
            row["met"] = value is not None and value <= limit
        rows.append(row)
        # what has finished so far survives an interrupted run (L takes hours)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{size}-{backend}.partial.json").write_text(
            json.dumps({"machine": machine(), "rows": rows}, indent=2), encoding="utf-8")
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| size | store | workload | s | peak MB | rows/s | baseline | baseline s | ratio | target |",
             "|---|---|---|---:|---:|---:|---|---:|---:|---|"]
    for r in rows:
        target = r.get("target", "")
        if target:
            target += " ✓" if r.get("met") else " ✗"
        base_s = "" if r["baseline_seconds"] is None else f"{r['baseline_seconds']:.2f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        lines.append(f"| {r['size']} | {r.get('backend', 'gpkg')} | {r['workload']} | {r['seconds']:.2f} | {r['peak_mb']:,} | "
                     f"{r['rows_per_s'] or 0:,} | {r['baseline'] or '—'} | {base_s} | {ratio} | "
                     f"{target} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="mineledger benchmarks (see the module docstring)")
    parser.add_argument("--sizes", nargs="+", default=["S", "M"], choices=["S", "M", "L"])
    parser.add_argument("--backends", nargs="+", default=["gpkg"], choices=["gpkg", "postgis"])
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS,
                        help="run only these workloads (default: all, in this order)")
    parser.add_argument("--backend", default="gpkg", help=argparse.SUPPRESS)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--size", default="S", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = prepare(args.size) if args.one == "prepare" else \
            run_one(args.size, args.one, args.baseline, args.backend)
        result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(result))
        return
    RESULTS.mkdir(exist_ok=True)
    everything = []
    for size in args.sizes:
        for backend in args.backends:
            rows = bench(size, backend, args.workloads)
            everything += rows
            name = size if backend == "gpkg" else f"{size}-{backend}"
            (RESULTS / f"{name}.json").write_text(json.dumps({"machine": machine(), "rows": rows},
                                                             indent=2), encoding="utf-8")
    table = markdown(everything)
    (RESULTS / "latest.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
