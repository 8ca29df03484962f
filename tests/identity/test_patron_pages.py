"""The public pages (``/``, ``/privacy``), the language they are in (the ``lang`` cookie the
switcher sets, else ``Accept-Language``), and the network's branding, through the app in
process: what a patron reads, never an id."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

import policies
from identity.app import create_app
from identity.settings import Settings
from tests.conftest import SECRET

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"


@pytest.fixture
def client(demo_network: Engine, database_url: str) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        retain_lookups_days=30,
        retain_signin_attempts_days=14,
        network_name="Victorian Reciprocal Borrowing",
        network_help_email="help@borrow.example",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def text_of(page: str) -> str:
    """What a reader sees: the body's text, without tags."""
    body = page.split("<body>", 1)[1]
    body = re.sub(r"</?(?:a|strong|span|small|em)\b[^>]*>", "", body)  # inline: no space
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_home_names_the_libraries_and_schemes_and_no_ids(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    seen = text_of(page.text)
    assert "<title>About this service · Victorian Reciprocal Borrowing</title>" in page.text
    agreements = policies.load(EXAMPLES)
    for library in agreements.libraries.values():
        assert library.name in seen
    assert "CAVAL Reciprocal Borrowing 2026. Libraries taking part: Deakin University" in seen
    assert "CAVAL Reciprocal Borrowing 2025" not in seen  # no longer in force
    assert "Monash University Library lends to patrons of RMIT University Library." in seen
    assert "For this service itself: help@borrow.example" in seen
    ids = [*agreements.libraries, *agreements.agreements]
    assert [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", seen)] == []
    assert 'href="/privacy"' in page.text


def test_privacy_gives_the_periods_purging_keeps_things_for(client: TestClient) -> None:
    seen = text_of(client.get("/privacy").text)
    assert "Each sign-in attempt is kept for 14 days, to stop anyone guessing PINs" in seen
    assert "The record is kept for 30 days, then deleted." in seen
    # a sign-in's tokens: the refresh lifetime (8 hours) and a day's grace
    assert "deleted at most 2 days after you signed in" in seen
    assert "ask your home library" in seen


def test_the_language_follows_the_cookie_then_accept_language(client: TestClient) -> None:
    french = client.get("/privacy", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text and french.headers["content-language"] == "fr"
    assert "<h1>Confidentialité</h1>" in french.text
    assert "L’enregistrement est conservé 30 jours, puis effacé." in text_of(french.text)
    assert '<html lang="en">' in client.get("/privacy", headers={"Accept-Language": "de"}).text

    # the switcher: a plain link, which remembers the choice and comes back to the page
    link = re.search(r'<a href="([^"]+)" lang="es"', french.text)
    assert link is not None
    switched = client.get(html.unescape(link.group(1)), follow_redirects=False)
    assert (switched.status_code, switched.headers["location"]) == (303, "/privacy")
    assert (
        "lang=es; HttpOnly; Max-Age=31536000; Path=/; SameSite=lax"
        in switched.headers["set-cookie"]
    )
    spanish = client.get("/", headers={"Accept-Language": "fr"})  # the cookie wins
    assert '<html lang="es">' in spanish.text
    assert "<h2>Bibliotecas participantes</h2>" in spanish.text
    assert "Monash University Library presta a los usuarios de RMIT University Library." in (
        text_of(spanish.text)
    )


def test_the_switcher_sends_nobody_elsewhere(client: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "privacy"):
        answer = client.get("/language", params={"lang": "fr", "next": target},
                            follow_redirects=False)  # fmt: skip
        assert (answer.status_code, answer.headers["location"]) == (303, "/"), target
    # a language the hub does not have is not remembered
    answer = client.get("/language?lang=de&next=/privacy", follow_redirects=False)
    assert answer.headers["location"] == "/privacy" and "set-cookie" not in answer.headers
    client.cookies.set("lang", "de")
    assert '<html lang="en">' in client.get("/privacy").text


def test_the_colours_and_logo_come_from_the_settings(
    demo_network: Engine, database_url: str, tmp_path: Path
) -> None:
    logo = tmp_path / "network.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>')
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        network_colour="#7A1F5C",
        network_colour_dark="#F2A7D8",
        network_logo=str(logo),
    )
    with TestClient(create_app(settings)) as client:
        css = client.get("/brand/colours.css")
        image = client.get("/brand/logo")
        page = client.get("/privacy").text
    assert css.headers["content-type"].startswith("text/css")
    assert ":root { --accent: #7a1f5c; }" in css.text
    assert "@media (prefers-color-scheme: dark) {\n  :root { --accent: #f2a7d8; }" in css.text
    assert image.headers["content-type"] == "image/svg+xml" and image.content.startswith(b"<svg")
    assert "sandbox" in image.headers["content-security-policy"]
    assert '<img src="/brand/logo" alt="" class="logo">Library sign-in</a>' in page


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("network_colour", "#ffcc00", "contrast of 1.5:1 with white; it needs 4.5:1"),
        ("network_colour_dark", "#0b5394", "contrast of 2.2:1 with the dark page"),
        ("network_colour", "blue", "must be written like #0b5394"),
        ("network_colour", "#000; } body { x", "must be written like #0b5394"),
        ("network_logo", "https://cdn.example/logo.png", "not a URL"),
        ("network_logo", "/nowhere/logo.png", "names no file"),
        ("network_logo", "logo.gif", "SVG, PNG, WebP or JPEG"),
        ("network_help_email", "not an address", "must be an email address"),
        ("retain_lookups_days", 0, "between 1 and 3650 days"),
        ("retain_signin_attempts_days", 400, "between 1 and 365 days"),
    ],
)
def test_bad_branding_and_periods_are_refused_saying_why(
    setting: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings.model_validate({setting: value})


def test_only_pages_say_their_language(client: TestClient) -> None:
    assert client.get("/privacy").headers["content-language"] == "en"
    assert "content-language" not in client.get("/healthz").headers
