"""Alembic environment of the gateway's database (accounts, tokens, claims, audit log)."""

from gateway import helpdesk  # noqa: F401 - registers the table on the metadata
from gateway.audit import AuditEntry  # noqa: F401 - registers the table on the metadata
from gateway.auth import models  # noqa: F401 - registers the tables on the metadata
from gateway.db import Base
from shared.db.migrate import run_env

run_env(Base.metadata)
