"""An administrator's connection test: what a library's home system says about one card, asked
with the library's published settings or with settings not yet saved. No PIN is sent; the
answer is shown, never stored. For a library that signs its patrons in at its own identity
provider (``saml``) there is no card to ask about: the test fetches and verifies the IdP's
metadata and shows what it says. The admin page, the admin API and ``hub connectors test``
all ask here."""

from __future__ import annotations

from datetime import date, datetime

from cryptography import x509
from pydantic import BaseModel, Field
from sqlalchemy import Engine

import policies
from identity import errors
from identity.patrons import cards
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.factory import asked_at, connector_for
from identity.patrons.connectors.gates import Gates
from identity.settings import Settings


class Report(BaseModel):
    """What the home system answered. A card it does not know has ``found`` false and none of
    the holder's fields."""

    library: str
    connector: str
    where: str = Field(
        description="host:port of a SIP2 server, a directory's URL (ldap), or 'the hub' (registry)"
    )
    card: str = Field(description="the card as the hub read it")
    reachable: bool
    found: bool
    name: str | None = None
    ils_category: str | None = Field(default=None, description="the home system's code")
    category: str | None = Field(default=None, description="the hub category it maps to")
    expires: date | None = None
    fines: str | None = None
    flags: list[str] | None = None


async def ask_about_card(
    *, library: policies.Library, card: str | None, gates: Gates, engine: Engine
) -> Report:
    """What ``library``'s connector says about ``card``. Raises ``errors.InvalidRequest`` for
    text that is not a card of the library (it is not asked about), and
    ``errors.HomeLibraryUnavailable`` when the home system does not answer. The connector is
    asked in a connection test's turn (``Gates.test``), not in the patrons' pool."""
    if card is None:
        raise errors.InvalidRequest(
            "Give a card number of the library to ask its home system about."
        )
    try:
        card = cards.read_card(card, library)
    except cards.NotACard as exc:
        pattern = f" (its card_pattern is {library.card_pattern})" if library.card_pattern else ""
        raise errors.InvalidRequest(f"{exc}{pattern} The home system was not asked.") from None
    settings = library.connector
    where = asked_at(library)
    try:
        holder = await gates.test(library, lambda: connector_for(library, engine).lookup(card))
    except HomeLibraryUnavailable as exc:
        raise errors.HomeLibraryUnavailable(
            f"{library.id}'s home system did not answer: {exc}", retry_after=exc.retry_after
        ) from None
    asked = {"library": library.id, "connector": settings.kind, "where": where, "card": card}
    if holder is None:
        return Report(**asked, reachable=True, found=False)
    return Report(
        **asked,
        reachable=True,
        found=True,
        name=holder.name,
        ils_category=holder.category,
        category=library.hub_category(holder.category),
        expires=holder.expires,
        fines=str(holder.fines),
        flags=sorted(holder.flags),
    )


class Endpoint(BaseModel):
    binding: str = Field(description="the SAML binding, e.g. ...:bindings:HTTP-Redirect")
    location: str


class Certificate(BaseModel):
    subject: str
    expires: datetime


class IdentityProviderReport(BaseModel):
    """What a SAML library's identity provider metadata says, fetched and verified now."""

    library: str
    connector: str = "saml"
    reachable: bool = True
    idp: str = Field(description="the IdP's entityID")
    metadata: str = Field(description="the metadata_url or metadata_file it came from")
    entities: int = Field(description="how many entities the document holds (an aggregate's)")
    valid_until: datetime | None
    signed_by: Certificate = Field(description="metadata_cert, which its signature verified")
    sign_on: list[Endpoint] = Field(description="its single sign-on services")
    signing_certificates: list[Certificate]
    scopes: list[str]
    service_provider: str = Field(description="the hub's entityID, to register with the IdP")


def describe_identity_provider(
    *, library: policies.Library, settings: Settings
) -> IdentityProviderReport:
    """``library``'s IdP, from its metadata fetched and verified now; raises
    ``HomeLibraryUnavailable`` (the connectors' own) when that fails, saying why."""
    from identity.patrons.connectors.saml.provider import fetch_identity_provider  # pysaml2

    idp = fetch_identity_provider(library, settings)

    def certificate(cert: x509.Certificate) -> Certificate:
        return Certificate(subject=cert.subject.rfc4514_string(), expires=cert.not_valid_after_utc)

    return IdentityProviderReport(
        library=library.id,
        idp=idp.entity_id,
        metadata=idp.source,
        entities=idp.entities,
        valid_until=idp.valid_until,
        signed_by=certificate(idp.metadata_certificate),
        sign_on=[Endpoint(binding=b, location=where) for b, where in idp.sso],
        signing_certificates=[certificate(c) for c in idp.signing_certificates],
        scopes=[s.value + (" (a regular expression)" if s.regexp else "") for s in idp.scopes],
        service_provider=f"{settings.issuer}/saml/metadata",
    )


async def ask_identity_provider(
    *, library: policies.Library, settings: Settings, gates: Gates
) -> IdentityProviderReport:
    """``describe_identity_provider`` in a connection test's turn (``Gates.test``); raises
    ``errors.HomeLibraryUnavailable`` when the metadata cannot be had or is not trusted."""
    try:
        return await gates.test(
            library, lambda: describe_identity_provider(library=library, settings=settings)
        )
    except HomeLibraryUnavailable as exc:
        raise errors.HomeLibraryUnavailable(
            f"{library.id}'s identity provider: {exc.reason}", retry_after=exc.retry_after
        ) from None
