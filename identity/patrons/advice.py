"""What a refused patron reads: each reason of a decision in plain words, with what to do next.

Every reason code gets an ``Advice``: ``why`` (one line: what stands in the way) and ``next``
(what the patron can do about it), naming libraries and agreements by their names, never by id,
giving the home library's contact where it helps, and amounts and dates as the patron's locale
writes them. A suspension's internal ``reason`` is never shown; its ``public_note`` is. A code
this module does not know (a newer evaluator's) still gets a sentence that sends the patron to
their home library. Every string goes through ``identity.i18n``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from babel.lists import format_list
from babel.numbers import format_decimal

import policies
from identity.i18n import current_locale, day, money, ngettext, number
from identity.i18n import gettext as _

Code = policies.Code


@dataclass(frozen=True, slots=True)
class Advice:
    """``why`` the lender says no, in one line, and what the patron can do ``next``."""

    why: str
    next: str

    @property
    def text(self) -> str:
        return f"{self.why} {self.next}"


def material_name(material: str, network: policies.Network) -> str:
    """What patrons call a material id: the network's ``materials`` label, a built-in name for
    the common ids, or the id itself (a lower-case word, not a library or agreement id)."""
    named = network.materials.get(material)
    if named is not None:
        return named
    builtin = {
        "book": _("books"),
        "av": _("audio-visual material"),
        "reserve": _("reserve collection items"),
        "thesis": _("theses"),
        "rare": _("rare books"),
        "journal": _("journals"),
        "serial": _("journals"),
        "dvd": _("DVDs"),
        "map": _("maps"),
        "music": _("music scores"),
        "ebook": _("e-books"),
        "equipment": _("equipment"),
        "laptop": _("laptops"),
    }
    return builtin.get(material, material.replace("_", " "))


def category_name(category: str) -> str | None:
    """A hub category as patrons say it (``undergraduate``: undergraduate students); None for
    one that is not a hub category (``ils:X``, a home ILS code no map knows)."""
    if category.startswith("ils:"):
        return None
    builtin = {
        "staff": _("staff"),
        "postgraduate": _("postgraduate students"),
        "undergraduate": _("undergraduate students"),
        "alumni": _("alumni"),
        "public": _("members of the public"),
        "researcher": _("researchers"),
    }
    return builtin.get(category, category.replace("_", " "))


def flag_words(flag: str, home: str) -> str:
    """A home library's patron status flag as the patron would say it."""
    words = {
        "charge_denied": _("{home} has stopped loans on your card"),
        "renewal_denied": _("{home} has stopped renewals on your card"),
        "recall_denied": _("{home} has stopped recalls on your card"),
        "hold_denied": _("{home} has stopped holds on your card"),
        "card_lost": _("your card is reported lost"),
        "too_many_charged": _("you have as many loans as {home} allows"),
        "too_many_overdue": _("you have overdue items at {home}"),
        "too_many_renewals": _("you have renewed items more times than {home} allows"),
        "too_many_claims_returned": _("{home} is checking items you said you returned"),
        "too_many_lost": _("items on your card are lost"),
        "excessive_fines": _("you owe fines at {home}"),
        "excessive_fees": _("you owe fees at {home}"),
        "recall_overdue": _("an item {home} recalled from you is overdue"),
        "too_many_billed": _("{home} has billed you for items"),
        "blocked": _("{home} has put a block on your card"),
        "card_expired": _("your card has expired"),
    }
    return words.get(flag, _("{home} has put a block on your card")).format(home=home)


def contact_text(library: policies.Library) -> str | None:
    """The library's contact as a patron would use it: its web address without the scheme,
    else its phone number, else its email address."""
    contact = library.contact
    if contact is None:
        return None
    if contact.url is not None:
        parts = urlsplit(contact.url)
        return (parts.netloc + parts.path.rstrip("/")) or contact.url
    return contact.phone or contact.email


def contact_links(library: policies.Library) -> list[tuple[str, str]]:
    """The library's contact as links: ``(text, href)`` for its web address, email and phone."""
    contact = library.contact
    if contact is None:
        return []
    links = []
    if contact.url is not None:
        parts = urlsplit(contact.url)
        links.append(((parts.netloc + parts.path.rstrip("/")) or contact.url, contact.url))
    if contact.email is not None:
        links.append((contact.email, f"mailto:{contact.email}"))
    if contact.phone is not None:
        dial = "".join(c for c in contact.phone if c in "+0123456789")
        links.append((contact.phone, f"tel:{dial}"))
    return links


def library_name(agreements: policies.Agreements, library_id: str) -> str:
    found = agreements.libraries.get(library_id)
    return found.name if found is not None else _("this library")


def agreement_name(agreements: policies.Agreements, agreement_id: str | None) -> str:
    """The agreement's ``name``, or words for it when it has none: never its id."""
    found = agreements.agreements.get(agreement_id or "")
    if found is not None and found.name:
        return found.name
    if isinstance(found, policies.Consortium):
        return _("the reciprocal borrowing agreement")
    return _("the borrowing agreement")


def advise(
    reason: policies.Reason, decision: policies.Decision, agreements: policies.Agreements
) -> Advice:
    """The advice for one reason of ``decision``, made with the set that decided it."""
    lender = library_name(agreements, decision.lender)
    home_library = agreements.libraries.get(decision.home_library)
    home = home_library.name if home_library is not None else _("your home library")
    reach = contact_text(home_library) if home_library is not None else None
    # the home library, with its contact where it has one: "RMIT University Library
    # (library.rmit.edu.au)"
    home_at = _("{library} ({contact})").format(library=home, contact=reach) if reach else home
    agreement = agreement_name(agreements, reason.agreement)
    f = reason.facts
    ask = _("Ask {home} where else you can borrow.").format(home=home_at)
    match reason.code:
        case Code.FINES_OVER_LIMIT:
            network = agreements.network
            rule = (
                _("{lender} lends to patrons of {home} who owe {limit} or less.")
                if f[1]
                else _("{lender} lends only to patrons of {home} who owe nothing.")
            )
            return Advice(
                _("You owe {amount} to {home}.").format(amount=owed(f[0], network), home=home)
                + " "
                + rule.format(lender=lender, home=home, limit=owed(f[1], network)),
                _("Pay at {home}, then sign in again.").format(home=home_at),
            )
        case Code.CARD_EXPIRED:
            return Advice(
                _("Your {home} card expired on {date}, and {lender} lends only on a valid card.")
                .format(home=home, date=day(f[0]), lender=lender),
                _("Renew it at {home}, then sign in again.").format(home=home_at),
            )  # fmt: skip
        case Code.BLOCKING_FLAG:
            return Advice(
                _("{lender} cannot lend to you while {problem}.").format(
                    lender=lender, problem=flag_words(str(f[0]), home)
                ),
                _("Ask {home} to clear it, then sign in again.").format(home=home_at),
            )
        case Code.STANDING_UNKNOWN:
            return Advice(
                _("{lender} lends under {agreement} only when {home}'s record of your fines, "
                  "blocks and card expiry is known, and your sign-in confirmed your membership "
                  "only.").format(lender=lender, agreement=agreement, home=home),
                _("Ask staff at the desk, or ask {home} for help.").format(home=home_at),
            )  # fmt: skip
        case Code.MATERIAL_EXCLUDED:
            material = material_name(str(f[0]), agreements.network)
            return Advice(
                _("{lender} does not lend {material} to visiting patrons under {agreement}.")
                .format(lender=lender, material=material, agreement=agreement),
                _("You can borrow other items there, or ask {home} for this one.")
                .format(home=home_at),
            )  # fmt: skip
        case Code.SUSPENDED:
            found = agreements.agreements.get(reason.agreement or "")
            note = found.public_note if isinstance(found, policies.Suspension) else None
            why = _("{lender} has paused lending to patrons of {home}.").format(
                lender=lender, home=home
            )
            return Advice(f"{why} {note}" if note else why, ask)
        case Code.NO_AGREEMENT:
            who = category_name(str(f[2]))
            why = (
                _("{lender} has no borrowing agreement with {home} for {category}.").format(
                    lender=lender, home=home, category=who
                )
                if who
                else _("{lender} has no borrowing agreement with {home} for your borrower "
                       "category.").format(lender=lender, home=home)
            )  # fmt: skip
            return Advice(why, ask)
        case Code.CATEGORY_NOT_COVERED:
            who = category_name(str(f[0])) or _("your borrower category")
            covered = format_list(
                [name for name in (category_name(str(c)) for c in sorted(f[1])) if name],
                locale=current_locale.get(),
            )
            return Advice(
                _("{lender} lends to {covered} of {home} under {agreement}, not to {category}.")
                .format(lender=lender, covered=covered, home=home, agreement=agreement,
                        category=who),
                ask,
            )  # fmt: skip
        case Code.NOT_YET_IN_FORCE:
            return Advice(
                upper_first(
                    _("{agreement} starts on {date}; {lender} can lend to you from then.").format(
                        agreement=agreement, date=day(f[0]), lender=lender
                    )
                ),
                _("Until then, ask {home} where else you can borrow.").format(home=home_at),
            )
        case Code.ENDED:
            return Advice(
                upper_first(
                    _("{agreement} ended on {date}.").format(agreement=agreement, date=day(f[0]))
                ),
                _("Ask {home} whether a new agreement is coming, and where you can borrow "
                  "meanwhile.").format(home=home_at),
            )  # fmt: skip
        case Code.UNKNOWN_CATEGORY:
            return Advice(
                _("{home} has not told us your borrower category.").format(home=home),
                _("Ask {home} to check your record, then sign in again.").format(home=home_at),
            )
        case Code.OWN_LIBRARY:
            return Advice(
                _("{home} is your own library: its own rules apply, not an agreement.").format(
                    home=home
                ),
                _("Borrow there with your card as usual."),
            )
        case Code.UNKNOWN_LIBRARY:
            return Advice(
                _("This library is not part of the borrowing network."),
                _("Ask staff at the desk for help."),
            )
    return Advice(
        _("{lender} cannot lend to you today.").format(lender=lender),
        _("Ask {home} for help.").format(home=home_at),
    )


def upper_first(text: str) -> str:
    """A sentence that begins with words made for the middle of one ("the agreement ...")."""
    return text[:1].upper() + text[1:]


def advice(decision: policies.Decision, agreements: policies.Agreements) -> list[Advice]:
    """The advice for each reason of ``decision``, in order, each said once; "no agreement"
    only when nothing more telling is known (an agreement that does not cover the category,
    one that ended)."""
    said: list[Advice] = []
    telling = [r for r in decision.reasons if r.code != Code.NO_AGREEMENT]
    for reason in telling or decision.reasons:
        found = advise(reason, decision, agreements)
        if found not in said:
            said.append(found)
    return said


def answer(decision: policies.Decision, agreements: policies.Agreements) -> dict[str, Any]:
    """``decision.to_dict()``, each reason with its ``advice`` (docs/eligibility.md)."""
    out = decision.to_dict()
    for entry, reason in zip(out["reasons"], decision.reasons, strict=True):
        entry["advice"] = advise(reason, decision, agreements).text
    return out


def terms_text(terms: policies.Terms, network: policies.Network) -> str:
    """A lender's terms in one sentence: "Up to 3 items for 14 days, 1 renewal, 3 holds."."""
    text = _("Up to {items} items for {days} days").format(
        items=number(terms.max_items), days=number(terms.loan_days)
    )
    extras = []
    if terms.renewals:
        extras.append(
            ngettext("{count} renewal", "{count} renewals", terms.renewals).format(
                count=number(terms.renewals)
            )
        )
    if terms.holds:
        extras.append(
            ngettext("{count} hold", "{count} holds", terms.holds).format(count=number(terms.holds))
        )
    sentence = ", ".join([text, *extras]) + "."
    if terms.excluded_material:
        names = ", ".join(material_name(m, network) for m in terms.excluded_material)
        sentence += " " + _("Not {materials}.").format(materials=names)
    return sentence


def owed(amount: Decimal, network: policies.Network) -> str:
    """An amount owed, in the network's currency when it has one (``$25.50``), else as a
    number with its cents (``25.50``)."""
    if network.currency:
        return money(amount, network.currency)
    return format_decimal(amount, format="#,##0.00", locale=current_locale.get())
