"""``hub clients``: register an OAuth client for a library, list and show them, rotate a
secret, disable, enable, revoke tokens, remove."""

import json
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from identity.cli import context
from identity.oauth import registration
from identity.store.database import transaction
from identity.store.models import OAuthClient

T = TypeVar("T")

app = typer.Typer(help="OAuth clients: lenders' web apps and partner library systems.")


@app.command()
def add(
    library: Annotated[str, typer.Option(help="The library the client acts for.")],
    kind: Annotated[
        str, typer.Option(help="rp (a lender's web app) or partner (a library system).")
    ],
    redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Exact redirect URI (rp; repeat for more).")
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option(help="Exact URI to return to after RP-initiated logout (rp; repeatable)."),
    ] = None,
    public: Annotated[
        bool, typer.Option(help="rp without a secret (a browser or mobile app; PKCE only).")
    ] = False,
    card_number: Annotated[
        bool, typer.Option(help="rp whose library may receive card numbers (scope card).")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {client_id, client_secret}.")
    ] = False,
) -> None:
    """Register a client and print its id and secret; the secret is shown this once only."""
    if library not in context.published(write=True).libraries:
        context.fail(f"No library {library!r} in the published agreements.")
    try:
        with transaction(context.engine(write=True)) as session:
            registered = registration.add_client(
                session=session,
                library=library,
                kind=kind,
                redirect_uris=redirect_uri or [],
                post_logout_redirect_uris=post_logout_redirect_uri or [],
                actor=context.actor(),
                public=public,
                card_number=card_number,
            )
    except registration.ClientRefused as exc:
        context.fail(f"{exc}; nothing registered.")
    if as_json:
        typer.echo(
            json.dumps(
                {"client_id": registered.client_id, "client_secret": registered.client_secret}
            )
        )
        return
    typer.echo(f"client_id:     {registered.client_id}")
    if registered.client_secret is None:
        typer.echo("client_secret: none (public client: PKCE is required)")
    else:
        typer.echo(f"client_secret: {registered.client_secret}")
        typer.echo("The secret is shown only now; the hub keeps only its hash.", err=True)


ClientId = Annotated[str, typer.Argument(help="The client's id.")]


@app.command("rotate-secret")
def rotate_secret(
    client_id: ClientId,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {client_id, client_secret}.")
    ] = False,
) -> None:
    """Give the client a new secret, shown this once; the old one, and every token the client
    holds, stop working at once."""
    secret = _change(registration.rotate_secret, client_id)
    if as_json:
        typer.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
        return
    typer.echo(f"client_id:     {client_id}")
    typer.echo(f"client_secret: {secret}")
    typer.echo(
        "The secret is shown only now; the old one and the client's tokens no longer work.",
        err=True,
    )


@app.command()
def disable(client_id: ClientId) -> None:
    """Refuse the client's requests and end every token it holds, at once."""
    _change(registration.disable, client_id)
    typer.echo(f"Disabled {client_id}: its requests are refused and its tokens ended.")


@app.command()
def enable(client_id: ClientId) -> None:
    """Take the client's requests again (the tokens it held stay ended)."""
    _change(registration.enable, client_id)
    typer.echo(f"Enabled {client_id}.")


def _change(change: Callable[..., T], client_id: str) -> T:
    try:
        with transaction(context.engine(write=True)) as session:
            return change(session=session, client_id=client_id, actor=context.actor())
    except registration.ClientRefused as exc:
        context.fail(f"{exc}; nothing changed.")


@app.command()
def revoke(client_id: ClientId) -> None:
    """End every token the client holds, at once (it may get new ones with its secret)."""
    _change(registration.revoke_tokens, client_id)
    typer.echo(f"Revoked every token of {client_id}.")


@app.command()
def remove(
    client_id: ClientId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the client: its requests are refused and its tokens end, at once."""
    if not yes:
        typer.confirm(f"Remove {client_id} for good?", abort=True)
    _change(registration.remove, client_id)
    typer.echo(f"Removed {client_id}: its requests are refused and its tokens ended.")


@app.command("list")
def list_clients(
    library: Annotated[str | None, typer.Option(help="Only this library's clients.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Every client: its id, library, kind and whether it is disabled."""
    from sqlmodel import Session

    with Session(context.engine()) as session:
        found = [_described(row) for row in registration.clients(session=session, library=library)]
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if not found:
        typer.echo("No clients.")
    for client in found:
        state = "disabled" if client["disabled_at"] else "enabled"
        typer.echo(f"{client['client_id']}  {client['library']}  {client['kind']}  {state}")


@app.command()
def show(
    client_id: ClientId,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Everything the hub keeps about a client but its secret's hash."""
    from sqlmodel import Session

    with Session(context.engine()) as session:
        row = session.get(OAuthClient, client_id)
        if row is None:
            context.fail(f"No client {client_id!r}.")
        described = _described(row)
    if as_json:
        typer.echo(json.dumps(described, indent=2))
        return
    for key, value in described.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        typer.echo(f"{key + ':':27}{'' if shown is None else shown}")


def _described(row: OAuthClient) -> dict[str, object]:
    return {
        "client_id": row.client_id,
        "library": row.library,
        "kind": row.kind,
        "public": row.secret_sha256 is None,
        "scopes": list(row.scopes),
        "redirect_uris": list(row.redirect_uris),
        "post_logout_redirect_uris": list(row.post_logout_redirect_uris),
        "created_at": row.created_at.isoformat(),
        "disabled_at": None if row.disabled_at is None else row.disabled_at.isoformat(),
        "secret_rotations_and_revocations": row.epoch,
    }
