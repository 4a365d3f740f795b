"""Request signing: each user's encrypted signing secret, and the signatures already used (replay protection).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_signing_keys_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_signing_keys"),
    )
    op.create_table(
        "used_signatures",
        sa.Column("signature_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature_hash", name="pk_used_signatures"),
    )
    op.create_index("ix_used_signatures_expires_at", "used_signatures", ["expires_at"])


def downgrade() -> None:
    op.drop_table("used_signatures")
    op.drop_table("signing_keys")
