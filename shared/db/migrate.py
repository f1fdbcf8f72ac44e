"""Run a service's Alembic migrations against the database its config names.

Usage: python -m shared.db.migrate registration allocation notification
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from shared.config import load_config
from shared.db.engine import build_engine

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registration", "allocation", "notification")


def service_config_path(service: str) -> Path:
    """Where a service's `config.yml` lives."""
    return ROOT / "services" / service / "config.yml"


def upgrade(service: str, db_uri: str, revision: str = "head") -> None:
    """Bring `db_uri` up to `revision` of `service`'s migrations."""
    alembic_config = Config()
    migrations = ROOT / "services" / service / "migrations"
    alembic_config.set_main_option("script_location", str(migrations))
    alembic_config.attributes["db_uri"] = db_uri
    command.upgrade(alembic_config, revision)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py` (online mode only)."""
    engine = build_engine(context.config.attributes["db_uri"])
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main() -> None:
    """Migrate each named service's database to head."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="+", choices=SERVICES)
    for service in parser.parse_args().services:
        upgrade(service, load_config(service_config_path(service))["DB_URI"])


if __name__ == "__main__":
    main()
