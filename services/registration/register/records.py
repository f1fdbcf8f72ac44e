"""A person as the population register knows them: plain data, free of any database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class RegisterRecord:
    """One register entry; the source of truth for identity, residence and priority."""

    citizen_id: str
    full_name: str
    date_of_birth: date
    gender: str
    ward_code: str
    household_id: str
    priority_category: str | None = None
    # The residence's geocoded point, when the register has one (used to break ties by
    # distance in rounds that ask for it).
    lat: float | None = None
    lon: float | None = None
