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

from mineledger.errors import StoreError
from mineledger.store.base import Store, Writer

#: The store used when neither ``--store`` nor ``MINELEDGER_STORE`` names one.
DEFAULT_STORE = "mineledger.gpkg"


def default_location() -> str:
    """``$MINELEDGER_STORE`` if set, else ``./mineledger.gpkg``."""
    return os.environ.get("MINELEDGER_STORE") or DEFAULT_STORE


def open_store(location: str | Path | None = None, *, create: bool = True,
               user: str | None = None) -> Store:
    """Open the store at ``location`` (a file path; a ``postgresql://`` URL later).

    Parameters
    ----------
    location : str or Path, optional
        Defaults to :func:`default_location`.
    create : bool
        Create an empty GeoPackage store if the file does not exist; if false, a missing
        file raises :class:`StoreError`.
    user : str, optional
        Who acts (their role is in the store's users table; see
        :mod:`mineledger.services.access`). Default ``$MINELEDGER_USER``, else the login name.

    Raises
    ------
    StoreError
        The location is not a mineledger store, cannot be created, or names a back end that
        this version does not have.
    """
    location = str(location or default_location())
    if location.startswith(("postgresql:", "postgres:")):
        raise StoreError("the PostgreSQL/PostGIS back end is not available in this version; "
                         "use a .gpkg file path")
    from mineledger.store.geopackage import GeoPackageStore

    store = GeoPackageStore(location, create=create)
    store.user_name = user
    return store


__all__ = ["DEFAULT_STORE", "Store", "Writer", "default_location", "open_store"]
