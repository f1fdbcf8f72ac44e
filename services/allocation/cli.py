"""Department command line for the allocation database: the city's schools and demo rounds.

Usage:
  python -m services.allocation.cli import-city var/demo/small   # wards.csv + schools.csv
  python -m services.allocation.cli demo [--year 2027]           # open one round per level
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from services.allocation.domain import AGE_BY_LEVEL, RoundOptions, round_id_for
from services.allocation.models import Round
from services.allocation.rounds import create_round, open_round
from services.allocation.schools import import_city
from shared.config import load_config
from shared.db.engine import build_engine
from shared.db.migrate import service_config_path


def load_demo(session: Session, year: int) -> list[str]:
    """Create and open one round per level for `year`, unless it already exists."""
    opened = []
    for level in AGE_BY_LEVEL:
        round_id = round_id_for(year, level)
        if session.get(Round, round_id) is None:
            create_round(session, RoundOptions(level=level, year=year))
            session.flush()
            open_round(session, round_id)
            opened.append(round_id)
    return opened


def main() -> None:
    """Run one department command against the database in the service's config."""
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="open the demo rounds")
    demo.add_argument("--year", type=int, default=2027)
    city = commands.add_parser("import-city", help="upsert wards.csv and schools.csv")
    city.add_argument("directory", type=Path)
    args = parser.parse_args()
    engine = build_engine(load_config(service_config_path("allocation"))["DB_URI"])
    with Session(engine) as session, session.begin():
        if args.command == "demo":
            opened = load_demo(session, args.year)
            print("opened rounds:", ", ".join(opened) if opened else "none (already open)")
            return
        report = import_city(session, args.directory)
    for problem in report.refused:
        print(problem, file=sys.stderr)
    print(f"imported {report.wards} wards, {report.schools} schools, refused {len(report.refused)}")


if __name__ == "__main__":
    main()
