"""The patron pages in headless Chromium, on a phone (390 px) and a laptop (1280 px), in each
language: ``/``, ``/privacy`` and the sign-in page pass axe-core (any violation fails; light,
and dark on a phone) and say which language they are in; the switcher works without
JavaScript; the sign-in's result prints without the forms."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from identity import i18n
from tests.identity.admin.test_browser_accessibility import violations
from tests.identity.browser import NewPage
from tests.identity.oauth.conftest import OWES, LiveHub
from tests.identity.oauth.test_browser import LAPTOP, PHONE

#: each page's main heading, in each language
HEADINGS = {
    "/": {
        "en": "Library sign-in",
        "fr": "Connexion aux bibliothèques",
        "es": "Acceso a bibliotecas",
    },
    "/privacy": {"en": "Privacy", "fr": "Confidentialité", "es": "Privacidad"},
    "sign-in": {
        "en": "Sign in with your library card",
        "fr": "Connectez-vous avec votre carte de bibliothèque",
        "es": "Acceda con su carné de biblioteca",
    },
}


def test_the_patron_pages_pass_axe_in_each_language(live_hub: LiveHub, new_page: NewPage) -> None:
    sign_in = live_hub.add_rp("monash").authorization_url()
    seen: dict[str, list[str]] = {}
    for device_name, device in (("phone", PHONE), ("laptop", LAPTOP)):
        for lang in i18n.languages():
            page = new_page(**device)
            page.context.add_cookies([{"name": "lang", "value": lang, "url": live_hub.issuer}])
            for path, heading in HEADINGS.items():
                page.goto(sign_in if path == "sign-in" else f"{live_hub.issuer}{path}")
                expect(page.locator("html")).to_have_attribute("lang", lang)
                expect(page.get_by_role("heading", level=1)).to_have_text(heading[lang])
                seen[f"{path} {lang} {device_name}"] = violations(page)
                if lang == "en" and device is PHONE:
                    page.emulate_media(color_scheme="dark")
                    seen[f"{path} {lang} {device_name} dark"] = violations(page)
                    page.emulate_media(color_scheme="light")
    assert {where: found for where, found in seen.items() if found} == {}


def test_the_language_follows_the_browser_and_the_switcher(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    no_script: dict[str, Any] = {**PHONE, "java_script_enabled": False, "locale": "fr-CA"}
    page: Page = new_page(**no_script)  # Accept-Language: fr-CA
    page.goto(live_hub.add_rp("monash").authorization_url())
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_label("Numéro de carte", exact=True)).to_be_visible()

    page.get_by_role("navigation", name="Langue").get_by_role("link", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")  # back on the sign-in page
    expect(page.get_by_role("button", name="Acceder", exact=True)).to_be_visible()
    page.get_by_role("link", name="Privacidad").click()  # remembered from page to page
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacidad")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_result_prints_without_the_forms(live_hub: LiveHub, new_page: NewPage) -> None:
    page = new_page(**PHONE)
    page.goto(live_hub.add_rp("monash").authorization_url())
    page.get_by_label("Card number", exact=True).fill(OWES)
    page.get_by_label("PIN", exact=True).fill(OWES[-4:])
    page.get_by_role("button", name="Sign in", exact=True).click()
    share = page.get_by_role("button", name="Share and continue")
    expect(share).to_be_visible()
    page.emulate_media(media="print")
    expect(share).to_be_hidden()
    expect(page.get_by_role("navigation", name="Language")).to_be_hidden()
    expect(page.get_by_text("RMIT University Library", exact=True)).to_be_visible()
    expect(page.locator(".verdict-no")).to_have_css("color", "rgb(0, 0, 0)")
