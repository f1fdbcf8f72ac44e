"""Applications registered at a help point: which one (`ward:CODE` or `school:CODE`).

Revision ID: 0012_help_point
Revises: 0011_submission_audit
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_help_point"
down_revision = "0011_submission_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("help_point", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("help_point")
