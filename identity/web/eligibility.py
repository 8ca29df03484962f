"""``POST /api/v1/eligibility`` and ``/api/v1/eligibility/batch`` (docs/eligibility.md): partner
library systems ask whether their library may lend to a card, with a client-credentials token
of scope ``eligibility``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from identity import errors, i18n, metrics
from identity.agreements.publishing import InForce
from identity.eligibility import answers as eligibility_answers
from identity.eligibility.answers import Answer, Question
from identity.eligibility.asking import Asker
from identity.eligibility.records import Recorder, Ticket
from identity.oauth.server import HubServer
from identity.patrons import cards
from identity.settings import QUESTIONS, rate
from identity.web import languages
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
ADVICE = (
    "You owe $25.50 to RMIT University Library. Monash University Library lends to patrons of "
    "RMIT University Library who owe $10.00 or less. Pay at RMIT University Library "
    "(library.rmit.edu.au), then sign in again."
)


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
    message: str = Field(examples=[FINES], description="for staff: codes and ids, in English")


class AdvisedReasonOut(ReasonOut):
    """A reason with what the patron can do about it."""

    advice: str = Field(
        examples=[ADVICE],
        description="for the patron, in plain words with what to do next, in the language of "
        "Accept-Language where the hub has it",
    )


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
                                 "message": FINES, "advice": ADVICE}],
                    "valid_until": None, "decided_at": "2026-11-22T09:30:00Z",
                }
            ]
        }
    )  # fmt: skip

    reasons: list[AdvisedReasonOut]  # type: ignore[assignment]
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


async def bearer(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> str:
    """The bearer token that came with the request; checked in the worker thread that reads
    the rest (``eligibility.asking``)."""
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise errors.Unauthorized(
            "Send a client-credentials access token as a Bearer token.", sent=False
        )
    return token


async def get_records(request: Request) -> Recorder:
    records: Recorder = request.app.state.records
    return records


BearerDep = Annotated[str, Depends(bearer)]
RecordsDep = Annotated[Recorder, Depends(get_records)]
ALWAYS = (errors.Unauthorized, errors.Forbidden, errors.InvalidRequest, errors.RateLimited)
PER_QUESTION = (errors.UnknownLibrary, errors.UnknownCard, errors.UnknownPatron,
                errors.PatronSignInOnly, errors.HomeLibraryUnavailable)  # fmt: skip
NO_STORE = {"Cache-Control": "no-store"}  # an answer is about a patron
AcceptLanguage = Annotated[
    str | None,
    Header(
        description="the language of each reason's advice (RFC 9110 12.5.4), where the hub "
        "has it; amounts and dates as its region writes them (en-AU: $25.50)",
        examples=["en-AU"],
    ),
]


@router.post(
    "/eligibility",
    response_model=DecisionOut,
    summary="May my library lend to this patron?",
    responses=responses(*ALWAYS, *PER_QUESTION),
)
async def check(
    body: EligibilityRequest,
    token: BearerDep,
    server: OAuthDep,
    in_force: InForceDep,
    records: RecordsDep,
    accept_language: AcceptLanguage = None,
) -> Response:
    i18n.current_locale.set(languages.locale_for(accept_language))
    [answer] = await _answers(token, [body], server, in_force, records)
    if answer.problem is not None:
        raise answer.problem
    return JSONResponse(answer.decision, headers=NO_STORE)


@router.post(
    "/eligibility/batch",
    response_model=BatchOut,
    summary="Up to 100 questions at once; each answered with a decision or a problem",
    responses=responses(*ALWAYS),
)
async def check_batch(
    body: BatchRequest,
    token: BearerDep,
    server: OAuthDep,
    in_force: InForceDep,
    records: RecordsDep,
    accept_language: AcceptLanguage = None,
) -> Response:
    i18n.current_locale.set(languages.locale_for(accept_language))
    results: list[dict[str, Any]] = []
    for answer in await _answers(token, body.requests, server, in_force, records):
        problem = answer.problem  # one question's problem; Retry-After as a member
        if problem is None:
            results.append({"status": 200, "decision": answer.decision, "problem": None})
        else:
            found = {**problem.to_dict(), "retry_after": problem.retry_after}
            found = {name: found.get(name) for name in ProblemItem.model_fields}
            results.append({"status": problem.status, "decision": None, "problem": found})
    return JSONResponse({"results": results}, headers=NO_STORE)


async def _answers(
    token: str,
    questions: list[EligibilityRequest],
    server: HubServer,
    in_force: InForce,
    records: Recorder,
) -> list[Answer]:
    """The answers to ``questions``, once they are recorded and counted (``eligibility``)."""
    allowed, per_s = rate(server.settings.eligibility_rate, QUESTIONS)
    try:
        asker, answers = await _answered(token, questions, server, in_force, allowed, per_s)
        lookups = [answer.lookup for answer in answers]
        await records.record(Ticket(asker.client_id, lookups, allowed=allowed, per_s=per_s))
    except errors.RateLimited:
        metrics.RATE_LIMITED.labels("eligibility").inc()
        raise
    for answer in answers:
        metrics.ELIGIBILITY.labels(_outcome(answer)).inc()
    return answers


def _outcome(answer: Answer) -> str:
    if answer.problem is not None:
        return answer.problem.slug
    return "eligible" if answer.decision and answer.decision.get("eligible") else "not_eligible"


async def _answered(
    token: str,
    questions: list[EligibilityRequest],
    server: HubServer,
    in_force: InForce,
    allowed: int,
    per_s: int,
) -> tuple[Asker, list[Answer]]:
    return await eligibility_answers.answer(
        server=server,
        in_force=in_force,
        token=token,
        allowed=allowed,
        per_s=per_s,
        questions=[
            Question(home_library=q.home_library, card=q.card, patron=q.patron,
                     material=q.material, on=q.on, lender=q.lender)
            for q in questions
        ],
    )  # fmt: skip
