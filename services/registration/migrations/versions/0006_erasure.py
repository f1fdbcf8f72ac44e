"""Erasure on request: personal columns may be NULL; when erasure was asked for and done.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PERSONAL = (
    ("citizen_id", sa.String(12)),
    ("child_name", sa.String(120)),
    ("date_of_birth", sa.Date()),
    ("guardian_name", sa.String(120)),
    ("guardian_phone", sa.String(16)),
    ("guardian_email", sa.String(254)),
)


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        for name, type_ in PERSONAL:
            batch.alter_column(name, existing_type=type_, nullable=True)
        batch.add_column(sa.Column("erasure_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_applications_erasure_requested_at", ["erasure_requested_at"])


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_index("ix_applications_erasure_requested_at")
        batch.drop_column("erased_at")
        batch.drop_column("erasure_requested_at")
        for name, type_ in PERSONAL:
            batch.alter_column(name, existing_type=type_, nullable=False)
