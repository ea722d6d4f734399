"""Fixes for findings: planned as a dry run, applied only on request, each through the change
log under one fix id, and reversible by that id.

Fixes exist for rules whose correction is mechanical:

- ``GEOM-DUP-VERTEX``: remove consecutive vertices closer than 1e-6° (area unchanged).
- ``GEOM-OUTSIDE-COUNTRY``: flip the longitude's sign, or swap latitude and longitude, where
  the finding found that this puts the record inside its country.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

import shapely

from mineledger.access import Action, Session
from mineledger.errors import QueryError
from mineledger.geo import geodesic_area
from mineledger.ledger.asof import require_country
from mineledger.ledger.quality.engine import DEFAULTS, Context
from mineledger.ledger.quality.geometry import country_outline, flip, outside_country, present
from mineledger.model.codes import checked_country

FIXABLE = ("GEOM-DUP-VERTEX", "GEOM-OUTSIDE-COUNTRY")


def plan_fix(session: Session, country: str, rule_id: str) -> list[dict[str, Any]]:
    """What a fix would change: ``[{"layer", "uuid", "country", "locator", "change",
    "geom"}]``; nothing is written.

    Raises
    ------
    QueryError
        A rule with no automatic fix, or a country the store does not hold.
    PermissionDenied
        The acting user may not change records in that country.
    """
    if rule_id not in FIXABLE:
        raise QueryError(f"no automatic fix for {rule_id!r}; fixable: {', '.join(FIXABLE)}")
    country = checked_country(country)
    session.require(Action.AMEND, country=country)
    require_country(session, country)
    ctx = Context(session, country, dict(DEFAULTS))
    plan = []
    if rule_id == "GEOM-DUP-VERTEX":
        tol = ctx.params["duplicate_vertex_deg"]
        for layer in ("hazards", "cleared_areas"):
            for r in present(ctx.layer(layer)).itertuples():
                try:
                    fixed = shapely.remove_repeated_points(r.geometry, tolerance=tol)
                except shapely.errors.GEOSException:
                    continue  # removing them would collapse a ring: leave it to a person
                if shapely.get_num_coordinates(fixed) < shapely.get_num_coordinates(r.geometry) \
                        and fixed.is_valid:
                    n = shapely.get_num_coordinates(r.geometry) - shapely.get_num_coordinates(fixed)
                    plan.append({"layer": layer, "uuid": r.uuid, "country": country,
                                 "locator": f"{r.source_file}, {r.source_locator}",
                                 "change": f"remove {n} repeated vertices", "geom": fixed})
    else:
        outline = country_outline(ctx)
        for f in outside_country(ctx):
            how = "sign" if "sign flipped" in f.suggested_fix else "swap" if "swapped" in f.suggested_fix else None
            if how is None:
                continue
            gdf = ctx.layer(f.layer)
            geom = gdf.loc[gdf["uuid"] == f.record_uuid].geometry.iloc[0]
            fixed = flip(geom, how)
            if shapely.intersects(outline, fixed):
                plan.append({"layer": f.layer, "uuid": f.record_uuid, "country": country,
                             "locator": f.reason.split(": at")[0],
                             "change": "flip the longitude's sign" if how == "sign" else "swap latitude and longitude",
                             "geom": fixed})
    return plan


def apply_fix(session: Session, rule_id: str, plan: list[dict[str, Any]], *,
              command: str = "fix") -> str:
    """Apply a planned fix (:func:`plan_fix`) as the acting user; every change is in the
    change log under the returned fix id.

    Raises
    ------
    PermissionDenied
        The acting user may not change records in a country of the plan.
    """
    fix_id = f"fix-{uuidlib.uuid4()}"
    countries = {p.get("country") for p in plan} or {None}
    for c in countries:
        actor = session.require(Action.AMEND, country=c)
    with session.writer(user=actor.name, command=command) as writer:
        current = {}
        for layer in {p["layer"] for p in plan}:
            current.update(writer.existing(layer, [p["uuid"] for p in plan if p["layer"] == layer]))
        for p in plan:
            changes = {"geom": p["geom"]}
            if "area_m2" in current[p["uuid"]]:
                changes["area_m2"] = float(geodesic_area(p["geom"]))
            writer.amend(p["layer"], current[p["uuid"]], changes, import_id=fix_id,
                         reason=f"fix {rule_id}: {p['change']}")
    return fix_id


def revert_fix(session: Session, fix_id: str, *, command: str = "fix --revert") -> int:
    """Put back what a fix changed (geometry and area), through the change log, as the
    acting user; returns the number of records restored.

    Raises
    ------
    QueryError
        No such fix in the change log.
    PermissionDenied
        The acting user may not change records in a country the fix touched.
    """
    log = session.read_table("change_log")
    entries = log[(log["import_id"] == fix_id) & (log["action"] == "update")]
    if not len(entries):
        raise QueryError(f"no fix {fix_id!r} in the change log")
    for c in {(e or {}).get("country") for e in entries["after"]} or {None}:
        actor = session.require(Action.AMEND, country=c)
    with session.writer(user=actor.name, command=command) as writer:
        for layer, group in entries.groupby("layer"):
            current = writer.existing(layer, list(group["record_uuid"]))
            for e in group.itertuples():
                changes = {"geom": shapely.from_wkb(bytes(e.before_geom)) if e.before_geom is not None else None}
                if "area_m2" in current[e.record_uuid]:
                    changes["area_m2"] = (e.before or {}).get("area_m2")
                writer.amend(layer, current[e.record_uuid], changes, import_id=f"revert-{fix_id}",
                             reason=f"revert {fix_id}")
    return len(entries)
