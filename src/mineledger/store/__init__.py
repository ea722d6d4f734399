"""The store layer: one interface (:class:`Store`), one back end per kind of location.

>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as d:
...     with open_store(os.path.join(d, "x.gpkg")) as store:
...         store.countries()
[]
"""

from __future__ import annotations

import os
from pathlib import Path

from mineledger.store.base import Store, Writer

#: The store used when neither ``--store`` nor ``MINELEDGER_STORE`` names one.
DEFAULT_STORE = "mineledger.gpkg"


def default_location() -> str:
    """``$MINELEDGER_STORE`` if set, else ``./mineledger.gpkg``."""
    return os.environ.get("MINELEDGER_STORE") or DEFAULT_STORE


def open_store(location: str | Path | None = None, *, create: bool = True,
               user: str | None = None, check_schema: bool = True) -> Store:
    """Open the store at ``location``: a GeoPackage file path, or a PostgreSQL/PostGIS URL
    (``postgresql://user@host:5432/database``).

    Parameters
    ----------
    location : str or Path, optional
        Defaults to :func:`default_location`.
    create : bool
        Create an empty store if the file does not exist (or the database is empty); if
        false, a missing store raises :class:`StoreError`.
    user : str, optional
        Who acts (their role is in the store's users table; see
        :mod:`mineledger.access.roles`). Default ``$MINELEDGER_USER``, else the login name.
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
    from mineledger.store.postgis import is_postgres_url

    if is_postgres_url(location):
        from mineledger.store.postgis import PostGISStore

        store: Store = PostGISStore(location, create=create, check_schema=check_schema)
    elif "://" in location:
        from mineledger.errors import StoreError
        from mineledger.store.postgis import hide_passwords

        raise StoreError(f"{hide_passwords(location)}: not a store location mineledger knows; "
                         "expected a .gpkg file path or postgresql://user@host:5432/database")
    else:
        from mineledger.store.geopackage import GeoPackageStore

        store = GeoPackageStore(location, create=create, check_schema=check_schema)
    store.user_name = user
    return store


__all__ = ["DEFAULT_STORE", "Store", "Writer", "default_location", "open_store"]
