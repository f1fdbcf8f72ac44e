"""Registration's hand-written view of an application gives what its marshmallow schema does."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.registration.models import Application
from services.registration.schemas import ApplicationView, view_of

NOW = datetime(2027, 6, 1, 8, 5, 30, 123456, tzinfo=UTC)


def an_application(**changes: Any) -> Application:
    values: dict[str, Any] = {
        "reference": "TSREF0000001",
        "round_id": "2027-grade_1",
        "citizen_id": "001221000123",
        "child_name": "Nguyễn Văn An",
        "date_of_birth": date(2021, 3, 4),
        "preferences": ["TH-001", "TH-002"],
        "guardian_name": "Nguyễn Thị Bình",
        "guardian_phone": "0912345678",
        "guardian_email": "binh@example.com",
        "language": "vi",
        "status": "verified",
        "submitted_at": NOW,
        "updated_at": NOW,
        "ward_code": "W-01",
        "owner_id": "owner-1",
    }
    return Application(**{**values, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"status": "rejected", "rejection_reasons": [{"field": "child", "code": "not_found"}]},
        {"owner_id": None, "help_point": "ward:W-01", "ward_code": None},
        {"late_reason": "hospital stay", "late_accepted_by": "officer-7"},
        {"refusal": {"what": "submission", "code": "round_closed", "at": NOW.isoformat()}},
        {"erasure_requested_at": NOW, "erased_at": NOW, "citizen_id": None, "child_name": None},
        {"date_of_birth": None, "guardian_email": None, "guardian_phone": None},
    ],
)
def test_the_view_notification_reads_is_the_schemas_dump(changes: dict[str, Any]) -> None:
    application = an_application(**changes)
    assert view_of(application) == ApplicationView().dump(application)
