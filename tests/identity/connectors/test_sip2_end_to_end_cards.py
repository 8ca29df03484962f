"""Strangers' cards and decomposed text at a live hub in front of an Evergreen-like ILS (pysip2
speaking UTF-8, echoing an unknown card re-encoded, sending names and category codes NFD):
anonymous sign-ins with non-ASCII cards never take the library offline; an NFD ``Étudiant``
maps through the file's NFC ``categories``; card text is read by one rule on every way in."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

import policies
from identity.agreements import publishing
from identity.cli import app, context
from identity.settings import Settings
from identity.store.database import make_engine, transaction
from identity.store.models import EligibilityLookup
from tests.identity.connectors.ils import (
    GOOD,
    PASSWORD,
    PASSWORD_ENV,
    Ils,
    Patron,
    evergreen_echo,
)
from tests.identity.oauth.conftest import LiveHub

#: a French-speaking student, as Evergreen sends her: name and category code decomposed
ELODIE = Patron(
    "28880000000077",
    "7777",
    unicodedata.normalize("NFD", "\u00c9lodie \u00c9vrard"),
    category=unicodedata.normalize("NFD", "\u00c9tudiant"),
)


def sipu_set(tmp_path: Path, port: int) -> list[tuple[str, str]]:
    """The example network plus ``sipu``, whose Evergreen speaks UTF-8 and whose cards are 14
    digits or letters then digits; Monash lends to its students."""
    extra = tmp_path / "sipu.yaml"
    extra.write_text(
        "libraries:\n"
        "  - id: sipu\n"
        "    name: SIP University Library\n"
        '    card_prefixes: ["2888"]\n'
        '    card_pattern: "[0-9]{14}|\\\\p{L}+[0-9]+"\n'
        '    categories: {"\u00c9tudiant": undergraduate, UG: undergraduate}\n'
        f"    connector: {{kind: sip2, host: 127.0.0.1, port: {port}, institution: sipu,\n"
        f"                user: hub-terminal, password_env: {PASSWORD_ENV}, timeout_s: 0.5,\n"
        "                encoding: utf-8}\n"
        "agreements:\n"
        "  - id: monash-sipu\n"
        "    kind: bilateral\n"
        "    lender: monash\n"
        "    borrowers_from: [sipu]\n"
        "    categories: [undergraduate]\n"
        "    terms: {max_items: 4, loan_days: 21}\n",
        encoding="utf-8",
    )
    examples = Path(policies.__file__).parent / "examples"
    return [*policies.read(examples), (str(extra), extra.read_text(encoding="utf-8"))]


@pytest.fixture
def evergreen(live_hub: LiveHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Ils]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    ils = Ils({p.card: p for p in (GOOD, ELODIE)}, encoding="utf-8", echo=evergreen_echo)
    ils.start()
    with transaction(live_hub.engine) as session:
        publishing.publish(
            session=session, sources=sipu_set(tmp_path, ils.port), actor="test", note="sipu"
        )
    yield ils
    ils.stop()


def sign_in_page(live_hub: LiveHub, card: str, pin: str) -> httpx.Response:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    page = browser.get(rp.authorization_url())
    return browser.submit(page, {"library": "sipu", "card": card, "pin": pin})


def test_strangers_with_non_ascii_cards_cannot_take_the_library_offline(
    live_hub: LiveHub, evergreen: Ils
) -> None:
    for attempt in range(6):  # twice the breaker's three failures
        answer = sign_in_page(live_hub, f"dj\u00e9{attempt}", "1234")
        assert answer.status_code == 400, answer.text
        assert "do not match" in answer.text
    assert len(evergreen.asked) == 6  # each one asked, and each one answered "no such card"
    rp = live_hub.add_rp("monash")
    claims = rp.verify(rp.sign_in(live_hub.browser(), GOOD.card, GOOD.pin)["id_token"])
    assert claims["name"] == GOOD.name


def test_a_decomposed_category_maps_through_the_files_composed_one(
    live_hub: LiveHub, evergreen: Ils
) -> None:
    rp = live_hub.add_rp("monash")
    claims = rp.verify(rp.sign_in(live_hub.browser(), ELODIE.card, ELODIE.pin)["id_token"])
    assert claims["name"] == "\u00c9lodie \u00c9vrard"  # composed: NFC
    assert claims["patron_category"] == "undergraduate"
    assert claims["borrowing"]["eligible"] is True

    answer = httpx.post(
        f"{live_hub.issuer}/api/v1/eligibility",
        headers={"authorization": f"Bearer {live_hub.partner_token('monash')}"},
        json={"home_library": "sipu", "card": ELODIE.card},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["eligible"] is True and answer.json()["reasons"] == []


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("2888 0000 0000 01", "A card number has no spaces or control characters in it."),
        ("KO-1234", "This is not a SIP University Library card number. Check it and try again."),
        ("x" * 65, "A card number is at most 64 characters long."),
    ],
)
def test_the_sign_in_form_says_what_is_wrong_with_the_card_and_asks_no_one(
    live_hub: LiveHub, evergreen: Ils, card: str, message: str
) -> None:
    answer = sign_in_page(live_hub, card, "1234")
    assert answer.status_code == 400 and message in answer.text
    assert evergreen.asked == []


def hub_lookups(
    live_hub: LiveHub, monkeypatch: pytest.MonkeyPatch, card: str, *args: str
) -> Result:
    """``hub lookups --home-library sipu --card CARD``, run here on the live hub's database."""
    engines: list[Engine] = []

    def make(settings: Settings) -> Engine:
        engines.append(make_engine(settings))
        return engines[-1]

    monkeypatch.setattr(context, "make_engine", make)
    context.settings.cache_clear()
    try:
        return CliRunner().invoke(
            app,
            ["lookups", "--home-library", "sipu", "--card", card, *args],
            env={"HUB_DATABASE_URL": live_hub.settings.database_url},
        )
    finally:
        context.settings.cache_clear()
        for engine in engines:
            engine.dispose()


def test_the_eligibility_api_reads_cards_as_the_sign_in_form_does(
    live_hub: LiveHub, evergreen: Ils, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = live_hub.partner_token("monash")

    def ask(card: str) -> httpx.Response:
        return httpx.post(
            f"{live_hub.issuer}/api/v1/eligibility",
            headers={"authorization": f"Bearer {token}"},
            json={"home_library": "sipu", "card": card},
        )

    decomposed = ask("dje\u03011")  # a card that is not ASCII, typed decomposed
    assert decomposed.status_code == 404, decomposed.text
    assert decomposed.json()["type"].endswith("/unknown-card")
    assert evergreen.asked == [("63", "dj\u00e91", None)]  # asked composed, once
    not_theirs = ask("KO-1234")
    assert not_theirs.status_code == 404 and evergreen.asked == [("63", "dj\u00e91", None)]
    spaced = ask("2888 0000")
    assert spaced.status_code == 422 and "no spaces" in spaced.text

    # the administrators find the question however the card is typed
    with Session(live_hub.engine) as session:
        cards = session.exec(select(EligibilityLookup.card)).all()
    assert "dj\u00e91" in cards
    found = hub_lookups(live_hub, monkeypatch, "dje\u03011", "--json")
    spaced_cli = hub_lookups(live_hub, monkeypatch, "dj 1")
    assert found.exit_code == 0 and '"card": "dj\\u00e91"' in found.stdout
    assert spaced_cli.exit_code == 1 and "no spaces" in spaced_cli.stderr
