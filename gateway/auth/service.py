"""The account flows behind /api/v1/auth: sign-up with a phone code, log in, refresh, log out.

Database transactions stay short and never span a call to another service or a password hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway.auth import accounts, otp
from gateway.auth.models import Account
from gateway.auth.passwords import Passwords
from gateway.auth.revocation import Denylist
from gateway.auth.roles import PARENT, Principal
from gateway.auth.tokens import InvalidToken, TokenIssuer
from gateway.db import GatewayDatabase, utcnow
from gateway.errors import ApiError, unauthenticated

BAD_CREDENTIALS = "The phone, username, password or code is not right."


@dataclass(frozen=True)
class Session:
    """What a successful login hands out."""

    principal: Principal
    body: dict[str, Any]


class Authenticator:
    """Accounts, passwords, codes and tokens of one gateway worker."""

    def __init__(
        self,
        config: dict[str, Any],
        db: GatewayDatabase,
        denylist: Denylist,
        send_code: Any,
    ) -> None:
        self.db, self.denylist, self._send_code = db, denylist, send_code
        self.tokens = TokenIssuer(
            str(config["TOKEN_SECRET"]), int(config["ACCESS_TOKEN_MINUTES"]) * 60
        )
        self.passwords = Passwords(
            time_cost=int(config.get("ARGON2_TIME_COST", 2)),
            memory_kib=int(config.get("ARGON2_MEMORY_KIB", 19456)),
        )
        self.codes = otp.OtpCodes(
            str(config["TOKEN_SECRET"]),
            digits=int(config["OTP_DIGITS"]),
            ttl=timedelta(minutes=int(config["OTP_MINUTES"])),
            max_attempts=int(config["OTP_MAX_ATTEMPTS"]),
        )
        self.refresh_lifetime = timedelta(days=int(config["REFRESH_TOKEN_DAYS"]))

    # --- access tokens on every request -------------------------------------------------
    def verify(self, authorization: str | None) -> Principal:
        """The principal of an `Authorization: Bearer ...` header (signature and expiry), or
        401. Whether the token was revoked since is asked with the rate limit, in one round
        trip (gateway.auth.checks)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated()
        try:
            return self.tokens.verify(token.strip())
        except InvalidToken:
            raise unauthenticated("The token is not valid or has expired; log in again.") from None

    # --- parents: sign-up and phone codes -----------------------------------------------
    def sign_up(self, phone: str, password: str, language: str) -> str | None:
        """Create (or restart) an unverified parent account and text it a code.

        Returns the account id, or None when the phone already has a verified account: the
        answer to the caller is the same, so sign-up cannot tell who has an account.
        """
        password_hash = self.passwords.hash(password)
        with self.db.session() as session:
            account = accounts.by_phone(session, phone)
            if account is not None and account.phone_verified_at is not None:
                return None
            if account is None:
                account = accounts.add_parent(session, phone, password_hash, language)
            else:  # never verified: whoever proves the phone now sets the password
                account.password_hash, account.language = password_hash, language
            session.flush()
            code = self.codes.issue(session, account, otp.VERIFY_PHONE)
            target = (account.id, str(account.phone), account.language)
        self._send_code(target[1], target[2], code, int(self.codes.ttl.total_seconds() // 60))
        return target[0]

    def verify_phone(self, phone: str, code: str) -> Session:
        """The code proves the phone: the account is verified and logged in."""
        with self.db.session() as session:
            account = accounts.by_phone(session, phone)
            if account is not None and self.codes.check(session, account, otp.VERIFY_PHONE, code):
                account.phone_verified_at = account.phone_verified_at or utcnow()
                return self._login(session, account)
        # A wrong guess was counted (committed above) before this answer.
        raise ApiError(400, "invalid_code", "The code is not right, or no longer valid.")

    def send_login_code(self, phone: str) -> str | None:
        """Text a login code to a verified parent; None (and nothing sent) for anyone else."""
        with self.db.session() as session:
            account = accounts.by_phone(session, phone)
            if not accounts.can_log_in(account):
                return None
            assert account is not None
            code = self.codes.issue(session, account, otp.LOGIN)
            target = (account.id, str(account.phone), account.language)
        self._send_code(target[1], target[2], code, int(self.codes.ttl.total_seconds() // 60))
        return target[0]

    # --- log in, refresh, log out ----------------------------------------------------------
    def log_in_with_password(self, identifier: str, password: str, by_phone: bool) -> Session:
        """Parents by phone, staff and department by username; one answer for every failure."""
        with self.db.session() as session:
            find = accounts.by_phone if by_phone else accounts.by_username
            account = find(session, identifier)
            if account is not None and (account.role == PARENT) != by_phone:
                account = None
            stored = account.password_hash if account is not None else None
        if not self.passwords.verify(stored, password) or account is None:
            raise unauthenticated(BAD_CREDENTIALS)
        if account.role == PARENT and account.phone_verified_at is None:
            raise ApiError(401, "phone_not_verified", "Verify the phone with the code first.")
        with self.db.session() as session:
            fresh = session.get(Account, account.id)
            if not accounts.can_log_in(fresh):
                raise unauthenticated(BAD_CREDENTIALS)
            assert fresh is not None
            return self._login(session, fresh)

    def log_in_with_code(self, phone: str, code: str) -> Session:
        """A parent logs in with the code texted to their phone."""
        with self.db.session() as session:
            account = accounts.by_phone(session, phone)
            ok = accounts.can_log_in(account) and account is not None
            if ok and account is not None and self.codes.check(session, account, otp.LOGIN, code):
                return self._login(session, account)
        raise unauthenticated(BAD_CREDENTIALS)

    def refresh(self, token: str) -> Session:
        """Swap a refresh token for a new pair; a token used twice revokes its whole family."""
        reused = False
        with self.db.session() as session:
            row = accounts.find_refresh_token(session, token)
            if row is not None and row.replaced_by is not None:
                accounts.revoke_family(session, row.family_id)  # stolen or replayed
                reused = True
            elif row is not None and accounts.is_usable(row, utcnow()):
                account = session.get(Account, row.account_id)
                if accounts.can_log_in(account):
                    assert account is not None
                    row.revoked_at = utcnow()
                    issued = self._login(session, account, family_id=row.family_id)
                    row.replaced_by = issued.body["refresh_token_id"]
                    return issued
        message = "The refresh token was used already; log in again." if reused else None
        raise unauthenticated(message or "The refresh token is not valid; log in again.")

    def log_out(self, principal: Principal, refresh_token: str | None) -> None:
        """Revoke the access token now, and the login's refresh tokens if one is given."""
        self.denylist.revoke(principal.token_id, principal.expires_at)
        if not refresh_token:
            return
        with self.db.session() as session:
            row = accounts.find_refresh_token(session, refresh_token)
            if row is not None and row.account_id == principal.account_id:
                accounts.revoke_family(session, row.family_id)

    def _login(self, session: Any, account: Account, family_id: str | None = None) -> Session:
        refresh, row = accounts.store_refresh_token(
            session, account, self.refresh_lifetime, family_id
        )
        access = self.tokens.issue(account.id, account.role, account.school_code, account.ward_code)
        principal = Principal(account.id, account.role, account.school_code, account.ward_code)
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.tokens.access_seconds,
            "refresh_token": refresh,
            "refresh_expires_in": int(self.refresh_lifetime.total_seconds()),
            "role": account.role,
            "school_code": account.school_code,
            "ward_code": account.ward_code,
            "refresh_token_id": row.id,
        }
        return Session(principal, body)
