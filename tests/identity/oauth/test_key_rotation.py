"""``hub keys rotate`` in the middle of a sign-in: the new key signs from then on, and the old
key stays published, so tokens it signed still verify until they expire."""

from __future__ import annotations

import httpx
from joserfc import jws

from identity.oauth import signing_keys
from identity.store.database import transaction
from tests.identity.oauth.browser import forms
from tests.identity.oauth.conftest import GOOD, SECRET, LiveHub


def kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).headers()["kid"])


def published(live_hub: LiveHub) -> set[str]:
    return {key["kid"] for key in httpx.get(f"{live_hub.issuer}/jwks.json").json()["keys"]}


def test_rotating_the_key_mid_sign_in_breaks_nothing(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    before = rp.sign_in(live_hub.browser(), GOOD)
    old_kid, old_nonce = kid(before["id_token"]), rp.nonce
    assert published(live_hub) == {old_kid}

    browser = live_hub.browser()  # a patron is on the consent page when the key is rotated
    consent = browser.submit(browser.get(rp.authorization_url()), {"card": GOOD, "pin": "0001"})
    assert forms(consent.text)[0].buttons
    with transaction(live_hub.engine) as session:
        new_kid = signing_keys.rotate(session=session, secret=SECRET, actor="test").kid
    after = rp.exchange(browser.submit(consent, {"decision": "allow"}).headers["location"])

    assert kid(after["id_token"]) == kid(after["access_token"]) == new_kid != old_kid
    assert published(live_hub) == {old_kid, new_kid}
    assert rp.verify(after["id_token"])["name"] == "Avery Good"
    assert rp.verify(before["id_token"], old_nonce)["name"] == "Avery Good"  # still verifies
    with rp.oauth() as client:
        info = client.introspect_token(f"{rp.issuer}/introspect", token=before["access_token"])
    assert info.json()["active"] is True
