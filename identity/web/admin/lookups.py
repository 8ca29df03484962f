"""``/admin/lookups``: who asked the eligibility API about the patrons of the signed-in
administrator's library (docs/eligibility.md: lookups by card are a privacy matter for the home
library). A consortium administrator chooses the library from a list; a library administrator
sees only their own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlmodel import Session, col, func, select
from starlette.responses import Response

from identity.patrons.cards import NotACard, read_card
from identity.store.models import EligibilityLookup
from identity.web.admin.deps import AdminDep, engine_of, in_force, page
from identity.web.admin.desk import choices

router = APIRouter(include_in_schema=False)

SHOWN = 200


@router.get("/admin/lookups")
def lookups_page(request: Request, admin: AdminDep, library: str = "", card: str = "") -> Response:
    home = admin.library or library.strip()
    with Session(engine_of(request)) as session:
        libraries = choices(admin, in_force(request, session))
    context: dict[str, object] = {"library": home, "card": card, "rows": [], "total": 0,
                                  "libraries": libraries}  # fmt: skip
    wanted = None
    if card.strip():
        try:
            wanted = read_card(card)
        except NotACard as exc:
            context["error"] = str(exc)
            return page(request, "lookups.html", {**context, "shown": SHOWN}, admin=admin,
                        status_code=400)  # fmt: skip
    if home:
        query = select(EligibilityLookup).where(EligibilityLookup.home_library == home)
        if wanted is not None:
            query = query.where(EligibilityLookup.card == wanted)
        with Session(engine_of(request)) as session:
            total = session.exec(select(func.count()).select_from(query.subquery())).one()
            rows = session.exec(query.order_by(col(EligibilityLookup.id).desc()).limit(SHOWN))
            context.update(rows=list(rows), total=int(total))
    return page(request, "lookups.html", {**context, "shown": SHOWN}, admin=admin)
