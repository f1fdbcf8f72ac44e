"""The registration database's copy of the population register."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from services.registration.models import Base
from services.registration.register.records import RegisterRecord


class RegisterPerson(Base):
    """One person in the register, as imported by `cli import-register`."""

    __tablename__ = "register_people"

    citizen_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))
    ward_code: Mapped[str] = mapped_column(String(10))
    household_id: Mapped[str] = mapped_column(String(20), index=True)
    priority_category: Mapped[str | None] = mapped_column(String(40))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    def record(self) -> RegisterRecord:
        """The plain record the verification rules read."""
        return RegisterRecord(
            citizen_id=self.citizen_id,
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            gender=self.gender,
            ward_code=self.ward_code,
            household_id=self.household_id,
            priority_category=self.priority_category,
            lat=self.lat,
            lon=self.lon,
        )
