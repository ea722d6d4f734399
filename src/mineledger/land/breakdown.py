"""Events and casualties broken down by year, administrative area, event type or EO category
— one grouping or two at once (``mineledger summary --by admin1 --by year``; README,
"Figures"): the questions an officer asks without scripting ("victims in 2005 by civilian
and minor status", "AP-mine accidents per department in 2000–2010").

Casualties come from the victim records (one per person) where the country has any and the
grouping and selection apply to them, else from the counts of killed and injured the events
carry — never both for the same people; each row says which (``source``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from mineledger.access import Action, Session
from mineledger.errors import QueryError
from mineledger.ledger.asof import require_country
from mineledger.ledger.selection import Selection
from mineledger.model.codes import checked_country
from mineledger.model.results import Row, rank

#: The groupings of a breakdown.
GROUPINGS = ("year", "admin1", "admin2", "admin3", "type", "category")
UNKNOWN = "unknown"
UNASSIGNED = "unassigned"
TOTAL = "total"
#: The columns of a breakdown row, in order (counts of events, of people).
COUNTS = ("events", "killed", "injured", "outcome_unknown", "casualties", "civilian",
          "military", "minors", "female", "male")


@dataclass(frozen=True, eq=False)
class BreakdownRow(Row):
    """One group: its key (or two), the events in it and the people they hurt. ``civilian``
    … ``male`` are ``None`` where casualties come from event counts, which do not say."""

    codes: tuple[str, ...]
    names: tuple[str | None, ...]
    events: int
    killed: int
    injured: int
    outcome_unknown: int
    casualties: int
    civilian: int | None
    military: int | None
    minors: int | None
    female: int | None
    male: int | None
    source: str
    by: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """``{grouping: key, grouping_name: name, …counts, source}`` (the JSON/CSV row)."""
        out: dict[str, Any] = {}
        for by, key, name in zip(self.by, self.codes, self.names):
            out[by] = key
            if by.startswith("admin"):
                out[f"{by}_name"] = name
        for column in (*COUNTS, "source"):
            out[column] = getattr(self, column)
        return out



def _levels(by: Sequence[str]) -> list[int]:
    return [int(b[5:]) for b in by if b.startswith("admin")]


def admin_codes_at(records: gpd.GeoDataFrame, admin_all: gpd.GeoDataFrame, level: int) -> pd.Series:
    """The administrative area of ``level`` each record belongs to: by the code it carries
    (its own area, or the area of ``level`` above it by ``parent_code``), else by where it
    lies (the first code where areas overlap); ``unassigned`` where neither says."""
    areas = admin_all[admin_all["level"] == level]
    wanted = set(areas["code"])
    parent = dict(zip(admin_all["code"], admin_all["parent_code"]))

    def up(code):
        seen = 0
        while code is not None and code not in wanted and seen < 10:
            code, seen = parent.get(code), seen + 1
        return code if code in wanted else None

    out = pd.Series([None] * len(records), index=records.index, dtype=object)
    for column in ("admin_code", "admin1_code"):
        if column in records:
            need = out.isna()
            out.loc[need] = [up(c) if c is not None else None for c in records.loc[need, column]]
    need = out.isna().to_numpy() & ~(records.geometry.isna().to_numpy()
                                     | records.geometry.is_empty.to_numpy()) \
        if len(records) else np.zeros(0, dtype=bool)
    if need.any() and len(areas):
        pts = records.loc[need, [records.geometry.name]]
        joined = gpd.sjoin(pts, areas[["code", areas.geometry.name]], how="inner",
                           predicate="within").rename_axis("row").sort_values(["row", "code"])
        joined = joined[~joined.index.duplicated(keep="first")]
        out.loc[joined.index] = joined["code"].values
    return out.fillna(UNASSIGNED)


def _keys(layer: str, gdf, by: str, admin_all) -> pd.Series:
    if by == "year":
        if layer == "events":
            years = [d.year if d is not None and not pd.isna(d) else y
                     for d, y in zip(gdf["event_date"], gdf["year"])]
        else:
            years = list(gdf["year"])
        return pd.Series([str(int(y)) if y is not None and not pd.isna(y) else UNKNOWN
                          for y in years], index=gdf.index, dtype=object)
    if by.startswith("admin"):
        return admin_codes_at(gdf, admin_all, int(by[5:]))
    column = "event_type" if by == "type" else "eo_category"
    if column not in gdf:
        return pd.Series([UNKNOWN] * len(gdf), index=gdf.index, dtype=object)
    return gdf[column].fillna(UNKNOWN).astype(object)


def _group(layer: str, gdf, by: Sequence[str], admin_all) -> pd.Series:
    """One tuple of keys per record."""
    columns = [_keys(layer, gdf, b, admin_all) for b in by]
    return pd.Series(list(zip(*columns)) if columns and len(gdf) else [()] * len(gdf),
                     index=gdf.index, dtype=object)


def _event_counts(events, keys) -> dict[tuple, dict[str, int]]:
    def column(name):
        return pd.to_numeric(events[name], errors="coerce").fillna(0).astype(int) \
            if name in events else pd.Series(0, index=events.index)

    frame = pd.DataFrame({"key": keys, "events": 1, "killed": column("killed"),
                          "injured": column("injured"),
                          "outcome_unknown": column("outcome_unknown")})
    return {k: g[["events", "killed", "injured", "outcome_unknown"]].sum().astype(int).to_dict()
            for k, g in frame.groupby("key", sort=False)} if len(frame) else {}


def _victim_counts(victims, keys) -> dict[tuple, dict[str, int]]:
    frame = pd.DataFrame({
        "key": keys, "casualties": 1,
        "killed": (victims["outcome"] == "killed").astype(int),
        "injured": (victims["outcome"] == "injured").astype(int),
        "outcome_unknown": (~victims["outcome"].isin(["killed", "injured"])).astype(int),
        "civilian": (victims["civilian"] == True).astype(int),  # noqa: E712 (nullable)
        "military": (victims["civilian"] == False).astype(int),  # noqa: E712
        "minors": (victims["age_group"] == "minor").astype(int),
        "female": (victims["gender"] == "female").astype(int),
        "male": (victims["gender"] == "male").astype(int)})
    return {k: g.drop(columns="key").sum().astype(int).to_dict()
            for k, g in frame.groupby("key", sort=False)} if len(frame) else {}


def _row(by, keys, names, events: dict, people: dict | None,
         source: str = "event counts") -> BreakdownRow:
    if people is not None:
        return BreakdownRow(keys, names, events.get("events", 0), people.get("killed", 0),
                            people.get("injured", 0), people.get("outcome_unknown", 0),
                            people.get("casualties", 0), people.get("civilian", 0),
                            people.get("military", 0), people.get("minors", 0),
                            people.get("female", 0), people.get("male", 0), "victim records",
                            tuple(by))
    killed, injured = events.get("killed", 0), events.get("injured", 0)
    unknown = events.get("outcome_unknown", 0)
    return BreakdownRow(keys, names, events.get("events", 0), killed, injured, unknown,
                        killed + injured + unknown, None, None, None, None, None, source,
                        tuple(by))


def breakdown(session: Session, country: str, by: Sequence[str],
              selection: Selection | None = None, *, sort: str | None = None,
              top: int | None = None) -> list[BreakdownRow]:
    """Events and casualties of a country per group of one or two groupings, and a total.

    Parameters
    ----------
    session : Session
        The store, and who acts (anyone who may read figures of that country).
    country : str
        ISO 3166-1 alpha-3.
    by : sequence of str
        One or two of :data:`GROUPINGS` (``admin1, year``: one row per area and year).
    selection : Selection, optional
        Dates, an area, event types, EO categories.
    sort, top : optional
        A column of :data:`COUNTS` to sort by (descending) and how many rows to keep; the
        total row stays last and counts every group.

    Raises
    ------
    QueryError
        An unknown grouping, more than two, the same twice, an administrative level not
        loaded, a bad sort column or top.
    PermissionDenied
        The acting user may not read that country's figures.
    """
    by = list(by)
    if not 1 <= len(by) <= 2 or len(set(by)) != len(by) or any(b not in GROUPINGS for b in by):
        raise QueryError(f"--by {','.join(by) or '(none)'}: expected one or two different of "
                         f"{', '.join(GROUPINGS)}")
    country = checked_country(country)
    session.require(Action.AGGREGATE, country=country)
    require_country(session, country)
    selection = selection or Selection()
    admin_all = session.read_layer("admin_areas", country)
    for level in _levels(by):
        if not (admin_all["level"] == level).any():
            raise QueryError(f"--by admin{level}: no administrative areas of level {level} "
                             f"are loaded for {country}")
    names = dict(zip(admin_all["code"], admin_all["name"]))
    events = session.read_layer("events", country)
    events = selection.select("events", events, admin_all) if selection.applies_to("events") \
        else events.iloc[0:0]
    victims = session.read_layer("victims", country)
    from_records = len(victims) > 0 and selection.applies_to("victims") and \
        not ({"type", "category"} & set(by))
    if len(victims) and not from_records:
        selection.notes.append("victim records carry no event type or EO category: casualties "
                               "are those the events count")
    event_counts = _event_counts(events, _group("events", events, by, admin_all))
    people = None
    if from_records:
        victims = selection.select("victims", victims, admin_all)
        people = _victim_counts(victims, _group("victims", victims, by, admin_all))
    # the summary's rule: event counts are a source only where some event carries one
    counted = any(c in events and bool(events[c].notna().any())
                  for c in ("killed", "injured", "outcome_unknown"))
    source = "event counts" if counted else "none"
    keys = sorted(set(event_counts) | set(people or {}),
                  key=lambda k: tuple((v in (UNKNOWN, UNASSIGNED), v) for v in k))
    rows = [_row(by, k, tuple(names.get(v) if b.startswith("admin") else None
                              for b, v in zip(by, k)),
                 event_counts.get(k, {}), (people or {}).get(k, {}) if from_records else None,
                 source)
            for k in keys]
    total_events = {c: sum(e.get(c, 0) for e in event_counts.values())
                    for c in ("events", "killed", "injured", "outcome_unknown")}
    total_people = {c: sum(p.get(c, 0) for p in (people or {}).values())
                    for c in ("casualties", "killed", "injured", "outcome_unknown", "civilian",
                              "military", "minors", "female", "male")}
    total = _row(by, (TOTAL,) * len(by), (None,) * len(by), total_events,
                 total_people if from_records else None, source)
    return rank(rows + [total], sort, top, COUNTS)


__all__ = ["BreakdownRow", "COUNTS", "GROUPINGS", "admin_codes_at", "breakdown"]
