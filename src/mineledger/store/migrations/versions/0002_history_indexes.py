"""Index the change log by import and the transactions by commit time.

``imports show``/``imports revert`` read an import's changes, and every ``--as-of`` selects
the transactions committed by an instant; both scanned the whole table.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_change_log_import", "change_log", ["import_id"])
    op.create_index("ix_transactions_committed", "transactions", ["committed_at"])


def downgrade() -> None:
    op.drop_index("ix_transactions_committed", table_name="transactions")
    op.drop_index("ix_change_log_import", table_name="change_log")
