"""An authorization code is good once, for its own client, verifier and redirect URI; a second
redemption fails and revokes what the first got; and of many redemptions racing each other
exactly one wins (on PostgreSQL as on SQLite)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import TLS
from tests.identity.oauth.conftest import GOOD, LiveHub
from tests.identity.oauth.relying_party import RelyingParty


def code_for(live_hub: LiveHub, rp: RelyingParty) -> str:
    back = live_hub.browser().sign_in(rp.authorization_url(), card=GOOD, pin=GOOD[-4:])
    return parse_qs(urlsplit(back.headers["location"]).query)["code"][0]


def redeem(rp: RelyingParty, code: str, **changes: Any) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier,
        **changes,
    }
    auth = (rp.client_id, rp.client_secret) if rp.client_secret else None
    if auth is None:
        data["client_id"] = rp.client_id
    return httpx.post(f"{rp.issuer}/token", data=data, auth=auth, verify=TLS)


def introspect(rp: RelyingParty, token: str) -> bool:
    assert rp.client_secret is not None
    answer = httpx.post(
        f"{rp.issuer}/introspect", data={"token": token}, auth=(rp.client_id, rp.client_secret)
    )
    return bool(answer.json()["active"])


@pytest.mark.db
def test_a_code_is_good_once_and_its_replay_revokes_the_tokens(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    code = code_for(live_hub, rp)
    first = redeem(rp, code)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    tokens = first.json()
    assert introspect(rp, tokens["access_token"]) and introspect(rp, tokens["refresh_token"])

    again = redeem(rp, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert not introspect(rp, tokens["access_token"])
    assert not introspect(rp, tokens["refresh_token"])


@pytest.mark.parametrize(
    "changes",
    [
        {"code_verifier": "x" * 43},
        {"code_verifier": None},
        {"redirect_uri": "http://127.0.0.1/elsewhere"},
        {"redirect_uri": None},
    ],
    ids=["wrong verifier", "no verifier", "other redirect", "no redirect"],
)
def test_a_code_needs_its_verifier_and_redirect_uri(
    live_hub: LiveHub, changes: dict[str, str | None]
) -> None:
    rp = live_hub.add_rp("monash")
    code = code_for(live_hub, rp)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier,
        **changes,
    }
    answer = httpx.post(
        f"{rp.issuer}/token",
        data={k: v for k, v in data.items() if v is not None},
        auth=(rp.client_id, rp.client_secret or ""),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] in {"invalid_grant", "invalid_request"}
    # a stolen code without its verifier cannot spoil the patron's sign-in
    assert redeem(rp, code).status_code == 200


def test_another_client_cannot_redeem_the_code(live_hub: LiveHub) -> None:
    rp, thief = live_hub.add_rp("monash"), live_hub.add_rp("monash")
    code = code_for(live_hub, rp)
    thief.verifier = rp.verifier
    thief.redirect_uri = rp.redirect_uri
    assert redeem(thief, code).json()["error"] == "invalid_grant"
    assert redeem(rp, code).status_code == 200  # the thief's try did not spend it


def test_a_wrong_client_secret_is_refused(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    code = code_for(live_hub, rp)
    rp.client_secret = "not-the-secret"
    answer = redeem(rp, code)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_a_parameter_sent_twice_is_refused(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    code = code_for(live_hub, rp)
    answer = httpx.post(
        f"{rp.issuer}/token",
        content=f"grant_type=authorization_code&code={code}&code=other".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(rp.client_id, rp.client_secret or ""),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert answer.json()["error_description"] == "Parameter sent more than once: code"


def test_a_parameter_the_endpoint_does_not_know_is_ignored_even_when_repeated(
    live_hub: LiveHub,
) -> None:
    rp = live_hub.add_rp("monash")
    code = code_for(live_hub, rp)  # RFC 6749 3.2: "MUST ignore unrecognized request parameters"
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri,
            "code_verifier": rp.verifier}  # fmt: skip
    answer = httpx.post(
        f"{rp.issuer}/token",
        content=f"{urlencode(form)}&trace=1&trace=2".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(rp.client_id, rp.client_secret or ""),
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.db
def test_of_many_concurrent_redemptions_exactly_one_wins(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    code = code_for(live_hub, rp)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: redeem(rp, code), range(12)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [400] * 11, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}
    # every loser came after the winner spent the code, so its tokens are revoked too, even
    # those saved after a loser's revocation
    [won] = [a.json() for a in answers if a.status_code == 200]
    assert not introspect(rp, won["access_token"]) and not introspect(rp, won["refresh_token"])


def test_a_malformed_basic_header_is_invalid_client(live_hub: LiveHub) -> None:
    import base64

    garbage = base64.b64encode(b"\xff\xfe:\xff").decode()
    for endpoint in ("token", "introspect", "revoke"):
        answer = httpx.post(
            f"{live_hub.issuer}/{endpoint}",
            data={"grant_type": "client_credentials", "token": "x"},
            headers={"Authorization": f"Basic {garbage}"},
        )
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
