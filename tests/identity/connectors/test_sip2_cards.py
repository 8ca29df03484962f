"""Cards that are not numbers, at a SIP2 ILS (pysip2) that speaks UTF-8: an unknown card that the
ILS echoes re-encoded, as Evergreen does, is no such card and never closes the library to
everyone; names and category codes the ILS sends decomposed (NFD) are read in NFC."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest

import policies
from identity.patrons.connectors.sip2 import Sip2Connector
from tests.identity.connectors.ils import GOOD, PASSWORD, PASSWORD_ENV, Ils, Patron, evergreen_echo

KNOWN = Patron("dj\u00e9-42", "s\u00e9same", "Jos\u00e9 Known")  # a Koha-style alphanumeric card
#: what Evergreen sends for a French-speaking student: name and category code decomposed
NFD = Patron(
    "28880000000077",
    "7777",
    unicodedata.normalize("NFD", "\u00c9lodie \u00c9vrard"),
    category=unicodedata.normalize("NFD", "\u00c9tudiant"),
)


@pytest.fixture
def evergreen(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ils]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    patrons = {p.card: p for p in (GOOD, NFD)}
    running = Ils(patrons, encoding="utf-8", echo=evergreen_echo).start()
    yield running
    running.stop()


@pytest.fixture
def koha(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ils]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    running = Ils({KNOWN.card: KNOWN}, encoding="utf-8").start()
    yield running
    running.stop()


def test_the_ils_really_echoes_an_unknown_card_re_encoded() -> None:
    assert evergreen_echo("dj\u00e91") == "dj\u00c3\u00a91"


def test_an_unknown_card_echoed_re_encoded_is_no_such_card(evergreen: Ils) -> None:
    sip2 = Sip2Connector(evergreen.library(encoding="utf-8"), failures=3, cooldown_s=30)
    for attempt in range(2 * sip2.link.breaker.failures):
        assert sip2.authenticate(f"dj\u00e9{attempt}", "1234") is None
        assert sip2.lookup(f"dj\u00e9{attempt}") is None
    assert sip2.link.breaker.remaining() is None  # the library is open to everyone else
    assert [card for _, card, _ in evergreen.asked] == [
        f"dj\u00e9{n}" for n in range(6) for _ in range(2)
    ]
    holder = sip2.authenticate(GOOD.card, GOOD.pin)
    assert holder is not None and holder.name == GOOD.name


def test_a_card_that_is_not_a_number_signs_in(koha: Ils) -> None:
    sip2 = Sip2Connector(koha.library(encoding="utf-8"))
    holder = sip2.authenticate(KNOWN.card, KNOWN.pin)
    assert holder is not None and holder.card == KNOWN.card and holder.name == KNOWN.name
    assert sip2.authenticate(KNOWN.card, "sesame") is None


def test_decomposed_names_and_categories_are_read_composed(evergreen: Ils) -> None:
    sip2 = Sip2Connector(evergreen.library(encoding="utf-8"))
    holder = sip2.authenticate(NFD.card, NFD.pin)
    assert holder is not None
    assert holder.name == "\u00c9lodie \u00c9vrard" and holder.category == "\u00c9tudiant"
    uqam = policies.Library(
        id="sipu", name="UQAM", categories={"\u00c9tudiant": "undergraduate"}
    )  # as the agreement file writes it: NFC
    assert uqam.hub_category(holder.category) == "undergraduate"
