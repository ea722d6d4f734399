"""Attribute and consistency rules: dates, years, codes, land release consistency."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

import numpy as np
import pandas as pd
import shapely

from mineledger.geo import geodesic_area
from mineledger.geo.arrays import geometry_array
from mineledger.land.landrelease import as_date
from mineledger.ledger.quality.engine import Context, Finding, rule

DATE_FIELDS = {
    "hazards": ("date_of_information",),
    "cleared_areas": ("date_released",),
    "activities": ("start_date", "end_date"),
    "devices": ("found_date",),
    "victims": ("date_of_information",),
    "events": ("event_date",),
}


#: Fields that hold a year alone — a date known only to the year, or the year of a record
#: whose date is not known — checked as dates are (ATTR-DATE-RANGE).
YEAR_FIELDS = {"events": "year", "victims": "year"}


def _d(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value


def _dated(layer: str, row: dict, fields, today: dt.date, floor: dt.date) -> list[Finding]:
    """A record's dates out of range, and an end before its start."""
    found = []
    for f in fields:
        d = _d(row.get(f))
        if d is not None and (d > today or d < floor):
            found.append(Finding(
                "ATTR-DATE-RANGE", layer, row["uuid"],
                f"{f} {d.isoformat()} is {'in the future' if d > today else 'before ' + str(floor.year)}",
                "correct the date (day and month swapped? a two-digit year?)"))
    start, end = _d(row.get("start_date")), _d(row.get("end_date"))
    if start and end and end < start:
        found.append(Finding("ATTR-DATE-RANGE", layer, row["uuid"],
                             f"end_date {end} is before start_date {start}",
                             "swap or correct the dates"))
    return found


def _year(layer: str, row: dict, field: str, today: dt.date, floor: dt.date) -> list[Finding]:
    """A year after this one or before ``min_year``, whatever the other years of its source
    (ATTR-YEAR-OUTLIER needs three of them)."""
    year = _d(row.get(field))
    if year is None or floor.year <= int(year) <= today.year:
        return []
    when = "in the future" if int(year) > today.year else f"before {floor.year}"
    return [Finding("ATTR-DATE-RANGE", layer, row["uuid"], f"{field} {int(year)} is {when}",
                    "correct the year (a typing error? digits swapped?)")]


@rule("ATTR-DATE-RANGE", "error", "a date or a year in the future, before 1900, or an end before its start", per_record=True)
def date_range(ctx: Context) -> Iterable[Finding]:
    today = dt.date.today()
    floor = dt.date(ctx.params["min_year"], 1, 1)
    for layer, fields in DATE_FIELDS.items():
        gdf = ctx.layer(layer)
        year_field = YEAR_FIELDS.get(layer)
        names = ["uuid", *fields, *(c for c in ("start_date", "end_date") if c not in fields),
                 *([year_field] if year_field else [])]
        present = [c for c in names if c in gdf]
        for values in zip(*(gdf[c].tolist() for c in present)):  # rows, without to_dict
            row = dict(zip(present, values))
            found = _dated(layer, row, fields, today, floor)
            # one finding per record: a year is checked where the dates said nothing
            yield from found or (_year(layer, row, year_field, today, floor) if year_field else [])


@rule("ATTR-YEAR-OUTLIER", "warning", "a year with no other record of its source within five years")
def year_outliers(ctx: Context) -> Iterable[Finding]:
    gap = ctx.params["year_outlier_gap"]
    for layer in ("victims", "events"):
        gdf = ctx.layer(layer)
        if not len(gdf):
            continue
        # a folder of yearly files is one source: group files by their folder when the
        # layer has several files there, else by the file itself
        folder = gdf["source_file"].map(lambda s: s.rsplit("/", 1)[0] if s and "/" in s else s)
        files_in = gdf.groupby(folder)["source_file"].nunique()
        source = pd.Series([f if files_in[f] > 1 else s for f, s in zip(folder, gdf["source_file"])],
                           index=gdf.index)
        for src, group in gdf[gdf["year"].notna()].groupby(source[gdf["year"].notna()]):
            years = np.asarray(group["year"], dtype=int)
            counts = {y: int((years == y).sum()) for y in set(years.tolist())}
            if len(counts) < 3:
                continue
            for y in counts:
                if not any(abs(o - y) <= gap for o in counts if o != y):
                    for uid in group.loc[years == y, "uuid"]:
                        yield Finding("ATTR-YEAR-OUTLIER", layer, uid,
                                      f"year {y}: no other record of {src} within {gap} years "
                                      f"(it covers {min(counts)}–{max(counts)})",
                                      "check the year against the source; it may be a typing error")


@rule("ATTR-CODE-UNKNOWN", "warning", "an administrative code that does not join to the gazetteer")
def unknown_codes(ctx: Context) -> Iterable[Finding]:
    admin = ctx.layer("admin_areas")
    if not len(admin):
        return
    known = set(admin["code"])
    for layer in ("hazards", "cleared_areas", "events", "victims"):
        gdf = ctx.layer(layer)
        if not len(gdf) or "admin_code" not in gdf:
            continue
        for r in gdf[gdf["admin_code"].notna() & ~gdf["admin_code"].isin(known)].itertuples():
            yield Finding("ATTR-CODE-UNKNOWN", layer, r.uuid,
                          f"admin code {r.admin_code} is not in the gazetteer of {ctx.country}",
                          "correct the code, or load the edition of the boundaries the source used")


def _linked(ctx):
    hazards = ctx.layer("hazards")
    outcomes = ctx.layer("cleared_areas")
    if not len(hazards) or not len(outcomes) or "hazard_uuid" not in outcomes:
        return hazards, {}
    by_hazard: dict[str, list] = {}
    for uid, g in zip(outcomes["hazard_uuid"], outcomes.geometry.array):
        if uid and g is not None and not g.is_empty:
            by_hazard.setdefault(uid, []).append(g)
    return hazards, by_hazard


@rule("LR-RELEASED-GT-SUSPECTED", "warning", "land released from a hazard greater than the hazard itself")
def released_gt_suspected(ctx: Context) -> Iterable[Finding]:
    hazards, by_hazard = _linked(ctx)
    for r in hazards.itertuples():
        outs = by_hazard.get(r.uuid)
        if not outs or r.geometry is None or r.geometry.is_empty:
            continue
        released = float(geodesic_area(shapely.union_all(outs)))
        if released > (r.area_m2 or 0.0) * 1.001:
            yield Finding("LR-RELEASED-GT-SUSPECTED", "hazards", r.uuid,
                          f"{released:,.0f} m² released from a hazard of {r.area_m2 or 0:,.0f} m²",
                          "check the outcome polygons (drawn too large, or linked to the wrong hazard)")


@rule("LR-STATUS-REMAINING", "error", "a status that contradicts the remaining area (closed with land left, or open with none)")
def status_remaining(ctx: Context) -> Iterable[Finding]:
    hazards, by_hazard = _linked(ctx)
    outcomes = ctx.layer("cleared_areas")
    rows = [r for r in hazards.to_dict("records") if r["uuid"] in by_hazard
            and r.get("geometry") is not None and not r["geometry"].is_empty]
    # what would remain of each hazard if it were open: itself less its own outcomes released
    # after its perimeter's date — all hazards at once
    own: dict[str, list[tuple]] = {}
    for uid, g, d in zip(outcomes["hazard_uuid"], outcomes.geometry.array,
                         outcomes["date_released"] if "date_released" in outcomes
                         else [None] * len(outcomes)):
        if uid and g is not None and not g.is_empty:
            own.setdefault(uid, []).append((g, as_date(d)))
    lefts = []
    for row in rows:
        doi = as_date(row.get("perimeter_date") or row.get("date_of_information"))
        later = [g for g, d in own.get(row["uuid"], []) if doi is None or d is None or d > doi]
        lefts.append(shapely.difference(row["geometry"], shapely.union_all(later))
                     if later else row["geometry"])
    areas = geodesic_area(lefts) if lefts else []
    for row, left in zip(rows, areas):
        left = float(left)
        total = row.get("area_m2") or 0.0
        if row["status"] in ("closed", "handed_over") and left > 1e-6 * total:
            yield Finding("LR-STATUS-REMAINING", "hazards", row["uuid"],
                          f"status {row['status']} with {left:,.0f} m² not released",
                          "import the missing outcomes, or reopen the hazard")
        elif row["status"] in ("open", "worked_on") and left <= 1e-6 * total:
            yield Finding("LR-STATUS-REMAINING", "hazards", row["uuid"],
                          f"status {row['status']} with all its land released",
                          "close the hazard with a completion report")


@rule("LR-BOTH", "info", "an open hazard whose polygon covers land recorded as released (whatever its dates)")
def both(ctx: Context) -> Iterable[Finding]:
    hazards = ctx.layer("hazards")
    outcomes = ctx.layer("cleared_areas")
    if not len(hazards) or not len(outcomes):
        return
    hz = hazards[hazards["status"].isin(["open", "worked_on"])]
    hz = hz[[g is not None and not g.is_empty for g in hz.geometry.array]]
    oc = outcomes[[g is not None and not g.is_empty for g in outcomes.geometry.array]]
    if not len(hz) or not len(oc):
        return
    og = np.asarray(oc.geometry.array)
    tree = shapely.STRtree(og)
    hg = np.asarray(hz.geometry.array)
    h_idx, o_idx = tree.query(hg, predicate="intersects")
    on: dict[int, list[int]] = {}
    for h, o in zip(h_idx.tolist(), o_idx.tolist()):
        on.setdefault(h, []).append(o)
    which = np.fromiter(on, dtype=int, count=len(on))
    released = geometry_array(shapely.union_all(og[os]) for os in on.values())
    shared_of = dict(zip(which.tolist(), geodesic_area(shapely.intersection(hg[which], released))
                         if len(which) else []))  # measured in one call
    for h, r in enumerate(hz.itertuples()):
        if h not in shared_of:
            continue
        shared = float(shared_of[h])
        if shared > 0.01:
            yield Finding("LR-BOTH", "hazards", r.uuid,
                          f"{shared:,.0f} m² of it are also recorded as released",
                          "cut the hazard by the released land if the release is current, or "
                          "reopen the release if the hazard is")


#: reported / measured ≈ factor → what probably happened to the unit
_UNITS = {1e4: "m² given where hectares were declared", 1e6: "m² given where km² were declared",
          1e-4: "hectares given where m² were declared", 1e-6: "km² given where m² were declared",
          1e2: "hectares given where km² were declared", 1e-2: "km² given where hectares were declared"}


@rule("ATTR-AREA-UNITS", "warning", "a reported area that disagrees with the geometry's (unit mix-ups between m², ha and km²)", per_record=True)
def area_units(ctx: Context) -> Iterable[Finding]:
    for layer in ("admin_areas", "hazards", "cleared_areas"):
        gdf = ctx.layer(layer)
        if not len(gdf) or "reported_area_m2" not in gdf:
            continue
        for r in gdf[gdf["reported_area_m2"].notna() & (gdf["area_m2"].fillna(0) > 0)].itertuples():
            ratio = r.reported_area_m2 / r.area_m2
            if 0.8 <= ratio <= 1.25:
                continue
            mixup = next((words for factor, words in _UNITS.items()
                          if 0.8 <= ratio / factor <= 1.25), None)
            reason = (f"reported {r.reported_area_m2:,.0f} m², the geometry measures "
                      f"{r.area_m2:,.0f} m² (× {ratio:.3g})")
            fix = (f"the reported figure looks like {mixup}: correct the unit in the source or "
                   "the profile" if mixup else "check the perimeter and the reported figure")
            yield Finding("ATTR-AREA-UNITS", layer, r.uuid, reason, fix)


@rule("LR-IDENTITY", "error", "an activity report whose figures break released = cancelled + reduced + cleared, or disagree with its outcome polygons by more than 1 %")
def identities(ctx: Context) -> Iterable[Finding]:
    acts = ctx.layer("activities")
    if not len(acts):
        return
    outcomes = ctx.layer("cleared_areas")
    drawn: dict[tuple[str, str], list] = {}
    if len(outcomes) and "activity_uuid" in outcomes:
        for uid, kind, g in zip(outcomes["activity_uuid"], outcomes["outcome"], outcomes.geometry.array):
            if uid and g is not None and not g.is_empty:
                drawn.setdefault((uid, kind), []).append(g)
    for row in acts.to_dict("records"):
        parts = {k: row.get(f"reported_{k}_m2") for k in ("cancelled", "reduced", "cleared")}
        total = row.get("reported_released_m2")
        known = {k: v for k, v in parts.items() if v is not None and v == v}
        if total is not None and total == total and len(known) == 3:
            s = sum(known.values())
            if abs(s - total) > max(1.0, 1e-6 * total):
                yield Finding("LR-IDENTITY", "activities", row["uuid"],
                              f"released {total:,.0f} m² but cancelled + reduced + cleared = {s:,.0f} m²",
                              "correct the report's figures; released is their sum (IMAS 07.11)")
        for kind, value in known.items():
            geoms = drawn.get((row["uuid"], kind))
            if not geoms:
                continue
            measured = float(geodesic_area(shapely.union_all(geoms)))
            if abs(measured - value) > max(1.0, 0.01 * max(measured, value)):
                yield Finding("LR-IDENTITY", "activities", row["uuid"],
                              f"reports {value:,.0f} m² {kind}, its {kind} polygons measure {measured:,.0f} m²",
                              "check the polygons and the figure (unit? a missing polygon?)")
