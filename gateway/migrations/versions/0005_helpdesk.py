"""Help desks: an operator role bound to one school or one ward, and the applications they
registered for families without an account (with the kind and last digits of the paper seen).

Revision ID: 0005_helpdesk
Revises: 0004_audit_search
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_helpdesk"
down_revision = "0004_audit_search"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ROLES_BEFORE = "role IN ('parent', 'staff', 'department')"
ROLES_AFTER = "role IN ('parent', 'staff', 'department', 'helpdesk')"
LOGIN_BEFORE = (
    "(role = 'parent' AND phone IS NOT NULL) OR "
    "(role = 'staff' AND username IS NOT NULL AND school_code IS NOT NULL) OR "
    "(role = 'department' AND username IS NOT NULL) OR erased_at IS NOT NULL"
)
LOGIN_AFTER = (
    f"{LOGIN_BEFORE} OR (role = 'helpdesk' AND username IS NOT NULL AND "
    "(school_code IS NULL) <> (ward_code IS NULL))"
)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("ward_code", sa.String(10), nullable=True))
        batch.drop_constraint("ck_accounts_role", type_="check")
        batch.create_check_constraint("ck_accounts_role", ROLES_AFTER)
        batch.drop_constraint("ck_accounts_login", type_="check")
        batch.create_check_constraint("ck_accounts_login", LOGIN_AFTER)
    op.create_table(
        "help_point_registrations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("round_id", sa.String(40), nullable=False),
        sa.Column("officer_id", sa.String(36), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("help_point", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(36), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("document_kind", sa.String(20), nullable=False),
        sa.Column("document_last_digits", sa.String(4), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
    )
    op.create_index(
        "ix_help_point_registrations_reference", "help_point_registrations", ["reference"]
    )
    op.create_index(
        "ix_help_point_registrations_officer_id", "help_point_registrations", ["officer_id"]
    )


def downgrade() -> None:
    op.drop_table("help_point_registrations")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("ck_accounts_login", type_="check")
        batch.create_check_constraint("ck_accounts_login", LOGIN_BEFORE)
        batch.drop_constraint("ck_accounts_role", type_="check")
        batch.create_check_constraint("ck_accounts_role", ROLES_BEFORE)
        batch.drop_column("ward_code")
