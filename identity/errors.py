"""The problems the hub answers with (RFC 9457), one class each, mapped to
``application/problem+json`` in exactly one place (``identity.web.problems``)::

    Problem                         status  type
    ├── Unauthorized                401     /problems/unauthorized
    ├── Forbidden                   403     /problems/forbidden
    ├── NotPermitted                403     /problems/not-permitted       (administration)
    ├── NotFound                    404     /problems/not-found           (administration)
    ├── UnknownLibrary              404     /problems/unknown-library
    ├── UnknownCard                 404     /problems/unknown-card
    ├── UnknownPatron               404     /problems/unknown-patron
    ├── PatronSignInOnly            409     /problems/patron-sign-in-only
    ├── Conflict                    409     /problems/conflict            (administration)
    ├── InvalidRequest              422     /problems/invalid-request
    ├── PayloadTooLarge             413     /problems/payload-too-large
    ├── InvalidAgreements           422     /problems/invalid-agreements  (administration)
    ├── RateLimited                 429     /problems/rate-limited        (Retry-After)
    ├── HomeLibraryUnavailable      503     /problems/home-library-unavailable (Retry-After)
    └── DatabaseUnavailable         503     /problems/database-unavailable (Retry-After)

``type`` is a relative URI, the same on every hub, so that clients can switch on it; it
resolves to a page describing the problem. OAuth endpoints answer in OAuth's own error format
instead (Authlib's ``OAuth2Error``).

The domain raises them too: the administration's rules (``identity.admin``) refuse a change with
``NotPermitted``, ``NotFound``, ``Conflict`` or ``InvalidAgreements``, which the admin API sends
as they are and the admin pages show on the page the administrator was on
(``identity.web.admin.deps.problem_page``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import policies


class Problem(Exception):
    slug: ClassVar[str] = "about:blank"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.extra = extra

    @classmethod
    def example(cls) -> Problem:
        """One of its kind, for the OpenAPI document."""
        return cls("…")

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

    def __init__(self, detail: str, *, sent: bool = True, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.sent = sent  # whether a token came with the request at all (RFC 6750 section 3.1)


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


class PatronSignInOnly(Problem):
    """The patron's home library proves membership only when the patron signs in at its own
    identity provider, and names no standing source the hub could ask (or the hub never learnt
    the patron's card there). Nothing was decided: only the patron can prove membership, by
    signing in through the hub (the ``borrowing`` claim is then the answer)."""

    slug, status, title = "patron-sign-in-only", 409, "Only the patron can prove membership"


class PayloadTooLarge(Problem):
    """The request body is larger than this hub takes on that route (``HUB_MAX_BODY_BYTES``;
    ``HUB_MAX_ADMIN_BODY_BYTES`` for the administrators' routes). It was refused unread, before
    the request was authenticated: nothing was done. Send less, e.g. fewer questions per batch."""

    slug, status, title = "payload-too-large", 413, "The request body is too large"


class InvalidRequest(Problem):
    """The request body does not have the documented shape; ``errors`` lists where and why."""

    slug, status, title = "invalid-request", 422, "The request is malformed"


class NotPermitted(Problem):
    """The signed-in administrator may not do this: a library administrator may change only their
    own library's entry and the agreements their library is party to, and approve only what
    waits for their library; adding libraries, rollbacks and imports are for consortium
    administrators."""

    slug, status, title = "not-permitted", 403, "Not permitted for this administrator"


class NotFound(Problem):
    """There is no such library, agreement, proposal or version (or none this administrator may
    see)."""

    slug, status, title = "not-found", 404, "Not found"


class Conflict(Problem):
    """The request cannot be carried out in the present state: the proposal has been decided
    already, or the entry it changes has changed since it was proposed."""

    slug, status, title = "conflict", 409, "Conflicts with the present state"


class InvalidAgreements(Problem):
    """The agreement set would not be valid with this change. ``problems`` lists each one with
    its file, line, column and message, as ``hub agreements check`` does; the file ``your
    change`` is the entry you sent. Nothing was published."""

    slug, status, title = "invalid-agreements", 422, "The agreements would not be valid"

    def __init__(
        self,
        problems: Sequence[policies.Problem],
        count: int | None = None,
        *,
        detail: str | None = None,
    ) -> None:
        self.problems = list(problems)
        self.count = len(self.problems) if count is None else count  # listed or not
        found = [
            {"file": p.file, "line": p.line, "column": p.column, "message": p.message}
            for p in self.problems
        ]
        super().__init__(
            detail or f"{self.count:,} problem(s): nothing was published.", problems=found
        )

    @classmethod
    def example(cls) -> Problem:
        return cls([policies.Problem("libraries.yaml", 3, 5, "…")], detail="…")


class RateLimited(Problem):
    """The client has asked more questions than its limit allows in the current window; wait for
    the seconds given in Retry-After."""

    slug, status, title = "rate-limited", 429, "Too many requests"


class HomeLibraryUnavailable(Problem):
    """The home library's system cannot be reached, timed out or answered garbage. Nothing was
    decided; retry after the seconds given in Retry-After."""

    slug, status, title = "home-library-unavailable", 503, "The home library cannot be reached"


class DatabaseUnavailable(Problem):
    """The hub's own database cannot be reached just now (it is restarting, or failing over to
    another server). Nothing was decided or changed; retry after the seconds given in
    Retry-After."""

    slug, status, title = "database-unavailable", 503, "The hub's database cannot be reached"


PROBLEMS: dict[str, type[Problem]] = {
    cls.slug: cls
    for cls in (
        Unauthorized, Forbidden, NotPermitted, UnknownLibrary, UnknownCard, UnknownPatron,
        PatronSignInOnly, NotFound, Conflict, PayloadTooLarge, InvalidRequest, InvalidAgreements,
        RateLimited, HomeLibraryUnavailable, DatabaseUnavailable,
    )
}  # fmt: skip
