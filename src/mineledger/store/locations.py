"""Where a store is: a GeoPackage path or a PostgreSQL URL, and how either is shown (never
with its password). Light to import: the command line reads it before anything else."""

from __future__ import annotations

import os
import re

#: The store used when neither ``--store`` nor ``MINELEDGER_STORE`` names one.
DEFAULT_STORE = "mineledger.gpkg"


def default_location() -> str:
    """``$MINELEDGER_STORE`` if set, else ``./mineledger.gpkg``."""
    return os.environ.get("MINELEDGER_STORE") or DEFAULT_STORE


def is_postgres_url(location: str) -> bool:
    """Whether ``location`` names a PostgreSQL store (``postgresql://…``, ``postgres://…``,
    ``postgresql+driver://…``)."""
    scheme = str(location).split(":", 1)[0].lower()
    return "://" in str(location) and scheme.split("+", 1)[0] in ("postgresql", "postgres")


_PASSWORDS = [
    (re.compile(r"((?:postgres|postgresql)(?:\+\w+)?://[^:/@\s]*:)[^@\s]*@", re.I), r"\1***@"),
    (re.compile(r"((?:^|[?&\s])password=)[^&\s]*", re.I), r"\1***"),
]


def hide_passwords(text: str) -> str:
    """``text`` with the password of every PostgreSQL URL in it (``user:PASSWORD@`` or
    ``?password=…``) replaced by ``***``.

    >>> hide_passwords("mineledger --store postgresql://ada:s3cret@db/x?password=s3cret import f")
    'mineledger --store postgresql://ada:***@db/x?password=*** import f'
    """
    for pattern, repl in _PASSWORDS:
        text = pattern.sub(repl, text)
    return text


