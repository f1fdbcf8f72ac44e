"""A local SMS provider over real HTTP: checks each request, records each message it accepts.

`make run` can use it to show parents' SMS (start the notifier with SMS_TRANSPORT=http); the
integration tests use it as the provider the HTTP adapter talks to, and steer it to fail.

  POST /sms        the provider API: auth header required, JSON {"to": "+84...", "text": ...}
  GET  /messages   every accepted message, oldest first
  GET  /requests   how many requests arrived, accepted or not
  POST /control    {"fail": [503, 400]} answers the next requests with those statuses;
                   {"delay_seconds": 5} records, then waits before answering; {"reset": true}

Usage: python -m tools.sms_sink --port 8025 --outbox var/sms.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

E164 = re.compile(r"^\+\d{9,15}$")


class Provider:
    """The sink's state, shared by the request threads."""

    def __init__(self, token: str, auth_header: str, outbox: Path | None, quiet: bool) -> None:
        self.token, self.auth_header, self.outbox, self.quiet = token, auth_header, outbox, quiet
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.failures: list[int] = []
        self.delay = 0.0
        if outbox is not None:
            outbox.parent.mkdir(parents=True, exist_ok=True)

    def control(self, command: dict[str, Any]) -> None:
        """Apply a test's instructions."""
        with self.lock:
            if command.get("reset"):
                self.messages, self.requests, self.failures, self.delay = [], 0, [], 0.0
            self.failures.extend(int(status) for status in command.get("fail", []))
            self.delay = float(command.get("delay_seconds", self.delay))

    def take(self, headers: Any, raw: bytes) -> tuple[int, dict[str, Any], float]:
        """Check and record one API request; returns the status, the answer and a delay."""
        with self.lock:
            self.requests += 1
            if headers.get(self.auth_header) != self.token:
                return 401, {"error": "bad credentials"}, 0.0
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, {"error": "body is not JSON"}, 0.0
            problem = _problem(body)
            if problem:
                return 400, {"error": problem}, 0.0
            if self.failures:
                return self.failures.pop(0), {"error": "failure requested by a test"}, 0.0
            message = {"id": uuid.uuid4().hex, "received_at": time.time(), **body}
            self.messages.append(message)
            if self.outbox is not None:
                with self.outbox.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(message, ensure_ascii=False) + "\n")
            if not self.quiet:
                masked = body["to"][:6] + "*" * max(0, len(body["to"]) - 8) + body["to"][-2:]
                print(f"sms #{len(self.messages)} to {masked}: {body['text']}", flush=True)
            return 200, {"id": message["id"], "status": "accepted"}, self.delay


def _problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if not isinstance(body.get("to"), str) or not E164.match(body["to"]):
        return "`to` must be an E.164 number"
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        return "`text` must be a non-empty string"
    return None


def make_handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `provider`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the adapter's connection pool expects

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/control":
                provider.control(json.loads(raw or b"{}"))
                self._answer(200, {"ok": True})
            elif self.path.startswith("/sms"):
                status, answer, delay = provider.take(self.headers, raw)
                time.sleep(delay)  # the message is recorded: a slow answer, not a lost one
                self._answer(status, answer)
            else:
                self._answer(404, {"error": "not found"})

        def do_GET(self) -> None:  # noqa: N802
            with provider.lock:
                if self.path == "/messages":
                    self._answer(200, {"messages": list(provider.messages)})
                elif self.path == "/requests":
                    self._answer(200, {"requests": provider.requests})
                else:
                    self._answer(404, {"error": "not found"})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # one line per accepted message is printed instead

    return Handler


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--token", default="Bearer development-sms-token")
    parser.add_argument("--auth-header", default="Authorization")
    parser.add_argument(
        "--outbox", default="var/sms.jsonl", help="'' keeps messages in memory only"
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    outbox = Path(args.outbox) if args.outbox else None
    provider = Provider(args.token, args.auth_header, outbox, args.quiet)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(provider))
    server.daemon_threads = True
    print(f"SMS sink on http://{args.host}:{args.port}/sms, saving to {outbox}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
