"""``mineledger safety``: the quantity-distance calculator (IATG 02.20) and the storage mixing
of compatibility groups (AASTP-1), which need no store."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.table import Table
from rich.text import Text

from mineledger.cli.common import group, out, say

safety_app = group("safety", "Explosive storage safety: quantity-distances (IATG 02.20) and the "
                             "mixing of compatibility groups (AASTP-1). Needs no store.")


class CalcFormat(str, Enum):
    table = "table"
    json = "json"


RuleSetOption = Annotated[Optional[Path], typer.Option(
    "--rule-set", metavar="FILE", help="A rule set (YAML; default IATG 02.20, 3rd edition 2021).")]
Vehicles = Annotated[Optional[int], typer.Option(
    "--vehicles", metavar="N", min=0, help="A public road's traffic, vehicles a day (its use level).")]
Division = Annotated[str, typer.Option("--division", metavar="HD",
                                       help="Hazard division: 1.1, 1.2.1, 1.2.2, 1.3.1, 1.3.2, 1.4, 1.5.")]


def _holdings(values: list[str], division: str | None) -> dict[str, float]:
    """``--neq 10000`` (of ``--division``) or ``--neq 1.1=8000 …`` as ``{division: kg}``."""
    from mineledger.errors import QueryError

    held: dict[str, float] = {}
    for v in values:
        hd, _, kg = v.rpartition("=")
        hd = hd.strip() or division
        try:  # no thousands separators: "2.500,75" must not become 2.5 kg
            q = float(kg.strip()) if "," not in kg and "_" not in kg else None
        except ValueError:
            q = None
        if q is None:
            raise QueryError(f"--neq {v}: expected kilograms written plainly (10000 or "
                             "2500.75, no separators), or a division and kilograms (1.1=8000)")
        if hd is None:
            raise QueryError(f"--neq {v}: name its division (--division 1.1, or --neq 1.1={kg})")
        if hd in held:
            raise QueryError(f"--neq: HD {hd} given twice; give each division's NEQ once")
        held[hd] = q
    return held


def _check_vehicles(vehicles: int | None, exposed: str | None) -> None:
    """``--vehicles`` is a road's traffic: refused with another kind of exposed site."""
    from mineledger.errors import QueryError

    if vehicles is not None and exposed is not None and exposed != "public_road":
        raise QueryError(f"--vehicles: the traffic of a public road; --exposed {exposed} is "
                         "not one")


@safety_app.command("distance")
def safety_distance(
    neq: Annotated[List[str], typer.Option(
        "--neq", metavar="KG|HD=KG", help="Net explosive quantity in kg, of --division, or of a "
        "division (1.1=8000); repeat for a building holding several (IATG 02.20 Table 6).")],
    division: Annotated[Optional[str], typer.Option(
        "--division", metavar="HD", help="The division of a bare --neq.")] = None,
    exposed: Annotated[Optional[str], typer.Option(
        "--exposed", metavar="KIND", help="One kind of exposed site (inhabited_building, "
        "vulnerable_building, school, hospital, public_road, railway, process_building, "
        "magazine …); default every kind the rule set gives.")] = None,
    code: Annotated[Optional[str], typer.Option(
        "--code", metavar="D", help="One formula of the division's table (D12 …), without an "
        "exposed site's factor or minimum.")] = None,
    vehicles: Vehicles = None,
    rule_set: RuleSetOption = None,
    format: Annotated[CalcFormat, typer.Option(help="table or json.")] = CalcFormat.table,
):
    """The separation distance (m, rounded up) a building needs for what it holds, by kind of
    exposed site."""
    from mineledger.errors import QueryError
    from mineledger.stockpile.storage_safety import (EXPOSED_KINDS, code_distance,
                                                     load_rule_set, mixed_distance)

    rules = load_rule_set(rule_set)
    held = _holdings(neq, division)
    _check_vehicles(vehicles, exposed)
    missing: list[str] = []
    if division is not None and all("=" in v for v in neq):
        raise QueryError(f"--division {division}: every --neq names its own division; give "
                         "one or the other")
    if code is not None:
        if len(held) != 1:
            raise QueryError("--code: one division's NEQ (a formula is of one division)")
        if exposed is not None or vehicles is not None:
            raise QueryError("--code gives a formula alone: --exposed and --vehicles do not "
                             "apply to it")
        (hd, q), = held.items()
        found = [code_distance(q, hd, code, rule_set=rules)]
    else:
        if exposed:
            found = [mixed_distance(held, exposed, vehicles_per_day=vehicles, rule_set=rules)]
        else:  # every kind the rule set gives a distance to for what is held; the rest named
            found = []
            for k in EXPOSED_KINDS:
                try:
                    found.append(mixed_distance(held, k, vehicles_per_day=vehicles,
                                                rule_set=rules))
                except QueryError as exc:
                    if "gives no distance to" not in str(exc):
                        raise
                    missing.append(k)
            if not found:
                raise QueryError(f"the rule set {rules.name} gives no distance to any kind of "
                                 "exposed site for what is held")
    if format == CalcFormat.json:
        out.print_json(json.dumps([d.to_dict() for d in found], ensure_ascii=False))
        return
    table = Table(title=f"Separation distances ({rules.name}, {rules.edition})")
    for col in ("exposed site", "division", "NEQ kg", "formula", "formula m", "at least m",
                "distance m"):
        table.add_column(col, justify="right" if col.endswith(("kg", " m")) else "left")
    for d in found:
        table.add_row(Text(d.exposed or "—"), Text(d.division), f"{d.neq_kg:,.0f}", Text(d.formula),
                      f"{d.raw_m:,.1f}", f"{d.minimum_m:,.0f}", f"{d.distance_m:,}")
    out.print(table)
    # a note every row carries is said once; one of some rows only names them
    every = set.intersection(*(set(d.notes) for d in found))
    for note in dict.fromkeys(n for d in found for n in d.notes if n in every):
        say(f"note: {note}")
    for d in found:
        for note in d.notes:
            if note not in every:
                say(f"note ({d.exposed or d.code}): {note}")
    if code is None and not exposed and missing:
        say(f"note: {rules.name} gives no distance to: {', '.join(missing)}")
    steps = "; ".join(f"below {st.below:,.0f} m to {st.step} m" if st.below else
                      f"above that to {st.step} m" for st in rules.rounding)
    say(f"distances rounded up ({rules.name}): {steps}")


@safety_app.command("neq")
def safety_neq(
    distance: Annotated[float, typer.Option("--distance", metavar="M",
                                            help="The distance available, metres.")],
    division: Division,
    exposed: Annotated[str, typer.Option("--exposed", metavar="KIND",
                                         help="The kind of exposed site at that distance.")],
    vehicles: Vehicles = None,
    rule_set: RuleSetOption = None,
    format: Annotated[CalcFormat, typer.Option(help="table or json.")] = CalcFormat.table,
):
    """The greatest NEQ (kg, rounded down) a distance allows from one kind of exposed site."""
    from mineledger.stockpile.storage_safety import allowed_neq, load_rule_set

    _check_vehicles(vehicles, exposed)
    a = allowed_neq(distance, division, exposed, vehicles_per_day=vehicles,
                    rule_set=load_rule_set(rule_set))
    if format == CalcFormat.json:
        out.print_json(json.dumps(a.to_dict(), ensure_ascii=False))
        return
    say(f"{a.distance_m:g} m from {a.exposed}: at most {a.neq_kg:,} kg of HD {a.division} "
        f"({a.table}, {a.code})")
    for note in a.notes:
        say(f"note: {note}")


@safety_app.command("mixing")
def safety_mixing(
    groups: Annotated[List[str], typer.Argument(
        metavar="GROUP...", help="Compatibility groups (A–S), or full classification codes "
        "(1.1D: group D).", show_default=False)],
    format: Annotated[CalcFormat, typer.Option(help="table or json.")] = CalcFormat.table,
):
    """Whether compatibility groups may share a building (AASTP-1 Table 6); exit status 1 if
    not."""
    from mineledger.stockpile.storage_safety import mixing

    m = mixing(groups)
    if format == CalcFormat.json:
        out.print_json(json.dumps(m.to_dict(), ensure_ascii=False))
    else:
        verdict = "not permitted" if not m.permitted else \
            "permitted only as the notes below say" if m.notes else "permitted"
        say(f"{' + '.join(m.groups)}: {verdict} ({m.source})")
        for a, b, v in m.pairs:
            if a != b or v != "X":
                say(f"  {a} with {b}: {'X' if v == 'X' else 'not permitted' if v == '.' else 'note ' + v}")
        for note in m.notes:
            say(f"  {note}")
    if not m.permitted:
        raise typer.Exit(1)
