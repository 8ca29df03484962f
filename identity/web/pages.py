"""Server-rendered pages: the Jinja2 environment, CSRF tokens and the headers every page gets.

CSRF (double submit, signed): a random value signed with the hub's secret is set as an
HttpOnly, SameSite=Lax cookie and repeated in every form; a post is taken only if the two are
equal and the signature holds, so a cross-site form cannot post. Over https the cookie is
``__Host-`` prefixed, so a sibling domain cannot plant one either; and the consent ticket is
bound to the cookie, so a ticket lifted from one browser is no good in another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from identity import i18n
from identity.web import brand, language


def patron_context(request: Request) -> dict[str, Any]:
    """What every page's template may use beside its own context: the language it is in
    (``lang``), the switcher's links to the others (``languages``: code, name, link, whether
    it is this one) and the network's branding (``brand``)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    lang = i18n.current_locale.get()
    settings = getattr(request.app.state, "settings", None) if "app" in request.scope else None
    return {
        "lang": lang,
        "languages": [
            (code, i18n.native_name(code), language.switch_link(code, here), code == lang)
            for code in i18n.languages()
        ],
        "brand": brand.of(settings) if settings is not None else None,
    }


TEMPLATES = Jinja2Templates(
    directory=Path(__file__).parent / "templates", context_processors=[patron_context]
)
i18n.install(TEMPLATES.env)
CSRF_COOKIE = "hub_csrf"
CSRF_FIELD = "csrf"

#: no script, no caching, no referrer (framing is refused for every response alike, pages or
#: not, by ``identity.web.framing``)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http: https:; "
        "base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
#: the sign-in page's CSP: the same, and its one script from /static (the keyboards follow the
#: library chosen; the page works without it)
SIGN_IN_CSP = HEADERS["Content-Security-Policy"].replace(
    "default-src 'none';", "default-src 'none'; script-src 'self';"
)


def csrf_token(secret: str, request: Request) -> str:
    """The token already in the browser's cookie if it is genuine, else a new one."""
    current = request.cookies.get(csrf_cookie(request), "")
    if _genuine(secret, current):
        return current
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret, nonce)}"


def csrf_ok(secret: str, request: Request, posted: str | None) -> bool:
    cookie = request.cookies.get(csrf_cookie(request), "")
    return bool(posted) and hmac.compare_digest(cookie, posted or "") and _genuine(secret, cookie)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    secret: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = csrf_token(secret, request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {**context, "csrf": token},
        status_code=status_code,
        headers={**HEADERS, **(headers or {})},
    )
    response.set_cookie(
        csrf_cookie(request),
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def csrf_cookie(request: Request) -> str:
    return f"__Host-{CSRF_COOKIE}" if request.url.scheme == "https" else CSRF_COOKIE


def _sign(secret: str, nonce: str) -> str:
    key = hashlib.sha256(b"hub csrf\n" + secret.encode()).digest()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def _genuine(secret: str, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(secret, nonce))
