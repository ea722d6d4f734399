"""mineledger: one trustworthy ledger for humanitarian mine action.

The Python API that the ``mineledger`` command wraps:

>>> import mineledger
>>> sorted(mineledger.builtin_profiles())[:2]
['aicma-events', 'aicma-victims']

- :func:`open_store` opens (or creates) a store: a GeoPackage file.
- :func:`import_source` imports a file or folder with a profile, in one transaction.
- :func:`summary` computes a country's headline figures.
- :func:`write_report` writes a self-contained HTML report with CSV tables.
"""

from mineledger.errors import (
    MineledgerError,
    ProfileError,
    QueryError,
    SourceError,
    StoreError,
    StrictImportError,
)
from mineledger.io.profiles import builtin_profiles, load_profile
from mineledger.ledger.importer import ImportReport, import_source
from mineledger.land.summary import summary
from mineledger.store import Store, open_store

__version__ = "0.1.0"


def write_report(store, country, out_dir):
    """Write the HTML report of ``country`` into ``out_dir``; see :mod:`mineledger.report`."""
    from mineledger.report import write_report as _write

    return _write(store, country, out_dir)


__all__ = [
    "ImportReport",
    "MineledgerError",
    "ProfileError",
    "QueryError",
    "SourceError",
    "Store",
    "StoreError",
    "StrictImportError",
    "builtin_profiles",
    "import_source",
    "load_profile",
    "open_store",
    "summary",
    "write_report",
]
