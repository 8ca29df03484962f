"""A lender's decision as a patron reads it (``Lending``): whether it lends, on what terms, under
which agreements (by name), and if not, the advice; and the same for every library of the
network at once, for "where can I borrow?" (``everywhere``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import policies
from identity.i18n import day
from identity.i18n import gettext as _
from identity.patrons.advice import (
    Advice,
    advice,
    agreement_name,
    flag_words,
    terms_text,
    upper_first,
)


@dataclass(frozen=True, slots=True)
class Lending:
    """One lender's answer for a patron, in plain words."""

    lender: str
    eligible: bool
    #: the terms in one sentence, when it lends
    terms: str | None
    #: the names of the agreements it lends under (or that were considered)
    under: tuple[str, ...]
    #: the last day the answer holds, as the locale writes it
    until: str | None
    advice: tuple[Advice, ...]

    @property
    def why(self) -> str:
        """The one-line reason it does not lend."""
        return self.advice[0].why if self.advice else ""

    @property
    def steps(self) -> tuple[str, ...]:
        """What to do next, each said once."""
        return tuple(dict.fromkeys(a.next for a in self.advice))


def explain(decision: policies.Decision, agreements: policies.Agreements) -> Lending:
    lender = agreements.libraries.get(decision.lender)
    return Lending(
        lender=lender.name if lender is not None else _("This library"),
        eligible=decision.eligible,
        terms=None if decision.terms is None else terms_text(decision.terms, agreements.network),
        under=tuple(dict.fromkeys(agreement_name(agreements, a) for a in decision.agreements)),
        until=None if decision.valid_until is None else day(decision.valid_until),
        advice=tuple(advice(decision, agreements)),
    )


def everywhere(
    request: policies.BorrowRequest, agreements: policies.Agreements
) -> tuple[list[Lending], list[Lending]]:
    """Every other library of the network, asked ``request`` as its lender: those that would
    lend (most items first) and those that would not, each by name."""
    lend: list[Lending] = []
    refuse: list[Lending] = []
    for library in sorted(agreements.libraries.values(), key=lambda lib: lib.name.lower()):
        if library.id == request.home_library:
            continue
        decision = agreements.decide(dataclasses.replace(request, lender=library.id))
        (lend if decision.eligible else refuse).append(explain(decision, agreements))
    return lend, refuse


def standing_words(*, flags: frozenset[str], expires: date | None, home: str, today: date) -> str:
    """The patron's standing at their home library as the consent page shows it: what the lender
    receives (blocks and expiry), in words that never claim more than that ("good" would
    contradict a refusal for fines, which the standing does not carry)."""
    problems = [flag_words(flag, home) for flag in sorted(flags)]
    if expires is not None and expires < today:
        problems.append(flag_words("card_expired", home))
    if not problems:
        return _("No blocks on your card at {home}.").format(home=home)
    return upper_first("; ".join(problems)) + "."
