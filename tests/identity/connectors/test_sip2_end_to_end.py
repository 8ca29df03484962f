"""A patron of a SIP2 library, checked live at its ILS (pysip2): signing in at a lender through
the OpenID provider, the lender's eligibility question, and ``hub connectors test``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

import policies
from identity.agreements import publishing
from identity.store.database import transaction
from tests.identity.connectors.conftest import Hub
from tests.identity.connectors.ils import (
    BLOCKED,
    GOOD,
    OWES,
    PASSWORD_ENV,
    STAFF,
    UNKNOWN,
    Ils,
)
from tests.identity.oauth.conftest import LiveHub


def extra_set(tmp_path: Path, port: int) -> list[tuple[str, str]]:
    """The example network plus ``sipu``, checked over SIP2, and Monash lending to its
    undergraduates and staff."""
    extra = tmp_path / "sipu.yaml"
    extra.write_text(
        "libraries:\n"
        "  - id: sipu\n"
        "    name: SIP University Library\n"
        '    card_prefixes: ["2888"]\n'
        "    categories: {UG: undergraduate, ST: staff}\n"
        f"    connector: {{kind: sip2, host: 127.0.0.1, port: {port}, institution: sipu,\n"
        f"                user: hub-terminal, password_env: {PASSWORD_ENV}, timeout_s: 0.5}}\n"
        "agreements:\n"
        "  - id: monash-sipu\n"
        "    kind: bilateral\n"
        "    lender: monash\n"
        "    borrowers_from: [sipu]\n"
        "    categories: [undergraduate, staff]\n"
        "    standing: {max_fines: 10.00, card_must_be_valid: true,\n"
        "               blocking_flags: [charge_denied, card_lost, blocked]}\n"
        "    terms: {max_items: 4, loan_days: 21}\n"
    )
    examples = Path(policies.__file__).parent / "examples"
    return [*policies.read(examples), (str(extra), extra.read_text())]


@pytest.fixture
def sipu(live_hub: LiveHub, ils: Ils, tmp_path: Path) -> Iterator[Ils]:
    with transaction(live_hub.engine) as session:
        sources = extra_set(tmp_path, ils.port)
        publishing.publish(session=session, sources=sources, actor="test", note="sipu")
    yield ils


def test_a_sip2_patron_signs_in_and_the_lender_sees_the_decision(
    live_hub: LiveHub, sipu: Ils
) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD.card, GOOD.pin)
    claims = rp.verify(token["id_token"])
    assert claims["borrowing"]["eligible"] is True
    assert claims["borrowing"]["agreements"][0] == "monash-sipu"
    assert claims["name"] == GOOD.name and claims["home_library"]["id"] == "sipu"
    assert claims["patron_category"] == "undergraduate"
    assert ("63", GOOD.card, GOOD.pin) in sipu.asked


@pytest.mark.parametrize(
    ("patron", "code"), [(BLOCKED, "blocking_flag"), (OWES, "fines_over_limit")]
)
def test_the_lender_is_told_why_not(
    live_hub: LiveHub, sipu: Ils, patron: object, code: str
) -> None:
    from tests.identity.connectors.ils import Patron

    assert isinstance(patron, Patron)
    rp = live_hub.add_rp("monash")
    claims = rp.verify(rp.sign_in(live_hub.browser(), patron.card, patron.pin)["id_token"])
    assert claims["borrowing"]["eligible"] is False
    assert {r["code"] for r in claims["borrowing"]["reasons"]} == {code}


def test_a_wrong_pin_at_the_ils_is_the_hubs_wrong_pin_page(live_hub: LiveHub, sipu: Ils) -> None:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    page = browser.get(rp.authorization_url())
    answer = browser.submit(page, {"card": GOOD.card, "pin": "0000"})
    assert answer.status_code == 400 and "do not match" in answer.text


def test_the_eligibility_api_asks_the_ils_without_a_pin(live_hub: LiveHub, sipu: Ils) -> None:
    token = live_hub.partner_token("monash")
    answer = httpx.post(
        f"{live_hub.issuer}/api/v1/eligibility",
        headers={"authorization": f"Bearer {token}"},
        json={"home_library": "sipu", "card": STAFF.card},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["eligible"] is True
    assert sipu.asked == [("63", STAFF.card, None)]


# --- hub connectors test ---------------------------------------------------------------------


@pytest.fixture
def published(database_url: str, ils: Ils, tmp_path: Path, engine: Engine) -> str:
    with transaction(engine) as session:
        sources = extra_set(tmp_path, ils.port)
        publishing.publish(session=session, sources=sources, actor="test", note="sipu")
    return database_url


def test_hub_connectors_test(published: str, ils: Ils, connectors_test: Hub) -> None:
    found = connectors_test(published, "--library", "sipu", "--card", OWES.card, pin=OWES.pin)
    assert found.returncode == 0, found.stderr
    assert "valid:    yes (PIN verified)" in found.stdout
    assert "name:     Owen Owes" in found.stdout
    assert "category: 'UG' -> undergraduate" in found.stdout
    assert "expires:  2099-12-31" in found.stdout and "fines:    25.50" in found.stdout
    assert not ils.leaks(OWES.pin, found.stdout + found.stderr)
    blocked = connectors_test(published, "--library", "sipu", "--card", BLOCKED.card)
    assert blocked.returncode == 0 and "flags:    card_lost, charge_denied" in blocked.stdout
    wrong = connectors_test(published, "--library", "sipu", "--card", GOOD.card, pin="9191")
    assert wrong.returncode == 1 and "valid:    no" in wrong.stdout
    assert not ils.leaks("9191", wrong.stdout + wrong.stderr)
    unknown = connectors_test(published, "--library", "sipu", "--card", UNKNOWN)
    assert unknown.returncode == 1
    assert ("63", GOOD.card, "9191") in ils.asked and ("63", BLOCKED.card, None) in ils.asked


def test_hub_connectors_test_on_an_unreachable_library(
    published: str, ils: Ils, connectors_test: Hub
) -> None:
    ils.stop()
    down = connectors_test(published, "--library", "sipu", "--card", GOOD.card, pin=GOOD.pin)
    assert down.returncode == 2 and "unreachable: sipu: SIP2 127.0.0.1" in down.stderr
    assert not ils.leaks(GOOD.pin, down.stdout + down.stderr)
    nowhere = connectors_test(published, "--library", "nowhere", "--card", GOOD.card)
    assert nowhere.returncode == 2 and "no library 'nowhere'" in nowhere.stderr


def test_a_registry_library_too(published: str, connectors_test: Hub) -> None:
    rmit = connectors_test(published, "--library", "rmit", "--card", "21110000000001")
    assert rmit.returncode == 1  # published, but no patrons imported here
    assert "registry connector at the hub" in rmit.stdout
