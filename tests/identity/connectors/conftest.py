"""A running home ILS (pysip2) with the patron store of ``ils.py``, its login password in the
environment; a running directory (OpenLDAP's slapd, ``slapd.py``), one per test session;
``hub connectors test`` run in this process; and no pool or breaker carried from one test to the
next."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from identity.cli import app, context
from identity.patrons.connectors.ldap import connector as ldap_connector
from identity.patrons.connectors.sip2 import connector
from identity.settings import Settings
from identity.store.database import make_engine
from tests.identity.connectors.ils import PASSWORD, PASSWORD_ENV, PATRONS, Ils
from tests.identity.connectors.slapd import SERVICE_ENV, SERVICE_PASSWORD, Slapd


@pytest.fixture(autouse=True)
def fresh_links() -> Iterator[None]:
    yield
    connector.forget()
    ldap_connector.forget()


@pytest.fixture
def ils(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ils]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    running = Ils({p.card: p for p in PATRONS}).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def slapd_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    running = Slapd.make(tmp_path_factory.mktemp("slapd")).start()
    yield running
    running.remove()


@pytest.fixture
def slapd(slapd_session: Slapd, monkeypatch: pytest.MonkeyPatch) -> Slapd:
    """The session's directory, with the service account's password in the environment."""
    monkeypatch.setenv(SERVICE_ENV, SERVICE_PASSWORD)
    return slapd_session


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


Hub = Callable[..., Ran]


@pytest.fixture
def connectors_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """``hub connectors test`` run in this process on the database at ``url``, the PIN (or
    password) typed at its hidden prompt, with the ILS's and the directory's service passwords
    in its environment; the engines the command makes are disposed of afterwards."""
    engines: list[Engine] = []

    def make(settings: Settings) -> Engine:
        engines.append(make_engine(settings))
        return engines[-1]

    monkeypatch.setattr(context, "make_engine", make)

    def run(url: str, *args: str, pin: str | None = None) -> Ran:
        context.settings.cache_clear()
        env = {"HUB_DATABASE_URL": url, PASSWORD_ENV: PASSWORD, SERVICE_ENV: SERVICE_PASSWORD}
        try:
            result = CliRunner().invoke(
                app,
                ["connectors", "test", *args, *(["--pin"] if pin is not None else [])],
                input=f"{pin}\n" if pin is not None else None,
                env=env,
            )
        finally:
            context.settings.cache_clear()
        return Ran(result.exit_code, result.stdout, result.stderr)

    yield run
    for engine in engines:
        engine.dispose()
