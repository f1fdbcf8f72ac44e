"""Department command line for the allocation database: load the demo rounds.

Usage: python -m services.allocation.cli demo [--year 2027]
"""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from services.allocation.domain import AGE_BY_LEVEL, round_id_for
from services.allocation.models import Round
from services.allocation.rounds import create_round, open_round
from shared.config import load_config
from shared.db.engine import build_engine
from shared.db.migrate import service_config_path


def load_demo(session: Session, year: int) -> list[str]:
    """Create and open one round per level for `year`, unless it already exists."""
    opened = []
    for level in AGE_BY_LEVEL:
        round_id = round_id_for(year, level)
        if session.get(Round, round_id) is None:
            create_round(session, round_id, level, year)
            session.flush()
            open_round(session, round_id)
            opened.append(round_id)
    return opened


def main() -> None:
    """Open the demo city's rounds; the service relays `round_opened` when it runs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["demo"])
    parser.add_argument("--year", type=int, default=2027)
    args = parser.parse_args()
    engine = build_engine(load_config(service_config_path("allocation"))["DB_URI"])
    with Session(engine) as session, session.begin():
        opened = load_demo(session, args.year)
    print("opened rounds:", ", ".join(opened) if opened else "none (already there)")


if __name__ == "__main__":
    main()
