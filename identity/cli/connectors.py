"""``hub connectors test``: ask a library's connector about a card, as a sign-in would, or
fetch and verify a SAML library's identity provider metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

import policies
from identity.admin import connections
from identity.cli import context
from identity.patrons.cards import NotACard, read_card
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.factory import asked_at, connector_for

app = typer.Typer(help="Home-library connectors: how the hub checks each library's cards.")


@app.command("test")
def test(
    library: Annotated[str, typer.Option(help="The library (of the published agreements).")],
    card: Annotated[
        str | None, typer.Option(help="The card number to ask about (not for a saml library).")
    ] = None,
    pin: Annotated[
        bool,
        typer.Option(
            "--pin", help="Ask for the card's PIN or password (not echoed) and check it too."
        ),
    ] = False,
) -> None:
    """Ask LIBRARY's home system about CARD (a directory: the username) and print what it said
    (never the PIN or password). Exit 0 when the card was found (and the PIN verified), 1 when
    not, 2 when the library cannot be reached. For a saml library: fetch and verify its
    identity provider's metadata and print what it says (exit 0), or why it cannot be used
    (exit 2)."""
    agreements = context.published()
    found = agreements.libraries.get(library)
    if found is None:
        known = ", ".join(sorted(agreements.libraries))
        raise typer.BadParameter(f"no library {library!r} is published (known: {known})",
                                 param_hint="--library")  # fmt: skip
    if found.connector.kind == "saml":
        _identity_provider(found)
        return
    if card is None:
        raise typer.BadParameter("give the card to ask about", param_hint="--card")
    try:
        card = read_card(card, found)
    except NotACard as exc:
        raise typer.BadParameter(str(exc), param_hint="--card") from None
    settings = found.connector
    asked_for = "Password" if settings.kind == "ldap" else "PIN"  # a directory's: the password
    secret = typer.prompt(asked_for, hide_input=True) if pin else None
    where = asked_at(found)
    typer.echo(f"library:  {found.id} ({found.name}), {settings.kind} connector at {where}")
    typer.echo(f"card:     {card}")
    try:
        connector = connector_for(found, context.engine())
        holder = connector.lookup(card) if secret is None else connector.authenticate(card, secret)
    except HomeLibraryUnavailable as exc:
        typer.echo(f"unreachable: {exc} (retry after {exc.retry_after} s)", err=True)
        raise typer.Exit(2) from None
    if settings.kind == "ldap" and settings.search is not None:
        typer.echo(f"bound as: {settings.search.bind_dn} (the service account)")
    if holder is None:
        outcome = "no such card, or the PIN was not verified" if secret else "no such card"
        typer.echo(f"valid:    no ({outcome})")
        raise typer.Exit(1)
    hub_category = found.hub_category(holder.category)
    mapped = hub_category or f"not in {found.id}'s category map"
    typer.echo(f"valid:    yes ({'PIN verified' if secret else 'no PIN asked'})")
    typer.echo(f"name:     {holder.name}")
    typer.echo(f"category: {holder.category!r} -> {mapped}")
    typer.echo(f"expires:  {holder.expires.isoformat() if holder.expires else 'never'}")
    typer.echo(f"fines:    {holder.fines}")
    typer.echo(f"flags:    {', '.join(sorted(holder.flags)) or 'none'}")


def _identity_provider(library: policies.Library) -> None:
    typer.echo(f"library:  {library.id} ({library.name}), saml connector")
    try:
        idp = connections.describe_identity_provider(library=library, settings=context.settings())
    except HomeLibraryUnavailable as exc:
        typer.echo(f"unavailable: {exc.reason}", err=True)
        raise typer.Exit(2) from None
    today = datetime.now(UTC)
    aggregate = f", an aggregate of {idp.entities} entities" if idp.entities > 1 else ""
    until = f"{idp.valid_until:%Y-%m-%d %H:%M} UTC" if idp.valid_until else "no date given"
    typer.echo(f"metadata: {idp.metadata}{aggregate}")
    typer.echo(f"          signed by {idp.signed_by.subject} ({_expiry(idp.signed_by, today)}),")
    typer.echo(f"          valid until {until}")
    typer.echo(f"idp:      {idp.idp}")
    for endpoint in idp.sign_on:
        typer.echo(f"sign-on:  {endpoint.location} ({endpoint.binding.rsplit(':', 1)[-1]})")
    for certificate in idp.signing_certificates:
        typer.echo(f"signs:    {certificate.subject} ({_expiry(certificate, today)})")
    typer.echo(f"scopes:   {', '.join(idp.scopes) or 'none: scoped attributes will be refused'}")
    typer.echo(f"the hub:  service provider {idp.service_provider} (register its metadata there)")


def _expiry(certificate: connections.Certificate, today: datetime) -> str:
    days = (certificate.expires - today).days
    when = f"{certificate.expires:%Y-%m-%d}"
    return (
        f"certificate expired {when}" if days < 0 else f"certificate expires {when}, in {days} days"
    )
