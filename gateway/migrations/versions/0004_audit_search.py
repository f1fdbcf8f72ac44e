"""Indexes for searching the audit log: by the child reference and school code an entry
names, and by action and time.

Revision ID: 0004_audit_search
Revises: 0003_erasure
Create Date: 2026-12-07
"""

from alembic import op

from shared.auditquery import index_expression

revision = "0004_audit_search"
down_revision = "0003_erasure"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for key in ("reference", "code", "round_id"):
        expression = index_expression(dialect, key)
        op.execute(f"CREATE INDEX ix_audit_{key} ON audit_log ({expression}, at)")
    op.create_index("ix_audit_action_at", "audit_log", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_action_at", "audit_log")
    for key in ("reference", "code", "round_id"):
        op.execute(f"DROP INDEX ix_audit_{key}")
