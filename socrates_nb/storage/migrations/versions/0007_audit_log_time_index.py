"""Audit rows by time: an administrator's listing and the export read them newest or oldest first.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_logs_created_id", "audit_logs", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_logs_created_id", table_name="audit_logs")
