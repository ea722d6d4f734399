"""Headline figures kept at commit: the tables of :mod:`mineledger.land.figures`.

``figure_members`` (the cluster of land each hazard and outcome record is in),
``figure_cells`` (each cluster's land by set, grouping, administrative area and level, whole mm²),
``figure_totals`` (their sums per country),
``figure_counts`` (a country's other figures, JSON) and ``figure_state`` (the last change-log
entry the figures take in). They are created empty: the first write or the first summary
after the upgrade finds the figures behind the change log and builds them (or run
``mineledger figures rebuild``).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _fid():
    return sa.Column("fid", sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
                     primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table("figure_members", _fid(),
                    sa.Column("country", sa.Text, nullable=False),
                    sa.Column("layer", sa.Text, nullable=False),
                    sa.Column("uuid", sa.Text, nullable=False),
                    sa.Column("cluster", sa.Text, nullable=False),
                    sqlite_autoincrement=True)
    op.create_index("ix_figure_members_uuid", "figure_members", ["uuid"])
    op.create_index("ix_figure_members_cluster", "figure_members", ["country", "cluster"])
    op.create_table("figure_cells", _fid(),
                    sa.Column("country", sa.Text, nullable=False),
                    sa.Column("cluster", sa.Text, nullable=False),
                    sa.Column("grouping", sa.Text, nullable=False),
                    sa.Column("grp", sa.Text, nullable=False),
                    sa.Column("set_name", sa.Text, nullable=False),
                    sa.Column("level", sa.Integer, nullable=False),
                    sa.Column("code", sa.Text, nullable=False),
                    sa.Column("mm2", sa.BigInteger, nullable=False),
                    sqlite_autoincrement=True)
    op.create_index("ix_figure_cells_cluster", "figure_cells", ["country", "cluster"])
    op.create_table("figure_totals", _fid(),
                    sa.Column("country", sa.Text, nullable=False),
                    sa.Column("grouping", sa.Text, nullable=False),
                    sa.Column("grp", sa.Text, nullable=False),
                    sa.Column("set_name", sa.Text, nullable=False),
                    sa.Column("level", sa.Integer, nullable=False),
                    sa.Column("code", sa.Text, nullable=False),
                    sa.Column("mm2", sa.BigInteger, nullable=False),
                    sa.Column("cells", sa.BigInteger, nullable=False),
                    sqlite_autoincrement=True)
    op.create_index("ix_figure_totals_country", "figure_totals", ["country"])
    op.create_table("figure_counts", _fid(),
                    sa.Column("country", sa.Text, nullable=False, unique=True),
                    sa.Column("counts", sa.Text, nullable=False),
                    sqlite_autoincrement=True)
    op.create_table("figure_state",
                    sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", sa.BigInteger, nullable=False))


def downgrade() -> None:
    for name in ("figure_state", "figure_counts", "figure_totals", "figure_cells",
                 "figure_members"):
        op.drop_table(name)
