"""schemathesis hooks for scenario 8 (`SCHEMATHESIS_HOOKS=chaos.schemathesis_hooks`).

Logging out and erasing one's account end the login that asked: sent with a run's one
token, they would leave every later request of the run a 401 that tests nothing. The run
that sends them (`CHAOS_PER_CALL_LOGIN=1`) gets its token from this auth provider instead,
uncached: a new account of the run's role, logged in, for each call. schemathesis leaves it
out of the calls it sends without a token or with a wrong one on purpose (its
authentication checks), so those still test that the gateway refuses them.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis

from tests.support.accounts import credentials, make_account


class PerCallLogin:
    """A fresh login of `CHAOS_ROLE` (at `CHAOS_SCHOOL`, for staff) for every call."""

    def get(self, case: Any, context: Any) -> str:
        """Create an account, log it in through the gateway, return its access token."""
        db, url = os.environ["CHAOS_GATEWAY_DB"], os.environ["CHAOS_GATEWAY_URL"]
        role, school = os.environ["CHAOS_ROLE"], os.environ.get("CHAOS_SCHOOL") or None
        account = make_account(db, role, school=school)
        body = credentials(db, account)
        answer = requests.post(f"{url}/api/v1/auth/token", json=body, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def set(self, case: Any, data: str, context: Any) -> None:
        """Send it as the bearer token."""
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


if os.environ.get("CHAOS_PER_CALL_LOGIN") == "1":
    # Uncached (a token per call), and no refetch on 401: a 401 is an answer to check.
    schemathesis.auth(refresh_interval=None, retry_on=[])(PerCallLogin)
