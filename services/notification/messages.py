"""Rendering notifications from the Jinja2 templates, in the guardian's language."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"


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
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing value is a bug, never a blank in a parent's mail
        keep_trailing_newline=True,
    )


def render_email(template: str, language: str, context: dict[str, Any]) -> Email:
    """Render `<language>/<template>.{subject,txt,html}`."""
    environment = _environment()

    def part(suffix: str) -> str:
        return environment.get_template(f"{language}/{template}.{suffix}").render(**context)

    return Email(subject=part("subject").strip(), text=part("txt"), html=part("html"))
