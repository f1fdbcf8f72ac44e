"""E-mails written straight as bytes are the messages the email package would have built."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from services.notification.delivery.channels import Outgoing
from services.notification.delivery.mime import email_bytes, encode_subject
from services.notification.delivery.smtp import build_message
from services.notification.rendering.render import Email

KEY = "6f1c2f0e-8d3b-4c55-9a51-2b7f3f0c9d11.email"
SUBJECTS = [
    "Offer TS1",
    "Hồ sơ TSABCDEFGHIJKLMNOP: được nhận vào trường THCS-NGUYEN-TRAI-999",
    "Application TSABCDEFGHIJKLMNOP: a seat at THCS-NGUYEN-TRAI-999 (waitlist, preference 2)",
    "=?utf-8?q?not_a_word?=",
    "Ngọc " * 40,
    "",
]
TEXT = "Kính gửi Quý phụ huynh Bình <b>&</b>,\n\n- Mã hồ sơ: TS1\n.\n" + "Dòng dài " * 30 + "\n"
HTML = "<p>Kính gửi Quý phụ huynh Bình &lt;b&gt;&amp;&lt;/b&gt;,</p>\n"


def wire(subject: str, recipient: str = "ngoc@example.com", sender: str = "ts@localhost") -> bytes:
    raw = email_bytes(sender, recipient, KEY, "seat_offered", subject, TEXT, HTML)
    assert raw is not None
    return raw


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_bytes_parse_to_the_message_the_email_package_builds(subject: str) -> None:
    outgoing = Outgoing(
        "email", KEY, "seat_offered", "TS1", "ngoc@example.com", email=Email(subject, TEXT, HTML)
    )
    ours = parsed(wire(subject))
    theirs = parsed(build_message("ts@localhost", outgoing).as_bytes())

    assert not ours.defects and all(not part.defects for part in ours.walk())
    assert [(k, str(v)) for k, v in ours.items()] == [(k, str(v)) for k, v in theirs.items()]
    assert ours["Subject"] == subject
    for kind in ("plain", "html"):
        ours_part, theirs_part = (m.get_body(preferencelist=(kind,)) for m in (ours, theirs))
        assert ours_part is not None and theirs_part is not None
        assert ours_part.get_content() == theirs_part.get_content()
        assert ours_part["Content-Type"] == theirs_part["Content-Type"]
    assert ours.get_body(preferencelist=("plain",)).get_content() == TEXT  # type: ignore[union-attr]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_every_line_is_crlf_ended_and_short_and_the_header_is_ascii(subject: str) -> None:
    raw = wire(subject)
    head = raw.split(b"\r\n\r\n", 1)[0]

    assert head.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))


def test_an_encoded_subject_never_splits_a_character_and_decodes_whole() -> None:
    subject = "Hồ sơ được nhận vào trường " * 5
    words = encode_subject(subject).split("\r\n ")

    assert len(words) > 1 and all(len(word) <= 75 for word in words)
    assert parsed(wire(subject))["Subject"] == subject


@pytest.mark.parametrize(
    ("sender", "recipient"),
    [
        ("ts@localhost", "ngọc@example.com"),  # SMTPUTF8: the email package negotiates it
        ("ts@localhost", "a@example.com, b@example.com"),  # two mailboxes in one header
        ("ts@localhost", "Ngoc <ngoc@example.com>"),
        ("ts@localhost", "ngoc@example.com\r\nBcc: x@example.com"),
        ("Tuyển sinh <ts@localhost>", "ngoc@example.com"),
    ],
)
def test_anything_but_plain_addresses_is_left_to_the_email_package(
    sender: str, recipient: str
) -> None:
    assert email_bytes(sender, recipient, KEY, "seat_offered", "S", TEXT, HTML) is None
