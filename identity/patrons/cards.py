"""Card numbers as people and partner systems type them: one rule for every way a card comes in
(the sign-in form, the eligibility API, the admin pages and API, the CLI, patron imports).

A card is read in Unicode NFC without the spaces around it, and is 1 to ``MAX_CARD``
characters, none of them a space or a control character; letters of any script are cards too
(Evergreen and Koha barcodes and usernames are often not numbers). When the home library is
known and has a ``card_pattern``, the card must match it in full. A library whose patrons sign
in with their directory username (``ldap``) has its cards read in lower case: directories
compare usernames regardless of case, and ``ADA`` must be the same patron as ``ada`` to the
guessing limits and to the lenders (one pairwise ``sub``). Anything else is
``NotACard``, with a message for the person who typed it; no home library is asked about it.
"""

from __future__ import annotations

import unicodedata

import policies
from identity.i18n import N_
from identity.i18n import gettext as _
from policies.cards import digits_only, fits

MAX_CARD = 64  # characters


class NotACard(ValueError):
    """Text that cannot be a card (of that library); ``str()`` says why in plain words, in
    English (the API, the CLI, the administrators' pages), and ``translated()`` in the
    language of the request being answered (the patron's sign-in page)."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values))
        self.message, self.values = message, values

    def translated(self) -> str:
        return _(self.message).format(**self.values)


def read_card(text: str, library: policies.Library | None = None) -> str:
    """The card ``text`` stands for, or ``NotACard``; with ``library``, one of its cards."""
    card = text.strip()
    if len(card) <= 4 * MAX_CARD:  # longer text is no card even once composed (3 to 1 at most)
        card = unicodedata.normalize("NFC", card)
    if not card:
        raise NotACard(N_("Enter a card number."))
    if len(card) > MAX_CARD:
        raise NotACard(N_("A card number is at most {most} characters long."), most=MAX_CARD)
    if not card.isprintable() or any(c.isspace() for c in card):
        raise NotACard(N_("A card number has no spaces or control characters in it."))
    if library is not None and library.connector.kind == "ldap":
        card = card.lower()
    if library is not None and library.card_pattern and not fits(library.card_pattern, card):
        raise NotACard(
            N_("This is not a {library} card number. Check it and try again."),
            library=library.name,
        )
    return card


def keyboard(library: policies.Library) -> tuple[str, str]:
    """The ``inputmode`` of the card and PIN fields for this library's patrons: ``numeric``
    only where its cards (``card_pattern``) or PINs (``pin_format``) are digits."""
    card = "numeric" if digits_only(library.card_pattern) else "text"
    return card, "numeric" if library.pin_format == "numeric" else "text"


def named_elsewhere(
    card: str, chosen: policies.Library, agreements: policies.Agreements
) -> policies.Library | None:
    """The library another than ``chosen`` whose card prefix ``card`` starts with, when
    ``chosen`` has card prefixes and none of them starts it: the patron chose the wrong library
    (an RMIT card typed with Deakin chosen). None when the card could be ``chosen``'s."""
    if not chosen.card_prefixes or any(card.startswith(p) for p in chosen.card_prefixes):
        return None
    other = agreements.library_for_card(card)
    return other if other is not None and other.id != chosen.id else None
