"""Headline figures of a country: hazards, cleared land, victims, events, quarantine.

All areas are m² on the WGS 84 ellipsoid (:mod:`mineledger.geo.area`); ``distinct`` areas
count overlapping polygons once. Undated records are counted under ``"unknown"``, never
under the year they were imported.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from mineledger.errors import QueryError
from mineledger.model.vocab import EventType, GeometryStatus
from mineledger.land.admin_areas import area_by_admin, count_by_admin, finest_level, land_by_admin
from mineledger.store.base import Store

UNKNOWN = "unknown"


def _without_geometry(gdf) -> int:
    """Records whose source gave no geometry (missing) or an empty one."""
    return int(gdf["geometry_status"].isin([GeometryStatus.MISSING, GeometryStatus.EMPTY]).sum())


def _unusable(gdf) -> int:
    """Records whose source geometry could not be used (invalid beyond repair, unparseable)."""
    return int(gdf["geometry_status"].isin([GeometryStatus.UNREPAIRABLE,
                                            GeometryStatus.UNPARSEABLE]).sum())


def _polygon_figures(store, layer, country, level, gdf, admin) -> dict[str, Any]:
    areas = pd.to_numeric(gdf["area_m2"], errors="coerce").fillna(0.0)
    by_admin = land_by_admin(store, layer, country, level, gdf, admin) if level is not None \
        else area_by_admin(gdf, admin)
    return {
        "count": int(len(gdf)),
        "without_geometry": _without_geometry(gdf),
        "invalid_repaired": int((gdf["geometry_status"] == GeometryStatus.REPAIRED).sum()),
        "invalid_unrepairable": _unusable(gdf),
        "area_m2": float(areas.sum()),
        # The union, measured as the sum of its partition by administrative area, so that the
        # rows add up exactly; it equals the geodesic area of the union to about 1e-6.
        "distinct_area_m2": float(math.fsum(r["area_m2"] for r in by_admin)),
        "by_admin": by_admin,
    }


def _by_year(values: pd.Series) -> dict[str, int]:
    years = values.astype("Int64")
    counts = years.value_counts(dropna=False)
    out = {str(int(y)): int(n) for y, n in sorted(
        ((y, n) for y, n in counts.items() if not pd.isna(y)))}
    unknown = int(years.isna().sum())
    if unknown:
        out[UNKNOWN] = unknown
    return out


def summary(store: Store, country: str) -> dict[str, Any]:
    """The headline figures of one country, as nested plain data (JSON-ready).

    Parameters
    ----------
    store : Store
    country : str
        ISO 3166-1 alpha-3 code.

    Returns
    -------
    dict
        Keys ``hazards``, ``cleared``, ``victims``, ``events``, ``quarantine``, ``admin`` and
        ``meta``; see the issue-2 contract in the README. Areas in m².

    Raises
    ------
    QueryError
        The store holds no record of that country.
    """
    country = country.upper()
    if len(country) != 3 or not country.isalpha() or not country.isascii():
        raise QueryError(f"country {country!r}: expected an ISO 3166-1 alpha-3 code such as COL")
    from mineledger.access.roles import Action, require
    from mineledger.ledger.history import computed_as_of, instant_text, require_country

    require(store, Action.AGGREGATE, country=country)
    require_country(store, country)
    admin_all = store.read_layer("admin_areas", country)
    level = finest_level(admin_all)
    admin = admin_all[admin_all["level"] == level] if level is not None else admin_all
    hazards = store.read_layer("hazards", country)
    cleared = store.read_layer("cleared_areas", country)
    victims = store.read_layer("victims", country)
    events = store.read_layer("events", country)
    quarantine = store.read_table("quarantine", country)

    haz = _polygon_figures(store, "hazards", country, level, hazards, admin)
    clr = _polygon_figures(store, "cleared_areas", country, level, cleared, admin)

    def located(layer):
        return store.admin_of_points(layer, country, level) if level is not None else None


    outcome = victims["outcome"]
    vic = {
        "count": int(len(victims)),
        "killed": int((outcome == "killed").sum()),
        "injured": int((outcome == "injured").sum()),
        "outcome_unknown": int((~outcome.isin(["killed", "injured"])).sum()),
        "civilian": int((victims["civilian"] == True).sum()),  # noqa: E712 (nullable)
        "minors": int((victims["age_group"] == "minor").sum()),
        "by_year": _by_year(victims["year"]),
        "by_admin": count_by_admin(victims, admin, "admin2_name", located("victims"))
        if len(victims) else [],
        "without_geometry": _without_geometry(victims),
        "unusable_geometry": _unusable(victims),
    }
    types = events["event_type"].value_counts()
    ev = {
        "count": int(len(events)),
        "by_type": {t.value: int(types.get(t.value, 0)) for t in EventType if types.get(t.value, 0)},
        "by_year": _by_year(events["year"]),
        "by_admin": count_by_admin(events, admin, located=located("events"))
        if len(events) else [],
        "without_geometry": _without_geometry(events),
        "unusable_geometry": _unusable(events),
        "linked": {
            "in_hazard": int(((events["link_layer"] == "hazards") & (events["link_distance_m"] == 0)).sum()),
            "in_cleared": int(((events["link_layer"] == "cleared_areas") & (events["link_distance_m"] == 0)).sum()),
            "near": int((events["link_distance_m"] > 0).sum()),
            "unlinked": int(events["link_layer"].isna().sum()),
        },
    }
    return {
        "country": country,
        "hazards": haz,
        "cleared": clr,
        "victims": vic,
        "events": ev,
        "quarantine": {"count": int((quarantine["status"] == "open").sum()),
                       "resolved": int((quarantine["status"] == "resolved").sum())},
        "admin": {
            "level": level,
            "areas": int(len(admin)),
            "levels": {str(int(k)): int(v) for k, v in admin_all["level"].value_counts().sort_index().items()},
        },
        "meta": {
            "computed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            # the figures are those of the store at this instant: `--as-of` it to reproduce them
            "as_of": instant_text(computed_as_of(store)),
            "information_as_of": (store.information_as_of.isoformat()
                                 if getattr(store, "information_as_of", None) else None),
            "store": store.location,
            "units": {"area": "m2 (geodesic, WGS 84)"},
        },
    }
