"""Data quality: a catalogue of rules that find what officers otherwise clean by hand.

Each rule has a stable id, a severity, a one-line description, and yields findings: the
record, the reason and a suggested fix. Findings are stored with their history
(``quality_findings``): a person can mark one resolved or accepted with a reason, and it stays
so on later runs. Thresholds follow GICHD's geocheck scripts for IMSMA NG
(../shared/reference/mine-action.md) unless a rule says otherwise.

>>> [r.id for r in CATALOGUE][:3]
['GEOM-MISSING', 'GEOM-INVALID', 'GEOM-FEW-VERTICES']
"""

from mineledger.ledger.quality.engine import (
    CATALOGUE,
    Finding,
    Rule,
    import_warnings,
    mark_finding,
    rule_ids,
    run_checks,
)
from mineledger.ledger.quality import geometry, attributes  # noqa: E402,F401 (register the rules)

__all__ = ["CATALOGUE", "Finding", "Rule", "import_warnings", "mark_finding", "rule_ids",
           "run_checks"]
