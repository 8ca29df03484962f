"""Everything the SDK raises. One tree, so ``except HubError`` catches all of it::

    HubError
     ├── HubUnreachable            the hub could not be reached (connection, timeout), after retries
     ├── DiscoveryError            the discovery document is unusable (e.g. another issuer's)
     ├── TokenError                the token endpoint refused (RFC 6749 5.2: error, description)
     ├── IdTokenError              an ID token failed verification (reason says which check)
     ├── AuthorizationError        the hub answered an authorization request with ``error=``
     │    └── AccessDenied         ... ``access_denied``: the patron declined, or was refused
     ├── InvalidCallback           a callback that is not the answer to our request (state, iss)
     └── ProblemError              an RFC 9457 problem from the API (type, title, status, detail)
          ├── Unauthorized         401 /problems/unauthorized
          ├── Forbidden            403 /problems/forbidden
          ├── UnknownLibrary       404 /problems/unknown-library
          ├── UnknownCard          404 /problems/unknown-card
          ├── UnknownPatron        404 /problems/unknown-patron
          ├── PatronSignInOnly     409 /problems/patron-sign-in-only
          ├── InvalidRequest       422 /problems/invalid-request (errors: the fields at fault)
          ├── RateLimited          429 /problems/rate-limited (retry_after)
          └── HomeLibraryUnavailable  503 /problems/home-library-unavailable (retry_after)

``PROBLEM_TYPES`` is the one table from problem ``type`` slugs to classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class HubError(Exception):
    """Base class of every error the SDK raises."""


class HubUnreachable(HubError):
    """The hub could not be reached (the cause is the transport error), retries included."""


class DiscoveryError(HubError):
    """The OpenID Provider metadata could not be used."""


class TokenError(HubError):
    """The token endpoint refused a request (RFC 6749 section 5.2)."""

    def __init__(self, error: str, description: str | None = None, status: int | None = None):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status


class IdTokenError(HubError):
    """An ID token failed verification (or could not be: ``keys_unavailable``). ``reason`` is
    one of ``malformed``, ``algorithm``, ``unknown_key``, ``keys_unavailable``, ``signature``,
    ``expired``, ``issuer``, ``audience``, ``nonce``, ``claims`` (a required claim missing, or
    ``at_hash`` not matching the access token)."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class AuthorizationError(HubError):
    """The hub redirected back with ``error=`` (RFC 6749 section 4.1.2.1)."""

    def __init__(self, error: str, description: str | None = None):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


class AccessDenied(AuthorizationError):
    """The patron declined to share their details, or the hub refused them."""


class InvalidCallback(HubError):
    """A redirect that does not answer our authorization request: wrong or missing ``state``,
    or an ``iss`` that is not the hub's (RFC 9207: a mix-up attack)."""


class ProblemError(HubError):
    """An RFC 9457 problem the API answered with. ``retry_after`` is in seconds, when given."""

    def __init__(
        self,
        type: str,
        title: str,
        status: int,
        detail: str | None = None,
        retry_after: float | None = None,
        body: Mapping[str, Any] | None = None,
    ):
        super().__init__(f"{status} {title}" + (f": {detail}" if detail else ""))
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.retry_after = retry_after
        self.body: dict[str, Any] = dict(body or {})


class Unauthorized(ProblemError):
    """The access token is missing, invalid, expired or revoked."""


class Forbidden(ProblemError):
    """The token lacks the ``eligibility`` scope, or asks on behalf of another library."""


class UnknownLibrary(ProblemError):
    """The home library is not in the published agreements."""


class UnknownCard(ProblemError):
    """The home library does not know the card."""


class UnknownPatron(ProblemError):
    """The patron ``sub`` is not one this lender received at sign-in."""


class PatronSignInOnly(ProblemError):
    """The patron's home library proves membership only by the patron's own sign-in (no
    standing source the hub can ask): only the patron can prove it, by signing in."""


class InvalidRequest(ProblemError):
    """The request body was malformed."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The fields at fault: ``[{"loc": [...], "message": "..."}]``."""
        errors = self.body.get("errors")
        return list(errors) if isinstance(errors, list) else []


class RateLimited(ProblemError):
    """Past the client's rate limit; try again after ``retry_after`` seconds."""


class HomeLibraryUnavailable(ProblemError):
    """The home library cannot be reached now; try again after ``retry_after`` seconds."""


#: problem ``type`` slug (the last segment of ``/problems/<slug>``) -> class
PROBLEM_TYPES: dict[str, type[ProblemError]] = {
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "unknown-library": UnknownLibrary,
    "unknown-card": UnknownCard,
    "unknown-patron": UnknownPatron,
    "patron-sign-in-only": PatronSignInOnly,
    "invalid-request": InvalidRequest,
    "rate-limited": RateLimited,
    "home-library-unavailable": HomeLibraryUnavailable,
}

#: for answers without a known ``type`` (a proxy's 429, a bare 401): the class by status
_BY_STATUS: dict[int, type[ProblemError]] = {
    401: Unauthorized,
    403: Forbidden,
    422: InvalidRequest,
    429: RateLimited,
}


def problem(
    body: Mapping[str, Any], *, status: int | None = None, retry_after: float | None = None
) -> ProblemError:
    """The exception for a problem object (RFC 9457). ``status`` is the HTTP status when the
    object's own is absent; a ``type`` this SDK does not know gives a plain ``ProblemError``."""
    type_ = str(body.get("type") or "about:blank")
    code = body.get("status")
    code = code if isinstance(code, int) else (status or 0)
    slug = type_.rsplit("/problems/", 1)[1] if "/problems/" in type_ else None
    cls = PROBLEM_TYPES.get(slug or "") or _BY_STATUS.get(code, ProblemError)
    detail = body.get("detail")
    return cls(
        type_,
        str(body.get("title") or ""),
        code,
        None if detail is None else str(detail),
        retry_after,
        body,
    )


def from_response(response: httpx.Response, retry_after: float | None = None) -> ProblemError:
    """The exception for an error answer: its problem object, or for an answer that is not
    problem JSON (a proxy's error page), a problem made of its status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"detail": response.text[:200] or None}
    if not body.get("title"):
        body = {**body, "title": response.reason_phrase}
    return problem(body, status=response.status_code, retry_after=retry_after)
