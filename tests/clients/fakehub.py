"""A hub in an ``httpx.MockTransport``, for the SDK's unit tests: discovery, JWKS, the token
endpoint (client credentials and authorization code) and the eligibility API. It records every
request, and answers the eligibility API from a script when one is given."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

ISSUER = "https://hub.test"
CLIENT_ID, CLIENT_SECRET = "demo-monash-partner", "s3cret/with:odd&chars"
RP_ID, RP_SECRET, REDIRECT = "lender-web", "rp-secret", "https://lender.test/cb"

Handler = Callable[[httpx.Request], httpx.Response]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A JWS in compact serialization (RFC 7515 section 7.1), signed by ``sign``."""
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    return f"{head}.{b64url(sign(head.encode()))}"


@dataclass
class SigningKey:
    """An RSA key that signs RS256 tokens with ``cryptography`` alone (not with python-jose,
    the library under test)."""

    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def public_jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()

        def uint(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                "n": uint(numbers.n), "e": uint(numbers.e)}  # fmt: skip

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid, **headers}
        return compact(
            header, claims, lambda data: self.private.sign(data, padding.PKCS1v15(), SHA256())
        )


def id_claims(**overrides: Any) -> dict[str, Any]:
    """The claims of a good ID token for ``RP_ID``."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": RP_ID,
        "sub": "pairwise-sub",
        "iat": now,
        "exp": now + 300,
        "nonce": "the-nonce",
        "name": "Avery Good",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def at_hash(access_token: str) -> str:
    """OpenID Connect Core 3.1.3.6: the left half of the SHA-256 of the access token."""
    return b64url(hashlib.sha256(access_token.encode()).digest()[:16])


def decision_json(**overrides: Any) -> dict[str, Any]:
    """A decision as the API answers it (docs/eligibility.md)."""
    data = {
        "eligible": True,
        "lender": "monash",
        "home_library": "rmit",
        "patron_category": "undergraduate",
        "terms": {
            "max_items": 3,
            "loan_days": 14,
            "renewals": 1,
            "holds": 3,
            "excluded_material": ["reserve", "av"],
        },
        "agreements": ["caval-2026"],
        "reasons": [],
        "valid_until": "2027-02-28",
        "decided_at": "2026-11-22T09:30:00Z",
    }
    data.update(overrides)
    return data


def problem(slug: str, status: int, retry_after: int | None = None, **extra: Any) -> httpx.Response:
    headers = {"Content-Type": "application/problem+json"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = {"type": f"/problems/{slug}", "title": slug.replace("-", " "), "status": status}
    return httpx.Response(status, json={**body, **extra}, headers=headers)


@dataclass
class FakeHub:
    keys: list[SigningKey] = field(default_factory=list)
    expires_in: int = 3600
    #: answers for the eligibility API, in order (a function of the request, or a response);
    #: when empty, every card gets ``decision_json``, and a card ending in 9 is unknown
    script: list[httpx.Response | Handler] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    #: the ID token the authorization code grant answers with
    id_token: Callable[[str], str] | None = None
    send_iss: bool = True

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.metadata())
        if path == "/jwks.json":
            keys = {"keys": [k.public_jwk for k in self.keys]}
            return httpx.Response(200, json=keys, headers={"Cache-Control": "max-age=300"})
        if path == "/token":
            return self.token(request)
        if path.startswith("/api/v1/eligibility"):
            if request.headers.get("authorization") != f"Bearer {self.tokens[-1]}":
                return problem("unauthorized", 401)
            if self.script:
                answer = self.script.pop(0)
                return answer if isinstance(answer, httpx.Response) else answer(request)
            return self.eligibility(request)
        return httpx.Response(404)

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "jwks_uri": f"{ISSUER}/jwks.json",
            "authorization_response_iss_parameter_supported": self.send_iss,
        }

    def token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") == "authorization_code":
            access = f"rp-access-{len(self.tokens)}"
            self.tokens.append(access)
            assert self.id_token is not None
            body = {"token_type": "Bearer", "access_token": access, "expires_in": 3600}
            return httpx.Response(200, json={**body, "id_token": self.id_token(access)})
        if request.headers.get("authorization") != basic(CLIENT_ID, CLIENT_SECRET):
            return httpx.Response(401, json={"error": "invalid_client"})
        self.tokens.append(f"access-{len(self.tokens)}")
        return httpx.Response(
            200,
            json={
                "token_type": "Bearer",
                "access_token": self.tokens[-1],
                "expires_in": self.expires_in,
                "scope": form.get("scope", ""),
            },
        )

    def eligibility(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/batch"):
            return httpx.Response(200, json={"results": [self.one(r) for r in body["requests"]]})
        item = self.one(body)
        if item["status"] != 200:
            return httpx.Response(item["status"], json=item["problem"])
        return httpx.Response(200, json=item["decision"])

    @staticmethod
    def one(body: dict[str, Any]) -> dict[str, Any]:
        if body["card"].endswith("9"):
            return {"status": 404, "problem": {"type": "/problems/unknown-card", "status": 404,
                                               "title": "Unknown card"}}  # fmt: skip
        return {"status": 200, "decision": decision_json()}

    def http(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def async_http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()
