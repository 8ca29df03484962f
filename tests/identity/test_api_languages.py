"""The locale of an API answer's advice, from ``Accept-Language``."""

from __future__ import annotations

import pytest

from identity.web.languages import locale_for


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("en-AU", "en_AU"),  # English keeps its region: $25.50 in Australia
        ("EN-au", "en_AU"),
        ("fr-FR, en-GB;q=0.8", "fr"),  # a translated language: its catalog's code
        ("de-DE, es-MX;q=0.5, en;q=0.4", "es"),
        ("de-DE, en-GB;q=0.8", "en_GB"),  # no German catalog: the next one asked for
        ("en-US;q=0, fr", "fr"),  # q=0 is "not this one"
        ("de;q=abc, en-NZ", "en_NZ"),  # a malformed weight leaves that tag out
        ("xx, *", "en"),
        ("zh-Hant-TW,en", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_advice_locale_follows_accept_language(header: str | None, locale: str) -> None:
    assert locale_for(header) == locale
