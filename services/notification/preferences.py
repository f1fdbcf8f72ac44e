"""Parents' contact preferences: the language of their notices and the channels they want.

The inbox always gets every notice. A practice round's notices go to the inbox only: its
families are test accounts of the department, and a rehearsal must never text or e-mail a
real phone or address that was typed into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notification.models import ContactPreference
from services.notification.rendering.render import LANGUAGES

CHANNELS = ("email", "sms")


@dataclass(frozen=True)
class Preferences:
    """One account's choices (None: it made none)."""

    language: str | None = None
    email: bool = True
    sms: bool = True


DEFAULT = Preferences()


def preferences_of(session: Session, owner_id: str | None) -> Preferences:
    """The account's stored preferences, or the defaults."""
    row = session.get(ContactPreference, owner_id) if owner_id else None
    return Preferences(row.language, row.email, row.sms) if row else DEFAULT


def preferences_of_many(
    session: Session, owner_ids: Iterable[str | None]
) -> dict[str | None, Preferences]:
    """The stored preferences of those accounts that chose any, in one query."""
    wanted = sorted({owner for owner in owner_ids if owner})
    if not wanted:
        return {}
    rows = session.scalars(select(ContactPreference).where(ContactPreference.owner_id.in_(wanted)))
    return {row.owner_id: Preferences(row.language, row.email, row.sms) for row in rows}


def save_preferences(
    session: Session, owner_id: str, language: str, email: bool, sms: bool
) -> Preferences:
    """Store an account's preferences (replacing earlier ones)."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    row = session.get(ContactPreference, owner_id) or ContactPreference(owner_id=owner_id)
    row.language, row.email, row.sms = language, bool(email), bool(sms)
    row.updated_at = datetime.now(UTC)
    session.add(row)
    return Preferences(language, row.email, row.sms)


def as_dict(preferences: Preferences) -> dict[str, Any]:
    """The preferences as the gateway shows them."""
    return {"language": preferences.language, "email": preferences.email, "sms": preferences.sms}


def channels_for(preferences: Preferences, practice: bool) -> frozenset[str]:
    """The channels (besides the inbox) a notice goes out on."""
    if practice:
        return frozenset()
    return frozenset(c for c in CHANNELS if getattr(preferences, c))


def with_language(application: Mapping[str, Any], preferences: Preferences) -> dict[str, Any]:
    """The application as notices read it, in the account's chosen language if it chose one."""
    if preferences.language is None:
        return dict(application)
    guardian = {**application["guardian"], "language": preferences.language}
    return {**application, "guardian": guardian}
