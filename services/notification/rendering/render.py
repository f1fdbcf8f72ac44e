"""Rendering notices from the Jinja2 templates, in the guardian's language.

Each `templates/<language>/<template>.j2` defines macros `subject()`, `text()` and `sms()` side
by side, so the forms of one message are written (and reviewed) together. The HTML part is
built from the text by one layout, so the two parts of an e-mail can never say different things.

At publish time a quarter of a million e-mails differ only in names and references, so an
e-mail is rendered once per template, language and "shape" into a skeleton (see
`skeletons`), and each event only fills its own values in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notification.rendering import skeletons

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Email:
    """A rendered e-mail: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),  # the .j2 forms are plain text
        undefined=StrictUndefined,  # a missing value is a bug, never a blank in a parent's mail
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_email(template: str, language: str, context: dict[str, Any]) -> Email:
    """Subject, text and HTML of `template` in `language` (from a skeleton when one fits)."""
    return Email(*skeletons.fill(_environment(), template, language, context, _render_email))


def _render_email(template: str, language: str, context: dict[str, Any]) -> skeletons.Forms:
    module = _module(template, language, context)
    subject = " ".join(str(module.subject()).split())
    text = _tidy(str(module.text()))
    html = (
        _environment()
        .get_template("_email.html")
        .render(language=language, subject=subject, blocks=_blocks(text))
    )
    return subject, text, html


def render_sms(template: str, language: str, context: dict[str, Any]) -> str:
    """The SMS form of `template` in `language`, as one line (see `sms.prepare`)."""
    return " ".join(str(_module(template, language, context).sms()).split())


def forms(template: str, language: str) -> set[str]:
    """Which forms (`subject`, `text`, `sms`) a template defines."""
    module = _environment().get_template(f"{language}/{template}.j2").module
    return {form for form in ("subject", "text", "sms") if hasattr(module, form)}


def _module(template: str, language: str, context: dict[str, Any]) -> Any:
    return _environment().get_template(f"{language}/{template}.j2").make_module(context)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    # Paragraphs are separated by a blank line; a paragraph of "- " lines is a list.
    blocks = []
    for paragraph in text.strip().split("\n\n"):
        lines = paragraph.splitlines()
        if all(line.startswith("- ") for line in lines):
            blocks.append(("list", [line[2:] for line in lines]))
        else:
            blocks.append(("paragraph", lines))
    return blocks
