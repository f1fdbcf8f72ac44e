"""Alembic environment of the registration database."""

from services.registration.models import Base
from shared.db.migrate import run_env

run_env(Base.metadata)
