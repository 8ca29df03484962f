"""``POST /api/v1/eligibility`` and ``/api/v1/eligibility/batch`` (docs/eligibility.md): partner
library systems ask whether their library may lend to a card, with a client-credentials token
of scope ``eligibility``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

import policies
from identity import eligibility, errors
from identity.agreements.publishing import InForce
from identity.eligibility import Question
from identity.oauth import bearer
from identity.oauth.client import Client
from identity.oauth.server import HubServer
from identity.patrons import cards
from identity.settings import QUESTIONS, rate
from identity.web.deps import InForceDep, OAuthDep
from identity.web.fields import Day
from identity.web.problems import responses

router = APIRouter(prefix="/api/v1", tags=["eligibility"])

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


#: read as on the sign-in page (``cards.read_card``): surrounding spaces dropped, Unicode NFC,
#: 1 to 64 characters with no space or control character in it
Card = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4 * cards.MAX_CARD),
    AfterValidator(cards.read_card),
    Field(description="1 to 64 characters, no spaces or control characters (Unicode NFC)"),
]
EXAMPLE: dict[str, Any] = {
    "home_library": "rmit", "card": "21110000000004", "material": "book", "on": "2026-11-22",
}  # fmt: skip
BY_PATRON: dict[str, Any] = {"patron": "q3Jx-the-pairwise-sub", "material": "book"}
#: the two ways to name the patron, as JSON Schema (null is as good as leaving a field out)
BY_CARD_ONLY: dict[str, Any] = {
    "title": "by card",
    "required": ["home_library", "card"],
    "properties": {"home_library": {"type": "string"}, "card": {"type": "string"},
                   "patron": {"type": "null"}},
}  # fmt: skip
BY_SUB_ONLY: dict[str, Any] = {
    "title": "by patron",
    "required": ["patron"],
    "properties": {"patron": {"type": "string"}, "home_library": {"type": "null"},
                   "card": {"type": "null"}},
}  # fmt: skip
FINES = "Fines owed 25.50 exceed the limit 10.00 set by caval-2026"


class EligibilityRequest(BaseModel):
    """Who is asking about whom: ``home_library`` and ``card``, or ``patron`` (the pairwise
    ``sub`` this lender received when the patron signed in through the hub)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [EXAMPLE, BY_PATRON], "oneOf": [BY_CARD_ONLY, BY_SUB_ONLY]},
    )  # fmt: skip

    home_library: Id | None = None
    card: Card | None = None
    patron: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,100}$")] | None = None
    material: Id | None = Field(default=None, description="a material type, e.g. book or av")
    on: Day | None = Field(
        default=None, description="the day of the loan (YYYY-MM-DD); default today"
    )
    lender: Id | None = Field(
        default=None, description="if given, must be the client's own library (else 403)"
    )

    @model_validator(mode="after")
    def _one_identification(self) -> EligibilityRequest:
        by_card = self.home_library is not None or self.card is not None
        if by_card == (self.patron is not None):
            raise ValueError("give either home_library and card, or patron")
        if by_card and (self.home_library is None or self.card is None):
            raise ValueError("home_library and card go together")
        return self


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: list[EligibilityRequest] = Field(min_length=1, max_length=100)


class TermsOut(BaseModel):
    max_items: int
    loan_days: int
    renewals: int
    holds: int
    excluded_material: list[str]


class ReasonOut(BaseModel):
    code: str = Field(examples=["fines_over_limit"])
    agreement: str | None = Field(examples=["caval-2026"])
    message: str = Field(examples=[FINES])


class UndatedDecision(BaseModel):
    """``Decision.to_dict()`` without its ``decided_at``."""

    eligible: bool
    lender: str
    home_library: str
    patron_category: str
    terms: TermsOut | None
    agreements: list[str]
    reasons: list[ReasonOut]
    valid_until: date | None


class DecisionOut(UndatedDecision):
    """The decision, with its reasons when the answer is no (docs/eligibility.md, The answer)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "eligible": False, "lender": "monash", "home_library": "rmit",
                    "patron_category": "undergraduate", "terms": None,
                    "agreements": ["caval-2026"],
                    "reasons": [{"code": "fines_over_limit", "agreement": "caval-2026",
                                 "message": FINES}],
                    "valid_until": None, "decided_at": "2026-11-22T09:30:00Z",
                }
            ]
        }
    )  # fmt: skip

    decided_at: str = Field(description="ISO 8601, UTC", examples=["2026-11-22T09:30:00Z"])


class ProblemItem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    retry_after: int | None = Field(
        default=None, description="seconds to wait (home-library-unavailable), as Retry-After"
    )


class BatchItem(BaseModel):
    status: int = Field(description="200 with a decision, or the problem's status")
    decision: DecisionOut | None = None
    problem: ProblemItem | None = None


class BatchOut(BaseModel):
    results: list[BatchItem]


BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="client credentials",
    description="An access token from POST /token with grant_type=client_credentials "
    "(scope eligibility), sent as Authorization: Bearer.",
)


def partner(
    server: OAuthDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Client:
    """The client whose bearer token came with the request, if it may ask (scope eligibility)."""
    token = credentials.credentials if credentials else ""
    if not token.strip():
        raise errors.Unauthorized(
            "Send a client-credentials access token as a Bearer token.", sent=False
        )
    with server.synced():
        found = bearer.live(server, token.strip())
    if found is None:
        raise errors.Unauthorized("The access token is not valid (unknown, expired or revoked).")
    if "eligibility" not in found.scopes:
        raise errors.Forbidden("The access token does not carry the scope 'eligibility'.")
    return found.client


PartnerDep = Annotated[Client, Depends(partner)]
ALWAYS = (errors.Unauthorized, errors.Forbidden, errors.InvalidRequest, errors.RateLimited)
PER_QUESTION = (errors.UnknownLibrary, errors.UnknownCard, errors.UnknownPatron,
                errors.HomeLibraryUnavailable)  # fmt: skip


@router.post(
    "/eligibility",
    response_model=DecisionOut,
    summary="May my library lend to this patron?",
    responses=responses(*ALWAYS, *PER_QUESTION),
)
async def check(
    body: EligibilityRequest,
    client: PartnerDep,
    server: OAuthDep,
    in_force: InForceDep,
    response: Response,
) -> dict[str, Any]:
    agreements = await run_in_threadpool(_allowed, client, [body], server, in_force)
    response.headers["Cache-Control"] = "no-store"  # it is about a patron
    return await _answer(server, client, agreements, body)


@router.post(
    "/eligibility/batch",
    response_model=BatchOut,
    summary="Up to 100 questions at once; each answered with a decision or a problem",
    responses=responses(*ALWAYS),
)
async def check_batch(
    body: BatchRequest,
    client: PartnerDep,
    server: OAuthDep,
    in_force: InForceDep,
    response: Response,
) -> dict[str, Any]:
    agreements = await run_in_threadpool(_allowed, client, body.requests, server, in_force)
    response.headers["Cache-Control"] = "no-store"
    results: list[dict[str, Any]] = []
    unavailable: dict[str, errors.Problem] = {}  # a home library that did not answer is not
    for question in body.requests:  # asked again in the same batch (each try may time out)
        try:
            if question.home_library in unavailable:
                raise unavailable[question.home_library]
            decision = await _answer(server, client, agreements, question)
            results.append({"status": 200, "decision": decision})
        except errors.Problem as problem:  # one question's problem; Retry-After as a member
            if isinstance(problem, errors.HomeLibraryUnavailable) and question.home_library:
                unavailable[question.home_library] = problem
            found = problem.to_dict()
            if problem.retry_after is not None:
                found["retry_after"] = problem.retry_after
            results.append({"status": problem.status, "problem": found})
    return {"results": results}


def _allowed(
    client: Client, questions: list[EligibilityRequest], server: HubServer, in_force: InForce
) -> policies.Agreements:
    """The agreements in force, once the questions are found allowed and within the client's
    rate (blocking: run in a worker thread)."""
    for question in questions:
        if question.lender is not None and question.lender != client.library:
            raise errors.Forbidden(
                f"This client asks for {client.library}; it cannot ask for {question.lender}."
            )
    allowed, per_s = rate(server.settings.eligibility_rate, QUESTIONS)
    eligibility.spend_rate(
        engine=server.engine, client_id=client.client_id, requests=len(questions),
        allowed=allowed, per_s=per_s,
    )  # fmt: skip
    with Session(server.engine) as session:
        return in_force.get(session=session)


async def _answer(
    server: HubServer, client: Client, agreements: policies.Agreements, body: EligibilityRequest
) -> dict[str, Any]:
    return await eligibility.answer(
        engine=server.engine,
        agreements=agreements,
        gates=server.gates,
        client_id=client.client_id,
        lender=client.library,
        question=Question(
            home_library=body.home_library, card=body.card, patron=body.patron,
            material=body.material, on=body.on,
        ),
    )  # fmt: skip
