"""Access tokens checked once are kept with their principal, and still expire on time."""

from __future__ import annotations

import time

import jwt
import pytest

from gateway.auth import tokens
from gateway.auth.tokens import InvalidToken, TokenIssuer

SECRET = "unit-test-token-secret-0123"


def test_a_token_checked_once_gives_the_same_principal_without_decoding_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = TokenIssuer(SECRET, 60)
    token = issuer.issue("account-1", "parent")
    first = issuer.verify(token)
    decodes = []
    monkeypatch.setattr(tokens.jwt, "decode", lambda *a, **k: decodes.append(a))

    again = issuer.verify(token)

    assert again == first and again.account_id == "account-1"
    assert decodes == []


def test_a_kept_token_is_refused_once_past_its_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = TokenIssuer(SECRET, 60)
    token = issuer.issue("account-1", "parent")
    principal = issuer.verify(token)
    later = principal.expires_at + tokens.LEEWAY + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)

    with pytest.raises(InvalidToken):
        issuer.verify(token)


def test_a_forged_token_is_refused_every_time() -> None:
    issuer = TokenIssuer(SECRET, 60)
    now = int(time.time())
    claims = {"iss": tokens.ISSUER, "sub": "a", "role": "parent", "jti": "x"}
    forged = jwt.encode({**claims, "iat": now, "exp": now + 60}, "another-secret-0123456789")

    for _ in range(2):
        with pytest.raises(InvalidToken):
            issuer.verify(forged)
