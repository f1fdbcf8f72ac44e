"""Dumping a payload by its contract without marshmallow's machinery, where the types are plain.

The gateway dumps the command of every submission it answers 202, and marshmallow's generic
dump (a serialize call per field, its accessors) was ~7 % of a gateway worker's CPU per 202
under P1 (py-spy). `dump_payload` walks a plan made once per contract from the contract's own
dump fields and gives exactly what `schema.dump` gives, for values of the exact types the plan
knows: text, whole numbers, booleans, finite floats, aware instants and days in ISO format,
lists of those, and nested contracts. For anything else (a subclass, a naive instant, a field
kind the plan does not know, a contract with hooks or renamed keys) it gives None, and the
caller asks marshmallow: the contracts stay written once, in `shared.contracts`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any

from marshmallow import Schema, fields, missing

from shared.contracts.envelope import PAYLOADS

# `_same(kind)`: a value of exactly that type, as is; anything else raises `_Unsure`, and is
# marshmallow's to dump (as when reading).
from shared.contracts.reading import _exactly as _same
from shared.contracts.reading import _Unsure

Write = Callable[[Any], Any]


def dump_payload(message_type: str, version: int, payload: Any) -> dict[str, Any] | None:
    """What the contract's `schema.dump(payload)` gives, or None: ask marshmallow."""
    write = _writer_of(message_type, version)
    if write is None:
        return None
    try:
        dumped: dict[str, Any] = write(payload)
    except _Unsure:
        return None
    return dumped


@cache
def _writer_of(message_type: str, version: int) -> Write | None:
    contract = PAYLOADS.get((message_type, version))
    if contract is None:
        return None
    try:
        return _schema_writer(contract())
    except _Unsure:
        return None


def _schema_writer(schema: Schema) -> Write:
    if any(getattr(schema, "_hooks", {}).values()):
        raise _Unsure  # runs code of its own around the dump
    planned: list[tuple[str, Write]] = []
    for name, field in schema.dump_fields.items():
        renamed = field.data_key not in (None, name) or field.attribute not in (None, name)
        if renamed or field.dump_default is not missing:
            raise _Unsure
        planned.append((name, _field_writer(field)))

    def write(data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            raise _Unsure
        dumped: dict[str, Any] = {}
        for name, write_field in planned:
            value = data.get(name, missing)
            if value is not missing:  # marshmallow leaves a missing key out
                dumped[name] = None if value is None else write_field(value)
        return dumped

    return write


def _field_writer(field: fields.Field) -> Write:
    kind = type(field)
    if kind in (fields.String, fields.Email):
        return _same(str)
    if kind is fields.Integer and not field.as_string:  # type: ignore[attr-defined]
        return _same(int)
    if kind is fields.Boolean:
        return _same(bool)
    if kind is fields.Float and not field.as_string:  # type: ignore[attr-defined]
        return _same(float)
    if kind in (fields.AwareDateTime, fields.DateTime) and _iso(field):
        return _instant
    if kind is fields.Date and _iso(field):
        return _day
    if kind is fields.List:
        inner = _field_writer(field.inner)  # type: ignore[attr-defined]
        listed = _same(list)
        return lambda value: [None if item is None else inner(item) for item in listed(value)]
    if kind is fields.Nested and not field.many and isinstance(field.schema, Schema):  # type: ignore[attr-defined]
        if field.only or field.exclude:  # type: ignore[attr-defined]
            raise _Unsure
        return _schema_writer(field.schema)  # type: ignore[attr-defined]
    raise _Unsure


def _iso(field: fields.Field) -> bool:
    return getattr(field, "format", None) in (None, "iso", "iso8601")


def _instant(value: Any) -> str:
    if type(value) is not datetime:
        raise _Unsure
    return value.isoformat()


def _day(value: Any) -> str:
    if type(value) is not date:  # a datetime is a date too, and dumps otherwise
        raise _Unsure
    return value.isoformat()
