"""Configuration from ``HUB_`` environment variables (docs/operations.md), read only when asked.

Nothing here runs at import time: the command line builds ``Settings()`` and passes it on. This
module imports nothing of ``identity``: every other part may read it.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import PrivateAttr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import policies

#: The secret key used when none is configured. Accepted only in demo mode.
DEVELOPMENT_SECRET = "development-only-not-secret"

#: how each rate setting is written, for the message when it is not
GUESSES = "a guessing limit is written like 5/900 (failures/seconds)"
QUESTIONS = "a rate limit is written like 600/60 (questions/seconds)"
EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")
#: a logo's file types, and the content type it is served with
LOGO_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
LOGO_MAX_BYTES = 512 * 1024
#: the backgrounds the accent colour is drawn on (and text on it), light and dark
LIGHT_SURFACE, DARK_SURFACE = "#ffffff", "#1c1c1c"


class Settings(BaseSettings):
    """Every setting of the hub; each may be given as ``HUB_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./hub.db"
    issuer: str = "http://127.0.0.1:8000"
    secret_key: str = DEVELOPMENT_SECRET
    #: demo mode, which accepts the development secret: set only by ``hub demo`` through
    #: ``Settings.for_demo``, never from the environment (HUB_DEMO=1 must not weaken a server)
    _demo: bool = PrivateAttr(default=False)
    #: the longest any signed token lives (seconds); a retired signing key stays published so long
    token_lifetime_s: int = 3600
    #: how long a refresh token lives (seconds); each use gives a new one (default: 8 hours,
    #: a library's day: the facts the home library gave at sign-in are not older than that)
    refresh_lifetime_s: int = 28800
    #: sign-in failures allowed per card, as "count/seconds" windows, all of which must hold
    guesses_per_card: str = "5/900,20/86400"
    #: sign-in failures allowed per client address
    guesses_per_address: str = "30/900,200/86400"
    #: sign-ins started at libraries' identity providers allowed per client address (a
    #: library's public terminals share one: generous)
    federated_starts_per_address: str = "60/600,1000/86400"
    #: eligibility questions allowed per partner client, as "count/seconds" (a batch item counts)
    eligibility_rate: str = "600/60"
    #: how long to wait for PostgreSQL to accept a connection (seconds; at least 2) before the
    #: request is answered 503: a database behind a black hole must not hold the workers
    database_connect_timeout_s: int = 5
    #: connections each process keeps open to the database; as many again are opened for a
    #: burst and closed after it
    database_pool_size: int = 20
    #: the Retry-After (seconds) of the 503 answered while the database cannot be reached
    database_retry_after_s: int = 10
    #: the largest request body taken (bytes), refused with 413 before it is read whole
    max_body_bytes: int = 64 * 1024
    #: the same for the administrators' pages and API past sign-in (an imported agreement set)
    max_admin_body_bytes: int = 8 * 1024 * 1024
    #: the proxies trusted to give the client's address (X-Forwarded-For) and scheme
    #: (X-Forwarded-Proto): comma-separated addresses or networks, or * for any; none by default
    forwarded_allow_ips: str = ""
    #: questions that may wait for a turn at one home library (per process) while as many as it
    #: takes at once (a SIP2 library's ``connections``) are being asked; more are refused (503)
    home_library_queue: int = 16
    #: the longest a question waits for a turn at a home library (seconds; never longer than
    #: the library's ``timeout_s``); then it is refused (503)
    home_library_wait_s: float = 5.0
    #: the largest agreement set the hub takes in (``hub agreements check|load``, imports through
    #: the admin API and pages): its files' text in MiB, and its libraries and agreements
    agreements_max_mb: int = 64
    agreements_max_entries: int = 250_000
    #: the SAML service provider's key and certificate (PEM files), for signing and decrypting;
    #: unset: the hub makes its own and keeps them in the database (``hub saml rotate``)
    saml_key_file: str = ""
    saml_cert_file: str = ""
    #: the pair that replaces them, published in the metadata (and decrypting) before it is used
    saml_next_key_file: str = ""
    saml_next_cert_file: str = ""
    #: the key they replaced, which still decrypts for identity providers not yet refreshed
    saml_previous_key_file: str = ""
    #: how often (seconds) an identity provider's metadata is fetched again while in use
    saml_metadata_refresh_s: int = 3600
    #: the largest metadata document taken (MiB): a federation's aggregate can be large
    saml_metadata_max_mb: int = 256
    #: how ``hub serve`` writes its log: ``json`` (one object per line) or ``console`` (for a
    #: person reading it during development)
    log_format: str = "json"
    #: who may read ``/metrics``: comma-separated addresses or networks (the client's address,
    #: as ``forwarded_allow_ips`` gives it); a request that came through a proxy never counts
    #: as loopback. Anyone sending ``metrics_token`` as a bearer token may read it too
    metrics_allow_ips: str = "127.0.0.1,::1"
    metrics_token: str = ""
    #: how often (seconds) ``hub serve`` deletes what has expired, on one instance at a time;
    #: 0: only at start (and by ``hub db purge``)
    purge_interval_s: int = 3600
    #: how long the record of eligibility questions is kept (days; the home library's record
    #: of who asked about its patrons' cards)
    retain_lookups_days: int = 180
    #: how long sign-in attempts are kept (days), and never less than the longest guessing window
    retain_signin_attempts_days: int = 1
    #: how long which card a lender's pairwise ``sub`` stands for is kept after the patron's
    #: latest sign-in (days), and never less than a refresh token lives
    retain_pairwise_days: int = 400
    #: the network's name, logo (a file on the hub: SVG, PNG, WebP or JPEG, served at
    #: /brand/logo) and accent colours (light and dark), on every patron page; help: where
    #: patrons get help with the hub itself (a URL, an email address)
    network_name: str = ""
    network_logo: str = ""
    network_colour: str = "#0b5394"
    network_colour_dark: str = "#8ab4f8"
    network_help_url: str = ""
    network_help_email: str = ""
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
    def _webhook_secret(self) -> Settings:
        if self.webhook_urls.strip() and len(self.webhook_secret) < 32:
            raise ValueError("HUB_WEBHOOK_URLS needs HUB_WEBHOOK_SECRET, 32 characters or more")
        return self

    @model_validator(mode="after")
    def _smtp_from(self) -> Settings:
        if self.smtp_host and not EMAIL.fullmatch(self.smtp_from):
            raise ValueError("HUB_SMTP_HOST needs HUB_SMTP_FROM, the sender's email address")
        return self

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        """OpenID Connect Discovery 3: https, no query or fragment; plain http only on this
        machine (a demo or a test). A trailing slash is dropped, as every URL is built on it."""
        parts = urlsplit(value)
        loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"HUB_ISSUER must be an https URL, not {value!r}")
        if parts.scheme == "http" and not loopback:
            raise ValueError(
                f"HUB_ISSUER must be https (http only for localhost), not {value!r}: OAuth "
                "requires TLS; put the hub behind a TLS-terminating proxy"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"HUB_ISSUER must have no query or fragment, not {value!r}")
        return value.rstrip("/")

    @field_validator("token_lifetime_s")
    @classmethod
    def _lifetime(cls, value: int) -> int:
        if not 60 <= value <= 86400:
            raise ValueError("HUB_TOKEN_LIFETIME_S must be between 60 and 86400 seconds")
        return value

    @field_validator("refresh_lifetime_s")
    @classmethod
    def _refresh_lifetime(cls, value: int) -> int:
        if not 60 <= value <= 30 * 86400:
            raise ValueError("HUB_REFRESH_LIFETIME_S must be between 60 s and 30 days")
        return value

    @field_validator("database_connect_timeout_s")
    @classmethod
    def _connect_timeout(cls, value: int) -> int:
        if not 2 <= value <= 300:  # libpq counts anything under 2 as 2
            raise ValueError("HUB_DATABASE_CONNECT_TIMEOUT_S must be between 2 and 300 seconds")
        return value

    @field_validator("database_pool_size")
    @classmethod
    def _pool_size(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("HUB_DATABASE_POOL_SIZE must be between 1 and 100")
        return value

    @field_validator("database_retry_after_s")
    @classmethod
    def _retry_after(cls, value: int) -> int:
        if not 1 <= value <= 3600:
            raise ValueError("HUB_DATABASE_RETRY_AFTER_S must be between 1 and 3600 seconds")
        return value

    @field_validator("guesses_per_card", "guesses_per_address", "federated_starts_per_address")
    @classmethod
    def _limits(cls, value: str) -> str:
        rates(value, GUESSES)  # raises ValueError with the expected form
        return value

    @field_validator("home_library_queue")
    @classmethod
    def _queue(cls, value: int) -> int:
        if not 0 <= value <= 1000:
            raise ValueError("HUB_HOME_LIBRARY_QUEUE must be between 0 and 1000")
        return value

    @field_validator("home_library_wait_s")
    @classmethod
    def _wait(cls, value: float) -> float:
        if not 0 < value <= 60:
            raise ValueError("HUB_HOME_LIBRARY_WAIT_S must be more than 0 and at most 60 seconds")
        return value

    @field_validator("agreements_max_mb", "agreements_max_entries")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("saml_metadata_refresh_s")
    @classmethod
    def _metadata_refresh(cls, value: int) -> int:
        if not 60 <= value <= 7 * 86400:
            raise ValueError("HUB_SAML_METADATA_REFRESH_S must be between 60 s and 7 days")
        return value

    @field_validator("saml_metadata_max_mb")
    @classmethod
    def _metadata_size(cls, value: int) -> int:
        if not 1 <= value <= 4096:
            raise ValueError("HUB_SAML_METADATA_MAX_MB must be between 1 and 4096")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("json", "console"):
            raise ValueError(f"HUB_LOG_FORMAT must be json or console, not {value!r}")
        return value

    @field_validator("metrics_allow_ips")
    @classmethod
    def _metrics_allowed(cls, value: str) -> str:
        named = proxies(value)
        if "*" in named:
            raise ValueError("HUB_METRICS_ALLOW_IPS takes addresses or networks, not *")
        return ",".join(named)

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("HUB_METRICS_TOKEN must be at least 32 characters long")
        return value

    @field_validator("purge_interval_s")
    @classmethod
    def _purge_interval(cls, value: int) -> int:
        if value != 0 and not 60 <= value <= 7 * 86400:
            raise ValueError("HUB_PURGE_INTERVAL_S must be 0, or between 60 s and 7 days")
        return value

    @field_validator("retain_lookups_days", "retain_signin_attempts_days", "retain_pairwise_days")
    @classmethod
    def _retain(cls, value: int, info: ValidationInfo) -> int:
        longest = 365 if info.field_name == "retain_signin_attempts_days" else 3650
        if not 1 <= value <= longest:
            name = f"HUB_{(info.field_name or '').upper()}"
            raise ValueError(f"{name} must be between 1 and {longest} days")
        return value

    @field_validator("network_name")
    @classmethod
    def _network_name(cls, value: str) -> str:
        value = value.strip()
        if len(value) > 100 or not value.isprintable():
            raise ValueError("HUB_NETWORK_NAME must be printable and at most 100 characters")
        return value

    @field_validator("network_logo")
    @classmethod
    def _logo(cls, value: str) -> str:
        return check_logo(value)

    @field_validator("network_colour", "network_colour_dark")
    @classmethod
    def _colour(cls, value: str, info: ValidationInfo) -> str:
        dark = info.field_name == "network_colour_dark"
        return check_colour(value, dark=dark)

    @field_validator("network_help_url")
    @classmethod
    def _help_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("https", "http") or not parts.hostname):
            raise ValueError(f"HUB_NETWORK_HELP_URL must be an http(s) URL, not {value!r}")
        return value

    @field_validator("network_help_email")
    @classmethod
    def _help_email(cls, value: str) -> str:
        if value and not EMAIL.fullmatch(value):
            raise ValueError(f"HUB_NETWORK_HELP_EMAIL must be an email address, not {value!r}")
        return value

    @model_validator(mode="after")
    def _saml_files(self) -> Settings:
        """SAML key files come in pairs, and a next or previous key only beside a current one."""
        pairs = (("saml_key_file", "saml_cert_file"), ("saml_next_key_file", "saml_next_cert_file"))
        for key, cert in pairs:
            if bool(getattr(self, key)) != bool(getattr(self, cert)):
                raise ValueError(f"HUB_{key.upper()} and HUB_{cert.upper()} go together")
        if not self.saml_key_file and (self.saml_next_key_file or self.saml_previous_key_file):
            raise ValueError(
                "HUB_SAML_NEXT_KEY_FILE and HUB_SAML_PREVIOUS_KEY_FILE need HUB_SAML_KEY_FILE"
            )
        return self

    def agreement_limits(self) -> policies.Limits:
        """The limits on an agreement set coming in (not on the set already published)."""
        return policies.Limits(
            max_bytes=self.agreements_max_mb * 2**20,
            max_entries=self.agreements_max_entries,
            max_bytes_name="HUB_AGREEMENTS_MAX_MB",
            max_entries_name="HUB_AGREEMENTS_MAX_ENTRIES",
        )

    @field_validator("eligibility_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        rate(value, QUESTIONS)
        return value

    @field_validator("max_body_bytes", "max_admin_body_bytes")
    @classmethod
    def _body_limit(cls, value: int) -> int:
        if not 1024 <= value <= 1024**3:
            raise ValueError("a body limit must be between 1024 bytes and 1 GiB")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: str) -> str:
        return ",".join(proxies(value))

    @classmethod
    def for_demo(cls, **values: Any) -> Settings:
        settings = cls(**values)
        settings._demo = True
        return settings

    @property
    def demo(self) -> bool:
        return self._demo

    def secret(self) -> str:
        """The secret key, refused when it is the development value (or short) outside demo mode.
        Asked for by what signs or encrypts, so commands that do neither work without one."""
        if not self._demo:
            if self.secret_key == DEVELOPMENT_SECRET:
                raise ValueError(
                    "HUB_SECRET_KEY is unset or left at the development value; set it to a long "
                    "random string, e.g. from python -c "
                    "'import secrets; print(secrets.token_urlsafe(48))'"
                )
            if len(self.secret_key) < 32:
                raise ValueError("HUB_SECRET_KEY must be at least 32 characters long")
        return self.secret_key


def webhook_urls(value: str) -> list[str]:
    return [url.strip() for url in value.split(",") if url.strip()]


def proxies(value: str) -> list[str]:
    """The proxies named in a comma-separated list of addresses, networks or ``*`` (empty:
    trust no forwarding header); ValueError names one that is none of these."""
    named = [part.strip() for part in value.split(",") if part.strip()]
    for item in named:
        if item != "*":
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
    return named


def rates(text: str, written: str) -> tuple[tuple[int, int], ...]:
    """A rate setting: ``count/seconds`` windows, comma-separated, all of which must hold
    (``"5/900,20/86400"``), as (count, seconds) pairs; ValueError says how one is ``written``."""
    windows = []
    for part in text.split(","):
        count, _, seconds = part.strip().partition("/")
        if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
            raise ValueError(f"{written}, not {part!r}")
        windows.append((int(count), int(seconds)))
    return tuple(windows)


def rate(text: str, written: str) -> tuple[int, int]:
    """A rate setting of one window (``"600/60"``): (count, seconds)."""
    windows = rates(text, written) if "," not in text else ()
    if len(windows) != 1:
        raise ValueError(f"{written}, not {text!r}")
    return windows[0]


def check_logo(value: str) -> str:
    """A logo file the hub can serve (``/brand/logo``): an image of a known type, at most
    ``LOGO_MAX_BYTES``; ValueError says what is wrong with it."""
    if not value:
        return value
    if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
        raise ValueError(
            "HUB_NETWORK_LOGO must be a file on the hub (it is served at /brand/logo), not a "
            f"URL: the pages' Content-Security-Policy loads images from the hub only ({value!r})"
        )
    path = Path(value)
    if path.suffix.lower() not in LOGO_TYPES:
        raise ValueError(f"HUB_NETWORK_LOGO must be an SVG, PNG, WebP or JPEG file, not {value!r}")
    if not path.is_file():
        raise ValueError(f"HUB_NETWORK_LOGO names no file: {value!r}")
    if path.stat().st_size > LOGO_MAX_BYTES:
        raise ValueError(f"HUB_NETWORK_LOGO must be at most {LOGO_MAX_BYTES // 1024} KiB")
    return value


def check_colour(value: str, *, dark: bool) -> str:
    """An accent colour written ``#rrggbb`` whose contrast with the page it is drawn on (and
    the text drawn on it) is at least 4.5:1 (WCAG 1.4.3), in lower case."""
    name = "HUB_NETWORK_COLOUR_DARK" if dark else "HUB_NETWORK_COLOUR"
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"{name} must be written like #0b5394, not {value!r}")
    ratio = contrast(value, DARK_SURFACE if dark else LIGHT_SURFACE)
    if ratio < 4.5:
        surface = "the dark page (#1c1c1c)" if dark else "white"
        raise ValueError(
            f"{name} {value} has a contrast of {ratio:.1f}:1 with {surface}; it needs 4.5:1 "
            "to be read by everyone"
        )
    return value.lower()


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
