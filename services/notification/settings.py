"""The notification service's settings: one object, read once from the container's config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from services.notification.policy import OtpLimits

EMAIL_TRANSPORTS = ("smtp", "console", "off")
SMS_TRANSPORTS = ("http", "console", "off")
DEFAULT_SMS_BODY = {"to": "$to", "text": "$text", "sender": "$sender", "client_ref": "$key"}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand e-mail to the mail server."""

    host: str = "127.0.0.1"
    port: int = 1025
    sender: str = "tuyensinh@localhost"
    timeout: float = 10.0
    pool_size: int = 10
    idle_check_seconds: float = 5.0


@dataclass(frozen=True)
class SmsSettings:
    """The SMS provider's HTTP endpoint, its auth header, its JSON body shape and our limits."""

    url: str = "http://127.0.0.1:8025/sms"
    auth_header: str = "Authorization"
    auth_value: str = ""
    sender: str = "TUYENSINH"
    body: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_SMS_BODY))
    timeout: float = 10.0
    pool_size: int = 10
    diacritics: bool = True
    max_segments: int = 2
    daily_cap: int = 10


@dataclass(frozen=True)
class Settings:
    """Which transport each channel uses, and every knob of them."""

    email_transport: str = "smtp"
    sms_transport: str = "console"
    sms_console_dir: str = ""  # where the console sink keeps each SMS ("": log lines only)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    otp: OtpLimits = field(default_factory=OtpLimits)
    recipient_secret: str = "development-only-secret-change-me"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Build from a nameko config (keys documented in services/notification/config.yml)."""
        settings = cls(
            email_transport=_transport(config.get("EMAIL_TRANSPORT", "smtp")),
            sms_transport=_transport(config.get("SMS_TRANSPORT", "console")),
            # The console sink shows texts (login codes) only in development.
            sms_console_dir=str(config.get("SMS_CONSOLE_DIR") or "")
            if config.get("ENVIRONMENT", "development") == "development"
            else "",
            smtp=SmtpSettings(
                host=str(config.get("SMTP_HOST", "127.0.0.1")),
                port=int(config.get("SMTP_PORT", 1025)),
                sender=str(config.get("SMTP_FROM", "tuyensinh@localhost")),
                timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 10)),
                pool_size=int(config.get("SMTP_POOL_SIZE", 10)),
                idle_check_seconds=float(config.get("SMTP_IDLE_CHECK_SECONDS", 5)),
            ),
            sms=SmsSettings(
                url=str(config.get("SMS_URL", "http://127.0.0.1:8025/sms")),
                auth_header=str(config.get("SMS_AUTH_HEADER", "Authorization")),
                auth_value=str(config.get("SMS_AUTH_VALUE", "")),
                sender=str(config.get("SMS_SENDER", "TUYENSINH")),
                body=dict(config.get("SMS_BODY") or DEFAULT_SMS_BODY),
                timeout=float(config.get("SMS_TIMEOUT_SECONDS", 10)),
                pool_size=int(config.get("SMS_POOL_SIZE", 10)),
                diacritics=_flag(config.get("SMS_DIACRITICS", True)),
                max_segments=int(config.get("SMS_MAX_SEGMENTS", 2)),
                daily_cap=int(config.get("SMS_DAILY_CAP", 10)),
            ),
            otp=OtpLimits(
                per_window=int(config.get("OTP_MAX_PER_WINDOW", 3)),
                window=timedelta(seconds=float(config.get("OTP_WINDOW_SECONDS", 600))),
                per_day=int(config.get("OTP_MAX_PER_DAY", 10)),
            ),
            recipient_secret=str(
                config.get("RECIPIENT_KEY_SECRET", "development-only-secret-change-me")
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse a transport name nobody implements, at start-up rather than at first send."""
        if self.email_transport not in EMAIL_TRANSPORTS:
            raise ValueError(f"EMAIL_TRANSPORT must be one of {EMAIL_TRANSPORTS}")
        if self.sms_transport not in SMS_TRANSPORTS:
            raise ValueError(f"SMS_TRANSPORT must be one of {SMS_TRANSPORTS}")


def _transport(value: Any) -> str:
    # YAML reads a bare `off` (as `${SMS_TRANSPORT:off}` becomes) as the boolean false.
    return "off" if value is False else str(value)


def _flag(value: Any) -> bool:
    # From YAML a flag is a bool; from an environment variable it may be a string.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
