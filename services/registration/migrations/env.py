"""Alembic environment of the registration database."""

import services.registration.corrections.models  # noqa: F401 - correction requests
import services.registration.register.models  # noqa: F401 - puts register_people in the metadata
from services.registration.models import Base
from shared.db.migrate import run_env

run_env(Base.metadata)
