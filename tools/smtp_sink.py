"""A local SMTP server (aiosmtpd) that keeps every message it receives as a .eml file.

`make run` uses it to show parents' mail; the end-to-end tests use it as the real SMTP peer.
Usage: python -m tools.smtp_sink --port 1025 --maildir var/mail
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import itertools
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    """Writes each message to `<maildir>/<timestamp>-<n>.eml` and prints one line about it."""

    def __init__(self, maildir: Path, quiet: bool) -> None:
        self.maildir = maildir
        self.quiet = quiet
        self._counter = itertools.count(1)
        maildir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        number = next(self._counter)
        path = self.maildir / f"{time.time_ns()}-{number}.eml"
        temporary = path.with_suffix(".part")
        temporary.write_bytes(envelope.content)
        temporary.rename(path)  # readers never see half a message
        if not self.quiet:
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            print(f"mail #{number} to {', '.join(envelope.rcpt_tos)}: {message['Subject']}")
            print(f"  saved as {path}", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", default="var/mail")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    handler = MaildirHandler(Path(args.maildir), args.quiet)
    controller = Controller(handler, hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP sink on {args.host}:{args.port}, saving to {args.maildir}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
