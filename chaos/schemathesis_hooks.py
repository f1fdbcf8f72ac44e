"""schemathesis hooks for scenario 8 (`SCHEMATHESIS_HOOKS=chaos.schemathesis_hooks`).

Logging out and erasing one's account end the login that asked: sent with the run's one
token, they would leave every later request of the run a 401 that tests nothing. Each such
call gets a new account of the run's role, logged in, instead.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis

from tests.support.accounts import credentials, make_account

ENDS_LOGIN = ("/api/v1/auth/logout", "/api/v1/auth/me/erasure")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Give a call that ends its login a login of its own (the run that sends these has no
    --header: the case's own headers are what goes out)."""
    if case.operation.path not in ENDS_LOGIN:
        return
    db, url = os.environ["CHAOS_GATEWAY_DB"], os.environ["CHAOS_GATEWAY_URL"]
    role, school = os.environ["CHAOS_ROLE"], os.environ.get("CHAOS_SCHOOL") or None
    account = make_account(db, role, school=school)
    answer = requests.post(f"{url}/api/v1/auth/token", json=credentials(db, account), timeout=30)
    answer.raise_for_status()
    token = answer.json()["access_token"]
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
