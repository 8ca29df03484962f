"""An OpenID provider that says what a test wants it to: a small HTTP server (in a thread) that
serves discovery and keys, signs anyone in at once (``/authorize`` answers straight back to
the hub with a code), and at ``/token`` checks the code, the PKCE verifier and the hub's client
secret like a provider would, then answers with an ID token the test has shaped (another
nonce, another audience, a key it has not published...). It counts what it is asked."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "hub-test-client"


@functools.cache
def new_key(kid: str) -> RSAKey:
    """The provider's key ``kid`` (made once per test run: making RSA keys takes time)."""
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


@dataclass
class Forged:
    issuer: str = ""
    secret: str = "forged-secret"
    #: the key that signs, and the keys published at jwks_uri
    signing: RSAKey = field(default_factory=lambda: new_key("a"))
    published: list[RSAKey] = field(default_factory=list)
    #: claims to put in (or, as None, take out of) the next ID tokens
    tamper: dict[str, Any] = field(default_factory=dict)
    #: the ``iss`` of the authorization response (None: none sent)
    answer_iss: str | None = None
    #: a status for discovery to answer (None: the document)
    discovery_status: int | None = None
    asked: Counter[str] = field(default_factory=Counter)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    verifiers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.published = self.published or [self.signing]

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_response_iss_parameter_supported": self.answer_iss is not None,
        }

    def authorize(self, query: dict[str, str]) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        back = {"code": code, "state": query["state"]}
        if self.answer_iss is not None:
            back["iss"] = self.answer_iss
        return f"{query['redirect_uri']}?{urlencode(back)}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        asked = self.codes.pop(form.get("code", ""), None)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{self.secret}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        verifier = form.get("code_verifier", "")
        self.verifiers.append(verifier)
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if asked is None or challenge != asked["code_challenge"]:
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "pat-7", "nonce": asked["nonce"],
                  "iat": now, "exp": now + 300, "name": "Pat Forged",
                  "eduperson_scoped_affiliation": "student@uni.example", **self.tamper}  # fmt: skip
        claims = {k: v for k, v in claims.items() if v is not None}
        id_token = jwt.encode({"alg": "RS256", "kid": self.signing.kid}, claims, self.signing)
        return 200, {"access_token": "at", "token_type": "Bearer", "id_token": id_token}


def serve(forged: Forged) -> Callable[[], None]:
    """Serve ``forged`` on a free port (its ``issuer`` is set); returns the stop function."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any] | None = None, **headers: str) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            forged.asked[url.path] += 1
            if url.path == "/.well-known/openid-configuration":
                if forged.discovery_status is not None:
                    return self._send(forged.discovery_status, {"error": "down"})
                return self._send(200, forged.discovery())
            if url.path == "/jwks":
                keys = [k.as_dict(private=False) for k in forged.published]
                return self._send(200, {"keys": keys})
            if url.path == "/authorize":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                return self._send(302, None, Location=forged.authorize(query))
            return self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            forged.asked[self.path] += 1
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            status, answer = forged.token(form, self.headers.get("Authorization", ""))
            self._send(status, answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    forged.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
