"""Bearer tokens: short-lived signed access tokens (JWT, HS256) and opaque refresh tokens.

An access token is checked without a database: its signature, expiry, and a look-up in the
denylist of tokens revoked by logout. A refresh token is a random string whose SHA-256 is
stored; it is good for one use, and each use hands out its successor.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Any

import jwt
from cachetools import LRUCache

from gateway.auth.roles import ROLES, Principal

ISSUER = "tuyensinh-gateway"
ALGORITHM = "HS256"
LEEWAY = 5  # seconds of clock skew allowed on `exp` and `iat`


class InvalidToken(Exception):
    """The bearer token is missing, malformed, forged, expired or revoked."""


class TokenIssuer:
    """Signs and checks access tokens with the gateway's `TOKEN_SECRET`."""

    def __init__(self, secret: str, access_seconds: int) -> None:
        if len(secret) < 16:
            raise ValueError("TOKEN_SECRET must be at least 16 characters")
        self._secret = secret
        self.access_seconds = access_seconds
        # Tokens already checked, with their principal: a parent's every request carries the
        # same token, and decoding it (base64, JSON, HMAC, claims) was ~5 % of a submission's
        # CPU. A hit is still refused once past its expiry; revocation is asked per request.
        self._checked: LRUCache[str, Principal] = LRUCache(maxsize=4096)

    def issue(
        self,
        account_id: str,
        role: str,
        school_code: str | None = None,
        ward_code: str | None = None,
    ) -> str:
        """A signed access token for the account, valid for `access_seconds`."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": account_id,
            "role": role,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self.access_seconds,
        }
        if school_code is not None:
            claims["school"] = school_code
        if ward_code is not None:
            claims["ward"] = ward_code
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; InvalidToken otherwise."""
        known = self._checked.get(token)
        if known is not None:
            if time.time() >= known.expires_at + LEEWAY:
                raise InvalidToken("ExpiredSignatureError")
            return known
        principal = self._decode(token)
        self._checked[token] = principal
        return principal

    def _decode(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # never "none", never an algorithm the token names
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        role = claims.get("role")
        if role not in ROLES:
            raise InvalidToken("unknown role")
        return Principal(
            account_id=str(claims["sub"]),
            role=role,
            school_code=claims.get("school"),
            ward_code=claims.get("ward"),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
        )


def new_refresh_token() -> tuple[str, str]:
    """A new refresh token and the hash to store for it."""
    token = secrets.token_urlsafe(32)
    return token, refresh_token_hash(token)


def refresh_token_hash(token: str) -> str:
    """What is stored for a refresh token: 256 random bits need no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()
