"""Token introspection (RFC 7662) and revocation (RFC 7009), by Authlib's client."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.identity.oauth.conftest import GOOD, LiveHub


def test_introspection_describes_a_live_token_to_its_own_client(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    with rp.oauth() as client:
        answer = client.introspect_token(f"{rp.issuer}/introspect", token=token["access_token"])
    info = answer.json()
    assert info["active"] is True
    assert info["client_id"] == rp.client_id and info["scope"] == token["scope"]
    assert info["sub"] == rp.verify(token["id_token"])["sub"]
    assert info["iss"] == live_hub.issuer and info["exp"] - info["iat"] == 3600
    assert abs(info["iat"] - time.time()) < 120  # in UTC, whatever the server's zone

    other = live_hub.add_rp("latrobe")
    with other.oauth() as client:  # another client learns nothing about it
        hidden = client.introspect_token(f"{rp.issuer}/introspect", token=token["access_token"])
    assert hidden.json() == {"active": False}
    unauthenticated = httpx.post(f"{rp.issuer}/introspect", data={"token": token["access_token"]})
    assert unauthenticated.status_code == 401


def test_revoking_a_refresh_token_ends_the_sign_in(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    with rp.oauth() as client:
        revoked = client.revoke_token(
            f"{rp.issuer}/revoke", token=token["refresh_token"], token_type_hint="refresh_token"
        )
        assert revoked.status_code == 200
        for kind in ("refresh_token", "access_token"):
            answer = client.introspect_token(f"{rp.issuer}/introspect", token=token[kind])
            assert answer.json() == {"active": False}
    userinfo = httpx.get(
        f"{rp.issuer}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert userinfo.status_code == 401


def test_revoking_an_access_token_and_unknown_tokens(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    with rp.oauth() as client:
        assert (
            client.revoke_token(f"{rp.issuer}/revoke", token=token["access_token"]).status_code
            == 200
        )
        assert client.introspect_token(
            f"{rp.issuer}/introspect", token=token["access_token"]
        ).json() == {"active": False}
        # RFC 7009 2.2: an unknown token is answered 200 too
        assert client.revoke_token(f"{rp.issuer}/revoke", token="no-such-token").status_code == 200


def test_a_client_cannot_revoke_another_clients_token(live_hub: LiveHub) -> None:
    rp, other = live_hub.add_rp("monash"), live_hub.add_rp("monash")
    token = rp.sign_in(live_hub.browser(), GOOD)
    with other.oauth() as client:
        refused = client.revoke_token(f"{rp.issuer}/revoke", token=token["refresh_token"])
    assert refused.status_code == 400
    with rp.oauth() as client:
        still = client.introspect_token(f"{rp.issuer}/introspect", token=token["refresh_token"])
    assert still.json()["active"] is True


@pytest.mark.parametrize("endpoint", ["introspect", "revoke"])
def test_an_unknown_token_type_hint_is_a_400(live_hub: LiveHub, endpoint: str) -> None:
    rp = live_hub.add_rp("monash")
    answer = httpx.post(
        f"{rp.issuer}/{endpoint}",
        data={"token": "anything", "token_type_hint": "id_token"},
        auth=(rp.client_id, rp.client_secret or ""),
    )
    assert answer.status_code == 400  # RFC 7009 2.2.1, an error as in RFC 6749 5.2
    assert answer.json()["error"] == "unsupported_token_type"
    empty = httpx.post(  # a parameter without a value is as if it were left out (6749 3.1)
        f"{rp.issuer}/{endpoint}",
        data={"token": "anything", "token_type_hint": ""},
        auth=(rp.client_id, rp.client_secret or ""),
    )
    assert empty.status_code == 200


@pytest.mark.parametrize("endpoint", ["token", "introspect", "revoke"])
def test_a_client_that_does_not_exist_is_a_401_however_it_authenticates(
    live_hub: LiveHub, endpoint: str
) -> None:
    form = {"grant_type": "client_credentials", "token": "anything"}
    in_the_form = httpx.post(
        f"{live_hub.issuer}/{endpoint}",
        data={**form, "client_id": "nobody", "client_secret": "wrong"},
    )
    in_the_header = httpx.post(f"{live_hub.issuer}/{endpoint}", data=form, auth=("nobody", "x"))
    for answer in (in_the_form, in_the_header):
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_client"
        assert answer.headers["www-authenticate"].startswith("Basic")
