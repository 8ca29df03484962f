"""The sign-in and consent pages as a patron meets them: one message for a wrong card or PIN,
nothing asked of the home library without a PIN or a CSRF token, the home library found from
the card, a 503 when it cannot be reached, the guessing limit, and a consent page that shows
exactly what the lender will get."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest
from babel.dates import format_date
from sqlmodel import Session, func, select

import policies
from identity.agreements import publishing
from identity.store.database import transaction
from identity.store.models import LoginAttempt
from tests.conftest import free_port
from tests.identity.oauth.browser import Browser, forms
from tests.identity.oauth.conftest import GOOD, OWES, LiveHub
from tests.identity.visible import visible_text

WRONG = "The card number and PIN do not match"


def attempts(live_hub: LiveHub) -> int:
    with Session(live_hub.engine) as session:
        return int(session.exec(select(func.count()).select_from(LoginAttempt)).one())


def problem(html: str) -> str:
    start = html.index('<div class="error"')
    return html[start : html.index("</div>", start)]


def login_page(live_hub: LiveHub) -> tuple[Browser, httpx.Response]:
    browser = live_hub.browser()
    page = browser.get(live_hub.add_rp("monash").authorization_url())
    assert page.status_code == 200
    return browser, page


def test_a_wrong_pin_and_an_unknown_card_get_the_same_message(live_hub: LiveHub) -> None:
    browser, page = login_page(live_hub)
    wrong_pin = browser.submit(page, {"card": GOOD, "pin": "9999"})
    browser, page = login_page(live_hub)
    unknown = browser.submit(page, {"card": "21119999999999", "pin": "9999"})
    for answer in (wrong_pin, unknown):
        assert answer.status_code == 400
        assert WRONG in answer.text
        assert 'role="alert"' in answer.text and 'aria-invalid="true"' in answer.text
    assert problem(wrong_pin.text) == problem(unknown.text)
    assert attempts(live_hub) == 2


def test_an_empty_pin_is_refused_before_the_home_library_is_asked(live_hub: LiveHub) -> None:
    browser, page = login_page(live_hub)
    answer = browser.submit(page, {"card": GOOD, "pin": ""})
    assert answer.status_code == 400 and "Enter your PIN." in answer.text
    assert f'value="{GOOD}"' in answer.text  # the card number is kept
    assert attempts(live_hub) == 0


def test_a_post_without_the_csrf_token_is_not_taken(live_hub: LiveHub) -> None:
    browser, page = login_page(live_hub)
    [form] = [f for f in forms(page.text) if f.method == "post"]
    url = str(page.url.join(form.action))
    forged = httpx.post(url, data={"card": GOOD, "pin": GOOD[-4:]})  # another site's form
    assert forged.status_code == 400 and "expired" in forged.text
    wrong_token = browser.http.post(url, data={"card": GOOD, "pin": GOOD[-4:], "csrf": "x.y"})
    assert wrong_token.status_code == 400 and "expired" in wrong_token.text
    assert attempts(live_hub) == 0


def test_the_home_library_is_found_from_the_card_or_chosen(live_hub: LiveHub) -> None:
    browser, page = login_page(live_hub)
    assert "rmit" in forms(page.text)[1].selects["library"]
    chosen = browser.submit(page, {"library": "rmit", "card": GOOD, "pin": GOOD[-4:]})
    assert chosen.status_code == 200 and "Share this with Monash" in chosen.text

    browser, page = login_page(live_hub)
    nowhere = browser.submit(page, {"card": "99990000000001", "pin": "0001"})
    assert nowhere.status_code == 400
    assert "the card number does not say which it is" in nowhere.text
    assert attempts(live_hub) == 1


def test_the_library_list_can_be_searched_without_javascript(live_hub: LiveHub) -> None:
    browser, page = login_page(live_hub)
    found = browser.submit(page, {"find": "deak"}, method="get")
    assert found.status_code == 200
    assert forms(found.text)[1].selects["library"] == ["", "deakin"]
    signed_in = browser.submit(
        found, {"library": "deakin", "card": "24440000000001", "pin": "0001"}
    )
    assert signed_in.status_code == 200 and "Share this with" in signed_in.text


def test_the_guessing_limit_stops_a_card_before_its_library_is_asked(live_hub: LiveHub) -> None:
    for _ in range(5):  # the default: 5 failures per card in 15 minutes
        browser, page = login_page(live_hub)
        assert browser.submit(page, {"card": GOOD, "pin": "0000"}).status_code == 400
    browser, page = login_page(live_hub)
    stopped = browser.submit(page, {"card": GOOD, "pin": GOOD[-4:]})  # even the right PIN
    assert stopped.status_code == 429
    assert int(stopped.headers["retry-after"]) > 0
    assert "Too many sign-in attempts" in stopped.text
    assert attempts(live_hub) == 5
    browser, page = login_page(live_hub)  # another card from the same place is still fine
    other = browser.submit(page, {"card": "21110000000002", "pin": "0002"})
    assert other.status_code == 200


def publish_far_library(live_hub: LiveHub, tmp_path: Path) -> None:
    """Add a SIP2 library whose ILS does not answer (nothing listens on its port)."""
    examples = Path(policies.__file__).parent / "examples"
    extra = tmp_path / "farlib.yaml"
    extra.write_text(
        "libraries:\n"
        "  - id: farlib\n"
        "    name: Far Away Library\n"
        '    card_prefixes: ["2999"]\n'
        "    categories: {UG: undergraduate}\n"
        f"    connector: {{kind: sip2, host: 127.0.0.1, port: {free_port()}, institution: far,"
        " timeout_s: 1}\n"
    )
    sources = [*policies.read(examples), (str(extra), extra.read_text())]
    with transaction(live_hub.engine) as session:
        publishing.publish(session=session, sources=sources, actor="test", note="farlib")


def test_an_unreachable_home_library_is_a_503_and_never_a_sign_in(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    publish_far_library(live_hub, tmp_path)
    browser, page = login_page(live_hub)
    answer = browser.submit(page, {"card": "29990000000001", "pin": "1234"})
    assert answer.status_code == 503
    assert int(answer.headers["retry-after"]) > 0
    assert "Far Away Library cannot check cards just now" in answer.text


def test_the_consent_page_lists_exactly_what_the_scope_gives(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    rp.scope = "openid profile"
    browser = live_hub.browser()
    consent = browser.submit(browser.get(rp.authorization_url()), {"card": GOOD, "pin": GOOD[-4:]})
    assert "Your name" in consent.text and "Avery Good" in consent.text
    for absent in ("Your home library", "may lend to you", "Your card number", GOOD):
        assert absent not in consent.text
    buttons = forms(consent.text)[0].buttons
    assert buttons == [("decision", "allow"), ("decision", "deny")]


def test_a_consent_ticket_works_only_for_its_own_request(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    consent = browser.submit(browser.get(rp.authorization_url()), {"card": GOOD, "pin": GOOD[-4:]})
    ticket = forms(consent.text)[0].fields["ticket"]
    other = browser.get(rp.authorization_url())  # another request, same browser
    [form] = [f for f in forms(other.text) if f.method == "post"]
    answer = browser.http.post(
        str(other.url.join(form.action)),
        data={"csrf": form.fields["csrf"], "ticket": ticket, "decision": "allow"},
    )
    assert answer.status_code == 400 and "expired" in answer.text
    tampered = browser.http.post(
        str(consent.url), data={**forms(consent.text)[0].fields, "ticket": ticket[:-4] + "AAAA",
                                "decision": "allow"},
    )  # fmt: skip
    assert tampered.status_code == 400 and "location" not in tampered.headers


def test_pages_cannot_be_framed_or_cached(live_hub: LiveHub) -> None:
    _, page = login_page(live_hub)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert 'autocomplete="current-password"' in page.text and '<label for="pin">' in page.text


def leaves(value: object) -> list[str]:
    """Every scalar in a claim value, as text."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


#: how the consent page says each value the lender receives: names, never ids or codes
SAID = {
    "rmit": "RMIT University Library",
    "caval-2026": "CAVAL Reciprocal Borrowing 2026",
    "undergraduate": "undergraduate students",
    "good": "No blocks on your card at RMIT University Library.",
    "reserve": "reserve collection",
    "av": "audio-visual material",
    "home_library": "RMIT University Library, when it checked your card",
}


@pytest.mark.parametrize(
    "scope", ["openid borrowing", "openid profile membership borrowing"], ids=["borrowing", "all"]
)
@pytest.mark.parametrize("card", [GOOD, OWES], ids=["good", "owes"])
def test_everything_the_lender_receives_was_on_the_consent_page(
    live_hub: LiveHub, scope: str, card: str
) -> None:
    rp = live_hub.add_rp("monash")
    rp.scope = scope
    browser = live_hub.browser()
    consent = browser.submit(browser.get(rp.authorization_url()), {"card": card, "pin": card[-4:]})
    claims = rp.verify(
        rp.exchange(browser.submit(consent, {"decision": "allow"}).headers["location"])["id_token"]
    )
    protocol = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "at_hash", "sub"}
    shown = visible_text(consent.text)
    borrowing = claims.get("borrowing", {})
    for name, value in claims.items():
        if name in protocol:
            continue
        skip = {"decided_at", "lender", "reasons"}
        for leaf in leaves({k: v for k, v in value.items() if k not in skip}
                           if isinstance(value, dict) else value):  # fmt: skip
            if len(leaf) == 10 and leaf[4] == "-":  # an ISO date, shown as people write it
                leaf = format_date(date.fromisoformat(leaf), format="long", locale="en")
            assert SAID.get(leaf, leaf) in shown, f"{name}: {leaf!r} is not on the consent page"
    for reason in borrowing.get("reasons", []):
        assert reason["advice"] in shown  # the advice; the staff's message and code are not
        assert reason["code"] not in shown and reason["agreement"] not in shown
    if card == OWES:
        assert "You owe A$25.50 to RMIT University Library." in shown
        assert "standing: good" not in shown.lower()


def test_a_consent_can_be_answered_once_and_only_in_its_browser(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    consent = browser.submit(browser.get(rp.authorization_url()), {"card": GOOD, "pin": "0001"})
    denied = browser.submit(consent, {"decision": "deny"})
    assert "access_denied" in denied.headers["location"]
    again = browser.submit(consent, {"decision": "allow"})  # the back button on a shared PC
    assert again.status_code == 400 and "expired" in again.text

    consent = browser.submit(browser.get(rp.authorization_url()), {"card": GOOD, "pin": "0001"})
    elsewhere = live_hub.browser()  # another browser, with a CSRF cookie of its own
    own = elsewhere.get(str(consent.url))
    [form] = [f for f in forms(own.text) if f.method == "post"]
    lifted = elsewhere.http.post(
        str(consent.url),
        data={"csrf": form.fields["csrf"], "ticket": forms(consent.text)[0].fields["ticket"],
              "decision": "allow"},
    )  # fmt: skip
    assert lifted.status_code == 400 and "location" not in lifted.headers
    assert browser.submit(consent, {"decision": "allow"}).status_code == 302  # still its own


@pytest.mark.db
def test_a_consent_posted_at_once_from_many_tabs_gets_one_code(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    browser = live_hub.browser()
    consent = browser.submit(browser.get(rp.authorization_url()), {"card": GOOD, "pin": "0001"})
    [form] = forms(consent.text)
    post = {**form.fields, "decision": "allow"}
    url = str(consent.url.join(form.action))
    barrier = threading.Barrier(8)

    def answer() -> httpx.Response:
        barrier.wait()
        return browser.http.post(url, data=post)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: answer(), range(8)))
    codes = [a for a in answers if a.status_code == 302 and "code=" in a.headers["location"]]
    assert len(codes) == 1
    assert all(a.status_code == 400 and "expired" in a.text for a in answers if a not in codes)
    assert "id_token" in rp.exchange(codes[0].headers["location"])


def test_an_unreachable_library_does_not_count_as_a_guess(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    publish_far_library(live_hub, tmp_path)
    for _ in range(7):
        browser, page = login_page(live_hub)
        assert browser.submit(page, {"card": "29990000000001", "pin": "1234"}).status_code == 503
    with Session(live_hub.engine) as session:
        outcomes = session.exec(select(LoginAttempt.outcome)).all()
    assert outcomes == ["unanswered"] * 7


def inputmodes(page: str) -> dict[str, str]:
    """The keyboard each field of the sign-in form asks a phone for."""
    found = {}
    for name in ("card", "pin"):
        tag = page[page.index(f'<input id="{name}"') :]
        tag = tag[: tag.index(">")]
        found[name] = tag.split('inputmode="', 1)[1].split('"', 1)[0]
    return found


def publish_koha_library(live_hub: LiveHub, tmp_path: Path) -> None:
    """Add a library whose cards are letters and digits and whose PINs are passwords."""
    examples = Path(policies.__file__).parent / "examples"
    extra = tmp_path / "koha.yaml"
    extra.write_text(
        "libraries:\n"
        "  - id: koha\n"
        "    name: Koha Public Library\n"
        '    card_pattern: "[A-Z]{2}[0-9]{4}"\n'
        "    pin_format: text\n"
        "    categories: {PT: public}\n"
    )
    sources = [*policies.read(examples), (str(extra), extra.read_text())]
    with transaction(live_hub.engine) as session:
        publishing.publish(session=session, sources=sources, actor="test", note="koha")


def test_the_keyboards_are_numeric_only_where_every_card_and_pin_is(live_hub: LiveHub) -> None:
    _, page = login_page(live_hub)  # the demo network: 14-digit cards and numeric PINs
    assert inputmodes(page.text) == {"card": "numeric", "pin": "numeric"}
    assert 'value="rmit" data-card="numeric" data-pin="numeric"' in page.text


def test_the_keyboards_follow_the_library_chosen(live_hub: LiveHub, tmp_path: Path) -> None:
    publish_koha_library(live_hub, tmp_path)
    browser, page = login_page(live_hub)
    assert inputmodes(page.text) == {"card": "text", "pin": "text"}  # not chosen yet
    assert 'value="koha" data-card="text" data-pin="text"' in page.text
    assert 'value="" data-card="text" data-pin="text"' in page.text

    koha = browser.submit(page, {"library": "koha", "card": "KO1234", "pin": ""})
    assert koha.status_code == 400 and "Enter your PIN." in koha.text
    assert inputmodes(koha.text) == {"card": "text", "pin": "text"}
    rmit = browser.submit(page, {"library": "rmit", "card": GOOD, "pin": ""})
    assert inputmodes(rmit.text) == {"card": "numeric", "pin": "numeric"}

    wrong = browser.submit(page, {"library": "koha", "card": GOOD, "pin": "1234"})
    assert wrong.status_code == 400
    assert "This is not a Koha Public Library card number. Check it and try again." in wrong.text
    assert attempts(live_hub) == 0  # no home library was asked


def test_the_sign_in_page_may_run_its_own_script_and_no_other(live_hub: LiveHub) -> None:
    _, page = login_page(live_hub)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert '<script src="/static/signin.js" defer></script>' in page.text
    assert "<script>" not in page.text
    script = httpx.get(f"{live_hub.issuer}/static/signin.js")
    assert script.status_code == 200 and "inputmode" in script.text
