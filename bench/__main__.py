"""`make bench`: run every benchmark; each rewrites its own section of BENCHMARKS.md, and a
last section records the machine, the versions, the load and how long each one took."""

from __future__ import annotations

import importlib
import sys
import time

from bench.environment import describe, load_average
from bench.report import write_section

BENCHMARKS = (
    "bench.allocation",
    "bench.allocation_job",
    "bench.estimates",
    "bench.register_import",
    "bench.drain",
    "bench.notification",
    "bench.intake",
    "bench.capacity",
    "bench.cluster",
    "bench.cluster_intake",
    "bench.live_page",
    "bench.capacity_model",
)


def main() -> None:
    """Run the benchmarks named on the command line, or all of them; exit 1 if one failed."""
    names = sys.argv[1:] or list(BENCHMARKS)
    load_before, timings, failed = load_average(), [], []
    for name in names:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            importlib.import_module(name).main([])
        except Exception as exc:  # the others still run; the exit status says it failed
            print(f"!! {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            failed.append(name)
        timings.append((name, time.monotonic() - started))
    body = describe(load_before, load_average(), timings, failed)
    # Named benchmarks are a partial run: the section says which command it was.
    command = "make bench" if len(sys.argv) < 2 else f"python -m bench {' '.join(names)}"
    write_section("machine", "Machine, versions and load", command, body)
    print(body)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
