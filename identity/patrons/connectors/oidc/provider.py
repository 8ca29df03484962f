"""A library's OpenID provider as the hub sees it from the back channel: its metadata (OpenID
Connect Discovery 1.0 section 4) and its keys (RFC 7517), cached per process, behind the
circuit breaker the SIP2 connector uses (``sip2.breaker``).

- **Discovery**: ``{issuer}/.well-known/openid-configuration``, kept ``DISCOVERY_TTL_S``. Its
  ``issuer`` must be the configured one exactly (section 4.3), and every endpoint https (http
  only for a loopback issuer). It must offer the code flow.
- **Keys**: ``jwks_uri``, kept ``KEYS_TTL_S``. A ``kid`` not among them fetches the set once
  more (the provider rotated its keys, OpenID Connect Core 10.1.1); a kid still unknown then is
  no key.
- **Failing closed**: a provider that cannot be reached, times out, answers 5xx or garbage, or
  refuses the hub's client credentials raises ``HomeLibraryUnavailable``, and counts against
  the breaker: after ``breaker.FAILURES`` in a row, nobody is sent to that provider for
  ``breaker.COOLDOWN_S``. What one sign-in's answer says (a code the provider refuses, a token
  that does not verify) never counts: no stranger can take a library offline.

Every request to the provider is made in an ``Exchange`` (``Provider.asking()``), which reports
to the breaker once: failed, succeeded (the provider answered), or nothing (nothing was asked).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.httpx_client import OAuth2Client
from joserfc.jwk import KeySet

import policies
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.sip2 import breaker
from policies.model import OidcConnector as OidcSettings

DISCOVERY_TTL_S = 3600.0
KEYS_TTL_S = 3600.0
MAX_BYTES = 512 * 1024  # a discovery document, a key set, a token or userinfo response
MISCONFIGURED_RETRY_S = 300  # a missing or refused client secret is not fixed by trying soon
#: the signature algorithms the hub verifies: asymmetric only (never ``none``, never a MAC
#: keyed with the client secret)
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


class ProviderDown(Exception):
    """The provider itself failed (unreachable, slow, 5xx, garbage); counts against the
    breaker."""

    def __init__(self, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    #: how the hub authenticates at the token endpoint (with a secret)
    token_auth: str
    algorithms: tuple[str, ...]
    #: RFC 9207: the provider puts ``iss`` in its authorization responses
    iss_parameter: bool


class Provider:
    """One library's provider: cached metadata and keys, and its breaker."""

    def __init__(self, library: str, settings: OidcSettings) -> None:
        self.library = library
        self.settings = settings
        self.breaker = breaker.Breaker(library=library)
        self._lock = threading.Lock()
        self._metadata: tuple[float, Metadata] | None = None
        self._keys: tuple[float, KeySet] | None = None
        #: the TLS context of every request to the provider (the CA bundle, or the one
        #: ``SSL_CERT_FILE`` names): made once, rather than at each request's client (about
        #: 20 ms of CPU each)
        self.tls = httpx2.create_ssl_context()

    @contextmanager
    def asking(self) -> Iterator[Exchange]:
        """An exchange with the provider, or ``HomeLibraryUnavailable`` at once while the
        breaker is open."""
        admission = self.breaker.admit()
        if admission.wait is not None:
            raise HomeLibraryUnavailable(
                self.library,
                "its identity provider did not answer lately; not asking it again yet",
                retry_after=max(1, math.ceil(admission.wait)),
            )
        exchange = Exchange(self)
        try:
            yield exchange
        except ProviderDown as exc:
            self.breaker.failed()
            left = self.breaker.remaining() or self.breaker.cooldown_s
            retry = exc.retry_after or max(1, math.ceil(left))
            raise HomeLibraryUnavailable(self.library, str(exc), retry_after=retry) from None
        except BaseException:
            self._report(exchange, admission)
            raise
        self._report(exchange, admission)

    def _report(self, exchange: Exchange, admission: breaker.Admission) -> None:
        if exchange.asked:
            self.breaker.succeeded()
        else:
            self.breaker.released(admission)

    def cached_metadata(self) -> Metadata | None:
        with self._lock:
            if self._metadata and time.monotonic() - self._metadata[0] < DISCOVERY_TTL_S:
                return self._metadata[1]
        return None

    def cached_keys(self) -> KeySet | None:
        with self._lock:
            if self._keys and time.monotonic() - self._keys[0] < KEYS_TTL_S:
                return self._keys[1]
        return None

    def keep(self, found: Metadata | KeySet) -> None:
        with self._lock:
            if isinstance(found, Metadata):
                self._metadata = (time.monotonic(), found)
            else:
                self._keys = (time.monotonic(), found)


class Exchange:
    """Requests to one provider, for one sign-in (or one connection test)."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.settings = provider.settings
        self.asked = False

    def client(self, **kwargs: Any) -> OAuth2Client:
        """Authlib's OAuth client, for this provider's requests."""
        return OAuth2Client(
            self.settings.client_id,
            timeout=self.settings.timeout_s,
            verify=self.provider.tls,
            **kwargs,
        )

    def metadata(self) -> Metadata:
        found = self.provider.cached_metadata()
        if found is None:
            issuer = self.settings.issuer
            document = self.get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
            found = _metadata(issuer, document)
            self.provider.keep(found)
        return found

    def keys(self, *, again: bool = False) -> KeySet:
        """The provider's key set, from the cache unless ``again`` (an unknown ``kid``)."""
        found = None if again else self.provider.cached_keys()
        if found is None:
            document = self.get_json(self.metadata().jwks_uri)
            try:
                found = KeySet.import_key_set(document)
            except Exception as exc:  # joserfc raises several kinds for a set it cannot read
                raise ProviderDown(f"its key set cannot be read ({type(exc).__name__})") from None
            self.provider.keep(found)
        return found

    def get_json(self, url: str, *, token: dict[str, Any] | None = None) -> Any:
        """The JSON a GET of ``url`` answers (with ``token`` as a bearer), or
        ``ProviderDown``."""
        self.asked = True
        where = _where(url)
        try:
            with (
                self.client(token=token) as http,
                http.stream("GET", url, withhold_token=token is None) as response,
            ):
                if response.status_code != 200:
                    raise ProviderDown(f"{where}: HTTP {response.status_code}")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise ProviderDown(f"{where}: an answer longer than {MAX_BYTES} bytes")
        except httpx2.TransportError as exc:
            raise ProviderDown(f"{where}: {type(exc).__name__}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise ProviderDown(f"{where}: an answer that is not JSON") from None


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _metadata(issuer: str, document: Any) -> Metadata:
    """The discovery document, checked (OpenID Connect Discovery 1.0 sections 3 and 4.3)."""
    if not isinstance(document, dict):
        raise ProviderDown("its discovery document is not a JSON object")
    if document.get("issuer") != issuer:
        raise ProviderDown(
            f"its discovery document names the issuer {str(document.get('issuer'))[:200]!r}, "
            f"not {issuer!r}"
        )
    loopback = urlsplit(issuer).scheme == "http"

    def endpoint(name: str, required: bool = True) -> str | None:
        value = document.get(name)
        if value is None and not required:
            return None
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or not parts.hostname or parts.fragment:
            raise ProviderDown(f"its discovery document has no usable {name}")
        if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
            raise ProviderDown(f"its {name} is not https")
        return str(value)

    response_types = document.get("response_types_supported") or ["code"]
    if "code" not in response_types:
        raise ProviderDown("it does not offer the authorization code flow")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    token_auth = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in ALGORITHMS if a in offered)
    if not algorithms:
        raise ProviderDown(f"it signs ID tokens with none of {', '.join(ALGORITHMS)}")
    authorization, token, jwks = (
        endpoint(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
    )
    assert authorization and token and jwks
    return Metadata(
        issuer=issuer,
        authorization_endpoint=authorization,
        token_endpoint=token,
        jwks_uri=jwks,
        userinfo_endpoint=endpoint("userinfo_endpoint", required=False),
        token_auth=token_auth,
        algorithms=algorithms,
        iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
    )


# --- one provider per library ----------------------------------------------------------------

_providers: dict[str, tuple[str, Provider]] = {}
_providers_lock = threading.Lock()


def provider_for(library: policies.Library) -> Provider:
    """The library's provider for the life of the process; new settings start a new one (new
    caches, a closed breaker)."""
    settings = library.connector
    if not isinstance(settings, OidcSettings):
        raise ValueError(f"{library.id} does not sign its patrons in with OpenID Connect")
    key = settings.model_dump_json()
    with _providers_lock:
        held = _providers.get(library.id)
        if held is None or held[0] != key:
            held = _providers[library.id] = (key, Provider(library.id, settings))
        return held[1]


def forget() -> None:
    """Forget every provider's caches and breaker (tests)."""
    with _providers_lock:
        _providers.clear()
