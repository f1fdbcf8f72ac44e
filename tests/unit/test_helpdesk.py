"""Help points, the pure parts: what a help desk is bound to, the family account opened for a
guardian's phone, what an officer may follow, the receipt that says how to take over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gateway import helpdesk
from gateway.auth import accounts
from gateway.auth.models import Account
from gateway.auth.passwords import Passwords
from gateway.auth.roles import DEPARTMENT, HELPDESK, PARENT, STAFF, Principal, help_point_of
from gateway.auth.tokens import TokenIssuer
from gateway.db import Base
from services.notification.rendering.notices import notice_for
from services.notification.rendering.render import render_email, render_sms
from services.registration.models import Application
from services.registration.store import receipt
from shared.contracts.registration import ApplicationReceivedV1, SubmitApplicationV1
from tests.unit.notification.examples import REFERENCE, ROUND, application


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


@pytest.mark.parametrize(
    ("school", "ward", "bound"),
    [("TH-0001", None, ("TH-0001", None)), (None, "00004", (None, "00004"))],
)
def test_a_help_desk_is_bound_to_one_school_or_one_ward(
    session: Session, school: str | None, ward: str | None, bound: tuple[str | None, str | None]
) -> None:
    desk = accounts.add_operator(session, HELPDESK, "hotro.one", "hash", school, ward)

    assert (desk.school_code, desk.ward_code) == bound
    assert help_point_of(desk.role, desk.school_code, desk.ward_code) == (
        f"school:{school}" if school else f"ward:{ward}"
    )


@pytest.mark.parametrize(
    ("school", "ward"), [(None, None), ("TH-0001", "00004"), ("th 1", None), (None, "P4")]
)
def test_a_help_desk_bound_to_both_or_neither_or_a_bad_code_is_refused(
    session: Session, school: str | None, ward: str | None
) -> None:
    with pytest.raises(ValueError, match="one school code or one ward code"):
        accounts.add_operator(session, HELPDESK, "hotro.two", "hash", school, ward)


def test_staff_cannot_be_bound_to_a_ward_and_the_department_to_nothing(session: Session) -> None:
    with pytest.raises(ValueError, match="one school"):
        accounts.add_operator(session, STAFF, "staff.one", "hash", "TH-0001", "00004")
    department = accounts.add_operator(session, DEPARTMENT, "phong.gd", "hash", "TH-0001", "1")

    assert (department.school_code, department.ward_code) == (None, None)


def test_only_a_help_desk_has_a_help_point() -> None:
    assert Principal("a", HELPDESK, ward_code="00004").help_point == "ward:00004"
    assert Principal("a", STAFF, school_code="TH-0001").help_point is None
    assert Principal("a", PARENT).help_point is None


def test_the_help_desks_ward_travels_in_its_access_token() -> None:
    issuer = TokenIssuer("a-secret-long-enough-for-hs256-keys", 60)

    principal = issuer.verify(issuer.issue("desk-1", HELPDESK, None, "00004"))

    assert (principal.role, principal.ward_code, principal.help_point) == (
        HELPDESK,
        "00004",
        "ward:00004",
    )


def test_a_guardian_without_an_account_gets_one_without_a_password(session: Session) -> None:
    opened = accounts.family_for_phone(session, "0912 000 111", "en")
    again = accounts.family_for_phone(session, "+84912000111", "vi")

    assert again is opened
    assert (opened.role, opened.phone, opened.language) == (PARENT, "+84912000111", "en")
    assert opened.phone_verified_at is None and not accounts.can_log_in(opened)
    assert not Passwords(time_cost=1, memory_kib=1024).verify(opened.password_hash, "")


def test_a_closed_family_account_is_not_reopened_by_a_help_desk(session: Session) -> None:
    family = accounts.family_for_phone(session, "0912000111", "vi")
    family.disabled_at = datetime.now(UTC)

    with pytest.raises(accounts.AccountExists):
        accounts.family_for_phone(session, "0912000111", "vi")


def test_an_officer_follows_only_what_they_registered_at_their_help_point(
    session: Session,
) -> None:
    desks = [
        accounts.add_operator(session, HELPDESK, f"hotro.{n}", "h", None, "00004") for n in "ab"
    ]
    family = accounts.family_for_phone(session, "0912000111", "vi")
    session.flush()
    for reference, desk, point in (
        ("TSMINE0000000001", desks[0], "ward:00004"),
        ("TSMINE0000000001", desks[0], "ward:00004"),  # registered again: one row listed
        ("TSCOLLEAGUE00001", desks[1], "ward:00004"),
        ("TSEARLIERPOINT01", desks[0], "ward:00007"),  # before the officer moved
    ):
        helpdesk.record(
            session,
            reference=reference,
            round_id="2027-grade_1",
            officer_id=desk.id,
            help_point=point,
            owner_id=family.id,
            document_kind="passport",
            document_last_digits="0123",
        )
    session.flush()

    listed = helpdesk.registered_by(session, desks[0].id, "ward:00004")
    one = helpdesk.registered_by(session, desks[0].id, "ward:00004", "TSCOLLEAGUE00001")

    assert [row.reference for row in listed] == ["TSMINE0000000001"]
    assert one == []


def test_the_submit_command_carries_the_help_point_and_refuses_anything_else() -> None:
    command = {
        "reference": REFERENCE,
        "round_id": ROUND,
        "child": {"citizen_id": "001221000123", "full_name": "An", "date_of_birth": "2021-03-04"},
        "preferences": ["TH-0001"],
        "guardian": {"full_name": "Bình", "phone": "0912345678", "email": "b@example.com"},
        "submitted_at": "2027-06-01T08:00:00+00:00",
    }

    assert SubmitApplicationV1().load({**command, "help_point": "ward:00004"})["help_point"] == (
        "ward:00004"
    )
    assert SubmitApplicationV1().validate({**command, "help_point": "officer 12"}) != {}


def test_the_receipt_of_an_application_registered_at_a_help_point_names_it() -> None:
    stored = Application(reference=REFERENCE, round_id=ROUND, status="received")
    stored.help_point = "school:TH-0001"

    event = receipt(stored, "c1")

    assert ApplicationReceivedV1().load(event["payload"])["help_point"] == "school:TH-0001"
    assert (
        "help_point"
        not in receipt(Application(reference=REFERENCE, round_id=ROUND, status="received"), "c1")[
            "payload"
        ]
    )


@pytest.mark.parametrize(
    ("verdict", "says"), [(None, "will now be checked"), ("verified", "matches")]
)
def test_the_guardian_is_told_how_to_take_over_in_their_language(
    verdict: str | None, says: str
) -> None:
    payload = {"reference": REFERENCE, "round_id": ROUND, "status": "received"}
    payload |= {"help_point": "ward:00004", "verdict": verdict}

    english = notice_for("e1", "application_received", payload, application("en"))
    vietnamese = notice_for("e1", "application_received", payload, application("vi"))

    assert english.template == vietnamese.template == "application_received_help_point"
    text = render_email(english.template, "en", english.context).text
    assert says in text and "Create an account" in text
    assert "create an account" in render_sms(english.template, "en", english.context)
    assert "tạo tài khoản" in render_sms(vietnamese.template, "vi", vietnamese.context)


def test_an_account_row_of_a_help_desk_keeps_its_ward(session: Session) -> None:
    desk = accounts.add_operator(session, HELPDESK, "hotro.keep", "h", None, "00004")
    session.flush()

    assert session.get(Account, desk.id).ward_code == "00004"  # type: ignore[union-attr]
