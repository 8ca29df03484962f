"""The settings of what the hub sends out: administrators' notifications and one-time links by
email (``HUB_SMTP_*``), and each newly published agreement version to partner systems' webhooks
(``HUB_WEBHOOK_*``). ``identity.settings.Settings`` has these among its settings. Like it, this
module imports nothing of ``identity``."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from identity.settings.values import EMAIL, webhook_urls


class OutgoingSettings(BaseSettings):
    """The mail server and the webhooks; each may be given as ``HUB_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", frozen=True)

    #: the mail server that administrators' notifications and one-time links are sent through
    #: (unset: no email is sent, and none is queued); STARTTLS is required unless
    #: ``smtp_starttls`` is off (only for a server on the same host); a user and password if
    #: the server wants them; ``smtp_from`` is the sender's address
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    #: the certificate authorities (PEM) the mail server's certificate is checked against,
    #: instead of the system's (a relay with a certificate of the organisation's own CA)
    smtp_ca_file: str = ""
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    #: how often (seconds) ``hub serve`` sends the emails waiting in the outbox
    smtp_send_interval_s: float = 10.0
    #: partner systems told of each newly published agreement version: comma-separated https
    #: URLs (http only for localhost), each POSTed a JSON event signed with HMAC-SHA256 under
    #: ``webhook_secret``; tried every ``webhook_interval_s``
    webhook_urls: str = ""
    webhook_secret: str = ""
    webhook_interval_s: float = 10.0

    @field_validator("smtp_send_interval_s")
    @classmethod
    def _send_interval(cls, value: float) -> float:
        if not 0.05 <= value <= 3600:
            raise ValueError("HUB_SMTP_SEND_INTERVAL_S must be between 0.05 and 3600 seconds")
        return value

    @field_validator("smtp_port")
    @classmethod
    def _smtp_port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError("HUB_SMTP_PORT must be a port number (1 to 65535)")
        return value

    @field_validator("smtp_ca_file")
    @classmethod
    def _smtp_ca_file(cls, value: str) -> str:
        if value:
            try:
                ssl.create_default_context(cafile=value)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"HUB_SMTP_CA_FILE must be a file of PEM certificates; "
                                 f"{value!r} cannot be read as one ({exc})") from None  # fmt: skip
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _webhook_urls(cls, value: str) -> str:
        for url in webhook_urls(value):
            parts = urlsplit(url)
            local = parts.hostname in ("localhost", "127.0.0.1", "::1")
            if parts.scheme != "https" and not (parts.scheme == "http" and local):
                raise ValueError(f"HUB_WEBHOOK_URLS takes https URLs (http only for localhost), "
                                 f"not {url!r}")  # fmt: skip
        return value

    @field_validator("webhook_interval_s")
    @classmethod
    def _webhook_interval(cls, value: float) -> float:
        if not 0.05 <= value <= 3600:
            raise ValueError("HUB_WEBHOOK_INTERVAL_S must be between 0.05 and 3600 seconds")
        return value

    @model_validator(mode="after")
    def _webhook_secret(self) -> OutgoingSettings:
        if self.webhook_urls.strip() and len(self.webhook_secret) < 32:
            raise ValueError("HUB_WEBHOOK_URLS needs HUB_WEBHOOK_SECRET, 32 characters or more")
        return self

    @model_validator(mode="after")
    def _smtp_from(self) -> OutgoingSettings:
        if self.smtp_host and not EMAIL.fullmatch(self.smtp_from):
            raise ValueError("HUB_SMTP_HOST needs HUB_SMTP_FROM, the sender's email address")
        return self
