"""Configuration from ``HUB_`` environment variables (docs/operations.md), read only when asked.

Nothing here runs at import time: the command line builds ``Settings()`` and passes it on. This
module imports nothing of ``identity``: every other part may read it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import PrivateAttr, ValidationInfo, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

import policies
from identity.settings.outgoing import OutgoingSettings
from identity.settings.values import (
    EMAIL,
    GUESSES,
    LOGO_TYPES,
    QUESTIONS,
    check_colour,
    check_logo,
    proxies,
    rate,
    rates,
    webhook_urls,
)

#: The secret key used when none is configured. Accepted only in demo mode.
DEVELOPMENT_SECRET = "development-only-not-secret"

__all__ = [
    "DEVELOPMENT_SECRET",
    "GUESSES",
    "LOGO_TYPES",
    "QUESTIONS",
    "Settings",
    "proxies",
    "rate",
    "rates",
    "webhook_urls",
]


class Settings(OutgoingSettings):
    """Every setting of the hub; each may be given as ``HUB_<NAME>`` in the environment. The
    mail server's and the webhooks' are those of ``OutgoingSettings``."""

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
