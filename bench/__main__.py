"""`make bench`: run every benchmark; each rewrites its own section of BENCHMARKS.md."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "bench.allocation",
    "bench.allocation_job",
    "bench.register_import",
    "bench.drain",
    "bench.intake",
)


def main() -> None:
    """Run the benchmarks named on the command line, or all of them."""
    for name in sys.argv[1:] or BENCHMARKS:
        print(f"== {name}", flush=True)
        importlib.import_module(name).main([])


if __name__ == "__main__":
    main()
