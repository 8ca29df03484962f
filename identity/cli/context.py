"""What the commands share: the settings and a database engine, built on first use. The database
layer is imported when a command first asks for it: ``hub agreements check`` reads files only."""

from __future__ import annotations

import getpass
import socket
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import ValidationError
from typer._click.globals import get_current_context

import policies
from identity.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.exc import SQLAlchemyError


@cache
def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        fail(
            "; ".join(
                f"HUB_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
            )
        )


def make_engine(settings: Settings) -> Engine:
    """``identity.store.database.make_engine``, imported on first use; its connections are
    closed when the command ends, however it ends."""
    from identity.store import database

    made = database.make_engine(settings)
    command = get_current_context(silent=True)
    if command is not None:
        command.find_root().call_on_close(made.dispose)
    return made


def engine(*, write: bool = False) -> Engine:
    """The configured database, ready to use, or a clear message and exit 1.

    An SQLite file is created or brought up to date by commands that write (as ``hub serve``
    does); commands that only read never create one. Any other database must have had
    ``hub db upgrade``."""
    from sqlalchemy.exc import SQLAlchemyError

    from identity.store import migrate

    try:
        db = make_engine(settings())
        if db.dialect.name == "sqlite":
            path = db.url.database
            if not write and path not in (None, "", ":memory:") and not Path(path).exists():
                fail(
                    f"There is no database at {path}: publish agreements with `hub agreements "
                    "load PATH...` first, or check HUB_DATABASE_URL."
                )
            if write:
                migrate.upgrade(db)
                return db
        migrate.require_current(db)
    except SQLAlchemyError as exc:
        fail(cannot_use(exc))
    except migrate.NotReady as exc:
        message = str(exc)
        fail(f"{message[:1].upper()}{message[1:]}.")
    return db


def fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def cannot_use(exc: SQLAlchemyError) -> str:
    url = settings().database_url
    return f"Cannot use the database {_safe(url)}: {getattr(exc, 'orig', None) or exc}"


def _safe(url: str) -> str:
    """The URL without its password, fit for a message."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return repr(url)


def actor() -> str:
    """Who is acting, for the audit log, when it is someone at a shell."""
    return f"cli:{getpass.getuser()}@{socket.gethostname()}"


def report(exc: policies.InvalidAgreements, outcome: str) -> typer.Exit:
    """Print each problem on its own line, then what became of the work; exit 1."""
    for problem in exc.problems:
        typer.echo(str(problem))
    count = exc.count
    typer.echo(f"{count:,} problem{'s' if count != 1 else ''}; {outcome}.", err=True)
    return typer.Exit(1)


def published(*, write: bool = False) -> policies.Agreements:
    """The agreement set in force in the database, or a clear message and exit 1. ``write``:
    the command goes on to write (so an SQLite file may be brought up to date first)."""
    from sqlmodel import Session

    from identity.agreements import publishing

    with Session(engine(write=write)) as session:
        try:
            found = publishing.in_force(session=session)
        except policies.InvalidAgreements as exc:
            version = publishing.latest(session=session)
            number = version.id if version else "?"
            raise report(
                exc, f"the published version {number} no longer passes the checks"
            ) from None
    if found is None:
        fail("Nothing is published yet: run `hub agreements load PATH...`.")
    return found[1]
