"""Alembic migrations of the store schema, one history for both back ends.

A new store is built whole from :mod:`mineledger.store.schema` and stamped at the head
revision (Alembic's "building an up-to-date database from scratch"); an existing store is
brought forward by ``mineledger db upgrade``, which runs the revisions in ``versions/``.
Revisions are written by hand: autogenerate would try to drop the GeoPackage (``gpkg_*``,
``rtree_*``) and PostGIS (``spatial_ref_sys``) tables, which ``env.py`` filters out for anyone
who runs ``alembic revision --autogenerate`` to draft one.
"""
