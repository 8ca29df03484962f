"""Fixtures shared by the suites. A test that uses the database gets one of its own: a fresh SQLite
file, or a fresh PostgreSQL database beside the one ``HUB_TEST_DATABASE_URL`` names. A test that
asks for ``engine`` gets it migrated, copied from a template each worker migrates once (and
likewise for ``published_examples`` and ``demo_network``, with what they put in it).
PostgreSQL that cannot be reached skips those tests, saying why, unless
``HUB_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which makes it a failure."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from passlib.context import CryptContext
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import OperationalError

import policies
from identity import demo
from identity.agreements import publishing
from identity.oauth import signing_keys
from identity.security import passwords
from identity.settings import Settings
from identity.store import migrate
from identity.store.database import database_url as database_url_for
from identity.store.database import make_engine, transaction

#: the ``hub`` command installed beside the interpreter running the tests
HUB = shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"
#: the ``HUB_SECRET_KEY`` of the tests' hubs: the signing keys of the demo network's template
#: are sealed with it
SECRET = "a-test-secret-that-is-long-enough-for-the-hub-0123456789"
Hub = Callable[..., subprocess.CompletedProcess[str]]
#: the TLS context of the tests' own HTTP clients (``verify=TLS``), made once: httpx makes one
#: for each client otherwise, about 20 ms of CPU, though the hubs they ask serve plain HTTP
TLS = ssl.create_default_context()
#: argon2id at its smallest cost (64 KiB, one pass), which the tests hash and verify with unless
#: marked ``deployed_hash_cost`` (the hubs they start in a process of their own hash as deployed)
CHEAP_HASHES = CryptContext(
    schemes=["argon2", "bcrypt"], deprecated=["bcrypt"], argon2__type="ID",
    argon2__memory_cost=64, argon2__time_cost=1, argon2__parallelism=1,
)  # fmt: skip


def run_hub(
    *args: str, env: dict[str, str] | None = None, process: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``hub ARGS`` with ``env`` added to the environment: what it prints to standard output
    and standard error, and its exit status.

    The command runs in the test's process, as ``hub`` would run it (the same click command,
    arguments, environment and exit statuses), without paying for a new interpreter each time;
    an exception the command does not turn into a message fails the test. ``process=True``
    runs the installed ``hub`` in a process of its own, for what only a process shows: a crash,
    signals, what it imports."""
    if process:
        return subprocess.run(
            [HUB, *args], capture_output=True, text=True, check=False,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
    from typer.testing import CliRunner

    from identity.cli import app
    from identity.cli import context as cli_context

    cli_context.settings.cache_clear()  # each run reads the environment, as a new process would
    try:
        result = CliRunner().invoke(
            app, list(args), env=env, prog_name="hub", catch_exceptions=False
        )
    finally:
        cli_context.settings.cache_clear()
    return subprocess.CompletedProcess(
        ["hub", *args], result.exit_code, result.stdout, result.stderr
    )


@pytest.fixture(autouse=True)
def cheap_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """PINs and passwords hashed and verified at argon2id's smallest cost (``CHEAP_HASHES``),
    as Django's documentation advises for a test suite: at the deployed cost each hash takes
    tens of milliseconds, and few tests are about the hash. Those that are (what a stored hash
    holds) are marked ``deployed_hash_cost``; those that watch an import's progress while its
    PINs are hashed pace the hashes instead (``paced_hashes``)."""
    if request.node.get_closest_marker("deployed_hash_cost"):
        return
    monkeypatch.setattr(passwords, "CONTEXT", CHEAP_HASHES)
    passwords._dummy.cache_clear()  # an unknown card is verified against a hash of this cost
    request.addfinalizer(passwords._dummy.cache_clear)


class PacedHashes:
    """``CHEAP_HASHES`` with each new hash taking ``pause_s`` longer, asleep: an import of PINs
    takes about as long as at the deployed cost (about 40 ms a hash) without its CPU."""

    def __init__(self, pause_s: float) -> None:
        self.pause_s = pause_s

    def hash(self, secret: str) -> str:
        time.sleep(self.pause_s)
        return str(CHEAP_HASHES.hash(secret))

    def __getattr__(self, name: str) -> Any:
        return getattr(CHEAP_HASHES, name)


@pytest.fixture
def paced_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """PINs hashed as slowly as deployed (``PacedHashes``), for the tests that watch an
    import's progress while its PINs are hashed."""
    monkeypatch.setattr(passwords, "CONTEXT", PacedHashes(0.04))


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This worker's migrated database, made once: the template each test's database is copied
    from when the test asks for ``engine`` (an SQLite file, or a PostgreSQL template database)."""
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        template = tmp_path_factory.mktemp("template") / "hub.db"
        _migrate(f"sqlite:///{template}")
        yield str(template)
        return
    try:
        name = _recreate(url, "template")
        _migrate(name)
    except OperationalError as exc:
        # said, and failed or skipped, by each test that asks for a database
        yield f"unreachable: {exc.orig}"
        return
    yield name
    _drop(url, name)


@pytest.fixture(scope="session")
def live_socket() -> Iterator[socket.socket]:
    """This worker's listening socket for the live hubs it serves (``live_hub``), each given a
    duplicate: the port stays this worker's from the first test to the last, so the issuer
    the demo template was built for stays true."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(128)
        yield listening


def issuer_of(listening: socket.socket) -> str:
    return f"http://127.0.0.1:{listening.getsockname()[1]}"


@pytest.fixture(scope="session")
def _demo(_migrated: str, live_socket: socket.socket) -> Iterator[str]:
    """This worker's migrated database with the demo network in it (``hub demo``'s agreements,
    patrons and clients, for the issuer of ``live_socket``), made once: the template of each
    ``demo_network`` test's database."""

    def build(engine: Engine) -> None:
        with pytest.MonkeyPatch.context() as patch:  # its patrons' PINs hashed as in the tests
            patch.setattr(passwords, "CONTEXT", CHEAP_HASHES)
            demo.build(engine=engine, issuer=issuer_of(live_socket), today=date.today())

    yield from _template(_migrated, "demo", build)


#: the example network's agreements, and their files' names and texts as ``published_examples``
#: publishes them
EXAMPLES = Path(policies.__file__).parent / "examples"
SOURCES = [(Path(name).name, text) for name, text in policies.read(EXAMPLES)]


@pytest.fixture(scope="session")
def _published(_migrated: str) -> Iterator[str]:
    """This worker's migrated database with the example agreements published (by ``cli:alice``,
    "first"), made once: the template of each ``published_examples`` test's database (the admin
    tests')."""

    def build(engine: Engine) -> None:
        with transaction(engine) as session:
            publishing.publish(session=session, sources=SOURCES, actor="cli:alice", note="first")

    yield from _template(_migrated, "published", build)


def _template(migrated: str, purpose: str, build: Callable[[Engine], None]) -> Iterator[str]:
    """A copy of this worker's ``migrated`` template, named for ``purpose``, with what ``build``
    puts in it and then the signing keys a hub started on it makes first (sealed with
    ``SECRET``): each test's copy starts with them, rather than generating RSA and EC keys of
    its own. Dropped (on PostgreSQL) once the worker is done with it."""
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if migrated.startswith("unreachable: "):
        yield migrated
        return
    if not url:
        template = Path(migrated).with_name(f"{purpose}.db")
        shutil.copyfile(migrated, template)
        made = f"sqlite:///{template}"
    else:
        made = _recreate(url, purpose, template=migrated)
    engine = make_engine(Settings(database_url=made))
    try:
        build(engine)
        with transaction(engine) as session:
            signing_keys.ensure(session=session, secret=SECRET, actor="hub:startup")
    finally:
        engine.dispose()
    yield str(template) if not url else made
    if url:
        _drop(url, made)


def _migrate(url: str) -> None:
    engine = make_engine(Settings(database_url=url))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()  # on SQLite, the last connection closing folds the WAL into the file


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own; for a test that asks for ``engine`` a migrated one,
    for one that asks for ``published_examples`` one with the example agreements published, and
    for one that asks for ``demo_network`` one with the demo network in it, each copied from
    this worker's template rather than made again."""
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if url == "":
        pytest.fail(
            "HUB_TEST_DATABASE_URL is set but empty: the PostgreSQL pass would run on SQLite"
        )
    template = (
        request.getfixturevalue("_demo")
        if "demo_network" in request.fixturenames
        else request.getfixturevalue("_published")
        if "published_examples" in request.fixturenames
        else request.getfixturevalue("_migrated")
        if "engine" in request.fixturenames
        else None
    )
    if url is None:
        path = tmp_path / "hub.db"
        if template is not None:
            shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    try:
        if template is not None and template.startswith("unreachable: "):
            raise _Unreachable(template.removeprefix("unreachable: "))
        made = _recreate(url, "test", template=template)
    except (OperationalError, _Unreachable) as exc:
        reason = f"PostgreSQL at {url} cannot be reached: {getattr(exc, 'orig', exc)}"
        if os.environ.get("HUB_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield made


class _Unreachable(Exception):
    pass


def _recreate(url: str, purpose: str, template: str | None = None) -> str:
    """The URL of a new, empty (or ``template``'s copy) database beside the one ``url`` names:
    ``test_gw0_test`` for pytest-xdist's worker ``gw0`` on ``test`` (``test_main_test`` without
    xdist), dropped first if there, with any connection a previous test left open."""
    parsed = make_url(database_url_for(url))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{parsed.database}_{worker}_{purpose}"
    copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
    admin = make_engine(Settings(database_url=url))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _drop(url: str, name: str) -> None:
    admin = make_engine(Settings(database_url=url))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(
                text(f'DROP DATABASE IF EXISTS "{make_url(name).database}" WITH (FORCE)')
            )
    finally:
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database (a copy of this worker's template)."""
    engine = make_engine(Settings(database_url=database_url))
    yield engine
    engine.dispose()


@pytest.fixture
def published_examples(engine: Engine) -> Engine:
    """The test's database with the example agreements published (``SOURCES``, by
    ``cli:alice``) and the signing keys a hub makes at its first start: copied from this
    worker's template."""
    return engine


@pytest.fixture
def demo_network(engine: Engine) -> Engine:
    """The test's database with what ``hub demo`` puts in it (``demo.build``) for the issuer
    ``issuer_of(live_socket)``: copied from this worker's template."""
    return engine


@pytest.fixture
def hub(database_url: str) -> Hub:
    """``hub`` run against the test database."""

    def run(*args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
        return run_hub(*args, env={"HUB_DATABASE_URL": database_url}, process=process)

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_health(server: subprocess.Popen[str], port: int, within_s: float) -> httpx.Response:
    """``GET /healthz`` once the server started as ``server`` answers on ``port``; fails if it
    exits first or does not answer ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    with httpx.Client(timeout=1, verify=TLS) as http:
        while True:
            try:
                return http.get(f"http://127.0.0.1:{port}/healthz")
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, f"no answer on port {port} within {within_s} s"
                time.sleep(0.2)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test that drives the browser (through ``chromium``) is marked ``browser``."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
