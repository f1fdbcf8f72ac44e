"""Run a service's Alembic migrations against the database its config names.

Usage: python -m shared.db.migrate registration allocation notification gateway
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
# The gateway keeps its own database too (accounts, tokens, the audit log), under gateway/.
DATABASES = (*SERVICES, "gateway")


def _home(service: str) -> Path:
    return ROOT / "gateway" if service == "gateway" else ROOT / "services" / service


def service_config_path(service: str) -> Path:
    """Where a service's `config.yml` lives."""
    return _home(service) / "config.yml"


def upgrade(service: str, db_uri: str, revision: str = "head") -> None:
    """Bring `db_uri` up to `revision` of `service`'s migrations."""
    alembic_config = Config()
    migrations = _home(service) / "migrations"
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
    parser.add_argument("services", nargs="+", choices=DATABASES)
    for service in parser.parse_args().services:
        key = "GATEWAY_DB_URI" if service == "gateway" else "DB_URI"
        upgrade(service, load_config(service_config_path(service))[key])


if __name__ == "__main__":
    main()
