"""The advice a refused patron reads, for every reason code, word for word (in Australian
English, the example network's): names, never ids; the home library's contact; amounts and
dates as the locale writes them; a suspension's public note, never its internal reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import policies
from identity import i18n
from identity.patrons import advice

NETWORK = """\
network: {currency: AUD, materials: {av: audio-visual material}}
libraries:
  - id: rmit
    name: RMIT University Library
    card_prefixes: ["2111"]
    categories: {UG: undergraduate, ST: staff}
    contact: {url: "https://library.rmit.edu.au/", phone: "+61 3 9925 2020"}
  - id: monash
    name: Monash University Library
    card_prefixes: ["2222"]
    categories: {UG: undergraduate, ST: staff}
  - id: slv
    name: State Library Victoria
    categories: {M: public}
    contact: {email: ask@slv.example}
agreements:
  - id: caval-2026
    name: CAVAL Reciprocal Borrowing 2026
    kind: consortium
    members: [rmit, monash]
    effective: {from: 2026-03-01, until: 2027-02-28}
    categories: [staff, undergraduate]
    standing: {max_fines: 10.00, blocking_flags: [charge_denied, card_lost],
               requires_standing_source: true}
    terms: {max_items: 3, loan_days: 14, renewals: 1, holds: 3, excluded_material: [av, thesis]}
  - id: slv-rmit-2027
    name: State Library Borrowing 2027
    kind: bilateral
    lender: slv
    borrowers_from: [rmit]
    effective: {from: 2027-01-01}
    categories: [staff, undergraduate]
    terms: {max_items: 5, loan_days: 21}
  - id: slv-monash-2025
    kind: bilateral
    lender: slv
    borrowers_from: [monash]
    effective: {until: 2025-12-31}
    categories: [staff]
    terms: {max_items: 5, loan_days: 21}
  - id: monash-suspends-slv
    kind: suspension
    lender: monash
    borrowers_from: [slv]
    reason: Disputed invoices from September
    public_note: Monash has paused loans to State Library members until March.
  - id: rmit-slv
    kind: bilateral
    lender: rmit
    borrowers_from: [slv]
    categories: [public]
    standing: {max_fines: 0.00}
    terms: {max_items: 2, loan_days: 7}
"""
ON = date(2026, 11, 22)
RMIT_HELP = "RMIT University Library (library.rmit.edu.au)"

#: code -> (the question, the advice for the reason with that code)
ADVICE: dict[policies.Code, tuple[dict[str, Any], str]] = {
    policies.Code.FINES_OVER_LIMIT: (
        {"lender": "monash", "home_library": "rmit", "fines": Decimal("25.5")},
        "You owe $25.50 to RMIT University Library. Monash University Library lends to patrons "
        f"of RMIT University Library who owe $10.00 or less. Pay at {RMIT_HELP}, then sign in "
        "again.",
    ),
    policies.Code.CARD_EXPIRED: (
        {"lender": "monash", "home_library": "rmit", "card_expires": date(2026, 10, 1)},
        "Your RMIT University Library card expired on 1 October 2026, and Monash University "
        f"Library lends only on a valid card. Renew it at {RMIT_HELP}, then sign in again.",
    ),
    policies.Code.BLOCKING_FLAG: (
        {"lender": "monash", "home_library": "rmit", "flags": frozenset({"card_lost"})},
        "Monash University Library cannot lend to you while your card is reported lost. Ask "
        f"{RMIT_HELP} to clear it, then sign in again.",
    ),
    policies.Code.STANDING_UNKNOWN: (
        {"lender": "monash", "home_library": "rmit", "standing_known": False},
        "Monash University Library lends under CAVAL Reciprocal Borrowing 2026 only when RMIT "
        "University Library's record of your fines, blocks and card expiry is known, and your "
        f"sign-in confirmed your membership only. Ask staff at the desk, or ask {RMIT_HELP} for "
        "help.",
    ),
    policies.Code.MATERIAL_EXCLUDED: (
        {"lender": "monash", "home_library": "rmit", "material": "AV"},
        "Monash University Library does not lend audio-visual material to visiting patrons "
        "under CAVAL Reciprocal Borrowing 2026. You can borrow other items there, or ask "
        f"{RMIT_HELP} for this one.",
    ),
    policies.Code.SUSPENDED: (
        {"lender": "monash", "home_library": "slv", "category": "public"},
        "Monash University Library has paused lending to patrons of State Library Victoria. "
        "Monash has paused loans to State Library members until March. Ask State Library "
        "Victoria (ask@slv.example) where else you can borrow.",
    ),
    policies.Code.NO_AGREEMENT: (
        {"lender": "slv", "home_library": "rmit", "category": "staff"},
        "State Library Victoria has no borrowing agreement with RMIT University Library for "
        f"staff. Ask {RMIT_HELP} where else you can borrow.",
    ),
    policies.Code.NOT_YET_IN_FORCE: (
        {"lender": "slv", "home_library": "rmit", "category": "staff"},
        "State Library Borrowing 2027 starts on 1 January 2027; State Library Victoria can lend "
        f"to you from then. Until then, ask {RMIT_HELP} where else you can borrow.",
    ),
    policies.Code.ENDED: (
        {"lender": "slv", "home_library": "monash", "category": "staff"},
        "The borrowing agreement ended on 31 December 2025. Ask Monash University Library "
        "whether a new agreement is coming, and where you can borrow meanwhile.",
    ),
    policies.Code.CATEGORY_NOT_COVERED: (
        {"lender": "rmit", "home_library": "monash", "category": "public"},
        "RMIT University Library lends to staff and undergraduate students of Monash "
        "University Library under CAVAL Reciprocal Borrowing 2026, not to members of the "
        "public. Ask Monash University Library where else you can borrow.",
    ),
    policies.Code.UNKNOWN_CATEGORY: (
        {"lender": "monash", "home_library": "rmit", "category": "ils:XX"},
        "RMIT University Library has not told us your borrower category. Ask "
        f"{RMIT_HELP} to check your record, then sign in again.",
    ),
    policies.Code.OWN_LIBRARY: (
        {"lender": "rmit", "home_library": "rmit"},
        "RMIT University Library is your own library: its own rules apply, not an agreement. "
        "Borrow there with your card as usual.",
    ),
    policies.Code.UNKNOWN_LIBRARY: (
        {"lender": "deakin", "home_library": "rmit"},
        "This library is not part of the borrowing network. Ask staff at the desk for help.",
    ),
}


@pytest.fixture(scope="module")
def agreements() -> policies.Agreements:
    return policies.load_sources([("network.yaml", NETWORK)])


@pytest.fixture
def australian() -> Iterator[None]:
    token = i18n.current_locale.set("en_AU")
    yield
    i18n.current_locale.reset(token)


def test_every_reason_code_has_its_advice() -> None:
    assert set(ADVICE) == set(policies.Code)


@pytest.mark.parametrize("code", list(ADVICE), ids=[c.value for c in ADVICE])
@pytest.mark.usefixtures("australian")
def test_the_advice_for_each_reason_word_for_word(
    agreements: policies.Agreements, code: policies.Code
) -> None:
    question, expected = ADVICE[code]
    request = policies.BorrowRequest(**{"category": "undergraduate", "on": ON, **question})
    decision = agreements.decide(request)
    [reason] = [r for r in decision.reasons if r.code == code]
    said = advice.advise(reason, decision, agreements)
    assert said.text == expected
    assert said.text == f"{said.why} {said.next}"
    answered = advice.answer(decision, agreements)["reasons"]
    assert expected in [r["advice"] for r in answered]  # the API's reasons carry it too
    assert "Disputed invoices" not in said.text  # a suspension's reason is for staff only


@pytest.mark.usefixtures("australian")
def test_the_advice_says_what_is_most_telling_once(agreements: policies.Agreements) -> None:
    """ "No agreement" is left out when an agreement not yet in force says more."""
    request = policies.BorrowRequest(lender="slv", home_library="rmit", category="staff", on=ON)
    decision = agreements.decide(request)
    assert [r.code for r in decision.reasons] == ["no_agreement", "not_yet_in_force"]
    assert [a.text for a in advice.advice(decision, agreements)] == [
        ADVICE[policies.Code.NOT_YET_IN_FORCE][1]
    ]


@pytest.mark.usefixtures("australian")
def test_nothing_owed_and_no_currency(agreements: policies.Agreements) -> None:
    request = policies.BorrowRequest(lender="rmit", home_library="slv", category="public",
                                     on=ON, fines=Decimal("0.5"))  # fmt: skip
    [said] = advice.advice(agreements.decide(request), agreements)
    assert said.why == (
        "You owe $0.50 to State Library Victoria. RMIT University Library lends only to patrons "
        "of State Library Victoria who owe nothing."
    )
    plain = policies.load_sources([("n.yaml", NETWORK.replace("currency: AUD, ", ""))])
    [said] = advice.advice(plain.decide(request), plain)
    assert said.why.startswith("You owe 0.50 to State Library Victoria.")


def test_amounts_follow_the_locale(agreements: policies.Agreements) -> None:
    request = policies.BorrowRequest(lender="monash", home_library="rmit", category="staff",
                                     on=ON, fines=Decimal("1234.5"))  # fmt: skip
    decision = agreements.decide(request)
    for locale, amount in (
        ("en", "A$1,234.50"),
        ("en_AU", "$1,234.50"),
        ("fr_FR", "1\u202f234,50\xa0$AU"),
    ):
        token = i18n.current_locale.set(locale)
        try:
            assert amount in advice.advice(decision, agreements)[0].why
        finally:
            i18n.current_locale.reset(token)


def test_terms_in_one_sentence(agreements: policies.Agreements) -> None:
    terms = agreements.agreements["caval-2026"].terms  # type: ignore[union-attr]
    assert advice.terms_text(terms, agreements.network) == (
        "Up to 3 items for 14 days, 1 renewal, 3 holds. Not audio-visual material, theses."
    )
