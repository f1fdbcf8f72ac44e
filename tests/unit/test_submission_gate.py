"""The submission gate (gateway.backlog.SubmissionGate): past its limit of submissions in
progress a worker answers 503 + Retry-After at once, and only for submissions."""

from __future__ import annotations

import json
import threading
from typing import Any

from werkzeug.test import Client

from gateway.backlog import SubmissionGate


class SlowApp:
    """A WSGI app that holds each request until released, counting what reached it."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.reached = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.reached += 1
        self.release.wait(5)
        start_response("202 Accepted", [("Content-Type", "application/json")])
        return [b'{"status": "received"}']


def _post(client: Client, path: str = SubmissionGate.PATH) -> Any:
    return client.post(path, json={})


def test_past_the_limit_a_submission_is_refused_at_once_with_retry_after() -> None:
    app = SlowApp()
    gate = SubmissionGate(app, limit=2, retry_after=7)
    client = Client(gate)
    held = [threading.Thread(target=_post, args=(Client(gate),)) for _ in range(2)]
    for thread in held:
        thread.start()
    while app.reached < 2:
        threading.Event().wait(0.01)
    refused = _post(client)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "7"
    assert json.loads(refused.data)["error"]["code"] == "busy"
    assert app.reached == 2  # the refused one never reached the app
    app.release.set()
    for thread in held:
        thread.join(5)
    assert _post(client).status_code == 202  # the slots were given back


def test_other_routes_pass_whatever_the_load() -> None:
    app = SlowApp()
    app.release.set()
    gate = SubmissionGate(app, limit=0, retry_after=7)
    client = Client(gate)
    assert _post(client).status_code == 503
    assert client.get(SubmissionGate.PATH).status_code == 202
    assert _post(client, "/api/v1/auth/token").status_code == 202
