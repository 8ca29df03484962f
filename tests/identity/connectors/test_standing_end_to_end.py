"""A university whose OpenID provider (node ``oidc-provider``) signs its patrons in, and whose
standing source says their fines, blocks and expiry: its ILS over SIP2 (pysip2), or the hub's
registry. The standing source's fines block the loan; the lender's ID token says where the
standing came from; a source that cannot be reached is a 503 page, never a guess; the
eligibility API asks the source by ``patron``, and says plainly when only the patron can prove
membership."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

import policies
from identity.agreements import publishing
from identity.store.database import transaction
from identity.store.models import RegistryPatron
from tests.conftest import free_port
from tests.identity.connectors.ils import INSTITUTION, PASSWORD, PASSWORD_ENV, USER, Ils, Patron
from tests.identity.connectors.oidc_idp import SECRET, SECRET_ENV, UNIVERSITY, University
from tests.identity.connectors.test_oidc_end_to_end import back_at_hub
from tests.identity.oauth.conftest import LiveHub
from tests.identity.oauth.relying_party import RelyingParty

#: the university's ILS knows its patrons by the provider's ``sub``
OWES = Patron("alice", "0000", "Alice Student", fines="25.50")
CLEAR = Patron("sam", "0000", "Sam Staff", category="ST", fines="0.00", expires="20991231")


@pytest.fixture
def university_ils(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ils]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    running = Ils({p.card: p for p in (OWES, CLEAR)}).start()
    yield running
    running.stop()


def publish(live_hub: LiveHub, tmp_path: Path, issuer: str, standing: str) -> None:
    """The example network with the university (``standing:`` as given, or none) and two
    agreements by which Monash and the State Library lend to it: Monash up to 10.00 in fines,
    the State Library only on a known standing."""
    examples = Path(policies.__file__).parent / "examples"
    entry = tmp_path / "uni.yaml"
    entry.write_text(
        "libraries:\n"
        "  - id: uni\n"
        f"    name: {UNIVERSITY}\n"
        "    categories: {student@uni.example: undergraduate, staff@uni.example: staff,\n"
        "                 UG: undergraduate, ST: staff}\n"
        f"    connector: {{kind: oidc, issuer: '{issuer}', client_id: hub-test-client,\n"
        f"                client_secret_env: {SECRET_ENV}, timeout_s: 2,\n"
        "                scopes: [openid, profile, affiliation]}\n"
        f"{standing}"
        "agreements:\n"
        "  - id: monash-uni\n"
        "    kind: bilateral\n"
        "    lender: monash\n"
        "    borrowers_from: [uni]\n"
        "    categories: [undergraduate, staff]\n"
        "    standing: {max_fines: 10.00}\n"
        "    terms: {max_items: 5, loan_days: 21}\n"
        "  - id: slv-uni\n"
        "    kind: bilateral\n"
        "    lender: slv\n"
        "    borrowers_from: [uni]\n"
        "    categories: [undergraduate, staff]\n"
        "    standing: {requires_standing_source: true}\n"
        "    terms: {max_items: 2, loan_days: 14}\n"
    )
    sources = [*policies.read(examples), (str(entry), entry.read_text())]
    with transaction(live_hub.engine) as session:
        publishing.publish(session=session, sources=sources, actor="test", note="uni")


def sip2_standing(port: int) -> str:
    return (
        f"    standing: {{kind: sip2, host: 127.0.0.1, port: {port}, institution: {INSTITUTION},\n"
        f"               user: {USER}, password_env: {PASSWORD_ENV}, timeout_s: 1,\n"
        "               match: sub}\n"
    )


def sign_in(
    live_hub: LiveHub, university: University, lender: str, user: str
) -> tuple[httpx.Response, RelyingParty]:
    """The patron's way back from the provider to the consent page (or a page saying why not)."""
    rp = live_hub.add_rp(lender)
    rp.scope = "openid profile membership borrowing"
    browser, callback = back_at_hub(live_hub, university, rp, user)
    back = browser.http.get(callback)
    if back.status_code != 303:
        return back, rp
    consent = browser.get(back.headers["location"])
    done = browser.submit(consent, {"decision": "allow"})
    assert done.status_code == 302, done.text
    consent.headers["x-location"] = done.headers["location"]
    return consent, rp


def claims_of(consent: httpx.Response, rp: RelyingParty) -> dict[str, Any]:
    claims: dict[str, Any] = rp.verify(rp.exchange(consent.headers["x-location"])["id_token"])
    return claims


@pytest.fixture
def university_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


def ask(live_hub: LiveHub, lender: str, body: dict[str, Any]) -> httpx.Response:
    token = live_hub.partner_token(lender)
    return httpx.post(
        f"{live_hub.issuer}/api/v1/eligibility",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.usefixtures("university_env")
def test_the_ils_fines_block_the_loan_and_the_lender_is_told_where_standing_came_from(
    live_hub: LiveHub, university: University, university_ils: Ils, tmp_path: Path
) -> None:
    publish(live_hub, tmp_path, university.issuer, sip2_standing(university_ils.port))
    consent, rp = sign_in(live_hub, university, "monash", "alice")
    assert consent.status_code == 200, consent.text
    assert f"{UNIVERSITY}'s records; your membership was confirmed by its sign-in" in consent.text
    owing = re.search(r"You owe (\S*25\.50\S*) to ([^.]+)\.", consent.text)
    assert owing is not None and owing.group(2) == UNIVERSITY, consent.text
    assert re.search(r"who owe \S*10\.00\S* or less", consent.text), consent.text
    assert "standing not known" not in consent.text
    assert [asked[1] for asked in university_ils.asked] == ["alice"]  # the card is the sub

    claims = claims_of(consent, rp)
    assert claims["standing"] == "good" and claims["standing_from"] == "standing_source"
    assert claims["card_expires"] == "2099-12-31"
    assert claims["borrowing"]["eligible"] is False
    assert [r["code"] for r in claims["borrowing"]["reasons"]] == ["fines_over_limit"]

    # the lender asks again later, by the patron's identifier: the ILS is asked again
    university_ils.patrons["alice"] = Patron("alice", "0000", "Alice Student", fines="5.00")
    answer = ask(live_hub, "monash", {"patron": claims["sub"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["eligible"] is True and answer.json()["home_library"] == "uni"
    assert [asked[1] for asked in university_ils.asked] == ["alice", "alice"]
    # a partner may ask by the card at the standing source too
    by_card = ask(live_hub, "monash", {"home_library": "uni", "card": "sam"})
    assert by_card.status_code == 200 and by_card.json()["patron_category"] == "staff"


@pytest.mark.usefixtures("university_env")
def test_a_known_standing_admits_where_an_agreement_requires_one(
    live_hub: LiveHub, university: University, university_ils: Ils, tmp_path: Path
) -> None:
    publish(live_hub, tmp_path, university.issuer, sip2_standing(university_ils.port))
    consent, rp = sign_in(live_hub, university, "slv", "sam")
    claims = claims_of(consent, rp)
    assert claims["standing_from"] == "standing_source"
    assert claims["borrowing"]["eligible"] is True
    assert claims["borrowing"]["agreements"] == ["slv-uni"]


@pytest.mark.usefixtures("university_env")
def test_a_standing_source_that_cannot_be_reached_is_a_503_page(
    live_hub: LiveHub, university: University, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    publish(live_hub, tmp_path, university.issuer, sip2_standing(free_port()))
    page, _ = sign_in(live_hub, university, "monash", "alice")
    assert page.status_code == 503 and int(page.headers["retry-after"]) > 0
    assert "Your library cannot be asked just now" in page.text
    assert "fines, blocks, card expiry" in page.text and "nothing was shared" in page.text
    assert "Share this" not in page.text


@pytest.mark.usefixtures("university_env")
def test_without_a_standing_source_nobody_is_told_good_standing(
    live_hub: LiveHub, university: University, tmp_path: Path
) -> None:
    publish(live_hub, tmp_path, university.issuer, "")
    consent, rp = sign_in(live_hub, university, "slv", "alice")
    assert "standing not known" in consent.text
    claims = claims_of(consent, rp)
    assert claims["standing"] == "unknown" and claims["standing_from"] == "none"
    assert claims["borrowing"]["eligible"] is False
    [reason] = claims["borrowing"]["reasons"]
    assert reason["code"] == "standing_unknown" and reason["agreement"] == "slv-uni"

    # the eligibility API cannot prove membership for this patron: it says so
    answer = ask(live_hub, "slv", {"patron": claims["sub"]})
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["type"] == "/problems/patron-sign-in-only"
    assert "names no standing source" in problem["detail"]
    by_card = ask(live_hub, "slv", {"home_library": "uni", "card": "alice"})
    assert by_card.status_code == 409


@pytest.mark.usefixtures("university_env")
def test_the_registry_as_standing_source(
    live_hub: LiveHub, university: University, tmp_path: Path
) -> None:
    standing = "    standing: {kind: registry, match: sub}\n"
    publish(live_hub, tmp_path, university.issuer, standing)
    with transaction(live_hub.engine) as session:
        session.add(
            RegistryPatron(
                library="uni", card="alice", pin_hash="-", name="Alice Student", category="UG",
                expires=None, fines=Decimal("0.00"), flags=["blocked"],
            )
        )  # fmt: skip
    consent, rp = sign_in(live_hub, university, "monash", "alice")
    claims = claims_of(consent, rp)
    assert claims["standing"] == ["blocked"] and claims["standing_from"] == "standing_source"
    # gus is a member today, but the registry has no record of him: standing not known
    consent, rp = sign_in(live_hub, university, "slv", "gus")
    claims = claims_of(consent, rp)
    assert claims["standing"] == "unknown"
    answer = ask(live_hub, "slv", {"patron": claims["sub"]})
    assert answer.status_code == 409 and "has not learnt" in answer.json()["detail"]
