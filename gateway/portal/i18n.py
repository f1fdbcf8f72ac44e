"""The portal's languages: Vietnamese by default, English one click away.

Every visible string goes through the gettext catalogue in `translations/` (source strings
are English; `vi/LC_MESSAGES/messages.po` translates them). The `.mo` files are committed
beside their `.po`; `make i18n` extracts, updates and compiles them again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time, get_timezone
from babel.support import NullTranslations, Translations
from flask import g, request

TRANSLATIONS = Path(__file__).with_name("translations")
LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "lang"
CITY_TIMEZONE = "Asia/Ho_Chi_Minh"


@cache
def catalogue(language: str) -> NullTranslations:
    """The compiled catalogue of a language (English is the source: no catalogue needed)."""
    if language == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language], domain="messages")


def choose_language(default: str = DEFAULT) -> str:
    """This request's language: `?lang=`, then the cookie, then the default."""
    for offered in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if offered in LANGUAGES:
            return str(offered)
    return default


def current_language() -> str:
    """The language chosen for this request (the default outside one)."""
    return str(g.get("language", DEFAULT))


def gettext(message: str, **values: Any) -> str:
    """`message` in the request's language, with `%(name)s` placeholders filled."""
    text = catalogue(current_language()).ugettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, count: int, **values: Any) -> str:
    """The singular or plural form for `count`, in the request's language."""
    text = catalogue(current_language()).ungettext(singular, plural, count)
    return text % {"num": count, **values}


def lazy(message: str) -> str:
    """Mark a module-level string for extraction; translate it with `gettext` when shown."""
    return message


def when(value: str | datetime | None, style: str = "medium") -> str:
    """A timestamp in the city's time zone, formatted for the request's language: the date in
    `style` (short, medium, full: with the weekday) and the time to the minute, in the
    language's order, without seconds or the zone's long name (the city has one zone)."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(get_timezone(CITY_TIMEZONE))
    locale = Locale.parse(current_language())
    day = format_date(local, style, locale=locale)
    clock = format_time(local, "HH:mm", locale=locale)
    return str(locale.datetime_formats["medium"]).format(clock, day)


def percent(share: float | None) -> str:
    """A share as a whole percentage (the same digits in both languages)."""
    return "" if share is None else f"{round(share * 100)}%"
