"""SMS length rules: which encoding a text needs and how many segments it costs.

A text whose every character is in the GSM 03.38 alphabet goes as GSM-7: 160 septets in one
message, 153 per part when concatenated (the user data header takes the rest); characters of
the extension table cost two septets and an escape pair is never split across parts. Anything
else (Vietnamese with diacritics) goes as UCS-2: 70 UTF-16 code units in one message, 67 per
part; a surrogate pair is never split either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}
DEFAULT_COUNTRY_CODE = "84"  # Vietnam: a local number is 0 followed by 9 digits


@dataclass(frozen=True)
class SmsShape:
    """What a text costs: its encoding, its length in that encoding's units, its segments."""

    encoding: str
    units: int
    segments: int


def encoding_of(text: str) -> str:
    """`gsm7` if every character is in the GSM 03.38 alphabet, else `ucs2`."""
    alphabet = GSM7_BASIC | GSM7_EXTENSION
    return "gsm7" if all(char in alphabet for char in text) else "ucs2"


def shape(text: str) -> SmsShape:
    """Encoding, length and segment count of `text` exactly as it would be sent."""
    encoding = encoding_of(text)
    widths = [_width(char, encoding) for char in text]
    units = sum(widths)
    if units <= SINGLE[encoding]:
        return SmsShape(encoding, units, 1 if units else 0)
    return SmsShape(encoding, units, _pack(widths, PART[encoding]))


def prepare(text: str, *, diacritics: bool = True) -> str:
    """The text to send: NFC (decomposed Vietnamese would double the length), one line.

    Without `diacritics`, Vietnamese is folded to plain letters so it fits GSM-7 and costs
    less than half as much; parents read unaccented SMS every day, but it is less clear.
    """
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    return text if diacritics else fold_diacritics(text)


def fit(text: str, max_segments: int) -> str:
    """`text`, shortened on purpose if it would cost more than `max_segments` parts.

    First without diacritics (GSM-7 holds 153 characters a part, UCS-2 only 67); if that is
    still too long, cut at the last whole word that fits and end with "...". The templates
    put the reference and the point first, so what a cut loses is the tail (the e-mail and
    the inbox always carry the whole message).
    """
    if shape(text).segments <= max_segments:
        return text
    folded = fold_diacritics(text)
    if shape(folded).segments <= max_segments:
        return folded
    words, kept = folded.split(" "), ""
    for word in words:
        longer = f"{kept} {word}" if kept else word
        if shape(longer + "...").segments > max_segments:
            break
        kept = longer
    return kept + "..."


def fold_diacritics(text: str) -> str:
    """Vietnamese without its marks: `Hồ sơ đã nhận` becomes `Ho so da nhan`."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", stripped)


def normalise_phone(phone: str) -> str:
    """A phone number in E.164 (`+84912345678`); raises ValueError if it is not one."""
    digits = re.sub(r"[\s.()-]", "", phone)
    if digits.startswith("+"):
        body = digits[1:]
    elif digits.startswith("00"):
        body = digits[2:]
    elif digits.startswith("0"):
        body = DEFAULT_COUNTRY_CODE + digits[1:]
    elif len(digits) == 9:
        body = DEFAULT_COUNTRY_CODE + digits
    else:
        body = digits
    if not body.isdigit() or not 9 <= len(body) <= 15:
        raise ValueError("not a phone number")
    return "+" + body


def _width(char: str, encoding: str) -> int:
    if encoding == "gsm7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1  # outside the BMP: a surrogate pair


def _pack(widths: Iterable[int], capacity: int) -> int:
    # Greedy, as phones and providers split: a two-unit character that does not fit whole
    # starts the next part.
    parts, used = 1, 0
    for width in widths:
        if used + width > capacity:
            parts, used = parts + 1, 0
        used += width
    return parts
