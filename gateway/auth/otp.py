"""One-time codes for phone verification and code login: only a keyed hash of a code is kept,
with an expiry and a cap on wrong guesses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.auth.models import Account, OtpChallenge
from gateway.db import aware, utcnow

VERIFY_PHONE = "verify_phone"
LOGIN = "login"


class OtpCodes:
    """Issues and checks codes; `secret` keys the hash so a database copy cannot be brute-forced
    offline (six digits are only a million guesses)."""

    def __init__(self, secret: str, digits: int, ttl: timedelta, max_attempts: int) -> None:
        self._key = hmac.new(secret.encode(), b"otp-codes", hashlib.sha256).digest()
        self.digits, self.ttl, self.max_attempts = digits, ttl, max_attempts

    def issue(self, session: Session, account: Account, purpose: str) -> str:
        """A new code for the account; earlier codes for the same purpose stop working."""
        self._retire(session, account.id, purpose)
        code = "".join(secrets.choice("0123456789") for _ in range(self.digits))
        session.add(
            OtpChallenge(
                id=str(uuid.uuid4()),
                account_id=account.id,
                purpose=purpose,
                code_hash=self._hash(account.id, purpose, code),
                expires_at=utcnow() + self.ttl,
                attempts=0,
                created_at=utcnow(),
            )
        )
        return code

    def check(self, session: Session, account: Account, purpose: str, code: str) -> bool:
        """Whether `code` is the live code; a right code is used up, a wrong one counts."""
        query = (
            select(OtpChallenge)
            .where(OtpChallenge.account_id == account.id, OtpChallenge.purpose == purpose)
            .where(OtpChallenge.consumed_at.is_(None))
            .order_by(OtpChallenge.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        challenge = session.scalar(query)
        now = utcnow()
        if challenge is None or aware(challenge.expires_at) <= now:
            return False
        if challenge.attempts >= self.max_attempts:
            return False
        expected = challenge.code_hash
        if hmac.compare_digest(expected, self._hash(account.id, purpose, code.strip())):
            challenge.consumed_at = now
            return True
        challenge.attempts += 1
        return False

    def _retire(self, session: Session, account_id: str, purpose: str) -> None:
        session.execute(
            update(OtpChallenge)
            .where(OtpChallenge.account_id == account_id, OtpChallenge.purpose == purpose)
            .where(OtpChallenge.consumed_at.is_(None))
            .values(consumed_at=utcnow())
        )

    def _hash(self, account_id: str, purpose: str, code: str) -> str:
        message = f"{account_id}:{purpose}:{code}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
