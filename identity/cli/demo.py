"""``hub demo``: the example network with demo patrons and clients, served from SQLite."""

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from identity import demo as network
from identity.cli import context
from identity.settings import Settings
from identity.store.database import make_engine


def demo(
    database: Annotated[Path, typer.Option(help="SQLite file (created once, then reused).")] = Path(
        "hub-demo.db"
    ),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Set up the demo network and serve it; prints the URLs, demo cards and client credentials."""
    # imported here, as in ``hub serve``: not every hub command should pay for the web app
    import uvicorn

    from identity import logs
    from identity.app import create_app, prepare

    # a wildcard listen address is no address to send a browser to
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    issuer = f"http://{shown}:{port}"
    settings = Settings.for_demo(database_url=f"sqlite:///{database.resolve()}", issuer=issuer)
    engine = make_engine(settings)
    try:
        if database.exists() and network.foreign(engine):
            context.fail(
                f"{database} holds data that hub demo did not make: the demo (with its public "
                "credentials) runs only on a database of its own. Give another --database."
            )
        prepare(engine=engine, settings=settings)
        people, made = network.build(engine=engine, issuer=issuer)
        administrators = network.admins(engine=engine)
    except SQLAlchemyError as exc:
        context.fail(f"Cannot use {database}: {getattr(exc, 'orig', None) or exc}")
    finally:
        engine.dispose()
    typer.echo(f"Demo hub on {issuer} (database {database}; demo mode: NOT for real patrons)\n")
    typer.echo(f"  {issuer}/demo         START HERE: be a lender, sign in as a demo patron")
    typer.echo(f"  {issuer}/.well-known/openid-configuration   OpenID Provider metadata")
    typer.echo(f"  {issuer}/jwks.json    the keys that sign ID tokens and access tokens")
    typer.echo(f"  {issuer}/admin        administration: libraries, agreements, proposals, audit")
    typer.echo(f"  {issuer}/docs         the API")
    typer.echo(f"  {issuer}/healthz      is it up\n")
    typer.echo("Demo cards (PIN = the card's last four digits):")
    for person in people:
        row = person.row
        typer.echo(
            f"  {person.library:10} {row.card}  PIN {row.pin}  {row.name:14} {person.standing}"
        )
    typer.echo("\nClients (demo secrets, derived from the public development key):")
    for client in made:
        typer.echo(
            f"  {client.library:10} {client.kind:8} {client.client_id:26} {client.client_secret}"
        )
    typer.echo(f"\nAdministrators ({issuer}/admin; the API is /api/v1/admin, see /docs):")
    for admin in administrators:
        role = f"administrator of {admin.library}" if admin.library else "consortium administrator"
        typer.echo(f"  {admin.email:24} {admin.password}  {role}")
    typer.echo(
        f"\nRelying parties (rp) redirect to {issuer}/demo/callback; partners use client "
        "credentials. Ctrl-C stops."
    )
    # lines for the person watching, unless HUB_LOG_FORMAT says otherwise
    logs.configure(settings.log_format if "HUB_LOG_FORMAT" in os.environ else "console")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        proxy_headers=False,
        log_config=None,
        access_log=False,  # identity.web.observe writes the access log
    )
