"""Text as people search it: Vietnamese without its diacritics."""

from __future__ import annotations

import unicodedata


def folded(text: str) -> str:
    """Lower case without diacritics ("Đống Đa" → "dong da"), for searching and sorting."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
