"""The ``hub`` command (docs/operations.md). Each group of subcommands lives in its own module."""

import typer

from identity.cli import agreements, audit, clients, db, demo, keys, lookups, patrons, saml, serve
from identity.cli.admin import app as admin_app
from identity.cli.connectors import app as connectors_app

app = typer.Typer(
    name="hub",
    help="Reciprocal-borrowing patron identity hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(agreements.app, name="agreements")
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(patrons.app, name="patrons")
app.add_typer(clients.app, name="clients")
app.add_typer(keys.app, name="keys")
app.add_typer(saml.app, name="saml")
app.add_typer(connectors_app, name="connectors")
app.add_typer(admin_app, name="admin")
app.command()(serve.serve)
app.command()(demo.demo)
app.command()(lookups.lookups)


def main() -> None:
    app()
