"""Builders of valid messages, so each test states only what matters to it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.contracts.envelope import make_message


def round_opened(round_id: str = "2027-grade_1", level: str = "grade_1") -> dict[str, Any]:
    """A `round_opened` envelope from allocation."""
    payload = {"round_id": round_id, "level": level, "year": 2027, "max_preferences": 3}
    return make_message("round_opened", payload)


def submit_application(
    *,
    reference: str = "TSTESTREFERENCE01",
    round_id: str = "2027-grade_1",
    citizen_id: str = "001221000123",
    preferences: tuple[str, ...] = ("TH-001", "TH-002"),
    language: str = "vi",
    email: str = "binh@example.com",
    owner_id: str | None = None,
) -> dict[str, Any]:
    """A `submit_application` command as the gateway sends it."""
    payload = {
        "reference": reference,
        "round_id": round_id,
        "child": {
            "citizen_id": citizen_id,
            "full_name": "Nguyễn Văn An",
            "date_of_birth": date(2021, 3, 4),
        },
        "preferences": list(preferences),
        "guardian": {
            "full_name": "Nguyễn Thị Bình",
            "phone": "0912345678",
            "email": email,
            "language": language,
        },
        "submitted_at": datetime.now(UTC),
        "owner_id": owner_id,
    }
    return make_message("submit_application", payload)
