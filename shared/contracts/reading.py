"""Reading an event by its contract without marshmallow's machinery, for consumers' hot paths.

At publish time the notifier reads a quarter of a million `seat_offered` events, and
marshmallow's generic loading (its error store, its per-field hooks) was an eighth of the
notifier's CPU; allocation reads every application's verdict the same way. The producer's
outbox checked each payload against the same contract when it staged it, so the common case
only needs to be confirmed, not re-derived: `read_event` walks a plan made once per contract
from the contract's own fields (required, defaults, `None`, types, validators) and gives
exactly what `parse_message` gives.

Anything the plan does not plainly accept (a type marshmallow would coerce, a field kind the
plan does not know, a validator that fails, a missing key) goes through `parse_message`
itself, which loads it or raises PoisonMessage: a malformed body is still dead-lettered, and
the contracts stay written once, in `shared.contracts`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing

from shared.contracts.envelope import PAYLOADS, Message, parse_message

ENVELOPE_KEYS = frozenset(
    {"event_id", "type", "version", "occurred_at", "correlation_id", "payload"}
)
# What `str(uuid.UUID(...))` gives back, and what `datetime.isoformat()` writes: other
# spellings may be valid too, and marshmallow decides those.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})")


class _Unsure(Exception):
    """The plan cannot vouch for this value: marshmallow decides."""


Read = Callable[[Any], Any]


@dataclass(frozen=True)
class _Field:
    name: str
    read: Read
    required: bool
    default: Any
    allow_none: bool


@dataclass(frozen=True)
class _Plan:
    fields: tuple[_Field, ...]
    known: frozenset[str]
    refuses_unknown: bool  # True: RAISE (an unknown key is marshmallow's to refuse)

    def read(self, data: Any) -> dict[str, Any]:
        if type(data) is not dict or (self.refuses_unknown and not data.keys() <= self.known):
            raise _Unsure
        loaded: dict[str, Any] = {}
        for field in self.fields:
            value = data.get(field.name, missing)
            if value is missing:
                if field.required:
                    raise _Unsure
                default = field.default() if callable(field.default) else field.default
                if default is not missing:
                    loaded[field.name] = default
            elif value is None:
                if not field.allow_none:
                    raise _Unsure
                loaded[field.name] = None
            else:
                loaded[field.name] = field.read(value)
        return loaded  # unknown keys left out, as EXCLUDE does


def read_event(body: Any, expected_type: str | None = None) -> Message:
    """The event in `body`, exactly as `parse_message(body, expected_type)` loads it (with no
    `expected_type`, whichever event the body says it is); a malformed body raises
    PoisonMessage (from `parse_message`)."""
    try:
        return _read(body, expected_type)
    except _Unsure:
        return parse_message(body, expected_type)


def _read(body: Any, expected_type: str | None) -> Message:
    if type(body) is not dict or body.keys() != ENVELOPE_KEYS:
        raise _Unsure
    event_id, version, correlation_id = body["event_id"], body["version"], body["correlation_id"]
    kind = body["type"] if expected_type is None else expected_type
    if (
        body["type"] != kind
        or type(kind) is not str
        or type(version) is not int
        or version < 1
        or type(event_id) is not str
        or not _UUID.fullmatch(event_id)
        or type(correlation_id) is not str
        or not 1 <= len(correlation_id) <= 64
    ):
        raise _Unsure
    plan = _plan_of(kind, version)
    if plan is None:
        raise _Unsure
    return Message(
        event_id=event_id,
        type=kind,
        version=version,
        occurred_at=_aware(body["occurred_at"]),
        correlation_id=correlation_id,
        payload=plan.read(body["payload"]),
    )


@cache
def _plan_of(message_type: str, version: int) -> _Plan | None:
    contract = PAYLOADS.get((message_type, version))
    schema = contract() if contract is not None else None
    if schema is None:
        return None
    # Commands too (registration's `submit_application`, which the gateway sent unchecked):
    # every field and validator still runs, an unknown key is still marshmallow's to refuse.
    try:
        return _plan(schema)
    except _Unsure:
        return None  # a contract this reader does not know how to confirm: marshmallow


def _plan(schema: Schema) -> _Plan:
    if schema.unknown not in (EXCLUDE, RAISE) or any(getattr(schema, "_hooks", {}).values()):
        raise _Unsure  # keeps unknown keys, or runs code of its own: not planned
    planned = []
    for name, field in schema.load_fields.items():
        if field.data_key not in (None, name) or field.attribute not in (None, name):
            raise _Unsure
        read = _validated(_reader(field), field.validators)
        planned.append(_Field(name, read, field.required, field.load_default, field.allow_none))
    return _Plan(tuple(planned), frozenset(schema.load_fields), schema.unknown == RAISE)


def _reader(field: fields.Field) -> Read:
    # Exact types only: a value marshmallow would coerce ("1" for 1) is left to it.
    if type(field) in (fields.String, fields.Email):  # an Email's check is a validator
        return _exactly(str)
    if type(field) is fields.Integer:
        return _exactly(int)
    if type(field) is fields.Boolean:
        return _exactly(bool)
    if type(field) is fields.Float and not field.allow_nan:
        return _finite
    if type(field) is fields.AwareDateTime and field.default_timezone is None:
        return _aware
    if type(field) is fields.Date and field.format in (None, "iso", "iso8601"):
        return _day
    if type(field) is fields.List:
        item = _validated(_reader(field.inner), field.inner.validators)
        return lambda value: [item(v) for v in _exactly(list)(value)]
    if type(field) is fields.Nested and not field.many and isinstance(field.schema, Schema):
        if field.only or field.exclude:
            raise _Unsure
        return _plan(field.schema).read
    raise _Unsure


def _exactly(kind: type) -> Read:
    def read(value: Any) -> Any:
        if type(value) is not kind:
            raise _Unsure
        return value

    return read


def _finite(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _Unsure
    return float(value)


def _aware(value: Any) -> datetime:
    if type(value) is not str or not _ISO.fullmatch(value):
        raise _Unsure
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # an instant that does not exist (month 13): marshmallow refuses it
        raise _Unsure from None


def _day(value: Any) -> date:
    if type(value) is not str or not _DAY.fullmatch(value):
        raise _Unsure
    try:
        return date.fromisoformat(value)
    except ValueError:  # a day that does not exist (2027-02-30)
        raise _Unsure from None


def _validated(read: Read, validators: list[Callable[[Any], Any]]) -> Read:
    if not validators:
        return read

    def checked(value: Any) -> Any:
        loaded = read(value)
        try:
            if any(validator(loaded) is False for validator in validators):
                raise _Unsure
        except ValidationError:
            raise _Unsure from None
        return loaded

    return checked


def conforms(message_type: str, version: int, payload: Any) -> bool:
    """Whether the contract's plan accepts `payload` (a dumped payload, as it will travel):
    then marshmallow would load it too. False only means "not sure": ask marshmallow."""
    plan = _plan_of(message_type, version)
    if plan is None:
        return False
    try:
        plan.read(payload)
    except _Unsure:
        return False
    return True
