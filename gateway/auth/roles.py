"""Who is asking: the roles, and the principal a valid access token stands for."""

from __future__ import annotations

from dataclasses import dataclass

PARENT = "parent"
STAFF = "staff"
DEPARTMENT = "department"
# An officer at a help point (a ward's office or a school's desk), bound to that ward or
# school: registers applications for families without an account, after seeing their papers.
HELPDESK = "helpdesk"
ROLES = (PARENT, STAFF, DEPARTMENT, HELPDESK)


@dataclass(frozen=True)
class Principal:
    """The account behind a request, as its access token says."""

    account_id: str
    role: str
    school_code: str | None = None  # staff: the one school they work for; a school's help point
    ward_code: str | None = None  # a ward's help point
    token_id: str = ""
    expires_at: int = 0  # the access token's `exp` (Unix seconds)

    def is_staff_of(self, school_code: str) -> bool:
        """Whether this is staff of that school."""
        return self.role == STAFF and self.school_code == school_code

    @property
    def help_point(self) -> str | None:
        """A help desk's help point, `school:CODE` or `ward:CODE` (None for other roles)."""
        return help_point_of(self.role, self.school_code, self.ward_code)


def help_point_of(role: str, school_code: str | None, ward_code: str | None) -> str | None:
    """The help point a helpdesk account is bound to, as stored with its registrations."""
    if role != HELPDESK:
        return None
    if school_code:
        return f"school:{school_code}"
    return f"ward:{ward_code}" if ward_code else None
