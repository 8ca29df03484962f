"""Whole sign-ins for the HTTP benchmark (``bench_http.py``), one at a time, each followed by
the PIN's argon2id verification alone (the hub's own ``passwords.verify``) in this process: a
sign-in's cost beyond its hash is the difference of their medians."""

from __future__ import annotations

import base64
import hashlib
import secrets
import statistics
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from identity.security import passwords
from tests.benchmarks.http_servers import REDIRECT_URI
from tests.identity.oauth.browser import forms

SCOPE = "openid profile membership borrowing"
STEPS = ("authorize_page", "pin_form", "consent", "code_redemption")


def sign_in(
    issuer: str, rp: dict[str, str], *, library: str, card: str, pin: str
) -> dict[str, float]:
    """One patron's sign-in, as a browser without JavaScript and the relying party's server
    make it over a fresh connection; milliseconds per step and in all."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(16)
    query = urlencode({
        "response_type": "code", "client_id": rp["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": SCOPE, "state": state, "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
    })  # fmt: skip
    times: dict[str, float] = {}
    with httpx.Client(base_url=issuer, follow_redirects=False, timeout=30) as browser:
        started = time.perf_counter()
        page = browser.get(f"/authorize?{query}")
        times["authorize_page"] = _expect(page, 200, started)
        form = next(f for f in forms(page.text) if f.method == "post")
        mark = time.perf_counter()
        fields = {**form.fields, "library": library, "card": card, "pin": pin}
        consent = browser.post(urljoin(str(page.url), form.action), data=fields)
        times["pin_form"] = _expect(consent, 200, mark)
        form = next(f for f in forms(consent.text) if f.method == "post")
        mark = time.perf_counter()
        fields = {**form.fields, "decision": "allow"}
        back = browser.post(urljoin(str(consent.url), form.action), data=fields)
        times["consent"] = _expect(back, 302, mark)
        sent = parse_qs(urlsplit(back.headers["location"]).query)
        if sent.get("state") != [state] or "code" not in sent:
            raise RuntimeError(f"sign-in: the redirect back carries no code: {back.headers}")
        mark = time.perf_counter()
        token = browser.post(
            "/token",
            data={"grant_type": "authorization_code", "code": sent["code"][0],
                  "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
            auth=(rp["client_id"], rp["client_secret"]),
        )  # fmt: skip
        times["code_redemption"] = _expect(token, 200, mark)
        if "id_token" not in token.json():
            raise RuntimeError(f"sign-in: no ID token in {token.text}")
        times["total"] = (time.perf_counter() - started) * 1000
    return times


def _expect(answer: httpx.Response, status: int, since: float) -> float:
    elapsed = (time.perf_counter() - since) * 1000
    if answer.status_code != status:
        raise RuntimeError(
            f"sign-in: {answer.request.method} {answer.request.url.path} answered "
            f"{answer.status_code}, not {status}: {answer.text[:500]}"
        )
    return elapsed


def measure(
    issuer: str, rp: dict[str, str], *, library: str, card: str, pin: str, flows: int
) -> dict[str, Any]:
    """``flows`` sign-ins, each followed by one timed verification of the PIN."""
    stored = passwords.hash_secret(pin)
    sign_in(issuer, rp, library=library, card=card, pin=pin)  # warm: first page, first query
    passwords.verify(pin, stored)
    done: list[dict[str, float]] = []
    hashes: list[float] = []
    for _ in range(flows):
        done.append(sign_in(issuer, rp, library=library, card=card, pin=pin))
        started = time.perf_counter()
        ok, _ = passwords.verify(pin, stored)
        hashes.append((time.perf_counter() - started) * 1000)
        if not ok:
            raise RuntimeError("the PIN does not match its own hash")
    total = statistics.median(d["total"] for d in done)
    hash_ms = statistics.median(hashes)
    return {
        "flows": flows,
        "sign_in_ms_median": round(total, 2),
        "sign_in_ms_quartiles": _quartiles([d["total"] for d in done]),
        "steps_ms_median": {s: round(statistics.median(d[s] for d in done), 2) for s in STEPS},
        "pin_hash_ms_median": round(hash_ms, 2),
        "pin_hash_ms_quartiles": _quartiles(hashes),
        "overhead_ms": round(total - hash_ms, 2),
    }


def _quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [round(v, 2) for v in values]
    return [round(q, 2) for q in statistics.quantiles(values, n=4)]
