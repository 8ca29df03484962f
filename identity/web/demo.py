"""``/demo`` (demo mode only): a pretend lender's web app. Pick the lender, sign in through the
hub exactly as a relying party does (authorization code, PKCE, state, nonce, over HTTP to the
hub's own endpoints), and see the verified ID token's claims and the borrowing decision."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.fernet import InvalidToken
from fastapi import APIRouter, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from starlette.responses import RedirectResponse, Response

from identity import demo as network
from identity.oauth.server import HubServer
from identity.security import derived_keys
from identity.web import pages
from identity.web.deps import InForceDep, OAuthDep, SessionDep

router = APIRouter(include_in_schema=False)
COOKIE = "hub_demo"
SCOPE = "openid profile membership borrowing"


@router.get("/demo")
def choose(
    request: Request, server: OAuthDep, in_force: InForceDep, session: SessionDep
) -> Response:
    agreements = in_force.get(session=session)
    lenders = sorted(agreements.libraries.values(), key=lambda lib: lib.name)
    return pages.render(
        request, "demo.html", {"lenders": lenders, "result": None}, secret=server.secret
    )


@router.post("/demo")
async def start(request: Request, server: OAuthDep) -> Response:
    form = await request.form()
    lender = str(form.get("lender", ""))
    if not pages.csrf_ok(server.secret, request, str(form.get(pages.CSRF_FIELD, ""))):
        return RedirectResponse("/demo", status_code=303)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # RFC 7636 4.1: 43 to 128 characters
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": f"demo-{lender}-rp",
            "redirect_uri": f"{server.issuer}/demo/callback",
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{server.issuer}/authorize?{query}", status_code=303)
    saved = {"lender": lender, "state": state, "nonce": nonce, "verifier": verifier}
    sealed = derived_keys.fernet(server.secret, "demo relying party").encrypt(
        json.dumps(saved).encode()
    )
    response.set_cookie(
        COOKIE, sealed.decode(),
        max_age=600, httponly=True, samesite="lax", path="/demo",
    )  # fmt: skip
    return response


@router.get("/demo/callback")
async def callback(request: Request, server: OAuthDep) -> Response:
    try:
        saved = json.loads(
            derived_keys.fernet(server.secret, "demo relying party").decrypt(
                request.cookies.get(COOKIE, "").encode(), ttl=600
            )
        )
    except (InvalidToken, ValueError):
        return _result(request, server, {"error": "The demo sign-in expired; start again."})
    params = request.query_params
    if params.get("state") != saved["state"]:
        return _result(request, server, {"error": "The state did not match; start again."})
    if params.get("iss") != server.issuer:
        return _result(request, server, {"error": "The response came from another issuer."})
    if "error" in params:
        return _result(request, server, {"error": f"The hub answered: {params['error']}"})
    client_id = f"demo-{saved['lender']}-rp"
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"{server.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": params.get("code", ""),
                "redirect_uri": f"{server.issuer}/demo/callback",
                "code_verifier": saved["verifier"],
            },
            auth=(client_id, network.client_secret(saved["lender"], "rp")),
        )
        if answer.status_code != 200:
            return _result(request, server, {"error": f"Token request failed: {answer.text}"})
        keys = KeySet.import_key_set((await http.get(f"{server.issuer}/jwks.json")).json())
    try:
        token = jwt.decode(answer.json()["id_token"], keys, algorithms=["RS256"])
        JWTClaimsRegistry(
            iss={"essential": True, "value": server.issuer},
            aud={"essential": True, "value": client_id},
            nonce={"essential": True, "value": saved["nonce"]},
            exp={"essential": True},
        ).validate(token.claims)
    except JoseError as exc:
        return _result(request, server, {"error": f"The ID token did not verify: {exc}"})
    return _result(request, server, {"lender": saved["lender"], "claims": token.claims})


def _result(request: Request, server: HubServer, result: dict[str, Any]) -> Response:
    response = pages.render(
        request,
        "demo.html",
        {"lenders": [], "result": result, "pretty": json.dumps(result.get("claims"), indent=2)},
        secret=server.secret,
    )
    response.delete_cookie(COOKIE, path="/demo")
    return response
