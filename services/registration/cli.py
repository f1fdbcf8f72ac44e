"""Department command line for the registration database: import the population register.

Usage: python -m services.registration.cli import-register FILE.csv [--batch-size 5000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from services.registration.register.csv_import import import_register
from services.registration.register.csv_rows import COLUMNS, BadRow, RegisterFileError
from shared.config import load_config
from shared.db.engine import build_engine
from shared.db.migrate import service_config_path


def report_bad_row(row: BadRow) -> None:
    """One stderr line per bad row: line number and field names, never the values."""
    tqdm.write(row.describe(), file=sys.stderr)  # keeps a running progress bar intact


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; the exit status is 0 once the import has finished, 2 if it could not."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import-register", help="upsert the register from a CSV file")
    importer.add_argument("file", type=Path, help="CSV with the columns " + ",".join(COLUMNS))
    importer.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if not args.file.is_file():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    engine = build_engine(load_config(service_config_path("registration"))["DB_URI"])
    try:
        summary = import_register(
            engine, args.file, batch_size=args.batch_size, on_bad_row=report_bad_row
        )
    except RegisterFileError as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(
        f"rows read {summary.read:,} · imported {summary.imported:,}"
        f" (changed {summary.changed:,}) · bad {summary.bad:,}"
        f" · {summary.seconds:.1f} s · {summary.rows_per_second:,.0f} rows/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
