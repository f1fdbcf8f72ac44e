"""Writes one benchmark's section of BENCHMARKS.md, leaving the other sections in place."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\nEvery figure is measured by `make bench` on the machine named in its"
    " section,\nbeside its baseline from the same run. Each section is rewritten by the"
    " command it names.\n"
)


def machine() -> str:
    """A one-line description of where the figures were measured."""
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(
    name: str, title: str, command: str, body: str, path: Path = BENCHMARKS, header: str = ""
) -> None:
    """Replace (or append) the section `name` with `body`, stamped with the command and machine."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"Command: `{command}` · measured {stamp} on {machine()}\n\n{body.strip()}\n"
        f"<!-- /bench:{name} -->\n"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else (header or HEADER)
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S
    )
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text}\n{section}"
    path.write_text(text, encoding="utf-8")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
