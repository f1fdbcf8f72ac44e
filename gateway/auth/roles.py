"""Who is asking: the roles, and the principal a valid access token stands for."""

from __future__ import annotations

from dataclasses import dataclass

PARENT = "parent"
STAFF = "staff"
DEPARTMENT = "department"
ROLES = (PARENT, STAFF, DEPARTMENT)


@dataclass(frozen=True)
class Principal:
    """The account behind a request, as its access token says."""

    account_id: str
    role: str
    school_code: str | None = None  # staff only: the one school they work for
    token_id: str = ""
    expires_at: int = 0  # the access token's `exp` (Unix seconds)

    def is_staff_of(self, school_code: str) -> bool:
        """Whether this is staff of that school."""
        return self.role == STAFF and self.school_code == school_code
