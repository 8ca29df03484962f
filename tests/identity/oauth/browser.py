"""A patron's browser without JavaScript, as the pages must work for one: it reads the forms
on a page and posts them as a browser would, cookies included (``httpx`` over real HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from tests.conftest import TLS


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    selects: dict[str, list[str]] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input" and "name" in a:
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and "name" in a:
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
            self.forms[-1].fields[a["name"]] = ""
            self.forms[-1].selects[a["name"]] = []
        elif tag == "option" and self._select:
            self.forms[-1].selects[self._select].append(a.get("value", ""))
            if "selected" in a:
                self.forms[-1].fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Browser:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.http = httpx.Client(follow_redirects=False, timeout=30, verify=TLS)

    def get(self, url: str) -> httpx.Response:
        return self.http.get(urljoin(self.issuer, url))

    def submit(
        self, page: httpx.Response, values: dict[str, str], *, method: str = "post"
    ) -> httpx.Response:
        """Fill in the page's (first ``method``) form and send it."""
        form = next(f for f in forms(page.text) if f.method == method)
        data = {**form.fields, **values}
        url = urljoin(str(page.url), form.action)
        if method == "get":
            return self.http.get(url, params=data)
        return self.http.post(url, data=data)

    def sign_in(
        self, authorize_url: str, *, card: str, pin: str, library: str = "", decision: str = "allow"
    ) -> httpx.Response:
        """From the authorization URL to the hub's redirect back to the client."""
        login = self.get(authorize_url)
        assert login.status_code == 200, login.text
        consent = self.submit(login, {"library": library, "card": card, "pin": pin})
        assert consent.status_code == 200, consent.text
        return self.submit(consent, {"decision": decision})
