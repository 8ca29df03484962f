"""``hub admin add``: make an administrator's account and print its one-time password."""

from typing import Annotated

import typer

from identity.admin import accounts
from identity.cli import context
from identity.store.database import transaction

app = typer.Typer(help="Administrators of the hub: consortium-wide or of one library.")


@app.command()
def add(
    email: Annotated[str, typer.Option(help="The administrator's email address (their login).")],
    library: Annotated[
        str | None,
        typer.Option(help="The library they administer; leave out for the whole consortium."),
    ] = None,
    totp: Annotated[
        bool, typer.Option(help="Also require a code from an authenticator app (TOTP).")
    ] = False,
) -> None:
    """Make an account and print its password (and TOTP secret), this once only."""
    if library is not None and library not in context.published(write=True).libraries:
        context.fail(f"No library {library!r} in the published agreements.")
    secret = None
    if totp:
        try:
            secret = context.settings().secret()
        except ValueError as exc:
            context.fail(f"{exc}; nothing added.")
    try:
        with transaction(context.engine(write=True)) as session:
            added = accounts.add_account(
                session=session,
                email=email,
                library=library,
                actor=context.actor(),
                totp=totp,
                secret=secret,
            )
    except accounts.AccountRefused as exc:
        context.fail(f"{str(exc)[:1].upper()}{str(exc)[1:]}; nothing added.")
    typer.echo(f"email:    {added.account.email}")
    typer.echo(f"library:  {added.account.library or '(consortium administrator)'}")
    typer.echo(f"password: {added.password}")
    if added.totp_secret is not None:
        typer.echo(f"totp:     {added.totp_secret}")
        typer.echo(f"totp uri: {added.totp_uri}")
    typer.echo(
        "Shown only now: the hub keeps only a hash of the password. Sign in at /admin/login.",
        err=True,
    )
