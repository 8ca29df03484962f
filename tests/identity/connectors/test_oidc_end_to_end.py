"""Patrons of a university whose OpenID provider signs them in (node ``oidc-provider``), signing
in at a lender through the hub: the sign-in page sends them there with no PIN field, and back
at ``/oidc/callback`` they reach the consent page of the same request; the lender's ID token
carries membership (standing not known) and borrowing. An answer that is no sign-in (the
patron cancelled, a replayed or forged ``state``, another browser) and a provider that cannot
be reached are pages, never a sign-in."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from sqlmodel import Session, select

from identity.store.models import FederatedSignin
from tests.conftest import free_port
from tests.identity.connectors.oidc_idp import (
    SECRET,
    SECRET_ENV,
    UNIVERSITY,
    University,
    leave_for,
    publish_university,
)
from tests.identity.oauth.browser import Browser, forms
from tests.identity.oauth.conftest import LiveHub
from tests.identity.oauth.relying_party import RelyingParty


@pytest.fixture
def at_university(
    live_hub: LiveHub, university: University, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> LiveHub:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    publish_university(live_hub, tmp_path, university.issuer)
    return live_hub


def to_provider(live_hub: LiveHub, rp: RelyingParty) -> tuple[Browser, httpx.Response]:
    browser = live_hub.browser()
    login = browser.get(rp.authorization_url())
    assert login.status_code == 200
    return browser, leave_for(browser, login, "uni")


def back_at_hub(
    live_hub: LiveHub, university: University, rp: RelyingParty, user: str
) -> tuple[Browser, str]:
    """The provider's redirect back to the hub for ``user`` (not yet followed)."""
    browser, leaving = to_provider(live_hub, rp)
    assert leaving.status_code == 303
    answer = university.through(leaving.headers["location"], user, browser.http)
    assert answer.status_code in (302, 303), answer.text
    callback = answer.headers["location"]
    assert callback.startswith(f"{live_hub.issuer}/oidc/callback?")
    return browser, callback


def test_a_university_patron_signs_in_at_a_lender_through_their_provider(
    at_university: LiveHub, university: University
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
    sent = urlsplit(leaving.headers["location"])
    assert f"{sent.scheme}://{sent.netloc}" == university.issuer
    asked = {k: v[0] for k, v in parse_qs(sent.query).items()}
    assert asked["redirect_uri"] == f"{live_hub.issuer}/oidc/callback"
    assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
    assert asked["scope"] == "openid profile affiliation"
    assert asked["client_id"] == university.client_id
    assert len(asked["state"]) >= 43 and len(asked["nonce"]) >= 32
    assert "hub_federated" in browser.http.cookies

    answer = university.through(leaving.headers["location"], "alice", browser.http)
    back = browser.http.get(answer.headers["location"])
    assert back.status_code == 303 and back.headers["location"].startswith("/authorize?")
    consent = browser.get(back.headers["location"])
    assert consent.status_code == 200, consent.text
    assert "Share this with Monash University Library?" in consent.text
    assert "Alice Student" in consent.text
    assert f"confirmed by {UNIVERSITY}; standing not known" in consent.text
    assert "does not expire" not in consent.text  # nobody said so
    assert "hub_federated" not in browser.http.cookies  # spent

    done = browser.submit(consent, {"decision": "allow"})
    assert done.status_code == 302
    claims = rp.verify(rp.exchange(done.headers["location"])["id_token"])
    assert claims["name"] == "Alice Student"
    assert claims["home_library"] == {"id": "uni", "name": UNIVERSITY}
    assert claims["patron_category"] == "undergraduate"  # student@uni.example, not member@
    assert claims["standing"] == "unknown" and claims["card_expires"] is None
    assert "amr" not in claims  # the hub did not see how the university checked the patron
    assert claims["borrowing"]["eligible"] is True
    assert claims["borrowing"]["agreements"] == ["monash-uni"]
    assert claims["borrowing"]["terms"]["max_items"] == 5
    assert "alice" not in str(claims)  # the university's identifier stays with the hub


def test_a_staff_member_is_mapped_through_the_category_map(
    at_university: LiveHub, university: University
) -> None:
    rp = at_university.add_rp("monash")
    browser, callback = back_at_hub(at_university, university, rp, "sam")
    consent = browser.get(browser.http.get(callback).headers["location"])
    done = browser.submit(consent, {"decision": "allow"})
    claims = rp.verify(rp.exchange(done.headers["location"])["id_token"])
    assert claims["patron_category"] == "staff"
    assert claims["borrowing"]["eligible"] is True


def test_a_patron_who_cancels_at_the_provider_gets_a_page_and_no_sign_in(
    at_university: LiveHub, university: University
) -> None:
    rp = at_university.add_rp("monash")
    browser, callback = back_at_hub(at_university, university, rp, "nobody")
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    page = browser.http.get(callback)
    assert page.status_code == 400
    assert f"You did not sign in at {UNIVERSITY}" in page.text
    assert "nothing was shared" in page.text
    [link] = [a for a in page.text.split('href="')[1:] if a.startswith("/authorize?")]
    sign_in = browser.get(link.split('"')[0].replace("&amp;", "&"))
    assert sign_in.status_code == 200 and "Libraries that sign you in themselves" in sign_in.text


def test_a_replayed_or_forged_state_is_refused(
    at_university: LiveHub, university: University
) -> None:
    rp = at_university.add_rp("monash")
    browser, callback = back_at_hub(at_university, university, rp, "alice")
    assert browser.http.get(callback).status_code == 303
    replayed = browser.http.get(callback)
    assert replayed.status_code == 400 and "This sign-in cannot be finished" in replayed.text
    query = parse_qs(urlsplit(callback).query)
    forged = browser.get(f"/oidc/callback?code={query['code'][0]}&state={'x' * 43}")
    assert forged.status_code == 400 and "This sign-in cannot be finished" in forged.text


def test_an_answer_brought_to_another_browser_signs_no_one_in(
    at_university: LiveHub, university: University
) -> None:
    rp = at_university.add_rp("monash")
    browser, callback = back_at_hub(at_university, university, rp, "alice")
    stranger = at_university.browser()  # the link sent to someone else (login CSRF)
    refused = stranger.get(callback)
    assert refused.status_code == 400 and "This sign-in cannot be finished" in refused.text
    stranger.http.cookies.set("hub_federated", "a-cookie-of-their-own")
    assert stranger.get(callback).status_code == 400
    # the patron's own browser still finishes
    assert browser.http.get(callback).status_code == 303


def test_the_waiting_request_is_kept_one_use_and_short_lived(
    at_university: LiveHub, university: University
) -> None:
    rp = at_university.add_rp("monash")
    browser, callback = back_at_hub(at_university, university, rp, "alice")
    with Session(at_university.engine) as session:
        [row] = session.exec(select(FederatedSignin)).all()
    assert row.used_at is None and row.patron is None
    assert (row.expires_at - row.created_at).total_seconds() == 600
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert state not in (row.id, row.binding)  # kept as hashes only
    resumed = browser.http.get(callback).headers["location"]
    assert browser.get(resumed).status_code == 200
    assert "Share this" not in browser.get(resumed).text  # the consent page is shown once


def test_a_provider_that_cannot_be_reached_is_a_503_page(
    live_hub: LiveHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    publish_university(live_hub, tmp_path, f"http://127.0.0.1:{free_port()}")
    browser, leaving = to_provider(live_hub, live_hub.add_rp("monash"))
    assert leaving.status_code == 503
    assert int(leaving.headers["retry-after"]) > 0
    assert f"{UNIVERSITY}&#39;s sign-in cannot be reached just now" in leaving.text


def test_a_missing_client_secret_is_a_503_page_and_names_no_secret(
    live_hub: LiveHub, university: University, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    publish_university(live_hub, tmp_path, university.issuer)
    rp = live_hub.add_rp("monash")
    browser, callback = back_at_hub(live_hub, university, rp, "alice")
    page = browser.http.get(callback)
    assert page.status_code == 503 and int(page.headers["retry-after"]) >= 60
    assert "cannot be reached just now" in page.text
    assert SECRET_ENV not in page.text


def test_choosing_the_university_in_the_list_goes_there_with_no_card_or_pin(
    at_university: LiveHub, university: University
) -> None:
    """Without JavaScript the card and PIN fields stay on the page: left empty, they are not
    asked for."""
    browser = at_university.browser()
    login = browser.get(at_university.add_rp("monash").authorization_url())
    [form] = [f for f in forms(login.text) if "card" in f.fields]
    assert "uni" in form.selects["library"]
    url = urljoin(str(login.url), form.action)
    leaving = browser.http.post(url, data={**form.fields, "library": "uni"})
    assert leaving.status_code == 303
    assert leaving.headers["location"].startswith(f"{university.issuer}/auth?")
