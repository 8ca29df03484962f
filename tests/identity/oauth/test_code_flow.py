"""The authorization code flow end to end, with Authlib's OAuth client as the relying party and
a no-JavaScript browser as the patron: PKCE, state, nonce, ``iss``, the ID token verified
against the published JWKS, the claims of docs/signing-in.md, and userinfo."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.identity.oauth.conftest import BLOCKED, EXPIRED, GOOD, OWES, LiveHub


def test_a_patron_signs_in_and_the_lender_gets_a_verified_id_token(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    back = browser.sign_in(rp.authorization_url(), card=GOOD, pin=GOOD[-4:])

    assert back.status_code == 302
    location = urlsplit(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == rp.redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == [rp.state]
    assert query["iss"] == [live_hub.issuer]  # RFC 9207

    token = rp.exchange(back.headers["location"])
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "openid profile membership borrowing"
    assert token["refresh_token"] and token["expires_in"] == 3600
    claims = rp.verify(token["id_token"])
    assert claims["name"] == "Avery Good"
    assert claims["home_library"] == {"id": "rmit", "name": "RMIT University Library"}
    assert claims["patron_category"] == "undergraduate"
    assert claims["standing"] == "good"
    assert claims["amr"] == ["pwd"] and isinstance(claims["auth_time"], int)
    borrowing = claims["borrowing"]
    assert borrowing["eligible"] is True
    assert (borrowing["lender"], borrowing["home_library"]) == ("monash", "rmit")
    assert borrowing["agreements"] == ["caval-2026"] and borrowing["reasons"] == []
    assert borrowing["terms"]["max_items"] > 0
    assert "card_number" not in claims and GOOD not in str(claims)  # no scope asked for it


def test_userinfo_gives_the_same_claims_for_the_access_token(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    claims = rp.verify(token["id_token"])

    answer = httpx.get(
        f"{live_hub.issuer}/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert answer.status_code == 200
    info = answer.json()
    assert info["sub"] == claims["sub"]
    assert info["name"] == "Avery Good" and info["borrowing"]["eligible"] is True

    bad = httpx.get(f"{live_hub.issuer}/userinfo", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_subjects_are_pairwise_per_lender_library_and_stable(live_hub: LiveHub) -> None:
    monash, monash_too, latrobe = (
        live_hub.add_rp("monash"),
        live_hub.add_rp("monash"),
        live_hub.add_rp("latrobe"),
    )
    subs = {
        name: rp.verify(rp.sign_in(live_hub.browser(), GOOD)["id_token"])["sub"]
        for name, rp in [("monash", monash), ("monash again", monash), ("latrobe", latrobe)]
    }
    also_monash = monash_too.verify(monash_too.sign_in(live_hub.browser(), GOOD)["id_token"])
    assert subs["monash"] == subs["monash again"] == also_monash["sub"]  # one lender library
    assert subs["latrobe"] != subs["monash"]
    assert GOOD not in subs["monash"] and len(subs["monash"]) >= 40


@pytest.mark.parametrize(
    ("card", "code", "standing"),
    [
        (BLOCKED, "blocking_flag", ["charge_denied"]),
        (EXPIRED, "card_expired", ["card_expired"]),
        (OWES, "fines_over_limit", "good"),
    ],
)
def test_patrons_not_in_good_standing_sign_in_but_may_not_borrow(
    live_hub: LiveHub, card: str, code: str, standing: object
) -> None:
    rp = live_hub.add_rp("monash")
    claims = rp.verify(rp.sign_in(live_hub.browser(), card)["id_token"])
    assert claims["standing"] == standing
    borrowing = claims["borrowing"]
    assert borrowing["eligible"] is False and borrowing["terms"] is None
    assert [reason["code"] for reason in borrowing["reasons"]] == [code]
    assert all(reason["agreement"] == "caval-2026" for reason in borrowing["reasons"])


def test_the_card_number_goes_only_to_a_client_allowed_to_see_it(live_hub: LiveHub) -> None:
    plain = live_hub.add_rp("monash")
    plain.scope += " card"  # asks, but is not registered for it: the scope is dropped
    token = plain.sign_in(live_hub.browser(), GOOD)
    assert "card" not in token["scope"].split()
    assert "card_number" not in plain.verify(token["id_token"])

    allowed = live_hub.add_rp("monash", card_number=True)
    allowed.scope += " card"
    assert (
        allowed.verify(allowed.sign_in(live_hub.browser(), GOOD)["id_token"])["card_number"] == GOOD
    )


def test_a_public_client_signs_in_with_pkce_and_no_secret(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("latrobe", public=True)
    assert rp.client_secret is None
    claims = rp.verify(rp.sign_in(live_hub.browser(), GOOD)["id_token"])
    assert claims["borrowing"]["lender"] == "latrobe"


def test_only_scopes_asked_for_are_answered(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    rp.scope = "openid"
    claims = rp.verify(rp.sign_in(live_hub.browser(), GOOD)["id_token"])
    assert not {"name", "home_library", "borrowing", "standing"} & set(claims)


def test_no_nonce_sent_means_no_nonce_claim(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    url = re.sub(r"&nonce=[^&]*", "", rp.authorization_url())
    back = live_hub.browser().sign_in(url, card=GOOD, pin=GOOD[-4:])
    token = rp.exchange(back.headers["location"])
    payload = token["id_token"].split(".")[1]
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert "nonce" not in claims  # strict relying parties refuse "nonce": null
