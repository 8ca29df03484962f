"""The protocols by which a library signs its patrons in at its own identity provider, by
connector ``kind``: each makes the provider's URL for one sign-in (``Departure``) from the
request that starts it, the library and the sign-in's handle (OpenID ``state``, SAML
``RelayState``). A library whose kind is here gets no card or PIN field: the sign-in page
sends the patron to its provider (``federated``).

- ``oidc``: an authorization request with PKCE and a nonce (``relying_party.depart``);
- ``saml``: a signed ``AuthnRequest`` in the HTTP-Redirect binding, RelayState the handle; the
  request's ID is what the answer's ``InResponseTo`` must name (``ServiceProvider.begin``).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

import policies
from identity.patrons.connectors.oidc import relying_party
from identity.patrons.federated_signin import Departure
from identity.web.deps import get_service_provider

Depart = Callable[[Request, policies.Library, str], Departure]


def _oidc(request: Request, library: policies.Library, handle: str) -> Departure:
    return relying_party.depart(library, handle, request.app.state.settings.issuer)


def _saml(request: Request, library: policies.Library, handle: str) -> Departure:
    url, request_id = get_service_provider(request).begin(library, handle)
    return Departure(url=url, expects=request_id)


DEPARTURES: dict[str, Depart] = {"oidc": _oidc, "saml": _saml}


def signs_in_itself(library: policies.Library) -> bool:
    """Whether the library's patrons sign in at its own identity provider."""
    return library.connector.kind in DEPARTURES
