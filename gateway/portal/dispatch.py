"""One WSGI entry for the gateway's port: API requests to the API app, the rest to the portal.

Whatever the API's URL map serves (and everything under `/api/`) stays the API's, so a new
API route needs nothing here; every other path is a page of the portal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import Map

API_PREFIX = "/api/"


class PortalDispatcher:
    """Routes each request to the API's WSGI callable or the portal's."""

    def __init__(self, api: Any, portal: Any, api_urls: Map) -> None:
        self.api, self.portal, self._urls = api, portal, api_urls

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        target = self.api if self.serves_api(environ) else self.portal
        result: Iterable[bytes] = target(environ, start_response)
        return result

    def serves_api(self, environ: dict[str, Any]) -> bool:
        """Whether the API answers this path (a match, a redirect or a wrong method)."""
        if environ.get("PATH_INFO", "/").startswith(API_PREFIX):
            return True
        try:
            self._urls.bind_to_environ(environ).match()
        except NotFound:
            return False
        except Exception:  # 405 and redirects are the API's answers to give
            return True
        return True
