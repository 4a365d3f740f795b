"""Covering indexes for the answer turn's spec_items queries.

The per-category confidence sums now read only the index (confidence included), and
the same-key lookup filters on is_current inside the index. Measured with
benchmarks/bench_answer_turn.py: the turn at 10,000 stored items went from about 7x to
about 1.4x the 10-item turn on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 07:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spec_items", schema=None) as batch_op:
        batch_op.drop_index("ix_spec_items_project_current_category")
        batch_op.drop_index("ix_spec_items_project_key")
        batch_op.create_index(
            "ix_spec_items_project_current_category", ["project_id", "is_current", "category", "confidence"]
        )
        batch_op.create_index("ix_spec_items_project_key", ["project_id", "key", "is_current"])


def downgrade() -> None:
    with op.batch_alter_table("spec_items", schema=None) as batch_op:
        batch_op.drop_index("ix_spec_items_project_key")
        batch_op.drop_index("ix_spec_items_project_current_category")
        batch_op.create_index("ix_spec_items_project_key", ["project_id", "key"])
        batch_op.create_index("ix_spec_items_project_current_category", ["project_id", "is_current", "category"])
