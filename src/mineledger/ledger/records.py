"""Reading records a page at a time, as the acting user may (the query an HTTP interface and
OGC API Features stand on; the filtering runs in the database, :meth:`Store.query`)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from mineledger.access import Action, Session
from mineledger.access.users import operator_sees_only_own
from mineledger.model.codes import checked_country
from mineledger.store.base import PagedResult


def query_records(session: Session, layer: str, *, country: str | None = None,
                  bbox: Sequence[float] | None = None,
                  filters: Mapping[str, Any] | None = None, limit: int = 100,
                  offset: int = 0) -> PagedResult:
    """One page of a layer's records that the acting user may read, and how many match.

    Parameters are those of :meth:`mineledger.store.base.Store.query`; ``country`` defaults
    to the acting user's own. An operator whose country reads ``own`` sees only its
    organisation's records (the filter runs in the database too). Victims' personal data is
    never in a layer, so never in a page.

    Raises
    ------
    QueryError
        An unknown layer or field, a bad bounding box, limit or offset.
    PermissionDenied
        The acting user may not read records (of that country).
    """
    actor = session.actor
    country = checked_country(country) if country else actor.country
    session.require(Action.READ, country=country)
    filters = dict(filters or {})
    if operator_sees_only_own(session, actor, country):
        filters["organisation"] = [actor.organisation]
    return session.query(layer, country=country, bbox=bbox, filters=filters, limit=limit,
                         offset=offset)
