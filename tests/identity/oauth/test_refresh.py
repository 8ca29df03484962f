"""Refresh tokens (RFC 6749 section 6) rotate on every use; a spent one used again revokes every
token of its sign-in (RFC 9700 4.14.2)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TLS
from tests.identity.oauth.conftest import GOOD, LiveHub
from tests.identity.oauth.relying_party import RelyingParty


def refresh(rp: RelyingParty, token: str) -> httpx.Response:
    return httpx.post(
        f"{rp.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(rp.client_id, rp.client_secret or ""),
        verify=TLS,
    )


def active(rp: RelyingParty, token: str) -> bool:
    answer = httpx.post(
        f"{rp.issuer}/introspect",
        data={"token": token},
        auth=(rp.client_id, rp.client_secret or ""),
    )
    return bool(answer.json()["active"])


def test_a_refresh_gives_new_tokens_and_spends_the_old_refresh_token(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    first = rp.sign_in(live_hub.browser(), GOOD)
    with rp.oauth() as client:  # Authlib's client refreshes as a relying party would
        second = client.refresh_token(f"{rp.issuer}/token", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"]
    assert not active(rp, first["refresh_token"])
    assert active(rp, second["refresh_token"]) and active(rp, second["access_token"])
    info = httpx.get(
        f"{rp.issuer}/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"}
    ).json()
    assert info["sub"] == rp.verify(first["id_token"])["sub"] and info["name"] == "Avery Good"


@pytest.mark.db
def test_reusing_a_spent_refresh_token_revokes_the_whole_family(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    first = rp.sign_in(live_hub.browser(), GOOD)
    second = refresh(rp, first["refresh_token"]).json()
    third = refresh(rp, second["refresh_token"]).json()

    replay = refresh(rp, first["refresh_token"])  # a thief with the first refresh token
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    for token in (third["refresh_token"], third["access_token"], first["access_token"]):
        assert not active(rp, token)
    assert refresh(rp, third["refresh_token"]).status_code == 400


def test_a_refresh_token_is_bound_to_its_client(live_hub: LiveHub) -> None:
    rp, other = live_hub.add_rp("monash"), live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    assert refresh(other, token["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(rp, token["refresh_token"]).status_code == 200  # not spent by the other


def test_a_refresh_may_narrow_the_scope_but_never_widen_it(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    wider = httpx.post(
        f"{rp.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
              "scope": "openid card"},
        auth=(rp.client_id, rp.client_secret or ""),
    )  # fmt: skip
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    assert refresh(rp, token["refresh_token"]).status_code == 200  # the refusal spent nothing


def test_rotation_never_extends_a_sign_in(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    auth = (rp.client_id, rp.client_secret or "")

    def expiry(token: str) -> int:
        answer = httpx.post(f"{rp.issuer}/introspect", data={"token": token}, auth=auth)
        return int(answer.json()["exp"])

    first = rp.sign_in(live_hub.browser(), GOOD)
    first_expiry = expiry(first["refresh_token"])
    second = refresh(rp, first["refresh_token"]).json()
    assert expiry(second["refresh_token"]) <= first_expiry


@pytest.mark.db
def test_racing_refreshes_with_one_token_leave_nothing_alive(live_hub: LiveHub) -> None:
    from concurrent.futures import ThreadPoolExecutor

    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: refresh(rp, token["refresh_token"]), range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 7
    [won] = [a.json() for a in answers if a.status_code == 200]
    assert not active(rp, won["access_token"]) and not active(rp, won["refresh_token"])
