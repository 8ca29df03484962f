"""The problems the hub's JSON APIs answer with (RFC 9457), one class each, mapped to
``application/problem+json`` in exactly one place (``identity.web.problems``)::

    Problem                         status  type
    ├── Unauthorized                401     /problems/unauthorized
    ├── Forbidden                   403     /problems/forbidden
    ├── UnknownLibrary              404     /problems/unknown-library
    ├── UnknownCard                 404     /problems/unknown-card
    ├── UnknownPatron               404     /problems/unknown-patron
    ├── InvalidRequest              422     /problems/invalid-request
    ├── RateLimited                 429     /problems/rate-limited        (Retry-After)
    └── HomeLibraryUnavailable      503     /problems/home-library-unavailable (Retry-After)

``type`` is a relative URI, the same on every hub, so that clients can switch on it; it
resolves to a page describing the problem. OAuth endpoints answer in OAuth's own error format
instead (Authlib's ``OAuth2Error``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class Problem(Exception):
    slug: ClassVar[str] = "about:blank"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.extra = extra

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


class Unauthorized(Problem):
    """No access token came with the request, or it is unknown, expired or revoked. Get a new one
    with the client credentials grant."""

    slug, status, title = "unauthorized", 401, "A valid access token is needed"


class Forbidden(Problem):
    """The token lacks the scope this API needs, or the request asks on behalf of a library other
    than the client's own."""

    slug, status, title = "forbidden", 403, "Not allowed for this client"


class UnknownLibrary(Problem):
    """The home library named is not in the agreements in force."""

    slug, status, title = "unknown-library", 404, "No such library"


class UnknownCard(Problem):
    """The home library says it has no such card."""

    slug, status, title = "unknown-card", 404, "The home library does not know this card"


class UnknownPatron(Problem):
    """The patron identifier is not one this lender received when the patron signed in through
    the hub (pairwise identifiers differ between lenders)."""

    slug, status, title = "unknown-patron", 404, "No such patron for this lender"


class InvalidRequest(Problem):
    """The request body does not have the documented shape; ``errors`` lists where and why."""

    slug, status, title = "invalid-request", 422, "The request is malformed"


class RateLimited(Problem):
    """The client has asked more questions than its limit allows in the current window; wait for
    the seconds given in Retry-After."""

    slug, status, title = "rate-limited", 429, "Too many requests"


class HomeLibraryUnavailable(Problem):
    """The home library's system cannot be reached, timed out or answered garbage. Nothing was
    decided; retry after the seconds given in Retry-After."""

    slug, status, title = "home-library-unavailable", 503, "The home library cannot be reached"


PROBLEMS: dict[str, type[Problem]] = {
    cls.slug: cls
    for cls in (
        Unauthorized, Forbidden, UnknownLibrary, UnknownCard, UnknownPatron, InvalidRequest,
        RateLimited, HomeLibraryUnavailable,
    )
}  # fmt: skip
