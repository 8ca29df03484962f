"""The hub's own SAML metadata (SAML metadata 2.4.4, ``SPSSODescriptor``), served at
``/saml/metadata``, which is also its entityID, for identity providers and federations to
register: the assertion consumer service (HTTP-POST, ``/saml/acs``), the signing and encryption
certificates in use and those announced to replace them, that assertions must be signed and
that its requests are, the attributes it asks for, either subject identifier
(``subject-id:req any``), and the display name, information and privacy pages the REFEDS
entity categories ask for. It is signed with the hub's signing key and valid for a week.
"""

from __future__ import annotations

from datetime import timedelta

from saml2.config import SPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.sigver import security_context

from identity.patrons.connectors.saml.toolkit import DIGEST_ALGORITHM, SIGNING_ALGORITHM, backend

VALID_FOR = timedelta(days=7)


def document(configuration: SPConfig) -> bytes:
    """The signed metadata of the service provider ``configuration`` describes (made with
    ``toolkit.config(..., for_metadata=True)``)."""
    configuration.valid_for = int(VALID_FOR.total_seconds() // 3600)  # hours
    descriptor = entity_descriptor(configuration)
    context = security_context(configuration)
    context.crypto = backend(configuration.xmlsec_binary)
    _, signed = sign_entity_descriptor(
        descriptor, None, context, sign_alg=SIGNING_ALGORITHM, digest_alg=DIGEST_ALGORITHM
    )
    return str(signed).encode()
