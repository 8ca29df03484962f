"""The protocols by which a library signs its patrons in at its own identity provider, by
connector ``kind``: each makes the provider's URL for one sign-in (``Departure``) from the
library, the sign-in's handle (OpenID ``state``, SAML ``RelayState``) and the hub's issuer.
A library whose kind is here gets no card or PIN field: the sign-in page sends the patron to
its provider (``federated``)."""

from __future__ import annotations

from collections.abc import Callable

import policies
from identity.patrons.connectors.oidc import relying_party
from identity.patrons.federated_signin import Departure

Depart = Callable[[policies.Library, str, str], Departure]

DEPARTURES: dict[str, Depart] = {
    "oidc": relying_party.depart,
}


def signs_in_itself(library: policies.Library) -> bool:
    """Whether the library's patrons sign in at its own identity provider."""
    return library.connector.kind in DEPARTURES
