"""The sign-in page's ways to a library's own identity provider, in the hub in this process: an
email address typed instead of choosing from the list sends the patron to the library whose
``domains`` name it (SAML or OpenID Connect), and says plainly when none does or the library
takes cards; sign-ins started at identity providers are limited per client address
(``HUB_FEDERATED_STARTS_PER_ADDRESS``): a flood from one address gets the 429 page with
Retry-After, asks no provider and keeps no more waiting sign-ins; the PIN sign-in's own limits
do not count these starts."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from identity.app import create_app
from identity.oauth import registration
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import FederatedSignin
from tests.conftest import SECRET, free_port
from tests.identity.connectors.saml.conftest import IDP, Keys
from tests.identity.connectors.saml.test_saml_end_to_end import publish_saml_university
from tests.identity.oauth.browser import forms
from tests.identity.oauth.relying_party import RelyingParty

ISSUER = "https://hub.example.org"
OTHERS = (
    "  - id: college\n"
    "    name: College Library\n"
    "    domains: [college.test]\n"
    "    connector: {{kind: oidc, issuer: 'http://127.0.0.1:{port}', client_id: hub,\n"
    "                client_secret_env: HUB_TEST_COLLEGE_SECRET, timeout_s: 1}}\n"
    "  - id: town\n"
    "    name: Town Library\n"
    "    domains: [town.test]\n"
)


@pytest.fixture
def hub(
    demo_network: Engine, database_url: str, metadata_file: Path, saml_keys: Keys, tmp_path: Path
) -> Iterator[TestClient]:
    """The hub in this process, allowing three starts per address in ten minutes, with the
    SAML university, an OpenID college whose provider is not listening, and a town library
    that takes cards (the registry), each with its email domains."""
    others = OTHERS.format(port=free_port())
    publish_saml_university(demo_network, tmp_path, metadata_file, saml_keys, IDP, others)
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        issuer=ISSUER,
        saml_key_file=saml_keys.sp.key_file,
        saml_cert_file=saml_keys.sp.cert_file,
        federated_starts_per_address="3/600",
    )
    with TestClient(create_app(settings), base_url=ISSUER, follow_redirects=False) as client:
        yield client


def relying_party(engine: Engine) -> RelyingParty:
    redirect = f"{ISSUER}/cb/monash"
    with transaction(engine) as session:
        made = registration.add_client(session=session, library="monash", kind="rp",
                                       redirect_uris=[redirect], actor="test")  # fmt: skip
    return RelyingParty(ISSUER, made.client_id, made.client_secret, redirect)


def choose(hub: TestClient, rp: RelyingParty, library: str) -> httpx2.Response:
    login = hub.get(rp.authorization_url())
    assert login.status_code == 200
    [own] = [f for f in forms(login.text) if ("library", library) in f.buttons]
    return hub.post(urljoin(str(login.url), own.action), data={**own.fields, "library": library})


def waiting(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(FederatedSignin)).one())


def test_a_flood_of_starts_from_one_address_gets_a_429_and_keeps_nothing(
    hub: TestClient, demo_network: Engine
) -> None:
    rp = relying_party(demo_network)
    for _ in range(3):
        leaving = choose(hub, rp, "uni")
        assert leaving.status_code == 303
    assert waiting(demo_network) == 3
    for library in ("uni", "college"):  # SAML and OpenID Connect alike
        refused = choose(hub, rp, library)
        assert refused.status_code == 429
        assert 500 <= int(refused.headers["retry-after"]) <= 600
        assert "Too many sign-ins were started from here" in refused.text
        assert "about 10 minutes" in refused.text
    assert waiting(demo_network) == 3  # nothing more kept, no provider asked

    # the starts are not PIN guesses: a card sign-in from the same address goes ahead
    login = hub.get(rp.authorization_url())
    [card_form] = [f for f in forms(login.text) if "card" in f.fields]
    signed_in = hub.post(
        urljoin(str(login.url), card_form.action),
        data={**card_form.fields, "card": "21110000000001", "pin": "0001"},
    )
    assert signed_in.status_code == 200 and "Share this with" in signed_in.text


def by_email(hub: TestClient, rp: RelyingParty, address: str) -> httpx2.Response:
    login = hub.get(rp.authorization_url())
    [form] = [f for f in forms(login.text) if "email" in f.fields]
    return hub.post(urljoin(str(login.url), form.action), data={**form.fields, "email": address})


def problem(page: httpx2.Response) -> str:
    """The page's problem, as the patron reads it."""
    found = re.search(r'<div class="error"[^>]*>.*?<a href="#(\w+)">(.*?)</a>', page.text, re.S)
    assert found, page.text
    return f"{found[1]}: {html.unescape(found[2])}"


def test_an_email_address_sends_the_patron_to_its_library_s_identity_provider(
    hub: TestClient, demo_network: Engine
) -> None:
    rp = relying_party(demo_network)
    login = hub.get(rp.authorization_url())
    assert "Or type your email address" in login.text
    leaving = by_email(hub, rp, "  Alice@Student.UNI.test ")
    assert leaving.status_code == 303
    assert leaving.headers["location"].startswith("https://idp.uni.test/idp/shibboleth/sso/")
    # an OpenID library too (here its provider is down: the page says so)
    down = by_email(hub, rp, "bob@college.test")
    assert down.status_code == 503
    assert "College Library&#39;s sign-in cannot be reached just now" in down.text
    assert waiting(demo_network) == 1


#: what the page says for each address that names no library that signs its patrons in itself
NO_SUCH = {
    "carol@elsewhere.test": "email: No library here signs you in with an address ending in "
                            "@elsewhere.test. Choose your home library from the list.",
    "carol": "email: Type your whole email address (like name@university.edu), or choose your "
             "home library from the list.",
    "": "email: Type your whole email address (like name@university.edu), or choose your home "
        "library from the list.",
    "dan@town.test": "card: Town Library signs you in with your library card: enter your card "
                     "number and PIN below.",
}  # fmt: skip


def test_an_address_that_names_no_such_library_is_said_on_the_page(
    hub: TestClient, demo_network: Engine
) -> None:
    rp = relying_party(demo_network)
    for address, said in NO_SUCH.items():
        page = by_email(hub, rp, address)
        assert page.status_code == 400
        assert problem(page) == said
        if address.endswith("town.test"):  # the card library is chosen, ready for the card
            [card_form] = [f for f in forms(page.text) if "card" in f.fields]
            assert card_form.fields["library"] == "town"
        else:
            assert f'value="{address}"' in page.text  # kept, to correct
    assert waiting(demo_network) == 0
