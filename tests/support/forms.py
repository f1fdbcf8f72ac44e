"""Request bodies as the parents' browsers send them."""

from __future__ import annotations

from typing import Any

from tests.support import factories


def form(**changes: Any) -> dict[str, Any]:
    """A valid POST body, as a parent's browser sends it (grade 1 schools of the demo city)."""
    payload = factories.submit_application(preferences=("TH-0001", "TH-0002"))["payload"]
    body = {key: payload[key] for key in ("round_id", "child", "preferences", "guardian")}
    return {**body, **changes}
