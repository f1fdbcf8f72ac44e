"""Parents' contact preferences; the round of each inbox notice (to wipe practice rounds).

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_preferences",
        sa.Column("owner_id", sa.String(64), primary_key=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("email", sa.Boolean, nullable=False),
        sa.Column("sms", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("inbox_messages") as batch:
        batch.add_column(sa.Column("round_id", sa.String(40), nullable=True))
        batch.create_index("ix_inbox_messages_round_id", ["round_id"])


def downgrade() -> None:
    with op.batch_alter_table("inbox_messages") as batch:
        batch.drop_index("ix_inbox_messages_round_id")
        batch.drop_column("round_id")
    op.drop_table("contact_preferences")
