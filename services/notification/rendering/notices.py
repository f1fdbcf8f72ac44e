"""What to tell the guardian about an event: which template, in which language, with which values.

Plain functions over the event's payload and the application as registration returns it
(`services/registration/schemas.py` ApplicationView); no framework, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.notification.policy import local_time
from services.notification.rendering.reasons import (
    refusal_texts,
    rejection_text,
    school_rejection_text,
    unplaced_text,
)
from services.notification.rendering.render import LANGUAGES
from services.notification.rendering.round_names import round_name
from shared.contracts.envelope import PoisonMessage

# Event type -> template. A seat offered to someone moved up a waitlist has its own template.
EVENT_TEMPLATES: dict[str, str] = {
    "application_received": "application_received",
    "application_verified": "application_verified",
    "application_rejected": "application_rejected",
    "application_withdrawn": "application_withdrawn",
    "application_refused": "application_refused",
    "seat_offered": "seat_offered",
    "application_waitlisted": "application_waitlisted",
    "application_unplaced": "application_unplaced",
    "offer_expiring": "offer_reminder",
    "offer_accepted": "offer_accepted",
    "offer_declined": "offer_declined",
    "offer_expired": "offer_expired",
    "enrollment_confirmed": "enrollment_confirmed",
    "school_rejected": "school_rejected",
    "correction_requested": "correction_requested",
    "correction_decided": "correction_approved",
}
WAITLIST_MOVED = "waitlist_moved"
CORRECTION_REFUSED = "correction_refused"
# A receipt that carries its verdict (checked in the same transaction): one notice for both.
RECEIVED_AND_VERIFIED = "application_checked"
RECEIVED_AND_REJECTED = "application_received_rejected"
# Every template a receipt can go out with (with or without its verdict).
# A receipt of an application a help desk registered for the family: how to take it over
# (sign up with the guardian's phone), with the verdict if it came with the receipt.
RECEIVED_AT_HELP_POINT = "application_received_help_point"
RECEIPT_TEMPLATES = (
    "application_received",
    RECEIVED_AND_VERIFIED,
    RECEIVED_AND_REJECTED,
    RECEIVED_AT_HELP_POINT,
)
NOTICE_TEMPLATES = (
    *EVENT_TEMPLATES.values(),
    WAITLIST_MOVED,
    *RECEIPT_TEMPLATES[1:],
    CORRECTION_REFUSED,
)
OTP_TEMPLATE = "login_otp"


@dataclass(frozen=True)
class Contacts:
    """Where the guardian is reached."""

    email: str
    phone: str


@dataclass(frozen=True)
class Notice:
    """One thing to tell one guardian: rendered once per channel, recorded once per channel."""

    event_id: str
    template: str
    reference: str
    language: str
    context: dict[str, Any]


def language_of(value: Any) -> str:
    """The guardian's language if we have templates in it, else Vietnamese."""
    return value if value in LANGUAGES else "vi"


def contacts_of(application: Mapping[str, Any]) -> Contacts:
    """The guardian's e-mail address and phone from registration's view of the application."""
    guardian = application["guardian"]
    return Contacts(email=guardian["email"], phone=guardian["phone"])


def notice_for(
    event_id: str, event_type: str, payload: Mapping[str, Any], application: Mapping[str, Any]
) -> Notice:
    """The notice an event gives the guardian of `application`."""
    language = language_of(application["guardian"].get("language"))
    template = EVENT_TEMPLATES[event_type]
    if event_type == "seat_offered" and payload.get("moved_from"):
        template = WAITLIST_MOVED
    if event_type == "correction_decided" and payload.get("decision") == "refused":
        template = CORRECTION_REFUSED
    if event_type == "application_received" and payload.get("verdict"):
        # "Received and verified" in one notice; "not valid, because ..." says both too.
        verified = payload["verdict"] == "verified"
        template = RECEIVED_AND_VERIFIED if verified else RECEIVED_AND_REJECTED
    if event_type == "application_received" and payload.get("help_point"):
        template = RECEIVED_AT_HELP_POINT
    context = {
        "guardian_name": application["guardian"]["full_name"],
        "child_name": application["child"]["full_name"],
        "reference": application["reference"],
        "round_id": application["round_id"],
        "round_name": round_name(application["round_id"], language),
        **_EXTRAS.get(event_type, _nothing)(payload, application, language),
    }
    return Notice(event_id, template, application["reference"], language, context)


def _nothing(payload: Mapping[str, Any], _: Mapping[str, Any], __: str) -> dict[str, Any]:
    return {}


def _received(payload: Mapping[str, Any], app: Mapping[str, Any], language: str) -> dict[str, Any]:
    # Joined here rather than in the template: a plain value fills the e-mail's skeleton.
    extras: dict[str, Any] = {"preferences": ", ".join(app["preferences"])}
    if payload.get("verdict") == "rejected":
        extras = _rejected(payload, app, language)
    if payload.get("help_point"):
        extras["verdict"] = payload.get("verdict")
        extras.setdefault("reasons", [])
    return extras


def _refused(payload: Mapping[str, Any], _: Mapping[str, Any], language: str) -> dict[str, Any]:
    return refusal_texts(payload["what"], payload["reason"], language)


def told_with_receipt(event_type: str, payload: Mapping[str, Any]) -> bool:
    """Whether the event's notice already went out as part of the receipt (see above)."""
    return event_type in VERDICTS and bool(payload.get("with_receipt"))


VERDICTS = ("application_verified", "application_rejected")


def _rejected(payload: Mapping[str, Any], _: Mapping[str, Any], language: str) -> dict[str, Any]:
    reasons = payload["reasons"]
    return {"reasons": [rejection_text(r["code"], r["field"], language) for r in reasons]}


def _seat(payload: Mapping[str, Any], _: Mapping[str, Any], __: str) -> dict[str, Any]:
    extras: dict[str, Any] = {"school_code": payload["school_code"]}
    if "deadline" in payload:
        extras["deadline"] = local_time(payload["deadline"])
        extras["preference_rank"] = payload.get("preference_rank")
        extras["moved_from"] = payload.get("moved_from")
    return extras


def _waitlisted(payload: Mapping[str, Any], _: Mapping[str, Any], __: str) -> dict[str, Any]:
    positions = sorted(payload["positions"], key=lambda p: (p["position"], p["school_code"]))
    if not positions:
        raise PoisonMessage("application_waitlisted without positions")
    return {"positions": positions, "best": positions[0], "others": len(positions) - 1}


def _unplaced(payload: Mapping[str, Any], _: Mapping[str, Any], language: str) -> dict[str, Any]:
    return {"reason": unplaced_text(payload["reason"], language), "reason_code": payload["reason"]}


def _school_rejected(
    payload: Mapping[str, Any], _: Mapping[str, Any], language: str
) -> dict[str, Any]:
    return {
        "school_code": payload["school_code"],
        "reason": school_rejection_text(payload.get("reason"), language),
    }


def _correction(payload: Mapping[str, Any], _: Mapping[str, Any], __: str) -> dict[str, Any]:
    # The reviewer's own words, in the language they wrote them in.
    return {"reason": payload.get("reason") or ""}


_Extras = Callable[[Mapping[str, Any], Mapping[str, Any], str], dict[str, Any]]
_EXTRAS: dict[str, _Extras] = {
    "application_received": _received,
    "application_rejected": _rejected,
    "application_refused": _refused,
    "seat_offered": _seat,
    "offer_expiring": _seat,
    "application_waitlisted": _waitlisted,
    "application_unplaced": _unplaced,
    "offer_accepted": _seat,
    "offer_declined": _seat,
    "offer_expired": _seat,
    "enrollment_confirmed": _seat,
    "school_rejected": _school_rejected,
    "correction_decided": _correction,
}
