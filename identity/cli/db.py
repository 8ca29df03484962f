"""``hub db upgrade``: apply the database migrations."""

import typer
from sqlalchemy.exc import SQLAlchemyError

from identity import migrate
from identity.cli import context
from identity.db import make_engine

app = typer.Typer(help="The hub's database.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply every migration the database has not had yet."""
    try:
        engine = make_engine(context.settings())
        before = migrate.current(engine)
        migrate.upgrade(engine)
        after = migrate.current(engine)
    except SQLAlchemyError as exc:
        context.fail(context.cannot_use(exc))
    if before == after:
        typer.echo(f"Already at revision {after}.")
    else:
        typer.echo(f"Upgraded from {before or '(empty)'} to {after}.")
