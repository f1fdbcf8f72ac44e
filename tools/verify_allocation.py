"""Verify a published allocation from its export alone.

Usage: python -m tools.verify_allocation results.csv [--commitment HEX] [--digest HEX] [--json]

Recomputes every lottery number and the whole allocation from the seed, policy, schools and
applications in the file, compares each result, and counts blocking pairs. With the seed
commitment published at close (`--commitment`) and the inputs digest published before the
results (`--digest`), both on the round's public page, it also checks that the revealed seed
and the exported applications are the ones committed to. Exit code 0 when everything
matches, 1 otherwise. `-` reads the export from standard input; `--json` prints the verdict
as one JSON object (the department's portal runs the check this way, on the file it exported).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TextIO

from services.allocation.engine.export import verify_export


def main(argv: Sequence[str] | None = None) -> int:
    """Print the verdict; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="results.csv as exported by the department (- : stdin)")
    parser.add_argument("--commitment", help="the seed commitment published at close (hex)")
    parser.add_argument("--digest", help="the inputs digest published before results (hex)")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    args = parser.parse_args(argv)
    with _open(args.export) as lines:
        try:
            report = verify_export(lines, args.commitment, args.digest)
        except (ValueError, KeyError) as error:
            print(f"not a valid allocation export: {error}")
            return 1
    if args.json:
        print(json.dumps({**asdict(report), "ok": report.ok}))
        return 0 if report.ok else 1
    print(f"applicants:         {report.applicants}")
    print(f"results matching:   {report.applicants - report.mismatches}/{report.applicants}")
    print(f"lottery mismatches: {report.lottery_mismatches}")
    print(f"blocking pairs:     {report.blocking_pairs}")
    print(f"over capacity:      {', '.join(report.over_capacity) or 'none'}")
    print(f"seed commitment:    {_check(report.seed_committed)}")
    print(f"inputs digest:      {_check(report.inputs_committed)}")
    if report.mismatched:
        print(f"first mismatches:   {', '.join(report.mismatched)}")
    print("MATCH" if report.ok else "MISMATCH")
    return 0 if report.ok else 1


def _open(path: str) -> TextIO:
    """The export's lines, from a file or (`-`) from standard input."""
    if path != "-":
        return open(path, encoding="utf-8", newline="")
    return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="")


def _check(verdict: bool | None) -> str:
    return {True: "matches", False: "DOES NOT MATCH", None: "not given"}[verdict]


if __name__ == "__main__":
    sys.exit(main())
