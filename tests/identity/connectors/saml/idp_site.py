"""The university's identity provider of ``idp.py`` served over HTTP, as a patron's browser meets
it: its single sign-on service (HTTP-Redirect) shows a sign-in form; a right password answers
with the page an IdP sends back, a form that posts ``SAMLResponse`` and ``RelayState`` to the
hub's assertion consumer service (and submits itself where scripts run); a wrong one answers
with a SAML error status (``AuthnFailed``) the same way. One server per test session."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.identity.connectors.saml.idp import ALICE, IdentityProvider, User

#: the university's users and their passwords
USERS = {"alice": ("wonderland", ALICE)}
SSO_PATH = "/idp/sso/redirect"


@dataclass
class IdpSite:
    """The running site; ``idp`` is replaced when the hub it answers changes its keys."""

    base: str
    idp: IdentityProvider | None = None

    @property
    def entity_id(self) -> str:
        return f"{self.base}/idp"


def _page(title: str, body: str, *, autosubmit: bool = False) -> bytes:
    script = "<script>document.forms[0].submit()</script>" if autosubmit else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<meta name='viewport' content='width=device-width'></head><body>{body}{script}"
        "</body></html>"
    ).encode()


def _answer_form(acs: str, saml_response: str, relay_state: str) -> bytes:
    fields = "".join(
        f"<input type='hidden' name='{name}' value='{html.escape(value, quote=True)}'>"
        for name, value in (("SAMLResponse", saml_response), ("RelayState", relay_state))
    )
    body = (
        f"<form method='post' action='{html.escape(acs, quote=True)}'>{fields}"
        "<noscript><button type='submit'>Continue</button></noscript></form>"
    )
    return _page("Back to your library", body, autosubmit=True)


class _Handler(BaseHTTPRequestHandler):
    site: IdpSite

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != SSO_PATH:
            return self._send(404, _page("Not found", "<p>Not found</p>"))
        # the request stays in the form's action, as Shibboleth keeps it in its session
        action = html.escape(f"/idp/sso/login?{url.query}", quote=True)
        body = (
            "<h1>University sign-in</h1>"
            f"<form method='post' action='{action}'>"
            "<label for='u'>Username</label><input id='u' name='username'>"
            "<label for='p'>Password</label><input id='p' name='password' type='password'>"
            "<button type='submit'>Sign in</button></form>"
        )
        return self._send(200, _page("University sign-in", body))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        idp = self.site.idp
        if url.path != "/idp/sso/login" or idp is None or "SAMLRequest" not in query:
            return self._send(400, _page("Bad request", "<p>Bad request</p>"))
        request_url = f"{self.site.base}{SSO_PATH}?{urlencode(query)}"
        password, user = USERS.get(form.get("username", ""), ("", None))
        if user is not None and form.get("password") == password:
            answer = idp.respond(request_url, user)
        else:
            answer = idp.decline(request_url)
        acs = idp.server.parse_authn_request(
            query["SAMLRequest"], "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        ).message.assertion_consumer_service_url
        return self._send(200, _answer_form(acs, answer, query.get("RelayState", "")))

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def idp_site() -> Iterator[IdpSite]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    site = IdpSite(f"http://127.0.0.1:{server.server_address[1]}")
    _Handler.site = site
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


__all__ = ["USERS", "IdpSite", "User", "idp_site"]
