"""``/admin/proposals``: changes waiting for another party, each with the decisions it would flip,
and the forms that approve, reject or withdraw one (``identity.agreements.proposals``; the rules
are ``identity.agreements.rules``)."""

from __future__ import annotations

import difflib
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import entries, minifile, proposals, queries, rules, whatif
from identity.store.database import transaction
from identity.web import pages
from identity.web.admin.deps import (
    AdminDep,
    Number,
    engine_of,
    in_force,
    page,
    problem_page,
    secret_of,
)
from identity.web.deps import client_address

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]
STATUSES = ("pending", "published", "rejected", "withdrawn", "all")


@router.get("/admin/proposals")
def list_page(request: Request, admin: AdminDep, status: str = "pending") -> Response:
    status = status if status in STATUSES else "pending"
    with Session(engine_of(request)) as session:
        found = queries.proposals(session, admin, status=None if status == "all" else status)
    return page(request, "proposals.html", {"proposals": found, "status": status}, admin=admin)


@router.get("/admin/proposals/{number}")
def proposal_page(request: Request, admin: AdminDep, number: Number) -> Response:
    return _page(request, admin, number)


@router.post("/admin/proposals/{number}/{verb}")
def decide(
    request: Request,
    admin: AdminDep,
    number: Number,
    verb: str,
    csrf: FormText = "",
    reason: FormText = "",
) -> Response:
    if verb not in ("approve", "reject", "withdraw"):
        return _page(request, admin, number, error="No such action.", status=404)
    if not pages.csrf_ok(secret_of(request), request, csrf):
        return _page(request, admin, number, error="This page had expired. Please try again.",
                     status=400)  # fmt: skip
    address = client_address(request)
    act = {"approve": proposals.approve, "withdraw": proposals.withdraw}
    try:
        with transaction(engine_of(request)) as session:
            if verb == "reject":
                proposals.reject(session=session, admin=admin, number=number, reason=reason,
                                 address=address)  # fmt: skip
            else:
                act[verb](session=session, admin=admin, number=number, address=address)
    except errors.Problem as problem:
        return _refused(request, admin, number, problem, reason=reason)
    return RedirectResponse(f"/admin/proposals/{number}", status_code=303)


def _page(
    request: Request,
    admin: Admin,
    number: int,
    *,
    error: str = "",
    status: int = 200,
    reason: str = "",
) -> Response:
    with Session(engine_of(request)) as session:
        try:
            proposal = queries.get_proposal(session, admin, number)
        except errors.NotFound as problem:
            return problem_page(request, admin, problem)
        _, files = queries.current_files(session)
        section = entries.section_of(proposal.section)
        now = entries.find(files, section, proposal.target)
        stale = ""
        if proposal.status == "pending" and entries.jsonable(now.data if now else None) != (
            proposal.before
        ):
            stale = (
                "The entry has changed since this was proposed: it cannot be approved as it stands."
            )
        on = date.today()  # noqa: DTZ011
        flips = [] if stale else whatif.of_proposal(session, proposal, in_force(request, session),
                                                    on=on)  # fmt: skip
        current = minifile.editable(files, section, proposal.target) if now else ""
    diff = list(
        difflib.unified_diff(
            current.splitlines(),
            (proposal.text or "").splitlines(),
            fromfile="in force" if now else "/dev/null",
            tofile=f"proposal {number}" if proposal.text is not None else "/dev/null",
            lineterm="",
        )
    )
    context: dict[str, object] = {
        "p": proposal,
        "singular": "library" if section == "libraries" else "agreement",
        "parties": sorted(rules.split_names(proposal.parties)),
        "awaiting": sorted(rules.split_names(proposal.awaiting)),
        "diff": diff if proposal.status == "pending" else [],
        "flips": flips,
        "stale": stale,
        "may_decide": rules.may_decide(admin, proposal),
        "may_withdraw": rules.may_withdraw(admin, proposal),
        "created": request.query_params.get("created") == "1",
        "error": error,
        "reason": reason,
        "reason_missing": status == 422 and not reason.strip(),
    }
    return page(request, "proposal.html", context, admin=admin, status_code=status)


def _refused(
    request: Request, admin: Admin, number: int, problem: errors.Problem, *, reason: str = ""
) -> Response:
    """The proposal's page again, saying why it was not decided, in the problem's status; a
    page of its own when there is no such proposal."""
    if isinstance(problem, errors.NotFound):
        return problem_page(request, admin, problem)
    error = problem.detail
    if isinstance(problem, errors.InvalidAgreements):
        found = "; ".join(f"{p.file} line {p.line}: {p.message}" for p in problem.problems)
        error = f"It would not be valid now: {found}"
    return _page(request, admin, number, error=error, status=problem.status, reason=reason)
