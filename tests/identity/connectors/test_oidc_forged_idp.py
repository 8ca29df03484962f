"""The hub against a provider that sends what the test shapes (``forged_idp``): an ID token with
another nonce, for another audience, signed by a key it has not published, or an answer that
names another issuer, is refused with a page and no sign-in; keys rotated by the provider are
fetched again once; the code goes back with its PKCE verifier and the client secret; a
provider failing again and again is not asked for a while (the breaker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from identity.store.models import FederatedSignin
from tests.identity.connectors.forged_idp import Forged, new_key, serve
from tests.identity.connectors.oidc_idp import UNIVERSITY, leave_for, publish_university
from tests.identity.oauth.browser import Browser
from tests.identity.oauth.conftest import LiveHub
from tests.identity.oauth.relying_party import RelyingParty

SECRET_ENV = "HUB_TEST_UNI_OIDC_SECRET"
REFUSED = f"{UNIVERSITY} could not sign you in"


@pytest.fixture
def forged(live_hub: LiveHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forged]:
    provider = Forged()
    stop = serve(provider)
    monkeypatch.setenv(SECRET_ENV, provider.secret)
    publish_university(live_hub, tmp_path, provider.issuer)
    yield provider
    stop()


def sign_in(live_hub: LiveHub, rp: RelyingParty) -> tuple[Browser, httpx.Response]:
    """Through the forged provider and back to the hub: what the callback answers."""
    browser = live_hub.browser()
    leaving = leave_for(browser, browser.get(rp.authorization_url()), "uni")
    assert leaving.status_code == 303, leaving.text
    back = browser.http.get(leaving.headers["location"])  # the provider signs in at once
    assert back.status_code == 302
    return browser, browser.http.get(back.headers["location"])


def signed_in(live_hub: LiveHub) -> int:
    with Session(live_hub.engine) as session:
        rows = session.exec(select(FederatedSignin).where(col(FederatedSignin.patron).is_not(None)))
        return len(rows.all())


def test_an_id_token_that_holds_signs_the_patron_in(live_hub: LiveHub, forged: Forged) -> None:
    rp = live_hub.add_rp("monash")
    browser, answer = sign_in(live_hub, rp)
    assert answer.status_code == 303
    consent = browser.get(answer.headers["location"])
    assert "Pat Forged" in consent.text  # from the ID token: this provider has no userinfo
    claims = rp.verify(rp.exchange(browser.submit(consent, {"decision": "allow"})
                                   .headers["location"])["id_token"])  # fmt: skip
    assert claims["patron_category"] == "undergraduate" and claims["standing"] == "unknown"
    [verifier] = forged.verifiers
    assert 43 <= len(verifier) <= 128  # RFC 7636: the provider checked it against S256


@pytest.mark.parametrize(
    "tamper",
    [
        {"nonce": "a-nonce-of-another-sign-in"},
        {"aud": "another-client"},
        {"aud": ["hub-test-client", "another-client"]},
        {"iss": "https://idp.elsewhere.example"},
        {"exp": 1_000_000_000},
        {"sub": None},
    ],
    ids=["wrong-nonce", "wrong-audience", "extra-audience", "wrong-issuer", "expired", "no-sub"],
)
def test_an_id_token_that_does_not_hold_is_refused_with_a_page(
    live_hub: LiveHub, forged: Forged, tamper: dict[str, object]
) -> None:
    forged.tamper = tamper
    browser, answer = sign_in(live_hub, live_hub.add_rp("monash"))
    assert answer.status_code == 400
    assert REFUSED in answer.text and "nothing was shared" in answer.text
    assert signed_in(live_hub) == 0


def test_an_answer_naming_another_issuer_is_refused(live_hub: LiveHub, forged: Forged) -> None:
    forged.answer_iss = "https://idp.elsewhere.example"  # RFC 9207: a mix-up
    browser, answer = sign_in(live_hub, live_hub.add_rp("monash"))
    assert answer.status_code == 400 and REFUSED in answer.text
    assert forged.asked["/token"] == 0  # the code never went anywhere


def test_keys_the_provider_rotates_are_fetched_again_once(
    live_hub: LiveHub, forged: Forged
) -> None:
    rp = live_hub.add_rp("monash")
    assert sign_in(live_hub, rp)[1].status_code == 303
    assert forged.asked["/jwks"] == 1
    assert sign_in(live_hub, rp)[1].status_code == 303
    assert forged.asked["/jwks"] == 1  # kept

    forged.signing = new_key("b")  # the provider rotates: publishes b, signs with it
    forged.published = [forged.published[0], forged.signing]
    assert sign_in(live_hub, rp)[1].status_code == 303
    assert forged.asked["/jwks"] == 2

    forged.signing = new_key("c")  # a key it never published
    browser, answer = sign_in(live_hub, rp)
    assert answer.status_code == 400 and REFUSED in answer.text
    assert forged.asked["/jwks"] == 3  # asked once more, not again and again


def test_a_client_secret_the_provider_refuses_is_a_503(
    live_hub: LiveHub, forged: Forged, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    browser, answer = sign_in(live_hub, live_hub.add_rp("monash"))
    assert answer.status_code == 503 and int(answer.headers["retry-after"]) == 300
    assert "not-the-secret" not in answer.text


def test_a_provider_failing_again_and_again_is_not_asked_for_a_while(
    live_hub: LiveHub, forged: Forged
) -> None:
    forged.discovery_status = 500
    rp = live_hub.add_rp("monash")
    for _ in range(3):
        browser = live_hub.browser()
        leaving = leave_for(browser, browser.get(rp.authorization_url()), "uni")
        assert leaving.status_code == 503
    assert forged.asked["/.well-known/openid-configuration"] == 3
    forged.discovery_status = None  # back, but the hub does not know yet
    browser = live_hub.browser()
    leaving = leave_for(browser, browser.get(rp.authorization_url()), "uni")
    assert leaving.status_code == 503 and 1 <= int(leaving.headers["retry-after"]) <= 30
    assert forged.asked["/.well-known/openid-configuration"] == 3
