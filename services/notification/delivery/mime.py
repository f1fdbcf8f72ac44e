"""An e-mail as the bytes SMTP sends, written straight from one fixed layout.

Every notice is the same MIME shape: multipart/alternative with a UTF-8 text part and a
UTF-8 HTML part, both base64, and a handful of headers. Going through the email package's
objects and generator cost a third of the notifier's CPU at publish time, so the common case
is written here directly: the same headers and parts `smtp.build_message` produces (the tests
parse both and compare), the subject as RFC 2047 encoded words, lines folded under 78
characters. Whatever does not fit that case (an address outside plain ASCII, a long or
unusual header) returns None, and the caller takes the email package's path.
"""

from __future__ import annotations

import re
from base64 import b64encode, encodebytes

# An addr-spec with nothing that needs quoting, folding or encoding in a header, and nothing
# (a comma, a name, angle brackets) that would make a header mean more than one mailbox.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,190}")
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,100}")
MAX_LINE = 78
# "Subject: =?utf-8?b?" + 56 base64 characters + "?=" is 77: 42 bytes of UTF-8 per word.
_WORD_BYTES = 42
_PART = (
    '--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\n"
)


def plain_address(address: str) -> bool:
    """Whether an address can go into a header and the envelope exactly as it is."""
    return _PLAIN_ADDRESS.fullmatch(address) is not None


def email_bytes(
    sender: str, recipient: str, key: str, template: str, subject: str, text: str, html: str
) -> bytes | None:
    """The message, CRLF line ends, ready for `SMTP.sendmail`; None if it is not a plain case.

    `key` names the message (its Message-ID and its MIME boundary: base64 never contains
    "=_", so the boundary cannot occur in a part).
    """
    if not (
        plain_address(sender)
        and plain_address(recipient)
        and _PLAIN_TOKEN.fullmatch(key)
        and _PLAIN_TOKEN.fullmatch(template)
    ):
        return None
    boundary = f"=_{key}"
    headers = [
        _header("Content-Type", f'multipart/alternative; boundary="{boundary}"', "; "),
        "MIME-Version: 1.0\r\n",
        f"Subject: {encode_subject(subject)}\r\n",
        _header("From", sender),
        _header("To", recipient),
        _header("Message-ID", f"<{key}@notification.tuyensinh.local>", ""),
        _header("X-Tuyensinh-Template", template),
        "\r\n",
    ]
    return b"".join(
        [
            "".join(headers).encode("ascii"),
            _PART.format(boundary=boundary, subtype="plain").encode("ascii"),
            _base64_lines(text),
            b"\r\n",
            _PART.format(boundary=boundary, subtype="html").encode("ascii"),
            _base64_lines(html),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        ]
    )


def encode_subject(subject: str) -> str:
    """The subject as header text: as it is if short plain ASCII, else RFC 2047 B-words, each
    whole characters of UTF-8, one per line (the first fits after "Subject: ")."""
    if (
        subject.isascii()
        and subject.isprintable()
        and "=?" not in subject
        and subject == subject.strip()
        and len("Subject: ") + len(subject) <= MAX_LINE
    ):
        return subject
    data = subject.encode("utf-8")
    words = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never split a character
            end -= 1
        words.append(f"=?utf-8?b?{b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return "\r\n ".join(words) or "=?utf-8?b??="


def _header(name: str, value: str, fold_at: str | None = None) -> str:
    # Folded as compat32 folds these: after the parameter's "; ", or before the whole value.
    if len(name) + 2 + len(value) <= MAX_LINE or fold_at is None:
        return f"{name}: {value}\r\n"
    if fold_at and fold_at in value:
        head, tail = value.split(fold_at, 1)
        return f"{name}: {head}{fold_at.rstrip()}\r\n {tail}\r\n"
    return f"{name}: \r\n {value}\r\n"


def _base64_lines(text: str) -> bytes:
    # 76-character lines, as the email package writes a base64 body; CRLF on the wire.
    return encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")
