"""Which connector checks a library's cards (the ``connector`` of its directory entry).

The ldap connector (and ldap3 with it) is imported when a library that has one is first asked
about: a hub without a directory library does not load it in each worker it starts."""

from __future__ import annotations

from sqlalchemy import Engine

import policies
from identity.patrons.connectors import Connector, HomeLibraryUnavailable
from identity.patrons.connectors.registry import RegistryConnector
from identity.patrons.connectors.sip2 import Sip2Connector


def connector_for(library: policies.Library, engine: Engine) -> Connector:
    """The connector for ``library``; a kind this hub cannot speak yet fails closed (503)."""
    kind = library.connector.kind
    if kind == "registry":
        return RegistryConnector(library.id, engine)
    if kind == "sip2":
        return Sip2Connector(library)
    if kind == "ldap":
        from identity.patrons.connectors.ldap import LdapConnector  # noqa: PLC0415

        return LdapConnector(library)
    if kind == "saml":  # identity/patrons/connectors/saml: a sign-in at the library's IdP
        raise HomeLibraryUnavailable(
            library.id,
            "its patrons sign in at its identity provider: there is no card to ask about",
            300,
        )
    raise HomeLibraryUnavailable(library.id, f"the hub has no {kind} connector yet", 300)


def asked_at(library: policies.Library) -> str:
    """Where ``library``'s connector asks: a SIP2 server's host:port, a directory's URL, an
    OpenID provider's issuer, or the hub itself (registry)."""
    settings = library.connector
    if settings.kind == "sip2":
        return f"{settings.host}:{settings.port}"
    if settings.kind == "ldap":
        return settings.url
    if settings.kind == "oidc":
        return settings.issuer
    return "the hub"
