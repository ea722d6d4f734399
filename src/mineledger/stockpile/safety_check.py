"""The storage-safety check of explosive buildings against what surrounds them (issue 17,
storage safety 3 and 4): every violation of a quantity-distance, the explosives limit licence
each building's surroundings allow, held NEQ over a licence, and incompatible compatibility
groups in one building. Pure: it takes the buildings and exposed sites as tables; the store
feeds it what each building holds at an instant (next).

Distances are measured edge to edge in metres on the ellipsoid
(:func:`mineledger.geo.distance.pair_distances`), only for the pairs a spatial index finds
within reach (:func:`mineledger.geo.distance.within_reach`), never all pairs. Required
distances come from the rule set (:mod:`mineledger.stockpile.storage_safety`; IATG 02.20 by
default), several divisions in one building combined by IATG 02.20 Table 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mineledger.errors import QueryError
from mineledger.geo.arrays import geometry_array
from mineledger.geo.distance import pair_distances, within_reach
from mineledger.stockpile.storage_safety import (EXPOSED_KINDS, RuleSet, Traffic, allowed_neq,
                                                 check_kind, load_rule_set, mixed_distance,
                                                 mixing)

VIOLATION_COLUMNS = ["building_id", "site_id", "kind", "division", "neq_kg", "required_m",
                     "measured_m", "short_m", "code", "formula"]
LICENCE_COLUMNS = ["building_id", "division", "licence_kg", "site_id", "kind", "measured_m"]
OVER_COLUMNS = ["building_id", "division", "held_kg", "licensed_kg", "over_kg"]
MIXING_COLUMNS = ["building_id", "groups", "permitted", "notes"]
UNCHECKED_COLUMNS = ["building_id", "site_id", "kind", "reason"]
#: The divisions a licence is back-calculated for (HD 1.4 has no NEQ-based distance; 1.5 is
#: licensed as 1.1, 1.3.2 as 1.3.1 in IATG 02.20).
LICENSED = ("1.1", "1.2.1", "1.2.2", "1.3.1")


@dataclass(frozen=True)
class SafetyCheck:
    """What the check found: ``violations`` (a building closer to an exposed site than what
    it holds requires), ``licences`` (the greatest NEQ per division the surroundings allow,
    whole kg, rounded down, and the site that governs it), ``over_licence`` (held NEQ above a
    building's recorded licence) and ``mixing`` (buildings holding groups AASTP-1 Table 6
    does not permit together), ``unchecked`` (pairs within reach the rule set gives no
    distance for: never silently skipped); the rule set's name and edition. Distances in m,
    NEQ in kg."""

    violations: pd.DataFrame
    licences: pd.DataFrame
    over_licence: pd.DataFrame
    mixing: pd.DataFrame
    unchecked: pd.DataFrame
    rule_set: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule_set": self.rule_set,
                **{name: getattr(self, name).to_dict("records")
                   for name in ("violations", "licences", "over_licence", "mixing",
                                "unchecked")}}


def _holdings(value, building) -> dict[str, float]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if not isinstance(value, dict):
        raise QueryError(f"building {building}: holdings {value!r}: expected a mapping of "
                         "hazard division to kg NEQ")
    return {str(k): float(v) for k, v in value.items() if v}


def _reach(rules: RuleSet, held: dict[str, float], kinds: set[str]) -> float:
    """The farthest any exposed site of these kinds must be, for what is held (m)."""
    far = 0.0
    for kind in kinds:
        try:
            far = max(far, mixed_distance(held, kind, rule_set=rules).distance_m)
        except QueryError:
            continue  # a kind the rule set gives no distance for (reported per pair)
    return far


def _licence_reach(rules: RuleSet, kinds: set[str]) -> float:
    """How far a site can still limit a licence: the distance the most a table covers
    needs from the most demanding kind present (m)."""
    far = 0.0
    for hd in LICENSED:
        try:
            _, div = rules.division(hd)
        except QueryError:
            continue
        top = div.range_kg[1] if div.range_kg else 250_000
        far = max(far, _reach(rules, {hd: top}, kinds & set(div.exposed)))
    return far


def check_sites(buildings, exposed, *, rule_set: RuleSet | None = None) -> SafetyCheck:
    """Check explosive buildings against exposed sites.

    Parameters
    ----------
    buildings : GeoDataFrame
        ``building_id``; ``geometry`` (EPSG:4326: the building's outline, or a point);
        ``holdings``: ``{hazard division: kg NEQ}`` held at the instant checked; optional
        ``licence`` (``{division: kg}``, the recorded explosives limit licence) and
        ``groups`` (compatibility groups held).
    exposed : GeoDataFrame
        ``site_id``, ``kind`` (one of :data:`~mineledger.stockpile.storage_safety.EXPOSED_KINDS`),
        optional ``vehicles_per_day`` (roads), ``geometry``. A building is also an exposed
        site of another (kind ``magazine`` or ``process_building``) when listed here.
    rule_set : RuleSet, optional
        Default IATG 02.20, 3rd edition 2021.

    Returns
    -------
    SafetyCheck

    Raises
    ------
    QueryError
        A kind not in the vocabulary, holdings that are not a mapping or hold a division the
        rule set gives no distances for (HD 1.6 in IATG 02.20), a building or site without a
        geometry.
    """
    rules = rule_set or load_rule_set()
    b_geoms, s_geoms = geometry_array(buildings.geometry), geometry_array(exposed.geometry)
    for name, frame, geoms, key in (("building", buildings, b_geoms, "building_id"),
                                    ("exposed site", exposed, s_geoms, "site_id")):
        missing = np.flatnonzero(pd.isna(pd.Series(geoms)).to_numpy() |
                                 np.array([g is None or g.is_empty for g in geoms], dtype=bool))
        if len(missing):
            raise QueryError(f"{name} {frame[key].iloc[missing[0]]}: no geometry; the check "
                             "measures from outlines or points")
    for kind in sorted(set(exposed["kind"]) - set(EXPOSED_KINDS))[:1]:
        check_kind(kind)
    kinds = set(exposed["kind"])
    held = [_holdings(h, b) for h, b in zip(buildings.get("holdings", [None] * len(buildings)),
                                            buildings["building_id"])]
    for bid, h in zip(buildings["building_id"], held):
        for hd in h:
            if hd != "1.4":
                try:
                    rules.division(hd)
                except QueryError as exc:
                    raise QueryError(f"building {bid}: {exc}") from None
    licence_reach = _licence_reach(rules, kinds)
    reach = np.array([max(_reach(rules, h, kinds) if h else 0.0, licence_reach) for h in held])
    bi, si = within_reach(b_geoms, s_geoms, reach)
    site_ids, site_kinds = exposed["site_id"].to_numpy(), exposed["kind"].to_numpy()
    own = site_ids[si] == buildings["building_id"].to_numpy()[bi]  # not its own exposed site
    bi, si = bi[~own], si[~own]
    metres = pair_distances(b_geoms[bi], s_geoms[si])
    kind_code = pd.factorize(site_kinds[si], sort=True)
    traffic = _traffic_buckets(rules, exposed)[si]
    order = np.lexsort((metres, traffic, kind_code[0], bi))  # nearest first in each group
    bi, si, metres, traffic, codes = bi[order], si[order], metres[order], traffic[order], \
        kind_code[0][order]
    new_group = np.r_[True, (bi[1:] != bi[:-1]) | (codes[1:] != codes[:-1]) |
                      (traffic[1:] != traffic[:-1])] if len(bi) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new_group)
    violations, licences, unchecked = [], [], []
    # one required distance and one licence per building, kind and traffic level, not per site
    for start, end in zip(starts, [*starts[1:], len(bi)]):
        b, kind = bi[start], kind_code[1][codes[start]]
        bid = buildings["building_id"].iloc[b]
        vehicles = None if traffic[start] < 0 else int(traffic[start])
        if held[b]:
            found, why = _group_violations(rules, bid, kind, vehicles, held[b], si[start:end],
                                           metres[start:end], site_ids)
            violations += found
            unchecked += [(bid, site_ids[x], kind, why) for x in si[start:end]] if why else []
        licences += _limits(rules, bid, site_ids[si[start]], kind, vehicles,
                            float(metres[start]))
    return SafetyCheck(
        violations=pd.DataFrame(violations, columns=VIOLATION_COLUMNS)
        .sort_values(["building_id", "short_m"], ascending=[True, False], ignore_index=True),
        licences=_governing(licences, buildings["building_id"]),
        over_licence=_over(buildings, held),
        mixing=_mixing(buildings),
        unchecked=pd.DataFrame(unchecked, columns=UNCHECKED_COLUMNS),
        rule_set=f"{rules.name} ({rules.edition})")


def _traffic_buckets(rules: RuleSet, exposed) -> np.ndarray:
    """Each site's traffic as the greatest threshold of the rule set at or below it (every
    division chooses the same road rule for the bucket as for the site itself; 0 below all
    of them), or -1 where it is unknown."""
    if "vehicles_per_day" not in exposed:
        return np.full(len(exposed), -1, dtype=np.int64)
    bounds = sorted({r.vehicles_at_least for div in rules.divisions.values()
                     for rule in div.exposed.values() if isinstance(rule, Traffic)
                     for r in rule.by_traffic if r.vehicles_at_least is not None})
    v = pd.to_numeric(exposed["vehicles_per_day"], errors="coerce").to_numpy(dtype=float)
    edges = np.asarray([0, *bounds], dtype=float)
    out = edges[np.maximum(np.searchsorted(edges, np.nan_to_num(v, nan=0.0), side="right") - 1, 0)]
    return np.where(np.isnan(v), -1, out).astype(np.int64)


def _group_violations(rules, bid, kind, vehicles, held, sites, metres, site_ids):
    """The violations among sites of one kind and traffic level, nearest first (or none),
    or why they could not be checked."""
    try:
        need = mixed_distance(held, kind, vehicles_per_day=vehicles, rule_set=rules)
    except QueryError as exc:
        return [], str(exc)
    close = metres < need.distance_m
    return [(bid, site_ids[s], kind, need.division, need.neq_kg, need.distance_m,
             round(float(m), 1), round(need.distance_m - float(m), 1), need.code, need.formula)
            for s, m in zip(sites[close], metres[close])], None


def _limits(rules, bid, sid, kind, vehicles, metres) -> list[tuple]:
    out = []
    for hd in LICENSED:
        try:
            a = allowed_neq(max(metres, 1e-3), hd, kind, vehicles_per_day=vehicles, rule_set=rules)
        except QueryError:
            continue
        out.append((bid, hd, a.neq_kg, sid, kind, round(metres, 1)))
    return out


def _governing(rows: list[tuple], ids) -> pd.DataFrame:
    """Per building and division, the least NEQ any site allows, and that site."""
    frame = pd.DataFrame(rows, columns=LICENCE_COLUMNS)
    if frame.empty:
        return frame
    least = frame.sort_values(["building_id", "division", "licence_kg", "measured_m"])
    return least.groupby(["building_id", "division"], as_index=False).first()[LICENCE_COLUMNS]


def _over(buildings, held) -> pd.DataFrame:
    rows = []
    if "licence" in buildings:
        for bid, h, lic in zip(buildings["building_id"], held, buildings["licence"]):
            lic = _holdings(lic, bid)
            for hd, kg in sorted(h.items()):
                limit = lic.get("1.1" if hd == "1.5" else hd)
                if limit is not None and kg > limit:
                    rows.append((bid, hd, kg, limit, kg - limit))
    return pd.DataFrame(rows, columns=OVER_COLUMNS)


def _mixing(buildings) -> pd.DataFrame:
    rows = []
    if "groups" in buildings:
        for bid, groups in zip(buildings["building_id"], buildings["groups"]):
            if groups is None or (isinstance(groups, float) and math.isnan(groups)) or \
                    len(set(groups)) < 2:
                continue
            m = mixing(groups)
            if not m.permitted or m.notes:
                rows.append((bid, "".join(m.groups), m.permitted, "; ".join(m.notes)))
    return pd.DataFrame(rows, columns=MIXING_COLUMNS)
