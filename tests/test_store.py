"""Both back ends: the embedded store is a valid GeoPackage that GDAL reads, in WAL mode; on
each, the change log is append-only and the spatial index is filled. PostGIS-only behaviour
is in test_postgis.py."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pyogrio
import pytest
import shapely

from mineledger import StoreError, open_store
from mineledger.store import gpkg_geometry

LAYERS = {"hazards", "cleared_areas", "events", "victims", "admin_areas"}


def on_postgis(store) -> bool:
    return store.location.startswith("postgresql:")


def gpkg_only(store):
    if on_postgis(store):
        pytest.skip("a property of the GeoPackage file; its PostGIS counterpart is tested too")


def test_new_store_is_a_valid_geopackage(tmp_path):
    path = tmp_path / "new.gpkg"
    open_store(path).close()
    result = subprocess.run([sys.executable, "-m", "osgeo_utils.samples.validate_gpkg", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    layers = dict(pyogrio.list_layers(path))
    assert LAYERS <= set(layers)
    assert layers["hazards"] == "MultiPolygon" and layers["events"] == "Point"


def test_real_store_validates_and_reads_in_wgs84(real_store):
    gpkg_only(real_store)
    result = subprocess.run([sys.executable, "-m", "osgeo_utils.samples.validate_gpkg",
                             real_store.location], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for layer in LAYERS:
        gdf = pyogrio.read_dataframe(real_store.location, layer=layer)
        assert gdf.crs.to_epsg() == 4326, layer
    hazards = pyogrio.read_dataframe(real_store.location, layer="hazards")
    assert len(hazards) == 11068
    assert hazards["uuid"].is_unique


def test_store_is_in_wal_mode(real_store):
    gpkg_only(real_store)
    with sqlite3.connect(real_store.location) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47


def test_change_log_is_append_only(real_store):
    if on_postgis(real_store):
        import psycopg

        with psycopg.connect(real_store.location) as conn:
            for statement in ("UPDATE change_log SET user_name = 'mallory'",
                              "DELETE FROM change_log", "TRUNCATE change_log",
                              "DELETE FROM personal_access_log"):
                with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                    conn.execute(statement)
                conn.rollback()
        return
    conn = sqlite3.connect(real_store.location)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE change_log SET user_name = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM change_log")
    finally:
        conn.close()


def test_every_record_has_one_insert_in_the_change_log(real_store):
    log = real_store.read_table("change_log")
    inserts = log[log.action == "insert"]
    total = sum(len(real_store.read_layer(layer)) for layer in LAYERS)
    assert len(inserts) == total
    assert inserts.record_uuid.is_unique


def test_spatial_index_is_filled(real_store):
    if on_postgis(real_store):
        import psycopg

        with psycopg.connect(real_store.location) as conn:
            plan = "\n".join(r[0] for r in conn.execute(
                "EXPLAIN SELECT count(*) FROM hazards WHERE geom && "
                "ST_MakeEnvelope(18, 44, 18.1, 44.1, 4326)"))
            conn.execute("SET enable_seqscan = off")
            assert "ix_hazards_geom" in "\n".join(r[0] for r in conn.execute(
                "EXPLAIN SELECT count(*) FROM hazards WHERE geom && "
                "ST_MakeEnvelope(18, 44, 18.1, 44.1, 4326)")), plan
            kinds = dict(conn.execute(
                "SELECT f_table_name, type || ' ' || srid FROM geometry_columns"))
        assert kinds["hazards"] == "MULTIPOLYGON 4326" and kinds["events"] == "POINT 4326"
        return
    with sqlite3.connect(real_store.location) as conn:
        n_index = conn.execute("SELECT count(*) FROM rtree_hazards_geom").fetchone()[0]
        n_geom = conn.execute("SELECT count(*) FROM hazards WHERE geom IS NOT NULL").fetchone()[0]
    assert n_index == n_geom - 3  # the three empty geometries are not indexed


def test_uuids_do_not_depend_on_row_ids(real_store):
    hz = real_store.read_layer("hazards", "BIH")
    assert not set(hz["uuid"]) & {str(f) for f in hz["fid"]}
    # the same feature always has the same id (UUID 5 of file and feature)
    import uuid

    from mineledger.ledger.importer import NAMESPACE
    first = hz[hz.source_locator == "feature 1"].iloc[0]
    assert first.uuid == str(uuid.uuid5(NAMESPACE, "hazards|bih/suspect_areas_simplyfied.geojson|feature 1"))


@pytest.mark.parametrize("geom", [shapely.Point(1, 2), shapely.box(0, 0, 1, 1),
                                  shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]),
                                  shapely.Point(), shapely.MultiPolygon()])
def test_geometry_blob_round_trip(geom):
    blob = gpkg_geometry.encode(geom)
    assert blob[:2] == b"GP"
    back = gpkg_geometry.decode(blob)
    assert back.geom_type == geom.geom_type and back.is_empty == geom.is_empty
    if not geom.is_empty:
        assert back.equals(geom)
    assert gpkg_geometry.encode(None) is None


def test_not_a_store_is_refused(tmp_path):
    text = tmp_path / "notes.gpkg"
    text.write_text("hello")
    with pytest.raises(StoreError, match="not a GeoPackage/SQLite file"):
        open_store(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a mineledger store"):
        open_store(other)


def test_missing_store_is_not_created_for_reading(tmp_path):
    with pytest.raises(StoreError, match="no store here"):
        open_store(tmp_path / "absent.gpkg", create=False)
    assert not (tmp_path / "absent.gpkg").exists()



def _squares(tmp_path, n, *, empty_every=0, name="many.geojson"):
    """A GeoJSON of ``n`` small squares (every ``empty_every``-th without geometry)."""
    import json

    feats = []
    for i in range(n):
        x, y = 17 + (i % 50) * 0.01, 44 + (i // 50) * 0.01
        geom = None if empty_every and i % empty_every == 0 else {
            "type": "Polygon", "coordinates": [[[x, y], [x + 0.001, y], [x + 0.001, y + 0.002],
                                                [x, y + 0.002], [x, y]]]}
        feats.append({"type": "Feature", "properties": {"typeArea": "Suspected Minefield",
                                                        "fileId": f"F-{i}"},
                      "geometry": geom})
    (tmp_path / "SOURCES.md").touch()
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def _rtree_as_the_trigger_fills_it(conn, table):
    """The R-tree rows the GeoPackage insert trigger would have written for ``table``."""
    gpkg_geometry.register_sql_functions(conn)
    conn.execute("CREATE VIRTUAL TABLE temp.expected USING rtree(id, minx, maxx, miny, maxy)")
    conn.execute(f"INSERT INTO temp.expected SELECT fid, ST_MinX(geom), ST_MaxX(geom), "
                 f"ST_MinY(geom), ST_MaxY(geom) FROM {table} "
                 "WHERE geom NOT NULL AND NOT ST_IsEmpty(geom)")
    return conn.execute("SELECT * FROM temp.expected ORDER BY id").fetchall()


def test_bulk_insert_fills_the_rtree_as_the_trigger_would_and_puts_the_trigger_back(tmp_path):
    from mineledger import import_source
    from mineledger.store.geopackage import BULK_MIN

    path = tmp_path / "s.gpkg"
    with open_store(path) as store:  # 300 rows (bulk), 30 without geometry
        import_source(store, _squares(tmp_path, 300, empty_every=10), "bih-suspected-areas")
        import_source(store, _squares(tmp_path, 3, name="few.geojson"), "bih-suspected-areas")
    assert 300 >= BULK_MIN > 3  # the first import took the bulk path, the second the trigger
    with sqlite3.connect(path) as conn:
        held = conn.execute("SELECT * FROM rtree_hazards_geom ORDER BY id").fetchall()
        assert len(held) == 273 and held == _rtree_as_the_trigger_fills_it(conn, "hazards")
        triggers = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_%_insert'")}
        indexes = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%rtree%'")}
    assert "rtree_hazards_geom_insert" in triggers
    assert triggers == {f"{name}_insert" for name in indexes}  # every index has its trigger
    assert pyogrio.read_dataframe(path, layer="hazards", bbox=(17.0, 44.0, 17.0105, 44.0005)
                                  ).shape[0] == 3  # through the index: 17.01 (bulk), 17 and 17.01 (trigger)


def test_failed_bulk_insert_leaves_nothing_and_keeps_the_trigger(tmp_path):
    from mineledger import import_source

    path = tmp_path / "s.gpkg"
    with open_store(path) as store:
        import_source(store, _squares(tmp_path, 3, name="few.geojson"), "bih-suspected-areas")

        class Boom(Exception):
            pass

        import mineledger.ledger.importer as importer
        original = importer.lifecycle.apply_lineage

        def fail(*a, **k):
            raise Boom
        importer.lifecycle.apply_lineage = fail  # after the layer and the log are written
        try:
            with pytest.raises(Boom):
                import_source(store, _squares(tmp_path, 200), "bih-suspected-areas")
        finally:
            importer.lifecycle.apply_lineage = original
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM hazards").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM rtree_hazards_geom").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                            "AND name = 'rtree_hazards_geom_insert'").fetchone()[0] == 1
