"""The findings of a quality check, and the rules of the catalogue, as HTML pages
(``mineledger check --format html``, ``check --list --format html``)."""

from __future__ import annotations

from typing import Any

from mineledger.report.country import environment

#: The columns of a finding the page shows, in order.
COLUMNS = ["fingerprint", "rule_id", "severity", "layer", "record_uuid", "reason",
           "suggested_fix", "status", "status_reason"]


def findings_html(country: str, findings: list[dict[str, Any]]) -> str:
    """A self-contained HTML page of ``findings`` (as :func:`mineledger.ledger.quality.run_checks`
    returns them) for ``country``; values are escaped."""
    rows = [{c: f.get(c) for c in COLUMNS} for f in findings]
    return environment().get_template("findings.html.j2").render(c=country, rows=rows,
                                                                 cols=COLUMNS)


def rules_html(rules, thresholds: dict[str, float]) -> str:
    """A self-contained HTML page of the quality rules (``check --list --format html``)."""
    return environment().get_template("rules.html.j2").render(rules=rules,
                                                              thresholds=thresholds)
