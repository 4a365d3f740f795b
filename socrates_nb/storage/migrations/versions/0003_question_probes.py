"""Follow-up probes (a question may ask to make a vague item measurable); newest-items index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("probe_item_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("probe_depth", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_foreign_key(
            "fk_questions_probe_item_id_spec_items", "spec_items", ["probe_item_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_questions_probe_item_id", ["probe_item_id"], unique=False)
    with op.batch_alter_table("spec_items", schema=None) as batch_op:
        batch_op.create_index("ix_spec_items_project_current_created", ["project_id", "is_current", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("spec_items", schema=None) as batch_op:
        batch_op.drop_index("ix_spec_items_project_current_created")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_index("ix_questions_probe_item_id")
        batch_op.drop_constraint("fk_questions_probe_item_id_spec_items", type_="foreignkey")
        batch_op.drop_column("probe_depth")
        batch_op.drop_column("probe_item_id")
