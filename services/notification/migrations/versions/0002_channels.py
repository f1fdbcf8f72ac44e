"""Channels: delivery attempts and errors, recipients as keyed hashes, the inbox, login codes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Batch mode: SQLite (the embedded default) can only alter a table by copying it.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("transport", sa.String(10), nullable=False, server_default="smtp"))
        batch.add_column(sa.Column("recipient_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("last_error", sa.String(40), nullable=True))
        batch.add_column(sa.Column("created_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("updated_at", TIMESTAMP, nullable=True))
        batch.alter_column("status", existing_type=sa.String(12), type_=sa.String(16))
        batch.alter_column("sent_at", existing_type=TIMESTAMP, nullable=True)
        # The plain address goes: a keyed hash is all the cap needs (earlier rows keep none).
        batch.drop_column("recipient")
    op.execute("UPDATE deliveries SET created_at = sent_at, updated_at = sent_at")
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("created_at", existing_type=TIMESTAMP, nullable=False)
        batch.alter_column("updated_at", existing_type=TIMESTAMP, nullable=False)
        batch.create_index("ix_deliveries_recipient_day", ["recipient_key", "created_at"])
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("reference", sa.String(32), nullable=False, index=True),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "otp_sends",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recipient_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.String(40), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Index("ix_otp_sends_recipient_time", "recipient_key", "created_at"),
    )


def downgrade() -> None:
    op.drop_table("otp_sends")
    op.drop_table("inbox_messages")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_recipient_day")
        batch.add_column(sa.Column("recipient", sa.String(254), nullable=False, server_default=""))
    op.execute("DELETE FROM deliveries WHERE sent_at IS NULL")
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("sent_at", existing_type=TIMESTAMP, nullable=False)
        batch.alter_column("status", existing_type=sa.String(16), type_=sa.String(12))
        for column in ("updated_at", "created_at", "last_error", "attempts"):
            batch.drop_column(column)
        batch.drop_column("recipient_key")
        batch.drop_column("transport")
