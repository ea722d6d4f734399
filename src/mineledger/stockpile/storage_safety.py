"""Quantity-distance: how far an explosive building must be from what it may harm, for what
it holds (IATG 02.20, 3rd edition 2021), and which compatibility groups may share a building
(AASTP-1 Table 6). Pure rules, no store: the calculator of issue 17.

Rules are data. A *rule set* (YAML, ``stockpile/rulesets/``; IATG 02.20 is the default, a
national one is a file of the same form) gives, per hazard division, formulas of the net
explosive quantity ``Q`` (kg) — ``k·Q^p``, pieces of those by range, a polynomial in ``ln Q``,
or a factor of another code — and, per kind of exposed site, which formula applies, times
what, and at least how many metres; and how distances are rounded.

- :func:`required_distance`: the distance one division's NEQ needs from one kind of exposed
  site, rounded up as the rule set says (IATG: to the metre below 100 m, 5 m to 500 m, 10 m
  to 1,000 m, 20 m above).
- :func:`mixed_distance`: the same for a building holding several divisions, combined by
  IATG 02.20 Table 6 (which the UN SaferGuard tool does not do).
- :func:`allowed_neq`: the NEQ a distance allows, rounded down to the kilogram.
- :func:`mixing`: whether compatibility groups may be stored together.

A quantity outside a table's range is computed and flagged (``notes``), never extrapolated
silently.

>>> required_distance(10_000, "1.1", "inhabited_building").distance_m
480
>>> allowed_neq(500, "1.1", "inhabited_building").neq_kg
11424
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Iterable, Mapping, Union

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag,
                      ValidationError, model_validator)

from mineledger.errors import QueryError, RuleSetError
from mineledger.io.profiles.loading import safe_yaml

RULESETS = Path(__file__).with_name("rulesets")
DEFAULT_RULE_SET = RULESETS / "iatg-02.20-2021.yaml"
MIXING_TABLE = RULESETS / "aastp-1-mixing.yaml"

#: Hazard divisions (IATG 01.50).
DIVISIONS = ("1.1", "1.2.1", "1.2.2", "1.3.1", "1.3.2", "1.4", "1.5", "1.6")
#: Kinds of exposed site a rule set may give distances for.
EXPOSED_KINDS = ("inhabited_building", "housing_area", "vulnerable_building", "school",
                 "hospital", "public_road", "railway", "harbour", "process_building",
                 "magazine", "earth_covered_magazine")


# -- the rule set as data ---------------------------------------------------------------------

def _fraction(value: Any) -> Fraction:
    """``1/3``, ``0.5`` or ``2`` as an exact fraction, above 0 and at most 3 (a distance grows
    with the quantity)."""
    try:
        f = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"expected a number or a fraction such as 1/3, got {value!r}") from None
    if not 0 < f <= 3:
        raise ValueError(f"power {value}: expected above 0 and at most 3")
    return f


Power = Annotated[Fraction, BeforeValidator(_fraction)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class PowerLaw(_Strict):
    """``k · Q^power`` metres."""

    k: Positive
    power: Power

    def metres(self, q: float, codes) -> float:
        return self.k * q ** float(self.power)

    def bounds(self, codes) -> list[tuple[float, bool]]:
        """Quantities (kg) where the formula changes piece, each with whether the piece
        before includes it: none."""
        return []

    def text(self) -> str:
        return f"{self.k:g}·Q^({self.power})"


class Piece(PowerLaw):
    """A power law for quantities below ``below`` kg, or up to ``up_to`` kg inclusive (the
    last piece has neither)."""

    below: Positive | None = None
    up_to: Positive | None = None

    @property
    def bound(self) -> float | None:
        return self.below if self.below is not None else self.up_to

    def holds(self, q: float) -> bool:
        return (self.below is None or q < self.below) and (self.up_to is None or q <= self.up_to)


class Pieces(_Strict):
    """Power laws by range of Q, each for quantities below its ``below`` (or up to its
    ``up_to``) kg, in increasing order; the last for the rest."""

    pieces: list[Piece] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> "Pieces":
        bounds = [p.bound for p in self.pieces[:-1]]
        both = [p for p in self.pieces if p.below is not None and p.up_to is not None]
        if both or any(b is None for b in bounds) or self.pieces[-1].bound is not None \
                or bounds != sorted(set(bounds)):
            raise ValueError("pieces: each but the last needs one of 'below' or 'up_to' (kg), "
                             "increasing; the last has neither")
        return self

    def piece(self, q: float) -> Piece:
        return next(p for p in self.pieces if p.holds(q))

    def metres(self, q: float, codes) -> float:
        return self.piece(q).metres(q, codes)

    def bounds(self, codes) -> list[tuple[float, bool]]:
        return [(p.bound, p.up_to is not None) for p in self.pieces[:-1]]

    def text(self) -> str:
        def span(p: Piece) -> str:
            return f" (Q < {p.below:,.0f})" if p.below is not None else \
                f" (Q ≤ {p.up_to:,.0f})" if p.up_to is not None else ""
        return "; ".join(p.text() + span(p) for p in self.pieces)


class LnPoly(_Strict):
    """``a + b·L + c·L² + …`` metres with ``L = ln Q``."""

    ln_poly: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(min_length=1)

    def metres(self, q: float, codes) -> float:
        lq = math.log(q)
        return sum(c * lq ** i for i, c in enumerate(self.ln_poly))

    def bounds(self, codes) -> list[tuple[float, bool]]:
        return []

    def text(self) -> str:
        terms = [f"{abs(c):g}" + ("" if i == 0 else "·L" if i == 1 else f"·L^{i}")
                 for i, c in enumerate(self.ln_poly)]
        signs = ["−" if c < 0 else "+" for c in self.ln_poly]
        return ("−" if signs[0] == "−" else "") + terms[0] + "".join(
            f" {sg} {t}" for sg, t in zip(signs[1:], terms[1:])) + " (L = ln Q)"


class Scaled(_Strict):
    """``scale`` times another code of the same division."""

    scale: Positive
    of: str

    def metres(self, q: float, codes) -> float:
        return self.scale * codes[self.of].metres(q, codes)

    def bounds(self, codes) -> list[tuple[float, bool]]:
        return codes[self.of].bounds(codes)

    def text(self) -> str:
        return f"{self.scale:g}·{self.of}"


def _formula_kind(value: Any) -> str:
    """Which form a formula is written in, from its keys (so that an error names the right
    field, not every form's)."""
    keys = set(value) if isinstance(value, dict) else set(vars(value)) if isinstance(
        value, BaseModel) else set()
    return "pieces" if "pieces" in keys else "ln_poly" if "ln_poly" in keys else \
        "scale" if ("scale" in keys or "of" in keys) else "power"


Formula = Annotated[Union[Annotated[PowerLaw, Tag("power")], Annotated[Pieces, Tag("pieces")],
                          Annotated[LnPoly, Tag("ln_poly")], Annotated[Scaled, Tag("scale")]],
                    Discriminator(_formula_kind)]


class ExposedRule(_Strict):
    """The distance to one kind of exposed site: ``times`` the code's metres, at least
    ``at_least`` metres."""

    code: str
    times: Positive = 1.0
    at_least: NonNegative = 0.0
    vehicles_at_least: Annotated[int, Field(ge=0)] | None = None  # a road's rule from this traffic


class Traffic(_Strict):
    """A road's rules by its use, the busiest first (the last has no threshold)."""

    by_traffic: list[ExposedRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _busiest_first(self) -> "Traffic":
        levels = [r.vehicles_at_least for r in self.by_traffic]
        if levels[-1] is not None or any(v is None for v in levels[:-1]) or \
                levels[:-1] != sorted(set(levels[:-1]), reverse=True):
            raise ValueError("by_traffic: the busiest road's rule first, each with "
                             "'vehicles_at_least' (decreasing); the last has none")
        return self

    def rule(self, vehicles: int | None) -> ExposedRule:
        """The rule of a road with ``vehicles`` a day; traffic unknown: the busiest road's
        (the safe side)."""
        for r in self.by_traffic:
            if vehicles is None or r.vehicles_at_least is None or vehicles >= r.vehicles_at_least:
                return r
        return self.by_traffic[-1]


class Division(_Strict):
    table: str
    range_kg: tuple[Positive, Positive] | None = None
    caution_below_kg: Positive | None = None
    codes: dict[str, Formula] = Field(default_factory=dict)
    exposed: dict[str, Annotated[Union[Annotated[ExposedRule, Tag("rule")],
                                       Annotated[Traffic, Tag("traffic")]],
                                 Discriminator(lambda v: "traffic" if (
                                     isinstance(v, dict) and "by_traffic" in v) or isinstance(
                                     v, Traffic) else "rule")]] = Field(default_factory=dict)
    fixed_m: Positive | None = None  # a distance whatever the NEQ (HD 1.4)

    @model_validator(mode="after")
    def _codes_known(self) -> "Division":
        if self.range_kg is not None and not self.range_kg[0] < self.range_kg[1]:
            raise ValueError(f"range_kg {list(self.range_kg)}: expected [smallest, largest] kg")
        for name in self.codes:  # each scale leads to a formula, never round in a circle
            seen, f = [name], self.codes[name]
            while isinstance(f, Scaled):
                if f.of not in self.codes:
                    raise ValueError(f"code {seen[-1]}: 'of: {f.of}' names no code of this "
                                     "division")
                if f.of in seen:
                    raise ValueError(f"code {name}: scales refer in a circle "
                                     f"({' → '.join([*seen, f.of])})")
                seen.append(f.of)
                f = self.codes[f.of]
        for kind, rule in self.exposed.items():
            if kind not in EXPOSED_KINDS:
                raise ValueError(f"exposed {kind!r}: expected one of {', '.join(EXPOSED_KINDS)}")
            for r in (rule.by_traffic if isinstance(rule, Traffic) else [rule]):
                if r.code not in self.codes:
                    raise ValueError(f"exposed {kind}: code {r.code!r} is not among this "
                                     f"division's codes ({', '.join(self.codes) or 'none'})")
        if self.fixed_m is None and self.exposed and self.range_kg is None:
            raise ValueError("range_kg: the quantities (kg) the table covers are needed")
        return self


class Step(_Strict):
    below: Positive | None = None
    step: Annotated[int, Field(ge=1)]  # whole metres


class RuleSet(_Strict):
    """A quantity-distance rule set: its name, edition and source, how distances are
    rounded, and the distances of each hazard division."""

    name: str
    edition: str
    source: str
    rounding: list[Step] = Field(default_factory=lambda: [Step(step=1)], min_length=1)
    same_as: dict[str, str] = Field(default_factory=dict)
    divisions: dict[str, Division]

    @model_validator(mode="before")
    @classmethod
    def _divisions_as_text(cls, doc: Any) -> Any:
        """``1.1:`` unquoted is a number to YAML: the division it names."""
        if isinstance(doc, dict):
            for key in ("divisions", "same_as"):
                if isinstance(doc.get(key), dict):
                    doc = {**doc, key: {str(k): (str(v) if key == "same_as" else v)
                                        for k, v in doc[key].items()}}
        return doc

    @model_validator(mode="after")
    def _divisions_known(self) -> "RuleSet":
        for d in [*self.divisions, *self.same_as, *self.same_as.values()]:
            if d not in DIVISIONS and d != "1.3":
                raise ValueError(f"division {d!r}: expected one of {', '.join(DIVISIONS)}")
        for d, target in self.same_as.items():
            if target not in self.divisions:
                raise ValueError(f"same_as: {d} → {target}, which the rule set does not give")
        bounds = [s.below for s in self.rounding[:-1]]
        if self.rounding[-1].below is not None or any(b is None for b in bounds) or \
                bounds != sorted(set(bounds)):
            raise ValueError("rounding: steps by increasing 'below' (m); the last has none")
        return self

    def division(self, hd: str) -> tuple[str, Division]:
        """The division whose distances apply to ``hd`` (HD 1.5 → 1.1 …)."""
        key = self.same_as.get(hd, hd)
        if hd not in DIVISIONS:
            raise QueryError(f"hazard division {hd!r}: expected one of {', '.join(DIVISIONS)}")
        if key not in self.divisions:
            raise QueryError(f"HD {hd}: the rule set {self.name} ({self.edition}) gives no "
                             "distances for it" + (" (AASTP-1 does)" if hd == "1.6" else ""))
        return key, self.divisions[key]

    def round_up(self, metres: float) -> int:
        """Metres rounded up by the rule set's steps (a value already on a step stays)."""
        for s in self.rounding:
            if s.below is None or metres < s.below:
                return int(math.ceil(round(metres / s.step, 9)) * s.step)
        raise AssertionError("the last rounding step has no bound (validated)")


@functools.lru_cache(maxsize=8)
def _load(path: str) -> RuleSet:
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise RuleSetError(f"{path}: cannot read the rule set: {exc.strerror}") from None
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        raise RuleSetError(f"{path}: not UTF-8 text; a rule set is a YAML file") from None
    doc = safe_yaml(Path(path), text, error=RuleSetError, what="a rule set")
    if not isinstance(doc, dict):
        raise RuleSetError(f"{path}: expected a mapping (name, edition, source, divisions …)")
    try:
        return RuleSet.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p not in ("power", "pieces", "ln_poly",
                                                                    "scale") or p == first["loc"][-1])
        message = first["msg"].removeprefix("Value error, ")
        raise RuleSetError(f"{path}: {where or 'the document'}: {message}"
                           + (f" ({len(exc.errors())} problems in all)"
                              if len(exc.errors()) > 1 else "")) from None


def load_rule_set(path: str | Path | None = None) -> RuleSet:
    """A rule set from its YAML file (default: IATG 02.20, 3rd edition 2021).

    Raises
    ------
    RuleSetError
        The file cannot be read, is not UTF-8 YAML, gives a key twice or uses anchors, or
        does not have the form (the message names the field and what was expected).
    """
    return _load(str(Path(path) if path is not None else DEFAULT_RULE_SET))


def check_kind(exposed: str) -> None:
    """Refuse a kind of exposed site not in :data:`EXPOSED_KINDS`.

    Raises
    ------
    QueryError
    """
    if exposed not in EXPOSED_KINDS:
        raise QueryError(f"exposed site kind {exposed!r}: expected one of "
                         f"{', '.join(EXPOSED_KINDS)}")


# -- distances ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Distance:
    """A required separation distance.

    ``distance_m`` is the rounded distance (whole metres); ``raw_m`` the formula's value
    before the minimum and rounding; ``division`` the division that governs it and
    ``neq_kg`` the NEQ evaluated (the total for mixed divisions); ``notes`` say what a
    reader must know (a quantity outside the table, how mixed divisions were combined)."""

    exposed: str
    division: str
    neq_kg: float
    code: str | None
    formula: str
    raw_m: float
    minimum_m: float
    distance_m: int
    rule_set: str
    table: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _rule(div: Division, key: str, hd: str, exposed: str, vehicles: int | None,
          rules: RuleSet) -> ExposedRule:
    check_kind(exposed)
    rule = div.exposed.get(exposed)
    if rule is None:
        raise QueryError(f"HD {hd}: the rule set {rules.name} ({rules.edition}) gives no "
                         f"distance to an exposed site of kind {exposed}")
    return rule.rule(vehicles) if isinstance(rule, Traffic) else rule


def _range_notes(div: Division, hd: str, q: float) -> list[str]:
    low, high = div.range_kg or (0.0, math.inf)
    if not low <= q <= high:
        return [f"{q:,.0f} kg is outside {div.table}'s range ({low:,.0f}–{high:,.0f} kg of "
                f"HD {hd}): this is the formula extrapolated, which the reference says not to "
                "rely on"]
    if div.caution_below_kg is not None and q < div.caution_below_kg:
        return [f"below {div.caution_below_kg:,.0f} kg {div.table}'s values are "
                "extrapolated: use with great caution"]
    return []


def _raw(div: Division, rule: ExposedRule, q: float) -> float:
    return rule.times * div.codes[rule.code].metres(q, div.codes)


def required_distance(neq_kg: float, division: str, exposed: str, *,
                      vehicles_per_day: int | None = None,
                      rule_set: RuleSet | None = None) -> Distance:
    """The distance an explosive building holding ``neq_kg`` of one hazard division needs
    from an exposed site of kind ``exposed``, in whole metres, rounded up.

    Parameters
    ----------
    neq_kg : float
        Net explosive quantity, kg (> 0).
    division : str
        Hazard division: 1.1, 1.2.1, 1.2.2, 1.3.1, 1.3.2, 1.4, 1.5 (as 1.1), 1.6.
    exposed : str
        One of :data:`EXPOSED_KINDS`.
    vehicles_per_day : int, optional
        A public road's traffic (its use level; without it, the busiest road's rule, the
        safe side, with a note).
    rule_set : RuleSet, optional
        Default IATG 02.20, 3rd edition 2021 (Table E.1 for HD 1.1, H.1 for 1.2, L.1 for 1.3).

    Raises
    ------
    QueryError
        A quantity not above zero, an unknown division or kind, or one the rule set gives no
        distance for (HD 1.6 in IATG 02.20).

    >>> d = required_distance(1_000, "1.1", "inhabited_building")
    >>> round(d.raw_m, 6), d.distance_m  # D13 = 1.5·Q^(2/3) = 150 m, below the 400 m minimum
    (150.0, 400)
    """
    rules = rule_set or load_rule_set()
    _check_neq(neq_kg)
    check_kind(exposed)
    key, div = rules.division(division)
    if div.fixed_m is not None:
        return Distance(exposed, division, float(neq_kg), None, f"{div.fixed_m:g} m", div.fixed_m,
                        div.fixed_m, rules.round_up(div.fixed_m), rules.name, div.table,
                        (f"HD {division}: no NEQ-based distance; {div.fixed_m:g} m from open "
                         "stacks and light buildings",))
    rule = _rule(div, key, division, exposed, vehicles_per_day, rules)
    raw = _raw(div, rule, neq_kg)
    if raw <= 0 and rule.at_least <= 0:
        raise QueryError(f"HD {division}, {neq_kg:,.6g} kg: {rule.code} gives {raw:,.1f} m to "
                         f"a {exposed}: the table gives no distance at so small a quantity")
    formula = div.codes[rule.code].text()
    formula = (f"{rule.times:g} × {rule.code}; {rule.code}" if rule.times != 1 else rule.code) \
        + f" = {formula}"
    notes = _range_notes(div, division, neq_kg)
    if isinstance(div.exposed[exposed], Traffic) and vehicles_per_day is None:
        notes.append(f"{exposed}: traffic unknown, so the busiest road's distance (give "
                     "vehicles a day for the road's own)")
    return Distance(exposed, division, float(neq_kg), rule.code, formula, raw, rule.at_least,
                    rules.round_up(max(raw, rule.at_least)), rules.name, div.table, tuple(notes))


#: More than this is no stockpile's building (a million tonnes): refused.
MAX_NEQ_KG = 1e9


def _check_neq(neq_kg) -> None:
    if isinstance(neq_kg, bool) or not (isinstance(neq_kg, (int, float)) and
                                        math.isfinite(neq_kg) and 0 < neq_kg <= MAX_NEQ_KG):
        raise QueryError(f"NEQ {neq_kg!r}: expected a quantity above 0 and at most "
                         f"{MAX_NEQ_KG:,.0f} kg")


def code_distance(neq_kg: float, division: str, code: str, *,
                  rule_set: RuleSet | None = None) -> Distance:
    """One formula of a division's table (``D12`` of HD 1.1 …) for ``neq_kg``, rounded up,
    without an exposed site's factor or minimum (``exposed`` is ``""``).

    Raises
    ------
    QueryError
        As :func:`required_distance`, or a code the division's table does not have.

    >>> code_distance(1_000, "1.1", "D12").distance_m
    225
    """
    rules = rule_set or load_rule_set()
    _check_neq(neq_kg)
    key, div = rules.division(division)
    if code not in div.codes:
        raise QueryError(f"HD {division}: {div.table} has no code {code!r} in {rules.name}; "
                         f"expected one of {', '.join(div.codes) or '(none)'}")
    raw = div.codes[code].metres(neq_kg, div.codes)
    return Distance("", division, float(neq_kg), code, f"{code} = {div.codes[code].text()}",
                    raw, 0.0, rules.round_up(raw), rules.name, div.table,
                    tuple(_range_notes(div, division, neq_kg)))


def mixed_distance(holdings: Mapping[str, float], exposed: str, *,
                   vehicles_per_day: int | None = None,
                   rule_set: RuleSet | None = None) -> Distance:
    """The distance a building holding several hazard divisions needs from an exposed site,
    combined by IATG 02.20 Table 6:

    - 1.1 (with 1.5, as 1.1) only, 1.2 only, 1.3 only: that division's distance;
    - 1.1 + 1.2 (+ 1.3): all NEQs added, the total evaluated as HD 1.1 and as HD 1.2; the
      greater;
    - 1.1 + 1.3: both added, HD 1.1 distances for the total;
    - 1.2 + 1.3: each division's distance from its own NEQ; the greatest.

    HD 1.4 adds no NEQ-based distance (its 10 m apply when it is held alone). 1.2.1 with
    1.2.2 (not in Table 6): the total of both evaluated as each, the greater (mineledger's
    reading, the safer one).

    Parameters
    ----------
    holdings : mapping of division → NEQ (kg)
        What the building holds; divisions with 0 kg are ignored.

    Raises
    ------
    QueryError
        Nothing held, a negative quantity, an unknown division, HD 1.6.

    >>> mixed_distance({"1.1": 8_000, "1.2.1": 2_000, "1.3.1": 5_000},
    ...                "inhabited_building").distance_m
    550
    """
    rules = rule_set or load_rule_set()
    bad = {d: q for d, q in holdings.items()
           if isinstance(q, bool) or not (isinstance(q, (int, float)) and math.isfinite(q)
                                          and 0 <= q <= MAX_NEQ_KG)}
    if bad:
        d, q = next(iter(bad.items()))
        raise QueryError(f"HD {d}: NEQ {q!r}: expected a quantity of 0 to {MAX_NEQ_KG:,.0f} kg")
    held = {d: float(q) for d, q in holdings.items() if q > 0}
    for d in held:
        rules.division(d) if d != "1.4" else None
    check_kind(exposed)
    if not held:
        raise QueryError("no NEQ held: expected at least one division with a quantity above 0 kg")
    _check_neq(sum(held.values()))
    if set(held) == {"1.4"}:
        return required_distance(held["1.4"], "1.4", exposed, rule_set=rules)
    said = []
    if held.pop("1.4", None):
        said.append("HD 1.4 adds no NEQ-based distance: left out")
    if "1.5" in held:
        said.append("HD 1.5 counted as HD 1.1")
    hd11 = held.get("1.1", 0.0) + held.get("1.5", 0.0)
    hd12 = {d: q for d, q in held.items() if d.startswith("1.2")}
    hd13 = held.get("1.3.1", 0.0) + held.get("1.3.2", 0.0)
    total = sum(held.values())

    def one(q, d):
        return required_distance(q, d, exposed, vehicles_per_day=vehicles_per_day, rule_set=rules)

    if len(held) == 1:
        (d, q), = held.items()
        alone = one(q, d)
        return dataclasses.replace(alone, notes=(*said, *alone.notes)) if said else alone
    # 1.2.1 with 1.2.2 (not in Table 6): their total as each, wherever they are together
    # (mineledger's reading, the safer one), so that adding any NEQ never shortens a distance
    hd12_total = sum(hd12.values())
    both12 = " (1.2.1 with 1.2.2: their total as each, mineledger's reading)" \
        if len(hd12) == 2 else ""
    if hd11 and hd12:  # 1.1 + 1.2 (+ 1.3): the total as HD 1.1 and as HD 1.2
        options = [one(total, "1.1")]
        for d in sorted(hd12):
            if exposed in rules.division(d)[1].exposed:
                options.append(one(total, d))
            else:
                said.append(f"HD {d} gives no distance to {exposed}: HD 1.1's alone")
        rule = "IATG 02.20 Table 6: 1.1 + 1.2 (+ 1.3): all NEQs added, the total as HD 1.1 " \
               "and as HD 1.2, the greater"
    elif hd11:  # 1.1 with 1.3, or with 1.5 (as 1.1)
        options = [one(total, "1.1")]
        rule = ("IATG 02.20 Table 6: 1.1 + 1.3: both added, HD 1.1 distances for the total"
                if hd13 else "HD 1.5 as HD 1.1: both added, HD 1.1 distances for the total")
    elif hd12 and hd13:  # 1.2 + 1.3: each from its own NEQ
        options = [one(hd12_total, d) for d in sorted(hd12)] + [one(hd13, "1.3.1")]
        rule = "IATG 02.20 Table 6: 1.2 + 1.3: each division's distance from its own NEQ, " \
               "the greatest" + both12
    elif hd12:  # 1.2.1 with 1.2.2
        options = [one(hd12_total, d) for d in sorted(hd12)]
        rule = "1.2.1 + 1.2.2 (not in IATG 02.20 Table 6): the total as each, the greater " \
               "(mineledger's reading)"
    else:  # 1.3.1 with 1.3.2: one table
        options = [one(hd13, "1.3.1")]
        rule = "HD 1.3.1 + 1.3.2: both added, HD 1.3 distances for the total"
    best = max(options, key=lambda d: (d.distance_m, d.raw_m))
    others = "; ".join(f"HD {o.division} {o.neq_kg:,.0f} kg: {o.distance_m} m" for o in options
                       if o is not best)
    return Distance(best.exposed, best.division, best.neq_kg, best.code, best.formula, best.raw_m,
                    best.minimum_m, best.distance_m, best.rule_set, best.table,
                    (rule + (f" (against {others})" if others else ""), *said, *best.notes))


@dataclass(frozen=True)
class Allowance:
    """The NEQ a distance allows: ``neq_kg`` whole kilograms, rounded down (0: the distance
    is below the minimum the rule set requires, or below what any quantity in the table
    needs); ``notes`` as for :class:`Distance`."""

    exposed: str
    division: str
    distance_m: float
    neq_kg: int
    code: str | None
    rule_set: str
    table: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def allowed_neq(distance_m: float, division: str, exposed: str, *,
                vehicles_per_day: int | None = None,
                rule_set: RuleSet | None = None) -> Allowance:
    """The greatest NEQ of one hazard division a building may hold at ``distance_m`` metres
    from an exposed site, rounded down to the kilogram (IATG 02.20: a quantity back-calculated
    from an available distance is rounded down). The formula's own value (before rounding
    up) must not exceed the distance, nor may its minimum.

    Only the table's own quantities are answered: a distance that even its smallest needs
    more than allows no NEQ; one its largest fits allows that largest, with a note (the rule
    set gives nothing beyond).

    Raises
    ------
    QueryError
        A distance not above zero; a division or kind the rule set gives no distance for;
        HD 1.4 (no NEQ-based distance).

    >>> allowed_neq(400, "1.1", "inhabited_building").neq_kg  # D13 at the 400 m minimum
    5849
    """
    rules = rule_set or load_rule_set()
    if isinstance(distance_m, bool) or not (isinstance(distance_m, (int, float)) and
                                            math.isfinite(distance_m) and distance_m > 0):
        raise QueryError(f"distance {distance_m!r}: expected metres above 0")
    check_kind(exposed)
    key, div = rules.division(division)
    if div.fixed_m is not None:
        raise QueryError(f"HD {division}: no NEQ-based distance ({div.fixed_m:g} m from open "
                         "stacks and light buildings whatever the NEQ)")
    rule = _rule(div, key, division, exposed, vehicles_per_day, rules)
    notes = [f"{exposed}: traffic unknown, so the busiest road's rule (give vehicles a day "
             "for the road's own)"] if isinstance(div.exposed[exposed], Traffic) and \
        vehicles_per_day is None else []
    base = Allowance(exposed, division, float(distance_m), 0, rule.code, rules.name, div.table,
                     tuple(notes))
    if distance_m < rule.at_least:
        return _with(base, f"{distance_m:g} m is below the minimum {rule.at_least:g} m: no NEQ")
    low, high = div.range_kg

    def fits(q: float) -> bool:
        return _raw(div, rule, q) <= distance_m

    if not fits(low):
        return _with(base, f"{distance_m:g} m is less than {div.table} gives for its smallest "
                           f"quantity ({low:,.0f} kg): no NEQ from the table")
    if fits(high):
        return _with(base, f"the distance would take more than {div.table} covers: its largest "
                           f"quantity, {high:,.0f} kg, is given; the rule set says nothing of "
                           "more", neq=int(high))
    best = _greatest_fitting(fits, low, high, div.codes[rule.code].bounds(div.codes))
    neq = math.floor(best)
    for _ in range(3):  # the search's last kilogram, both ways
        if neq + 1 <= high and fits(neq + 1):
            neq += 1
        elif neq > 0 and not fits(neq):
            neq -= 1
    notes += _range_notes(div, division, neq) if neq else []
    return Allowance(exposed, division, float(distance_m), neq, rule.code, rules.name, div.table,
                     tuple(notes))


def _greatest_fitting(fits, low: float, high: float, bounds: list[tuple[float, bool]]) -> float:
    """The greatest quantity in ``[low, high]`` that ``fits``, where the formula rises
    within each piece but may fall where one piece gives way to the next (IATG 02.20 D13 at
    4,500 kg): each piece is searched on its own, and the greatest answer taken."""
    edges = [(low, False)] + sorted(b for b in bounds if low < b[0] < high) + [(high, True)]
    best = 0.0
    for (a, a_inclusive), (b, b_inclusive) in zip(edges, edges[1:]):
        start = a * (1 + 1e-12) if a_inclusive else a  # the piece after an "up to" bound
        end = b if b_inclusive else b * (1 - 1e-12)  # the piece before a "below" bound
        if not fits(start):
            continue
        if fits(end):
            best = max(best, end)
            continue
        lo, hi = start, end
        for _ in range(100):  # bisection on log Q: fits(lo), not fits(hi)
            mid = math.sqrt(lo * hi)
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
            if hi - lo < 1e-9 * hi:
                break
        best = max(best, lo)
    return best


def _with(base: Allowance, note: str, *, neq: int = 0) -> Allowance:
    return Allowance(base.exposed, base.division, base.distance_m, neq, base.code, base.rule_set,
                     base.table, (note,))


# -- storage mixing -------------------------------------------------------------------------

@dataclass(frozen=True)
class Mixing:
    """Whether compatibility groups may share a building (AASTP-1 Table 6): ``permitted``
    (every pair X or a note), each pair's verdict (``X``, ``.`` or a note's digit) and the
    notes that apply, in full."""

    groups: tuple[str, ...]
    permitted: bool
    pairs: tuple[tuple[str, str, str], ...]
    notes: tuple[str, ...]
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"groups": list(self.groups), "permitted": self.permitted,
                "pairs": [{"a": a, "b": b, "verdict": v} for a, b, v in self.pairs],
                "notes": list(self.notes), "source": self.source}


@functools.lru_cache(maxsize=1)
def _mixing_table() -> tuple[dict[tuple[str, str], str], dict[str, str], str]:
    doc = yaml.safe_load(MIXING_TABLE.read_text(encoding="utf-8"))
    groups = doc["groups"]
    table = {}
    for a in groups:
        cells = doc["rows"][a].split()
        for b, cell in zip(groups, cells, strict=True):
            table[(a, b)] = cell
    return table, {str(k): v for k, v in doc["notes"].items()}, doc["source"]


def mixing(groups: Iterable[str]) -> Mixing:
    """Whether the compatibility groups may be stored in one building (AASTP-1 Table 6;
    group A is never mixed). Each distinct pair (and a group with itself) is looked up.

    Raises
    ------
    QueryError
        A group that is not one of A–S of IATG 01.50.

    >>> mixing(["D", "E", "S"]).permitted, mixing(["B", "C"]).permitted
    (True, False)
    """
    table, notes, source = _mixing_table()
    known = {g for pair in table for g in pair} | {"A"}
    # a full classification code (1.1D) names its group by its last letter
    chosen = tuple(sorted({g.strip().upper().lstrip("0123456789.") for g in groups}))
    wrong = [g for g in chosen if g not in known]
    if wrong or not chosen:
        raise QueryError(f"compatibility group {', '.join(wrong) or '(none)'}: expected some of "
                         f"{', '.join(sorted(known))}")
    if "A" in chosen and len(chosen) > 1:
        pairs = tuple(("A", g, ".") for g in chosen if g != "A")
        return Mixing(chosen, False, pairs, ("group A (primary explosive) is never mixed",), source)
    pairs = tuple((a, b, table[(a, b)]) for i, a in enumerate(chosen) for b in chosen[i:]
                  if a != "A")
    verdicts = {v for _, _, v in pairs}
    return Mixing(chosen, "." not in verdicts, pairs,
                  tuple(f"note {n}: {notes[n]}" for n in sorted(verdicts & set(notes))), source)
