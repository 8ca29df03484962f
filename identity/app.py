"""The one wiring point: ``create_app(settings)`` builds the web app, its database and routes.

Nothing here reads the environment or opens the database at import time; ``from_environment``
is the factory that ``hub serve`` hands to uvicorn.

A process started while its database cannot be reached (a worker restarted during a failover)
still starts: ``/healthz`` answers, every other request is answered 503 with Retry-After, and
the database is prepared by the first request that finds it back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from identity import logs, metrics, retention, web
from identity.admin import outbox
from identity.agreements import webhooks
from identity.agreements.publishing import InForce
from identity.eligibility.records import Recorder
from identity.oauth import signing_keys
from identity.oauth.server import HubServer
from identity.patrons import import_jobs
from identity.purge_schedule import PurgeSchedule
from identity.settings import Settings
from identity.store import database, migrate
from identity.store.database import make_engine, transaction
from identity.store.migrate import NotReady
from identity.web import (
    about,
    access_log,
    api_docs,
    authorize,
    brand,
    demo,
    discovery,
    eligibility,
    health,
    jwks,
    language,
    logout,
    me,
    monitoring,
    oidc_callback,
    openapi,
    problems,
    routes,
    saml,
    token,
    userinfo,
)
from identity.web.admin import install as install_admin
from identity.web.body_limit import BodyLimit
from identity.web.framing import NoFraming
from identity.web.language import Language
from identity.web.observe import Observe

__all__ = ["NotReady", "create_app", "from_environment", "prepare"]

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        try:
            preparation = Preparation(engine=engine, settings=settings)
            in_force = InForce(engine)
            try:
                preparation.run()
                with Session(engine) as session:
                    in_force.get(session=session)  # read before the first request needs it
            except Exception as exc:
                if not database.unavailable(exc):
                    raise
                log.warning("the database cannot be reached (%s): answering 503 until it can",
                            getattr(exc, "orig", None) or exc)  # fmt: skip
            app.state.preparation = preparation
            app.state.engine = engine
            app.state.in_force = in_force  # the set in force, for every part that decides
            app.state.oauth = HubServer(settings=settings, engine=engine, in_force=in_force)
            # the eligibility API's records, written several requests at a time
            app.state.records = Recorder(engine)
            # patron CSV imports started on the admin pages, each in a thread of its own
            app.state.imports = import_jobs.Runner(engine)
            purging = PurgeSchedule(engine=engine, settings=settings)
            chores = [asyncio.create_task(metrics.sample_pool(engine))]
            if settings.purge_interval_s:
                chores.append(asyncio.create_task(purging.run(settings.purge_interval_s)))
            if settings.smtp_host:
                sender = outbox.Sender(engine=engine, settings=settings)
                chores.append(asyncio.create_task(sender.run()))
            if settings.webhook_urls.strip():
                hooks = webhooks.Sender(engine=engine, settings=settings)
                chores.append(asyncio.create_task(hooks.run()))
            try:
                yield
            finally:
                for chore in chores:
                    chore.cancel()
                await asyncio.gather(*chores, return_exceptions=True)
                await run_in_threadpool(app.state.imports.close)  # stopped, saving nothing
                purging.close()
                app.state.oauth.close()
        finally:
            engine.dispose()
            metrics.process_ended()

    app = Hub(
        title="Reciprocal-borrowing patron identity hub",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # api_docs: from packaged files
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(AfterPreparation)
    app.mount("/static", StaticFiles(directory=Path(web.__file__).parent / "static"), "static")
    problems.install(app)
    # routes are matched in this order: the APIs that systems call hardest first
    for module in (
        token,
        eligibility,
        health,
        monitoring,
        discovery,
        jwks,
        authorize,
        oidc_callback,
        userinfo,
        logout,
        me,
        saml,
        about,
        language,
        brand,
    ):
        routes.add(app, module.router)
    install_admin(app)
    if settings.demo:
        routes.add(app, demo.router)
    openapi.install(app)
    api_docs.install(app)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(Language)  # outermost: every page, a 413's too, in the patron's language
    access_log.install()
    return app


class Hub(FastAPI):
    """The app, with ``NoFraming`` and ``Observe`` outside everything, so that even the
    answer of Starlette's last-resort error handler (a 500) cannot be framed, and is logged
    and counted."""

    def build_middleware_stack(self) -> ASGIApp:
        return NoFraming(Observe(super().build_middleware_stack()))


def prepare(*, engine: Engine, settings: Settings) -> None:
    """Bring an SQLite database up to date (a PostgreSQL one must have had ``hub db upgrade``),
    make sure a signing key exists, and forget what has expired."""
    secret = settings.secret()  # refused before any file is made, if it is a development value
    if engine.dialect.name == "sqlite":
        migrate.upgrade(engine)
    else:
        migrate.require_current(engine)
    with transaction(engine) as session:
        current = signing_keys.ensure(session=session, secret=secret, actor="hub:startup")
        for key in current:  # fails now, not at the first sign-in, if unreadable
            signing_keys.private_key(key, secret)
    with transaction(engine) as session:
        retention.purge(session=session, settings=settings)


class Preparation:
    """``prepare`` once per process: at startup, or if the database could not be reached then,
    at the first request that finds it back."""

    def __init__(self, *, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.done = False
        self._lock = threading.Lock()

    def run(self) -> bool:
        """Prepare the database unless that is done; False if another thread is trying just
        now (a database behind a black hole must not queue every request behind it)."""
        if not self._lock.acquire(blocking=False):
            return self.done
        try:
            if not self.done:
                prepare(engine=self.engine, settings=self.settings)
                self.done = True
            return True
        finally:
            self._lock.release()


class AfterPreparation:
    """Until the database has been prepared, a request is answered 503 unless it needs no
    database (``/healthz``, static files, the problem pages) or its own try succeeds."""

    WITHOUT_DATABASE = (
        "/healthz",
        "/readyz",
        "/metrics",
        "/static/",
        "/problems/",
        "/docs",
        "/brand/",
        "/language",
        "/privacy",
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        preparation: Preparation | None = (
            getattr(scope["app"].state, "preparation", None) if scope["type"] == "http" else None
        )
        if (
            preparation is not None
            and not preparation.done
            and not scope["path"].startswith(self.WITHOUT_DATABASE)
        ):
            error: Exception | None = None
            try:
                ready = await run_in_threadpool(preparation.run)
            except Exception as exc:
                if not database.unavailable(exc):
                    raise
                ready, error = False, exc
            if not ready:
                answer = problems.database_unavailable(Request(scope), error)
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def from_environment() -> FastAPI:
    """The app for the settings in the environment (uvicorn's factory, one per worker), which
    logs in ``HUB_LOG_FORMAT``."""
    settings = Settings()
    logs.configure(settings.log_format)
    return create_app(settings)
