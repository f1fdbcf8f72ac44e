"""Fixtures the integration tests share: the allocation service running on its own (with
registration's side played by a fake over the real transport); the allocation service with
the small demo city's schools and its 2027 rounds open; an in-process gateway worker logged in
as a parent, its own database, and its road to the broker that a test can cut; registration
holding one application of that parent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gateway.app import create_app
from services.allocation.cli import load_demo
from services.allocation.schools import import_city
from services.allocation.service import AllocationService
from shared.db.engine import build_engine
from shared.messaging.bus import MessageBus
from tests.support import factories
from tests.support.accounts import PARENT, bearer, credentials, gateway_config, make_account
from tests.support.allocation_harness import FakeRegistration, Harness
from tests.support.tcp_proxy import TcpProxy
from tools.demo_city import build_city
from tools.topology import declare_all


@pytest.fixture
def harness(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    amqp_uri: str,
    bus: MessageBus,
) -> Iterator[Harness]:
    """Allocation (with the fake registration) running on fresh grade-1 schools."""
    db_uri = make_database("allocation")
    config = service_config(
        db_uri,
        OFFER_EXPIRY_SECONDS=0.2,
        EXPIRY_BATCH=1,
        REGISTRATION_TIMEOUT_SECONDS=2,
        OFFER_REMINDER_CHECK_SECONDS=0.2,
        OFFER_REMINDER_HOURS=24,
    )
    FakeRegistration.answer, FakeRegistration.owners = {"unverified": 0, "backlog": 0}, {}
    registration = container_factory(FakeRegistration, config)
    registration.start()
    container = container_factory(AllocationService, config)
    container.start()
    harness = Harness(container, db_uri, bus, amqp_uri)
    yield harness
    harness.engine.dispose()


@pytest.fixture
def allocation(
    tmp_path: Path,
    container_factory: Any,
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
) -> Any:
    """A running allocation service with the small demo city and its 2027 rounds open, on a
    broker with the whole topology declared first (the deploy step, `tools.topology`)."""
    db_uri = make_database("allocation")
    engine = build_engine(db_uri)
    build_city(tmp_path / "city", "small", 2027, 2027)
    with Session(engine) as session, session.begin():
        load_demo(session, 2027)
        import_city(session, tmp_path / "city")
    engine.dispose()
    config = service_config(db_uri)
    declare_all(config["AMQP_URI"], config["RETRY_DELAYS_MS"])
    container = container_factory(AllocationService, config)
    container.start()
    container.db_uri = db_uri
    return container


@pytest.fixture
def proxy(amqp_uri: str) -> Iterator[TcpProxy]:
    """The gateway's own road to the broker, which a test can cut."""
    tcp = TcpProxy("127.0.0.1", 5672)
    yield tcp
    tcp.cut()


@pytest.fixture
def gateway_db(make_database: Callable[[str], str]) -> str:
    """The gateway's own database (accounts, claims, audit log)."""
    return make_database("gateway")


@pytest.fixture
def parent(gateway_db: str) -> str:
    """A parent account with a verified phone; its id."""
    return make_account(gateway_db, PARENT)


@pytest.fixture
def client(
    allocation: Any, amqp_uri: str, proxy: TcpProxy, gateway_db: str, parent: str
) -> Iterator[Any]:
    """A gateway worker whose broker connection runs through the proxy, logged in as `parent`."""
    vhost = amqp_uri.rsplit("/", 1)[1]
    broker = f"pyamqp://guest:guest@127.0.0.1:{proxy.port}/{vhost}"
    app = create_app(gateway_config(broker, gateway_db))
    with app.test_client() as test_client:
        login = test_client.post("/api/v1/auth/token", json=credentials(gateway_db, parent))
        assert login.status_code == 200, login.json
        test_client.environ_base["HTTP_AUTHORIZATION"] = bearer(login.json["access_token"])[
            "Authorization"
        ]
        yield test_client
    app.extensions["tuyensinh"].rpc.close()
    app.extensions["db"].dispose()


@pytest.fixture
def registration_with_an_application(
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    bus: Any,
    parent: str,
) -> Any:
    """A running registration service holding one application of `parent` to the 2027 grade 1
    round. (Not `registration`: the notification tests' plugin has a fixture of that name,
    and a conftest's would win over it.)"""
    from nameko.testing.services import entrypoint_waiter

    from services.registration.service import RegistrationService

    container = container_factory(
        RegistrationService, service_config(make_database("registration"))
    )
    container.start()
    with entrypoint_waiter(container, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    with entrypoint_waiter(container, "handle_submit_application"):
        bus.send_command(
            "registration",
            factories.submit_application(reference="TSGATEWAYTEST0001", owner_id=parent),
        )
    return container
