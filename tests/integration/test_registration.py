"""The registration service in a real nameko container, on the real broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import create_engine, text

from services.registration.service import RegistrationService
from shared.messaging.bus import MessageBus
from tests.support import factories
from tests.support.broker import drain, tap
from tests.support.registration_calls import applications, submit
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def registration(
    container_factory: Any,
    make_database: Callable[[str], str],
    service_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
) -> Any:
    """A running registration service that knows the 2027 grade 1 round is open."""
    db_uri = make_database("registration")
    container = container_factory(RegistrationService, service_config(db_uri))
    container.start()
    with entrypoint_waiter(container, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    container.db_uri = db_uri
    return container


def test_stores_a_submission_and_announces_it_without_personal_data(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    announced = tap(amqp_uri, "registration", "application_received")

    submit(registration, bus, factories.submit_application(reference="TSREF000000000001"))

    [stored] = applications(registration.db_uri)
    assert (stored.reference, stored.status, stored.preferences) == (
        "TSREF000000000001",
        "received",
        ["TH-001", "TH-002"],
    )
    [(event, _)] = drain(amqp_uri, announced.name, expect=1)
    assert event["type"] == "application_received"
    assert event["payload"] == {
        "reference": "TSREF000000000001",
        "round_id": "2027-grade_1",
        "status": "received",
    }


def test_the_same_child_submitted_twice_is_one_application_amended(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    amended = tap(amqp_uri, "registration", "application_amended")
    submit(registration, bus, factories.submit_application(preferences=("TH-001",)))
    [first] = applications(registration.db_uri)

    submit(registration, bus, factories.submit_application(preferences=("TH-009", "TH-001")))

    [stored] = applications(registration.db_uri)
    assert stored.preferences == ["TH-009", "TH-001"]
    assert stored.submitted_at == first.submitted_at
    assert len(drain(amqp_uri, amended.name, expect=1)) == 1


def test_a_redelivered_command_changes_nothing(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    announced = tap(amqp_uri, "registration", "application_received")
    command = factories.submit_application()

    submit(registration, bus, command)
    submit(registration, bus, command)

    assert len(applications(registration.db_uri)) == 1
    assert len(drain(amqp_uri, announced.name, expect=2, timeout=2)) == 1


def test_the_audit_entry_a_submission_carries_is_stored_with_it_once(
    registration: Any, bus: MessageBus
) -> None:
    command = factories.submit_application(reference="TSREF000000000003", owner_id="parent-1")
    at = datetime.now(UTC)
    command["payload"]["audit"] = {
        "action": "application.submit",
        "actor_id": "parent-1",
        "role": "parent",
        "ip": "10.0.0.7",
        "at": at.isoformat(),
    }

    submit(registration, bus, command)
    submit(registration, bus, command)  # redelivered: no second entry

    engine = create_engine(registration.db_uri)
    with engine.connect() as connection:
        entries = connection.execute(
            text(
                "SELECT action, actor_id, role, objects, status, ip, correlation_id, at"
                " FROM audit_log"
            )
        ).all()
    with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))
    engine.dispose()
    [entry] = entries
    assert entry[:7] == (
        "application.submit",
        "parent-1",
        "parent",
        {"reference": "TSREF000000000003", "round_id": "2027-grade_1"},
        202,
        "10.0.0.7",
        command["correlation_id"],
    )
    assert entry.at == at
    assert "001221000123" not in str(entries) and "Nguyễn" not in str(entries)


def test_reads_an_application_by_reference_over_rpc(registration: Any, bus: MessageBus) -> None:
    submit(registration, bus, factories.submit_application(reference="TSREF000000000002"))

    with entrypoint_hook(registration, "get_application") as get_application:
        found = get_application("TSREF000000000002")

    assert found["status"] == "received"
    assert found["child"]["full_name"] == "Nguyễn Văn An"
    assert found["guardian"]["language"] == "vi"


def test_an_unknown_reference_is_an_expected_not_found(registration: Any) -> None:
    from services.registration.exceptions import ApplicationNotFound

    with entrypoint_hook(registration, "get_application") as get_application:
        with pytest.raises(ApplicationNotFound):
            get_application("TSNOSUCHREFERENCE")


def test_a_submission_for_a_round_it_never_heard_of_is_retried_then_dead_lettered(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    bus.send_command("registration", factories.submit_application(round_id="2027-nosuch"))

    [(body, headers)] = drain(amqp_uri, "registration.submit_application.dead", expect=1)

    assert body["payload"]["round_id"] == "2027-nosuch"
    assert headers["x-tuyensinh-attempt"] == 3  # the first try and both retries
    assert headers["x-tuyensinh-failure"].endswith("RoundNotKnownYet")
    assert applications(registration.db_uri) == []


def test_a_malformed_command_is_dead_lettered_at_once_without_its_values(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    command = factories.submit_application()
    command["payload"]["child"]["citizen_id"] = "not-a-citizen-id"

    bus.send_command("registration", command)

    [(_, headers)] = drain(amqp_uri, "registration.submit_application.dead", expect=1)
    assert headers["x-tuyensinh-attempt"] == 1
    assert headers["x-tuyensinh-detail"] == "malformed message: invalid fields child"
    assert "not-a-citizen-id" not in headers["x-tuyensinh-detail"]


def test_an_account_lists_only_the_applications_it_submitted(
    registration: Any, bus: MessageBus
) -> None:
    mine = factories.submit_application(reference="TSREF0000000000M1", owner_id="parent-1")
    theirs = factories.submit_application(
        reference="TSREF0000000000T1", citizen_id="001221000999", owner_id="parent-2"
    )
    submit(registration, bus, mine)
    submit(registration, bus, theirs)

    with entrypoint_hook(registration, "list_applications") as list_applications:
        listed = list_applications("parent-1")
        nobody = list_applications("parent-3")

    assert [(a["reference"], a["owner_id"]) for a in listed] == [("TSREF0000000000M1", "parent-1")]
    assert nobody == []


def test_a_batch_of_notices_reads_its_applications_in_one_call(
    registration: Any, bus: MessageBus
) -> None:
    submit(registration, bus, factories.submit_application(reference="TSREF0000000000B1"))

    with entrypoint_hook(registration, "get_applications") as get_applications:
        found = get_applications(["TSREF0000000000B1", "TSNOSUCHREFERENCE"])
    with entrypoint_hook(registration, "get_application") as get_application:
        one = get_application("TSREF0000000000B1")

    assert found == {"TSREF0000000000B1": one}  # unknown references are left out
    assert one["practice"] is False and one["guardian"]["email"] == "binh@example.com"


def test_a_submission_waiting_for_its_batch_to_fill_counts_as_intake_backlog(
    registration: Any, bus: MessageBus
) -> None:
    # A batch waits up to SUBMISSION_WAIT_SECONDS (0.2 s) for more: the command is taken off
    # the queue (unacked, not ready) long before it is stored, and must still count.
    def backlog() -> int:
        with entrypoint_hook(registration, "intake_status") as intake_status:
            return int(intake_status("2027-grade_1")["backlog"])

    bus.send_command("registration", factories.submit_application(reference="TSREF0000000000H1"))
    waiting = backlog()

    wait_for(lambda: applications(registration.db_uri), what="the submission stored")
    wait_for(lambda: backlog() == 0, what="the backlog empty once it is stored and acked")
    assert waiting == 1
