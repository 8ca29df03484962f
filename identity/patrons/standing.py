"""A federated library's standing source (docs/connectors.md, Standing for federated patrons).

A sign-in at a library's own identity provider (``saml``, ``oidc``) or directory (``ldap``)
proves membership today and nothing about fines, flags or expiry. A library may name where those
come from (``standing: {kind: sip2 | registry | ldap, ..., match: ATTRIBUTE}``): the value of the
patron's ``match`` attribute or claim is their card there, and the source is asked about it
without a PIN (``lookup``), through the same connectors, pools, deadlines and breakers as a
library of that kind. Its questions take turns of their own (``Gates``, under the name
``source_name``), beside the identity provider's, so a slow ILS does not hold up sign-ins that
need no standing.

``ask`` answers with what the source says (a ``CardHolder``), None when it has no such card (or
the sign-in released no ``match`` value), or ``HomeLibraryUnavailable`` (under the library's own
id) when it cannot be asked: the caller fails closed, never guessing a standing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Engine

import policies
from identity.patrons.connectors import CardHolder, HomeLibraryUnavailable
from identity.patrons.connectors.factory import connector_for
from identity.patrons.connectors.gates import Gates


def source_name(library: policies.Library) -> str:
    """The name the source's pool, breaker and turns go by: not any library's id (ids have no
    ``#``), so the source never shares them with the library's own connector."""
    return f"{library.id}#standing"


def source_of(library: policies.Library) -> policies.Library | None:
    """``library`` as its standing source is asked (its connector the source's settings), or
    None when it names none."""
    settings = library.standing
    if settings is None:
        return None
    # the registry holds the library's patrons under the library's own id
    name = library.id if settings.kind == "registry" else source_name(library)
    return library.model_copy(update={"id": name, "connector": settings, "standing": None})


def card_at_source(
    library: policies.Library, attributes: Mapping[str, Sequence[str]]
) -> str | None:
    """The patron's card at the standing source: the first value of the ``match`` attribute
    or claim the sign-in released, if any."""
    if library.standing is None:
        return None
    values = attributes.get(library.standing.match, ())
    card = next((v.strip() for v in values if v.strip()), None)
    return card if card is not None and len(card) <= 64 else None


async def ask(
    gates: Gates, engine: Engine, library: policies.Library, card: str
) -> CardHolder | None:
    """What ``library``'s standing source says about ``card``, asked in the source's turn;
    ``HomeLibraryUnavailable`` (naming ``library``) when it cannot be asked."""
    source = source_of(library)
    if source is None:
        raise ValueError(f"{library.id} names no standing source")
    turns = source.model_copy(update={"id": source_name(library)})
    try:
        holder = await gates.run(turns, lambda: connector_for(source, engine).lookup(card))
    except HomeLibraryUnavailable as exc:
        raise type(exc)(library.id, f"its standing source: {exc.reason}", exc.retry_after) from None
    if holder is None:
        return None
    return CardHolder(
        library=library.id,
        card=card,
        name=holder.name,
        category=holder.category,
        expires=holder.expires,
        fines=holder.fines,
        flags=holder.flags,
    )


def proves_standing(library: policies.Library) -> bool:
    """Whether a check of ``library``'s own connector says the patron's fines and flags: not
    for a directory (``ldap``: membership and expiry only) or an identity provider."""
    return library.connector.kind in ("registry", "sip2")


async def with_source(
    gates: Gates, engine: Engine, library: policies.Library, holder: CardHolder
) -> tuple[CardHolder, bool]:
    """A directory's ``holder`` (an ``ldap`` library) with what its standing source says of
    the card in the entry's ``match`` attribute, and whether the standing is now known: the
    source's fines, flags and expiry (the earlier of the two expiries) when it has the card.
    ``HomeLibraryUnavailable`` when the source cannot be asked."""
    if library.standing is None or holder.standing_card is None:
        return holder, False
    found = await ask(gates, engine, library, holder.standing_card)
    if found is None:
        return holder, False
    expiries = [day for day in (holder.expires, found.expires) if day is not None]
    return (
        CardHolder(
            library=holder.library,
            card=holder.card,
            name=holder.name,
            category=holder.category,
            expires=min(expiries) if expiries else None,
            fines=found.fines,
            flags=found.flags,
            standing_card=holder.standing_card,
        ),
        True,
    )
