"""``hub keys rotate`` in the middle of a sign-in: the new keys sign from then on, and the old
ones stay published, so tokens they signed still verify until they expire."""

from __future__ import annotations

import httpx
from joserfc import jws

from identity.oauth import signing_keys
from identity.store.database import transaction
from tests.conftest import SECRET
from tests.identity.oauth.browser import forms
from tests.identity.oauth.conftest import GOOD, LiveHub


def kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).headers()["kid"])


def published(live_hub: LiveHub) -> set[str]:
    return {key["kid"] for key in httpx.get(f"{live_hub.issuer}/jwks.json").json()["keys"]}


def test_rotating_the_key_mid_sign_in_breaks_nothing(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    before = rp.sign_in(live_hub.browser(), GOOD)
    old_kids, old_nonce = {kid(before["id_token"]), kid(before["access_token"])}, rp.nonce
    assert published(live_hub) == old_kids and len(old_kids) == 2  # RS256 and ES256

    browser = live_hub.browser()  # a patron is on the consent page when the keys are rotated
    consent = browser.submit(browser.get(rp.authorization_url()), {"card": GOOD, "pin": "0001"})
    assert forms(consent.text)[0].buttons
    with transaction(live_hub.engine) as session:
        new = signing_keys.rotate_all(session=session, secret=SECRET, actor="test")
        new_kids = {key.alg: key.kid for key in new}
    after = rp.exchange(browser.submit(consent, {"decision": "allow"}).headers["location"])

    assert kid(after["id_token"]) == new_kids["RS256"]
    assert kid(after["access_token"]) == new_kids["ES256"]
    assert published(live_hub) == old_kids | set(new_kids.values())
    assert not old_kids & set(new_kids.values())
    assert rp.verify(after["id_token"])["name"] == "Avery Good"
    assert rp.verify(before["id_token"], old_nonce)["name"] == "Avery Good"  # still verifies
    with rp.oauth() as client:
        info = client.introspect_token(f"{rp.issuer}/introspect", token=before["access_token"])
    assert info.json()["active"] is True
