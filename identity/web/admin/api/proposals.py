"""Proposals: changes waiting for another party's approval; approve, reject, withdraw."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from identity import errors
from identity.agreements import proposals, queries, whatif
from identity.store.database import transaction
from identity.web.admin.api.auth import AUTH, CHANGE, ApiAdmin
from identity.web.admin.deps import Number, engine_of, in_force
from identity.web.admin.schemas import Approved, Decided, FlipOut, ProposalOut, ProposalWithFlips
from identity.web.deps import SessionDep, client_address
from identity.web.problems import responses

router = APIRouter()


@router.get("/proposals", summary="Proposals you can see", responses=responses(*AUTH))
def list_proposals(
    session: SessionDep,
    admin: ApiAdmin,
    status: Literal["pending", "published", "rejected", "withdrawn", "all"] = "pending",
    library: str | None = None,
) -> list[ProposalOut]:
    found = queries.proposals(
        session, admin, status=None if status == "all" else status, library=library
    )
    return [ProposalOut.of(admin, p) for p in found]


@router.get(
    "/proposals/{number}",
    summary="One proposal, with what it would flip",
    responses=responses(*AUTH, errors.NotFound),
)
def get_proposal(
    request: Request, session: SessionDep, admin: ApiAdmin, number: Number
) -> ProposalWithFlips:
    proposal = queries.get_proposal(session, admin, number)
    on = date.today()  # noqa: DTZ011
    flips = whatif.of_proposal(session, proposal, in_force(request, session), on=on)
    listed = ProposalOut.of(admin, proposal).model_dump()
    return ProposalWithFlips(**listed, flips=[FlipOut.of(f) for f in flips])


@router.post("/proposals/{number}/approve", summary="Approve for your library",
             responses=responses(*CHANGE))  # fmt: skip
def approve(request: Request, admin: ApiAdmin, number: Number) -> Approved:
    with transaction(engine_of(request)) as session:
        outcome = proposals.approve(
            session=session, admin=admin, number=number, address=client_address(request)
        )
        assert outcome.proposal is not None
        return Approved(
            proposal=ProposalOut.of(admin, outcome.proposal),
            version=outcome.version.id if outcome.version else None,
        )


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=proposals.REASON_MAX,
                        description="Why: the proposer is shown it")  # fmt: skip


@router.post("/proposals/{number}/reject", summary="Reject, saying why",
             responses=responses(*CHANGE))  # fmt: skip
def reject(request: Request, admin: ApiAdmin, number: Number, body: RejectIn) -> Decided:
    with transaction(engine_of(request)) as session:
        address = client_address(request)
        proposal = proposals.reject(session=session, admin=admin, number=number,
                                    reason=body.reason, address=address)  # fmt: skip
        return Decided(proposal=ProposalOut.of(admin, proposal))


@router.post("/proposals/{number}/withdraw", summary="Withdraw your library's proposal",
             responses=responses(*CHANGE))  # fmt: skip
def withdraw(request: Request, admin: ApiAdmin, number: Number) -> Decided:
    with transaction(engine_of(request)) as session:
        proposal = proposals.withdraw(
            session=session, admin=admin, number=number, address=client_address(request)
        )
        return Decided(proposal=ProposalOut.of(admin, proposal))
