"""The population register behind an adapter: SQL today, a national register later."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registration.register.models import RegisterPerson
from services.registration.register.records import RegisterRecord

LOOKUP_CHUNK = 1000  # ids per IN (...) query; keeps statements small for big batches


class PopulationRegister(Protocol):
    """Answers who a citizen id belongs to."""

    def lookup(self, citizen_id: str) -> RegisterRecord | None:
        """The person with `citizen_id`, or None if the register has no such person."""
        ...

    def lookup_many(self, citizen_ids: Iterable[str]) -> dict[str, RegisterRecord]:
        """The people found among `citizen_ids`, by id; ids not found are left out."""
        ...


class SqlPopulationRegister:
    """The register as imported into the registration database (`register_people`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lookup(self, citizen_id: str) -> RegisterRecord | None:
        """The person with `citizen_id`, or None."""
        person = self.session.get(RegisterPerson, citizen_id)
        return person.record() if person is not None else None

    def lookup_many(self, citizen_ids: Iterable[str]) -> dict[str, RegisterRecord]:
        """The people found among `citizen_ids`, in chunks of `LOOKUP_CHUNK` ids a query."""
        wanted = list(dict.fromkeys(citizen_ids))
        found: dict[str, RegisterRecord] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            query = select(RegisterPerson).where(RegisterPerson.citizen_id.in_(chunk))
            for person in self.session.scalars(query):
                found[person.citizen_id] = person.record()
        return found


class InMemoryPopulationRegister:
    """A register held in a dict: the fake for unit tests of code that needs a register."""

    def __init__(self, records: Iterable[RegisterRecord] = ()) -> None:
        self.records: Mapping[str, RegisterRecord] = {r.citizen_id: r for r in records}

    def lookup(self, citizen_id: str) -> RegisterRecord | None:
        """The person with `citizen_id`, or None."""
        return self.records.get(citizen_id)

    def lookup_many(self, citizen_ids: Iterable[str]) -> dict[str, RegisterRecord]:
        """The people found among `citizen_ids`."""
        return {cid: self.records[cid] for cid in citizen_ids if cid in self.records}
