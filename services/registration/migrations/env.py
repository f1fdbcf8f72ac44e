"""Alembic environment of the registration database."""

import services.registration.correction_models  # noqa: F401 - correction requests
import services.registration.register_models  # noqa: F401 - puts register_people in the metadata
from services.registration.models import Base
from shared.db.migrate import run_env

run_env(Base.metadata)
