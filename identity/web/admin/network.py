"""``/admin/network``: who lends to whom, for one category on one day (a table of every lender
by every home library, each cell the decision engine's answer for a patron in good standing,
``identity.agreements.matrix``), also as CSV; and ``/admin/agreements/{id}/summary``, one
agreement on one printable page (``identity.agreements.summary``).

Both only read the published set in force. Every administrator may read all of it (each
published version is the whole consortium's: ``identity.agreements.queries.visible_entries``),
so a library administrator sees the whole network, and changes nothing here.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.responses import Response

from identity import errors
from identity.agreements import matrix, summary
from identity.store.models import AgreementVersion
from identity.web.admin.deps import AdminDep, engine_of, in_force, page, problem_page
from identity.web.deps import get_in_force

router = APIRouter(include_in_schema=False)


@router.get("/admin/network", name="network_page")
def network_page(
    request: Request, admin: AdminDep, category: str = "", on: str = "", format: str = "html"
) -> Response:
    with Session(engine_of(request)) as session:
        agreements = in_force(request, session)
    choices = matrix.categories(agreements)
    chosen = category.strip() or (choices[0] if choices else "")
    day, problem = _day(on)
    if not problem and chosen not in choices:
        problem = f"Category: choose one of the network's categories, not {category!r}."
    context: dict[str, object] = {"categories": choices, "category": chosen,
                                  "on": on.strip() or date.today().isoformat(),  # noqa: DTZ011
                                  "error": problem, "labels": matrix.LABELS}  # fmt: skip
    if problem:
        if format == "csv":
            return Response(problem + "\n", status_code=400,
                            media_type="text/plain; charset=utf-8")  # fmt: skip
        return page(request, "network.html", context, admin=admin, status_code=400)
    if not choices:  # nothing published yet
        return page(request, "network.html", context, admin=admin)
    found = matrix.build(agreements, chosen, day)
    if format == "csv":
        return Response(
            matrix.to_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="network-{chosen}-{day}.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
    context.update(matrix=found, short_terms=matrix.short_terms,
                   loans=lambda terms: summary.loans(terms, agreements.network))  # fmt: skip
    return page(request, "network.html", context, admin=admin)


def _day(text: str) -> tuple[date, str]:
    today = date.today()  # noqa: DTZ011
    if not text.strip():
        return today, ""
    try:
        return date.fromisoformat(text.strip()), ""
    except ValueError:
        return today, f"Date: enter a date like {today.isoformat()}, not {text!r}."


@router.get("/admin/agreements/{agreement_id}/summary", name="agreement_summary")
def agreement_summary(request: Request, admin: AdminDep, agreement_id: str) -> Response:
    held = get_in_force(request)
    with Session(engine_of(request)) as session:
        agreements = held.get(session=session)
        number = held.version
        version = session.get(AgreementVersion, number) if number else None
    if agreement_id not in agreements.agreements:
        missing = errors.NotFound(f"There is no agreement {agreement_id} in the published set.")
        return problem_page(request, admin, missing)
    context = {"summary": summary.of(agreements, agreement_id), "version": version,
               "day": summary.day}  # fmt: skip
    return page(request, "summary.html", context, admin=admin)
