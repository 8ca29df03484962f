"""``hub keys rotate``: start signing with a new key; the old one stays published a while."""

import typer

from identity.cli import context
from identity.oauth import signing_keys
from identity.store.database import transaction

app = typer.Typer(help="The keys that sign ID tokens and access tokens.", no_args_is_help=True)


@app.command()
def rotate() -> None:
    """Add new signing keys (RS256 for ID tokens, ES256 for access tokens), which every running
    hub signs with from its next token request; the previous ones stop signing but stay in the
    JWKS until the tokens they signed have expired (HUB_TOKEN_LIFETIME_S)."""
    settings = context.settings()
    try:
        secret = settings.secret()
    except ValueError as exc:
        context.fail(str(exc))
    with transaction(context.engine(write=True)) as session:
        before = [signing_keys.active(session=session, alg=alg) for alg in signing_keys.ALGS]
        keys = signing_keys.rotate_all(session=session, secret=secret, actor=context.actor())
        changes = [(k.alg, k.kid, b.kid if b else None) for k, b in zip(keys, before, strict=True)]
    for alg, new, old in changes:
        typer.echo(f"Signing {alg} with {new}.")
        if old:
            typer.echo(f"{old} stays published for {settings.token_lifetime_s} s, then is dropped.")
