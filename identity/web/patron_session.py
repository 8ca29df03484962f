"""The patron's own short session for ``/me`` (docs/signing-in.md, Where can I borrow?).

When the consent page is shown, the patron the home library described is also set in a cookie:
encrypted with a key derived from the hub's secret (for this purpose only), HttpOnly,
SameSite=Lax, ``__Host-`` and Secure over https, bound to this browser's CSRF cookie (a cookie
copied to another browser is no good there), and alive ``PATRON_SESSION_TTL_S`` seconds, checked
by the encryption's own timestamp. Nothing of it is stored on the server; signing out of the
hub (``/logout``) or leaving ``/me`` with "forget" clears it.
"""

from __future__ import annotations

import hashlib
import json

from cryptography.fernet import InvalidToken
from starlette.requests import Request
from starlette.responses import Response

from identity.oauth.patron import Patron
from identity.security import derived_keys
from identity.web.pages import csrf_cookie, csrf_token

PATRON_SESSION_TTL_S = 600
COOKIE = "hub_patron"
PURPOSE = "patron session"


def cookie_name(request: Request) -> str:
    return f"__Host-{COOKIE}" if request.url.scheme == "https" else COOKIE


def _browser(token: str) -> str:
    """This browser, by its CSRF cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def _csrf_set_by(response: Response, request: Request) -> str | None:
    """The CSRF cookie ``response`` sets (a page's: ``pages.render``), if it sets one."""
    prefix = f"{csrf_cookie(request)}="
    for header in response.headers.getlist("set-cookie"):
        if header.startswith(prefix):
            return header[len(prefix) :].split(";", 1)[0]
    return None


def remember(response: Response, request: Request, secret: str, patron: Patron) -> None:
    """Set the patron's session on ``response``, a page, bound to the CSRF cookie it sets (a
    new one when the browser had none)."""
    token = _csrf_set_by(response, request) or csrf_token(secret, request)
    data = {"browser": _browser(token), "patron": patron.to_json()}
    value = derived_keys.fernet(secret, PURPOSE).encrypt(json.dumps(data).encode()).decode()
    response.set_cookie(
        cookie_name(request),
        value,
        max_age=PATRON_SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def patron_of(request: Request, secret: str) -> Patron | None:
    """The patron of this browser's live session, or None."""
    value = request.cookies.get(cookie_name(request), "")
    if not value or not request.cookies.get(csrf_cookie(request)):
        return None
    try:
        data = json.loads(
            derived_keys.fernet(secret, PURPOSE).decrypt(value.encode(), ttl=PATRON_SESSION_TTL_S)
        )
    except (InvalidToken, ValueError):
        return None
    if not isinstance(data, dict) or data.get("browser") != _browser(csrf_token(secret, request)):
        return None
    try:
        return Patron.from_json(data["patron"])
    except (KeyError, TypeError, ValueError):
        return None


def forget(response: Response, request: Request) -> None:
    response.delete_cookie(
        cookie_name(request),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
