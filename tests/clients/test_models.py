"""Decisions as the API gives them, and questions as it takes them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hub_client import CheckRequest, Decision, Reason, Terms

from tests.clients.fakehub import decision_json


def test_a_decision_is_read_from_the_api_json() -> None:
    decision = Decision.from_json(decision_json())
    assert decision == Decision(
        eligible=True,
        lender="monash",
        home_library="rmit",
        patron_category="undergraduate",
        terms=Terms(3, 14, 1, 3, ["reserve", "av"]),
        agreements=["caval-2026"],
        reasons=[],
        valid_until=date(2027, 2, 28),
        decided_at=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
    )


def test_a_refusal_carries_its_reasons_and_no_terms() -> None:
    spec_example = {
        "eligible": False, "lender": "monash", "home_library": "rmit",
        "patron_category": "undergraduate", "terms": None, "agreements": ["caval-2026"],
        "reasons": [{"code": "fines_over_limit", "agreement": "caval-2026",
                     "message": "Fines owed 25.50 exceed the limit 10.00 set by caval-2026"}],
        "valid_until": None, "decided_at": "2026-11-22T09:30:00Z", "future_member": 1,
    }  # fmt: skip
    decision = Decision.from_json(spec_example)
    assert not decision.eligible and decision.terms is None and decision.valid_until is None
    assert decision.reasons == [
        Reason(
            "fines_over_limit",
            "caval-2026",
            "Fines owed 25.50 exceed the limit 10.00 set by caval-2026",
        )
    ]


def test_terms_may_leave_out_renewals_holds_and_exclusions() -> None:
    terms = Decision.from_json(decision_json(terms={"max_items": 10, "loan_days": 28})).terms
    assert terms == Terms(max_items=10, loan_days=28, renewals=0, holds=0, excluded_material=[])


def test_a_reason_may_have_no_agreement() -> None:
    reason = {"code": "no_agreement", "agreement": None, "message": "No agreement applies"}
    decision = Decision.from_json(decision_json(eligible=False, terms=None, reasons=[reason]))
    assert decision.reasons[0].agreement is None


def test_eligible_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="eligible"):
        Decision.from_json(decision_json(eligible="yes"))


def test_a_request_by_card_or_by_patron() -> None:
    by_card = CheckRequest(home_library="rmit", card="2111", material="book", on=date(2026, 11, 22))
    assert by_card.to_json() == {
        "home_library": "rmit", "card": "2111", "material": "book", "on": "2026-11-22",
    }  # fmt: skip
    assert CheckRequest(patron="sub-1").to_json() == {"patron": "sub-1"}
    assert CheckRequest.of({"patron": "sub-1", "on": "2026-01-02"}).to_json() == {
        "patron": "sub-1", "on": "2026-01-02",
    }  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [{}, {"home_library": "rmit"}, {"card": "2111"}, {"patron": "s", "card": "2111"}],
)
def test_a_request_names_one_patron_exactly(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="home_library and card"):
        CheckRequest(**fields)
