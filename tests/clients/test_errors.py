"""Problem types (RFC 9457) become the exceptions of ``hub_client.errors``."""

from __future__ import annotations

import httpx
import pytest
from hub_client import errors
from hub_client.errors import (
    HomeLibraryUnavailable,
    InvalidRequest,
    ProblemError,
    RateLimited,
    Unauthorized,
)

SLUGS = {
    "unauthorized": (401, errors.Unauthorized),
    "forbidden": (403, errors.Forbidden),
    "unknown-library": (404, errors.UnknownLibrary),
    "unknown-card": (404, errors.UnknownCard),
    "unknown-patron": (404, errors.UnknownPatron),
    "patron-sign-in-only": (409, errors.PatronSignInOnly),
    "invalid-request": (422, errors.InvalidRequest),
    "rate-limited": (429, errors.RateLimited),
    "home-library-unavailable": (503, errors.HomeLibraryUnavailable),
}


def test_every_problem_type_of_the_contract_has_its_class() -> None:
    assert {slug: cls for slug, (_, cls) in SLUGS.items()} == errors.PROBLEM_TYPES


@pytest.mark.parametrize("slug", SLUGS)
def test_a_problem_becomes_its_exception(slug: str) -> None:
    status, cls = SLUGS[slug]
    body = {"type": f"/problems/{slug}", "title": "T", "status": status, "detail": "D"}
    exc = errors.problem(body)
    assert type(exc) is cls and isinstance(exc, ProblemError)
    assert (exc.type, exc.title, exc.status, exc.detail) == (f"/problems/{slug}", "T", status, "D")


def test_an_absolute_type_uri_is_matched_by_its_slug() -> None:
    exc = errors.problem({"type": "https://hub.test/problems/unknown-card", "status": 404})
    assert isinstance(exc, errors.UnknownCard)


def test_an_unknown_type_is_a_plain_problem_or_known_by_its_status() -> None:
    assert type(errors.problem({"type": "/problems/new-thing", "status": 409})) is ProblemError
    assert type(errors.problem({"type": "/problems/new-thing", "status": 429})) is RateLimited


def test_an_answer_that_is_not_problem_json_is_a_problem_of_its_status() -> None:
    exc = errors.from_response(httpx.Response(503, text="<html>busy</html>"), retry_after=5)
    assert type(exc) is ProblemError and exc.status == 503 and exc.retry_after == 5
    assert exc.title == "Service Unavailable" and exc.type == "about:blank"
    bare = errors.from_response(httpx.Response(401))
    assert type(bare) is Unauthorized


def test_invalid_request_lists_the_fields_at_fault() -> None:
    problem = {"type": "/problems/invalid-request", "status": 422, "title": "Invalid",
               "errors": [{"loc": ["body", "card"], "message": "Field required"}]}  # fmt: skip
    exc = errors.problem(problem)
    assert isinstance(exc, InvalidRequest)
    assert exc.errors == [{"loc": ["body", "card"], "message": "Field required"}]


def test_everything_is_a_hub_error() -> None:
    for cls in (*errors.PROBLEM_TYPES.values(), errors.TokenError, errors.IdTokenError,
                errors.AccessDenied, errors.InvalidCallback, errors.HubUnreachable,
                errors.DiscoveryError):  # fmt: skip
        assert issubclass(cls, errors.HubError)
    assert issubclass(HomeLibraryUnavailable, ProblemError)
