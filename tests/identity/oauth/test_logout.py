"""RP-initiated logout: the sign-in's tokens are revoked, and the browser returns only to a
post-logout URI registered exactly, and only with an ID token the hub signed."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from tests.identity.oauth.conftest import GOOD, LiveHub


def test_logout_revokes_the_sign_in_and_returns_to_the_lender(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    browser = live_hub.browser()
    answer = browser.get(
        "/logout?"
        + urlencode(
            {
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": f"{live_hub.issuer}/signed-out",
                "state": "bye",
            }
        )
    )
    assert answer.status_code == 302
    assert answer.headers["location"] == f"{live_hub.issuer}/signed-out?state=bye"
    with rp.oauth() as client:
        for kind in ("access_token", "refresh_token"):
            info = client.introspect_token(f"{rp.issuer}/introspect", token=token[kind]).json()
            assert info == {"active": False}


def test_logout_never_redirects_to_an_unregistered_uri(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    query = {
        "id_token_hint": token["id_token"],
        "post_logout_redirect_uri": "https://evil.example/",
    }
    answer = live_hub.browser().get("/logout?" + urlencode(query))
    assert answer.status_code == 200 and "location" not in answer.headers
    assert "You are signed out" in answer.text


def test_a_forged_id_token_hint_is_refused(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    header, payload, signature = token["id_token"].split(".")
    forged = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    answer = live_hub.browser().get(
        "/logout?" + urlencode({"id_token_hint": forged,
                                "post_logout_redirect_uri": f"{live_hub.issuer}/signed-out"})
    )  # fmt: skip
    assert answer.status_code == 400 and "location" not in answer.headers
    with rp.oauth() as client:
        info = client.introspect_token(f"{rp.issuer}/introspect", token=token["refresh_token"])
    assert info.json()["active"] is True
    assert httpx.get(f"{live_hub.issuer}/logout").status_code == 200  # nothing to end
