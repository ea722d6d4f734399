"""Baseline: the schema of mineledger stores version 8 (session 2), before Alembic.

A store of that version carries ``schema_version = 8`` in ``mineledger_meta`` and no
``alembic_version`` table; ``mineledger db upgrade`` stamps it with this revision and goes on
from here. Nothing to change.

Revision ID: 0001
Revises:
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
