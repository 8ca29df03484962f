"""Applying the Alembic migrations in ``identity/store/migrations`` (``hub db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the newest by default), in one transaction."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


class NotReady(RuntimeError):
    """The database is not at the revision this hub needs; ``hub db upgrade`` brings it there."""


def require_current(engine: Engine) -> None:
    """Raise ``NotReady`` unless the database is at the newest revision."""
    at, newest = current(engine), head()
    if at != newest:
        raise NotReady(
            f"the database is at revision {at or '(empty)'}, the hub needs {newest}: "
            "run `hub db upgrade` first"
        )


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    """The newest revision in ``identity/store/migrations``."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revisions() -> frozenset[str]:
    """Every revision in ``identity/store/migrations``."""
    return frozenset(
        r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    )
