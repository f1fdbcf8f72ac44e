"""The API's per-field errors (`{"error": {"fields": ...}}`) turned into plain sentences, one per
form field, in the request's language."""

from __future__ import annotations

from typing import Any

from gateway.portal.client import Answer
from gateway.portal.i18n import gettext as _
from gateway.portal.i18n import lazy
from gateway.portal.labels import REFUSED_CHANGES

ADVICE = {
    "child.citizen_id": lazy("The citizen ID has 12 digits, as printed on the birth certificate."),
    "child.full_name": lazy("Type the child's full name, as in the register (2 to 120 letters)."),
    "child.date_of_birth": lazy("Give the date of birth: day, month and year."),
    "preferences": lazy("Choose at least one school, and each school only once."),
    "guardian.full_name": lazy("Type your full name (2 to 120 letters)."),
    "guardian.phone": lazy("Type a phone number such as 0912 345 678."),
    "guardian.email": lazy("Type an e-mail address such as name@example.com."),
    "guardian.language": lazy("Choose Vietnamese or English."),
    "phone": lazy("Type a phone number such as 0912 345 678."),
    "password": lazy("The password needs at least 8 characters."),
    "code": lazy("The code is the 6 digits in the text message."),
    "round_id": lazy("Choose a round that is open now."),
    "reason": lazy("Give a reason of 2 to 200 characters (a late application's: 5 to 500)."),
    "identity.document_kind": lazy("Choose the document you checked."),
    "username": lazy("3 to 64 of a-z, 0-9, '.', '_' and '-'."),
    "help_point_code": lazy("A ward's 5-digit code, or a school's code such as TH-0001."),
    "identity.last_digits": lazy("Type the last 4 characters of the document's number."),
    "text": lazy("Say what is wrong in the register, in 10 to 1000 characters."),
    "evidence": lazy("Attach a JPEG or PNG photo, or a PDF, of at most 5 MB."),
}
REQUIRED = lazy("Please fill in this field.")
OTHER = lazy("This value is not accepted.")
MISSING_MARK = "Missing data"


def field_errors(answer: Answer) -> dict[str, str]:
    """`{"child.citizen_id": "The citizen ID has 12 digits...", ...}` for a 400 answer."""
    found: dict[str, str] = {}
    for path, messages in _flatten(answer.error.get("fields") or {}):
        missing = any(MISSING_MARK in str(m) for m in messages)
        advice = REQUIRED if missing else ADVICE.get(path, OTHER)
        found.setdefault(path, _(advice))
    if not found and not answer.ok:
        found[""] = _(OTHER)
    return found


def _flatten(fields: dict[str, Any], prefix: str = "") -> list[tuple[str, list[Any]]]:
    flat: list[tuple[str, list[Any]]] = []
    for key, value in fields.items():
        # List items ({"0": [...]}) are errors of the list itself, e.g. `preferences`.
        path = prefix if key.isdigit() and prefix else f"{prefix}.{key}" if prefix else key
        if key in ("json", "_schema") and not prefix:
            path = ""
        if isinstance(value, dict):
            flat.extend(_flatten(value, path))
        else:
            flat.append((path, value if isinstance(value, list) else [value]))
    return flat


def register_reasons(application: dict[str, Any], language: str) -> list[str]:
    """Why registration did not accept an application, in the family's language."""
    reasons = application.get("rejection_reasons") or []
    key = "message_en" if language == "en" else "message_vi"
    return [str(reason.get(key) or reason.get("message_vi") or "") for reason in reasons]


def refusal(application: dict[str, Any], language: str) -> dict[str, str] | None:
    """What was refused after the family was told "received", and why, in their language."""
    refused = application.get("refusal")
    if not refused:
        return None
    why = refused.get("message_en" if language == "en" else "message_vi") or ""
    what = REFUSED_CHANGES.get(str(refused.get("what")), REFUSED_CHANGES["submission"])
    return {"what": _(what), "why": str(why), "at": str(refused.get("at") or "")}
