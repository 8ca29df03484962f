"""``hub saml keys`` and ``hub saml rotate``: the keys of the hub's SAML service provider."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from cryptography import x509
from sqlmodel import Session

from identity.cli import context
from identity.patrons.connectors.saml import keys
from identity.store.database import transaction
from identity.store.models import utcnow

app = typer.Typer(
    help="The SAML service provider's signing and encryption keys.", no_args_is_help=True
)


@app.command("keys")
def list_keys() -> None:
    """List the keys, what each does now, and when its certificate expires."""
    settings = context.settings()
    if settings.saml_key_file:
        typer.echo(f"The keys come from files: HUB_SAML_KEY_FILE={settings.saml_key_file}"
                   + (f", next {settings.saml_next_key_file}" if settings.saml_next_key_file
                      else ""))  # fmt: skip
        return
    with Session(context.engine()) as session:
        rows = keys.rows(session)
    found = keys.roles(rows, utcnow())
    if found is None:
        typer.echo("No keys yet: the hub makes them when it first needs them.")
        return
    for row in rows:
        expires = x509.load_pem_x509_certificate(row.certificate.encode()).not_valid_after_utc
        typer.echo(f"{row.kid}  {row.use:<10}  {found.state(row)}; "
                   f"certificate expires {expires:%Y-%m-%d}")  # fmt: skip


@app.command()
def rotate(
    announce_days: Annotated[
        float,
        typer.Option(
            min=0,
            help="Days between publishing the new keys in the metadata and using them: "
            "longer than identity providers and federations take to fetch it again.",
        ),
    ] = 14,
) -> None:
    """Make a new signing and encryption pair: in the metadata at once, used after
    ANNOUNCE_DAYS; the pair it replaces still decrypts for as long again."""
    settings = context.settings()
    if settings.saml_key_file:
        context.fail("The keys come from files (HUB_SAML_KEY_FILE): rotate them there.")
    try:
        settings.secret()
    except ValueError as exc:
        context.fail(str(exc))
    with transaction(context.engine(write=True)) as session:
        keys.ensure(session=session, settings=settings, actor=context.actor())
        try:
            use_from = keys.rotate(session=session, settings=settings, actor=context.actor(),
                                   announce=timedelta(days=announce_days))  # fmt: skip
        except ValueError as exc:
            context.fail(f"Not rotated: {exc}.")
    typer.echo(f"New keys published in {settings.issuer}/saml/metadata; in use from "
               f"{use_from:%Y-%m-%d %H:%M} UTC.")  # fmt: skip
