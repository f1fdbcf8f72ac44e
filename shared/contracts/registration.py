"""Registration's contracts: the commands it takes (from the gateway) and the events it
publishes about applications. Payloads carry IDs, not personal data, wherever an ID will do;
the one exception is `submit_application`: it is how the form reaches registration."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from shared.contracts.common import (
    CITIZEN_ID,
    LATITUDE,
    LONGITUDE,
    SCHOOL_CODE,
    ChildSchema,
    Command,
    Event,
    GuardianSchema,
    ReasonSchema,
)
from shared.corrections import CorrectionDecidedV1, CorrectionRequestedV1


class SubmissionAuditV1(Command):
    """The audit entry of a submission the gateway answered 202: who, from where, under which
    correlation ID, when. Registration appends it in the transaction that stores the
    application (IDs only: never a name, birth date or citizen ID)."""

    action = fields.String(required=True, validate=validate.Length(max=64))
    actor_id = fields.String(required=True, validate=validate.Length(max=36))
    role = fields.String(required=True, validate=validate.Length(max=16))
    ip = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=45))
    at = fields.AwareDateTime(required=True)


class LateAcceptanceV1(Command):
    """The department accepted an application after close: why, and which account did."""

    reason = fields.String(required=True, validate=validate.Length(min=5, max=500))
    accepted_by = fields.String(required=True, validate=validate.Length(min=1, max=64))


class SubmitApplicationV1(Command):
    """Command: a parent submitted (or resubmitted) an application for a round."""

    reference = fields.String(required=True, validate=validate.Length(min=8, max=32))
    round_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    child = fields.Nested(ChildSchema, required=True)
    preferences = fields.List(
        fields.String(validate=SCHOOL_CODE),
        required=True,
        validate=validate.Length(min=1, max=10),
    )
    guardian = fields.Nested(GuardianSchema, required=True)
    submitted_at = fields.AwareDateTime(required=True)
    # The parent's account that submitted it: only that account may see or change it.
    owner_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    # The request's audit entry, written with the application (absent from older gateways).
    audit = fields.Nested(SubmissionAuditV1, load_default=None, allow_none=True)
    # Registered by a help desk for a family without an account: where (`ward:CODE` or
    # `school:CODE`, never the officer); the guardian's receipt then says how to take over.
    help_point = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^(ward|school):[A-Z0-9-]+$")
    )
    # Set only by the department's late-application route (never by a parent's submission):
    # accepted after close, with the reason it recorded.
    late = fields.Nested(LateAcceptanceV1, load_default=None, allow_none=True)


class WithdrawApplicationV1(Command):
    """Command: the parent withdrew an application while the round is open."""

    reference = fields.String(required=True, validate=validate.Length(min=8, max=32))
    round_id = fields.String(required=True, validate=validate.Length(min=1, max=40))


class RequestErasureV1(Command):
    """Command: the parent asked for their child's personal data in an application to be
    erased (the application is withdrawn first if its round is still open)."""

    reference = fields.String(required=True, validate=validate.Length(min=8, max=32))
    round_id = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ApplicationReceivedV1(Event):
    """Event: registration stored a new application."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    status = fields.String(required=True)
    # Checked in the same transaction: the verdict travels with the receipt, so the family
    # gets one notice ("received and checked") in the right order, not two that may cross.
    verdict = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(("verified", "rejected"))
    )
    reasons = fields.List(fields.Nested(ReasonSchema), load_default=None, allow_none=True)
    # Registered at a help point for a family without an account (`ward:CODE`, `school:CODE`).
    help_point = fields.String(load_default=None, allow_none=True)


class ApplicationAmendedV1(Event):
    """Event: a resubmission replaced an application's preferences or contacts."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)


class ApplicationRefV1(Event):
    """Payload of events that only need to say which application: withdrawn, refused, ..."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)


REFUSAL_REASONS = ("round_closed", "round_not_open", "holds_a_place")
REFUSED_CHANGES = ("submission", "amendment", "withdrawal", "erasure")


class ApplicationRefusedV1(Event):
    """Event: something the gateway had answered 202 for was refused later; what and why."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    reason = fields.String(load_default="round_closed", validate=validate.OneOf(REFUSAL_REASONS))
    what = fields.String(load_default="submission", validate=validate.OneOf(REFUSED_CHANGES))


class ApplicationVerifiedV1(Event):
    """Event: the application matches the register; what allocation needs to place the child.

    The citizen ID travels here because the published lottery is HMAC(seed, citizen ID): the
    allocation service must compute it, and anyone must be able to recompute it. The name,
    birth date and address do not travel; the residence ward is a ward code from the register.
    `lat`/`lon` are the register's geocoded point of the residence, when it has one: a round
    that breaks ties by distance needs it (absent, the child's distance counts as unknown).
    """

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    citizen_id = fields.String(required=True, validate=CITIZEN_ID)
    ward_code = fields.String(required=True)
    household_id = fields.String(required=True)
    priority_category = fields.String(load_default=None, allow_none=True)
    preferences = fields.List(fields.String(validate=SCHOOL_CODE), required=True)
    lat = fields.Float(load_default=None, allow_none=True, validate=LATITUDE)
    lon = fields.Float(load_default=None, allow_none=True, validate=LONGITUDE)
    # True when `application_received` carried this verdict (the family was told with it).
    with_receipt = fields.Boolean(load_default=False)
    # Accepted by the department after close: placed after every on-time application.
    late = fields.Boolean(load_default=False)


class ApplicationRejectedV1(Event):
    """Event: verification failed; the reasons are codes per field, never values."""

    reference = fields.String(required=True)
    round_id = fields.String(required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    with_receipt = fields.Boolean(load_default=False)


PAYLOADS: dict[tuple[str, int], Any] = {
    ("submit_application", 1): SubmitApplicationV1,
    ("withdraw_application", 1): WithdrawApplicationV1,
    ("request_erasure", 1): RequestErasureV1,
    ("application_received", 1): ApplicationReceivedV1,
    ("application_amended", 1): ApplicationAmendedV1,
    ("application_withdrawn", 1): ApplicationRefV1,
    ("application_refused", 1): ApplicationRefusedV1,
    ("application_erased", 1): ApplicationRefV1,
    ("application_verified", 1): ApplicationVerifiedV1,
    ("application_rejected", 1): ApplicationRejectedV1,
    ("correction_requested", 1): CorrectionRequestedV1,
    ("correction_decided", 1): CorrectionDecidedV1,
}
