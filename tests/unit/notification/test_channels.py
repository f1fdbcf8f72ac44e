"""How transports sort failures, and how the SMS provider's JSON body is built."""

from __future__ import annotations

import json
import logging
import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from services.notification.delivery.channels import (
    ConsoleTransport,
    Outgoing,
    PermanentFailure,
    TransientFailure,
    fill_body,
)
from services.notification.delivery.smtp import SHORT_HEADERS, build_message, classify
from services.notification.rendering.render import Email
from services.notification.settings import Settings

BODY = {"to": "$to", "message": {"text": "$text", "parts": "$segments"}, "tag": "ts-$key"}
VALUES = {"to": "+84912345678", "text": 'He said "hi" \\ {x}', "segments": 2, "key": "e1.sms"}


def test_the_provider_body_is_filled_as_data_so_quotes_cannot_break_the_json() -> None:
    body = fill_body(BODY, VALUES)

    assert json.loads(json.dumps(body)) == {
        "to": "+84912345678",
        "message": {"text": 'He said "hi" \\ {x}', "parts": 2},
        "tag": "ts-e1.sms",
    }


def test_a_placeholder_alone_keeps_its_type_and_unknown_ones_stay_as_written() -> None:
    assert fill_body(["$segments", "$nope", 3], VALUES) == [2, "$nope", 3]


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (
            smtplib.SMTPRecipientsRefused({"a@b": (550, b"no such user")}),
            PermanentFailure,
            "smtp_550",
        ),
        (
            smtplib.SMTPRecipientsRefused({"a@b": (450, b"mailbox busy")}),
            TransientFailure,
            "smtp_450",
        ),
        (smtplib.SMTPDataError(554, b"rejected as spam"), PermanentFailure, "smtp_554"),
        (smtplib.SMTPDataError(451, b"try later"), TransientFailure, "smtp_451"),
        (smtplib.SMTPSenderRefused(553, b"bad sender", "us@x"), TransientFailure, "smtp_553"),
        (smtplib.SMTPNotSupportedError(), PermanentFailure, "smtp_unsupported"),
        (smtplib.SMTPServerDisconnected(), TransientFailure, "smtp_disconnected"),
        (ConnectionRefusedError(), TransientFailure, "smtp_unreachable"),
        (TimeoutError(), TransientFailure, "smtp_timeout"),
    ],
)
def test_smtp_refusals_of_the_recipient_or_message_are_permanent_the_rest_transient(
    exc: Exception, kind: type, code: str
) -> None:
    failure = classify(exc)

    assert isinstance(failure, kind)
    assert failure.code == code


def test_a_classified_failure_never_carries_the_servers_words() -> None:
    refused = smtplib.SMTPRecipientsRefused({"ngoc@example.com": (550, b"<ngoc@example.com> no")})

    assert "ngoc" not in str(classify(refused))


def _outgoing(recipient: str) -> Outgoing:
    email = Email(subject="Đã tiếp nhận hồ sơ TS1", text="Kính gửi,\n", html="<p>Kính gửi,</p>")
    return Outgoing("email", "e1.email", "application_received", "TS1", recipient, email=email)


def test_an_email_has_both_parts_a_readable_subject_and_a_message_id_fixed_by_the_event() -> None:
    raw = build_message("tuyensinh@localhost", _outgoing("ngoc@example.com")).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)

    assert parsed["Subject"] == "Đã tiếp nhận hồ sơ TS1"
    assert parsed["Message-ID"] == "<e1.email@notification.tuyensinh.local>"
    assert parsed.get_body(preferencelist=("plain",)).get_content() == "Kính gửi,\n"
    assert "<p>Kính gửi,</p>" in parsed.get_body(preferencelist=("html",)).get_content()


def test_an_address_outside_ascii_gets_a_message_that_can_negotiate_smtputf8() -> None:
    message = build_message("tuyensinh@localhost", _outgoing("ngọc@example.com"))

    assert isinstance(message, EmailMessage)
    assert message["To"] == "ngọc@example.com"


def test_a_channel_switched_off_from_the_environment_is_off_although_yaml_reads_false() -> None:
    # `${SMS_TRANSPORT:console}` with SMS_TRANSPORT=off reaches the config as YAML's false.
    settings = Settings.from_config({"SMS_TRANSPORT": False, "EMAIL_TRANSPORT": "console"})

    assert (settings.sms_transport, settings.email_transport) == ("off", "console")
    with pytest.raises(ValueError):
        Settings.from_config({"SMS_TRANSPORT": "carrier-pigeon"})


@pytest.mark.parametrize("subject", ["Offer TS1", "Hồ sơ TS1: được nhận vào trường " + "X" * 80])
def test_short_headers_are_written_byte_for_byte_as_compat32_writes_them(subject: str) -> None:
    email = Email(subject=subject, text="Kính gửi,\nDòng hai.\n", html="<p>Kính gửi</p>")
    outgoing = Outgoing("email", "e1.email", "seat_offered", "R", "a@example.com", email=email)
    message = build_message("tuyensinh@localhost", outgoing)

    assert message.policy is SHORT_HEADERS
    assert message.as_bytes(policy=SHORT_HEADERS) == message.as_bytes(policy=policy.compat32)


def test_the_console_sms_sink_prints_the_code_and_keeps_one_file_per_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = ConsoleTransport(tmp_path / "sms")
    text = "Mã OTP Tuyển sinh: 493021, hiệu lực 5 phút."
    for key in ("otp.1", "otp.2"):
        with caplog.at_level(logging.INFO, logger="services.notification.delivery.channels"):
            sink.send(Outgoing("sms", key, "login_otp", None, "+84912345678", text=text))

    files = sorted((tmp_path / "sms").iterdir())
    assert len(files) == 2
    assert "+84912345678" in files[0].read_text(encoding="utf-8")
    assert text in files[1].read_text(encoding="utf-8")
    assert "493021" in caplog.text and "...678" in caplog.text
    assert "+84912345678" not in caplog.text


def test_the_console_sink_keeps_no_text_outside_development() -> None:
    development = Settings.from_config({"SMS_CONSOLE_DIR": "var/sms"})
    production = Settings.from_config({"SMS_CONSOLE_DIR": "var/sms", "ENVIRONMENT": "production"})

    assert (development.sms_console_dir, production.sms_console_dir) == ("var/sms", "")
