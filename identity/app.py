"""The one wiring point: ``create_app(settings)`` builds the web app, its database and routes.

Nothing here reads the environment or opens the database at import time; ``from_environment``
is the factory that ``hub serve`` hands to uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from identity import housekeeping, keys, migrate, web
from identity.db import make_engine, transaction
from identity.migrate import NotReady
from identity.oauth.server import HubServer
from identity.publishing import InForce
from identity.settings import Settings
from identity.web import (
    authorize,
    demo,
    discovery,
    eligibility,
    health,
    jwks,
    logout,
    openapi,
    problems,
    token,
    userinfo,
)
from identity.web.admin import install as install_admin

__all__ = ["NotReady", "create_app", "from_environment", "prepare"]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        try:
            prepare(engine=engine, settings=settings)
            app.state.engine = engine
            app.state.oauth = HubServer(settings=settings, engine=engine, in_force=InForce())
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="Reciprocal-borrowing patron identity hub",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=Path(web.__file__).parent / "static"), "static")
    problems.install(app)
    for module in (health, discovery, jwks, authorize, token, userinfo, logout, eligibility):
        app.include_router(module.router)
    install_admin(app)
    if settings.demo:
        app.include_router(demo.router)
    openapi.install(app)
    return app


def prepare(*, engine: Engine, settings: Settings) -> None:
    """Bring an SQLite database up to date (a PostgreSQL one must have had ``hub db upgrade``),
    make sure a signing key exists, and forget what has expired."""
    secret = settings.secret()  # refused before any file is made, if it is a development value
    if engine.dialect.name == "sqlite":
        migrate.upgrade(engine)
    else:
        migrate.require_current(engine)
    with transaction(engine) as session:
        current = keys.ensure(session=session, secret=secret, actor="hub:startup")
        keys.private_key(current, secret)  # fails now, not at the first sign-in, if unreadable
    with transaction(engine) as session:
        housekeeping.purge(session=session, settings=settings)


def from_environment() -> FastAPI:
    """The app for the settings in the environment (uvicorn's factory, one per worker)."""
    return create_app(Settings())
