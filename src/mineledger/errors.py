"""The typed errors of mineledger.

Every error a user can cause derives from :class:`MineledgerError`; the CLI prints its
message and exits with status 2, never a traceback. Messages name the file, the row or
feature, the field and what was expected, so that a person can act on them.
"""

from __future__ import annotations


class MineledgerError(Exception):
    """Base class of every error mineledger raises on purpose."""


class ProfileError(MineledgerError):
    """An import profile is missing, malformed, or does not fit the source it is applied to."""


class SourceError(MineledgerError):
    """A source file cannot be read (missing, unreadable, wrong format or encoding)."""


class StoreError(MineledgerError):
    """The store cannot be opened, is not a mineledger store, or a write was refused."""


class StrictImportError(MineledgerError):
    """``--strict`` was given and rows went to quarantine; nothing was written."""


class QueryError(MineledgerError):
    """A query asks for something the store does not hold (an unknown country, level …)."""
