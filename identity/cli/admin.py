"""``hub admin``: make an administrator's account and print its one-time password; list,
remove, and reset a password (printed once)."""

import json
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


Email = Annotated[str, typer.Argument(help="The administrator's email address.")]


@app.command("list")
def list_accounts(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Every administrator: email, library (or the consortium) and whether TOTP is required."""
    from sqlmodel import Session

    with Session(context.engine()) as session:
        found = [
            {
                "email": a.email,
                "library": a.library,
                "totp": a.totp_secret_encrypted is not None,
                "created_at": a.created_at.isoformat(),
            }
            for a in accounts.accounts(session=session)
        ]
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if not found:
        typer.echo("No administrators.")
    for account in found:
        library = account["library"] or "(consortium administrator)"
        totp = "  totp" if account["totp"] else ""
        typer.echo(f"{account['email']}  {library}{totp}")


@app.command()
def remove(
    email: Email,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the account and sign it out everywhere, at once."""
    if not yes:
        typer.confirm(f"Remove the administrator {email}?", abort=True)
    try:
        with transaction(context.engine(write=True)) as session:
            accounts.remove_account(session=session, email=email, actor=context.actor())
    except accounts.AccountRefused as exc:
        context.fail(f"{str(exc)[:1].upper()}{str(exc)[1:]}; nothing removed.")
    typer.echo(f"Removed {email.strip().lower()}; they are signed out.")


@app.command("reset-password")
def reset_password(email: Email) -> None:
    """Give the account a new one-time password, printed this once, and sign it out."""
    try:
        with transaction(context.engine(write=True)) as session:
            password = accounts.reset_password(session=session, email=email, actor=context.actor())
    except accounts.AccountRefused as exc:
        context.fail(f"{str(exc)[:1].upper()}{str(exc)[1:]}; nothing changed.")
    typer.echo(f"email:    {email.strip().lower()}")
    typer.echo(f"password: {password}")
    typer.echo(
        "Shown only now: the hub keeps only a hash of the password; they are signed out.",
        err=True,
    )
