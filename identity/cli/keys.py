"""``hub keys rotate``: start signing with a new key; the old one stays published a while."""

import typer

from identity.cli import context
from identity.oauth import signing_keys
from identity.store.database import transaction

app = typer.Typer(help="The keys that sign ID tokens and access tokens.", no_args_is_help=True)


@app.command()
def rotate() -> None:
    """Add a new signing key, which every running hub signs with within 5 s; the previous one
    stops signing but stays in the JWKS until the tokens it signed have expired
    (HUB_TOKEN_LIFETIME_S, and those 5 s)."""
    settings = context.settings()
    try:
        secret = settings.secret()
    except ValueError as exc:
        context.fail(str(exc))
    with transaction(context.engine(write=True)) as session:
        before = signing_keys.active(session=session)
        key = signing_keys.rotate(session=session, secret=secret, actor=context.actor())
        new, old = key.kid, before.kid if before else None
    typer.echo(f"Signing with {new}.")
    if old:
        lasts = settings.token_lifetime_s + signing_keys.RECHECK_S
        typer.echo(f"{old} stays published for {lasts} s, then is dropped.")
