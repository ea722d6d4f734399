"""What an import does to the hazards it touches: links, lineage and the life cycle.

- **Links**: records that name a hazard or activity by the source's id (``hazard_local_id``,
  ``activity_local_id``) get its UUID, looked up in the store (same country).
- **Lineage**: a hazard that names its parents (``parent_local_ids``: "HZ-1;HZ-2") records
  a split (one parent, several children) or a merge (several parents), and its parents become
  ``superseded``, so the baseline is never counted twice.
- **Activities**: a progress report puts a hazard to work (``worked_on``), a completion report
  closes it, a handover report hands it over, direct evidence makes an SHA a CHA — each only
  if the report's date of information is later than the hazard's (:func:`rules.applies`);
  an earlier report enters the history only. A transition the life cycle refuses sends the
  activity to quarantine with the reason.
- **Release**: once outcomes are stored, a linked hazard whose remaining area reaches zero is
  closed, one with land released and land left is worked on.

Every change to a hazard goes through the store's writer, so it is in the change log with the
reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import shapely

from mineledger.geo import geodesic_area
from mineledger.land.landrelease import as_date
from mineledger.model import rules
from mineledger.model.vocab import HazardStatus
from mineledger.store.base import Writer

_REPORT_STATUS = {"progress": HazardStatus.WORKED_ON, "completion": HazardStatus.CLOSED,
                  "handover": HazardStatus.HANDED_OVER}


def resolve_links(writer: Writer, records: list[dict[str, Any]]) -> list[str]:
    """Fill ``hazard_uuid`` / ``activity_uuid`` from the source's ids; return notes on the ids
    that name nothing in the store."""
    notes = []
    for target, field in (("hazards", "hazard"), ("activities", "activity")):
        local, uuid_field = f"{field}_local_id", f"{field}_uuid"
        wanted = [r for r in records if r.get(local) and not r.get(uuid_field)]
        if not wanted:
            continue
        by_country: dict[tuple[str, str], str] = {}
        for row in writer.where(target, "local_id", [r[local] for r in wanted]):
            by_country[(row["country"], row["local_id"])] = row["uuid"]
        missing = set()
        for r in wanted:
            found = by_country.get((r["country"], r[local]))
            if found:
                r[uuid_field] = found
            else:
                missing.add(r[local])
        if missing:
            shown = ", ".join(sorted(missing)[:5]) + (" …" if len(missing) > 5 else "")
            notes.append(f"{len(missing)} {field} id(s) name no {field} in the store ({shown}); "
                         "stored without the link")
    return notes


def flag_outside_hazard(writer: Writer, outcomes: list[dict[str, Any]]) -> int:
    """Set ``outside_hazard`` on outcomes that reach outside the hazard they are linked to
    (by more than 1e-6 of their area); return how many do."""
    linked = [o for o in outcomes if o.get("hazard_uuid") and o.get("geom") is not None]
    shapes = {h["uuid"]: h["geom"] for h in writer.existing("hazards", {o["hazard_uuid"] for o in linked}).values()}
    n = 0
    for o in outcomes:
        parent = shapes.get(o.get("hazard_uuid"))
        if parent is None or o.get("geom") is None or o["geom"].is_empty:
            o["outside_hazard"] = None if parent is None else False
            continue
        beyond = float(geodesic_area(shapely.difference(o["geom"], parent)))
        o["outside_hazard"] = beyond > 1e-6 * max(float(geodesic_area(o["geom"])), 1.0)
        n += o["outside_hazard"]
    return n


def _update_hazard(writer: Writer, hazard: dict[str, Any], changes: dict[str, Any], *,
                   import_id: str, reason: str) -> None:
    writer.amend("hazards", hazard, changes, import_id=import_id, reason=reason)
    hazard.update(changes)


def apply_lineage(writer: Writer, hazards: list[dict[str, Any]], *, import_id: str) -> list[str]:
    """Record splits and merges named by new hazards and supersede their parents."""
    notes = []
    naming = [h for h in hazards if h.get("parent_local_ids")]
    if not naming:
        return notes
    wanted = {p.strip() for h in naming for p in str(h["parent_local_ids"]).split(";") if p.strip()}
    parents = {(p["country"], p["local_id"]): p for p in writer.where("hazards", "local_id", wanted)}
    children_of: dict[str, int] = {}
    for h in naming:
        for pid in {p.strip() for p in str(h["parent_local_ids"]).split(";") if p.strip()}:
            if (h["country"], pid) in parents:
                key = parents[(h["country"], pid)]["uuid"]
                children_of[key] = children_of.get(key, 0) + 1
    rows = []
    new_ids = {(h["country"], h.get("local_id")) for h in hazards}
    for h in naming:
        child = h.get("local_id") or h["uuid"]
        ids = list(dict.fromkeys(p.strip() for p in str(h["parent_local_ids"]).split(";") if p.strip()))
        same_file = [i for i in ids if (h["country"], i) in new_ids]
        if same_file:
            notes.append(f"hazard {child}: parent(s) {same_file} are new in this same import "
                         "(itself, or a cycle); no lineage recorded, nothing superseded")
            ids = [i for i in ids if i not in same_file]
        found = [parents[(h["country"], i)] for i in ids if (h["country"], i) in parents]
        if len(found) < len(ids):
            notes.append(f"hazard {child}: parent(s) "
                         f"{sorted(set(ids) - {p['local_id'] for p in found})} not in the store")
        kind = "merge" if len(ids) > 1 else "split"
        for parent in found:
            if not rules.applies(h.get("date_of_information"), parent.get("date_of_information")):
                notes.append(f"hazard {child}: its date of information is not later than its "
                             f"parent {parent['local_id']}'s; the parent is left as it is")
                continue
            rows.append({"parent_uuid": parent["uuid"], "child_uuid": h["uuid"], "kind": kind,
                         "date_of_information": h.get("date_of_information"),
                         "import_id": import_id})
            if parent["status"] != HazardStatus.SUPERSEDED:
                try:
                    rules.check_transition(parent["status"], HazardStatus.SUPERSEDED,
                                           hazard=f"hazard {parent['local_id']}")
                except rules.TransitionError as exc:
                    notes.append(f"hazard {child}: {exc}; lineage recorded, parent left as it is")
                    continue
                _update_hazard(writer, parent, {"status": HazardStatus.SUPERSEDED.value},
                               import_id=import_id, reason=f"{kind} by survey into {child}")
    writer.add_lineage(rows)
    return notes


def apply_activities(writer: Writer, activities: list[dict[str, Any]], *, import_id: str,
                     reject: Callable[[dict[str, Any], str], None],
                     notes: list[str] | None = None) -> list[dict[str, Any]]:
    """Apply new activity reports to their hazards in date order; return the activities to
    store (those refused by the life cycle are passed to ``reject`` with the reason)."""
    notes = notes if notes is not None else []
    linked = [a for a in activities if a.get("hazard_uuid")]
    hazards = writer.existing("hazards", {a["hazard_uuid"] for a in linked})
    keep = [a for a in activities if not a.get("hazard_uuid")]

    rank = {"progress": 0, "completion": 1, "handover": 2}

    def when(a):  # date order; on one date, progress before completion before handover
        d = a.get("date_of_information") or a.get("end_date") or a.get("start_date")
        return (d is None, d or dt.date.min, rank.get(a.get("report_type") or "progress", 0))

    order = [HazardStatus.OPEN, HazardStatus.WORKED_ON, HazardStatus.CLOSED, HazardStatus.HANDED_OVER]

    for act in sorted(linked, key=when):
        hazard = hazards.get(act["hazard_uuid"])
        if hazard is None:
            keep.append(act)
            continue
        doi = act.get("date_of_information") or act.get("end_date")
        name = f"hazard {hazard.get('local_id') or hazard['uuid']}"
        target = _REPORT_STATUS.get(act.get("report_type") or "progress")
        same_day_step = (doi is not None and doi == hazard.get("date_of_information")
                         and hazard["status"] in order and target in order
                         and order.index(target) > order.index(HazardStatus(hazard["status"])))
        if not (rules.applies(doi, hazard.get("date_of_information")) or same_day_step):
            keep.append(act)  # an earlier report: history only
            continue
        changes: dict[str, Any] = {}
        if target == HazardStatus.CLOSED and hazard["status"] in (HazardStatus.OPEN, HazardStatus.WORKED_ON):
            left = remaining_of(writer, hazard)
            if left > 0:  # closes when its outcomes are imported and nothing remains
                target = HazardStatus.WORKED_ON
                notes.append(f"{name}: completion report {act.get('local_id') or act['uuid']} "
                             f"with {left:,.0f} m² not yet released; it closes when outcomes "
                             "covering it are imported")
        try:
            if hazard["status"] == HazardStatus.OPEN and target in (HazardStatus.HANDED_OVER,):
                raise rules.TransitionError(f"{name}: cannot go from open to handed_over; "
                                            "close it with a completion report first")
            status = rules.check_transition(hazard["status"], target, hazard=name,
                                            record=act.get("report_type"))
        except rules.TransitionError as exc:
            reject(act, str(exc))
            continue
        if status != hazard["status"]:
            changes["status"] = status
        new_type = rules.hazard_type_after_evidence(hazard.get("hazard_type") or "SHA",
                                                    act.get("evidence"))
        if new_type != hazard.get("hazard_type"):
            changes["hazard_type"] = new_type
            changes["evidence"] = "direct"
        if doi is not None:
            changes["date_of_information"] = doi
        if changes:
            _update_hazard(writer, hazard, changes, import_id=import_id,
                           reason=f"{act.get('report_type') or 'progress'} report "
                                  f"{act.get('local_id') or act['uuid']} of {doi or 'unknown date'}")
        keep.append(act)
    return keep


def remaining_of(writer: Writer, hazard: dict[str, Any]) -> float:
    """The remaining area of one hazard in m², by the ledger's rule, from the outcomes linked
    to it in the store (:func:`remaining_areas` of one)."""
    return remaining_areas(writer, [hazard])[0]


def remaining_areas(writer: Writer, hazards: list[dict[str, Any]]) -> list[float]:
    """:func:`remaining_of` for many hazards at once: one query for all their outcomes, one
    area measurement for all (the ledger's rule: each hazard less its outcomes released after
    its perimeter's date, or all of them if a date is unknown)."""
    outs = writer.where("cleared_areas", "hazard_uuid", [h["uuid"] for h in hazards])
    own: dict[str, list] = {}
    for o in outs:
        if o.get("geom") is not None and not o["geom"].is_empty:
            own.setdefault(o["hazard_uuid"], []).append((o["geom"], as_date(o.get("date_released"))))
    lefts = []
    for h in hazards:
        geom = h.get("geom")
        if geom is None or geom.is_empty:
            lefts.append(None)
            continue
        doi = as_date(h.get("perimeter_date") or h.get("date_of_information"))
        later = [g for g, d in own.get(h["uuid"], []) if doi is None or d is None or d > doi]
        lefts.append(shapely.difference(geom, shapely.union_all(later)) if later else geom)
    return [float(a) for a in geodesic_area(lefts)] if lefts else []


def apply_release(writer: Writer, hazard_uuids: set[str], *, import_id: str) -> None:
    """Close linked hazards whose remaining area reached zero; put to work those with land
    released and land left."""
    hazards = [h for h in writer.existing("hazards", hazard_uuids).values()
               if h["status"] in (HazardStatus.OPEN, HazardStatus.WORKED_ON) and h["geom"] is not None]
    lefts = remaining_areas(writer, hazards)
    totals = geodesic_area([h["geom"] for h in hazards]) if hazards else []
    for hazard, left, total in zip(hazards, lefts, totals):
        total = float(total)
        if left >= total * (1 - 1e-9):
            continue  # nothing of it released (yet): its status stays
        status = rules.status_after_release(hazard["status"], 0.0 if left <= 1e-9 * total else left)
        if status != hazard["status"]:
            _update_hazard(writer, hazard, {"status": status}, import_id=import_id,
                           reason=f"land released: {left:,.0f} m² remaining")
