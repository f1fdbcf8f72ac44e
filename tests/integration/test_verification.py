"""Registration checks every application against the population register, on the real broker
and PostgreSQL: the register is imported with the real import, the round and the school
directory arrive as allocation's events."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from services.registration.register.csv_import import import_register
from services.registration.service import RegistrationService
from shared.contracts.envelope import make_message
from shared.db.engine import build_engine
from shared.messaging.bus import MessageBus
from tests.support import factories
from tests.support.broker import drain, tap
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

REGISTER = """\
citizen_id,full_name,date_of_birth,gender,ward_code,household_id,priority_category,lat,lon
001221000123,Nguyễn Văn An,2021-03-04,M,00070,HN0000000001,khuyet_tat,21.028511,105.804817
001221000456,Trần Thị Bích,2021-07-19,F,00073,HN0000000002,,,
001220000789,Lê Văn Cường,2020-05-01,M,00070,HN0000000003,,,
"""
SCHOOLS = [
    {"code": "TH-0001", "level": "grade_1"},
    {"code": "TH-0002", "level": "grade_1"},
    {"code": "TH-0003", "level": "grade_1"},
    {"code": "MN-0001", "level": "kindergarten"},
]


@pytest.fixture
def registration(
    tmp_path: Path,
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
) -> Any:
    """Registration with a three-person register, the 2027 grade 1 round and four schools."""
    db_uri = make_database("registration")
    (tmp_path / "register.csv").write_text(REGISTER, encoding="utf-8")
    engine = build_engine(db_uri)
    assert import_register(engine, tmp_path / "register.csv", progress=False).imported == 3
    engine.dispose()
    container = container_factory(RegistrationService, service_config(db_uri))
    container.start()
    with entrypoint_waiter(container, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    with entrypoint_waiter(container, "handle_school_directory_updated"):
        bus.publish_event(
            "allocation", make_message("school_directory_updated", {"schools": SCHOOLS})
        )
    return container


def application(container: Any, reference: str) -> dict[str, Any]:
    with entrypoint_hook(container, "get_application") as get_application:
        return get_application(reference)  # type: ignore[no-any-return]


def submit_and_settle(container: Any, bus: MessageBus, **changes: Any) -> dict[str, Any]:
    """Submit, then wait until verification has decided."""
    command = factories.submit_application(**changes)
    reference = command["payload"]["reference"]
    bus.send_command("registration", command)
    return wait_for(  # type: ignore[no-any-return]
        lambda: (
            (found := _maybe(container, reference))
            and found["status"] in ("verified", "rejected")
            and found
        ),
        what=f"{reference} to be checked",
    )


def _maybe(container: Any, reference: str) -> dict[str, Any] | None:
    from services.registration.exceptions import ApplicationNotFound

    try:
        return application(container, reference)
    except ApplicationNotFound:
        return None


def test_a_child_in_the_register_is_verified_with_ward_and_category_from_the_register(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    verified = tap(amqp_uri, "registration", "application_verified")

    found = submit_and_settle(registration, bus, preferences=("TH-0001", "TH-0002"))

    assert (found["status"], found["ward_code"], found["rejection_reasons"]) == (
        "verified",
        "00070",
        None,
    )
    [(event, _)] = drain(amqp_uri, verified.name, expect=1)
    assert event["payload"] == {
        "reference": "TSTESTREFERENCE01",
        "round_id": "2027-grade_1",
        "citizen_id": "001221000123",
        "ward_code": "00070",
        "household_id": "HN0000000001",
        "priority_category": "khuyet_tat",
        "preferences": ["TH-0001", "TH-0002"],
        "lat": 21.028511,
        "lon": 105.804817,
        # Checked in the transaction that stored it: the receipt carries this verdict.
        "with_receipt": True,
        "late": False,  # submitted in time by its family
    }


def test_a_name_typed_decomposed_in_other_case_and_spacing_still_matches(
    registration: Any, bus: MessageBus
) -> None:
    typed = "  " + unicodedata.normalize("NFD", "TRẦN  thị BÍCH") + " "
    command = factories.submit_application(citizen_id="001221000456", preferences=("TH-0003",))
    command["payload"]["child"].update(full_name=typed, date_of_birth="2021-07-19")
    bus.send_command("registration", command)

    found = wait_for(
        lambda: (
            (a := _maybe(registration, "TSTESTREFERENCE01")) and a["status"] != "received" and a
        ),
        what="the check",
    )
    assert found["status"] == "verified"
    assert found["ward_code"] == "00073"


REJECTIONS = [
    ({"citizen_id": "001221999999"}, ("TH-0001",), [("child.citizen_id", "not_in_register")]),
    ({"full_name": "Nguyễn Văn Ánh"}, ("TH-0001",), [("child.full_name", "name_mismatch")]),
    (
        {"date_of_birth": "2021-03-05"},
        ("TH-0001",),
        [("child.date_of_birth", "birth_date_mismatch")],
    ),
    (
        {"citizen_id": "001220000789", "full_name": "Lê Văn Cường", "date_of_birth": "2020-05-01"},
        ("TH-0001",),
        [("child.date_of_birth", "wrong_age_for_level")],
    ),
    (
        {},
        ("TH-0001", "TH-0002", "TH-0003", "TH-0009"),
        [("preferences", "too_many"), ("preferences.4", "unknown_school")],
    ),
    ({}, ("TH-0001", "TH-0001"), [("preferences", "duplicate")]),
    ({}, ("TH-0001", "XX-0404"), [("preferences.2", "unknown_school")]),
    ({}, ("MN-0001",), [("preferences.1", "wrong_level")]),
]


@pytest.mark.parametrize(("child", "preferences", "expected"), REJECTIONS)
def test_each_failed_check_is_a_rejection_with_its_field_and_reason(
    registration: Any,
    bus: MessageBus,
    amqp_uri: str,
    child: dict[str, str],
    preferences: tuple[str, ...],
    expected: list[tuple[str, str]],
) -> None:
    rejected = tap(amqp_uri, "registration", "application_rejected")
    command = factories.submit_application(preferences=preferences)
    command["payload"]["child"].update(child)
    if "citizen_id" in child:
        command["payload"]["child"]["citizen_id"] = child["citizen_id"]
    bus.send_command("registration", command)

    found = wait_for(
        lambda: (
            (a := _maybe(registration, "TSTESTREFERENCE01")) and a["status"] != "received" and a
        ),
        what="the check",
    )

    assert found["status"] == "rejected"
    assert [(r["field"], r["code"]) for r in found["rejection_reasons"]] == expected
    assert all(r["message_vi"] and r["message_en"] for r in found["rejection_reasons"])
    assert found["ward_code"] is None
    [(event, _)] = drain(amqp_uri, rejected.name, expect=1)
    assert [(r["field"], r["code"]) for r in event["payload"]["reasons"]] == expected
    assert "Nguyễn" not in str(event)


def test_an_amendment_is_checked_again_and_keeps_the_first_submission_time(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    verified = tap(amqp_uri, "registration", "application_verified")
    first = submit_and_settle(registration, bus, preferences=("TH-0001",))

    bus.send_command(
        "registration", factories.submit_application(preferences=("TH-0003", "TH-0001"))
    )
    events = drain(amqp_uri, verified.name, expect=2)

    assert [body["payload"]["preferences"] for body, _ in events] == [
        ["TH-0001"],
        ["TH-0003", "TH-0001"],
    ]
    amended = application(registration, "TSTESTREFERENCE01")
    assert (amended["status"], amended["submitted_at"]) == ("verified", first["submitted_at"])


def test_a_withdrawal_while_open_is_announced_and_after_close_is_refused(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    withdrawn = tap(amqp_uri, "registration", "application_withdrawn")
    refused = tap(amqp_uri, "registration", "application_refused")
    submit_and_settle(registration, bus)
    withdraw = {"reference": "TSTESTREFERENCE01", "round_id": "2027-grade_1"}

    with entrypoint_waiter(registration, "handle_withdraw_application"):
        bus.send_command("registration", make_message("withdraw_application", withdraw))
    assert application(registration, "TSTESTREFERENCE01")["status"] == "withdrawn"
    assert len(drain(amqp_uri, withdrawn.name, expect=1)) == 1

    with entrypoint_waiter(registration, "handle_round_closed"):
        bus.publish_event("allocation", make_message("round_closed", {"round_id": "2027-grade_1"}))
    with entrypoint_waiter(registration, "handle_submit_application"):
        bus.send_command("registration", factories.submit_application(preferences=("TH-0002",)))
    assert application(registration, "TSTESTREFERENCE01")["status"] == "withdrawn"
    assert len(drain(amqp_uri, refused.name, expect=1)) == 1


def test_a_submission_before_the_school_directory_waits_and_the_sweep_checks_it(
    tmp_path: Path,
    make_database: Callable[[str], str],
    container_factory: Any,
    service_config: Callable[..., dict[str, Any]],
    bus: MessageBus,
) -> None:
    db_uri = make_database("registration")
    (tmp_path / "register.csv").write_text(REGISTER, encoding="utf-8")
    engine = build_engine(db_uri)
    import_register(engine, tmp_path / "register.csv", progress=False)
    engine.dispose()
    container = container_factory(RegistrationService, service_config(db_uri))
    container.start()
    with entrypoint_waiter(container, "handle_round_opened"):
        bus.publish_event("allocation", factories.round_opened())
    with entrypoint_waiter(container, "handle_submit_application"):
        bus.send_command("registration", factories.submit_application(preferences=("TH-0001",)))
    assert application(container, "TSTESTREFERENCE01")["status"] == "received"

    with entrypoint_waiter(container, "handle_school_directory_updated"):
        bus.publish_event(
            "allocation", make_message("school_directory_updated", {"schools": SCHOOLS})
        )

    checked = wait_for(
        lambda: (a := application(container, "TSTESTREFERENCE01"))["status"] != "received" and a,
        timeout=15,
        what="the sweep",
    )
    assert checked["status"] == "verified"


def test_one_malformed_submission_in_a_batch_does_not_hold_up_the_others(
    registration: Any, bus: MessageBus, amqp_uri: str
) -> None:
    good = [
        factories.submit_application(
            reference=f"TSBATCH0000000{n:03d}", citizen_id=f"0012210{n:05d}"
        )
        for n in range(20)
    ]
    poison = factories.submit_application(reference="TSBATCHPOISON0001")
    poison["payload"]["preferences"] = "not a list"
    for command in [*good[:10], poison, *good[10:]]:
        bus.send_command("registration", command)

    [(body, headers)] = drain(amqp_uri, "registration.submit_application.dead", expect=1)
    assert body["payload"]["reference"] == "TSBATCHPOISON0001"
    assert headers["x-tuyensinh-attempt"] == 1
    stored = wait_for(
        lambda: all(_maybe(registration, c["payload"]["reference"]) for c in good),
        what="the good submissions",
    )
    assert stored


def test_intake_status_counts_unverified_applications_and_the_queued_backlog(
    registration: Any, bus: MessageBus
) -> None:
    submit_and_settle(registration, bus)

    with entrypoint_hook(registration, "intake_status") as intake_status:
        status = intake_status("2027-grade_1")

    assert status == {"round_id": "2027-grade_1", "unverified": 0, "backlog": 0}


def test_allocation_outcomes_become_the_parents_status_and_a_late_event_does_not_win(
    registration: Any, bus: MessageBus
) -> None:
    submit_and_settle(registration, bus)
    ref = {"reference": "TSTESTREFERENCE01", "round_id": "2027-grade_1", "school_code": "TH-0001"}
    offered = make_message(
        "seat_offered", {**ref, "preference_rank": 1, "deadline": datetime(2027, 7, 1, tzinfo=UTC)}
    )
    accepted = make_message("offer_accepted", ref)

    for event in (accepted, offered):  # the offer arrives after the acceptance it caused
        with entrypoint_waiter(registration, "handle_application_outcome"):
            bus.publish_event("allocation", event)

    assert application(registration, "TSTESTREFERENCE01")["status"] == "accepted"


def test_outcomes_published_together_land_in_one_batch_in_order_skipping_unknown_references(
    registration: Any, bus: MessageBus
) -> None:
    submit_and_settle(registration, bus)
    ref = {"reference": "TSTESTREFERENCE01", "round_id": "2027-grade_1", "school_code": "TH-0001"}
    deadline = datetime(2027, 7, 1, tzinfo=UTC)
    offered = make_message("seat_offered", {**ref, "preference_rank": 1, "deadline": deadline})
    accepted = make_message("offer_accepted", ref)
    stranger = make_message("offer_accepted", {**ref, "reference": "TSNOSUCHREFERENCE"})

    handled: list[Any] = []

    def all_three(worker_ctx: Any, result: Any, exc_info: Any) -> bool:
        handled.extend(worker_ctx.args[0] if exc_info is None else [])
        return len(handled) >= 3

    # The acceptance first, then the older offer it answered: the offer must not win.
    with entrypoint_waiter(registration, "handle_application_outcome", callback=all_three):
        for event in (accepted, stranger, offered):
            bus.publish_event("allocation", event)

    assert application(registration, "TSTESTREFERENCE01")["status"] == "accepted"
