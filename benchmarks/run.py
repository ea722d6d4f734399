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
startup            ``mineledger --help`` in a subprocess    ``python -c pass`` (wall time, median of
                   (wall time, median of three)             three)
by-admin           hazardous area by level-3 area           :mod:`benchmarks.baselines.by_admin`:
                   (distinct land, ``area_by_admin``)       STRtree clip to the areas, union only of
                                                            overlapping pieces, cluster by cluster
ledger-admin2      land release ledger by admin2, computed  :mod:`benchmarks.baselines.ledger`, from
                   (``ledger(…, "admin2", stored=False)``)  the store's GeoPackage: the same method
ledger-year        the ledger by year                       the same, rows by year
summary            ``summary(store, "QSY")``: the figures   :mod:`benchmarks.baselines.summary`: the
                   kept at each commit (the service call,   headline figures with pyogrio/GeoPandas
                   no start-up)
summary-computed   ``summary(store, "QSY", stored=False)``: the same
                   computed from the records, as a
                   selection or ``--as-of`` does
quality            the whole data quality catalogue         —
export             ``export_layer`` hazards → GeoPackage    pyogrio write of the same records
report             the country report (HTML, charts, CSV)   —
=================  =======================================  =========================================

The baselines of ``benchmarks/baselines/`` answer the same questions as mineledger, the fast
way an outside GeoPandas engineer would (never a union across the whole country); their rows
equal mineledger's to about 1e-7 of the land (EPSG:6933 against mineledger's ellipsoid;
``tests/test_bench_baselines.py``). Their clocks include reading the store, as mineledger's do,
except by-admin, where both sides get the layers already read.

With ``--backend postgis`` the same workloads run on a PostgreSQL/PostGIS store (the prepared
store migrated into a database ``mlbench_<size>`` on ``$MINELEDGER_BENCH_PG``, default
``postgresql://postgres@127.0.0.1:5432``), each beside what a GIS analyst would write by hand:

=================  =======================================  =========================================
workload           mineledger on PostGIS                    baseline
=================  =======================================  =========================================
import             ``import_source`` into a new database    pyogrio read + GeoPandas ``to_postgis``
area               ``geodesic_area`` of the layer it reads  ``SELECT sum(ST_Area(geom::geography))``
by-admin           the layer read from PostGIS, then        ``read_postgis`` + the by-admin baseline
                   ``area_by_admin`` (reading inside)       above (reading inside the clock)
ledger-*, summary  the same calls on the PostGIS store      the same baselines, reading with
                                                            ``read_postgis``
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
WORKLOADS = ["import", "startup", "area", "by-admin", "ledger-admin2", "ledger-year", "summary",
             "summary-computed", "quality", "export", "report"]
#: Workloads that do not touch a store: run once, on the embedded back end's row.
STORELESS = ("startup",)
BASELINES = {"import": "raw pyogrio read + write", "startup": "python -c pass",
             "area": "GeoPandas to_crs(6933).area",
             "by-admin": "STRtree clip + dissolve of overlapping pieces (baselines/by_admin.py)",
             "ledger-admin2": "STRtree clip + cluster unions (baselines/ledger.py)",
             "ledger-year": "cluster unions by year (baselines/ledger.py)",
             "summary": "pyogrio + GeoPandas (baselines/summary.py)",
             "summary-computed": "pyogrio + GeoPandas (baselines/summary.py)",
             "export": "raw pyogrio write"}
#: The issue's targets at size M (ratio to baseline, or seconds).
#: The targets at size M on the embedded store (issue 16; ratio to the baseline, or seconds).
TARGETS = {"import": ("ratio", 3.0), "area": ("ratio", 1.2), "by-admin": ("ratio", 1.0),
           "ledger-admin2": ("ratio", 1.0), "ledger-year": ("ratio", 1.0),
           "summary": ("seconds", 1.0), "startup": ("seconds", 0.5), "report": ("seconds", 30.0),
           "quality": ("seconds", 60.0)}
#: Every workload grows at most this much from S to M and from M to L (10× the data).
GROWTH_TARGET = 11.0
#: Said in every results file: the seconds are those of a shared machine.
CONDITIONS = ("2 vCPU shared with other work (other sessions' processes ran beside the "
              "benchmark); each workload and its baseline ran one after the other in fresh "
              "processes, so a ratio compares two runs under about the same load")
PEAK_TARGET_MB = 2048


PG_SERVER = os.environ.get("MINELEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
BASELINES_PG = {"import": "pyogrio read + GeoPandas to_postgis",
                "area": "SQL sum(ST_Area(geography))",
                "by-admin": "read_postgis + STRtree clip + dissolve of overlapping pieces",
                "ledger-admin2": "read_postgis + STRtree clip + cluster unions",
                "ledger-year": "read_postgis + cluster unions by year",
                "summary": "read_postgis + GeoPandas (baselines/summary.py)",
                "summary-computed": "read_postgis + GeoPandas (baselines/summary.py)",
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
            # a migration cut short leaves the tables without their rows: done again
            if conn.execute("SELECT to_regclass('transactions') IS NOT NULL").fetchone()[0] \
                    and conn.execute("SELECT EXISTS (SELECT 1 FROM hazards)").fetchone()[0]:
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


class _HookClock:
    """Times the functions run at each commit (:func:`mineledger.access.on_commit`: the
    headline figures) inside a workload, so the import's row can say what keeping the
    figures cost it and what the rest did."""

    def __enter__(self) -> "_HookClock":
        from mineledger.access import session

        self.seconds, self._hooks = 0.0, session._ON_COMMIT
        self._saved = list(self._hooks)
        self._hooks[:] = [self._timed(h) for h in self._saved]
        return self

    def _timed(self, hook):
        def timed(writer) -> None:
            clock = time.perf_counter()
            try:
                hook(writer)
            finally:
                self.seconds += time.perf_counter() - clock
        return timed

    def __exit__(self, *exc) -> None:
        self._hooks[:] = self._saved


def run_one(size: str, workload: str, baseline: bool, backend: str = "gpkg") -> dict:
    """Run one workload (or its baseline) in this process; returns its measurements."""
    if workload == "startup":
        return _startup(baseline)
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
            with open_store(target, user="bench") as store, _HookClock() as hooks:
                report = import_source(store, folder / "hazards.gpkg",
                                       str(PROFILES / "hazards.yaml"), user="bench")
            rows = report.total("rows_read")
        seconds = time.perf_counter() - clock
        if not baseline:
            return {"seconds": seconds, "rows": rows, "figures_seconds": hooks.seconds}
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
            from benchmarks.baselines import by_admin as base
            from benchmarks.baselines.common import read

            store_path = _store_for(size)
            hazards = read(store_path, "hazards", ["uuid"])
            admin = read(store_path, "admin_areas", ["level", "code", "name"])
            rows = len(hazards)
            clock = time.perf_counter()
            total = sum(base.land_by_area(hazards, admin[admin["level"] == 3]).values())
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
    elif workload in ("ledger-admin2", "ledger-year", "summary", "summary-computed"):
        return _figures(str(_store_for(size)), workload, baseline, "gpkg")
    elif workload == "quality":
        with open_store(_work_copy(size, "quality"), create=False, user="bench") as store:
            rows = sum(len(store.read_layer(layer, COUNTRY)) for layer in
                       ("hazards", "cleared_areas", "devices", "events", "victims"))
            clock = time.perf_counter()
            findings = run_checks(store, COUNTRY)
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


def _figures(location: str, workload: str, baseline: bool, backend: str) -> dict:
    """The ledger by admin2 or by year, or the summary's headline figures, of the store at
    ``location`` (a GeoPackage or a PostGIS URL): mineledger's service call, or the outside
    baseline reading the same store; both clocks include reading the layers."""
    from benchmarks.baselines import ledger as base_ledger
    from benchmarks.baselines import summary as base_summary
    from mineledger import open_store
    from mineledger.land.landrelease import ledger
    from mineledger.land.summary import summary

    with open_store(location, create=False, user="bench") as store:
        rows = store.count("hazards", COUNTRY)
        clock = time.perf_counter()
        if workload.startswith("summary"):
            if baseline:
                figures = base_summary.summary(location)
                total, groups = figures["land_release"]["recorded_m2"], None
            else:  # the figures kept at commit, or computed from the records
                figures = summary(store, COUNTRY, stored=workload == "summary")
                total, groups = figures.land_release.recorded_m2, None
        else:
            by = workload.removeprefix("ledger-")
            if baseline:
                found = base_ledger.by_year(location) if by == "year" else \
                    base_ledger.by_admin(location, 2)
                total = found[-1]["recorded_m2"]
            else:
                found = ledger(store, COUNTRY, by, stored=False)  # computed, not read
                total = found[-1].recorded_m2
            groups = len(found)
        seconds = time.perf_counter() - clock
    out = {"seconds": seconds, "rows": rows, "result_m2": float(total)}
    if groups is not None:
        out["groups"] = groups
    return out


def _startup(baseline: bool) -> dict:
    """Wall time of a fresh process: ``mineledger --help`` (or ``python -c pass``), the median
    of three; peak memory is the largest child's."""
    cmd = [sys.executable, "-c", "pass"] if baseline else \
        [str(Path(sys.executable).parent / "mineledger"), "--help"]
    times = []
    for _ in range(3):
        clock = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - clock)
    return {"seconds": sorted(times)[1], "rows": 0, "times": times,
            "peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


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
    from mineledger.land.admin_areas import area_by_admin
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
            with open_store(target, user="bench") as store, _HookClock() as hooks:
                rows = import_source(store, folder / "hazards.gpkg", str(PROFILES / "hazards.yaml"),
                                     user="bench").total("rows_read")
            extra = {"figures_seconds": hooks.seconds}
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
            from benchmarks.baselines import by_admin as base

            clock = time.perf_counter()  # reading inside: mineledger's reads in the database
            total = sum(base.by_admin(url, 3).values())
        else:
            with open_store(url, create=False, user="bench") as store:
                admin = store.read_layer("admin_areas", COUNTRY)
                admin = admin[admin["level"] == 3]
                clock = time.perf_counter()  # reading inside, as the baseline does
                total = sum(r["area_m2"] for r in area_by_admin(
                    store.read_layer("hazards", COUNTRY), admin))
        seconds = time.perf_counter() - clock
        extra = {"result_m2": total}
    elif workload in ("ledger-admin2", "ledger-year", "summary", "summary-computed"):
        engine.dispose()
        return _figures(url, workload, baseline, "postgis")
    elif workload == "quality":
        with open_store(_work_copy(size, "quality", "postgis"), create=False, user="bench") as store:
            rows = sum(store.count(layer, COUNTRY) for layer in
                       ("hazards", "cleared_areas", "devices", "events", "victims"))
            clock = time.perf_counter()
            findings = run_checks(store, COUNTRY)
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


def commit() -> str:
    """The clone's commit (short), ``+`` if the work tree differs from it."""
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              cwd=HERE.parent).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+" if git("status", "--porcelain", "--", "src", "benchmarks/run.py",
                              "benchmarks/baselines") else "")


def bench(size: str, backend: str = "gpkg", workloads: list[str] = WORKLOADS) -> list[dict]:
    # in a process of its own, so its peak memory is measured (at L: 10⁶ hazards and all
    # their outcomes, devices, events and victims imported into one store)
    made = _child(size, "prepare", False, backend)
    baselines = BASELINES_PG if backend == "postgis" else BASELINES
    if backend == "postgis":
        prepare_postgis(size)
    rows = []
    measured_at = commit()
    if "rows" in made:  # the store was built in this run: how long and how much memory
        rows.append({"size": size, "backend": "gpkg", "workload": "prepare (all six files)",
                     "seconds": round(made["seconds"], 3), "peak_mb": made["peak_mb"],
                     "rows": made["rows"], "rows_per_s": round(made["rows"] / made["seconds"]),
                     "baseline": None, "baseline_seconds": None, "baseline_peak_mb": None,
                     "ratio": None, **({"generate_seconds": made["generate_seconds"]}
                                       if "generate_seconds" in made else {})})
    for workload in workloads:
        if backend != "gpkg" and workload in STORELESS:
            continue
        print(f"[{size} {backend}] {workload}", flush=True)
        mine = _child(size, workload, False, backend)
        base = _child(size, workload, True, backend) if workload in baselines else None
        row = {"size": size, "backend": backend, "workload": workload, "commit": measured_at,
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
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
        if "figures_seconds" in mine:  # the import: what the figures took, the rest, its floor
            row["figures_seconds"] = round(mine["figures_seconds"], 3)
            row["records_seconds"] = round(mine["seconds"] - mine["figures_seconds"], 3)
            if backend == "gpkg":
                row["floor_seconds"] = _floor(size)
                row["records_to_floor"] = round(row["records_seconds"] / row["floor_seconds"], 2)
        if base and "result_m2" in base:
            row["baseline_result_m2"] = base["result_m2"]
            if mine.get("result_m2"):
                row["result_rel_diff"] = float(f"{abs(base['result_m2'] - mine['result_m2']) / mine['result_m2']:.2e}")
        kind, limit = TARGETS.get(workload, (None, None))
        if size == "M" and kind and backend == "gpkg":  # the targets are the laptop's
            value = row["ratio"] if kind == "ratio" else row["seconds"]
            row["target"] = f"{'≤' if kind == 'ratio' else '<'} {limit:g}{'×' if kind == 'ratio' else ' s'}"
            row["met"] = value is not None and value <= limit
        rows.append(row)
        # what has finished so far survives an interrupted run (L takes hours)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{size}-{backend}.partial.json").write_text(
            json.dumps(results_doc(rows), indent=2), encoding="utf-8")
    return rows


def _floor(size: str) -> float:
    """The import's floor (:mod:`benchmarks.import_floor`, the store's indexed tables) in a
    fresh process, from the rows the import workload just wrote: seconds."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.import_floor", "--size", size],
                         cwd=HERE.parent, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["indexed"])


def results_doc(rows: list[dict]) -> dict:
    """A results file: the machine, the commit, when (UTC), under what conditions, the rows."""
    return {"machine": machine(), "commit": commit(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "conditions": CONDITIONS, "rows": rows}


SIZE_ORDER = {"XS": 0, "S": 1, "M": 2, "L": 3}


def load_results(folder: Path = RESULTS) -> list[dict]:
    """The committed results files (``<size>-<backend>.json``), smallest size first."""
    docs = []
    for path in sorted(folder.glob("*-*.json")):
        if path.name.endswith(".partial.json") or path.name.startswith("check-"):
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["file"] = path.name
        docs.append(doc)
    return sorted(docs, key=lambda d: (SIZE_ORDER.get(d["rows"][0]["size"], 9) if d["rows"] else 9,
                                       d["file"]))


def _num(value, fmt: str = ".2f", suffix: str = "") -> str:
    return "" if value is None else f"{value:{fmt}}{suffix}"


def markdown(rows: list[dict]) -> str:
    """The table of workloads × back ends × sizes: seconds, baseline seconds, ratio, growth
    from the size before (seconds at this size ÷ seconds at the size before), peak memory,
    and the target at M where the issue sets one."""
    order = {w: i for i, w in enumerate(WORKLOADS)}
    rows = sorted(rows, key=lambda r: (order.get(r["workload"], -1), r.get("backend", "gpkg"),
                                       SIZE_ORDER.get(r["size"], 9)))
    seconds = {(r["workload"], r.get("backend", "gpkg"), r["size"]): r["seconds"] for r in rows}
    before = {"M": "S", "L": "M"}
    lines = ["| workload | store | size | s | baseline s | ratio | growth | peak MB | "
             "baseline peak MB | target at M |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        backend = r.get("backend", "gpkg")
        prev = None if r["workload"] in STORELESS else \
            seconds.get((r["workload"], backend, before.get(r["size"], "")))
        growth = ""
        if prev:
            g = r["seconds"] / prev
            growth = f"{before[r['size']]}→{r['size']} {g:.1f}×" + \
                (" ✗" if g > GROWTH_TARGET else "")
        target = r.get("target", "")
        if target:
            target += " ✓" if r.get("met") else " ✗"
        lines.append(f"| {r['workload']} | {backend} | {r['size']} | {r['seconds']:.2f} | "
                     f"{_num(r.get('baseline_seconds'))} | {_num(r.get('ratio'), '.2f', '×')} | "
                     f"{growth} | {r['peak_mb']:,} | {_num(r.get('baseline_peak_mb'), ',')} | "
                     f"{target} |")
    return "\n".join(lines) + "\n"


def results_section(docs: list[dict]) -> str:
    """The generated part of ``docs/benchmarks.md``: where and when each results file was
    measured, the baselines, the table, and the agreement of each baseline's figure."""
    out = ["| results file | commit | date (UTC) | machine |", "|---|---|---|---|"]
    for d in docs:
        m = d.get("machine", {})
        # rows rerun alone (``--workloads``) keep the commit they were measured at
        by_commit: dict[str, list[str]] = {}
        for r in d["rows"]:
            by_commit.setdefault(r.get("commit") or d.get("commit", "?"), []).append(r["workload"])
        commits = [f"`{c}`" for c in by_commit] if len(by_commit) < 2 else \
            [f"`{c}` ({', '.join(ws)})" if len(ws) < 3 else f"`{c}` (the others)"
             for c, ws in by_commit.items()]
        out.append(f"| `benchmarks/results/{d['file']}` | {'; '.join(commits) or '?'} | "
                   f"{d.get('date', '?')} | {m.get('cpus', '?')} × {m.get('cpu', '?')}, "
                   f"{m.get('memory_gb', '?')} GB, Python {m.get('python', '?')} |")
    conditions = sorted({d.get("conditions") for d in docs if d.get("conditions")})
    out += [""] + [f"Conditions: {c}." for c in conditions]
    rows = [r for d in docs for r in d["rows"]]
    out += ["", markdown(rows).rstrip(), ""]
    named = {}
    for r in rows:
        if r.get("baseline"):
            named.setdefault((r["workload"], r.get("backend", "gpkg")), r["baseline"])
    out += ["Baselines:", ""] + [f"- {w} ({b}): {name}" for (w, b), name in named.items()]
    split = [r for r in rows if r.get("figures_seconds") is not None]
    if split:
        out += ["", "The import's seconds split: the headline figures kept at its commit "
                "(issue 16 point 4: the whole country's land, once), and the rest (mapping, "
                "validation, the records, the change log, the warnings) beside its floor "
                "(`benchmarks/import_floor.py`: pyogrio read plus two raw `executemany` "
                "inserts of the stored rows and their change-log entries; target ≤ 1.5×):", "",
                "| store | size | import s | figures s | rest s | floor s | rest ÷ floor |",
                "|---|---|---:|---:|---:|---:|---:|"]
        out += [f"| {r.get('backend', 'gpkg')} | {r['size']} | {r['seconds']:.2f} | "
                f"{r['figures_seconds']:.2f} | {r['records_seconds']:.2f} | "
                f"{_num(r.get('floor_seconds'))} | {_num(r.get('records_to_floor'), '.2f', '×')} |"
                for r in sorted(split, key=lambda r: (r.get("backend", "gpkg"),
                                                      SIZE_ORDER.get(r["size"], 9)))]
    agree = [r for r in rows if r.get("result_rel_diff") is not None]
    if agree:
        out += ["", "The figure each side computed (m²: total recorded land for the ledger and "
                "the summary, distinct land for by-admin, the sum of areas for area), "
                "mineledger and its baseline:", "",
                "| workload | store | size | mineledger m² | baseline m² | relative difference |",
                "|---|---|---|---:|---:|---:|"]
        out += [f"| {r['workload']} | {r.get('backend', 'gpkg')} | {r['size']} | "
                f"{r['result_m2']:,.0f} | {r['baseline_result_m2']:,.0f} | "
                f"{r['result_rel_diff']:.1e} |" for r in agree]
    return "\n".join(out) + "\n"


DOC = HERE.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- results: written by `python -m benchmarks.run --docs` -->", "<!-- end of results -->"


def write_docs(doc: Path = DOC, folder: Path = RESULTS) -> None:
    """Rewrite the results section of ``docs/benchmarks.md`` (between its two markers) from
    the results files; the prose around it stays."""
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n\n{results_section(load_results(folder))}\n{END}{tail}",
                   encoding="utf-8")


def _postgis_up() -> bool:
    try:
        import psycopg

        with psycopg.connect(_pg("postgres"), connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means: not available
        return False


def check(size: str = "S") -> None:
    """Rerun a size (both back ends if PostGIS answers, else the embedded one) and print each
    workload's ratio beside the committed one; the committed files are left alone."""
    backends = ["gpkg", "postgis"] if _postgis_up() else ["gpkg"]
    print(f"bench-check: size {size} on {', '.join(backends)}", flush=True)
    lines = []
    for backend in backends:
        committed = RESULTS / f"{size}-{backend}.json"
        before = {r["workload"]: r for r in json.loads(committed.read_text(encoding="utf-8"))["rows"]} \
            if committed.exists() else {}
        rows = bench(size, backend)
        (RESULTS / f"check-{size}-{backend}.json").write_text(
            json.dumps(results_doc(rows), indent=2), encoding="utf-8")
        for r in rows:
            old = before.get(r["workload"], {})
            lines.append(f"{size:2} {backend:8} {r['workload']:24} "
                         f"{r['seconds']:9.2f} s  ratio {_num(r.get('ratio'), '.2f', '×'):>7}"
                         f"   committed {_num(old.get('seconds'), '.2f', ' s'):>9}  ratio "
                         f"{_num(old.get('ratio'), '.2f', '×'):>7}")
    print("\nsize store    workload                   now                      committed")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description="mineledger benchmarks (see the module docstring)")
    parser.add_argument("--sizes", nargs="+", default=["S", "M"], choices=["S", "M", "L"])
    parser.add_argument("--backends", nargs="+", default=["gpkg"], choices=["gpkg", "postgis"])
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS,
                        help="run only these workloads (default: all, in this order)")
    parser.add_argument("--docs", action="store_true",
                        help="only rewrite the results section of docs/benchmarks.md")
    parser.add_argument("--check", action="store_true",
                        help="rerun size S and print each ratio beside the committed one")
    parser.add_argument("--backend", default="gpkg", help=argparse.SUPPRESS)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--size", default="S", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = prepare(args.size) if args.one == "prepare" else \
            run_one(args.size, args.one, args.baseline, args.backend)
        result.setdefault("peak_mb",
                          round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
        print(json.dumps(result))
        return
    if args.docs:
        write_docs()
        return
    if args.check:
        check("S")
        return
    RESULTS.mkdir(exist_ok=True)
    everything = []
    for size in args.sizes:
        for backend in args.backends:
            rows = bench(size, backend, args.workloads)
            everything += rows
            path = RESULTS / f"{size}-{backend}.json"
            if args.workloads != WORKLOADS and path.exists():  # some workloads: the others stay
                kept = json.loads(path.read_text(encoding="utf-8"))["rows"]
                done = {r["workload"] for r in rows}
                rows = [r for r in kept if r["workload"] not in done] + rows
            path.write_text(json.dumps(results_doc(rows), indent=2), encoding="utf-8")
            (RESULTS / f"{size}-{backend}.partial.json").unlink(missing_ok=True)
    table = markdown(everything)
    (RESULTS / "latest.md").write_text(table, encoding="utf-8")
    print(table)
    write_docs()


if __name__ == "__main__":
    main()
