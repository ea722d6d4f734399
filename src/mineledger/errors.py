"""The typed errors of mineledger.

Every error a user can cause derives from :class:`MineledgerError`; the CLI prints its
message and exits with status 2, never a traceback. Messages name the file, the row or
feature, the field and what was expected, so that a person can act on them. Each class
carries the HTTP status an HTTP interface answers it with (``http_status``), so a second
interface needs no table of its own.

>>> PermissionDenied.http_status, QueryError.http_status, StoreError.http_status
(403, 400, 503)
"""

from __future__ import annotations


class MineledgerError(Exception):
    """Base class of every error mineledger raises on purpose."""

    http_status = 400


class ProfileError(MineledgerError):
    """An import profile is missing, malformed, or does not fit the source it is applied to."""

    http_status = 422


class RuleSetError(MineledgerError):
    """A quantity-distance rule set file is missing, not YAML, or not of the form (the
    message names the field and what was expected)."""

    http_status = 422


class SourceError(MineledgerError):
    """A source file cannot be read (missing, unreadable, wrong format or encoding)."""

    http_status = 422


class StoreError(MineledgerError):
    """The store cannot be opened, is not a mineledger store, or a write was refused."""

    http_status = 503


class StrictImportError(MineledgerError):
    """``--strict`` was given and rows went to quarantine; nothing was written."""

    http_status = 422


class QueryError(MineledgerError):
    """A query asks for something the store does not hold (an unknown country, level …)."""

    http_status = 400


class BalanceError(MineledgerError):
    """A movement would make a stockpile balance negative, at its date or later (the message
    names the lot, building, date, balance and shortfall); nothing was recorded."""

    http_status = 409


class PermissionDenied(MineledgerError):
    """The acting user's role does not allow the action (the message names both)."""

    http_status = 403
