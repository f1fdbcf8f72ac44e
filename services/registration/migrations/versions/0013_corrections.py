"""Correction requests (with their evidence) and the register corrections they led to.

Revision ID: 0013_corrections
Revises: 0012_help_point
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_corrections"
down_revision = "0012_help_point"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "correction_requests",
        sa.Column("request_id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("round_id", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(64)),
        sa.Column("codes", sa.JSON, nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("evidence", sa.LargeBinary),
        sa.Column("evidence_type", sa.String(40), nullable=False),
        sa.Column("evidence_bytes", sa.Integer, nullable=False),
        sa.Column("evidence_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("reason", sa.String(500)),
        sa.Column("outcome", sa.String(20)),
    )
    op.create_index("ix_correction_requests_reference", "correction_requests", ["reference"])
    op.create_index("ix_correction_requests_status", "correction_requests", ["status"])
    op.create_table(
        "register_corrections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("citizen_id", sa.String(12)),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("created", sa.Boolean, nullable=False),
        sa.Column("corrected_by", sa.String(64)),
        sa.Column("corrected_at", TS, nullable=False),
    )
    op.create_index("ix_register_corrections_request_id", "register_corrections", ["request_id"])


def downgrade() -> None:
    op.drop_table("register_corrections")
    op.drop_table("correction_requests")
