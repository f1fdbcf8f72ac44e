"""Accounts erased at their owner's request: no phone, no username, kept under their id.

Revision ID: 0003_erasure
Revises: 0001_accounts
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_erasure"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None

LOGIN = (
    "(role = 'parent' AND phone IS NOT NULL) OR "
    "(role = 'staff' AND username IS NOT NULL AND school_code IS NOT NULL) OR "
    "(role = 'department' AND username IS NOT NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint("ck_accounts_login", type_="check")
        batch.create_check_constraint("ck_accounts_login", f"{LOGIN} OR erased_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("ck_accounts_login", type_="check")
        batch.create_check_constraint("ck_accounts_login", LOGIN)
        batch.drop_column("erased_at")
