"""The eligibility API (docs/eligibility.md) over HTTP, with partner tokens from the client
credentials grant: decisions by card and by pairwise patron id, every permission rule, the
problem types, the batch, the rate limit, the record of lookups and the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from identity.store.database import transaction
from identity.store.models import EligibilityLookup
from tests.conftest import TLS, run_hub
from tests.identity.oauth.conftest import BLOCKED, GOOD, OWES, LiveHub
from tests.identity.oauth.test_login import publish_far_library


def ask(
    live_hub: LiveHub,
    body: Any,
    *,
    token: str | None = None,
    path: str = "",
    language: str | None = None,
) -> httpx.Response:
    token = token if token is not None else live_hub.partner_token("monash")
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if language:
        headers["Accept-Language"] = language
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(
        f"{live_hub.issuer}/api/v1/eligibility{path}", content=raw, headers=headers, verify=TLS
    )


def problem(answer: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_a_partner_asks_about_a_card_and_gets_the_decision(live_hub: LiveHub) -> None:
    good = ask(live_hub, {"home_library": "rmit", "card": GOOD, "material": "book"})
    assert good.status_code == 200
    decision = good.json()
    assert decision["eligible"] is True and decision["lender"] == "monash"
    assert decision["agreements"] == ["caval-2026"] and decision["terms"]["max_items"] > 0
    assert decision["decided_at"].endswith("Z")

    question = {"home_library": "rmit", "card": OWES, "on": "2026-11-22"}
    owes = ask(live_hub, question, language="fr-CH;q=0.9, en-AU").json()
    assert owes["eligible"] is False and owes["terms"] is None
    assert owes["reasons"] == [
        {"code": "fines_over_limit", "agreement": "caval-2026",
         "message": "Fines owed 25.50 exceed the limit 10.00 set by caval-2026",
         "advice": "You owe $25.50 to RMIT University Library. Monash University Library "
                   "lends to patrons of RMIT University Library who owe $10.00 or less. Pay at "
                   "RMIT University Library (library.rmit.edu.au), then sign in again."}
    ]  # fmt: skip
    # in the United States' English, the Australian dollar is A$
    american = ask(live_hub, question, language="en-US").json()
    assert american["reasons"][0]["advice"].startswith("You owe A$25.50 to RMIT")
    french = ask(live_hub, question, language="fr-CA, en;q=0.5").json()
    assert french["reasons"][0]["advice"].startswith("Vous devez 25,50\xa0$AU à RMIT")
    assert french["reasons"][0]["message"] == owes["reasons"][0]["message"]  # staff's: English
    excluded = ask(live_hub, {"home_library": "rmit", "card": GOOD, "material": "AV"}).json()
    assert [r["code"] for r in excluded["reasons"]] == ["material_excluded"]


def test_a_partner_asks_about_a_patron_it_met_at_sign_in(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    sub = rp.verify(rp.sign_in(live_hub.browser(), BLOCKED)["id_token"])["sub"]
    answer = ask(live_hub, {"patron": sub})
    assert answer.status_code == 200
    assert [r["code"] for r in answer.json()["reasons"]] == ["blocking_flag"]
    other_lender = ask(live_hub, {"patron": sub}, token=live_hub.partner_token("latrobe"))
    problem(other_lender, 404, "unknown-patron")  # pairwise: latrobe never received that sub


def test_asking_by_patron_needs_the_patrons_consent_and_never_reveals_the_card(
    live_hub: LiveHub,
) -> None:
    rp = live_hub.add_rp("monash")
    rp.scope = "openid"  # the patron shared only an identifier, not the borrowing decision
    sub = rp.verify(rp.sign_in(live_hub.browser(), GOOD)["id_token"])["sub"]
    problem(ask(live_hub, {"patron": sub}), 404, "unknown-patron")
    rp.scope = "openid borrowing"  # the next sign-in shares it
    assert rp.verify(rp.sign_in(live_hub.browser(), GOOD)["id_token"])["sub"] == sub
    assert ask(live_hub, {"patron": sub}).status_code == 200
    with transaction(live_hub.engine) as session:  # the home library drops the card
        session.execute(text("DELETE FROM registry_patron WHERE card = :card"), {"card": GOOD})
    gone = problem(ask(live_hub, {"patron": sub}), 404, "unknown-card")
    assert GOOD not in gone["detail"] and "RMIT" not in gone["detail"]


def test_who_may_ask(live_hub: LiveHub) -> None:
    body = {"home_library": "rmit", "card": GOOD}
    unauthenticated = problem(ask(live_hub, body, token=""), 401, "unauthorized")
    assert "token" in unauthenticated["detail"]
    assert ask(live_hub, body, token="").headers["www-authenticate"].startswith("Bearer")
    problem(ask(live_hub, body, token="not-a-token"), 401, "unauthorized")
    rp = live_hub.add_rp("monash")
    patrons_token = rp.sign_in(live_hub.browser(), GOOD)  # a relying party's token: no scope
    problem(ask(live_hub, body, token=patrons_token["access_token"]), 403, "forbidden")
    problem(ask(live_hub, body, token=patrons_token["refresh_token"]), 401, "unauthorized")
    on_behalf = ask(live_hub, {**body, "lender": "latrobe"})
    assert "cannot ask for latrobe" in problem(on_behalf, 403, "forbidden")["detail"]
    assert ask(live_hub, {**body, "lender": "monash"}).status_code == 200

    token = live_hub.partner_token("monash")
    with httpx.Client() as client:  # a revoked token stops working at once
        client.post(
            f"{live_hub.issuer}/revoke",
            data={"token": token},
            auth=(
                "demo-monash-partner",
                __import__("identity.demo").demo.client_secret("monash", "partner"),
            ),
        )
    problem(ask(live_hub, body, token=token), 401, "unauthorized")


@pytest.mark.parametrize(
    ("body", "slug", "status"),
    [
        ({"home_library": "nowhere", "card": GOOD}, "unknown-library", 404),
        ({"home_library": "rmit", "card": "21119999999999"}, "unknown-card", 404),
        ({"patron": "never-seen"}, "unknown-patron", 404),
        ({"home_library": "rmit"}, "invalid-request", 422),
        ({"home_library": "rmit", "card": GOOD, "patron": "x"}, "invalid-request", 422),
        ({"home_library": "rmit", "card": GOOD, "colour": "red"}, "invalid-request", 422),
        ({"home_library": "rmit", "card": GOOD, "on": "tomorrow"}, "invalid-request", 422),
        ({"home_library": "rmit", "card": GOOD, "on": 0}, "invalid-request", 422),
        ({"home_library": "rmit", "card": GOOD, "on": "0"}, "invalid-request", 422),
        ({"home_library": "rmit", "card": GOOD, "on": "1795000000"}, "invalid-request", 422),
        ({"home_library": "rmit", "card": "2111\u0000"}, "invalid-request", 422),
        ({"patron": "x\u0000y"}, "invalid-request", 422),
        ({"home_library": "rmit", "card": "x" * 65}, "invalid-request", 422),
        (["not", "an", "object"], "invalid-request", 422),
        (b"[" * 60000, "invalid-request", 422),  # nested past any parser, within 64 KiB
        (b"\xff\xfe{", "invalid-request", 422),
    ],
    ids=lambda value: value if isinstance(value, str | int) else None,
)
def test_problems_have_stable_types(live_hub: LiveHub, body: Any, slug: str, status: int) -> None:
    found = problem(ask(live_hub, body), status, slug)
    if status == 422:
        assert all("loc" in e and "message" in e for e in found["errors"])


def test_a_card_is_read_as_on_the_sign_in_page_and_answers_are_not_cached(
    live_hub: LiveHub,
) -> None:
    answer = ask(live_hub, {"home_library": "rmit", "card": f"  {GOOD} "})
    assert answer.status_code == 200 and answer.json()["eligible"] is True
    assert answer.headers["cache-control"] == "no-store"


def test_an_unreachable_home_library_is_a_503_with_retry_after(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    publish_far_library(live_hub, tmp_path)
    answer = ask(live_hub, {"home_library": "farlib", "card": "29990000000001"})
    problem(answer, 503, "home-library-unavailable")
    assert int(answer.headers["retry-after"]) > 0
    questions = [
        {"home_library": "farlib", "card": "29990000000001"},
        {"home_library": "rmit", "card": GOOD},
    ]
    batch = ask(live_hub, {"requests": questions}, path="/batch")
    first, second = batch.json()["results"]
    assert first["status"] == 503 and first["problem"]["retry_after"] > 0
    assert second["status"] == 200


def test_a_batch_answers_each_question_in_order(live_hub: LiveHub) -> None:
    questions = [
        {"home_library": "rmit", "card": GOOD},
        {"home_library": "rmit", "card": "21119999999999"},
        {"home_library": "rmit", "card": OWES},
        {"home_library": "nowhere", "card": GOOD},
    ]
    answer = ask(live_hub, {"requests": questions}, path="/batch", language="en-AU")
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [200, 404, 200, 404]
    assert results[0]["decision"]["eligible"] is True
    assert results[1]["problem"]["type"] == "/problems/unknown-card"
    assert results[2]["decision"]["reasons"][0]["code"] == "fines_over_limit"
    assert results[2]["decision"]["reasons"][0]["advice"].startswith("You owe $25.50 to RMIT")
    assert results[3]["problem"]["type"] == "/problems/unknown-library"
    too_many = ask(live_hub, {"requests": questions * 26}, path="/batch")  # 104
    problem(too_many, 422, "invalid-request")
    problem(ask(live_hub, {"requests": []}, path="/batch"), 422, "invalid-request")


@pytest.mark.db
def test_past_the_rate_limit_a_client_waits(live_hub: LiveHub) -> None:
    server = live_hub.app.state.oauth
    server.settings = server.settings.model_copy(update={"eligibility_rate": "5/3600"})
    token = live_hub.partner_token("monash")
    body = {"home_library": "rmit", "card": GOOD}
    batch = ask(live_hub, {"requests": [body] * 4}, token=token, path="/batch")
    assert batch.status_code == 200  # 4 of 5
    assert ask(live_hub, body, token=token).status_code == 200  # the 5th
    limited = ask(live_hub, body, token=token)
    problem(limited, 429, "rate-limited")
    assert 0 < int(limited.headers["retry-after"]) <= 3600
    other = ask(live_hub, body, token=live_hub.partner_token("latrobe"))
    assert other.status_code == 200  # the limit is per client


def test_every_lookup_is_recorded_for_the_home_library(live_hub: LiveHub) -> None:
    ask(live_hub, {"home_library": "rmit", "card": GOOD})
    ask(live_hub, {"home_library": "rmit", "card": OWES}, token=live_hub.partner_token("latrobe"))
    ask(live_hub, {"home_library": "rmit", "card": "21119999999999"})
    with Session(live_hub.engine) as session:
        rows = session.exec(select(EligibilityLookup).order_by(col(EligibilityLookup.id))).all()
    assert [(r.client_id, r.card, r.answer, r.reasons) for r in rows] == [
        ("demo-monash-partner", GOOD, "eligible", []),
        ("demo-latrobe-partner", OWES, "not-eligible", ["suspended"]),  # latrobe suspends rmit
        ("demo-monash-partner", "21119999999999", "unknown-card", []),
    ]
    listed = run_hub(
        "lookups", "--home-library", "rmit", "--json",
        env={"HUB_DATABASE_URL": live_hub.settings.database_url},
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 3 and '"lender": "latrobe"' in listed.stdout


def test_the_openapi_document_describes_requests_answers_and_problems(live_hub: LiveHub) -> None:
    document = httpx.get(f"{live_hub.issuer}/openapi.json").json()
    single = document["paths"]["/api/v1/eligibility"]["post"]
    assert single["requestBody"]["content"]["application/json"]["schema"]
    for status in ("200", "401", "403", "404", "422", "429", "503"):
        assert status in single["responses"], status
    not_found = single["responses"]["404"]["content"]["application/problem+json"]["examples"]
    assert set(not_found) == {"unknown-library", "unknown-card", "unknown-patron"}
    assert "/api/v1/eligibility/batch" in document["paths"]
    schemas = document["components"]["schemas"]
    assert schemas["EligibilityRequest"]["examples"] and schemas["DecisionOut"]["examples"]
    assert httpx.get(f"{live_hub.issuer}/docs").status_code == 200
    assert single["security"] and document["components"]["securitySchemes"]
    for status in ("429", "503"):
        assert "Retry-After" in single["responses"][status]["headers"]
    page = httpx.get(f"{live_hub.issuer}/problems/home-library-unavailable")
    assert page.status_code == 200 and "Retry-After" in page.text
