"""The store layer: one interface (:class:`Store`), one back end per kind of location, and
everything that touches SQLite or PostgreSQL directly — the as-of view (:mod:`.snapshot`),
backup and restore (:mod:`.backup`), copying a store between back ends (:mod:`.copy`) and
schema revisions (:mod:`.revisions`).

>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as d:
...     with connect(os.path.join(d, "x.gpkg")) as store:
...         store.countries()
[]

The names below are loaded on first use (PEP 562), so that reading a location
(:mod:`.locations`) — what the command line does before anything else — does not load the
database drivers.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from mineledger.errors import StoreError
from mineledger.store.locations import (DEFAULT_STORE, default_location, hide_passwords,
                                        is_postgres_url)

if TYPE_CHECKING:
    from mineledger.store.base import PagedResult, Store, Writer

_LAZY = {"PagedResult": "mineledger.store.base", "Store": "mineledger.store.base",
         "Writer": "mineledger.store.base", "GeoPackageStore": "mineledger.store.geopackage",
         "PostGISStore": "mineledger.store.postgis"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def connect(location: str | Path | None = None, *, create: bool = True,
            check_schema: bool = True) -> "Store":
    """Open the store at ``location``: a GeoPackage file path, or a PostgreSQL/PostGIS URL
    (``postgresql://user@host:5432/database``). The store holds no acting user; see
    :func:`mineledger.open_store` for a session that does.

    Parameters
    ----------
    location : str or Path, optional
        Defaults to :func:`default_location`.
    create : bool
        Create an empty store if the file does not exist (or the database is empty); if
        false, a missing store raises :class:`~mineledger.errors.StoreError`.
    check_schema : bool
        Refuse a store whose schema is at an older revision (``mineledger db upgrade``
        opens it with false, to upgrade it).

    Raises
    ------
    StoreError
        The location is not a mineledger store, cannot be reached or created, or its schema
        is older than this mineledger's (run ``mineledger db upgrade``).
    """
    location = str(location or default_location())
    if is_postgres_url(location):
        return __getattr__("PostGISStore")(location, create=create, check_schema=check_schema)
    if "://" in location:
        raise StoreError(f"{hide_passwords(location)}: not a store location mineledger knows; "
                         "expected a .gpkg file path or postgresql://user@host:5432/database")
    return __getattr__("GeoPackageStore")(location, create=create, check_schema=check_schema)


__all__ = ["DEFAULT_STORE", "PagedResult", "Store", "Writer", "connect", "default_location",
           "hide_passwords", "is_postgres_url"]
