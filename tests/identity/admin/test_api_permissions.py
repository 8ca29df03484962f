"""Every permission rule of the admin API (``identity.agreements.rules``), over HTTP with bearer
tokens, for a consortium administrator, a library administrator who is party to the entry and
one who is not: who may change libraries and agreements (published at once, proposed and
awaiting whom, or refused), who may see, approve, reject and withdraw proposals, rollbacks and
imports, testing a connection, what each sees of the audit log, and sessions ending. Every
refused request leaves the published version and the proposals as they were.

The network is ``policies/examples`` published as version 1: ``monash-rmit-staff`` (monash lends
to rmit), ``deakin-alumni`` (deakin lends to rmit and monash), ``caval-2026`` (a consortium of
the six universities; slv is not a member), ``latrobe-suspends-rmit``. On SQLite, each test
starts from a copy of one database migrated once per worker: what is tested is who may do what,
and the file stays fast."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from identity.agreements import publishing
from identity.store.models import Proposal
from tests.identity.admin.conftest import AddAdmin

API = "/api/v1/admin"
BOSS = "consortium"  # the consortium administrator (library None)
NOT_PERMITTED = "/problems/not-permitted"
NOT_FOUND = "/problems/not-found"
CONFLICT = "/problems/conflict"


# --- entries, as one-entry agreement files ---------------------------------------------------


def library(id: str, name: str, prefix: str) -> str:
    return (
        f'libraries:\n  - id: {id}\n    name: {name}\n    card_prefixes: ["{prefix}"]\n'
        "    categories: {STAFF: staff, PG: postgraduate, UG: undergraduate}\n"
        "    connector: {kind: registry}\n"
    )


def bilateral(id: str, lender: str, borrowers: list[str], max_items: int = 12) -> str:
    return (
        f"agreements:\n  - id: {id}\n    kind: bilateral\n    lender: {lender}\n"
        f"    borrowers_from: [{', '.join(borrowers)}]\n    categories: [staff]\n"
        f"    terms: {{max_items: {max_items}, loan_days: 28}}\n"
    )


def suspension(id: str, lender: str, borrowers: list[str], reason: str = "Audit") -> str:
    return (
        f"agreements:\n  - id: {id}\n    kind: suspension\n    lender: {lender}\n"
        f"    borrowers_from: [{', '.join(borrowers)}]\n    reason: {reason}\n"
    )


CAVAL_MEMBERS = ["rmit", "monash", "latrobe", "deakin", "swinburne", "vu"]
CAVAL_2026 = (
    "agreements:\n  - id: caval-2026\n    kind: consortium\n"
    f"    members: [{', '.join(CAVAL_MEMBERS)}]\n"
    "    effective: {from: 2026-03-01, until: 2027-02-28}\n"
    "    categories: [staff, postgraduate, undergraduate]\n"
    "    terms: {max_items: 4, loan_days: 14, renewals: 1, holds: 3}\n"
)
BALLARAT = library("ballarat", "Federation University Library", "2888")
MONASH_RMIT = bilateral("monash-rmit-staff", "monash", ["rmit"])
DEAKIN_ALUMNI = bilateral("deakin-alumni", "deakin", ["rmit", "monash"], max_items=3)


# --- the API as each administrator -----------------------------------------------------------


@dataclass
class Hub:
    """The app with the examples published, signing in one administrator per library (and the
    consortium's) on first use."""

    client: TestClient
    engine: Engine
    add_admin: AddAdmin
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, who: str, n: int = 1) -> str:
        key = f"{who}{n}"
        if key not in self.tokens:
            email = f"{key}@{who}.example"
            added = self.add_admin(email, None if who == BOSS else who)
            answer = self.client.post(
                f"{API}/sessions", json={"email": email, "password": added.password}
            )
            assert answer.status_code == 201, answer.text
            self.tokens[key] = str(answer.json()["token"])
        return self.tokens[key]

    def call(
        self, who: str, method: str, path: str, yaml: str | None = None, *, n: int = 1
    ) -> httpx2.Response:
        body = {"yaml": yaml} if yaml is not None else None
        if path.endswith("/reject"):  # a rejection says why
            body = {"reason": "Not on these terms"}
        return self.client.request(
            method,
            f"{API}{path}",
            headers={"Authorization": f"Bearer {self.token(who, n)}"},
            json=body,
        )

    def propose(self, who: str, path: str, yaml: str | None) -> dict[str, Any]:
        answer = self.call(who, "DELETE" if yaml is None else "PUT", path, yaml)
        assert answer.status_code == 202, answer.text
        proposal: dict[str, Any] = answer.json()["proposal"]
        return proposal

    def state(self) -> tuple[int, int, list[tuple[int, str, str]]]:
        """The version in force, and every proposal's (id, status, awaiting)."""
        with Session(self.engine) as session:
            version = publishing.latest(session=session)
            assert version is not None and version.id is not None
            rows = session.exec(select(Proposal).order_by(col(Proposal.id))).all()
        return version.id, len(rows), [(p.id or 0, p.status, p.awaiting) for p in rows]

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Whatever is done inside publishes nothing and makes or decides no proposal."""
        before = self.state()
        yield
        assert self.state() == before


@pytest.fixture
def hub(client: TestClient, published: Engine, add_admin: AddAdmin) -> Hub:
    return Hub(client, published, add_admin)


def assert_problem(answer: httpx2.Response, status: int, type: str, *names: str) -> None:
    """A problem+json of ``status`` and ``type`` whose detail names each of ``names``."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"] == type
    detail = body["detail"]
    assert isinstance(detail, str) and len(detail) > 20, detail
    for name in names:
        assert name in detail, f"{name!r} is not named in {detail!r}"


# --- changing libraries and agreements: a table ----------------------------------------------


@dataclass(frozen=True)
class Write:
    who: str
    method: str
    path: str
    yaml: str | None
    status: int
    #: 202: the proposal awaits these; 403: the detail names these
    names: tuple[str, ...] = ()
    #: requests made (and published) by the consortium administrator first
    setup: tuple[tuple[str, str, str | None], ...] = ()


WRITES: dict[str, Write] = {
    # libraries
    "library admin edits own library": Write(
        "monash", "PUT", "/libraries/monash",
        library("monash", "Monash University Library (Clayton)", "2222"), 200,
    ),
    "library admin edits another library": Write(
        "monash", "PUT", "/libraries/rmit", library("rmit", "RMIT", "2111"), 403,
        ("monash", "rmit"),
    ),
    "library admin adds a library": Write("monash", "POST", "/libraries", BALLARAT, 403),
    "library admin removes another library": Write(
        "monash", "DELETE", "/libraries/rmit", None, 403
    ),
    "library admin removes own library": Write("monash", "DELETE", "/libraries/monash", None, 403),
    "consortium edits a library": Write(
        BOSS, "PUT", "/libraries/rmit", library("rmit", "RMIT University", "2111"), 200
    ),
    "consortium adds a library": Write(BOSS, "POST", "/libraries", BALLARAT, 201),
    "consortium removes a library": Write(
        BOSS, "DELETE", "/libraries/ballarat", None, 200, setup=(("POST", "/libraries", BALLARAT),)
    ),
    # a bilateral agreement between monash (lender) and rmit
    "lender edits bilateral": Write(
        "monash", "PUT", "/agreements/monash-rmit-staff", MONASH_RMIT, 202, ("rmit",)
    ),
    "borrower edits bilateral": Write(
        "rmit", "PUT", "/agreements/monash-rmit-staff", MONASH_RMIT, 202, ("monash",)
    ),
    "lender removes bilateral": Write(
        "monash", "DELETE", "/agreements/monash-rmit-staff", None, 202, ("rmit",)
    ),
    "lender adds bilateral": Write(
        "monash", "POST", "/agreements", bilateral("monash-vu-staff", "monash", ["vu"]), 202,
        ("vu",),
    ),
    "borrower adds bilateral": Write(
        "vu", "POST", "/agreements", bilateral("monash-vu-staff", "monash", ["vu"]), 202,
        ("monash",),
    ),
    "non-party edits bilateral": Write(
        "latrobe", "PUT", "/agreements/monash-rmit-staff", MONASH_RMIT, 403,
        ("monash-rmit-staff", "monash", "rmit", "latrobe"),
    ),
    "non-party removes bilateral": Write(
        "latrobe", "DELETE", "/agreements/monash-rmit-staff", None, 403,
        ("monash-rmit-staff", "monash", "rmit", "latrobe"),
    ),
    "non-party adds bilateral between others": Write(
        "latrobe", "POST", "/agreements", bilateral("monash-vu-staff", "monash", ["vu"]), 403,
        ("monash-vu-staff", "monash", "vu", "latrobe"),
    ),
    "consortium edits bilateral": Write(
        BOSS, "PUT", "/agreements/monash-rmit-staff", MONASH_RMIT, 200
    ),
    "consortium removes bilateral": Write(
        BOSS, "DELETE", "/agreements/monash-rmit-staff", None, 200
    ),
    "lender moves bilateral away to others": Write(
        "monash", "PUT", "/agreements/monash-rmit-staff",
        bilateral("monash-rmit-staff", "latrobe", ["deakin"]), 403,
        ("monash-rmit-staff", "latrobe", "deakin", "monash"),
    ),
    "borrower moves bilateral away to others": Write(
        "rmit", "PUT", "/agreements/monash-rmit-staff",
        bilateral("monash-rmit-staff", "latrobe", ["deakin"]), 403,
        ("monash-rmit-staff", "latrobe", "deakin", "rmit"),
    ),
    "lender swaps the borrower: both old and new borrower consent": Write(
        "monash", "PUT", "/agreements/monash-rmit-staff",
        bilateral("monash-rmit-staff", "monash", ["latrobe"]), 202, ("latrobe", "rmit"),
    ),
    # a bilateral with several borrowers: every party's consent
    "lender edits multi-borrower bilateral": Write(
        "deakin", "PUT", "/agreements/deakin-alumni", DEAKIN_ALUMNI, 202, ("monash", "rmit")
    ),
    "one borrower edits multi-borrower bilateral": Write(
        "rmit", "PUT", "/agreements/deakin-alumni", DEAKIN_ALUMNI, 202, ("deakin", "monash")
    ),
    "borrower drops itself from multi-borrower bilateral": Write(
        "rmit", "PUT", "/agreements/deakin-alumni",
        bilateral("deakin-alumni", "deakin", ["monash"]), 403, ("deakin-alumni", "rmit"),
    ),
    # a consortium agreement
    "member edits consortium agreement": Write(
        "monash", "PUT", "/agreements/caval-2026", CAVAL_2026, 202, ("consortium administrators",)
    ),
    "member removes consortium agreement": Write(
        "monash", "DELETE", "/agreements/caval-2026", None, 202, ("consortium administrators",)
    ),
    "non-member edits consortium agreement": Write(
        "slv", "PUT", "/agreements/caval-2026", CAVAL_2026, 403, ("caval-2026", "slv")
    ),
    "non-member removes consortium agreement": Write(
        "slv", "DELETE", "/agreements/caval-2026", None, 403, ("caval-2026", "slv")
    ),
    "non-member adds itself to consortium agreement": Write(
        "slv", "PUT", "/agreements/caval-2026",
        CAVAL_2026.replace(", vu]", ", vu, slv]"), 403, ("caval-2026", "slv"),
    ),
    "consortium edits consortium agreement": Write(
        BOSS, "PUT", "/agreements/caval-2026", CAVAL_2026, 200
    ),
    # suspensions: the lender's alone
    "lender suspends": Write(
        "monash", "POST", "/agreements", suspension("monash-suspends-vu", "monash", ["vu"]), 201
    ),
    "borrower side proposes a suspension of the lender's": Write(
        "vu", "POST", "/agreements", suspension("monash-suspends-vu", "monash", ["vu"]), 202,
        ("monash",),
    ),
    "unrelated library suspends for another lender": Write(
        "latrobe", "POST", "/agreements", suspension("monash-suspends-vu", "monash", ["vu"]),
        403, ("monash-suspends-vu", "monash", "vu", "latrobe"),
    ),
    "lender edits its suspension": Write(
        "latrobe", "PUT", "/agreements/latrobe-suspends-rmit",
        suspension("latrobe-suspends-rmit", "latrobe", ["rmit"], "Invoices under review"), 200,
    ),
    "lender lifts its suspension": Write(
        "latrobe", "DELETE", "/agreements/latrobe-suspends-rmit", None, 200
    ),
    "suspended library lifts the suspension": Write(
        "rmit", "DELETE", "/agreements/latrobe-suspends-rmit", None, 202, ("latrobe",)
    ),
    "suspended library edits the suspension": Write(
        "rmit", "PUT", "/agreements/latrobe-suspends-rmit",
        suspension("latrobe-suspends-rmit", "latrobe", ["rmit"], "Settled"), 202, ("latrobe",),
    ),
    "unrelated library lifts a suspension": Write(
        "deakin", "DELETE", "/agreements/latrobe-suspends-rmit", None, 403,
        ("latrobe-suspends-rmit", "latrobe", "rmit", "deakin"),
    ),
    "lender turns its suspension on another library": Write(
        "latrobe", "PUT", "/agreements/latrobe-suspends-rmit",
        suspension("latrobe-suspends-rmit", "latrobe", ["vu"]), 200,
    ),
    "lender hands its suspension to the suspended library": Write(
        "latrobe", "PUT", "/agreements/latrobe-suspends-rmit",
        suspension("latrobe-suspends-rmit", "rmit", ["latrobe"]), 202, ("rmit",),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", WRITES.values(), ids=WRITES.keys())
def test_who_may_change_what(hub: Hub, case: Write) -> None:
    for method, path, yaml in case.setup:
        made = hub.call(BOSS, method, path, yaml)
        assert made.status_code in (200, 201), made.text
    before = hub.state()
    version, count, _ = before
    answer = hub.call(case.who, case.method, case.path, case.yaml)

    if case.status in (200, 201):
        assert answer.status_code == case.status, answer.text
        assert answer.json() == {"status": "published", "version": version + 1}
        assert hub.state()[:2] == (version + 1, count)
        if case.yaml is None:
            assert hub.call(case.who, "GET", case.path).status_code == 404
        else:  # the entry in force is the one sent
            entry_id = case.yaml.split("id: ", 1)[1].split("\n", 1)[0]
            section = case.path.split("/")[1]
            shown = hub.call(case.who, "GET", f"/{section}/{entry_id}").json()
            assert shown["yaml"].strip() == case.yaml.strip()
    elif case.status == 202:
        assert answer.status_code == 202, answer.text
        proposal = answer.json()["proposal"]
        assert answer.json()["status"] == "pending"
        assert proposal["status"] == "pending"
        assert proposal["awaiting"] == sorted(case.names)
        assert proposal["proposer_library"] == case.who
        assert case.who in proposal["parties"]
        assert proposal["you_may"] == {"approve": False, "reject": False, "withdraw": True}
        assert hub.state()[:2] == (version, count + 1)  # nothing published yet
    else:
        assert_problem(answer, case.status, NOT_PERMITTED, *case.names)
        assert hub.state() == before


# --- proposals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "verb", "status", "outcome"),
    [
        ("rmit", "approve", 200, "published"),  # the awaited party
        ("rmit", "reject", 200, "rejected"),
        (BOSS, "approve", 200, "published"),
        (BOSS, "reject", 200, "rejected"),
        ("monash", "approve", 403, "rmit"),  # the proposer's own library
        ("monash", "reject", 403, "rmit"),
        ("latrobe", "approve", 404, ""),  # not party: cannot see it either
        ("latrobe", "reject", 404, ""),
        ("rmit", "withdraw", 403, "monash"),  # awaited, but not the proposer
        ("latrobe", "withdraw", 404, ""),
        ("monash", "withdraw", 200, "withdrawn"),  # the proposing library
        (BOSS, "withdraw", 200, "withdrawn"),
    ],
)
def test_who_may_decide_a_proposal(
    hub: Hub, who: str, verb: str, status: int, outcome: str
) -> None:
    proposal = hub.propose("monash", "/agreements/monash-rmit-staff", MONASH_RMIT)
    version, count, _ = hub.state()
    # another administrator of the proposing library (n=2) withdraws for it
    n = 2 if (who, verb) == ("monash", "withdraw") else 1
    if status == 200:
        answer = hub.call(who, "POST", f"/proposals/{proposal['id']}/{verb}", n=n)
        assert answer.status_code == 200, answer.text
        decided = answer.json()["proposal"]
        assert decided["status"] == outcome
        assert decided["decided_by"]
        published = outcome == "published"
        if verb == "approve":
            assert answer.json()["version"] == (version + 1 if published else None)
        assert hub.state()[:2] == (version + published, count)
        return
    with hub.unchanged():
        answer = hub.call(who, "POST", f"/proposals/{proposal['id']}/{verb}", n=n)
    if status == 404:
        assert_problem(answer, 404, NOT_FOUND, str(proposal["id"]))
    else:
        assert_problem(answer, status, NOT_PERMITTED, outcome)


def test_a_library_sees_only_the_proposals_it_is_party_to(hub: Hub) -> None:
    ours = hub.propose("monash", "/agreements/monash-rmit-staff", MONASH_RMIT)
    theirs = hub.propose(
        "swinburne",
        "/agreements/swinburne-vu-postgrad-2027",
        bilateral("swinburne-vu-postgrad-2027", "swinburne", ["vu"]),
    )
    assert theirs["awaiting"] == ["vu"]

    def listed(who: str, query: str = "") -> list[int]:
        answer = hub.call(who, "GET", f"/proposals{query}")
        assert answer.status_code == 200, answer.text
        return [p["id"] for p in answer.json()]

    assert listed("rmit") == [ours["id"]]
    assert listed("monash", "?status=all") == [ours["id"]]
    assert listed("vu") == [theirs["id"]]
    assert listed("latrobe") == []
    assert listed("latrobe", "?library=monash") == []  # a filter cannot widen what one sees
    assert listed(BOSS) == [theirs["id"], ours["id"]]

    for who, number, visible in (
        ("rmit", ours["id"], True),
        ("rmit", theirs["id"], False),
        ("vu", theirs["id"], True),
        ("latrobe", ours["id"], False),
        (BOSS, theirs["id"], True),
    ):
        answer = hub.call(who, "GET", f"/proposals/{number}")
        if visible:
            assert answer.status_code == 200, answer.text
            assert answer.json()["id"] == number
        else:
            assert_problem(answer, 404, NOT_FOUND, str(number))

    seen = hub.call("rmit", "GET", f"/proposals/{ours['id']}").json()
    assert seen["you_may"] == {"approve": True, "reject": True, "withdraw": False}


@pytest.mark.db
def test_a_decided_proposal_cannot_be_decided_again(hub: Hub) -> None:
    by = {"approve": "rmit", "reject": "rmit", "withdraw": "monash"}
    for max_items, (first, then) in enumerate(
        [
            ("approve", "approve"),
            ("approve", "reject"),
            ("approve", "withdraw"),
            ("reject", "approve"),
            ("reject", "withdraw"),
            ("withdraw", "approve"),
            ("withdraw", "reject"),
        ],
        start=20,
    ):
        proposal = hub.propose(
            "monash",
            "/agreements/monash-rmit-staff",
            bilateral("monash-rmit-staff", "monash", ["rmit"], max_items=max_items),
        )
        done = hub.call(by[first], "POST", f"/proposals/{proposal['id']}/{first}")
        assert done.status_code == 200, done.text
        status = done.json()["proposal"]["status"]
        for who in (by[then], BOSS):
            with hub.unchanged():
                again = hub.call(who, "POST", f"/proposals/{proposal['id']}/{then}")
            assert_problem(again, 409, CONFLICT, str(proposal["id"]), status)


def test_a_consortium_agreement_waits_for_a_consortium_administrator(hub: Hub) -> None:
    proposal = hub.propose("monash", "/agreements/caval-2026", CAVAL_2026)
    assert proposal["awaiting"] == ["consortium administrators"]
    assert proposal["parties"] == sorted(CAVAL_MEMBERS)
    for member in ("rmit", "monash"):  # a member sees it, but decides nothing for the consortium
        seen = hub.call(member, "GET", f"/proposals/{proposal['id']}")
        assert seen.status_code == 200, seen.text
        for verb in ("approve", "reject"):
            with hub.unchanged():
                answer = hub.call(member, "POST", f"/proposals/{proposal['id']}/{verb}")
            assert_problem(answer, 403, NOT_PERMITTED, "consortium")
    with hub.unchanged():
        hidden = hub.call("slv", "POST", f"/proposals/{proposal['id']}/approve")
    assert_problem(hidden, 404, NOT_FOUND, str(proposal["id"]))
    version = hub.state()[0]
    approved = hub.call(BOSS, "POST", f"/proposals/{proposal['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["version"] == version + 1


def test_a_library_claiming_part_of_another_librarys_cards_needs_its_consent(hub: Hub) -> None:
    """rmit's cards start 2111 and the home library is the longest matching prefix: monash
    adding 21119 to its own entry would make rmit's cards 21119... monash's. That is not
    monash's own business, so it must not be published on monash's word alone."""
    grab = library("monash", "Monash University Library", "2222").replace(
        '["2222"]', '["2222", "21119"]'
    )
    version, count, _ = hub.state()
    answer = hub.call("monash", "PUT", "/libraries/monash", grab)
    assert answer.status_code in (202, 403, 422), answer.text
    assert hub.state()[0] == version, "published at once: rmit's cards 21119... are monash's"
    if answer.status_code == 202:
        assert "rmit" in answer.json()["proposal"]["awaiting"]
    else:
        assert "rmit" in answer.text
        assert hub.state()[1] == count
    with Session(hub.engine) as session:
        in_force = publishing.in_force(session=session)
    assert in_force is not None
    owner = in_force[1].library_for_card("2111900001")
    assert owner is not None and owner.id == "rmit"


def test_a_library_listing_new_email_domains_needs_a_consortium_administrator(
    hub: Hub,
) -> None:
    """An address typed on the sign-in page goes to the library that lists its domain: monash
    listing rmit.edu.au would send RMIT's patrons to monash's sign-in page."""
    grab = library("monash", "Monash University Library", "2222") + (
        "    domains: [monash.edu, rmit.edu.au]\n"
    )
    version = hub.state()[0]
    proposal = hub.propose("monash", "/libraries/monash", grab)
    assert proposal["awaiting"] == ["consortium administrators"]
    assert hub.state()[0] == version
    approved = hub.call(BOSS, "POST", f"/proposals/{proposal['id']}/approve")
    assert approved.status_code == 200, approved.text
    # the same domains again, with a new name: nothing new claimed, published at once
    renamed = grab.replace("Monash University Library", "Monash Library")
    answer = hub.call("monash", "PUT", "/libraries/monash", renamed)
    assert answer.status_code == 200, answer.text
    assert hub.state()[0] == version + 2


def test_every_entry_is_readable_and_editable_only_by_its_parties(hub: Hub) -> None:
    for path in ("/libraries", "/agreements"):
        everyone = {e["id"] for e in hub.call(BOSS, "GET", path).json()}
        seen = hub.call("latrobe", "GET", path).json()
        assert {e["id"] for e in seen} == everyone
        editable = {e["id"] for e in seen if e["you_may_edit"]}
        assert editable == {e["id"] for e in seen if "latrobe" in e["parties"]}
    editable = {
        e["id"] for e in hub.call("latrobe", "GET", "/agreements").json() if e["you_may_edit"]
    }
    assert {"latrobe-suspends-rmit", "caval-2026"} <= editable
    assert not {"monash-rmit-staff", "deakin-alumni"} & editable
    mine = hub.call("latrobe", "GET", "/libraries").json()
    assert [e["id"] for e in mine if e["you_may_edit"]] == ["latrobe"]
    assert all(e["you_may_edit"] for e in hub.call(BOSS, "GET", "/agreements").json())


@pytest.mark.db
@pytest.mark.parametrize("approver", ["rmit", BOSS])
def test_approving_after_the_entry_changed_meanwhile_is_refused(hub: Hub, approver: str) -> None:
    proposal = hub.propose("monash", "/agreements/monash-rmit-staff", MONASH_RMIT)
    edited = hub.call(
        BOSS,
        "PUT",
        "/agreements/monash-rmit-staff",
        bilateral("monash-rmit-staff", "monash", ["rmit"], max_items=9),
    )
    assert edited.status_code == 200, edited.text

    with hub.unchanged():
        answer = hub.call(approver, "POST", f"/proposals/{proposal['id']}/approve")
    assert_problem(answer, 409, CONFLICT, "monash-rmit-staff")
    shown = hub.call("rmit", "GET", "/agreements/monash-rmit-staff").json()
    assert shown["entry"]["terms"]["max_items"] == 9  # the proposal's 12 was not published
    assert hub.call("rmit", "GET", f"/proposals/{proposal['id']}").json()["status"] == "pending"


@pytest.mark.db
def test_approving_after_another_entry_changed_publishes(hub: Hub) -> None:
    proposal = hub.propose("monash", "/agreements/monash-rmit-staff", MONASH_RMIT)
    other = hub.call(BOSS, "PUT", "/agreements/caval-2026", CAVAL_2026)
    assert other.status_code == 200, other.text
    answer = hub.call("rmit", "POST", f"/proposals/{proposal['id']}/approve")
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == other.json()["version"] + 1
    shown = hub.call("rmit", "GET", "/agreements/monash-rmit-staff").json()
    assert shown["entry"]["terms"]["max_items"] == 12


def test_every_party_of_a_multi_borrower_bilateral_approves(hub: Hub) -> None:
    proposal = hub.propose("deakin", "/agreements/deakin-alumni", DEAKIN_ALUMNI)
    assert proposal["awaiting"] == ["monash", "rmit"]
    number = proposal["id"]
    version, count, _ = hub.state()

    first = hub.call("rmit", "POST", f"/proposals/{number}/approve")
    assert first.status_code == 200, first.text
    assert first.json()["version"] is None
    assert first.json()["proposal"]["status"] == "pending"
    assert first.json()["proposal"]["awaiting"] == ["monash"]
    assert hub.state()[:2] == (version, count)
    shown = hub.call("rmit", "GET", "/agreements/deakin-alumni").json()
    assert shown["entry"]["terms"]["max_items"] == 2  # still the published terms

    with hub.unchanged():
        again = hub.call("rmit", "POST", f"/proposals/{number}/approve")
    assert_problem(again, 403, NOT_PERMITTED, "monash")
    with hub.unchanged():
        own = hub.call("deakin", "POST", f"/proposals/{number}/approve")
    assert_problem(own, 403, NOT_PERMITTED, "monash")

    last = hub.call("monash", "POST", f"/proposals/{number}/approve")
    assert last.status_code == 200, last.text
    assert last.json()["version"] == version + 1
    assert last.json()["proposal"]["status"] == "published"
    assert last.json()["proposal"]["awaiting"] == []
    shown = hub.call("rmit", "GET", "/agreements/deakin-alumni").json()
    assert shown["entry"]["terms"]["max_items"] == 3


# --- versions --------------------------------------------------------------------------------


IMPORTED = library("rmit", "RMIT", "2111") + "agreements: []\n"


def test_rollback_and_import_are_for_the_consortium(hub: Hub) -> None:
    own = library("monash", "Monash University Library (Clayton)", "2222")
    assert hub.call("monash", "PUT", "/libraries/monash", own).status_code == 200  # version 2
    import_body = {"files": [{"name": "all.yaml", "text": IMPORTED}], "note": "start again"}

    for who in ("monash", BOSS):
        for path, media in (
            ("/versions", "application/json"),
            ("/versions/1", "application/json"),
            ("/versions/1/diff/2", "text/x-diff"),
            ("/versions/2/export", "application/yaml"),
        ):
            answer = hub.call(who, "GET", path)
            assert answer.status_code == 200, (who, path, answer.text)
            assert answer.headers["content-type"].startswith(media)
        assert "Clayton" in hub.call(who, "GET", "/versions/1/diff/2").text

    for who in ("monash", BOSS):
        headers = {"Authorization": f"Bearer {hub.token(who)}"}
        for path, body in (("/versions/1/rollback", None), ("/versions", import_body)):
            if who == BOSS:
                version = hub.state()[0]
                answer = hub.client.post(f"{API}{path}", headers=headers, json=body)
                assert answer.status_code == 201, answer.text
                assert answer.json()["version"] == version + 1
                continue
            with hub.unchanged():
                answer = hub.client.post(f"{API}{path}", headers=headers, json=body)
            assert_problem(answer, 403, NOT_PERMITTED, "consortium")
    listed = hub.call("monash", "GET", "/libraries").json()
    assert [entry["id"] for entry in listed] == ["rmit"]  # the import is in force


# --- testing a connection --------------------------------------------------------------------


def test_a_library_tests_only_its_own_connection(hub: Hub) -> None:
    for who, library_id, status in (
        ("monash", "monash", 200),
        ("monash", "rmit", 403),
        (BOSS, "rmit", 200),
    ):
        prefix = "2111" if library_id == "rmit" else "2222"
        for yaml in (None, library(library_id, "Testing", prefix)):
            body: dict[str, Any] = {"card": f"{prefix}0000000001"}
            if yaml is not None:
                body["yaml"] = yaml
            answer = hub.client.post(
                f"{API}/libraries/{library_id}/test-connection",
                headers={"Authorization": f"Bearer {hub.token(who)}"},
                json=body,
            )
            if status == 200:
                assert answer.status_code == 200, answer.text
                assert answer.json()["library"] == library_id
                assert answer.json()["found"] is False
            else:
                assert_problem(answer, 403, NOT_PERMITTED, who, library_id)


def test_a_connection_test_reads_the_card_as_a_sign_in_does(hub: Hub) -> None:
    """The example libraries take 14-digit cards (card_pattern): other text is not a card of
    theirs, and their home system is not asked about it."""
    for card, status, detail in (
        ("KO1234", 422, "This is not a RMIT University Library card number"),
        ("2111 0000 0000 01", 422, "no spaces or control characters"),
        (" 21110000000001 ", 200, None),
    ):
        answer = hub.client.post(
            f"{API}/libraries/rmit/test-connection",
            headers={"Authorization": f"Bearer {hub.token('rmit')}"},
            json={"card": card},
        )
        assert answer.status_code == status, answer.text
        if detail is not None:
            assert detail in answer.json()["detail"]
            assert "The home system was not asked." in answer.json()["detail"]
        else:
            assert answer.json()["card"] == "21110000000001"


def test_testing_the_connection_of_an_unknown_library_is_not_found(hub: Hub) -> None:
    headers = {"Authorization": f"Bearer {hub.token(BOSS)}"}
    for yaml in (None, library("nosuch", "Nowhere", "2999")):
        body: dict[str, Any] = {"card": "29990000000001"}
        if yaml is not None:
            body["yaml"] = yaml
        answer = hub.client.post(
            f"{API}/libraries/nosuch/test-connection", headers=headers, json=body
        )
        assert_problem(answer, 404, NOT_FOUND, "nosuch")


# --- the audit log ---------------------------------------------------------------------------


def test_each_library_sees_the_audit_events_of_what_it_is_party_to(hub: Hub) -> None:
    made = hub.call(
        "monash", "POST", "/agreements", suspension("monash-suspends-vu", "monash", ["vu"])
    )
    assert made.status_code == 201, made.text
    others = hub.call(BOSS, "PUT", "/agreements/monash-rmit-staff", MONASH_RMIT)
    assert others.status_code == 200, others.text
    proposed = hub.propose("rmit", "/agreements/latrobe-suspends-rmit", None)

    def events(who: str) -> list[dict[str, Any]]:
        answer = hub.call(who, "GET", "/audit")
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found

    def subjects(found: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {(e["action"], e["subject"]) for e in found}

    suspended = ("agreement.create", "agreement:monash-suspends-vu")
    between_others = ("agreement.update", "agreement:monash-rmit-staff")
    proposal = ("proposal.create", "agreement:latrobe-suspends-rmit")

    for who, sees, hidden in (
        ("vu", {suspended}, {between_others, proposal}),
        ("monash", {suspended, between_others}, {proposal}),
        ("rmit", {between_others, proposal}, {suspended}),
        ("latrobe", {proposal}, {suspended, between_others}),
        ("slv", set(), {suspended, between_others, proposal}),
    ):
        found = events(who)
        assert sees <= subjects(found), who
        assert not hidden & subjects(found), who
        for event in found:  # any change event shown names this library among its parties
            parties = (event["after"] or {}).get("parties")
            if parties is not None:
                assert f",{who}," in parties, (who, event)

    everything = subjects(events(BOSS))
    assert {suspended, between_others, proposal} <= everything
    shown = {e["subject"]: e for e in events(BOSS) if e["action"] == "proposal.create"}
    assert shown["agreement:latrobe-suspends-rmit"]["after"]["proposal"] == proposed["id"]
    assert shown["agreement:latrobe-suspends-rmit"]["after"]["awaiting"] == ["latrobe"]


# --- sessions --------------------------------------------------------------------------------


def test_a_token_stops_working_at_sign_out(hub: Hub) -> None:
    mine, other = hub.token("monash"), hub.token("monash", 2)
    headers = {"Authorization": f"Bearer {mine}"}
    assert hub.client.get(f"{API}/me", headers=headers).json()["library"] == "monash"
    ended = hub.client.delete(f"{API}/sessions/current", headers=headers)
    assert ended.status_code == 204, ended.text
    for path in ("/me", "/agreements", "/proposals"):
        answer = hub.client.get(f"{API}{path}", headers=headers)
        assert_problem(answer, 401, "/problems/unauthorized", "POST /api/v1/admin/sessions")
        assert answer.headers["www-authenticate"].startswith("Bearer")
    refused = hub.client.put(
        f"{API}/libraries/monash",
        headers=headers,
        json={"yaml": library("monash", "Monash", "2222")},
    )
    assert refused.status_code == 401
    # the same administrator's other session goes on
    still = hub.client.get(f"{API}/me", headers={"Authorization": f"Bearer {other}"})
    assert still.status_code == 200, still.text


MALFORMED = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic bW9uYXNoOnNlY3JldA==",
    "Bearer not-a-token",
    "Token {token}",
    "{token}",
    "Bearer {token}x",
]


def test_a_missing_or_malformed_bearer_is_401(hub: Hub) -> None:
    for authorization in MALFORMED:
        headers = {}
        if authorization is not None:
            headers["Authorization"] = authorization.format(token=hub.token("monash"))
        for method, path in (
            ("GET", "/agreements"),
            ("GET", "/audit"),
            ("DELETE", "/sessions/current"),
        ):
            answer = hub.client.request(method, f"{API}{path}", headers=headers)
            assert_problem(answer, 401, "/problems/unauthorized", "Bearer")
            assert answer.headers["www-authenticate"].startswith("Bearer"), authorization
        with hub.unchanged():
            answer = hub.client.post(
                f"{API}/agreements",
                headers=headers,
                json={"yaml": suspension("monash-suspends-vu", "monash", ["vu"])},
            )
        assert answer.status_code == 401, authorization
    # none of them ended the real session
    still = hub.client.get(f"{API}/me", headers={"Authorization": f"Bearer {hub.token('monash')}"})
    assert still.status_code == 200, still.text


# --- found in review ---------------------------------------------------------------------------


def test_the_claimed_library_sees_decides_and_audits_the_proposal(hub: Hub) -> None:
    grab = library("monash", "Monash University Library", "2222").replace(
        '["2222"]', '["2222", "21119"]'
    )
    proposal = hub.propose("monash", "/libraries/monash", grab)
    assert proposal["awaiting"] == ["rmit"] and "rmit" in proposal["parties"]
    number = proposal["id"]
    assert hub.call("rmit", "GET", f"/proposals/{number}").status_code == 200
    assert [p["id"] for p in hub.call("rmit", "GET", "/proposals").json()] == [number]
    events = hub.call("rmit", "GET", "/audit?action=proposal.create").json()
    assert [e["subject"] for e in events] == ["library:monash"]
    assert hub.call("rmit", "POST", f"/proposals/{number}/reject").status_code == 200


LDAP_SEARCH = (
    "connector: {kind: ldap, url: ldaps://127.0.0.1:9, category: x, timeout_s: 1, search: {"
    "base: 'dc=x', filter: '(uid={card})', bind_dn: 'cn=hub,dc=x', password_env: %s}}"
)


@pytest.mark.parametrize(
    ("connector", "key"),
    [
        (
            "connector: {kind: sip2, host: 127.0.0.1, port: 9, institution: X, user: hub, "
            "password_env: MONASH_SIP2_PASSWORD, timeout_s: 1}",
            "password_env",
        ),
        (LDAP_SEARCH % "MONASH_SIP2_PASSWORD", "password_env"),
        (
            "connector: {kind: ldap, url: ldaps://127.0.0.1:9, category: x, timeout_s: 1, "
            "user_dn: 'uid={card},dc=x', tls_ca: /etc/ssl/private/hub.key}",
            "tls_ca",
        ),
    ],
    ids=["sip2", "ldap-service-account", "ldap-tls-ca"],
)
def test_a_library_cannot_point_its_connector_at_another_password(
    hub: Hub, connector: str, key: str
) -> None:
    """password_env names a variable of the hub's own environment: a library administrator
    must not make the hub send another library's SIP2 password (or any secret) anywhere; nor
    have it read a file of its choosing (tls_ca)."""
    stolen = library("rmit", "RMIT University Library", "2111").replace(
        "connector: {kind: registry}", connector
    )
    assert connector in stolen
    with hub.unchanged():
        for answer in (
            hub.call("rmit", "PUT", "/libraries/rmit", stolen),
            hub.client.post(
                f"{API}/libraries/rmit/test-connection",
                headers={"Authorization": f"Bearer {hub.token('rmit')}"},
                json={"card": "21110000000001", "yaml": stolen},
            ),
            hub.client.post(
                f"{API}/check",
                headers={"Authorization": f"Bearer {hub.token('rmit')}"},
                json={"section": "libraries", "id": "rmit", "yaml": stolen},
            ),
        ):
            assert_problem(answer, 403, NOT_PERMITTED, key, "rmit")


def test_a_preview_holds_exactly_one_entry(hub: Hub) -> None:
    """Two entries in one text would let a library preview (and count the patrons of) a change
    between two others behind one of its own."""
    mine = bilateral("monash-x", "monash", ["rmit"])
    theirs = bilateral("deakin-x", "deakin", ["latrobe"]).removeprefix("agreements:\n")
    answer = hub.client.post(
        f"{API}/check",
        headers={"Authorization": f"Bearer {hub.token('monash')}"},
        json={"section": "agreements", "yaml": mine + theirs},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["valid"] is False and body["flips"] == []
    assert "2 entries under agreements" in body["problems"][0]["message"]


RENAMED = MONASH_RMIT.replace("id: monash-rmit-staff", "id: monash-rmit-staff2")


@pytest.mark.db
@pytest.mark.parametrize(
    ("who", "method", "path", "text", "message"),
    [
        ("monash", "POST", "/agreements",
         suspension("s", "monash", ["rmit"]) + "libraries: []\n", "unexpected key 'libraries'"),
        ("monash", "POST", "/agreements",
         "agreements: [{id: s, kind: suspension, lender: monash, borrowers_from: [rmit], "
         "reason: x}]\n", "a flow list"),
        (BOSS, "PUT", "/agreements/monash-rmit-staff", RENAMED, "the id cannot change"),
        ("monash", "PUT", "/agreements/monash-rmit-staff", RENAMED, "the id cannot change"),
    ],
)  # fmt: skip
def test_text_that_is_not_one_entry_is_refused_and_nothing_stored(
    hub: Hub, who: str, method: str, path: str, text: str, message: str
) -> None:
    with hub.unchanged():
        answer = hub.call(who, method, path, text)
        assert answer.status_code == 422, answer.text
        assert any(message in p["message"] for p in answer.json()["problems"]), answer.text


def test_numbers_out_of_range_and_long_notes_are_4xx_not_500(hub: Hub) -> None:
    big = 99_999_999_999
    for who, method, path in (
        ("monash", "GET", f"/proposals/{big}"),
        ("monash", "GET", f"/versions/{big}"),
        ("monash", "GET", f"/versions/1/diff/{big}"),
        ("monash", "POST", f"/proposals/{big}/approve"),
        (BOSS, "POST", f"/versions/{big}/rollback"),
    ):
        assert hub.call(who, method, path).status_code == 422
    with hub.unchanged():
        long = hub.call("monash", "DELETE", "/agreements/monash-rmit-staff?note=" + "n" * 600)
        assert long.status_code == 422
        body = {"yaml": MONASH_RMIT.replace("12", "13"), "note": "n" * 600}
        answer = hub.client.put(
            f"{API}/agreements/monash-rmit-staff",
            headers={"Authorization": f"Bearer {hub.token('monash')}"},
            json=body,
        )
        assert answer.status_code == 422


# --- authorised before the text is read --------------------------------------------------------

#: deep past any use (5,000 levels: the parser alone survives it, what followed did not)
DEEP = "libraries:\n  - " + "- " * 5_000 + "x\n"
DEEP_AGREEMENT = DEEP.replace("libraries:", "agreements:")


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "names"),
    [
        ("monash", "PUT", "/libraries/rmit", {"yaml": DEEP}, ("rmit", "monash")),
        ("monash", "POST", "/libraries", {"yaml": DEEP}, ("consortium administrator",)),
        ("monash", "DELETE", "/libraries/rmit", None, ("consortium administrator",)),
        ("slv", "PUT", "/agreements/monash-rmit-staff", {"yaml": DEEP_AGREEMENT}, ("slv",)),
        ("monash", "POST", "/check", {"section": "libraries", "id": "rmit", "yaml": DEEP}, ()),
        ("slv", "POST", "/check",
         {"section": "agreements", "id": "caval-2026", "yaml": DEEP_AGREEMENT}, ("slv",)),
        ("monash", "POST", "/libraries/rmit/test-connection", {"card": "1", "yaml": DEEP}, ()),
    ],
    ids=["edit-other-library", "add-library", "remove-library", "edit-others-agreement",
         "check-other-library", "check-others-agreement", "test-other-connection"],
)  # fmt: skip
def test_a_change_is_authorised_before_its_text_is_read(
    hub: Hub,
    who: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    names: tuple[str, ...],
) -> None:
    """A library administrator without the right gets 403 whatever the text, never what
    reading it would say (a 422 about its shape, a 500)."""
    with hub.unchanged():
        answer = hub.client.request(
            method, f"{API}{path}", headers={"Authorization": f"Bearer {hub.token(who)}"},
            json=body,
        )  # fmt: skip
    assert_problem(answer, 403, NOT_PERMITTED, *names)


def test_an_entry_nested_past_any_use_is_a_located_problem(hub: Hub) -> None:
    with hub.unchanged():
        answer = hub.call(BOSS, "PUT", "/libraries/rmit", DEEP)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["problems"]
    assert (problem["line"], problem["column"]) == (2, 65)
    assert problem["message"].startswith("nested more than 32 levels deep")


def test_a_library_cannot_point_its_client_secret_at_another_variable(hub: Hub) -> None:
    """client_secret_env too: the hub sends that secret to the token endpoint of whatever
    issuer the entry names."""
    stolen = library("rmit", "RMIT University Library", "2111").replace(
        "connector: {kind: registry}",
        "connector: {kind: oidc, issuer: 'https://idp.example', client_id: hub, "
        "client_secret_env: HUB_SECRET_KEY}",
    )
    assert "HUB_SECRET_KEY" in stolen
    with hub.unchanged():
        answer = hub.call("rmit", "PUT", "/libraries/rmit", stolen)
        assert_problem(answer, 403, NOT_PERMITTED, "client_secret_env", "rmit")
