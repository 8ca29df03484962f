"""Fixtures shared by the suites. Database tests (marked ``db``) run on a fresh SQLite file, or on
PostgreSQL when ``HUB_TEST_DATABASE_URL`` names one: its ``public`` schema is emptied before each
test. PostgreSQL that cannot be reached skips those tests, saying why, unless
``HUB_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which makes it a failure."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import OperationalError

from identity import migrate
from identity.db import database_url as database_url_for
from identity.db import make_engine
from identity.settings import Settings

#: the ``hub`` command installed beside the interpreter running the tests
HUB = shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"
Hub = Callable[..., subprocess.CompletedProcess[str]]


def run_hub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``hub`` as a user would, with ``env`` added to the environment."""
    return subprocess.run(
        [HUB, *args], capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if url == "":
        pytest.fail(
            "HUB_TEST_DATABASE_URL is set but empty: the PostgreSQL pass would run on SQLite"
        )
    if url is None:
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    try:
        url = _worker_database(url)
        engine = make_engine(Settings(database_url=url))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except OperationalError as exc:
        reason = f"PostgreSQL at {url} cannot be reached: {exc.orig}"
        if os.environ.get("HUB_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    engine.dispose()
    yield url


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets a database of its own (``test_gw0``, ...), made on
    first use beside the one named, since every test empties its database's schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(database_url_for(url))
    name = f"{parsed.database}_{worker}"
    admin = make_engine(Settings(database_url=url))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database."""
    engine = make_engine(Settings(database_url=database_url))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def hub(database_url: str) -> Hub:
    """``hub`` run against the test database."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_hub(*args, env={"HUB_DATABASE_URL": database_url})

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_health(server: subprocess.Popen[str], port: int, within_s: float) -> httpx.Response:
    """``GET /healthz`` once the server started as ``server`` answers on ``port``; fails if it
    exits first or does not answer ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.TransportError:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, f"no answer on port {port} within {within_s} s"
            time.sleep(0.2)
