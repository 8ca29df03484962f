"""One rule for card text on every way in: NFC, no spaces or control characters, at most 64
characters, and the home library's ``card_pattern`` when it has one."""

from __future__ import annotations

import pytest

import policies
from identity.patrons.cards import MAX_CARD, NotACard, keyboard, read_card
from policies.model import LIBRARY

KOHA = policies.Library(id="koha", name="Koha Public Library", card_pattern="[A-Z]{2}[0-9]{4}")
DIGITS = policies.Library(
    id="rmit", name="RMIT University Library", card_pattern="[0-9]{14}", pin_format="numeric"
)


@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("21110000000001", "21110000000001"),
        ("  21110000000001\t", "21110000000001"),  # surrounding spaces are dropped
        ("dje\u03011", "dj\u00e91"),  # typed decomposed: read composed
        ("KO-1234/b", "KO-1234/b"),
        ("x" * MAX_CARD, "x" * MAX_CARD),
    ],
)
def test_cards_are_read_in_nfc(text: str, card: str) -> None:
    assert read_card(text) == card


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a card number."),
        ("   ", "Enter a card number."),
        ("2111 0000", "no spaces or control characters"),
        ("2111\x000000", "no spaces or control characters"),
        ("2111\u200b0000", "no spaces or control characters"),  # zero-width space
        ("x" * (MAX_CARD + 1), f"at most {MAX_CARD} characters"),
        ("x" * 100_000, f"at most {MAX_CARD} characters"),
    ],
)
def test_text_that_cannot_be_a_card(text: str, message: str) -> None:
    with pytest.raises(NotACard, match=message):
        read_card(text)


def test_a_library_with_a_pattern_takes_only_its_cards() -> None:
    assert read_card(" KO1234 ", KOHA) == "KO1234"
    with pytest.raises(NotACard) as refused:
        read_card("21110000000001", KOHA)
    assert str(refused.value) == (
        "This is not a Koha Public Library card number. Check it and try again."
    )
    assert read_card("21110000000001", policies.Library(id="any", name="Any")) == "21110000000001"


def test_the_keyboards_follow_the_library() -> None:
    assert keyboard(DIGITS) == ("numeric", "numeric")
    assert keyboard(KOHA) == ("text", "text")
    assert keyboard(policies.Library(id="any", name="Any", pin_format="numeric")) == (
        "text",
        "numeric",
    )


def test_a_directory_username_is_read_in_lower_case() -> None:
    """Directories compare usernames regardless of case: ``ADA`` and ``ada`` are one patron to
    the guessing limits and to lenders; other libraries' cards are taken as typed."""
    uni = LIBRARY.validate_python(
        {"id": "uni", "name": "Uni", "card_pattern": "[a-z.]+",
         "connector": {"kind": "ldap", "url": "ldaps://ldap.uni.edu", "category": "x",
                       "user_dn": "uid={card},dc=uni"}}
    )  # fmt: skip
    assert read_card(" Ada.Lovelace ", uni) == "ada.lovelace"
    assert read_card("Ada.Lovelace") == "Ada.Lovelace"
    assert read_card("KO1234", KOHA) == "KO1234"
