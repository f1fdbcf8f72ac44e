"""Wiring of the portal app: templates and their language, the pages, assets and error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.exceptions import HTTPException

from gateway.auth.decorators import public
from gateway.errors import ApiError
from gateway.portal import chances, client, csrf, i18n
from gateway.portal.client import SignedOut
from gateway.portal.labels import label, round_name, school_choice
from gateway.portal.views import (
    account,
    audit,
    corrections,
    dashboard,
    department,
    helpdesk,
    live,
    parent,
    public_pages,
    round_inputs,
    school,
)

STATIC = Path(__file__).with_name("static")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


def install_pages(portal: Flask) -> None:
    """Templates with gettext, the language of each request, blueprints and error pages."""
    portal.jinja_env.add_extension("jinja2.ext.i18n")
    portal.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    portal.jinja_env.globals.update(
        csrf_token=csrf.token,
        role=client.role,
        school_code=client.school,
        language=i18n.current_language,
        language_names=LANGUAGE_NAMES,
        when=i18n.when,
        percent=i18n.percent,
        about=chances.about,
        other_language_url=other_language_url,
        label=label,
        round_name=round_name,
        school_choice=school_choice,
        help_point_words=helpdesk.help_point_words,
    )
    portal.before_request(_choose_language)
    portal.after_request(_keep_language)
    for module in (
        public_pages,
        account,
        parent,
        helpdesk,
        school,
        department,
        round_inputs,
        audit,
        live,
        dashboard,
        corrections,
    ):
        portal.register_blueprint(module.bp)
    portal.register_blueprint(helpdesk.desks)
    portal.add_url_rule("/assets/<path:name>", "assets", assets)
    portal.register_error_handler(SignedOut, _signed_out)
    portal.register_error_handler(ApiError, _api_error)
    portal.register_error_handler(HTTPException, _http_error)


@public()
def assets(name: str) -> Response:
    """The portal's own CSS and JS (no CDN): cached for a day."""
    return send_from_directory(STATIC, name, max_age=86400)


def other_language_url() -> str:
    """The link that shows the same page in the other language."""
    other = "en" if i18n.current_language() == "vi" else "vi"
    return url_for("public_pages.language", code=other, next=request.full_path.rstrip("?"))


def _choose_language() -> None:
    g.language = i18n.choose_language()


def _keep_language(response: Response) -> Response:
    if request.args.get("lang") in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, g.language, max_age=365 * 86400, samesite="Lax")
    response.headers.setdefault("Content-Language", g.get("language", i18n.DEFAULT))
    return response


def _signed_out(_: SignedOut) -> Any:
    return redirect(url_for("account.login", next=request.full_path.rstrip("?")))


def _api_error(error: ApiError) -> Any:
    return error_page(error.status, headers=error.headers)


def _http_error(error: HTTPException) -> Any:
    return error_page(error.code or 500)


def error_page(status: int, headers: dict[str, str] | None = None) -> Any:
    """A plain-language error page in the request's language."""
    if not g.get("language"):
        g.language = i18n.choose_language()
    return render_template("error.html", status=status), status, headers or {}
