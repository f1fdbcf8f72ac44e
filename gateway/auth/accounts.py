"""Accounts in the gateway's database: creating them, finding them, and their refresh tokens."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.auth.models import Account, OtpChallenge, RefreshToken
from gateway.auth.roles import DEPARTMENT, HELPDESK, PARENT, STAFF
from gateway.auth.tokens import new_refresh_token, refresh_token_hash
from gateway.db import aware, utcnow

DEFAULT_COUNTRY_CODE = "84"  # Vietnam: a local number is 0 followed by 9 digits
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
SCHOOL_CODE = re.compile(r"^[A-Z0-9-]{2,20}$")
WARD_CODE = re.compile(r"^[0-9]{2,10}$")
# A parent account opened for a guardian at a help point has no password until the guardian
# takes it over (signs up with the phone, proving it by a texted code): no hash matches this.
NO_PASSWORD = "!help-point"


class AccountExists(Exception):
    """An account with that phone or username exists already."""


def normalise_phone(phone: str) -> str:
    """A phone number in E.164 (`+84912345678`); raises ValueError if it is not one."""
    digits = re.sub(r"[\s.()-]", "", phone)
    if digits.startswith("+"):
        body = digits[1:]
    elif digits.startswith("0"):
        body = DEFAULT_COUNTRY_CODE + digits[1:]
    else:
        body = digits
    if not body.isdigit() or not 9 <= len(body) <= 15:
        raise ValueError("is not a phone number")
    return "+" + body


def by_phone(session: Session, phone: str) -> Account | None:
    """The parent account of a phone number (any spelling of it), if any."""
    try:
        number = normalise_phone(phone)
    except ValueError:
        return None
    return session.scalar(select(Account).where(Account.phone == number))


def by_username(session: Session, username: str) -> Account | None:
    """The staff or department account with that username, if any."""
    return session.scalar(select(Account).where(Account.username == username.strip().lower()))


def add_parent(session: Session, phone: str, password_hash: str, language: str = "vi") -> Account:
    """A new parent account, not yet verified (the phone must prove itself by a code)."""
    return _added(
        session,
        PARENT,
        phone=normalise_phone(phone),
        password_hash=password_hash,
        language=language,
    )


def add_operator(
    session: Session,
    role: str,
    username: str,
    password_hash: str,
    school_code: str | None = None,
    ward_code: str | None = None,
) -> Account:
    """A staff account bound to one school, a help desk bound to one school or one ward, or a
    department account (admin CLI; help desks also by the department through the API)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise ValueError("a username is 3-64 of a-z, 0-9, '.', '_', '-'")
    if role not in (STAFF, DEPARTMENT, HELPDESK):
        raise ValueError(f"operators are {STAFF}, {HELPDESK} or {DEPARTMENT}")
    school_code, ward_code = _binding(role, school_code, ward_code)
    if by_username(session, username) is not None:
        raise AccountExists(username)
    return _added(
        session,
        role,
        username=username,
        password_hash=password_hash,
        school_code=school_code,
        ward_code=ward_code,
        phone_verified_at=None,
    )


def _added(session: Session, role: str, **fields: Any) -> Account:
    """A new account of `role`, added to the session."""
    account = Account(id=str(uuid.uuid4()), role=role, created_at=utcnow(), **fields)
    session.add(account)
    return account


def _binding(
    role: str, school_code: str | None, ward_code: str | None
) -> tuple[str | None, str | None]:
    """The (school, ward) an operator is bound to: staff to a school, a help desk to exactly
    one school or one ward, the department to neither."""
    school_ok = bool(school_code and SCHOOL_CODE.match(school_code))
    ward_ok = bool(ward_code and WARD_CODE.match(ward_code))
    if role == STAFF:
        if not school_ok or ward_code:
            raise ValueError("a staff account needs the code of its one school")
        return school_code, None
    if role == HELPDESK:
        if school_ok == ward_ok or (school_code and not school_ok) or (ward_code and not ward_ok):
            raise ValueError("a help desk is bound to one school code or one ward code")
        return (school_code, None) if school_ok else (None, ward_code)
    return None, None


def family_for_phone(session: Session, phone: str, language: str) -> Account:
    """The parent account of a guardian's phone, opened (without a password) if there is none.

    Raises ValueError for a phone that is not one, and AccountExists for a disabled account
    (the family asked to close it: a help point does not reopen it).
    """
    account = by_phone(session, phone)
    if account is None:
        return add_parent(session, phone, NO_PASSWORD, language)
    if account.role != PARENT or account.disabled_at is not None:
        raise AccountExists("disabled")
    return account


def can_log_in(account: Account | None) -> bool:
    """Whether the account may get tokens: enabled, and a parent's phone verified."""
    if account is None or account.disabled_at is not None:
        return False
    return account.role != PARENT or account.phone_verified_at is not None


def store_refresh_token(
    session: Session, account: Account, lifetime: timedelta, family_id: str | None = None
) -> tuple[str, RefreshToken]:
    """A new refresh token for the account (in a new family unless one is given)."""
    token, digest = new_refresh_token()
    row = RefreshToken(
        id=str(uuid.uuid4()),
        account_id=account.id,
        family_id=family_id or str(uuid.uuid4()),
        token_hash=digest,
        issued_at=utcnow(),
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    return token, row


def find_refresh_token(session: Session, token: str) -> RefreshToken | None:
    """The stored row of a presented refresh token, locked for the rotation."""
    query = select(RefreshToken).where(RefreshToken.token_hash == refresh_token_hash(token))
    return session.scalar(query.with_for_update())


def is_usable(row: RefreshToken, now: datetime) -> bool:
    """Neither used, revoked nor expired."""
    return row.revoked_at is None and aware(row.expires_at) > now


def revoke_family(session: Session, family_id: str) -> None:
    """Revoke every token of a login: logout, or a stolen token used twice."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def erase(session: Session, account_id: str, now: datetime) -> None:
    """Erase a parent's account at their request: no phone, no password, no tokens or codes.

    The row stays, disabled, under its id: the audit log and the application claims name it
    (neither holds personal data; the claims keep another account from taking over the
    children's references while their round is open).
    """
    account = session.get(Account, account_id, with_for_update=True)
    if account is None:
        return
    account.phone = account.username = None
    account.password_hash = "!erased"  # matches no password: argon2 hashes start with $
    account.disabled_at = account.erased_at = now
    session.execute(delete(RefreshToken).where(RefreshToken.account_id == account_id))
    session.execute(delete(OtpChallenge).where(OtpChallenge.account_id == account_id))
