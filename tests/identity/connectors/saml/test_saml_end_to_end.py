"""Patrons of a university whose SAML identity provider signs them in (pysaml2's IdP, served over
HTTP by the test: ``idp_site``), signing in at a lender through the live hub: the sign-in page
sends them to the IdP with a signed request; its answer, posted to ``/saml/acs`` from the IdP's
page (a cross-site POST: no cookie comes with it), leads to the consent page of the same
request, and the lender's ID token carries membership and the category. A replayed answer, one
for another sign-in, an unsolicited one and the IdP's error status are pages, never a sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

import policies
from identity.agreements import publishing
from identity.patrons.connectors.saml.provider import ServiceProvider
from identity.store.database import transaction
from identity.store.models import FederatedSignin
from tests.identity.connectors.oidc_idp import leave_for
from tests.identity.connectors.saml.conftest import Keys
from tests.identity.connectors.saml.idp import Federation, IdentityProvider
from tests.identity.connectors.saml.idp_site import SSO_PATH, IdpSite, idp_site
from tests.identity.oauth.browser import Browser, forms
from tests.identity.oauth.conftest import LiveHub
from tests.identity.oauth.relying_party import RelyingParty

__all__ = ["idp_site"]  # the fixture, used here

UNIVERSITY = "University of Testing Library"


def publish_saml_university(
    engine: Engine, tmp_path: Path, metadata: Path, keys: Keys, entity_id: str, extra: str = ""
) -> None:
    """The example network, with a university library that signs its patrons in with SAML (and
    the library entries in ``extra``) and an agreement by which Monash lends to its students
    and staff."""
    examples = Path(policies.__file__).parent / "examples"
    entry = tmp_path / "uni.yaml"
    entry.write_text(
        "libraries:\n"
        "  - id: uni\n"
        f"    name: {UNIVERSITY}\n"
        "    domains: [uni.test, student.uni.test]\n"
        "    categories: {student@uni.test: undergraduate, staff@uni.test: staff}\n"
        f"    connector: {{kind: saml, idp: '{entity_id}', metadata_file: '{metadata}',\n"
        f"                metadata_cert: '{keys.federation.cert_file}'}}\n"
        f"{extra}"
        "agreements:\n"
        "  - id: monash-uni\n"
        "    name: Monash lends to the University\n"
        "    kind: bilateral\n"
        "    lender: monash\n"
        "    borrowers_from: [uni]\n"
        "    categories: [undergraduate, staff]\n"
        "    terms: {max_items: 5, loan_days: 21}\n"
    )
    sources = [*policies.read(examples), (str(entry), entry.read_text())]
    with transaction(engine) as session:
        publishing.publish(session=session, sources=sources, actor="test", note="uni")


@pytest.fixture
def at_university(
    live_hub: LiveHub,
    idp_site: IdpSite,
    saml_keys: Keys,
    federation: Federation,
    tmp_path: Path,
) -> Iterator[LiveHub]:
    """The live hub with the university in its network, its SAML keys from files (as
    ``HUB_SAML_KEY_FILE`` and ``HUB_SAML_CERT_FILE`` give them: not made for each test), and
    the university's IdP trusting the hub as its metadata (fetched from the hub) describes
    it."""
    with_files = {"saml_key_file": saml_keys.sp.key_file, "saml_cert_file": saml_keys.sp.cert_file}
    settings = live_hub.settings.model_copy(update=with_files)
    live_hub.app.state.saml = ServiceProvider(settings=settings, engine=live_hub.engine)
    hub_metadata = httpx.get(f"{live_hub.issuer}/saml/metadata", timeout=30)
    assert hub_metadata.status_code == 200
    idp = IdentityProvider(idp_site.entity_id, saml_keys.idp, ["uni.test"], hub_metadata.text)
    idp_site.idp = idp
    metadata = tmp_path / "federation.xml"
    metadata.write_text(federation.publish([idp.descriptor()]))
    publish_saml_university(live_hub.engine, tmp_path, metadata, saml_keys, idp_site.entity_id)
    yield live_hub
    idp_site.idp = None


def at_idp(live_hub: LiveHub, rp: RelyingParty) -> tuple[Browser, str]:
    """A patron who chose the university on the sign-in page: their browser, and the IdP's
    URL the hub sent it to."""
    browser = live_hub.browser()
    login = browser.get(rp.authorization_url())
    assert login.status_code == 200
    leaving = leave_for(browser, login, "uni")
    assert leaving.status_code == 303, leaving.text
    return browser, leaving.headers["location"]


def idp_answer(browser: Browser, sso_url: str, password: str = "wonderland") -> dict[str, str]:
    """Sign in at the IdP's page: the fields its answer page posts to the hub's ACS."""
    page = browser.http.get(sso_url)
    assert page.status_code == 200 and "University sign-in" in page.text
    [login] = forms(page.text)
    done = browser.http.post(
        urljoin(sso_url, login.action), data={"username": "alice", "password": password}
    )
    [answer] = forms(done.text)
    assert answer.method == "post" and answer.action.endswith("/saml/acs")
    return answer.fields


def post_to_acs(live_hub: LiveHub, fields: dict[str, str]) -> httpx.Response:
    """The IdP's page posts to the hub from its own site: no cookie of the hub's comes."""
    return httpx.post(f"{live_hub.issuer}/saml/acs", data=fields, timeout=30)


def signed_in_rows(live_hub: LiveHub) -> int:
    with Session(live_hub.engine) as session:
        found = select(func.count()).where(FederatedSignin.patron.is_not(None))  # type: ignore[union-attr]
        return int(session.exec(found.select_from(FederatedSignin)).one())


def test_a_university_patron_signs_in_at_a_lender_through_their_idp(
    at_university: LiveHub, idp_site: IdpSite
) -> None:
    live_hub = at_university
    rp = live_hub.add_rp("monash")
    rp.scope = "openid profile membership borrowing"
    browser = live_hub.browser()
    login = browser.get(rp.authorization_url())
    assert "Libraries that sign you in themselves" in login.text
    assert f"{UNIVERSITY} (signs you in itself)" in login.text

    leaving = leave_for(browser, login, "uni")
    assert leaving.status_code == 303
    sso = leaving.headers["location"]
    assert sso.startswith(f"{idp_site.base}{SSO_PATH}?")
    asked = {k: v[0] for k, v in parse_qs(urlsplit(sso).query).items()}
    assert {"SAMLRequest", "RelayState", "SigAlg", "Signature"} <= asked.keys()
    assert asked["SigAlg"].endswith("rsa-sha256")
    with Session(live_hub.engine) as session:
        [row] = session.exec(select(FederatedSignin)).all()
    assert row.protocol == "saml" and row.expects.startswith("id")  # the request's ID
    assert asked["RelayState"] not in (row.id, row.binding)  # kept as a hash only
    assert "hub_federated" in browser.http.cookies

    answer = idp_answer(browser, sso)
    assert answer["RelayState"] == asked["RelayState"]
    back = post_to_acs(live_hub, answer)
    assert back.status_code == 303, back.text
    assert back.headers["location"].startswith("/authorize?")
    consent = browser.get(back.headers["location"])
    assert consent.status_code == 200, consent.text
    assert "Share this with Monash University Library?" in consent.text
    assert "Alice Liddell" in consent.text
    assert f"confirmed by {UNIVERSITY}; standing not known" in consent.text
    assert "hub_federated" not in browser.http.cookies  # spent

    done = browser.submit(consent, {"decision": "allow"})
    assert done.status_code == 302
    claims = rp.verify(rp.exchange(done.headers["location"])["id_token"])
    assert claims["name"] == "Alice Liddell"
    assert claims["home_library"] == {"id": "uni", "name": UNIVERSITY}
    assert claims["patron_category"] == "staff"  # staff@uni.test, not member@
    assert claims["standing"] == "unknown"
    assert claims["borrowing"]["eligible"] is True
    assert claims["borrowing"]["agreements"] == ["monash-uni"]
    assert "a1b2c3" not in str(claims)  # the university's identifier stays with the hub


def test_a_replayed_answer_is_refused_with_a_page(at_university: LiveHub) -> None:
    live_hub = at_university
    rp = live_hub.add_rp("monash")
    browser, sso = at_idp(live_hub, rp)
    answer = idp_answer(browser, sso)
    assert post_to_acs(live_hub, answer).status_code == 303
    again = post_to_acs(live_hub, answer)
    assert again.status_code == 400
    assert "This sign-in cannot be finished" in again.text
    # replayed into a sign-in of the attacker's own: it answers another request
    attacker, elsewhere = at_idp(live_hub, rp)
    relay = parse_qs(urlsplit(elsewhere).query)["RelayState"][0]
    replayed = post_to_acs(live_hub, {**answer, "RelayState": relay})
    assert replayed.status_code == 400
    assert f"{UNIVERSITY} could not sign you in" in replayed.text
    assert "Back to the sign-in page" in replayed.text
    assert signed_in_rows(live_hub) == 1  # the patron's own sign-in, once


def test_an_answer_for_another_sign_in_or_unsolicited_signs_no_one_in(
    at_university: LiveHub,
) -> None:
    live_hub = at_university
    rp = live_hub.add_rp("monash")
    victim, victim_sso = at_idp(live_hub, rp)
    attacker, attacker_sso = at_idp(live_hub, rp)
    answer = idp_answer(attacker, attacker_sso)  # the attacker's own sign-in at the IdP
    victim_relay = parse_qs(urlsplit(victim_sso).query)["RelayState"][0]
    crossed = post_to_acs(live_hub, {**answer, "RelayState": victim_relay})
    assert crossed.status_code == 400
    assert f"{UNIVERSITY} could not sign you in" in crossed.text
    assert "nothing was shared" in crossed.text

    unsolicited = post_to_acs(live_hub, {"SAMLResponse": answer["SAMLResponse"]})
    assert unsolicited.status_code == 400
    assert "This sign-in cannot be finished" in unsolicited.text
    forged = post_to_acs(live_hub, {**answer, "RelayState": "x" * 43})
    assert forged.status_code == 400 and "This sign-in cannot be finished" in forged.text
    assert signed_in_rows(live_hub) == 0
    # the victim's browser, back at the hub, is asked to sign in: no consent page
    page = victim.get(rp.authorization_url())
    assert page.status_code == 200 and "Libraries that sign you in themselves" in page.text


def test_an_error_status_from_the_idp_is_a_page_with_a_way_back(at_university: LiveHub) -> None:
    live_hub = at_university
    rp = live_hub.add_rp("monash")
    browser, sso = at_idp(live_hub, rp)
    answer = idp_answer(browser, sso, password="wrong")  # the IdP answers AuthnFailed
    page = post_to_acs(live_hub, answer)
    assert page.status_code == 400
    assert f"You did not sign in at {UNIVERSITY}" in page.text
    assert "nothing was shared" in page.text
    assert "AuthnFailed" not in page.text and "urn:" not in page.text
    [link] = [a.split('"')[0] for a in page.text.split('href="')[1:] if a.startswith("/authorize?")]
    sign_in = browser.get(link.replace("&amp;", "&"))
    assert sign_in.status_code == 200 and "Libraries that sign you in themselves" in sign_in.text
    garbled = post_to_acs(live_hub, {"SAMLResponse": "PD94bWw+", "RelayState": "y" * 43})
    assert garbled.status_code == 400
    assert signed_in_rows(live_hub) == 0
