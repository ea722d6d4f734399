"""Events keep a year-month precision and count casualties whose outcome is not known.

National case files give one row per event with its date in year, month and day columns
(any of them may be empty) and its casualties as counts: ``events.month`` (integer 1–12)
keeps a date known to the month, and ``events.outcome_unknown`` (integer) counts the people
hurt whose outcome is not known, so that casualties = killed + injured + outcome_unknown
(DESIGN.md, "Identities").

Both back ends add the columns in place (``ALTER TABLE … ADD COLUMN``), nullable, so existing
events read as not known; integers are 64-bit on PostgreSQL as in
:mod:`mineledger.store.schema`. On SQLite this keeps the GeoPackage R-tree triggers (batch mode
would drop them).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: The columns this revision adds to ``events``.
_COLUMNS = ("month", "outcome_unknown")


def _integer():
    return sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("events", sa.Column(name, _integer(), nullable=True))


def downgrade() -> None:
    for name in reversed(_COLUMNS):
        op.drop_column("events", name)
