"""What the commands share: the settings and a database engine, built on first use."""

from __future__ import annotations

import getpass
import socket
from functools import cache

import typer
from sqlalchemy import Engine

from identity import migrate
from identity.db import make_engine
from identity.settings import Settings


@cache
def settings() -> Settings:
    return Settings()


@cache
def engine() -> Engine:
    """The configured database, ready to use: an SQLite file is brought up to date on the spot
    (as ``hub serve`` does); any other database must have had ``hub db upgrade``."""
    db = make_engine(settings())
    if db.dialect.name == "sqlite":
        migrate.upgrade(db)
        return db
    at, newest = migrate.current(db), migrate.head()
    if at != newest:
        typer.echo(
            f"The database is at revision {at or '(empty)'}, the hub needs {newest}: "
            "run `hub db upgrade` first.",
            err=True,
        )
        raise typer.Exit(1)
    return db


def actor() -> str:
    """Who is acting, for the audit log, when it is someone at a shell."""
    return f"cli:{getpass.getuser()}@{socket.gethostname()}"
