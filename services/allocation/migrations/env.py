"""Alembic environment of the allocation database."""

from services.allocation.models import Base
from shared.db.migrate import run_env

run_env(Base.metadata)
