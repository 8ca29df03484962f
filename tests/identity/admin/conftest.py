"""Fixtures for the admin pages: a hub app with the example agreements published, accounts made
directly (``hub admin add`` itself is tested in ``test_cli_admin.py``), and signing in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.admin import accounts
from identity.app import create_app
from identity.settings import Settings
from identity.store.database import transaction
from tests.conftest import SECRET

AddAdmin = Callable[..., accounts.Added]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET, guesses_per_card="3/900")


@pytest.fixture
def published(published_examples: Engine) -> Engine:
    """The test's database with the example agreements published, and signing keys."""
    return published_examples


@pytest.fixture
def client(settings: Settings, published: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def add_admin(published: Engine) -> AddAdmin:
    def add(email: str, library: str | None = None, *, totp: bool = False) -> accounts.Added:
        with transaction(published) as session:
            return accounts.add_account(
                session=session,
                email=email,
                library=library,
                actor="cli:test",
                totp=totp,
                secret=SECRET,
            )

    return add


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(
    client: TestClient, email: str, password: str, code: str = "", next: str = ""
) -> httpx2.Response:
    """Fill in and post the sign-in form as a browser would (redirects not followed)."""
    form = client.get("/admin/login", params={"next": next} if next else None)
    return client.post(
        "/admin/login",
        data={
            "csrf": csrf_of(form.text),
            "email": email,
            "password": password,
            "code": code,
            "next": next,
        },
        follow_redirects=False,
    )
