"""``mineledger check`` (run, list, mark) and ``mineledger fix``: data quality."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Optional

import typer
from rich.table import Table

from mineledger.cli.common import (AsOf, InformationAsOf, OptionalCountry, app, command_line,
                                   group, opened, out, say)
from mineledger.errors import QueryError

check_app = group("check", "Data quality: run the rule catalogue, list it, mark findings.",
                  invoke_without_command=True)


class CheckFormat(str, Enum):
    table = "table"
    json = "json"
    html = "html"


def _thresholds(items: list[str] | None) -> dict[str, float]:
    from mineledger.ledger.quality.engine import DEFAULTS

    params = {}
    for item in items or []:
        name, _, value = item.partition("=")
        if name not in DEFAULTS:
            raise QueryError(f"--set {item!r}: unknown threshold; expected one of {', '.join(DEFAULTS)}")
        try:
            params[name] = float(value)
        except ValueError:
            raise QueryError(f"--set {item!r}: expected a number after '='") from None
    return params


def _list_rules(format: CheckFormat, rules: list[str] | None) -> None:
    from mineledger.ledger.quality import CATALOGUE
    from mineledger.ledger.quality.engine import DEFAULTS
    from mineledger.report.findings import rules_html

    unknown = sorted(set(rules or []) - {r.id for r in CATALOGUE})
    if unknown:
        raise QueryError(f"unknown rule(s) {unknown}; `mineledger check --list` lists them")
    listed = [r for r in CATALOGUE if not rules or r.id in rules]
    if format == CheckFormat.json:
        out.print_json(json.dumps({
            "rules": [{"id": r.id, "severity": r.severity, "description": r.description,
                       "per_record": r.per_record} for r in listed],
            "thresholds": DEFAULTS}, ensure_ascii=False))
        return
    if format == CheckFormat.html:
        sys.stdout.write(rules_html(listed, DEFAULTS))
        return
    table = Table(title="data quality rules")
    for col in ("id", "severity", "description"):
        table.add_column(col)
    for r in listed:
        table.add_row(r.id, r.severity, r.description)
    out.print(table)
    out.print("thresholds (--set NAME=VALUE): " + ", ".join(f"{k}={v:g}" for k, v in DEFAULTS.items()),
              highlight=False)


@check_app.callback()
def check(
    ctx: typer.Context,
    country: OptionalCountry = None,
    rule: Annotated[Optional[list[str]], typer.Option("--rule", metavar="ID",
                                                      help="Run only this rule (repeatable).")] = None,
    format: Annotated[CheckFormat, typer.Option(help="table, json or html.")] = CheckFormat.table,
    list_: Annotated[bool, typer.Option("--list", help="List the rules (those of --rule, or all) "
                                        "in the --format, and exit.")] = False,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="NAME=VALUE",
                    help="What a threshold would find, e.g. --set min_area_m2=10 (see --list): "
                    "shown, not stored.")] = None,
    as_of: AsOf = None,
    information_as_of: InformationAsOf = None,
):
    """Run the data quality catalogue on a country and store the findings.

    Findings keep the status a person gave them (`mineledger check mark`) on later runs.
    """
    from mineledger.ledger.asof import as_of as view
    from mineledger.ledger.quality import run_checks
    from mineledger.report.findings import COLUMNS
    from mineledger.report.findings import findings_html

    if ctx.invoked_subcommand is not None:
        return
    if list_:
        for given, option in ((country, "--country"), (set_, "--set"), (as_of, "--as-of"),
                              (information_as_of, "--information-as-of")):
            if given:
                raise QueryError(f"{option} runs the catalogue; --list only lists it (with "
                                 "--rule, only those rules)")
        _list_rules(format, rule)
        return
    params = _thresholds(set_)
    if not country:
        raise QueryError("--country is required (or --list)")
    with opened() as session:
        findings = run_checks(view(session, as_of, information_as_of), country, rule or None,
                              params=params, command=command_line())
    if format == CheckFormat.json:
        rows = [{c: f.get(c) for c in COLUMNS} for f in findings]
        out.print_json(json.dumps(rows, ensure_ascii=False, default=str))
    elif format == CheckFormat.html:
        sys.stdout.write(findings_html(country.upper(), findings))
    else:
        counts: dict[tuple[str, str], int] = {}
        for f in findings:
            counts[(f["rule_id"], f["status"])] = counts.get((f["rule_id"], f["status"]), 0) + 1
        table = Table(title=f"data quality: {country.upper()} ({len(findings):,} findings)")
        for col in ("rule", "status", "findings", "example"):
            table.add_column(col)
        for (rid, status), n in sorted(counts.items()):
            example = next(f for f in findings if f["rule_id"] == rid and f["status"] == status)
            table.add_row(rid, status, f"{n:,}", example["reason"][:90])
        out.print(table)


@check_app.command("mark")
def check_mark(
    fingerprint: Annotated[str, typer.Argument(metavar="FINGERPRINT",
                                               help="The finding (its fingerprint or a prefix).")],
    status: Annotated[str, typer.Option(metavar="STATUS", help="resolved, accepted or open.")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why.")],
):
    """Mark a finding resolved or accepted (or open again), with a reason; later runs keep it."""
    from mineledger.ledger.quality import mark_finding

    with opened() as session:
        row = mark_finding(session, fingerprint, status, reason)
    say(f"{row['rule_id']} on {row['layer']} {row['record_uuid']}: {status} ({reason})")


@app.command()
def fix(
    rule: Annotated[Optional[str], typer.Argument(metavar="RULE", help="The rule whose findings to fix.")] = None,
    country: OptionalCountry = None,
    apply: Annotated[bool, typer.Option("--apply", help="Apply the fix (default: show what it would do).")] = False,
    revert: Annotated[Optional[str], typer.Option(metavar="FIX_ID", help="Undo an applied fix.")] = None,
):
    """Fix a rule's findings: a dry run unless --apply; each fix is in the change log under a
    fix id that --revert undoes."""
    from mineledger.ledger.quality.fixes import apply_fix
    from mineledger.ledger.quality.fixes import plan_fix
    from mineledger.ledger.quality.fixes import revert_fix

    with opened() as session:
        if revert:
            n = revert_fix(session, revert, command=command_line())
            say(f"{revert}: {n} record(s) restored")
            return
        if not rule or not country:
            raise QueryError("give a RULE and --country (or --revert FIX_ID)")
        plan = plan_fix(session, country, rule)
        for p in plan[:20]:
            say(f"{p['layer']} {p['uuid']} ({p['locator']}): {p['change']}")
        if len(plan) > 20:
            out.print(f"… and {len(plan) - 20:,} more", highlight=False)
        if not plan:
            out.print(f"nothing to fix for {rule} in {country.upper()}", highlight=False)
            return
        if not apply:
            out.print(f"dry run: {len(plan):,} record(s) would change; add --apply to apply",
                      highlight=False)
            return
        fix_id = apply_fix(session, rule, plan, command=command_line())
    say(f"applied to {len(plan):,} record(s) as {fix_id}; undo with: mineledger fix "
        f"--revert {fix_id}")
