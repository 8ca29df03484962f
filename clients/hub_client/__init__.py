"""The Python SDK of the reciprocal-borrowing identity hub, for partner library systems:

- ``HubClient`` / ``AsyncHubClient``: the eligibility API (``check``, ``check_many``);
- ``verify_id_token`` (and ``HubClient.verify_id_token``): ID tokens checked with python-jose;
- ``RelyingParty`` / ``AsyncRelyingParty``: sign patrons in to a lender's web app;
- ``hub-client check ...``: the same from a shell.

Errors: see ``hub_client.errors``.
"""

from hub_client.client import AsyncHubClient, HubClient
from hub_client.errors import (
    AccessDenied,
    AuthorizationError,
    DiscoveryError,
    Forbidden,
    HomeLibraryUnavailable,
    HubError,
    HubUnreachable,
    IdTokenError,
    InvalidCallback,
    InvalidRequest,
    PatronSignInOnly,
    ProblemError,
    RateLimited,
    TokenError,
    Unauthorized,
    UnknownCard,
    UnknownLibrary,
    UnknownPatron,
)
from hub_client.idtoken import verify_id_token
from hub_client.jwks import JwksCache
from hub_client.models import CheckRequest, Decision, Reason, Terms
from hub_client.relying_party import AsyncRelyingParty, Pending, RelyingParty, SignIn
from hub_client.retry import Retry

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "AsyncHubClient",
    "AsyncRelyingParty",
    "AuthorizationError",
    "CheckRequest",
    "Decision",
    "DiscoveryError",
    "Forbidden",
    "HomeLibraryUnavailable",
    "HubClient",
    "HubError",
    "HubUnreachable",
    "IdTokenError",
    "InvalidCallback",
    "InvalidRequest",
    "PatronSignInOnly",
    "JwksCache",
    "Pending",
    "ProblemError",
    "RateLimited",
    "Reason",
    "RelyingParty",
    "Retry",
    "SignIn",
    "Terms",
    "TokenError",
    "Unauthorized",
    "UnknownCard",
    "UnknownLibrary",
    "UnknownPatron",
    "verify_id_token",
]
