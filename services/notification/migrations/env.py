"""Alembic environment of the notification database."""

from services.notification.models import Base
from shared.db.migrate import run_env

run_env(Base.metadata)
