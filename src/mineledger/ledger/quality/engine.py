"""The rule catalogue and the runner that stores findings with their history."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import geopandas as gpd

from mineledger.access import Action, Session
from mineledger.errors import QueryError
from mineledger.ledger.asof import require_country
from mineledger.model.codes import checked_country


@dataclass(frozen=True)
class Finding:
    """One thing a rule found on one record (or a pair of records)."""

    rule_id: str
    layer: str
    record_uuid: str
    reason: str
    suggested_fix: str
    other_uuid: str | None = None  # the second record of a pair (overlap, duplicate)

    @property
    def fingerprint(self) -> str:
        key = f"{self.rule_id}|{self.layer}|{self.record_uuid}|{self.other_uuid or ''}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class Context:
    """What rules read: a country's layers, loaded once per run, and the thresholds."""

    session: Session
    country: str
    params: dict[str, Any] = field(default_factory=dict)
    import_ids: set[str] | None = None  # only records last written by these imports
    _cache: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    _derived: dict[tuple[str, str], Any] = field(default_factory=dict)

    def layer(self, name: str) -> gpd.GeoDataFrame:
        if name not in self._cache:
            self._cache[name] = self.session.read_layer(name, self.country, self.import_ids)
        return self._cache[name]

    def derived(self, name: str, what: str, make: Callable[[gpd.GeoDataFrame], Any]) -> Any:
        """``make(layer)``, computed once per run for the layer ``name`` (arrays that several
        rules read, such as every vertex of every ring)."""
        key = (name, what)
        if key not in self._derived:
            self._derived[key] = make(self.layer(name))
        return self._derived[key]


@dataclass(frozen=True)
class Rule:
    """A data quality rule of the catalogue."""

    id: str
    severity: str  # error | warning | info
    description: str
    check: Callable[[Context], Iterable[Finding]]
    per_record: bool = False  # looks at one record at a time: cheap, run on every import


#: Default thresholds; override with ``run_checks(params=…)``.
DEFAULTS = {
    "duplicate_vertex_deg": 1e-6,       # geocheck: consecutive vertices closer are duplicates
    "long_edge_m": 5000.0,              # geocheck: consecutive vertices farther are suspicious
    "overlap_share": 0.009,             # geocheck: overlap above 0.9 % of the smaller
    "min_area_m2": 25.0,                # smaller than a 5 m × 5 m square
    "max_area_m2": 100e6,               # larger than 100 km² for one hazard
    "min_year": 1900,
    "year_outlier_gap": 5,              # years this far below/above the rest of the source
}

CATALOGUE: list[Rule] = []


def rule(id: str, severity: str, description: str, per_record: bool = False):
    """Register a rule function in the catalogue."""

    def wrap(fn):
        CATALOGUE.append(Rule(id, severity, description, fn, per_record))
        return fn

    return wrap


def rule_ids() -> list[str]:
    return [r.id for r in CATALOGUE]


def run_checks(session: Session, country: str, rules: list[str] | None = None, *,
               params: dict[str, Any] | None = None,
               command: str = "check") -> list[dict[str, Any]]:
    """Run rules on a country and store their findings (as the acting user); return the
    current findings. On a view of the past, the findings then; with ``params`` other than
    the catalogue's thresholds, what they would find (a what-if) — neither is stored.

    Returns
    -------
    list of dict
        One per finding: ``rule_id``, ``severity``, ``layer``, ``record_uuid``,
        ``other_uuid``, ``reason``, ``suggested_fix``, ``status`` (``open``, or as a person
        marked it: ``resolved``, ``accepted``), ``status_reason``, ``fingerprint``.

    Raises
    ------
    QueryError
        Unknown country or rule id.
    PermissionDenied
        The acting user may not run checks in that country.
    """
    country = checked_country(country)
    actor = session.require(Action.CHECK, country=country)
    require_country(session, country)
    chosen = CATALOGUE if not rules else [r for r in CATALOGUE if r.id in rules]
    unknown = sorted(set(rules or []) - {r.id for r in CATALOGUE})
    if unknown:
        raise QueryError(f"unknown rule(s) {unknown}; `mineledger check --list` lists them")
    ctx = Context(session, country, {**DEFAULTS, **(params or {})})
    found: list[Finding] = []
    for r in chosen:
        found.extend(r.check(ctx))
    severity = {r.id: r.severity for r in CATALOGUE}
    what_if = any(DEFAULTS.get(k) != v for k, v in (params or {}).items())
    if session.read_only or what_if:
        # a past state (the findings then), or thresholds other than the catalogue's (what
        # they would find): shown with the marks people gave, never stored — a what-if must
        # not close or reopen the findings of the thresholds in force
        held = {} if session.read_only else {
            r["fingerprint"]: r for r in session.read_table("quality_findings").to_dict("records")}
        rows = [{"fingerprint": f.fingerprint, "rule_id": f.rule_id,
                 "severity": severity[f.rule_id], "layer": f.layer,
                 "record_uuid": f.record_uuid, "other_uuid": f.other_uuid, "reason": f.reason,
                 "suggested_fix": f.suggested_fix, "country": country,
                 **_mark(held.get(f.fingerprint))} for f in found]
        return list({r["fingerprint"]: r for r in rows}.values())
    with session.writer(user=actor.name, command=command) as writer:
        held = writer.sync_findings(country, [r.id for r in chosen], [
            {"fingerprint": f.fingerprint, "rule_id": f.rule_id, "severity": severity[f.rule_id],
             "layer": f.layer, "record_uuid": f.record_uuid, "other_uuid": f.other_uuid,
             "reason": f.reason, "suggested_fix": f.suggested_fix, "country": country}
            for f in found])
    return held


def _mark(held: dict[str, Any] | None) -> dict[str, Any]:
    """The status a stored finding carries (a person's mark), or open."""
    if not held or held.get("status") in (None, "gone"):
        return {"status": "open", "status_reason": None}
    return {"status": held["status"], "status_reason": held.get("status_reason")}


def import_warnings(session: Session, import_ids: set[str], countries: Iterable[str]) -> dict[str, int]:
    """Run the per-record rules on the records an import wrote; nothing is stored. Returns
    ``{rule id: findings}`` for the import summary."""
    counts: dict[str, int] = {}
    for country in countries:
        ctx = Context(session, country, dict(DEFAULTS), import_ids=set(import_ids))
        for r in CATALOGUE:
            if r.per_record:
                n = sum(1 for _ in r.check(ctx))
                if n:
                    counts[r.id] = counts.get(r.id, 0) + n
    return counts


def mark_finding(session: Session, fingerprint: str, status: str,
                 reason: str) -> dict[str, Any]:
    """Mark a finding ``resolved`` or ``accepted`` (or ``open`` again), with a reason, as
    the acting user.

    Raises
    ------
    QueryError
        An unknown status, no reason, or no finding (or several) with that fingerprint.
    PermissionDenied
        The acting user may not change records (in that finding's country).
    """
    if status not in ("resolved", "accepted", "open"):
        raise QueryError(f"status {status!r}: expected resolved, accepted or open")
    if not reason or not reason.strip():
        raise QueryError("a reason is required when marking a finding")
    held = session.read_table("quality_findings")
    match = held[held["fingerprint"].str.startswith(fingerprint)] if not held.empty else held
    actor = session.require(Action.AMEND,
                            country=match.iloc[0]["country"] if len(match) == 1 else None)
    with session.writer(user=actor.name, command=f"check mark {fingerprint}") as writer:
        return writer.mark_finding(fingerprint, status, reason.strip(), actor.name,
                                   dt.datetime.now(dt.timezone.utc))
