"""A browser-like `requests` session on the portal, for end-to-end tests without Chromium."""

from __future__ import annotations

import re

import requests


def portal_session(
    url: str, login: dict[str, str], language: str | None = None
) -> requests.Session:
    """A session logged into the portal at `url` with a parent's phone and password (in
    `language`, when given).

    The portal's cookie is `Secure`; a browser sends it to http://127.0.0.1 (a secure
    context), `requests` does not, so the test's jar drops the flag as the browser would.
    """
    browser = requests.Session()
    if language:
        browser.cookies.set("lang", language)
    page = browser.get(f"{url}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page[:2000]
    form = {"who": login["phone"], "password": login["password"], "csrf_token": token.group(1)}
    as_a_browser(browser)
    answer = browser.post(f"{url}/login", data=form, timeout=30, allow_redirects=False)
    assert answer.status_code in (302, 303), answer.text[:2000]
    as_a_browser(browser)
    return browser


def as_a_browser(session: requests.Session) -> None:
    """Send the portal's `Secure` cookies to http://127.0.0.1, as a browser does."""
    for cookie in session.cookies:
        cookie.secure = False
