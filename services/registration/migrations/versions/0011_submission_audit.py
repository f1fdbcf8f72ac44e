"""The audit entries of submissions, stored with the applications (append-only).

Revision ID: 0011_submission_audit
Revises: 0010_live_tallies
Create Date: 2026-12-07
"""

from alembic import op

from shared.auditquery import index_expression
from shared.db import auditlog

revision = "0011_submission_audit"
down_revision = "0010_live_tallies"
branch_labels = None
depends_on = None

def upgrade() -> None:
    auditlog.create(op)
    # The department's search by child reference (shared/auditquery.py).
    expression = index_expression(op.get_bind().dialect.name, "reference")
    op.execute(f"CREATE INDEX ix_audit_reference ON audit_log ({expression}, at)")
    auditlog.append_only(op)


def downgrade() -> None:
    auditlog.drop_guard(op)
    op.drop_table("audit_log")
