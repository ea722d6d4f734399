"""Alembic environment: runs on the connection that :func:`mineledger.store.revisions.upgrade`
passes in ``config.attributes["connection"]`` (inside the store's write transaction)."""

from __future__ import annotations

from alembic import context

from mineledger.store.schema import metadata

#: Tables that belong to GeoPackage, its R-tree indexes or PostGIS, never to mineledger.
_FOREIGN_PREFIXES = ("gpkg_", "rtree_", "spatial_ref_sys", "sqlite_")


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name and name.startswith(_FOREIGN_PREFIXES):
        return False
    return True


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `mineledger db upgrade`, which passes the "
                           "store's connection")
    context.configure(connection=connection, target_metadata=metadata,
                      include_object=include_object, render_as_batch=False,
                      transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "config", None) is not None:  # run by Alembic (not imported by a collector)
    run_migrations()
