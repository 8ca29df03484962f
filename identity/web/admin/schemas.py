"""What the admin API takes and sends: one pydantic model per body, each answer built from the
domain's objects by its ``of`` constructor (the API never sends a table class)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

import policies
from identity.admin.accounts import Admin
from identity.agreements import changes, entries, rules, whatif
from identity.patrons import cards
from identity.store.models import AgreementVersion, AuditEvent, Proposal, as_utc
from identity.web.eligibility import UndatedDecision
from identity.web.fields import Day

Section = entries.Section

# --- what comes in ---------------------------------------------------------------------------


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    code: str = Field(
        default="", max_length=16, description="the TOTP code, if the account has one"
    )


class EntryIn(BaseModel):
    """One entry as a one-entry agreement file, and a note for the version or proposal."""

    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(max_length=200_000)
    note: str | None = Field(default=None, max_length=changes.NOTE_LIMIT)


#: an entry of each section, as the document's example of a change
EXAMPLES: dict[Section, dict[str, Any]] = {
    "agreements": {
        "yaml": "agreements:\n  - id: monash-latrobe-alumni\n    kind: bilateral\n"
                "    lender: monash\n    borrowers_from: [latrobe]\n    categories: [alumni]\n"
                "    terms: {max_items: 2, loan_days: 14}\n",
        "note": "Alumni of La Trobe may borrow at Monash",
    },
    "libraries": {
        "yaml": "libraries:\n  - id: acu\n    name: Australian Catholic University Library\n"
                "    card_prefixes: [\"2888\"]\n    categories: {UG: undergraduate}\n",
        "note": "ACU joins the network",
    },
}  # fmt: skip


class CheckIn(EntryIn):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**EXAMPLES["agreements"], "section": "agreements"}]}
    )

    section: Literal["libraries", "agreements"]
    id: str | None = Field(default=None, description="the entry changed; absent for a new one")
    on: Day | None = Field(default=None, description="the day the what-if decides on (today)")


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card: str | None = Field(
        default=None,
        min_length=1,
        max_length=4 * cards.MAX_CARD,
        description="read as at sign-in; none for a library whose patrons sign in at its own "
        "identity provider",
    )
    yaml: str | None = Field(
        default=None, max_length=200_000, description="test these settings, not the published"
    )


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=50_000_000)


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[FileIn] = Field(min_length=1)
    note: str | None = Field(default=None, max_length=changes.NOTE_LIMIT)


# --- what goes out ---------------------------------------------------------------------------


def _seconds(at: datetime) -> str:
    return as_utc(at).isoformat(timespec="seconds")


class SessionOut(BaseModel):
    token: str
    token_type: Literal["Bearer"] = "Bearer"
    idle_timeout_s: int
    lifetime_s: int


class MeOut(BaseModel):
    email: str
    library: str | None = Field(description="none for a consortium administrator")
    consortium: bool


class EntryOut(BaseModel):
    id: str
    file: str
    parties: list[str]
    you_may_edit: bool
    entry: dict[str, Any] = Field(description="the entry as in its agreement file")

    @classmethod
    def of(cls, admin: Admin, section: Section, entry: entries.Entry) -> EntryOut:
        return cls(
            id=entry.id,
            file=entry.file,
            parties=sorted(rules.parties(section, entry.data)),
            you_may_edit=rules.may_touch(admin, section, entry.data, entry.data),
            entry=jsonable_encoder(entry.data),
        )


class EntryWithYaml(EntryOut):
    yaml: str = Field(description="the entry as a one-entry agreement file, to edit and send")


class ProblemAt(BaseModel):
    """One problem the validator found, where ``hub agreements check`` would say."""

    file: str
    line: int | None
    column: int | None
    message: str

    @classmethod
    def of(cls, problem: policies.Problem) -> ProblemAt:
        return cls(file=problem.file, line=problem.line, column=problem.column,
                   message=problem.message)  # fmt: skip


class FlippedDecision(UndatedDecision):
    """A decision for a patron in good standing (as the eligibility API gives it, undated)."""

    @classmethod
    def of(cls, decision: policies.Decision) -> FlippedDecision:
        return cls.model_validate(decision.to_dict())


class FlipOut(BaseModel):
    lender: str
    home_library: str
    category: str
    change: whatif.Kind
    before: FlippedDecision
    after: FlippedDecision
    patrons: int | None = Field(description="registry patrons it touches (none: not counted)")

    @classmethod
    def of(cls, flip: whatif.Flip) -> FlipOut:
        return cls(
            lender=flip.lender,
            home_library=flip.home,
            category=flip.category,
            change=flip.kind,
            before=FlippedDecision.of(flip.before),
            after=FlippedDecision.of(flip.after),
            patrons=flip.patrons,
        )


class CheckOut(BaseModel):
    valid: bool
    problems: list[ProblemAt]
    flips: list[FlipOut]
    warnings: list[ProblemAt] = Field(
        default_factory=list,
        description="Likely mistakes the change brings, which do not stop it (a category a "
        "borrowing library never maps, an agreement that can apply to nobody)",
    )


class YouMay(BaseModel):
    approve: bool
    reject: bool
    withdraw: bool


class ProposalOut(BaseModel):
    id: int
    status: str = Field(examples=["pending"])
    section: str
    target: str
    action: str = Field(examples=["create", "update", "delete"])
    proposed_by: str
    proposer_library: str | None
    created_at: str
    note: str | None
    parties: list[str]
    awaiting: list[str]
    yaml: str | None = Field(description="the entry as proposed (none: it is removed)")
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    decided_by: str | None
    decided_at: str | None
    reason: str | None = Field(description="why it was rejected")
    version: int | None
    you_may: YouMay

    @classmethod
    def of(cls, admin: Admin, proposal: Proposal) -> ProposalOut:
        assert proposal.id is not None
        decide = rules.may_decide(admin, proposal)
        return cls(
            id=proposal.id,
            status=proposal.status,
            section=proposal.section,
            target=proposal.target,
            action=proposal.action,
            proposed_by=proposal.proposed_by,
            proposer_library=proposal.proposer_library,
            created_at=_seconds(proposal.created_at),
            note=proposal.note,
            parties=sorted(rules.split_names(proposal.parties)),
            awaiting=sorted(rules.split_names(proposal.awaiting)),
            yaml=proposal.text,
            before=proposal.before,
            after=proposal.after,
            decided_by=proposal.decided_by,
            reason=proposal.reason,
            decided_at=_seconds(proposal.decided_at) if proposal.decided_at else None,
            version=proposal.version,
            you_may=YouMay(
                approve=decide, reject=decide, withdraw=rules.may_withdraw(admin, proposal)
            ),  # fmt: skip
        )


class ProposalWithFlips(ProposalOut):
    flips: list[FlipOut] = Field(description="what approving it now would flip")


class Published(BaseModel):
    """The change is in force, as ``version``."""

    status: Literal["published"] = "published"
    version: int


class Pending(BaseModel):
    """The change waits for the other parties' approval."""

    status: Literal["pending"] = "pending"
    proposal: ProposalOut


class Approved(BaseModel):
    proposal: ProposalOut
    version: int | None = Field(description="the version published by the last approval")


class Decided(BaseModel):
    proposal: ProposalOut


class VersionOut(BaseModel):
    version: int
    published_at: str
    published_by: str
    note: str | None
    sha256: str
    libraries: int
    agreements: int
    files: list[str] = Field(description="the names of its files, in load order")

    @classmethod
    def of(cls, version: AgreementVersion) -> VersionOut:
        assert version.id is not None
        return cls(
            version=version.id,
            published_at=_seconds(version.published_at),
            published_by=version.published_by,
            note=version.note,
            sha256=version.sha256,
            libraries=version.libraries,
            agreements=version.agreements,
            files=[f["name"] for f in version.files],
        )


class VersionFile(BaseModel):
    name: str
    text: str


class VersionWithFiles(VersionOut):
    files: list[VersionFile]  # type: ignore[assignment]  # the files themselves

    @classmethod
    def with_files(cls, version: AgreementVersion) -> VersionWithFiles:
        listed = VersionOut.of(version).model_dump(exclude={"files"})
        return cls(**listed, files=[VersionFile(**f) for f in version.files])


class AuditEventOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    subject: str
    address: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        assert event.id is not None
        return cls(id=event.id, at=_seconds(event.at), actor=event.actor, action=event.action,
                   subject=event.subject, address=event.address, before=event.before,
                   after=event.after, hash=event.hash)  # fmt: skip
