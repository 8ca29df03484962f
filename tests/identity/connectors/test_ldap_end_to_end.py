"""A university patron whose library checks them at its directory (slapd, LDAPS with its own
CA): signing in at a lender through the hub's sign-in page with username and password, the
lender's eligibility question, a directory that is down, ``hub connectors test`` and the
administrators' connection test."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import anyio
import httpx
import pytest
import yaml
from sqlalchemy import Engine

import policies
from identity.admin.connections import Report, ask_about_card
from identity.agreements import publishing
from identity.errors import HomeLibraryUnavailable
from identity.patrons.connectors.gates import Gates
from identity.store.database import transaction
from policies.model import LIBRARY
from tests.identity.connectors.conftest import Hub
from tests.identity.connectors.ldap_libraries import CATEGORIES, settings
from tests.identity.connectors.slapd import AD_DISABLED, ADA, GRACE, SERVICE_DN, Slapd
from tests.identity.oauth.conftest import LiveHub


def uni_set(tmp_path: Path, slapd: Slapd, down_port: int) -> list[tuple[str, str]]:
    """The example network plus ``uni`` (its directory: the test slapd) and ``downu`` (a
    directory nobody answers at), and Monash lending to their undergraduates and staff."""
    down = settings(slapd, url=f"ldap://127.0.0.1:{down_port}", tls_ca=None, timeout_s=0.5)
    libraries = [
        {"id": "uni", "name": "Example University Library", "categories": CATEGORIES,
         "connector": settings(slapd)},
        {"id": "downu", "name": "Down University Library", "categories": CATEGORIES,
         "connector": down},
    ]  # fmt: skip
    agreement = {
        "id": "monash-uni",
        "kind": "bilateral",
        "lender": "monash",
        "borrowers_from": ["uni", "downu"],
        "categories": ["undergraduate", "staff"],
        "terms": {"max_items": 4, "loan_days": 21},
    }
    extra = tmp_path / "uni.yaml"
    extra.write_text(yaml.safe_dump({"libraries": libraries, "agreements": [agreement]}))
    examples = Path(policies.__file__).parent / "examples"
    return [*policies.read(examples), (str(extra), extra.read_text())]


@pytest.fixture
def down_port() -> Iterator[int]:
    """A port of 127.0.0.1 nothing listens on: bound, so that it stays free."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


@pytest.fixture
def uni(live_hub: LiveHub, slapd: Slapd, tmp_path: Path, down_port: int) -> Slapd:
    with transaction(live_hub.engine) as session:
        sources = uni_set(tmp_path, slapd, down_port)
        publishing.publish(session=session, sources=sources, actor="test", note="uni")
    return slapd


def test_a_patron_signs_in_with_their_username_and_password(live_hub: LiveHub, uni: Slapd) -> None:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    # as typed: the directory compares usernames regardless of case, and so does the hub
    back = browser.sign_in(rp.authorization_url(), card="Ada", pin=ADA.password, library="uni")
    assert back.status_code == 302, back.text
    claims = rp.verify(rp.exchange(back.headers["location"])["id_token"])
    assert claims["borrowing"]["eligible"] is True
    assert claims["borrowing"]["agreements"] == ["monash-uni"]
    assert claims["name"] == "Ada Lovelace" and claims["home_library"]["id"] == "uni"
    assert claims["patron_category"] == "undergraduate"
    again = live_hub.browser().sign_in(
        rp.authorization_url(), card="ada", pin=ADA.password, library="uni"
    )
    assert rp.verify(rp.exchange(again.headers["location"])["id_token"])["sub"] == claims["sub"]


def test_a_wrong_or_empty_password(live_hub: LiveHub, uni: Slapd) -> None:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    page = browser.get(rp.authorization_url())
    mark = uni.mark()
    for password, status, words in (("", 400, "Enter your PIN."),
                                    ("not-hers", 400, "do not match")):  # fmt: skip
        answer = browser.submit(page, {"library": "uni", "card": "ada", "pin": password})
        assert answer.status_code == status and words in answer.text
    log = uni.since(mark, until="RESULT tag=97")
    assert re.findall(r'BIND dn="(uid=[^"]*)" method=128', log) == [ADA.dn]  # the wrong one


def test_a_directory_that_is_down_is_a_503(live_hub: LiveHub, uni: Slapd) -> None:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    page = browser.get(rp.authorization_url())
    answer = browser.submit(page, {"library": "downu", "card": "ada", "pin": ADA.password})
    assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1
    assert "Down University Library cannot check cards just now" in answer.text
    asked = httpx.post(
        f"{live_hub.issuer}/api/v1/eligibility",
        headers={"authorization": f"Bearer {live_hub.partner_token('monash')}"},
        json={"home_library": "downu", "card": "ada"},
    )
    assert asked.status_code == 503 and int(asked.headers["retry-after"]) >= 1


def test_the_eligibility_api_looks_patrons_up_with_the_service_account(
    live_hub: LiveHub, uni: Slapd
) -> None:
    token = live_hub.partner_token("monash")
    mark = uni.mark()
    answers = [
        httpx.post(
            f"{live_hub.issuer}/api/v1/eligibility",
            headers={"authorization": f"Bearer {token}"},
            json={"home_library": "uni", "card": card},
        )
        for card in ("GRACE", AD_DISABLED.uid, "nobody")
    ]
    assert [a.status_code for a in answers] == [200, 404, 404]
    assert answers[0].json()["eligible"] is True
    log = uni.since(mark, until='filter="(uid=nobody)"')
    assert re.findall(r'BIND dn="([^"]*)" method=128', log) == [SERVICE_DN]  # no patron's


@pytest.fixture
def published(
    database_url: str, slapd: Slapd, tmp_path: Path, engine: Engine, down_port: int
) -> str:
    with transaction(engine) as session:
        sources = uni_set(tmp_path, slapd, down_port)
        publishing.publish(session=session, sources=sources, actor="test", note="uni")
    return database_url


def test_hub_connectors_test(published: str, slapd: Slapd, connectors_test: Hub) -> None:
    found = connectors_test(published, "--library", "uni", "--card", "Grace")
    assert found.returncode == 0, found.stderr
    assert f"ldap connector at {slapd.url('ldaps')}" in found.stdout
    assert f"bound as: {SERVICE_DN} (the service account)" in found.stdout
    assert "card:     grace" in found.stdout and "name:     Grace Hopper" in found.stdout
    assert "category: 'staff' -> staff" in found.stdout and "expires:  never" in found.stdout
    signed = connectors_test(published, "--library", "uni", "--card", "ada", pin=ADA.password)
    assert signed.returncode == 0 and "valid:    yes (PIN verified)" in signed.stdout
    assert "expires:  2099-12-31" in signed.stdout
    assert ADA.password not in signed.stdout + signed.stderr
    wrong = connectors_test(published, "--library", "uni", "--card", "ada", pin=GRACE.password)
    assert wrong.returncode == 1 and "valid:    no" in wrong.stdout
    down = connectors_test(published, "--library", "downu", "--card", "ada")
    assert down.returncode == 2 and "refused the connection" in down.stderr


def test_the_administrators_connection_test(slapd: Slapd, engine: Engine) -> None:
    uni = LIBRARY.validate_python(
        {"id": "uni", "name": "Uni", "categories": CATEGORIES, "connector": settings(slapd)}
    )
    gates = Gates(queue=2, wait_s=2)

    async def ask(library: policies.Library, card: str) -> Report:
        return await ask_about_card(library=library, card=card, gates=gates, engine=engine)

    report = anyio.run(ask, uni, "ADA")
    assert report.model_dump(exclude_none=True) == {
        "library": "uni", "connector": "ldap", "where": slapd.url("ldaps"), "card": "ada",
        "reachable": True, "found": True, "name": "Ada Lovelace", "ils_category": "UG",
        "category": "undergraduate", "expires": date(2099, 12, 31), "fines": "0", "flags": [],
    }  # fmt: skip
    connector = uni.connector.model_copy(update={"tls_ca": None})
    with pytest.raises(HomeLibraryUnavailable, match="is not trusted"):
        anyio.run(ask, uni.model_copy(update={"connector": connector}), "ada")
