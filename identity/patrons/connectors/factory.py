"""Which connector checks a library's cards (the ``connector`` of its directory entry)."""

from __future__ import annotations

from sqlalchemy import Engine

import policies
from identity.patrons.connectors import Connector, HomeLibraryUnavailable
from identity.patrons.connectors.ldap import LdapConnector
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
        return LdapConnector(library)
    if kind == "saml":  # identity/patrons/connectors/saml: a sign-in at the library's IdP
        raise HomeLibraryUnavailable(
            library.id,
            "its patrons sign in at its identity provider: there is no card to ask about",
            300,
        )
    raise HomeLibraryUnavailable(library.id, f"the hub has no {kind} connector yet", 300)


def asked_at(library: policies.Library) -> str:
    """Where ``library``'s connector asks: a SIP2 server's host:port, a directory's URL, or
    the hub itself (registry)."""
    settings = library.connector
    if settings.kind == "sip2":
        return f"{settings.host}:{settings.port}"
    if settings.kind == "ldap":
        return settings.url
    return "the hub"
