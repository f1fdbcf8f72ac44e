"""Accounts, refresh tokens, login codes, application claims and the append-only audit log.

Revision ID: 0001_accounts
Revises:
Create Date: 2026-11-01
"""

import sqlalchemy as sa
from alembic import op

from shared.db import auditlog

revision = "0001_accounts"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("phone", sa.String(20), unique=True),
        sa.Column("username", sa.String(64), unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("school_code", sa.String(20)),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("phone_verified_at", TS),
        sa.Column("disabled_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("role IN ('parent', 'staff', 'department')", name="ck_accounts_role"),
        sa.CheckConstraint(
            "(role = 'parent' AND phone IS NOT NULL) OR "
            "(role = 'staff' AND username IS NOT NULL AND school_code IS NOT NULL) OR "
            "(role = 'department' AND username IS NOT NULL)",
            name="ck_accounts_login",
        ),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("family_id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("replaced_by", sa.String(36)),
    )
    op.create_index("ix_refresh_tokens_account_id", "refresh_tokens", ["account_id"])
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("consumed_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_otp_challenges_account_id", "otp_challenges", ["account_id"])
    op.create_table(
        "application_claims",
        sa.Column("reference", sa.String(32), primary_key=True),
        sa.Column("owner_id", sa.String(36), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("round_id", sa.String(40), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
    )
    op.create_index("ix_application_claims_owner_id", "application_claims", ["owner_id"])
    auditlog.create(op)
    auditlog.append_only(op)


def downgrade() -> None:
    auditlog.drop_guard(op)
    for table in (
        "audit_log",
        "application_claims",
        "otp_challenges",
        "refresh_tokens",
        "accounts",
    ):
        op.drop_table(table)
