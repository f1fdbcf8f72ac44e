"""The gateway's JSON error answers keep the headers HTTP requires of them."""

from __future__ import annotations

from gateway.app import create_app
from tests.support.accounts import gateway_config


def test_a_method_the_route_does_not_serve_is_answered_405_with_the_allowed_ones() -> None:
    app = create_app(gateway_config("memory://", "sqlite://", RATELIMIT_STORAGE_URI="memory://"))

    answer = app.test_client().open("/api/v1/auth/me", method="TRACE")

    assert answer.status_code == 405
    assert answer.json is not None and answer.json["error"]["code"] == "method_not_allowed"
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
