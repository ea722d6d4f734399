"""Headline figures of a country: hazards, cleared land, victims, events, quarantine.

All areas are m² on the WGS 84 ellipsoid (:mod:`mineledger.geo.area`); ``distinct`` areas
count overlapping polygons once. Undated records are counted under ``"unknown"``, never
under the year they were imported.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from mineledger.access import Action, Session
from mineledger.land import figures
from mineledger.land.admin_areas import (AreaRow, CountRow, area_by_admin, count_by_admin,
                                         finest_level, land_rows)
from mineledger.land.engine import AdminLevel, LandClusters, clip, m2_of, measure, table
from mineledger.land.landrelease import TOTAL, LandRelease, ledger_row, usable
from mineledger.ledger.asof import computed_as_of, instant_text, require_country
from mineledger.ledger.selection import Selection, area_and_within
from mineledger.model.codes import checked_country
from mineledger.model.results import Result, json_as
from mineledger.model.vocab import EventType, GeometryStatus

UNKNOWN = "unknown"


@dataclass(frozen=True, eq=False)
class PolygonFigures(Result):
    """The records of hazardous or cleared areas: counts, flags and their land, m² (README,
    "Figures"). The land of every hazard record, closed or not, is not what is still
    suspected: that is the ledger's ``remaining_m2`` (:class:`Summary`.land_release)."""

    count: int
    without_geometry: int
    invalid_repaired: int
    invalid_unrepairable: int
    #: the sum of the records' areas (overlaps counted as often as they are recorded)
    area_m2: float
    #: the union, measured as the sum of its partition by administrative area, so that the
    #: rows add up exactly; it equals the geodesic area of the union to about 1e-6
    distinct_area_m2: float
    by_admin: list[AreaRow]


#: Where the figures of victims come from.
VICTIM_RECORDS, EVENT_COUNTS, NO_SOURCE = "victim records", "event counts", "none"


@dataclass(frozen=True, eq=False)
class VictimFigures(Result):
    """Casualties (IMAS 10.60): from the victim records (one per person) where the country
    has any, else from the counts of killed and injured its events carry — never both for the
    same people; ``source`` says which. Event counts say nothing of civilians or minors
    (``None``)."""

    count: int
    killed: int
    injured: int
    outcome_unknown: int
    civilian: int | None
    minors: int | None
    by_year: dict[str, int]
    by_admin: list[CountRow]
    without_geometry: int
    unusable_geometry: int
    source: str


@dataclass(frozen=True, eq=False)
class EventLinks(Result):
    """Events by the area they are linked to (``mineledger link``)."""

    in_hazard: int
    in_cleared: int
    near: int
    unlinked: int


@dataclass(frozen=True, eq=False)
class EventFigures(Result):
    """Explosive-ordnance events."""

    count: int
    by_type: dict[str, int]
    by_year: dict[str, int]
    by_admin: list[CountRow]
    without_geometry: int
    unusable_geometry: int
    linked: EventLinks


@dataclass(frozen=True, eq=False)
class QuarantineFigures(Result):
    count: int
    resolved: int


@dataclass(frozen=True, eq=False)
class AdminFigures(Result):
    """The administrative areas: the finest level (the one the figures are split by)."""

    level: int | None
    areas: int
    levels: dict[str, int]


@dataclass(frozen=True, eq=False)
class SummaryMeta(Result):
    """When and from what the figures were computed; ``--as-of as_of`` gives them again."""

    computed_at: dt.datetime = field(metadata=json_as(lambda t: t.isoformat(timespec="seconds")))
    as_of: dt.datetime = field(metadata=json_as(instant_text))
    information_as_of: dt.date | None = field(metadata=json_as(dt.date.isoformat))
    store: str
    units: dict[str, str]
    #: the records the figures are about (``--from``, ``--to``, ``--admin``, ``--type``,
    #: ``--category``), as asked; empty for all
    selection: dict[str, object] = field(default_factory=dict)
    #: what the selection left out (undated records, figures it cannot apply to)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Summary(Result):
    """The headline figures of one country (:func:`summary`); ``to_dict()`` is the JSON
    ``mineledger summary --format json`` prints."""

    country: str
    #: None where the selection cannot apply to land (an event type)
    hazards: PolygonFigures | None
    cleared: PolygonFigures | None
    #: the land release ledger's total row (IMAS 07.11): recorded, released by outcome,
    #: remaining (still suspected) and both, m² — the figures of ``mineledger landrelease``
    land_release: LandRelease | None
    victims: VictimFigures
    events: EventFigures
    quarantine: QuarantineFigures
    admin: AdminFigures
    meta: SummaryMeta


def _without_geometry(gdf) -> int:
    """Records whose source gave no geometry (missing) or an empty one."""
    return int(gdf["geometry_status"].isin([GeometryStatus.MISSING, GeometryStatus.EMPTY]).sum())


def _unusable(gdf) -> int:
    """Records whose source geometry could not be used (invalid beyond repair, unparseable)."""
    return int(gdf["geometry_status"].isin([GeometryStatus.UNREPAIRABLE,
                                            GeometryStatus.UNPARSEABLE]).sum())


def record_counts(gdf) -> dict[str, int | float]:
    """What :class:`PolygonFigures` counts of a layer's records (``geometry_status`` and
    ``area_m2`` read): ``count``, ``without_geometry``, ``invalid_repaired``,
    ``invalid_unrepairable``, and ``area_m2``, the sum of the records' own areas (m²)."""
    return {"count": int(len(gdf)), "without_geometry": _without_geometry(gdf),
            "invalid_repaired": int((gdf["geometry_status"] == GeometryStatus.REPAIRED).sum()),
            "invalid_unrepairable": _unusable(gdf),
            "area_m2": float(pd.to_numeric(gdf["area_m2"], errors="coerce").fillna(0.0).sum())}


def _polygon_figures(layer, gdf, admin, within: set[str] | None, land: LandClusters,
                     prepared: Callable[[], AdminLevel]) -> PolygonFigures:
    by_admin = record_land(land, layer, gdf, admin, prepared)
    if within is not None:  # the land inside the area: its rows (and those of areas within)
        by_admin = [r for r in by_admin if r.code in within]
    return PolygonFigures(**record_counts(gdf),
                          distinct_area_m2=float(math.fsum(r.area_m2 for r in by_admin)),
                          by_admin=by_admin)


def record_land(land: LandClusters, layer: str, records, admin,
                prepared: Callable[[], AdminLevel]) -> list[AreaRow]:
    """The distinct land of a layer's records (``hazards`` or ``cleared_areas``) by the areas
    of one level (:func:`mineledger.land.admin_areas.area_by_admin`'s rows and rule): by
    location, cluster by cluster (:class:`LandClusters`), unless records carry an area code
    (``admin_code``), which then counts first.

    Parameters
    ----------
    land : LandClusters
        Prepared from the records.
    layer : str
    records, admin : GeoDataFrame
        The layer's records and the areas of the level.
    prepared : callable
        Gives the level's :class:`AdminLevel` (built once, when first needed).
    """
    if not len(admin) or ("admin_code" in records and records["admin_code"].notna().any()):
        return area_by_admin(records, admin)  # records with a code count there first
    return _record_land(land, "hazard_records" if layer == "hazards" else "outcome_records",
                        prepared())


def _record_land(land: LandClusters, which: str, level: AdminLevel) -> list[AreaRow]:
    """The distinct land of the records (``hazard_records`` or ``outcome_records``) by the
    areas of ``level``: rows of the areas with land, sorted by code, then ``unassigned``."""
    sets = [s for s in land.record_sets() if s[0] == which]
    cells = measure(sets, 1, [level])
    return land_rows(m2_of(cells[cells["level"] == level.level].groupby("code")["mm2"].sum()),
                     level.names)


def _by_year(values: pd.Series, weights=None) -> dict[str, int]:
    years = values.astype("Int64")
    weights = pd.Series(1 if weights is None else weights, index=values.index).fillna(0)
    counts = weights.groupby(years).sum()
    out = {str(int(y)): int(n) for y, n in sorted(counts.items()) if int(n)}
    unknown = int(weights[years.isna()].sum())
    if unknown:
        out[UNKNOWN] = unknown
    return out


def _victim_figures(victims, admin, located) -> VictimFigures:
    outcome = victims["outcome"]
    return VictimFigures(
        count=int(len(victims)),
        killed=int((outcome == "killed").sum()),
        injured=int((outcome == "injured").sum()),
        outcome_unknown=int((~outcome.isin(["killed", "injured"])).sum()),
        civilian=int((victims["civilian"] == True).sum()),  # noqa: E712 (nullable)
        minors=int((victims["age_group"] == "minor").sum()),
        by_year=_by_year(victims["year"]),
        by_admin=count_by_admin(victims, admin, "admin2_name", located) if len(victims) else [],
        without_geometry=_without_geometry(victims),
        unusable_geometry=_unusable(victims),
        source=VICTIM_RECORDS,
    )


def _casualties_of_events(events, admin, located) -> VictimFigures:
    """Casualties counted from the events' own figures (killed, injured, outcome unknown)."""
    def column(name):
        return pd.to_numeric(events[name], errors="coerce").fillna(0).astype(int) \
            if name in events else pd.Series(0, index=events.index)

    killed, injured, unknown = column("killed"), column("injured"), column("outcome_unknown")
    hurt = killed + injured + unknown
    counted = pd.Series(False, index=events.index)
    for name in ("killed", "injured", "outcome_unknown"):  # a count given, even of zero
        if name in events:
            counted |= events[name].notna()
    rows = count_by_admin(events, admin, located=located, weights=hurt) if len(events) else []
    return VictimFigures(
        count=int(hurt.sum()), killed=int(killed.sum()), injured=int(injured.sum()),
        outcome_unknown=int(unknown.sum()), civilian=None, minors=None,
        by_year=_by_year(events["year"], hurt), by_admin=rows,
        without_geometry=int(hurt[events["geometry_status"].isin(
            [GeometryStatus.MISSING, GeometryStatus.EMPTY])].sum()) if len(events) else 0,
        unusable_geometry=int(hurt[events["geometry_status"].isin(
            [GeometryStatus.UNREPAIRABLE, GeometryStatus.UNPARSEABLE])].sum()) if len(events) else 0,
        source=EVENT_COUNTS if bool(counted.any()) else NO_SOURCE)


def _event_figures(events, admin, located) -> EventFigures:
    types = events["event_type"].value_counts()
    inside = events["link_distance_m"] == 0
    return EventFigures(
        count=int(len(events)),
        by_type={t.value: int(types.get(t.value, 0)) for t in EventType if types.get(t.value, 0)},
        by_year=_by_year(events["year"]),
        by_admin=count_by_admin(events, admin, located=located) if len(events) else [],
        without_geometry=_without_geometry(events),
        unusable_geometry=_unusable(events),
        linked=EventLinks(
            in_hazard=int(((events["link_layer"] == "hazards") & inside).sum()),
            in_cleared=int(((events["link_layer"] == "cleared_areas") & inside).sum()),
            near=int((events["link_distance_m"] > 0).sum()),
            unlinked=int(events["link_layer"].isna().sum()),
        ),
    )


def _land(session, country, level, admin, admin_all, selection, land=None):
    """(hazards, cleared, land release) figures of the selected land; None each where the
    selection cannot apply to land (an event type)."""
    if not selection.applies_to("hazards"):
        selection.notes.append("hazardous and cleared areas carry no event type: no land "
                               "figures for --type")
        return None, None, None
    hazards = selection.select("hazards", session.read_layer("hazards", country), admin_all)
    cleared = selection.select("cleared_areas", session.read_layer("cleared_areas", country),
                               admin_all)
    if land is None:
        land = LandClusters(usable(hazards), usable(cleared))
    sets = land.sets()
    prepared = functools.cache(lambda: AdminLevel(level, admin))
    within = None
    if selection.admin:
        sets = clip(sets, selection.area_shape(admin_all))
        within = area_and_within(admin_all, selection.admin)
    total = table(measure(sets, 1), by=("level",))
    return (_polygon_figures("hazards", hazards, admin, within, land, prepared),
            _polygon_figures("cleared_areas", cleared, admin, within, land, prepared),
            ledger_row(TOTAL, None, total.loc[0] if 0 in total.index else {}).totals())


def _victims(session, country, admin, admin_all, events, selection, located) -> VictimFigures:
    """The victim records where the country has any and the selection applies to them, else
    the casualties the selected events count."""
    victims = session.read_layer("victims", country)
    if len(victims) and selection.applies_to("victims"):
        return _victim_figures(selection.select("victims", victims, admin_all), admin,
                               located("victims"))
    if len(victims):
        selection.notes.append("victim records carry no event type or EO category: casualties "
                               "are those the selected events count")
    return _casualties_of_events(events, admin, located("events"))


def point_figures(events, victims, admin, located=None) -> tuple[VictimFigures, EventFigures]:
    """Casualties and events of all a country's records (no selection): from its victim
    records if it has any, else from its events' counts; ``admin`` the areas of the finest
    level; ``located(layer)`` the store's areas of uncoded points, if it finds them."""
    located = located or (lambda layer: None)
    victim_figures = _victim_figures(victims, admin, located("victims")) if len(victims) else \
        _casualties_of_events(events, admin, located("events"))
    return victim_figures, _event_figures(events, admin, located("events"))


def from_figures(session: Session, country: str,
                 land: figures.StoredLand | None) -> Summary | None:
    """The summary of all the country's records from the figures kept for it
    (:func:`mineledger.land.figures.stored_land`); None where they cannot give it (none
    kept, a view of the past, records carrying an area code, no administrative areas)."""
    if land is None or land.level is None or land.coded():
        return None
    counts, admin = land.counts, land.counts["admin"]

    def polygons(key, which):
        c = {k: v for k, v in counts[key].items() if k != "coded"}
        rows, distinct = land.record_rows(which)
        return PolygonFigures(**c, distinct_area_m2=distinct, by_admin=rows)

    v, e = counts["victims"], counts["events"]
    quarantine = session.read_table("quarantine", country)
    return Summary(
        country=country, hazards=polygons("hazards", "hazard_records"),
        cleared=polygons("cleared", "outcome_records"), land_release=land.ledger_total(),
        victims=VictimFigures(**{**v, "by_admin": figures.count_rows(v["by_admin"])}),
        events=EventFigures(**{**e, "by_admin": figures.count_rows(e["by_admin"]),
                               # in the order of the types, as computed (JSON sorted them)
                               "by_type": {t.value: e["by_type"][t.value] for t in EventType
                                           if t.value in e["by_type"]},
                               "linked": EventLinks(**e["linked"])}),
        quarantine=QuarantineFigures(count=int((quarantine["status"] == "open").sum()),
                                     resolved=int((quarantine["status"] == "resolved").sum())),
        admin=AdminFigures(level=admin["level"], areas=admin["areas"], levels=admin["levels"]),
        meta=_meta(session, Selection()))


def _meta(session: Session, selection: Selection) -> SummaryMeta:
    return SummaryMeta(
        computed_at=dt.datetime.now(dt.timezone.utc),
        # the figures are those of the store at this instant: `--as-of` it to reproduce them
        as_of=computed_as_of(session),
        information_as_of=session.information_as_of,
        store=session.location,
        units={"area": "m2 (geodesic, WGS 84)"},
        selection=selection.describe(),
        notes=list(selection.notes),
    )


def summary(session: Session, country: str, selection: Selection | None = None, *,
            land: LandClusters | None = None, stored: bool = True) -> Summary:
    """The headline figures of one country, of all its records or of a selection.

    Parameters
    ----------
    session : Session
        The store (or a view of it as of a past instant), and who acts (anyone who may read
        figures of that country).
    country : str
        ISO 3166-1 alpha-3 code.
    selection : Selection, optional
        A window of dates, an administrative area, event types, EO categories
        (:class:`mineledger.ledger.selection.Selection`); each applies to the records that
        carry it, and ``meta.notes`` says what it could not apply to.
    land : LandClusters, optional
        The land of all the country's hazards and outcomes with a geometry, already prepared
        (the report shares it with its tables and maps); only without a selection.
    stored : bool
        Read the figures kept at each commit (:mod:`mineledger.land.figures`) where they
        can give the summary (all the records, the store as it is now); false computes them
        from the records (the same figures, to the last digit).

    Returns
    -------
    Summary
        Hazards, cleared land, the land release ledger's total, casualties (from victim
        records, else from event counts: ``victims.source``), events, quarantine, the
        administrative areas and when the figures stand for; areas in m² (README, "Figures").

    Raises
    ------
    QueryError
        Not a country code, the store holds no record of that country, or a selection that
        does not parse (an unknown area, type or category).
    PermissionDenied
        The acting user may not read that country's figures.
    """
    country = checked_country(country)
    session.require(Action.AGGREGATE, country=country)
    require_country(session, country)
    selection = selection or Selection()
    if land is not None and not selection.empty:
        raise ValueError("summary: land prepared beforehand is of all the records; "
                         "a selection computes its own")
    if stored and selection.empty:  # (prepared land is of all the records too)
        kept = from_figures(session, country, figures.stored_land(session, country))
        if kept is not None:
            return kept
    admin_all = session.read_layer("admin_areas", country)
    level = finest_level(admin_all)
    admin = admin_all[admin_all["level"] == level] if level is not None else admin_all
    quarantine = session.read_table("quarantine", country)

    def located(layer):
        return session.admin_of_points(layer, country, level) if level is not None else None

    events = selection.select("events", session.read_layer("events", country), admin_all) \
        if selection.applies_to("events") else session.read_layer("events", country).iloc[0:0]
    hazards, cleared, released = _land(session, country, level, admin, admin_all, selection,
                                       land)
    return Summary(
        country=country, hazards=hazards, cleared=cleared, land_release=released,
        victims=_victims(session, country, admin, admin_all, events, selection, located),
        events=_event_figures(events, admin, located("events")),
        quarantine=QuarantineFigures(count=int((quarantine["status"] == "open").sum()),
                                     resolved=int((quarantine["status"] == "resolved").sum())),
        admin=AdminFigures(level=level, areas=int(len(admin)), levels={
            str(int(k)): int(v) for k, v in admin_all["level"].value_counts().sort_index().items()}),
        meta=_meta(session, selection),
    )
