"""Realistic events with the longest values the contracts allow, for the template tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

REFERENCE = "TSABCDEFGHIJKLMNOP"  # the gateway's references: "TS" and 16 base32 characters
SCHOOL = "THCS-NGUYEN-TRAI-999"  # 20 characters, the longest SCHOOL_CODE allows
OTHER_SCHOOL = "TH-DICH-VONG-HAU-001"
DEADLINE = datetime(2027, 7, 20, 10, 0, tzinfo=UTC)
ROUND = "2027-grade_6-second-round"


def application(language: str = "vi", **guardian: str) -> dict[str, Any]:
    """Registration's view of an application (ApplicationView), with long names."""
    return {
        "reference": REFERENCE,
        "round_id": ROUND,
        "status": "received",
        "preferences": [SCHOOL, OTHER_SCHOOL, "THCS-CAU-GIAY-002"],
        "child": {"full_name": "Nguyễn Hoàng Phương Thảo Nguyên", "citizen_id": "001221000123"},
        "guardian": {
            "full_name": "Nguyễn Thị Bích Ngọc",
            "phone": "0912345678",
            "email": "ngoc@example.com",
            "language": language,
            **guardian,
        },
    }


def seat(**changes: Any) -> dict[str, Any]:
    """A seat event's payload."""
    return {"reference": REFERENCE, "round_id": ROUND, "school_code": SCHOOL, **changes}


# (event type, payload, template it should use)
EVENTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "application_received",
        {"reference": REFERENCE, "round_id": ROUND, "status": "received"},
        "application_received",
    ),
    (
        "application_verified",
        {
            "reference": REFERENCE,
            "round_id": ROUND,
            "citizen_id": "001221000123",
            "ward_code": "00004",
            "household_id": "HH-0001",
            "preferences": [SCHOOL],
        },
        "application_verified",
    ),
    (
        "application_rejected",
        {
            "reference": REFERENCE,
            "round_id": ROUND,
            "reasons": [
                {"field": "child.full_name", "code": "name_mismatch"},
                {"field": "child.date_of_birth", "code": "wrong_age_for_level"},
                {"field": "preferences.2", "code": "unknown_school"},
                {"field": "preferences.3", "code": "wrong_level"},
            ],
        },
        "application_rejected",
    ),
    ("application_withdrawn", {"reference": REFERENCE, "round_id": ROUND}, "application_withdrawn"),
    ("seat_offered", seat(deadline=DEADLINE, preference_rank=2), "seat_offered"),
    ("seat_offered", seat(deadline=DEADLINE, preference_rank=None), "seat_offered"),
    (
        "seat_offered",
        seat(deadline=DEADLINE, preference_rank=1, moved_from=OTHER_SCHOOL),
        "waitlist_moved",
    ),
    (
        "application_waitlisted",
        {
            "reference": REFERENCE,
            "round_id": ROUND,
            "positions": [
                {"school_code": OTHER_SCHOOL, "position": 12345},
                {"school_code": SCHOOL, "position": 23456},
            ],
        },
        "application_waitlisted",
    ),
    (
        "application_unplaced",
        {"reference": REFERENCE, "round_id": ROUND, "reason": "catchment_full"},
        "application_unplaced",
    ),
    (
        "application_unplaced",
        {"reference": REFERENCE, "round_id": ROUND, "reason": "already_placed"},
        "application_unplaced",
    ),
    ("offer_expiring", seat(deadline=DEADLINE), "offer_reminder"),
    ("offer_accepted", seat(), "offer_accepted"),
    ("offer_declined", seat(), "offer_declined"),
    ("offer_expired", seat(), "offer_expired"),
    ("enrollment_confirmed", seat(), "enrollment_confirmed"),
    ("school_rejected", seat(reason="documents_missing"), "school_rejected"),
    (
        "school_rejected",
        seat(reason="Thiếu bản gốc giấy khai sinh và sổ hộ khẩu"),
        "school_rejected",
    ),
    # A receipt with its verdict (one notice for both), and refusals after a 202.
    (
        "application_received",
        {"reference": REFERENCE, "round_id": ROUND, "status": "received", "verdict": "verified"},
        "application_checked",
    ),
    (
        "application_received",
        {
            "reference": REFERENCE,
            "round_id": ROUND,
            "status": "received",
            "verdict": "rejected",
            "reasons": [{"field": "child.full_name", "code": "name_mismatch"}],
        },
        "application_received_rejected",
    ),
    # Registered at a help point: how to take it over, with or without the verdict.
    (
        "application_received",
        {
            "reference": REFERENCE,
            "round_id": ROUND,
            "status": "received",
            "help_point": "ward:00004",
        },
        "application_received_help_point",
    ),
    (
        "application_received",
        {
            "reference": REFERENCE,
            "round_id": ROUND,
            "status": "received",
            "verdict": "rejected",
            "reasons": [{"field": "child.full_name", "code": "name_mismatch"}],
            "help_point": "school:TH-0001",
        },
        "application_received_help_point",
    ),
    (
        "application_refused",
        {"reference": REFERENCE, "round_id": ROUND, "reason": "round_closed", "what": "submission"},
        "application_refused",
    ),
    (
        "application_refused",
        {"reference": REFERENCE, "round_id": ROUND, "reason": "holds_a_place", "what": "erasure"},
        "application_refused",
    ),
    # A register correction: asked, approved, refused with the reviewer's reason.
    (
        "correction_requested",
        {"reference": REFERENCE, "round_id": ROUND, "request_id": "r1"},
        "correction_requested",
    ),
    (
        "correction_decided",
        {"reference": REFERENCE, "round_id": ROUND, "request_id": "r1", "decision": "approved"},
        "correction_approved",
    ),
    (
        "correction_decided",
        {
            "reference": REFERENCE,
            "round_id": ROUND,
            "request_id": "r1",
            "decision": "refused",
            "reason": "Ảnh chụp VNeID không đọc được số định danh; xin gửi lại ảnh rõ hơn.",
        },
        "correction_refused",
    ),
]
