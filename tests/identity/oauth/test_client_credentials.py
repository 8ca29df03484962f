"""Client credentials (RFC 6749 4.4): a partner library system's token for the eligibility API,
a signed JWT access token (RFC 9068, ES256) naming the client and its scope."""

from __future__ import annotations

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from identity import demo
from tests.identity.oauth.conftest import LiveHub


def test_a_partner_gets_a_signed_access_token(live_hub: LiveHub) -> None:
    client_id = "demo-monash-partner"
    with OAuth2Client(client_id, demo.client_secret("monash", "partner")) as client:
        token = client.fetch_token(f"{live_hub.issuer}/token", grant_type="client_credentials")
    assert token["token_type"] == "Bearer" and token["scope"] == "eligibility"
    assert "refresh_token" not in token and "id_token" not in token
    keys = KeySet.import_key_set(httpx.get(f"{live_hub.issuer}/jwks.json").json())
    decoded = jwt.decode(token["access_token"], keys, algorithms=["ES256"])
    assert decoded.header["typ"] == "at+jwt"
    claims = decoded.claims
    assert (claims["iss"], claims["sub"], claims["client_id"]) == (
        live_hub.issuer, client_id, client_id,
    )  # fmt: skip
    assert claims["scope"] == "eligibility" and claims["exp"] - claims["iat"] == 3600


def test_a_relying_party_and_a_wrong_secret_cannot_use_client_credentials(
    live_hub: LiveHub,
) -> None:
    rp = live_hub.add_rp("monash")
    answer = httpx.post(
        f"{live_hub.issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(rp.client_id, rp.client_secret or ""),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"
    wrong = httpx.post(
        f"{live_hub.issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-monash-partner", "wrong"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_unknown_grant_types_are_refused(live_hub: LiveHub) -> None:
    answer = httpx.post(f"{live_hub.issuer}/token", data={"grant_type": "password"})
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_a_partner_gets_only_the_scopes_it_is_registered_for(live_hub: LiveHub) -> None:
    secret = demo.client_secret("monash", "partner")
    with OAuth2Client("demo-monash-partner", secret, scope="eligibility openid card") as client:
        token = client.fetch_token(f"{live_hub.issuer}/token", grant_type="client_credentials")
    assert token["scope"] == "eligibility"
    only_others = httpx.post(
        f"{live_hub.issuer}/token",
        data={"grant_type": "client_credentials", "scope": "openid card"},
        auth=("demo-monash-partner", secret),
    )
    assert only_others.status_code == 400 and only_others.json()["error"] == "invalid_scope"
