"""mineledger: one trustworthy ledger for humanitarian mine action.

The Python API that the ``mineledger`` command wraps (docs/architecture.md draws the map):

>>> import mineledger
>>> sorted(mineledger.builtin_profiles())[:2]
['aicma-events', 'aicma-victims']

- :func:`open_store` opens (or creates) a store — a GeoPackage file or a PostgreSQL/PostGIS
  database — for the user who acts: a :class:`Session`. An HTTP server opens the store once
  (:func:`connect`) and a ``Session(store, user)`` per request.
- :func:`import_source` imports a file or folder with a profile, in one transaction.
- :func:`summary` computes a country's headline figures
  (:func:`mineledger.land.landrelease.ledger`, its land release ledger).
- :func:`write_report` writes a self-contained HTML report with CSV tables.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mineledger.errors import (
    MineledgerError,
    PermissionDenied,
    ProfileError,
    QueryError,
    SourceError,
    StoreError,
    StrictImportError,
)

if TYPE_CHECKING:
    from mineledger.access import Session, open_store
    from mineledger.io.profiles import builtin_profiles, load_profile
    from mineledger.land.summary import summary
    from mineledger.ledger.importer import ImportReport, import_source
    from mineledger.report import write_report
    from mineledger.store import Store, connect

#: Where each name of the API lives; loaded on first use (PEP 562), so that the command
#: line, which imports this package first, starts without loading every domain.
_API = {"Session": "mineledger.access", "open_store": "mineledger.access",
        "builtin_profiles": "mineledger.io.profiles", "load_profile": "mineledger.io.profiles",
        "summary": "mineledger.land.summary",
        "ImportReport": "mineledger.ledger.importer",
        "import_source": "mineledger.ledger.importer", "write_report": "mineledger.report",
        "Store": "mineledger.store", "connect": "mineledger.store"}


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


__version__ = "0.1.0"

__all__ = [
    "ImportReport",
    "MineledgerError",
    "PermissionDenied",
    "ProfileError",
    "QueryError",
    "Session",
    "SourceError",
    "Store",
    "StoreError",
    "StrictImportError",
    "builtin_profiles",
    "connect",
    "import_source",
    "load_profile",
    "open_store",
    "summary",
    "write_report",
]
