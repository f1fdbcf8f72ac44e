"""The in-app inbox through the gateway: a parent reads the notices about their own applications
(one, or all of them), and anyone else's reference is as unknown as a made-up one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.app import create_app
from shared.messaging.bus import MessageBus
from tests.integration.notification_support import submit
from tests.support.accounts import PARENT, bearer, credentials, gateway_config, make_account

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.integration.notification_support"]


def test_a_parent_reads_the_inbox_of_their_own_application_and_no_one_else_can(
    start_notification: Callable[..., Any],
    make_database: Callable[[str], str],
    bus: MessageBus,
    amqp_uri: str,
) -> None:
    gateway_db = make_database("gateway")
    parent, stranger = make_account(gateway_db, PARENT), make_account(gateway_db, PARENT)
    notification = start_notification()
    submit(bus, notification, "TSREF00000000E1", language="en", owner_id=parent)
    submit(bus, notification, "TSREF00000000E2", language="en", owner_id=parent)
    submit(bus, notification, "TSREF00000000E3", language="en", owner_id=stranger)
    app = create_app(gateway_config(amqp_uri, gateway_db))

    with app.test_client() as client:

        def inbox(account: str | None, reference: str | None = "TSREF00000000E1") -> Any:
            headers = {}
            if account is not None:
                login = client.post("/api/v1/auth/token", json=credentials(gateway_db, account))
                headers = bearer(login.json["access_token"])
            query = f"?reference={reference}" if reference else ""
            return client.get(f"/api/v1/inbox{query}", headers=headers)

        own, others, unknown, anonymous = (
            inbox(parent),
            inbox(stranger),
            inbox(parent, "TSNOSUCHREFERENCE"),
            inbox(None),
        )
        everything, strangers = inbox(parent, None), inbox(stranger, None)
    app.extensions["tuyensinh"].rpc.close()
    app.extensions["db"].dispose()

    assert own.status_code == 200
    [message] = own.json["messages"]
    assert message["subject"] == "Application TSREF00000000E1 received"
    assert message["template"] == "application_received"
    assert (others.status_code, unknown.status_code) == (404, 404)
    assert others.json == unknown.json
    assert anonymous.status_code == 401
    # Without a reference: the notices of all the account's applications, and only theirs.
    assert (everything.status_code, everything.json["reference"]) == (200, None)
    assert {m["reference"] for m in everything.json["messages"]} == {
        "TSREF00000000E1",
        "TSREF00000000E2",
    }
    assert [m["reference"] for m in strangers.json["messages"]] == ["TSREF00000000E3"]
