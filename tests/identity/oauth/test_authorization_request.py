"""What the authorization endpoint refuses (RFC 6749 4.1.2.1, RFC 7636, RFC 9207): a bad client
or redirect URI gets a page and never a redirect; everything else goes back to the client
with ``error``, ``state`` and ``iss``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.identity.oauth.conftest import GOOD, LiveHub
from tests.identity.oauth.relying_party import RelyingParty

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B


def params(rp: RelyingParty, **changes: str | None) -> str:
    base: dict[str, str | None] = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    base.update(changes)
    return "/authorize?" + urlencode({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "nobody"},
        {"client_id": None},
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": None},  # OpenID Connect requires it, even with one registered
    ],
    ids=["unknown client", "no client", "unregistered redirect", "no redirect"],
)
def test_a_bad_client_or_redirect_uri_gets_a_page_not_a_redirect(
    live_hub: LiveHub, changes: dict[str, str | None]
) -> None:
    rp = live_hub.add_rp("monash")
    answer = live_hub.browser().get(params(rp, **changes))
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "This sign-in link is not valid" in answer.text


def test_redirect_uris_match_exactly(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    for near_miss in [rp.redirect_uri + "/", rp.redirect_uri + "?x=1", rp.redirect_uri.upper()]:
        answer = live_hub.browser().get(params(rp, redirect_uri=near_miss))
        assert answer.status_code == 400 and "location" not in answer.headers


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"prompt": "none"}, "login_required"),  # the hub keeps no session to reuse
    ],
    ids=["no PKCE", "plain PKCE", "no PKCE method", "bad challenge", "implicit", "prompt none"],
)
def test_other_refusals_go_back_to_the_client_with_state_and_iss(
    live_hub: LiveHub, changes: dict[str, str | None], error: str
) -> None:
    rp = live_hub.add_rp("monash")
    answer = live_hub.browser().get(params(rp, **changes))
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == rp.redirect_uri
    query = parse_qs(location.query)
    assert query["error"] == [error]
    assert query["state"] == ["s-1"]
    assert query["iss"] == [live_hub.issuer]


def test_a_partner_client_cannot_use_the_code_flow(live_hub: LiveHub) -> None:
    partner = RelyingParty(live_hub.issuer, "demo-monash-partner", None, "http://127.0.0.1/cb")
    answer = live_hub.browser().get(params(partner))
    assert answer.status_code == 400 and "location" not in answer.headers


@pytest.mark.parametrize("repeated", ["scope=openid+card", "nonce=other", "prompt=none"])
def test_a_repeated_parameter_is_refused(live_hub: LiveHub, repeated: str) -> None:
    rp = live_hub.add_rp("monash")
    answer = live_hub.browser().get(params(rp, prompt="login") + "&" + repeated)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert f"{repeated.split('=')[0]} given more than once" in answer.text


@pytest.mark.parametrize(
    "changes",
    [{"response_type": 'code"'}, {"response_type": "cöde"}, {"redirect_uri": "http://x/é\\"}],
)
def test_malformed_values_get_a_page_not_a_server_error(
    live_hub: LiveHub, changes: dict[str, str]
) -> None:
    rp = live_hub.add_rp("monash")
    answer = live_hub.browser().get(params(rp, **changes))
    assert answer.status_code == 400 and "This sign-in link is not valid" in answer.text


@pytest.mark.parametrize(
    ("changes", "error"),
    [({"scope": None}, "invalid_scope"), ({"scope": "card"}, "invalid_scope"),
     ({"nonce": "n" * 256}, "invalid_request")],
    ids=["no scope", "only scopes not allowed", "nonce too long"],
)  # fmt: skip
def test_scope_and_nonce_are_checked(
    live_hub: LiveHub, changes: dict[str, str | None], error: str
) -> None:
    rp = live_hub.add_rp("monash")
    answer = live_hub.browser().get(params(rp, **changes))
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == [error]


def test_denying_consent_tells_the_client_access_denied(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    back = live_hub.browser().sign_in(
        rp.authorization_url(), card=GOOD, pin=GOOD[-4:], decision="deny"
    )
    query = parse_qs(urlsplit(back.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [rp.state] and query["iss"] == [live_hub.issuer]
    assert "code" not in query


def test_a_nonce_that_came_with_a_live_code_is_refused(live_hub: LiveHub) -> None:
    """At the sign-in page, and at the consent of a request that got that far before the
    first code was made (two tabs with one authorization link)."""
    rp = live_hub.add_rp("monash")
    first, second = live_hub.browser(), live_hub.browser()
    waiting = second.submit(second.get(params(rp)), {"card": GOOD, "pin": GOOD[-4:]})
    assert waiting.status_code == 200  # the consent page of the second tab
    code = first.sign_in(params(rp), card=GOOD, pin=GOOD[-4:])
    assert "code" in parse_qs(urlsplit(code.headers["location"]).query)

    for replayed in (
        live_hub.browser().get(params(rp)),
        second.submit(waiting, {"decision": "allow"}),
    ):
        assert replayed.status_code == 302
        query = parse_qs(urlsplit(replayed.headers["location"]).query)
        assert query["error"] == ["invalid_request"] and "code" not in query
        assert query["state"] == ["s-1"] and query["iss"] == [live_hub.issuer]
    other = first.sign_in(params(rp, nonce="n-2"), card=GOOD, pin=GOOD[-4:])
    assert "code" in parse_qs(urlsplit(other.headers["location"]).query)
