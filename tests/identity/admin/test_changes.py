"""The administration's rules (``identity.agreements.rules``) refuse a change with the hub's own
problems (``identity.errors``), and the admin API sends each one as it was raised: one error
tree, mapped to problem+json in one place. Nothing refused is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import changes, proposals, publishing
from identity.store.database import transaction
from tests.identity.admin.conftest import AddAdmin

pytestmark = pytest.mark.db

API = "/api/v1/admin"
BROKEN = "agreements:\n  - id: deakin-alumni\n    kind: bilateral\n    lender: nowhere\n"

#: (who asks, the domain's call, the same request over HTTP, the problem expected)
Call = Callable[[Session, Admin], object]
CASES: list[tuple[str | None, Call, tuple[str, str, dict[str, Any] | None], type[Any]]] = [
    ("rmit", lambda s, a: changes.rollback(session=s, admin=a, number=1),
     ("POST", "/versions/1/rollback", None), errors.NotPermitted),
    (None, lambda s, a: proposals.withdraw(session=s, admin=a, number=99),
     ("POST", "/proposals/99/withdraw", None), errors.NotFound),
    (None, lambda s, a: changes.rollback(session=s, admin=a, number=1),
     ("POST", "/versions/1/rollback", None), errors.Conflict),
    (None, lambda s, a: changes.change(session=s, admin=a, section="agreements",
                                       entry_id="deakin-alumni", text=BROKEN),
     ("PUT", "/agreements/deakin-alumni", {"yaml": BROKEN}), errors.InvalidAgreements),
]  # fmt: skip


@pytest.mark.parametrize(
    ("library", "call", "request_", "kind"),
    CASES,
    ids=["refused", "missing", "conflict", "invalid"],
)
def test_a_refusal_is_the_problem_the_api_sends(
    client: TestClient,
    published: Engine,
    add_admin: AddAdmin,
    library: str | None,
    call: Call,
    request_: tuple[str, str, dict[str, Any] | None],
    kind: type[errors.Problem],
) -> None:
    added = add_admin("someone@example.org", library)
    with pytest.raises(kind) as raised, transaction(published) as session:
        call(session, added.account)
    body = {"email": "someone@example.org", "password": added.password}
    token = client.post(f"{API}/sessions", json=body).json()["token"]
    method, path, sent = request_
    answer = client.request(
        method, API + path, json=sent, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == kind.status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == raised.value.to_dict()
    with Session(published) as session:
        latest = publishing.latest(session=session)
        assert latest is not None and latest.id == 1  # nothing was published
