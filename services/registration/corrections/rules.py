"""The rules of correction requests, in plain Python: who may ask, and what an approval writes.

No framework, no database, no I/O: the store (`corrections/requests.py`) loads
and saves around these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.registration.register.records import RegisterRecord
from shared.corrections import CORRECTABLE_CODES

# What a new register person needs (a child the register does not know at all).
NEW_PERSON_FIELDS = ("full_name", "date_of_birth", "gender", "ward_code", "household_id")
CORRECTABLE_FIELDS = (*NEW_PERSON_FIELDS, "priority_category")


@dataclass(frozen=True)
class RegisterChange:
    """What an approval writes to the register: the values, the fields changed, and whether
    the person is added (they were not in the register)."""

    values: dict[str, Any]
    fields: tuple[str, ...]
    created: bool


def register_codes(reasons: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """The rejection codes a register correction can cure, in their order, once each."""
    codes = [str(reason["code"]) for reason in reasons or ()]
    return list(dict.fromkeys(code for code in codes if code in CORRECTABLE_CODES))


def filing_refusal(
    status: str, reasons: Iterable[Mapping[str, Any]] | None, round_open: bool, pending: bool
) -> str | None:
    """Why a family may not ask for a correction now (an error code), or None if it may.

    Only a rejected application, rejected (at least partly) because of the register; only
    while its round accepts applications (a request is decided before the allocation, which
    waits for it: services/registration/store.py intake_status); one pending request at a
    time.
    """
    if status != "rejected" or not register_codes(reasons):
        return "not_rejected_by_register"
    if not round_open:
        return "round_closed"
    if pending:
        return "request_pending"
    return None


def register_change(
    record: RegisterRecord | None, citizen_id: str, given: Mapping[str, Any]
) -> RegisterChange | dict[str, list[str]]:
    """The change an approval writes: the given fields that differ from the register (all of
    a new person's); or, per field, why it cannot (`{"register.ward_code": [...]}`)."""
    wanted = {key: value for key, value in given.items() if key in CORRECTABLE_FIELDS}
    wanted = {key: value for key, value in wanted.items() if value not in (None, "")}
    if record is None:
        missing = [name for name in NEW_PERSON_FIELDS if name not in wanted]
        if missing:
            message = "needed to add the child to the register"
            return {f"register.{name}": [message] for name in missing}
        values = {"citizen_id": citizen_id, "priority_category": None, **wanted}
        return RegisterChange(values, tuple(sorted(wanted)), created=True)
    changed = {key: value for key, value in wanted.items() if getattr(record, key) != value}
    if not changed:
        return {"register": ["nothing differs from the register: give the corrected values"]}
    return RegisterChange(changed, tuple(sorted(changed)), created=False)
