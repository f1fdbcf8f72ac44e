"""The portal's catalogue (no processes needed): every string of the portal has a Vietnamese
translation, the translations keep their placeholders, and the committed `.mo` is the
compiled `.po` (`make i18n` rebuilds both)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

PORTAL = Path(__file__).resolve().parents[2] / "gateway" / "portal"
MESSAGES = PORTAL / "translations" / "vi" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)s")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy": None}


def strings_of_the_portal() -> set[str]:
    """Every message the portal's code and templates mark for translation."""
    found = extract_from_dir(str(PORTAL), METHODS, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for *_, message, _, _ in found}


def catalogue() -> dict[str, str]:
    with open(MESSAGES / "messages.po", "rb") as po:
        return {one(m.id): one(m.string) for m in read_po(po) if m.id and not m.fuzzy}


def one(value: str | tuple[str, ...] | list[str]) -> str:
    """A plural message by its singular source and its (Vietnamese: only) form."""
    return value if isinstance(value, str) else value[0]


def test_every_string_of_the_portal_has_a_vietnamese_translation() -> None:
    translated = {msgid for msgid, text in catalogue().items() if text}

    assert strings_of_the_portal() - translated == set(), "run `make i18n` and translate"


def test_translations_keep_the_placeholders_of_their_source() -> None:
    for msgid, text in catalogue().items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid


def test_the_committed_mo_file_is_the_compiled_po_file() -> None:
    with open(MESSAGES / "messages.mo", "rb") as mo:
        compiled = {one(m.id): one(m.string) for m in read_mo(mo) if m.id}

    assert compiled == catalogue(), "run `make i18n` to compile the catalogue"
