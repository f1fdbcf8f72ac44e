"""Application references: stable per child and round, unguessable without the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac


def application_reference(secret: str, round_id: str, citizen_id: str) -> str:
    """The same child in the same round always gets the same reference, so a resubmission
    lands on the same application; without the secret nobody can derive another's."""
    digest = hmac.new(secret.encode(), f"{round_id}:{citizen_id}".encode(), hashlib.sha256).digest()
    return "TS" + base64.b32encode(digest[:10]).decode()
