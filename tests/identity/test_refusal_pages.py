"""What a refused patron reads on the hub's pages: advice in plain words for each reason, no
reason code, agreement id or library id anywhere on a patron's page; ``/me`` (every library
that would lend, with terms, and why the others would not, for this browser's patron only); a
card of another library than the one chosen; and wait pages that lead somewhere."""

from __future__ import annotations

import re
import socket
import time
from typing import Any

import httpx
import httpx2
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.requests import Request

import policies
from identity import i18n
from identity.app import create_app
from identity.patrons import lending
from identity.security import derived_keys
from identity.settings import Settings
from identity.web import pages, patron_session, problems
from tests.conftest import SECRET, issuer_of
from tests.identity.oauth.browser import Browser, forms
from tests.identity.oauth.conftest import BLOCKED, EXPIRED, GOOD, OWES, LiveHub
from tests.identity.oauth.test_login import attempts, login_page
from tests.identity.patrons.test_advice import ADVICE, NETWORK, ON
from tests.identity.visible import visible_text

EXAMPLES = policies.load(policies.__file__.rsplit("/", 1)[0] + "/examples")
RMIT_HELP = "RMIT University Library (library.rmit.edu.au)"


def ids_and_codes(text: str, agreements: policies.Agreements) -> list[str]:
    """Every reason code, agreement id and library id found as a word of ``text`` (web and
    email addresses left out: ``library.rmit.edu.au`` names no library id)."""
    words = [w for w in re.split(r"[\s,;:()]+", text) if not re.search(r"[./@]\w", w)]
    text = " ".join(words)
    found = []
    codes = [c.value for c in policies.Code if "_" in c.value]  # "ended" is a word too
    for word in [*codes, *agreements.agreements, *agreements.libraries]:
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text):
            found.append(word)
    return found


def sign_in(live_hub: LiveHub, lender: str, card: str) -> tuple[Browser, httpx.Response]:
    rp = live_hub.add_rp(lender)
    browser = live_hub.browser()
    consent = browser.submit(browser.get(rp.authorization_url()), {"card": card, "pin": card[-4:]})
    assert consent.status_code == 200, consent.text
    return browser, consent


#: lender, rmit card, what the consent page says (each reason a demo patron meets today)
REFUSALS = [
    ("monash", OWES, "You owe A$25.50 to RMIT University Library. Monash University Library "
     "lends to patrons of RMIT University Library who owe A$10.00 or less. Pay at "
     f"{RMIT_HELP}, then sign in again."),
    ("monash", BLOCKED, "Monash University Library cannot lend to you while RMIT University "
     f"Library has stopped loans on your card. Ask {RMIT_HELP} to clear it, then sign in again."),
    ("monash", EXPIRED, "and Monash University Library lends only on a valid card. Renew it at "
     f"{RMIT_HELP}, then sign in again."),
    ("latrobe", GOOD, "La Trobe University Library has paused lending to patrons of RMIT "
     "University Library. La Trobe has paused loans to RMIT patrons while the two libraries "
     f"settle accounts. Ask {RMIT_HELP} where else you can borrow."),
    ("slv", GOOD, "State Library Victoria lends to postgraduate students and staff of RMIT "
     "University Library under State Library Borrowing for University Researchers, not to "
     "undergraduate students."),
    ("rmit", GOOD, "RMIT University Library is your own library: its own rules apply, not an "
     "agreement. Borrow there with your card as usual."),
]  # fmt: skip


def test_refusal_pages_say_what_to_do_and_show_no_code_or_id(live_hub: LiveHub) -> None:
    for lender, card, advice in REFUSALS:
        browser, consent = sign_in(live_hub, lender, card)
        shown = visible_text(consent.text)
        assert "No" in shown and advice in shown, (lender, card, shown)
        assert ids_and_codes(shown, EXAMPLES) == [], (lender, card)
        assert "Unpaid lost-item invoices" not in consent.text  # the suspension's own reason
        me = browser.get("/me")
        assert me.status_code == 200
        assert ids_and_codes(visible_text(me.text), EXAMPLES) == []
    # the standing shown never says "good" beside a refusal for fines
    _, consent = sign_in(live_hub, "monash", OWES)
    assert "No blocks on your card at RMIT University Library." in visible_text(consent.text)
    assert not re.search(r"standing\W+good", visible_text(consent.text), re.I)


@pytest.mark.parametrize("code", list(ADVICE), ids=[c.value for c in ADVICE])
def test_every_reason_reads_in_plain_words_on_the_pages(code: policies.Code) -> None:
    """The consent page and /me for a refusal of each reason code (rendered from the same
    templates, for the decisions of the advice table)."""
    agreements = policies.load_sources([("network.yaml", NETWORK)])
    question, advice = ADVICE[code]
    request = policies.BorrowRequest(**{"category": "undergraduate", "on": ON, **question})
    decision = agreements.decide(request)
    token = i18n.current_locale.set("en_AU")
    try:
        explained = lending.explain(decision, agreements)
        lend, refuse = lending.everywhere(request, agreements)
    finally:
        i18n.current_locale.reset(token)
    consent: dict[str, Any] = {
        "lender": explained.lender, "claims": {"home_library": {}, "borrowing": {}},
        "home": "RMIT University Library", "category": "undergraduate students",
        "expires": None, "standing": "No blocks on your card.", "lending": explained,
        "identifier": True, "vouched_by": None, "ticket": "t", "action": "/authorize", "csrf": "c",
    }  # fmt: skip
    me = {"patron": object(), "home": "RMIT University Library", "contact": None,
          "lend": lend, "refuse": refuse, "standing_known": True, "csrf": "c"}  # fmt: skip
    for template, context in (("consent.html", consent), ("me.html", me)):
        shown = visible_text(pages.TEMPLATES.get_template(template).render(context))
        assert ids_and_codes(shown, agreements) == [], (template, shown)
    shown = visible_text(pages.TEMPLATES.get_template("consent.html").render(consent))
    if code != policies.Code.NO_AGREEMENT:  # said only when nothing more telling is known
        assert advice in shown


def test_me_lists_where_the_patron_can_borrow_today(live_hub: LiveHub) -> None:
    browser, consent = sign_in(live_hub, "monash", GOOD)
    assert 'href="/me"' in consent.text
    cookie = patron_session.COOKIE
    set_cookie = next(c for c in consent.headers.get_list("set-cookie") if c.startswith(cookie))
    assert "HttpOnly" in set_cookie and "Max-Age=600" in set_cookie and "SameSite=lax" in set_cookie
    me = browser.get("/me")
    shown = visible_text(me.text)
    lends, _, refuses = shown.partition("Libraries that would not, and why")
    for lender in ("Deakin University Library", "Monash University Library",
                   "Swinburne University Library", "Victoria University Library"):  # fmt: skip
        assert f"{lender} Up to 3 items for 14 days, 1 renewal, 3 holds. Not reserve " in lends
    assert "RMIT University Library Up to" not in lends  # not its own library
    assert (
        "La Trobe University Library La Trobe University Library has paused lending to patrons "
        "of RMIT University Library. La Trobe has paused loans to RMIT patrons while the two "
        "libraries settle accounts." in refuses
    )
    assert "State Library Victoria State Library Victoria lends to postgraduate students" in refuses
    assert refuses.count(f"Ask {RMIT_HELP} where else you can borrow.") == 1  # said once
    assert me.headers["cache-control"] == "no-store"

    # only this browser's own patron: not another browser, not its cookie lifted into another
    stranger = live_hub.browser()
    assert "Avery" not in stranger.get("/me").text and "Deakin" not in stranger.get("/me").text
    lifted = live_hub.browser()
    lifted.get("/me")  # a CSRF cookie of its own
    lifted.http.cookies.set(cookie, browser.http.cookies[cookie], domain="127.0.0.1")
    assert "Deakin" not in lifted.get("/me").text
    csrf = pages.CSRF_COOKIE  # with the browser's CSRF cookie too, it is that browser
    lifted.http.cookies.set(csrf, browser.http.cookies[csrf], domain="127.0.0.1")
    assert "Deakin" in lifted.get("/me").text

    # nor one older than ten minutes
    key = derived_keys.fernet(SECRET, patron_session.PURPOSE)
    assert isinstance(key, Fernet)
    old = key.decrypt(browser.http.cookies[cookie].encode())
    host = "127.0.0.1"  # the cookie the hub set, replaced
    browser.http.cookies.set(cookie, key.encrypt_at_time(old, int(time.time()) - 601).decode(),
                             domain=host)  # fmt: skip
    assert "Deakin" not in browser.get("/me").text

    # and "forget me" ends it
    browser.http.cookies.set(cookie, key.encrypt(old).decode(), domain=host)
    page = browser.get("/me")
    assert "Deakin" in page.text
    forgotten = browser.submit(page, {})
    assert "You are signed out of this page." in visible_text(forgotten.text)
    assert "Deakin" not in browser.get("/me").text


def test_a_card_of_another_library_says_which(live_hub: LiveHub) -> None:
    browser, page = login_page(live_hub)
    answer = browser.submit(page, {"library": "deakin", "card": GOOD, "pin": GOOD[-4:]})
    assert answer.status_code == 400
    assert (
        "This looks like a card from RMIT University Library: choose RMIT University Library as "
        "your home library, or check the card number." in visible_text(answer.text)
    )
    assert 'href="#library"' in answer.text
    assert attempts(live_hub) == 0  # no library was asked, no guess counted
    right = browser.submit(answer, {"library": "rmit", "card": GOOD, "pin": GOOD[-4:]})
    assert right.status_code == 200


def test_the_wait_pages_lead_back_to_sign_in_and_to_the_libraries(live_hub: LiveHub) -> None:
    for _ in range(5):  # the default: 5 failures per card in 15 minutes
        browser, page = login_page(live_hub)
        assert browser.submit(page, {"card": GOOD, "pin": "0000"}).status_code == 400
    browser, page = login_page(live_hub)
    stopped = browser.submit(page, {"card": GOOD, "pin": GOOD[-4:]})
    assert stopped.status_code == 429
    shown = visible_text(stopped.text)
    assert (
        "RMIT University Library can help with your card and PIN: library.rmit.edu.au · "
        "+61 3 9925 2020" in shown
    )
    assert (
        "Monash University Library can help you borrow today: www.monash.edu/library · "
        "library@monash.example" in shown
    )
    assert '<a href="mailto:library@monash.example">' in stopped.text
    assert '<a href="https://library.rmit.edu.au">' in stopped.text
    assert '<a href="tel:+61399252020">' in stopped.text
    [back] = re.findall(r'<a href="(/authorize\?[^"]+)">Back to the sign-in page</a>', stopped.text)
    again = browser.get(back.replace("&amp;", "&"))
    assert again.status_code == 200 and "Sign in with your library card" in again.text
    assert ids_and_codes(shown, EXAMPLES) == []


def test_the_database_page_leads_back_to_sign_in_only_on_the_hubs_own_pages() -> None:
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))

    def page(path: str, query: str) -> str:
        scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode(),
                 "headers": [], "app": app, "scheme": "http", "server": ("hub", 80)}  # fmt: skip
        answer = problems.database_unavailable(Request(scope))
        assert answer.status_code == 503 and answer.headers["retry-after"]
        return bytes(answer.body).decode()

    assert '<a href="/authorize?client_id=x&amp;scope=openid">Try again</a>' in page(
        "/authorize", "client_id=x&scope=openid"
    )
    assert '<a href="/me">Try again</a>' in page("/me", "")
    assert "Try again</a>" not in page("//elsewhere.example/x", "")


def test_a_bad_link_from_a_known_lender_gives_its_contact(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    url = rp.authorization_url().replace("redirect_uri=", "redirect_uri=https%3A%2F%2Fevil.example")
    browser = live_hub.browser()
    page = browser.get(url)
    assert page.status_code == 400 and "location" not in page.headers
    shown = visible_text(page.text)
    assert "This sign-in link is not valid" in shown
    assert "Monash University Library can help you borrow today: www.monash.edu/library" in shown
    unknown = browser.get(url.replace(f"client_id={rp.client_id}", "client_id=nobody"))
    assert unknown.status_code == 400 and "can help you borrow" not in unknown.text


def test_sign_in_errors_and_problem_pages_read_in_french(
    demo_network: Engine, database_url: str, live_socket: socket.socket
) -> None:
    """In process, for a browser that asks for French: the sign-in page's error for a wrong
    PIN, the 429 that follows, the pages after signing out, of a federated sign-in that cannot
    be finished, and of a form too large; a problem type's page, written for API developers,
    stays English and says so."""
    issuer = issuer_of(live_socket)
    settings = Settings(database_url=database_url, secret_key=SECRET, issuer=issuer)
    hub = LiveHub(issuer, demo_network, settings, create_app(settings))
    rp = hub.add_rp("monash")
    french = {"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}
    with TestClient(hub.app, base_url=issuer, headers=french, follow_redirects=False) as client:

        def wrong_pin() -> httpx2.Response:
            page = client.get(rp.authorization_url())
            [form] = [f for f in forms(page.text) if f.method == "post" and "pin" in f.fields]
            return client.post(form.action, data={**form.fields, "card": GOOD, "pin": "0000"})

        wrong = wrong_pin()
        assert wrong.status_code == 400 and wrong.headers["content-language"] == "fr"
        shown = visible_text(wrong.text)
        assert (
            "Le numéro de carte et le code PIN ne correspondent pas. Vérifiez-les et réessayez."
            in shown
        )
        assert '<html lang="fr">' in wrong.text and "do not match" not in shown
        for _ in range(4):  # the default: 5 failures per card in 15 minutes
            assert wrong_pin().status_code == 400
        stopped = wrong_pin()
        described = client.get("/problems/payload-too-large")  # for API developers: English
        signed_out = client.get("/logout")
        lost = client.get("/oidc/callback?state=nothing-pending")  # no sign-in of this browser
        empty = client.post("/saml/acs", data={"RelayState": "x"})
        too_large = client.post("/me/forget", content=b"x" * (settings.max_body_bytes + 1))
    assert "Vous êtes déconnecté. Vous pouvez fermer cette fenêtre." in signed_out.text
    assert lost.status_code == 400 and "Cette connexion ne peut pas être terminée" in lost.text
    assert "Aucune réponse de la connexion de votre bibliothèque" in empty.text
    assert too_large.status_code == 413
    # 65 536 as Babel writes it in French (a narrow space, one space once read)
    assert "Le formulaire dépasse 65 536 octets" in visible_text(too_large.text)
    assert '<html lang="en">' in described.text and described.headers["content-language"] == "en"
    assert stopped.status_code == 429 and stopped.headers["retry-after"]
    shown = visible_text(stopped.text)
    assert '<html lang="fr">' in stopped.text
    assert "Trop de tentatives Trop de tentatives de connexion. Veuillez réessayer dans " in shown
    assert "minutes, ou adressez-vous au personnel à l’accueil." in shown
    assert (
        "RMIT University Library peut vous aider pour votre carte et votre code PIN : "
        "library.rmit.edu.au" in shown
    )
    assert "Retour à la page de connexion" in shown
    english = ["Too many", "Please try again", "can help", "Back to the sign-in page"]
    assert [sentence for sentence in english if sentence in shown] == []


def test_the_database_page_reads_in_french() -> None:
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    scope = {"type": "http", "method": "GET", "path": "/me", "query_string": b"",
             "headers": [], "app": app, "scheme": "http", "server": ("hub", 80)}  # fmt: skip
    token = i18n.current_locale.set("fr")
    try:
        answer = problems.database_unavailable(Request(scope))
    finally:
        i18n.current_locale.reset(token)
    shown = visible_text(bytes(answer.body).decode())
    assert answer.status_code == 503 and '<html lang="fr">' in bytes(answer.body).decode()
    assert "Veuillez réessayer dans une minute" in shown and "Réessayer" in shown
    assert "Ce service est momentanément indisponible." in shown and "try again" not in shown
