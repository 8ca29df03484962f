"""The hub as a relying party of a library's OpenID provider (OpenID Connect Core 1.0 section
3.1, the authorization code flow), with Authlib's OAuth client.

- ``depart``: the provider's authorization URL for one sign-in: ``response_type=code``, the
  library's ``scopes``, ``redirect_uri`` exactly ``{HUB_ISSUER}/oidc/callback``, ``state`` (the
  sign-in's handle), a fresh ``nonce``, and PKCE (RFC 7636) with ``S256``.
- ``finish``: the answer at the callback: ``iss`` (RFC 9207) when the provider sends one, or
  says it does; the code exchanged at the token endpoint with the code verifier, the hub
  authenticated with the secret from the environment variable ``client_secret_env`` (never
  stored, never logged); the ID token checked (``id_token.verify``); when a claim the library
  names is not in it, the userinfo endpoint asked too (section 5.3, its ``sub`` the same); and
  the claims read as a ``FederatedPatron``.
- ``describe``: discovery and the key set, for ``hub connectors test`` and the admin pages.

A provider that cannot be reached is ``HomeLibraryUnavailable`` (``provider``); an answer that
is no sign-in (an error the provider sent back, a code it refuses, a token that does not hold)
is ``SignInRefused``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from joserfc.jwk import KeySet

import policies
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.federated import FederatedPatron
from identity.patrons.connectors.oidc import id_token
from identity.patrons.connectors.oidc.provider import (
    MISCONFIGURED_RETRY_S,
    Exchange,
    Provider,
    ProviderDown,
    provider_for,
)
from identity.patrons.federated_signin import (
    Departure,
    PendingSignIn,
    SignInRefused,
    category_of,
)
from policies.model import OidcConnector as OidcSettings

CALLBACK = "/oidc/callback"
#: errors the provider sends back when the patron cancelled or may not sign in there
DECLINED = ("access_denied", "login_required", "consent_required", "interaction_required")


def redirect_uri(hub_issuer: str) -> str:
    return hub_issuer + CALLBACK


def depart(library: policies.Library, handle: str, hub_issuer: str) -> Departure:
    """Where to send the patron to sign in at the library's provider (discovery, if not
    cached, is asked in the breaker's turn)."""
    settings = _settings(library)
    provider = provider_for(library)
    with provider.asking() as exchange:
        metadata = exchange.metadata()
    verifier, nonce = generate_token(64), generate_token(32)
    with exchange.client(
        scope=" ".join(settings.scopes),
        redirect_uri=redirect_uri(hub_issuer),
        code_challenge_method="S256",
    ) as client:
        url, _ = client.create_authorization_url(
            metadata.authorization_endpoint, state=handle, code_verifier=verifier, nonce=nonce
        )
    return Departure(url=str(url), expects=nonce, verifier=verifier)


def finish(
    library: policies.Library,
    pending: PendingSignIn,
    *,
    answer: Mapping[str, str],
    hub_issuer: str,
) -> FederatedPatron:
    """Who signed in, from the provider's answer (the callback's query parameters)."""
    settings = _settings(library)
    error = answer.get("error")
    if error:
        raise SignInRefused(library.id, f"the provider answered {error[:100]!r}",
                            declined=error in DECLINED)  # fmt: skip
    code = answer.get("code")
    if not code:
        raise SignInRefused(library.id, "an answer without a code")
    secret = _secret(library.id, settings)
    with provider_for(library).asking() as exchange:
        metadata = exchange.metadata()
        iss = answer.get("iss")
        if (iss is not None or metadata.iss_parameter) and iss != settings.issuer:
            raise SignInRefused(library.id, f"an answer from {str(iss)[:200]!r} (RFC 9207)")
        token = _exchange_code(exchange, settings, metadata.token_endpoint, metadata.token_auth,
                               secret, code, pending, hub_issuer)  # fmt: skip

        def keys(kid: str | None) -> KeySet:
            found = exchange.keys()
            if kid is not None and kid not in {k.kid for k in found.keys}:
                found = exchange.keys(again=True)  # the provider rotated its keys
            return found

        try:
            claims = id_token.verify(
                token["id_token"],
                keys=keys,
                issuer=settings.issuer,
                client_id=settings.client_id,
                nonce=pending.expects,
                algorithms=metadata.algorithms,
                now=int(time.time()),
            )
        except id_token.BadIdToken as exc:
            raise SignInRefused(library.id, f"the ID token: {exc}") from None
        wanted = (settings.patron_id, settings.name, settings.category)
        if metadata.userinfo_endpoint and any(name not in claims for name in wanted):
            more = exchange.get_json(metadata.userinfo_endpoint, token=token)
            if not isinstance(more, dict) or more.get("sub") != claims["sub"]:
                raise ProviderDown("its userinfo is not about the patron of the ID token")
            claims = {**more, **claims}
    return patron_of(library, settings, claims)


def _exchange_code(
    exchange: Exchange,
    settings: OidcSettings,
    endpoint: str,
    auth: str,
    secret: str | None,
    code: str,
    pending: PendingSignIn,
    hub_issuer: str,
) -> dict[str, Any]:
    """The token endpoint's answer for ``code`` (RFC 6749 4.1.3, RFC 7636 4.5)."""
    exchange.asked = True
    method = auth if secret is not None else "none"
    try:
        with exchange.client(
            client_secret=secret,
            token_endpoint_auth_method=method,
            redirect_uri=redirect_uri(hub_issuer),
        ) as client:
            token = dict(client.fetch_token(endpoint, code=code, code_verifier=pending.verifier))
    except OAuthError as exc:
        if exc.error in ("invalid_client", "unauthorized_client"):
            raise ProviderDown(
                f"its token endpoint refuses the hub's client ({exc.error}): check client_id "
                f"and {settings.client_secret_env or 'the registration'}",
                retry_after=MISCONFIGURED_RETRY_S,
            ) from None
        raise SignInRefused(
            pending.library, f"the token endpoint refused the code ({exc.error})"
        ) from None
    except Exception as exc:  # transport errors, 5xx, an answer that is not a JSON object
        raise ProviderDown(f"its token endpoint: {type(exc).__name__}") from None
    if not isinstance(token.get("id_token"), str):
        raise ProviderDown("its token endpoint gave no ID token")
    return token


def patron_of(
    library: policies.Library, settings: OidcSettings, claims: Mapping[str, Any]
) -> FederatedPatron:
    """The claims as a ``FederatedPatron`` (the category: ``category_of``)."""
    patron_id = _values(claims.get(settings.patron_id))
    if not patron_id or not patron_id[0]:
        raise SignInRefused(library.id, f"no {settings.patron_id!r} claim for the patron")
    attributes = {
        name: values for name, value in claims.items() if (values := _values(value)) and
        name not in ("nonce", "at_hash", "c_hash", "aud", "azp", "iat", "exp", "auth_time")
    }  # fmt: skip
    return FederatedPatron(
        library=library.id,
        patron_id=patron_id[0],
        name=" ".join(_values(claims.get(settings.name))[:1]),
        category=category_of(library, _values(claims.get(settings.category))),
        attributes=attributes,
    )


def _values(value: object) -> tuple[str, ...]:
    """A claim's value as strings: a string, a number, or a list of them."""
    items = value if isinstance(value, list) else [value]
    return tuple(
        str(item)
        for item in items
        if isinstance(item, str | int | float) and not isinstance(item, bool)
    )


@dataclass(frozen=True, slots=True)
class Description:
    """What ``hub connectors test`` shows of a provider."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str
    key_ids: tuple[str, ...]
    algorithms: tuple[str, ...]
    redirect_uri: str
    secret_set: bool


def describe(library: policies.Library, hub_issuer: str) -> Description:
    """Discovery and the key set, fetched now, with ``library``'s settings (perhaps not yet
    saved): a provider of its own, so the patrons' caches and breaker are left alone."""
    settings = _settings(library)
    with Provider(library.id, settings).asking() as exchange:
        metadata = exchange.metadata()
        keys = exchange.keys()
    name = settings.client_secret_env
    return Description(
        issuer=metadata.issuer,
        authorization_endpoint=metadata.authorization_endpoint,
        token_endpoint=metadata.token_endpoint,
        userinfo_endpoint=metadata.userinfo_endpoint,
        jwks_uri=metadata.jwks_uri,
        key_ids=tuple(k.kid or "(no kid)" for k in keys.keys),
        algorithms=metadata.algorithms,
        redirect_uri=redirect_uri(hub_issuer),
        secret_set=name is None or bool(os.environ.get(name)),
    )


def _settings(library: policies.Library) -> OidcSettings:
    settings = library.connector
    if not isinstance(settings, OidcSettings):
        raise ValueError(f"{library.id} does not sign its patrons in with OpenID Connect")
    return settings


def _secret(library: str, settings: OidcSettings) -> str | None:
    name = settings.client_secret_env
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise HomeLibraryUnavailable(
            library,
            f"the environment variable {name}, holding the OpenID client secret, is not set",
            retry_after=MISCONFIGURED_RETRY_S,
        )
    return value
