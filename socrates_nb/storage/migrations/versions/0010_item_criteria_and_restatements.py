"""Acceptance criteria of functional items, and the earlier answers an item restates.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spec_items") as batch:
        batch.add_column(sa.Column("criteria", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("restated_from", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("spec_items") as batch:
        batch.drop_column("restated_from")
        batch.drop_column("criteria")
