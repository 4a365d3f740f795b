"""Per-user project counts by status, so a page of projects knows its total without counting rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_counts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_project_counts_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "status", name="pk_project_counts"),
    )
    op.execute(
        "INSERT INTO project_counts (user_id, status, n) SELECT user_id, status, count(*) FROM projects GROUP BY user_id, status"
    )


def downgrade() -> None:
    op.drop_table("project_counts")
