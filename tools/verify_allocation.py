"""Verify a published allocation from its export alone.

Usage: python -m tools.verify_allocation results.csv

Recomputes every lottery number and the whole allocation from the seed, policy, schools and
applications in the file, compares each result, and counts blocking pairs. Exit code 0 when
everything matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from services.allocation.engine.export import verify_export


def main(argv: Sequence[str] | None = None) -> int:
    """Print the verdict; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="results.csv as exported by the department")
    args = parser.parse_args(argv)
    with open(args.export, encoding="utf-8", newline="") as lines:
        try:
            report = verify_export(lines)
        except (ValueError, KeyError) as error:
            print(f"not a valid allocation export: {error}")
            return 1
    print(f"applicants:         {report.applicants}")
    print(f"results matching:   {report.applicants - report.mismatches}/{report.applicants}")
    print(f"lottery mismatches: {report.lottery_mismatches}")
    print(f"blocking pairs:     {report.blocking_pairs}")
    print(f"over capacity:      {', '.join(report.over_capacity) or 'none'}")
    if report.mismatched:
        print(f"first mismatches:   {', '.join(report.mismatched)}")
    print("MATCH" if report.ok else "MISMATCH")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
