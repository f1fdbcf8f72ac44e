"""What every page of the portal uses: the login check, safe redirects, the API's refusals."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash

from gateway.portal import client
from gateway.portal.client import Answer, SignedOut
from gateway.portal.i18n import gettext as _
from gateway.portal.i18n import lazy

F = TypeVar("F", bound=Callable[..., Any])

# The API's error codes that a person can act on, in plain words.
ERRORS = {
    "round_not_open": lazy("This round is not open for applications."),
    "round_closed": lazy("The round is closed: applications can no longer change."),
    "registered_by_another_account": lazy(
        "This child already has an application in this round, made from another account."
    ),
    "busy": lazy(
        "Many families are applying right now. Nothing was saved; please try again shortly."
    ),
    "unavailable": lazy("The service is busy or restarting. Nothing was saved; please try again."),
    "too_many_requests": lazy("Too many attempts. Please wait a minute and try again."),
    "invalid_transition": lazy("The round is not in a state for that."),
    "intake_not_complete": lazy("Not every application has been checked yet; try again shortly."),
    "round_busy": lazy("A job is running for this round; wait until it has finished."),
    "round_not_settled": lazy("Some offers of the round still await an answer."),
    "round_exists": lazy("That round exists already."),
    "invalid_round": lazy("The round's options are not acceptable."),
    "seat_conflict": lazy("The seat is not in a state for that."),
    "not_found": lazy("Not found."),
    "not_rejected_by_register": lazy(
        "Only an application rejected because of the register data can ask for a correction."
    ),
    "request_pending": lazy("A correction request of this application is still being reviewed."),
    "already_decided": lazy("This request was decided already."),
    "invalid_code": lazy("The code is not right, or no longer valid."),
    "phone_not_verified": lazy("Confirm your phone with the code we texted first."),
    "unauthenticated": lazy("The phone, username, password or code is not right."),
    "code_not_sent": lazy("The code could not be sent; try again shortly."),
}


def login_required(view: F) -> F:
    """Send a visitor without a login to the login page (the API decides the rest)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if client.role() is None:
            raise SignedOut()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def explain(answer: Answer) -> str:
    """The API's refusal in plain words, in the request's language."""
    known = ERRORS.get(answer.code)
    if known:
        return _(known)
    return _("Something went wrong (%(status)s). Please try again.", status=answer.status)


def tell(answer: Answer) -> None:
    """Show the refusal at the top of the next page."""
    flash(explain(answer), "error")


def expect(answer: Answer, *allowed: int) -> Answer:
    """The answer if it succeeded (or has an `allowed` status); otherwise the error page."""
    if answer.ok or answer.status in allowed:
        return answer
    abort(answer.status if answer.status in (403, 404, 429, 503) else 502)


def safe_next(target: str | None, default: str) -> str:
    """A local path to go back to after login or a language switch, never another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
