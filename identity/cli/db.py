"""``hub db upgrade``: apply the database migrations; ``hub db purge``: forget what expired."""

import typer
from sqlalchemy.exc import SQLAlchemyError

from identity import retention
from identity.cli import context
from identity.store import migrate
from identity.store.database import transaction

app = typer.Typer(help="The hub's database.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply every migration the database has not had yet."""
    try:
        engine = context.make_engine(context.settings())
        before = migrate.current(engine)
        migrate.upgrade(engine)
        after = migrate.current(engine)
    except SQLAlchemyError as exc:
        context.fail(context.cannot_use(exc))
    if before == after:
        typer.echo(f"Already at revision {after}.")
    else:
        typer.echo(f"Upgraded from {before or '(empty)'} to {after}.")


@app.command()
def purge() -> None:
    """Delete expired codes and tokens, answered consent tickets and old sign-in attempts
    (the server also does this when it starts; run it daily from cron on a long-lived hub)."""
    settings = context.settings()
    try:
        engine = context.make_engine(settings)
        migrate.require_current(engine)
        with transaction(engine) as session:
            counts = retention.purge(session=session, settings=settings)
    except migrate.NotReady as exc:
        context.fail(str(exc))
    except SQLAlchemyError as exc:
        context.fail(context.cannot_use(exc))
    typer.echo("Deleted: " + ", ".join(f"{n} {what}" for what, n in counts.items()) + ".")
