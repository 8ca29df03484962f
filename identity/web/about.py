"""The public pages about the hub (SPEC section 8): ``/``, what it is, the libraries and
schemes taking part, how to sign in and get help; and ``/privacy``, what is kept about a patron,
for how long (the periods ``identity.retention`` purges by) and who sees it.

Libraries and schemes are named as people know them: a library by its display name, a scheme
by its agreement's ``name``, or else by who lends to whom; never by an id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

import policies
from identity import retention
from identity.i18n import gettext as _
from identity.i18n import listing
from identity.web.deps import InForceDep, SessionDep, SettingsDep
from identity.web.pages import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Scheme:
    """A borrowing scheme in force, as a patron reads it."""

    title: str
    detail: str


@router.get("/")
def home(
    request: Request, session: SessionDep, in_force: InForceDep, settings: SettingsDep
) -> Response:
    agreements = in_force.get(session=session)
    libraries = sorted((lib.name for lib in agreements.libraries.values()), key=str.casefold)
    context = {"libraries": libraries, "schemes": schemes(agreements, date.today())}
    return render(request, "home.html", context, secret=settings.secret())


@router.get("/privacy")
def privacy(request: Request, settings: SettingsDep) -> Response:
    periods = retention.kept_for(settings)
    context = {
        "lookups_days": days(periods.lookups),
        "attempts_days": days(periods.signin_attempts),
        "tokens_days": days(periods.tokens),
        "pairwise_days": days(periods.pairwise),
    }
    return render(request, "privacy.html", context, secret=settings.secret())


def days(period: timedelta) -> int:
    """A period in whole days, rounded up (a patron is told the longest it may be)."""
    return max(1, math.ceil(period / timedelta(days=1)))


def schemes(agreements: policies.Agreements, today: date) -> list[Scheme]:
    """The consortia and bilateral agreements in force ``today``, a named agreement once under
    its name (a scheme's yearly agreements often share one), in the order of their titles."""
    names = {lib.id: lib.name for lib in agreements.libraries.values()}

    def named(ids: tuple[str, ...]) -> str:
        return listing(sorted((names.get(i, i) for i in ids), key=str.casefold))

    found: dict[str, Scheme] = {}
    for agreement in agreements.agreements.values():
        start, until = agreement.effective.from_, agreement.effective.until
        if (start is not None and today < start) or (until is not None and today > until):
            continue
        if isinstance(agreement, policies.Consortium):
            detail = _("Libraries taking part: {libraries}.").format(
                libraries=named(agreement.members)
            )
        elif isinstance(agreement, policies.Bilateral):
            detail = _("{lender} lends to patrons of {libraries}.").format(
                lender=names.get(agreement.lender, agreement.lender),
                libraries=named(agreement.borrowers_from),
            )
        else:
            continue  # a suspension is no scheme
        title = agreement.name or detail
        if title in found:
            continue
        found[title] = Scheme(title=title, detail=detail if agreement.name else "")
    return sorted(found.values(), key=lambda scheme: scheme.title.casefold())
