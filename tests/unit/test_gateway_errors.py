"""The gateway's JSON error answers keep the headers HTTP requires of them."""

from __future__ import annotations

from sqlalchemy import create_engine
from werkzeug.exceptions import BadRequest

from gateway.app import create_app
from gateway.auth.decorators import public
from gateway.errors import http_exception_response
from tests.support.accounts import gateway_config
from tests.support.processes import free_port


def test_a_method_the_route_does_not_serve_is_answered_405_with_the_allowed_ones() -> None:
    app = create_app(gateway_config("memory://", "sqlite://", RATELIMIT_STORAGE_URI="memory://"))

    answer = app.test_client().open("/api/v1/auth/me", method="TRACE")

    assert answer.status_code == 405
    assert answer.json is not None and answer.json["error"]["code"] == "method_not_allowed"
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}


def test_messages_keyed_by_a_list_index_beside_a_name_are_answered_400_not_500() -> None:
    # What marshmallow gives for preferences with a bad third item and a repeated school.
    app = create_app(gateway_config("memory://", "sqlite://", RATELIMIT_STORAGE_URI="memory://"))
    error = BadRequest()
    error.data = {  # type: ignore[attr-defined]
        "messages": {
            "json": {"preferences": {2: ["is not a school code"], "_schema": ["chosen twice"]}}
        }
    }

    with app.test_request_context():
        response, status, _ = http_exception_response(error)

    assert status == 400
    assert response.get_json()["error"]["fields"] == {
        "preferences": {"2": ["is not a school code"], "_schema": ["chosen twice"]}
    }


def test_a_database_that_refuses_connections_is_answered_503_with_retry_after() -> None:
    app = create_app(gateway_config("memory://", "sqlite://", RATELIMIT_STORAGE_URI="memory://"))

    @app.route("/test-database-away")
    @public()
    def database_away() -> str:
        # A real driver on a port where no server listens: the refused connection itself.
        engine = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
        with engine.connect():
            return "unreachable"

    answer = app.test_client().get("/test-database-away")

    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert answer.json is not None and answer.json["error"]["code"] == "unavailable"
