"""Open questions (non-answers kept as gaps) and the follow-up state of each item.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spec_items") as batch:
        batch.add_column(sa.Column("probe_state", sa.String(length=16), nullable=False, server_default="none"))
    op.create_table(
        "open_questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("question_id", sa.Uuid(), nullable=True),
        sa.Column("answer_id", sa.Uuid(), nullable=True),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name="fk_open_questions_project_id_projects",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name="fk_open_questions_session_id_sessions",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], name="fk_open_questions_question_id_questions",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["answer_id"], ["answers.id"], name="fk_open_questions_answer_id_answers",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["item_id"], ["spec_items.id"], name="fk_open_questions_item_id_spec_items",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_open_questions"),
    )
    op.create_index("ix_open_questions_project_status", "open_questions", ["project_id", "status"])
    for column in ("session_id", "question_id", "answer_id", "item_id"):
        op.create_index(f"ix_open_questions_{column}", "open_questions", [column])


def downgrade() -> None:
    op.drop_table("open_questions")
    with op.batch_alter_table("spec_items") as batch:
        batch.drop_column("probe_state")
