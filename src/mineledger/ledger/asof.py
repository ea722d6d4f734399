"""Figures as the store stood: ``--as-of`` an instant and ``--information-as-of`` a date
(README, "History, as-of figures").

A session over a :class:`~mineledger.store.snapshot.Snapshot` answers every read as of its
bounds, so every figure — summary, land release ledger, quality checks, reports — can be
computed for the past with no code of its own; each says the instant it stands for
(:func:`computed_as_of`), and ``--as-of`` that instant gives the same numbers again.
"""

from __future__ import annotations

import datetime as dt

from mineledger.access import Session
from mineledger.errors import QueryError
from mineledger.store.snapshot import instant_text, view_as_of

__all__ = ["as_of", "computed_as_of", "instant_text", "require_country"]


def as_of(session: Session, at: str | dt.datetime | None = None,
          information_as_of: str | dt.date | None = None) -> Session:
    """``session`` itself if neither bound is given, else the same actor on a view of the
    store as it stood (:func:`mineledger.store.snapshot.view_as_of`: the bounds, and the
    errors raised)."""
    if at is None and information_as_of is None:
        return session
    return session.with_store(view_as_of(session.store, at, information_as_of))


def require_country(session: Session, country: str) -> None:
    """Raise :class:`QueryError` unless the store (as of its instant, for a past view) holds
    records of ``country``; the message names the countries it does hold, and the instant.

    Raises
    ------
    QueryError
        ``the store holds no records for country 'BIH' (it has: COL)``, or for a view of the
        past ``the store held no records for country 'BIH' as of 2020-01-01T23:59:59.999Z
        (it had: COL)``.
    """
    known = session.countries()
    if country in known:
        return
    listed = ", ".join(known) or "none"
    if session.read_only:
        when = " ".join(w for w in (
            f"as of {instant_text(session.at)}" if session.at is not None else "",
            f"with information as of {session.information_as_of.isoformat()}"
            if session.information_as_of is not None else "") if w)
        raise QueryError(f"the store held no records for country {country!r} {when} "
                         f"(it had: {listed})")
    raise QueryError(f"the store holds no records for country {country!r} (it has: {listed})")


def computed_as_of(session: Session) -> dt.datetime:
    """The instant a result computed now reflects: the bound of a past view, else the time of
    the store's last change (so that ``--as-of`` that instant gives the same numbers)."""
    if session.at is not None:
        return session.at
    return session.last_commit() or dt.datetime.now(dt.timezone.utc)
