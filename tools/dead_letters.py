"""Inspect and replay dead-letter queues.

  python -m tools.dead_letters queues                      every dead-letter queue and its depth
  python -m tools.dead_letters list <queue> [--limit N]    one line per parked message
  python -m tools.dead_letters show <queue> [--limit N]    headers and full envelope of each
  python -m tools.dead_letters replay <queue> [--limit N]  back to the work queue, fresh retries

<queue> is a work queue (`notification.on.registration.application_received`) or its `.dead`
queue. The broker is the owning service's AMQP_URI (services/<service>/config.yml, so the
AMQP_URI environment variable applies), unless --amqp-uri says otherwise. `show` prints the
payload, which for a `submit_application` command holds a family's personal data: it is for
the terminal of an operator on duty, not for tickets or chat.
"""

from __future__ import annotations

import argparse
import json
import sys

from shared.config import load_config
from shared.db.migrate import service_config_path
from shared.messaging import dead_letters
from tools.topology import handlers


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status is 0 on success."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("queues", "list", "show", "replay"))
    parser.add_argument("queue", nargs="?")
    parser.add_argument("--limit", type=int, default=None, help="at most N messages")
    parser.add_argument("--amqp-uri", default=None)
    args = parser.parse_args(argv)
    if args.command == "queues":
        amqp_uri = _amqp_uri(args, "notification")
        for name, depth in sorted(dead_letters.depths(amqp_uri, work_queues()).items()):
            print(f"{depth:8d}  {name}")
        return 0
    if not args.queue:
        parser.error(f"{args.command} needs a queue")
    try:
        work = dead_letters.work_queue_name(args.queue, work_queues())
    except LookupError as exc:
        parser.error(str(exc))
    amqp_uri = _amqp_uri(args, work.split(".", 1)[0])
    if args.command == "replay":
        count = dead_letters.replay(amqp_uri, work, args.limit)
        print(f"replayed {count} message(s) from {work}.dead to {work}")
        return 0
    letters = dead_letters.peek(amqp_uri, work, args.limit or 20)
    for letter in letters:
        if args.command == "list":
            print(
                f"{letter.message_id}  {letter.type}  attempts={letter.attempts}"
                f"  replayed={letter.replayed}  {letter.failure}  {letter.detail}".rstrip()
            )
        else:
            print(
                json.dumps({"headers": letter.headers, "body": letter.body}, indent=2, default=str)
            )
    print(f"{len(letters)} message(s) shown from {work}.dead", file=sys.stderr)
    return 0


def work_queues() -> list[str]:
    """Every handler's queue."""
    return [handler.queue_name for handler in handlers()]


def _amqp_uri(args: argparse.Namespace, service: str) -> str:
    if args.amqp_uri:
        return str(args.amqp_uri)
    return str(load_config(service_config_path(service))["AMQP_URI"])


if __name__ == "__main__":
    sys.exit(main())
