"""An agreement in plain English, for its one-page printable summary
(``/admin/agreements/{id}/summary``): who lends to whom, from when until when, to which
categories, on what standing and on what terms, each said in sentences, and who signs it.

Read from the agreement's model in the set in force (``policies.Agreements``), with the
libraries' names and the network's names for material and its currency: the words say what
the decision engine reads, field by field, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from babel.dates import format_date
from babel.lists import format_list

import policies
from policies.decision import money

#: the administration pages' English: ``1 March 2026``, ``a, b and c``
ENGLISH = "en_GB"
KINDS = {"consortium": "Consortium agreement", "bilateral": "Bilateral agreement",
         "suspension": "Suspension"}  # fmt: skip
TIMES = {0: "not renewable", 1: "renewable once", 2: "renewable twice"}


@dataclass(frozen=True)
class Party:
    id: str
    name: str


@dataclass(frozen=True)
class Summary:
    """An agreement in words. ``signatories`` are the parties whose representatives sign it:
    every party of a consortium or bilateral agreement, the lender alone of a suspension."""

    id: str
    name: str
    kind: str
    what: str
    parties: tuple[Party, ...]
    start: date | None
    until: date | None
    dates: str
    #: the categories it names (empty: a suspension of every category)
    category_names: tuple[str, ...]
    categories: str
    standing: tuple[str, ...]
    terms: tuple[str, ...]
    signatories: tuple[Party, ...]


def day(value: date) -> str:
    """``1 March 2026``."""
    return format_date(value, format="long", locale=ENGLISH)


def joined(items: list[str] | tuple[str, ...], word: Literal["and", "or"] = "and") -> str:
    """``a``, ``a and b``, ``a, b and c`` (or ``a, b or c``)."""
    if not items:
        return ""
    return format_list(list(items), style="standard" if word == "and" else "or", locale=ENGLISH)


def of(agreements: policies.Agreements, agreement_id: str) -> Summary:
    """The summary of ``agreement_id`` in ``agreements`` (``KeyError`` when it has none)."""
    agreement = agreements.agreements[agreement_id]
    names = {lib.id: lib.name for lib in agreements.libraries.values()}

    def party(library: str) -> Party:
        return Party(library, names.get(library, library))

    if isinstance(agreement, policies.Consortium):
        parties = tuple(party(m) for m in agreement.members)
        signatories = parties
        what = (
            f"Each of its {len(parties)} members lends to the patrons of every other member: "
            f"{joined([p.name for p in parties])}."
        )
    else:
        lender = party(agreement.lender)
        borrowers = tuple(party(b) for b in agreement.borrowers_from)
        parties = (lender, *borrowers)
        whose = joined([b.name for b in borrowers])
        if isinstance(agreement, policies.Suspension):
            signatories = (lender,)
            what = (
                f"{lender.name} stops lending to patrons of {whose} while this suspension is "
                "in force, whatever any other agreement says."
            )
        else:
            signatories = parties
            what = (
                f"{lender.name} lends to patrons of {whose}. Lending the other way is an "
                "agreement of its own."
            )
    effective = agreement.effective
    return Summary(
        id=agreement.id,
        name=agreement.name or agreement.id,
        kind=KINDS[agreement.kind],
        what=what,
        parties=parties,
        start=effective.from_,
        until=effective.until,
        dates=dates(effective.from_, effective.until),
        category_names=agreement.categories or (),
        categories=_categories(agreement.categories),
        standing=_standing(agreement, agreements.network),
        terms=_terms(agreement, agreements.network),
        signatories=signatories,
    )


def dates(start: date | None, until: date | None) -> str:
    if start and until:
        return f"In force from {day(start)} until {day(until)}, both days included."
    if start:
        return f"In force from {day(start)}, with no end date."
    if until:
        return f"In force until {day(until)} (included), with no start date."
    return "In force with no start or end date."


def _categories(categories: tuple[str, ...] | None) -> str:
    if categories is None:
        return "It covers patrons of every category."
    return f"It covers {joined(list(categories))} patrons."


def _standing(
    agreement: policies.Consortium | policies.Bilateral | policies.Suspension,
    network: policies.Network,
) -> tuple[str, ...]:
    if isinstance(agreement, policies.Suspension):
        out = [f"Reason (for administrators and staff only): {agreement.reason}"]
        if agreement.public_note:
            out.append(f"What patrons are told: {agreement.public_note}")
        else:
            out.append("Patrons are told only that lending is suspended.")
        return tuple(out)
    standing = agreement.standing
    out = []
    if standing.card_must_be_valid:
        out.append("The borrower's library card must be valid (not expired).")
    else:
        out.append("An expired library card does not stop a loan.")
    out.append(_fines(standing.max_fines, network.currency))
    if standing.blocking_flags:
        flags = joined([f.replace("_", " ") for f in standing.blocking_flags], "or")
        out.append(f"A borrower whose home library reports {flags} may not borrow.")
    if standing.requires_standing_source:
        out.append(
            "The home library's record of fines, blocks and card expiry must be known: a "
            "sign-in that proves membership only is not enough."
        )
    return tuple(out)


def _fines(limit: Decimal | None, currency: str | None) -> str:
    if limit is None:
        return "Fines owed do not stop a loan."
    if limit == 0:
        return "The borrower must owe no fines."
    amount = f"{currency} {money(limit)}" if currency else money(limit)
    return f"The borrower may owe at most {amount} in fines."


def _terms(
    agreement: policies.Consortium | policies.Bilateral | policies.Suspension,
    network: policies.Network,
) -> tuple[str, ...]:
    if isinstance(agreement, policies.Suspension):
        return ("No loans while it is in force.",)
    return (loans(agreement.terms, network), holds(agreement.terms.holds))


def loans(terms: policies.Terms, network: policies.Network) -> str:
    """``Up to 3 items for 14 days, renewable once; reserve collection and audio-visual material
    excluded.``"""
    items = "1 item" if terms.max_items == 1 else f"{terms.max_items} items"
    days = "1 day" if terms.loan_days == 1 else f"{terms.loan_days} days"
    renewals = TIMES.get(terms.renewals, f"renewable {terms.renewals} times")
    sentence = f"Up to {items} for {days}, {renewals}"
    if terms.excluded_material:
        material = [network.materials.get(m, m) for m in terms.excluded_material]
        sentence += f"; {joined(material)} excluded"
    return sentence + "."


def holds(count: int) -> str:
    if count == 0:
        return "No holds."
    return "Up to 1 hold at a time." if count == 1 else f"Up to {count} holds at a time."
